"""An agent answers a Telegram customer from the merged feed: the real main window, offscreen, against the real
team server and the sandbox's Telegram emulator."""

from __future__ import annotations

import asyncio
import gc
import uuid

import httpx
import pytest
from PySide6.QtCore import Qt

from tests.integration.helpers import sign_in
from ui.app import open_window
from ui.feed_model import ChannelRole, CustomerNameRole
from ui.thread_model import DeliveryStateRole, FailedRole, StatusTextRole
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
    gc.collect()
    qtbot.wait(20)


def feed_row(win, name: str) -> int | None:
    model = win.feed_model
    names = [model.index(i).data(CustomerNameRole) for i in range(model.rowCount())]
    return names.index(name) if name in names else None


def thread_texts(win) -> list[str]:
    return [win.thread_model.index(i).data() for i in range(win.thread_model.rowCount())]


def telegram_sends(stack) -> list[str]:
    sent = httpx.get(f"{stack.sandbox_url}/_sandbox/telegram/sent").json()
    return [(s.get("json") or {}).get("text") for s in sent if s["status_code"] == 200]


def open_telegram_customer(stack, win, qtbot, text: str) -> tuple[int, str]:
    chat_id = 5_100_000_000 + uuid.uuid4().int % 100_000_000
    last = uuid.uuid4().hex[:6]
    httpx.post(f"{stack.sandbox_url}/_sandbox/telegram/inbound",
               json={"chat_id": chat_id, "first_name": "Tomás", "last_name": last, "text": text}).raise_for_status()
    name = f"Tomás {last}"
    qtbot.waitUntil(lambda: feed_row(win, name) is not None, timeout=15000)
    row = feed_row(win, name)
    assert win.feed_model.index(row).data(ChannelRole) == "telegram"
    win.feed_view.setCurrentIndex(win.feed_model.index(row))
    qtbot.waitUntil(lambda: win.customer_pane.name_label.text() == name and text in thread_texts(win))
    return chat_id, name


def test_a_telegram_customer_is_answered_from_the_feed_and_the_reply_shows_sent(stack, window, qtbot):
    open_telegram_customer(stack, window, qtbot, "Hola, ¿tenéis la talla M?")
    assert window.composer.channel == "telegram" and window.composer.limit == 4096
    assert window.composer.counter.text() == "0 / 4096"
    reply = f"Hola Tomas, si la tenemos. {uuid.uuid4().hex[:6]}"  # QtTest types ASCII only
    edit = window.composer.edit
    edit.setFocus()
    qtbot.keyClicks(edit, reply)
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: reply in telegram_sends(stack), timeout=15000)

    def state() -> str | None:
        texts = thread_texts(window)
        return window.thread_model.index(texts.index(reply)).data(DeliveryStateRole) if reply in texts else None

    # No receipts come from Telegram: sendMessage's success is the last word, shown as sent.
    qtbot.waitUntil(lambda: state() == "accepted", timeout=15000)
    row = thread_texts(window).index(reply)
    assert "Sent" in window.thread_model.index(row).data(StatusTextRole)
    assert telegram_sends(stack).count(reply) == 1


def test_a_reply_to_a_customer_who_blocked_the_bot_shows_why_it_failed(stack, window, qtbot):
    chat_id, _ = open_telegram_customer(stack, window, qtbot, "Ya no quiero nada")
    httpx.post(f"{stack.sandbox_url}/_sandbox/telegram/block", json={"chat_id": chat_id}).raise_for_status()
    reply = f"Lo sentimos mucho. {uuid.uuid4().hex[:6]}"
    edit = window.composer.edit
    edit.setFocus()
    qtbot.keyClicks(edit, reply)
    qtbot.keyClick(edit, Qt.Key.Key_Return)

    def row() -> int | None:
        texts = thread_texts(window)
        return texts.index(reply) if reply in texts else None

    qtbot.waitUntil(lambda: row() is not None and window.thread_model.index(row()).data(FailedRole), timeout=15000)
    status = window.thread_model.index(row()).data(StatusTextRole)
    assert "blocked" in status.lower(), status
