"""The crisis banner against the real team server and sandbox: a spike shows the banner to a lead with its
numbers and tells the notifier once, a lead starts and ends crisis mode (agents then see it too, without the
switches), the playbook is shown as plain text, and offline the banner keeps what it showed."""

from __future__ import annotations

import asyncio
import re
import socket

import httpx
import pytest
from PySide6.QtWidgets import QPlainTextEdit

from tests.integration.helpers import sign_in
from ui.crisis_banner import CrisisBanner
from workstation.api import ApiClient

AGENT_EMAIL = "ana@demo.workstation.test"
ALERT = re.compile(r"^Possible crisis: (\d+) negative messages about 'outage' in 15 min \(usual 0\)$")


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def put_settings(stack, token: str, **settings) -> None:
    r = httpx.put(f"{stack.server_url}/v1/crisis/settings", json={"check_seconds": 1, **settings},
                  headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 200, r.text


def close(qtbot, *apis: ApiClient) -> None:
    for api in apis:
        closing = asyncio.ensure_future(api.aclose())
        qtbot.waitUntil(closing.done, timeout=10000)


@pytest.fixture(scope="module")
def spiked(stack):
    """The server checks every second, and the sandbox has sent 20 angry messages about an outage."""
    token, _ = sign_in(stack)
    put_settings(stack, token)
    r = httpx.post(f"{stack.sandbox_url}/_sandbox/spike",
                   json={"topic": "outage", "count": 20, "seconds": 2, "language": "es", "wait": True}, timeout=60)
    assert r.json()["delivered"] == 20
    return token


def test_a_lead_sees_the_spike_and_starts_and_ends_crisis_mode(stack, spiked, qloop, qtbot):
    token, lead = sign_in(stack)
    agent_token, _ = sign_in(stack, AGENT_EMAIL)
    api, agent_api = ApiClient(stack.server_url, token), ApiClient(stack.server_url, agent_token)
    banner = CrisisBanner(api, role=lead["role"], lang="en", poll_ms=500)
    agent_banner = CrisisBanner(agent_api, role="agent", lang="es", poll_ms=500)
    qtbot.addWidget(banner)
    qtbot.addWidget(agent_banner)
    told: list[str] = []
    updates: list[None] = []
    banner.alert_raised.connect(told.append)
    banner.updated.connect(lambda: updates.append(None))
    try:
        qtbot.waitUntil(lambda: bool(told), timeout=20000)
        match = ALERT.match(told[0])
        assert match and 10 <= int(match.group(1)) <= 20, told
        assert banner.isVisible() and banner.text_label.text() == told[0]
        assert banner.start_button.isVisible() and banner.ack_button.isVisible()
        assert not banner.end_button.isVisible()
        assert banner.pinned_canned_keys() == []
        qtbot.waitUntil(lambda: agent_banner.state is not None, timeout=10000)
        assert not agent_banner.isVisible(), "agents see alerts only once crisis mode is on"

        # Polling again does not tell the notifier again.
        seen = len(updates)
        qtbot.waitUntil(lambda: len(updates) >= seen + 2, timeout=10000)
        assert len(told) == 1

        with qtbot.waitSignal(banner.pinned_changed, timeout=10000) as pinned:
            banner.start_button.click()
        assert pinned.args == [["es-crisis", "en-crisis"]]
        assert banner.pinned_canned_keys() == ["es-crisis", "en-crisis"]
        assert banner.end_button.isVisible() and not banner.start_button.isVisible()
        assert banner.text_label.text().startswith("Crisis mode is on since ")
        assert f"(started by {lead['name']})" in banner.text_label.text()
        state = httpx.get(f"{stack.server_url}/v1/crisis", headers={"Authorization": f"Bearer {token}"}).json()
        assert state["mode"]["active"] and state["mode"]["by_agent_id"] == lead["id"]

        # The agent's banner appears with crisis mode, without the lead's switches or the alert numbers.
        qtbot.waitUntil(agent_banner.isVisible, timeout=10000)
        assert agent_banner.pinned_canned_keys() == ["es-crisis", "en-crisis"]
        assert not (agent_banner.start_button.isVisible() or agent_banner.end_button.isVisible()
                    or agent_banner.ack_button.isVisible())
        assert agent_banner.playbook_button.isVisible()
        assert "Possible crisis" not in agent_banner.text_label.text()

        # Acknowledging: the button goes, the banner stays while the alert lasts.
        banner.ack_button.click()
        qtbot.waitUntil(lambda: not banner.ack_button.isVisible(), timeout=10000)
        assert f"(acknowledged by {lead['name']})" in banner.text_label.text()

        with qtbot.waitSignal(banner.mode_changed, timeout=10000) as changed:
            banner.end_button.click()
        assert changed.args == [False] and banner.pinned_canned_keys() == []
        assert banner.isVisible(), "the alert is still on"
        qtbot.waitUntil(lambda: not agent_banner.isVisible(), timeout=10000)
    finally:
        banner.stop()
        agent_banner.stop()
        close(qtbot, api, agent_api)


def test_the_playbook_is_shown_as_plain_text(stack, spiked, qloop, qtbot):
    token, lead = sign_in(stack)
    playbook = "<b>Keep calm</b> & follow the <a href='x'>steps</a>\n1. Holding statement"
    put_settings(stack, token, playbook={"en": playbook, "es": "Calma"})
    api = ApiClient(stack.server_url, token)
    banner = CrisisBanner(api, role=lead["role"], lang="en", poll_ms=60_000)
    qtbot.addWidget(banner)
    try:
        qtbot.waitUntil(lambda: banner.state is not None and banner.isVisible(), timeout=20000)
        banner.playbook_button.click()
        dialog = banner.playbook_dialog
        assert dialog.isVisible()
        assert isinstance(dialog.text_view, QPlainTextEdit) and dialog.text_view.isReadOnly()
        # Shown literally: the markup is text, not formatting.
        assert dialog.text_view.toPlainText() == playbook
        dialog.close()
    finally:
        banner.stop()
        put_settings(stack, token)
        close(qtbot, api)


def test_offline_the_banner_keeps_what_it_showed(stack, spiked, qloop, qtbot):
    token, lead = sign_in(stack)
    api = ApiClient(stack.server_url, token)
    banner = CrisisBanner(api, role=lead["role"], lang="en", poll_ms=60_000)
    qtbot.addWidget(banner)
    offline = ApiClient(dead_url(), token)
    never = CrisisBanner(offline, role=lead["role"], lang="en", poll_ms=60_000)
    qtbot.addWidget(never)
    try:
        qtbot.waitUntil(lambda: banner.state is not None and banner.isVisible(), timeout=20000)
        shown = banner.text_label.text()
        banner._api = offline  # the network goes away
        banner.refresh()
        qtbot.waitUntil(lambda: banner.offline, timeout=10000)
        assert banner.isVisible() and banner.text_label.text() == shown
        # A banner that never reached the server stays hidden and quiet.
        qtbot.waitUntil(lambda: never.offline, timeout=10000)
        assert not never.isVisible() and never.state is None and never.pinned_canned_keys() == []
    finally:
        banner.stop()
        never.stop()
        close(qtbot, api, offline)
