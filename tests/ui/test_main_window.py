"""The real main window, offscreen, against the real team server and sandbox processes."""

from __future__ import annotations

import asyncio
import gc
import uuid

import httpx
import pytest
from PySide6.QtCore import Qt

from tests.integration.helpers import inbound, sign_in
from ui.app import open_window
from ui.feed_model import CustomerNameRole, PreviewRole
from ui.thread_model import DeliveryStateRole, StatusTextRole
from workstation import protocol
from workstation.api import ApiClient
from workstation.settings import Settings


@pytest.fixture
def window(stack, qloop, qtbot, tmp_path):
    token, agent = sign_in(stack)
    api = ApiClient(stack.server_url, token)
    win, workspace = open_window(api, protocol.AgentPublic.model_validate(agent), language="en",
                                 cache_path=tmp_path / "cache.sqlite", settings=Settings(tmp_path / "settings.json"))
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()
    stopping = asyncio.ensure_future(workspace.stop())
    qtbot.waitUntil(stopping.done, timeout=10000)
    gc.collect()  # finalize abandoned stream generators now, while this test's loop is running
    qtbot.wait(20)


def feed_names(win) -> list[str]:
    model = win.feed_model
    return [model.index(i).data(CustomerNameRole) for i in range(model.rowCount())]


def select_customer(win, qtbot, name: str) -> None:
    row = feed_names(win).index(name)
    win.feed_view.setCurrentIndex(win.feed_model.index(row))
    qtbot.waitUntil(lambda: win.thread_model.rowCount() > 0 and win.customer_pane.name_label.text() == name)


def sandbox_bodies(stack) -> list[str]:
    return [s["json"].get("text", {}).get("body") for s in httpx.get(f"{stack.sandbox_url}/_sandbox/sent").json()]


def test_sandbox_message_appears_in_the_feed(stack, window, qtbot):
    name = f"Noa {uuid.uuid4().hex[:6]}"
    qtbot.waitUntil(lambda: window.connection_label.text().startswith("● Online"), timeout=10000)
    inbound(stack, wa_id="3461" + str(uuid.uuid4().int)[:7], name=name, text="¿Tenéis la talla M?")
    qtbot.waitUntil(lambda: name in feed_names(window), timeout=10000)
    row = feed_names(window).index(name)
    assert window.feed_model.index(row).data(PreviewRole) == "¿Tenéis la talla M?"
    # Newest first: the message that just arrived is at the top.
    assert row == 0


def test_typing_a_reply_and_pressing_enter_reaches_the_sandbox_and_shows_read(stack, window, qtbot):
    name = f"Hugo {uuid.uuid4().hex[:6]}"
    inbound(stack, wa_id="3462" + str(uuid.uuid4().int)[:7], name=name, text="Hola, ¿abrís mañana?")
    qtbot.waitUntil(lambda: name in feed_names(window), timeout=10000)
    select_customer(window, qtbot, name)
    reply = f"Hola! Abrimos de 9:00 a 19:00. {uuid.uuid4().hex[:6]}"  # QtTest types ASCII only
    edit = window.composer.edit
    edit.setFocus()
    qtbot.keyClicks(edit, "line one")
    qtbot.keyClick(edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert edit.toPlainText() == "line one\n"  # Shift+Enter adds a line, sends nothing
    edit.clear()
    qtbot.keyClicks(edit, reply)
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert edit.toPlainText() == ""
    # Shown at once in the thread, before the server answers.
    texts = lambda: [window.thread_model.index(i).data() for i in range(window.thread_model.rowCount())]  # noqa: E731
    qtbot.waitUntil(lambda: reply in texts(), timeout=3000)
    qtbot.waitUntil(lambda: reply in sandbox_bodies(stack), timeout=10000)

    def state():
        row = texts().index(reply)
        return window.thread_model.index(row).data(DeliveryStateRole)

    qtbot.waitUntil(lambda: state() == "read", timeout=15000)
    row = texts().index(reply)
    assert "Read" in window.thread_model.index(row).data(StatusTextRole)
    assert sandbox_bodies(stack).count(reply) == 1


def test_customer_text_is_shown_as_plain_text(stack, window, qtbot):
    name = f"<b>Eve</b> {uuid.uuid4().hex[:4]}"
    text = '<img src="x" onerror="alert(1)"><a href="http://evil">click</a>'
    inbound(stack, wa_id="3463" + str(uuid.uuid4().int)[:7], name=name, text=text)
    qtbot.waitUntil(lambda: name in feed_names(window), timeout=10000)
    select_customer(window, qtbot, name)
    pane = window.customer_pane.name_label
    assert pane.textFormat() == Qt.TextFormat.PlainText and pane.text() == name
    assert window.thread_header.textFormat() == Qt.TextFormat.PlainText
    assert window.thread_header.text().startswith(name)
    assert window.thread_model.index(0).data() == text


def test_canned_response_is_inserted_with_variables_filled(stack, window, qtbot):
    name = f"Sofía Ramos {uuid.uuid4().hex[:4]}"
    inbound(stack, wa_id="3464" + str(uuid.uuid4().int)[:7], name=name, text="Quiero devolver unas botas")
    qtbot.waitUntil(lambda: name in feed_names(window), timeout=10000)
    select_customer(window, qtbot, name)
    panel = window.canned_panel
    panel.search_edit.setText("saludo")
    assert panel.list.count() >= 1
    panel.insert_button.click()
    inserted = window.composer.edit.toPlainText()
    assert inserted.startswith("¡Hola, Sofía!") and "Lucía" in inserted and "{{" not in inserted
