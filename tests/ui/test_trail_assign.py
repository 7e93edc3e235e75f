"""Assigning from the thread header against the real server, and the trail each change leaves in the thread:
a lead's menu (me, each colleague, the queue, with an optional reason); an agent's take and its limits."""

from __future__ import annotations

import uuid

import httpx
from PySide6.QtWidgets import QToolButton

from tests.integration.helpers import sign_in, sync_all
from tests.ui.test_handoff import trail_lines
from tests.ui.test_main_window import select_customer
from tests.ui.test_presence import ANA, new_conversation, open_as  # noqa: F401


def server_conversation(stack, conversation_id: int) -> dict:
    token, _ = sign_in(stack)
    return next(c for c in sync_all(stack, token)["conversations"] if c["id"] == conversation_id)


def agent_id(stack, email: str) -> int:
    token, _ = sign_in(stack)
    return next(a["id"] for a in sync_all(stack, token)["agents"] if a["email"] == email)


def assign_as_lead(stack, conversation_id: int, assignee: int | None) -> None:
    token, _ = sign_in(stack)
    version = server_conversation(stack, conversation_id)["version"]
    r = httpx.patch(f"{stack.server_url}/v1/conversations/{conversation_id}",
                    json={"set_assignee": True, "assignee_id": assignee, "expected_version": version},
                    headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())})
    r.raise_for_status()


def menu_entries(win) -> list[tuple[str, bool]]:
    win.fill_assign_menu()
    return [(a.text(), a.isEnabled()) for a in win.assign_menu.actions() if not a.isSeparator()]


def choose(win, object_name: str, reason: str | None) -> None:
    """Picks a menu entry; answers the reason dialog (None: cancels it)."""
    win.fill_assign_menu()
    action = next(a for a in win.assign_menu.actions() if a.objectName() == object_name)
    action.trigger()
    if object_name == "assignToMe":
        return
    dialog = win.reason_dialog
    assert dialog is not None and dialog.isVisible() and dialog.textValue() == ""
    if reason is None:
        dialog.reject()
    else:
        dialog.setTextValue(reason)
        dialog.accept()


def test_a_lead_moves_a_conversation_with_reasons_and_the_trail_tells_the_story(stack, open_as, qtbot):
    win = open_as()
    name = new_conversation(stack, qtbot, win)
    select_customer(win, qtbot, name)
    conversation_id = win.current_conversation
    ana, ben = agent_id(stack, ANA), agent_id(stack, "ben@demo.workstation.test")
    qtbot.waitUntil(lambda: win.assign_button.isVisible())
    assert win.assign_button.menu() is win.assign_menu
    assert win.assign_button.popupMode() == QToolButton.ToolButtonPopupMode.MenuButtonPopup
    assert win.assign_button.text() == "Assign to me"
    token, _ = sign_in(stack)
    colleagues = sorted((a for a in sync_all(stack, token)["agents"] if a["id"] != win.workspace.agent.id),
                        key=lambda a: a["name"])
    assert {"Ana Gómez", "Ben Carter"} <= {a["name"] for a in colleagues}
    # Me, every colleague (by name, with their status), the queue (not now: it is in the queue).
    assert menu_entries(win) == [("Assign to me", True)] + [(f"{a['name']} · Offline", True) for a in colleagues] \
        + [("Unassigned queue", False)]

    choose(win, f"assignTo{ana}", None)  # cancelled: nothing happens
    choose(win, f"assignTo{ana}", "customer speaks German")
    qtbot.waitUntil(lambda: server_conversation(stack, conversation_id)["assignee_id"] == ana, timeout=10000)
    qtbot.waitUntil(lambda: trail_lines(win) == [
        "Lucía Fernández assigned this to Ana Gómez: customer speaks German"], timeout=5000)
    assert ("Ana Gómez · Offline", False) in menu_entries(win)  # already hers

    choose(win, f"assignTo{ben}", "")
    qtbot.waitUntil(lambda: len(trail_lines(win)) == 2, timeout=10000)
    assert trail_lines(win)[-1] == "Lucía Fernández moved this from Ana Gómez to Ben Carter"
    choose(win, "assignToQueue", "<b>back</b> to triage")
    qtbot.waitUntil(lambda: len(trail_lines(win)) == 3, timeout=10000)
    assert trail_lines(win)[-1] == "Lucía Fernández moved this from Ben Carter to the queue: <b>back</b> to triage"
    assert server_conversation(stack, conversation_id)["assignee_id"] is None
    choose(win, "assignToMe", None)
    qtbot.waitUntil(lambda: len(trail_lines(win)) == 4, timeout=10000)
    assert trail_lines(win)[-1] == "Lucía Fernández took this"
    assert win.assign_button.text() == "Unassign"


def test_an_agent_takes_from_the_queue_but_cannot_take_a_colleagues_conversation(stack, open_as, qtbot):
    win = open_as(ANA)
    name = new_conversation(stack, qtbot, win)
    select_customer(win, qtbot, name)
    conversation_id = win.current_conversation
    qtbot.waitUntil(lambda: win.assign_button.isVisible() and win.assign_button.isEnabled())
    assert win.assign_button.menu() is None  # agents have no menu
    assign_as_lead(stack, conversation_id, agent_id(stack, "ben@demo.workstation.test"))
    qtbot.waitUntil(lambda: not win.assign_button.isEnabled(), timeout=5000)
    assert win.assign_button.toolTip() == "Assigned to a colleague: ask a lead to move it"
    qtbot.waitUntil(lambda: trail_lines(win) == ["Lucía Fernández assigned this to Ben Carter"], timeout=5000)
    assign_as_lead(stack, conversation_id, None)
    qtbot.waitUntil(lambda: win.assign_button.isEnabled() and win.assign_button.text() == "Assign to me", timeout=5000)
    win.assign_button.click()
    qtbot.waitUntil(lambda: trail_lines(win)[-1:] == ["Ana Gómez took this"], timeout=10000)
    assert server_conversation(stack, conversation_id)["assignee_id"] == agent_id(stack, ANA)
    win.assign_button.click()  # Unassign: gives it back
    qtbot.waitUntil(lambda: trail_lines(win)[-1:] == ["Ana Gómez gave this back to the queue"], timeout=10000)
