"""A reply that crosses a colleague's: Send asks first when someone else replied after the draft began."""

from __future__ import annotations

import uuid

import httpx
from PySide6.QtCore import Qt

from tests.integration.helpers import sign_in
from tests.ui.test_main_window import select_customer
from tests.ui.test_presence import new_conversation, open_as  # noqa: F401
from ui.thread_model import DirectionRole

BEN = "ben@demo.workstation.test"


def reply_as(stack, email: str, conversation_id: int, text: str) -> None:
    token, _ = sign_in(stack, email)
    r = httpx.post(f"{stack.server_url}/v1/conversations/{conversation_id}/messages", json={"text": text},
                   headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())})
    r.raise_for_status()


def outbound(win) -> list[str]:
    model = win.thread_model
    return [model.index(i).data() for i in range(model.rowCount()) if model.index(i).data(DirectionRole) == "out"]


def button(box, text: str):
    return next(b for b in box.buttons() if b.text() == text)


def test_send_asks_when_a_colleague_replied_while_the_agent_was_writing(stack, open_as, qtbot):
    win = open_as()
    name = new_conversation(stack, qtbot, win)
    select_customer(win, qtbot, name)
    conversation_id = win.current_conversation
    edit = win.composer.edit

    # Ben answers after the lead started writing: Enter asks, and nothing goes until the lead says so.
    edit.setFocus()
    qtbot.keyClicks(edit, "Let me check that")
    reply_as(stack, BEN, conversation_id, "Ben here: it ships today")
    qtbot.waitUntil(lambda: "Ben here: it ships today" in outbound(win), timeout=10000)
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    box = win.collision_box
    assert box is not None and box.isVisible()
    assert box.text() == "Ben replied while you were writing. Send anyway?"
    assert edit.toPlainText() == "Let me check that"
    button(box, "Don't send").click()
    qtbot.waitUntil(lambda: win.collision_box is None)
    assert edit.toPlainText() == "Let me check that" and "Let me check that" not in outbound(win)
    # Having seen Ben's reply, the next Enter sends without asking again.
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert win.collision_box is None
    qtbot.waitUntil(lambda: "Let me check that" in outbound(win), timeout=5000)
    assert edit.toPlainText() == ""

    # Again, and this time the lead sends anyway.
    qtbot.keyClicks(edit, "Also a discount")
    reply_as(stack, BEN, conversation_id, "Ben again")
    qtbot.waitUntil(lambda: "Ben again" in outbound(win), timeout=10000)
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    box = win.collision_box
    assert box is not None
    button(box, "Send anyway").click()
    qtbot.waitUntil(lambda: "Also a discount" in outbound(win), timeout=5000)
    assert edit.toPlainText() == "" and win.collision_box is None

    # Ben's reply came before the draft began: it was seen, so no question.
    reply_as(stack, BEN, conversation_id, "Ben a third time")
    qtbot.waitUntil(lambda: "Ben a third time" in outbound(win), timeout=10000)
    qtbot.keyClicks(edit, "Thanks Ben")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert win.collision_box is None
    qtbot.waitUntil(lambda: "Thanks Ben" in outbound(win), timeout=5000)


def test_a_colleagues_reply_after_opening_counts_for_a_draft_kept_from_before(stack, open_as, qtbot):
    win = open_as()
    first, second = new_conversation(stack, qtbot, win), new_conversation(stack, qtbot, win)
    select_customer(win, qtbot, first)
    first_id = win.current_conversation
    qtbot.keyClicks(win.composer.edit, "Draft kept")
    select_customer(win, qtbot, second)
    select_customer(win, qtbot, first)  # the draft comes back; the conversation is opened now
    assert win.composer.edit.toPlainText() == "Draft kept"
    reply_as(stack, BEN, first_id, "Ben was quicker")
    qtbot.waitUntil(lambda: "Ben was quicker" in outbound(win), timeout=10000)
    assert win.reply_collision() == "Ben Carter"
    # An internal note never collides with a reply.
    win.focus_composer(1)
    qtbot.keyClick(win.composer.edit, Qt.Key.Key_Return)
    assert win.collision_box is None
    qtbot.waitUntil(lambda: win.composer.edit.toPlainText() == "", timeout=3000)
