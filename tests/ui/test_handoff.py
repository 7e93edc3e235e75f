"""End shift…: my open conversations go to a colleague or the queue, I go offline, and the dialog says how many
moved, or why nothing did."""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QApplication

from tests.integration.helpers import sign_in, sync_all
from tests.ui.test_agent_status import server_status, shown
from tests.ui.test_main_window import feed_names, select_customer
from tests.ui.test_presence import ANA, new_conversation, open_as  # noqa: F401
from ui.command_palette import CommandPalette
from ui.end_shift import EndShiftDialog
from ui.thread_model import DirectionRole
from workstation import protocol
from workstation.cache import CAgent
from workstation.errors import NetworkError, ServerError


def trail_lines(win) -> list[str]:
    model = win.thread_model
    return [model.index(i).data() for i in range(model.rowCount()) if model.index(i).data(DirectionRole) == "assignment"]


def server_conversations(stack) -> dict[int, dict]:
    token, _ = sign_in(stack)
    return {c["id"]: c for c in sync_all(stack, token)["conversations"]}


def test_end_shift_hands_my_conversations_to_a_colleague_and_goes_offline(stack, open_as, qtbot):
    win = open_as(ANA)
    me = win.workspace.agent.id
    qtbot.waitUntil(lambda: win.connection_label.text().startswith("● Online"), timeout=10000)
    win.choose_my_status("available")
    qtbot.waitUntil(lambda: server_status(stack, ANA) == "available", timeout=5000)
    # Available: the server's router hands new conversations to Ana.
    names = [new_conversation(stack, qtbot, win), new_conversation(stack, qtbot, win)]
    ids = [win.feed_model.conversation_at(feed_names(win).index(n)).conversation_id for n in names]
    assert len(ids) == 2
    qtbot.waitUntil(lambda: all(server_conversations(stack)[i]["assignee_id"] == me for i in ids), timeout=10000)
    select_customer(win, qtbot, names[0])
    qtbot.waitUntil(lambda: "Automatically assigned to Ana Gómez" in trail_lines(win), timeout=5000)

    # From the command palette, where "End shift…" is listed without a shortcut.
    palette: CommandPalette = win.open_command_palette()
    titles = [palette.list.item(i).text() for i in range(palette.list.count())]
    assert "End shift…" in titles
    palette.close()
    win.actions_.by_name["end_shift"].trigger()
    dialog = win.end_shift_dialog
    qtbot.waitUntil(lambda: dialog.isVisible())
    colleagues = [dialog.colleague.itemText(i) for i in range(dialog.colleague.count())]
    assert "Ben Carter · Offline" in colleagues and "Lucía Fernández · Offline" in colleagues
    assert not any(c.startswith("Ana Gómez") for c in colleagues)
    assert dialog.go_offline.isChecked() and dialog.to_queue.isChecked()
    dialog.to_colleague.setChecked(True)
    dialog.colleague.setCurrentIndex(colleagues.index("Ben Carter · Offline"))
    ben = dialog.colleague.currentData()
    dialog.reason.setText("end of day")
    dialog.end_button.click()
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=10000)
    moved = dialog.result.moved
    assert set(ids) <= set(moved)
    assert dialog.message.text() == f"{len(moved)} conversations handed over."
    assert not dialog.end_button.isVisible() and dialog.close_button.text() == "Close"
    now = server_conversations(stack)
    assert all(now[i]["assignee_id"] == ben for i in ids)
    assert server_status(stack, ANA) == "offline"
    assert shown(win) == "offline" and win.workspace.chosen_status() == "offline"
    assert win.statusBar().currentMessage() == f"Shift ended: {len(moved)} conversations handed over."
    qtbot.waitUntil(lambda: "Handed off by Ana Gómez to Ben Carter: end of day" in trail_lines(win), timeout=5000)
    dialog.close_button.click()

    # Nothing left: a second hand-off says so.
    again = win.open_end_shift()
    again.end_button.click()
    qtbot.waitUntil(lambda: again.result is not None, timeout=10000)
    assert again.message.text() == "You had no open conversations to hand over."
    again.reject()


def colleague(id_, name, status):
    return CAgent(id=id_, email=f"{id_}@x.test", name=name, role="agent", status=status)


def test_the_dialog_says_clearly_why_nothing_moved(qloop, qtbot):
    outcomes = [NetworkError("down"), ServerError(403, "only a lead can hand off conversations for another agent")]
    calls = []

    async def handoff(to_agent_id, reason, go_offline):
        calls.append((to_agent_id, reason, go_offline))
        await asyncio.sleep(0)
        raise outcomes.pop(0)

    dialog = EndShiftDialog([colleague(3, "Ben Carter", "away")], handoff)
    qtbot.addWidget(dialog)
    dialog.open()
    assert dialog.colleague.itemText(0) == "Ben Carter · Away" and not dialog.colleague.isEnabled()
    dialog.go_offline.setChecked(False)
    dialog.reason.setText("  doctor  ")
    dialog.end_button.click()
    qtbot.waitUntil(lambda: dialog.message.text() == "You are offline; try again when connected.", timeout=3000)
    assert calls == [(None, "doctor", False)]
    assert dialog.end_button.isEnabled() and dialog.isVisible()  # try again later, nothing lost
    dialog.to_colleague.setChecked(True)
    dialog.end_button.click()
    qtbot.waitUntil(lambda: dialog.message.text().startswith("The server refused: "), timeout=3000)
    assert dialog.message.text() == "The server refused: only a lead can hand off conversations for another agent"
    assert calls[-1] == (3, "doctor", False)
    assert dialog.result is None
    dialog.reject()


def test_a_lone_agent_can_only_hand_back_to_the_queue(qloop, qtbot):
    async def handoff(to_agent_id, reason, go_offline):
        return protocol.HandoffResult(moved=[7], agent=protocol.AgentPublic(
            id=1, email="a@x.test", name="Ana", role="agent", status="offline"))

    dialog = EndShiftDialog([], handoff)
    qtbot.addWidget(dialog)
    dialog.open()
    assert not dialog.to_colleague.isEnabled() and dialog.to_queue.isChecked()
    dialog.end_button.click()
    qtbot.waitUntil(lambda: dialog.message.text() == "1 conversation handed over.", timeout=3000)
    dialog.reject()
    assert QApplication.activeModalWidget() is not dialog
