"""Presence against the real team server: the window says where the agent is looking and typing, and shows
where colleagues are."""

from __future__ import annotations

import asyncio
import gc
import json
import threading
import uuid

import httpx
import pytest
from PySide6.QtCore import Qt

from tests.integration.helpers import inbound, sign_in
from tests.ui.test_main_window import feed_names, select_customer
from ui.app import open_window
from workstation import protocol
from workstation.api import ApiClient
from workstation.settings import Settings

ANA = "ana@demo.workstation.test"
BEN = "ben@demo.workstation.test"


@pytest.fixture
def open_as(stack, qloop, qtbot, tmp_path):
    """Opens the real window signed in as one of the demo agents (the lead by default)."""
    opened = []

    def make(email: str | None = None):
        token, agent = sign_in(stack, email)
        tag = (email or "lead").split("@")[0]
        win, workspace = open_window(ApiClient(stack.server_url, token), protocol.AgentPublic.model_validate(agent),
                                     language="en", cache_path=tmp_path / f"{tag}.sqlite",
                                     settings=Settings(tmp_path / f"{tag}-settings.json"))
        qtbot.addWidget(win)
        win.show()
        opened.append((win, workspace))
        return win

    yield make
    for win, workspace in opened:
        host = win._host
        if host.window is not None:
            host.window.close()
        stopping = asyncio.ensure_future(workspace.stop())
        qtbot.waitUntil(stopping.done, timeout=10000)
    gc.collect()
    qtbot.wait(20)


class Listener:
    """Another agent's event stream, read on a thread: the presence events the server sends them."""

    def __init__(self, stack, email: str) -> None:
        self.token, self.agent = sign_in(stack, email)
        self.url = stack.server_url
        self.presence: list[dict] = []
        self.connected = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(5.0, read=None))
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.connected.wait(10), "event stream did not connect"

    def close(self) -> None:
        """Closes the stream (an open one would hold up the server's shutdown)."""
        self._client.close()
        self.thread.join(5)

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
        try:
            with self._client.stream("GET", f"{self.url}/v1/events", headers=headers) as response:
                self._read(response)
        except (httpx.HTTPError, RuntimeError):
            pass  # closed by close()

    def _read(self, response) -> None:
        event = None
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                if event == "change":
                    self.connected.set()
                elif event == "presence":
                    self.presence.append(json.loads(line[5:]))
            elif line == "":
                event = None

    def states(self, conversation_id: int, agent_id: int) -> list[str]:
        return [p["state"] for p in self.presence
                if p["conversation_id"] == conversation_id and p["agent_id"] == agent_id]


def new_conversation(stack, qtbot, win, text="Hola") -> str:
    name = f"Pres {uuid.uuid4().hex[:6]}"
    inbound(stack, wa_id="3469" + str(uuid.uuid4().int)[:7], name=name, text=text)
    qtbot.waitUntil(lambda: name in feed_names(win), timeout=10000)
    return name


def post_presence(stack, token: str, conversation_id: int, state: str) -> None:
    r = httpx.post(f"{stack.server_url}/v1/conversations/{conversation_id}/presence", json={"state": state},
                   headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 204, r.text


def test_the_window_tells_colleagues_where_the_agent_looks_and_types(stack, open_as, qtbot):
    ana = Listener(stack, ANA)
    win = open_as()
    try:
        first, second = new_conversation(stack, qtbot, win), new_conversation(stack, qtbot, win)
        me = win.workspace.agent.id
        select_customer(win, qtbot, first)
        first_id = win.current_conversation
        qtbot.waitUntil(lambda: ana.states(first_id, me)[-1:] == ["viewing"], timeout=5000)
        assert ana.presence[-1]["agent_name"] == win.workspace.agent.name and ana.presence[-1]["ttl"] == 45
        # Typing: one "typing" for a burst of keystrokes, not one per key.
        qtbot.keyClicks(win.composer.edit, "Hola, un momento")
        qtbot.waitUntil(lambda: "typing" in ana.states(first_id, me), timeout=5000)
        qtbot.keyClicks(win.composer.edit, " por favor")
        qtbot.wait(500)
        assert ana.states(first_id, me).count("typing") == 1
        win.composer.edit.clear()
        select_customer(win, qtbot, second)
        second_id = win.current_conversation
        qtbot.waitUntil(lambda: ana.states(first_id, me)[-1:] == ["left"], timeout=5000)
        qtbot.waitUntil(lambda: ana.states(second_id, me)[-1:] == ["viewing"], timeout=5000)
        seen = ana.states(second_id, me).count("viewing")
        # Viewing is repeated while the conversation stays open (every 20 s; sooner here).
        win._viewing_timer.setInterval(300)
        win._viewing_timer.start()
        qtbot.waitUntil(lambda: ana.states(second_id, me).count("viewing") >= seen + 2, timeout=5000)
        assert win.workspace.presence_conversation == second_id
    finally:
        ana.close()


def test_colleagues_in_the_open_conversation_show_in_the_header(stack, open_as, qtbot):
    win = open_as()
    name = new_conversation(stack, qtbot, win)
    select_customer(win, qtbot, name)
    conversation_id = win.current_conversation
    label = win.presence_label
    assert label.textFormat() == Qt.TextFormat.PlainText
    assert not label.isVisible()
    ana_token, _ = sign_in(stack, ANA)
    ben_token, _ = sign_in(stack, BEN)
    post_presence(stack, ana_token, conversation_id, "viewing")
    qtbot.waitUntil(lambda: label.isVisible() and label.text() == "Ana is viewing", timeout=5000)
    post_presence(stack, ben_token, conversation_id, "viewing")
    qtbot.waitUntil(lambda: label.text() == "Ana and Ben are viewing", timeout=5000)
    post_presence(stack, ana_token, conversation_id, "typing")
    qtbot.waitUntil(lambda: label.text() == "Ana is typing… · Ben is viewing", timeout=5000)
    assert "Ana Gómez" in label.toolTip() and "Ben Carter" in label.toolTip()
    post_presence(stack, ana_token, conversation_id, "left")
    post_presence(stack, ben_token, conversation_id, "left")
    qtbot.waitUntil(lambda: not label.isVisible(), timeout=5000)
    # Presence elsewhere does not show here.
    other = new_conversation(stack, qtbot, win)
    other_id = win.feed_model.conversation_at(feed_names(win).index(other)).conversation_id
    assert other_id != conversation_id
    post_presence(stack, ana_token, other_id, "viewing")
    qtbot.wait(500)
    assert not label.isVisible() and win.workspace.presence(other_id) == [("Ana Gómez", "viewing")]
