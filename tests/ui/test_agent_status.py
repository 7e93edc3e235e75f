"""My status in the status bar, against the real team server: set, shown as the server has it, remembered,
set again after reconnecting and at the next sign-in, and offline when the app closes."""

from __future__ import annotations

import asyncio
import time

import httpx
from PySide6.QtCore import Qt

from tests.integration.helpers import sign_in, sync_all
from tests.ui.test_presence import ANA, open_as  # noqa: F401
from ui.app import Host, _until_closed
from workstation import protocol
from workstation.api import ApiClient
from workstation.settings import Settings


def server_status(stack, email: str) -> str:
    token, _ = sign_in(stack)
    return next(a["status"] for a in sync_all(stack, token)["agents"] if a["email"] == email)


def set_status_as_lead(stack, email: str, status: str) -> None:
    token, _ = sign_in(stack)
    agent_id = next(a["id"] for a in sync_all(stack, token)["agents"] if a["email"] == email)
    r = httpx.put(f"{stack.server_url}/v1/agents/{agent_id}/status", json={"status": status},
                  headers={"Authorization": f"Bearer {token}"})
    r.raise_for_status()


def shown(win) -> str:
    return win.my_status.currentData()


def test_choosing_a_status_sets_it_on_the_server_and_it_follows_a_leads_change(stack, open_as, qtbot):
    set_status_as_lead(stack, ANA, "offline")
    win = open_as(ANA)
    qtbot.waitUntil(lambda: win.connection_label.text().startswith("● Online"), timeout=10000)
    assert shown(win) == "offline"
    assert win.my_status.accessibleName() == "My status"
    # The agent picks "Away" with the keyboard (Available, Away, Offline).
    win.my_status.setFocus()
    qtbot.keyClick(win.my_status, Qt.Key.Key_Up)
    assert shown(win) == "away"
    qtbot.waitUntil(lambda: server_status(stack, ANA) == "away", timeout=5000)
    assert win.workspace.chosen_status() == "away"
    # A lead changes it: the selector follows the synced agent row; what the agent chose stays remembered.
    set_status_as_lead(stack, ANA, "available")
    qtbot.waitUntil(lambda: shown(win) == "available", timeout=5000)
    assert win.workspace.chosen_status() == "away"
    set_status_as_lead(stack, ANA, "offline")
    qtbot.waitUntil(lambda: shown(win) == "offline", timeout=5000)


def test_a_status_chosen_offline_is_set_once_the_server_is_back(stack, open_as, qtbot):
    win = open_as(ANA)
    qtbot.waitUntil(lambda: win.connection_label.text().startswith("● Online"), timeout=10000)
    win.choose_my_status("away")
    qtbot.waitUntil(lambda: server_status(stack, ANA) == "away", timeout=5000)
    stack.stop_server()
    try:
        qtbot.waitUntil(lambda: "Offline" in win.connection_label.text(), timeout=15000)
        win.choose_my_status("available")
        qtbot.waitUntil(lambda: "You are offline; your status will be set when you reconnect."
                        == win.statusBar().currentMessage(), timeout=10000)
        assert shown(win) == "available" and win.workspace.chosen_status() == "available"
    finally:
        stack.start_server()
    qtbot.waitUntil(lambda: win.connection_label.text().startswith("● Online"), timeout=20000)
    qtbot.waitUntil(lambda: server_status(stack, ANA) == "available", timeout=10000)
    qtbot.waitUntil(lambda: shown(win) == "available", timeout=5000)
    set_status_as_lead(stack, ANA, "offline")


def test_a_refused_status_change_shows_why_and_keeps_the_previous_one(stack, open_as, qtbot, monkeypatch):
    win = open_as(ANA)
    qtbot.waitUntil(lambda: win.connection_label.text().startswith("● Online"), timeout=10000)
    # Ana's session can set only her own status: aim her request at the lead's id to get the server's 403.
    lead_id = sign_in(stack)[1]["id"]
    api = win.workspace.api
    real = api.set_agent_status
    monkeypatch.setattr(api, "set_agent_status", lambda agent_id, status: real(lead_id, status))
    before = shown(win)
    win.choose_my_status("away")
    qtbot.waitUntil(lambda: win.statusBar().currentMessage().startswith("Your status was not changed: "), timeout=5000)
    assert "only a lead" in win.statusBar().currentMessage()
    assert shown(win) == before


def test_closing_goes_offline_quickly_and_the_next_sign_in_restores_the_choice(stack, qloop, qtbot, tmp_path):
    def host():
        token, agent = sign_in(stack, ANA)
        h = Host(ApiClient(stack.server_url, token), protocol.AgentPublic.model_validate(agent), language="en",
                 cache_path=tmp_path / "ana.sqlite", settings=Settings(tmp_path / "settings.json"))
        qtbot.addWidget(h.window)
        return h

    first = host()
    running = asyncio.ensure_future(_until_closed(first))
    qtbot.waitUntil(lambda: first.window.connection_label.text().startswith("● Online"), timeout=10000)
    first.window.choose_my_status("available")
    qtbot.waitUntil(lambda: server_status(stack, ANA) == "available", timeout=5000)
    started = time.monotonic()
    first.window.close()
    qtbot.waitUntil(running.done, timeout=10000)
    assert server_status(stack, ANA) == "offline"
    assert time.monotonic() - started < 3.0  # sign-off waits at most a second; stopping the sync the rest

    second = host()
    second_run = asyncio.ensure_future(_until_closed(second))
    # Signed in again: the status chosen last is set again (the server had us offline).
    qtbot.waitUntil(lambda: server_status(stack, ANA) == "available", timeout=10000)
    qtbot.waitUntil(lambda: second.window is not None and shown(second.window) == "available", timeout=5000)
    second.window.close()
    qtbot.waitUntil(second_run.done, timeout=10000)
    assert server_status(stack, ANA) == "offline"


def test_closing_with_the_server_gone_does_not_hang(stack, qloop, qtbot, tmp_path):
    token, agent = sign_in(stack, ANA)
    h = Host(ApiClient(stack.server_url, token), protocol.AgentPublic.model_validate(agent), language="en",
             cache_path=tmp_path / "gone.sqlite", settings=Settings(tmp_path / "settings.json"))
    qtbot.addWidget(h.window)
    running = asyncio.ensure_future(_until_closed(h))
    qtbot.waitUntil(lambda: h.window.connection_label.text().startswith("● Online"), timeout=10000)
    stack.stop_server()
    try:
        started = time.monotonic()
        h.window.close()
        qtbot.waitUntil(running.done, timeout=10000)
        assert time.monotonic() - started < 3.0
    finally:
        stack.start_server()
