"""The window through a server outage: offline indicator, queued replies, local search, reconnection."""

from __future__ import annotations

import uuid

from PySide6.QtCore import Qt

from tests.integration.helpers import inbound
from tests.ui.test_main_window import feed_names, sandbox_bodies, select_customer, window  # noqa: F401
from ui.thread_model import StatusTextRole


def test_outage_queues_replies_keeps_search_and_delivers_after_reconnect(stack, window, qtbot):
    word = "bicicleta" + uuid.uuid4().hex[:4]
    name = f"Offline {uuid.uuid4().hex[:5]}"
    inbound(stack, wa_id="3466" + str(uuid.uuid4().int)[:7], name=name, text=f"La {word} llegó sin sillín")
    qtbot.waitUntil(lambda: name in feed_names(window), timeout=10000)
    select_customer(window, qtbot, name)

    stack.stop_server()
    try:
        qtbot.waitUntil(lambda: "Offline" in window.connection_label.text(), timeout=15000)
        reply = f"Te mandamos el sillin hoy {uuid.uuid4().hex[:5]}"
        qtbot.keyClicks(window.composer.edit, reply)
        qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
        model = window.thread_model

        def reply_status():
            texts = [model.index(i).data() for i in range(model.rowCount())]
            return model.index(texts.index(reply)).data(StatusTextRole) if reply in texts else ""

        qtbot.waitUntil(lambda: "Queued" in reply_status(), timeout=5000)
        qtbot.waitUntil(lambda: "1 queued" in window.connection_label.text(), timeout=5000)
        # Everything synced before the outage is still searchable.
        window.search_edit.setText(word)
        qtbot.waitUntil(lambda: feed_names(window) == [name], timeout=5000)
        window.search_edit.clear()
        assert reply not in sandbox_bodies(stack)
    finally:
        stack.start_server()

    qtbot.waitUntil(lambda: window.connection_label.text().startswith("● Online"), timeout=20000)
    qtbot.waitUntil(lambda: reply in sandbox_bodies(stack), timeout=20000)
    qtbot.waitUntil(lambda: "Read" in reply_status() or "Delivered" in reply_status(), timeout=15000)
    assert sandbox_bodies(stack).count(reply) == 1
    assert "queued" not in window.connection_label.text()
