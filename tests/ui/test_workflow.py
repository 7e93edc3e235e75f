"""Notes, assignment, resolving, search and failed writes in the real window against the real server."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from PySide6.QtCore import Qt

from tests.integration.helpers import inbound, sign_in, sync_all
from tests.ui.test_main_window import feed_names, sandbox_bodies, select_customer, window  # noqa: F401
from ui.composer import NOTE, REPLY
from ui.feed_model import CustomerNameRole, PreviewRole
from ui.thread_model import DirectionRole, FailedRole, OpIdRole, StatusTextRole
from workstation.cache import HIGHLIGHT_END, HIGHLIGHT_START


def new_customer(stack, window, qtbot, text="Hola") -> str:
    name = f"Cliente {uuid.uuid4().hex[:6]}"
    inbound(stack, wa_id="3465" + str(uuid.uuid4().int)[:7], name=name, text=text)
    qtbot.waitUntil(lambda: name in feed_names(window), timeout=10000)
    select_customer(window, qtbot, name)
    return name


def thread_rows(window) -> list[tuple[str, str]]:
    model = window.thread_model
    return [(model.index(i).data(DirectionRole), model.index(i).data()) for i in range(model.rowCount())]


def server_conversation(stack, conversation_id: int) -> dict:
    token, _ = sign_in(stack)
    return next(c for c in sync_all(stack, token)["conversations"] if c["id"] == conversation_id)


def test_internal_note_is_saved_for_the_team_and_never_sent_to_the_customer(stack, window, qtbot):
    new_customer(stack, window, qtbot)
    window.composer.mode_tabs.setCurrentIndex(NOTE)
    note = f"Check order history first {uuid.uuid4().hex[:6]}"
    qtbot.keyClicks(window.composer.edit, note)
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: ("note", note) in thread_rows(window), timeout=3000)
    token, _ = sign_in(stack)
    qtbot.waitUntil(lambda: any(n["text"] == note for n in sync_all(stack, token)["notes"]), timeout=10000)
    row = [i for i, r in enumerate(thread_rows(window)) if r == ("note", note)][0]
    qtbot.waitUntil(lambda: "Internal note" in window.thread_model.index(row).data(StatusTextRole))
    assert note not in sandbox_bodies(stack)
    window.composer.mode_tabs.setCurrentIndex(REPLY)


def test_assign_to_me_and_resolve_reach_the_server(stack, window, qtbot):
    new_customer(stack, window, qtbot)
    conversation_id = window.current_conversation
    qtbot.waitUntil(lambda: window.assign_button.isVisible() and window.assign_button.text() == "Assign to me")
    window.assign_button.click()
    qtbot.waitUntil(lambda: window.conversation_state.text().endswith("Assigned to you"), timeout=5000)
    qtbot.waitUntil(lambda: server_conversation(stack, conversation_id)["assignee_id"] == window.workspace.agent.id,
                    timeout=10000)
    window.status_button.click()
    # Resolving asks for the case type: OK stays disabled until one is chosen.
    dialog = window.resolve_dialog
    qtbot.waitUntil(dialog.isVisible)
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    assert not ok.isEnabled()
    dialog.case_type.setCurrentIndex(dialog.case_type.findData("postsale.return"))
    dialog.follow_up.setChecked(True)
    dialog.days.setValue(5)
    assert ok.isEnabled()
    ok.click()
    qtbot.waitUntil(lambda: window.conversation_state.text().startswith("Resolved"), timeout=5000)
    qtbot.waitUntil(lambda: server_conversation(stack, conversation_id)["status"] == "resolved", timeout=10000)
    assert server_conversation(stack, conversation_id)["case_type"] == "postsale.return"
    assert window.status_button.text() == "Reopen"


def test_a_write_that_cannot_be_sent_stays_visible_until_discarded(stack, window, qtbot):
    new_customer(stack, window, qtbot)
    conversation_id = window.current_conversation
    too_long = "x" * 5000  # over WhatsApp's 4,096 characters: the composer would refuse it
    sending = asyncio.ensure_future(window.workspace.send_reply(conversation_id, too_long))
    qtbot.waitUntil(sending.done)

    def failed_row():
        model = window.thread_model
        return next((i for i in range(model.rowCount())
                     if model.index(i).data() == too_long and model.index(i).data(FailedRole)), None)

    qtbot.waitUntil(lambda: failed_row() is not None, timeout=5000)
    index = window.thread_model.index(failed_row())
    assert "Not sent" in index.data(StatusTextRole)
    qtbot.waitUntil(lambda: window.failed_label.isVisible() and window.failed_label.text() == "1 not sent")
    window.discard_op(index.data(OpIdRole))
    qtbot.waitUntil(lambda: all(text != too_long for _, text in thread_rows(window)), timeout=5000)
    qtbot.waitUntil(lambda: not window.failed_label.isVisible())
    assert too_long not in sandbox_bodies(stack)


def test_search_shows_matching_conversations_with_highlights_and_clears_back_to_the_feed(stack, window, qtbot):
    word = "zapatillas" + uuid.uuid4().hex[:5]
    name = new_customer(stack, window, qtbot, text=f"Quiero cambiar las {word} rojas")
    window.search_edit.setText(word[:-2])  # a prefix of the last word matches
    qtbot.waitUntil(lambda: feed_names(window) == [name], timeout=5000)
    preview = window.feed_model.index(0).data(PreviewRole)
    assert f"{HIGHLIGHT_START}{word}{HIGHLIGHT_END}" in preview
    window.search_edit.setText('"NEAR * -')  # FTS syntax is just text: no error, no match
    qtbot.waitUntil(lambda: window.feed_model.rowCount() == 0, timeout=5000)
    window.search_edit.clear()
    qtbot.waitUntil(lambda: len(feed_names(window)) > 1, timeout=5000)
    assert window.feed_model.index(0).data(CustomerNameRole)
