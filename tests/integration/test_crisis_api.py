"""Crisis detection through the real team server and WhatsApp sandbox (SQLite and PostgreSQL): a spike the
sandbox sends through its signed webhooks raises an alert that GET /v1/crisis shows; only leads switch crisis
mode, change the settings and acknowledge; crisis mode pins the holding statements and raises the spike's
conversations; `workstation sandbox-spike` drives the same spike from the command line.

Bound: with checks every second (the settings) and a router tick of 0.3 s, the alert is visible within 10 s
of the spike's last message being acknowledged by the server."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from services.sandbox.spike import TEXTS
from tests.integration.helpers import sign_in, sync_all, wait_for
from workstation.demo import start_demo_stack

ANA = "ana@demo.workstation.test"
DETECTION_BOUND = 10.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory, team_db):
    s = start_demo_stack(data_dir=tmp_path_factory.mktemp("crisis"), traffic=False, db_url=team_db,
                         extra_env={"WORKSTATION_ROUTING_TICK_SECONDS": "0.3"})
    yield s
    s.stop()


def call(stack, token: str | None, method: str, path: str, body: dict | None = None, **params) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.request(method, stack.server_url + path, json=body, params=params, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def tokens(stack):
    lead, lead_agent = sign_in(stack)
    agent, _ = sign_in(stack, ANA)
    # Check every second, so the test sees the bound of the check itself, not the default 30 s pace.
    r = call(stack, lead, "PUT", "/v1/crisis/settings", {"check_seconds": 1})
    assert r.status_code == 200, r.text
    assert r.json()["settings"]["check_seconds"] == 1 and r.json()["settings"]["window_minutes"] == 15
    return {"lead": lead, "agent": agent, "lead_name": lead_agent["name"]}


def open_alert(stack, token: str, topic: str) -> dict | None:
    state = call(stack, token, "GET", "/v1/crisis").json()
    return next((a for a in state["alerts"] if a["topic"] == topic and a["status"] != "ended"), None)


def test_a_spike_sent_through_the_webhooks_raises_an_alert_leads_handle(stack, tokens):
    lead, agent = tokens["lead"], tokens["agent"]
    assert call(stack, agent, "GET", "/v1/crisis").json()["alerts"] == []
    r = httpx.post(f"{stack.sandbox_url}/_sandbox/spike",
                   json={"topic": "outage", "count": 24, "seconds": 3, "language": "mixed", "wait": True}, timeout=60)
    assert r.status_code == 200, r.text
    assert r.json() == {"topic": "outage", "count": 24, "seconds": 3.0, "customers": 24, "delivered": 24}
    sent = time.monotonic()
    alert = wait_for(lambda: open_alert(stack, agent, "outage"), timeout=DETECTION_BOUND,
                     what="the outage alert, seen by any agent")
    log_line = f"alert after {time.monotonic() - sent:.1f} s"
    assert alert["status"] == "active", log_line
    assert alert["baseline"] == 0 and alert["window_minutes"] == 15  # a new server: no usual level yet
    assert 10 <= alert["window_count"] <= 24
    spike_texts = {t for group in TEXTS["outage"].values() for t in group}
    assert alert["sample"] and {s["text"] for s in alert["sample"]} <= spike_texts
    # Nothing overall: without history the overall count has no usual level to compare with.
    assert open_alert(stack, agent, "") is None

    # Agents read; only leads switch, configure and acknowledge.
    assert call(stack, agent, "POST", "/v1/crisis/mode", {"active": True}).status_code == 403
    assert call(stack, agent, "PUT", "/v1/crisis/settings", {"check_seconds": 1}).status_code == 403
    assert call(stack, agent, "POST", f"/v1/crisis/alerts/{alert['id']}/ack").status_code == 403
    assert call(stack, None, "GET", "/v1/crisis").status_code == 401
    assert call(stack, agent, "GET", "/v1/crisis").json()["mode"]["active"] is False

    r = call(stack, lead, "POST", f"/v1/crisis/alerts/{alert['id']}/ack")
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"
    assert r.json()["acknowledged_by_name"] == tokens["lead_name"]
    assert open_alert(stack, agent, "outage")["status"] == "acknowledged"
    assert call(stack, lead, "POST", "/v1/crisis/alerts/999999/ack").status_code == 404

    r = call(stack, lead, "POST", "/v1/crisis/mode", {"active": True}, lang="es")
    assert r.status_code == 200, r.text
    state = r.json()
    assert state["mode"]["active"] and state["mode"]["by_name"] == tokens["lead_name"]
    assert state["mode"]["topics"] == ["outage"]
    assert state["pinned_canned_keys"] == ["es-crisis", "en-crisis"]
    assert state["playbook"].startswith("Protocolo de crisis")
    # The spike's conversations are urgent now, with the reason (those the rules had made urgent already keep
    # theirs); agents see it by sync.
    conversations = sync_all(stack, agent)["conversations"]
    assert len(conversations) == 24 and all(c["priority"] == "urgent" for c in conversations)
    raised = [c for c in conversations if "crisis:outage" in c["priority_reasons"]]
    assert len(raised) >= 12
    assert all(any(r.startswith("urgent:") for r in c["priority_reasons"]) for c in conversations if c not in raised)
    # Agents see crisis mode too (their banner shows it).
    assert call(stack, agent, "GET", "/v1/crisis").json()["pinned_canned_keys"] == ["es-crisis", "en-crisis"]

    r = call(stack, lead, "POST", "/v1/crisis/mode", {"active": False})
    assert r.status_code == 200 and r.json()["mode"]["active"] is False and r.json()["pinned_canned_keys"] == []


def test_the_command_line_spike_raises_a_billing_alert(stack, tokens):
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "workstation", "sandbox-spike", "--sandbox", stack.sandbox_url,
                             "--topic", "billing", "--count", "12", "--seconds", "1", "--language", "en"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "12 messages about 'billing' from 12 customers" in result.stdout
    alert = wait_for(lambda: open_alert(stack, tokens["lead"], "billing"), timeout=DETECTION_BOUND + 5,
                     what="the billing alert")
    assert alert["window_count"] >= 10, f"after {time.monotonic() - started:.1f} s"


def test_settings_are_validated_and_kept(stack, tokens):
    lead = tokens["lead"]
    bad = call(stack, lead, "PUT", "/v1/crisis/settings", {"window_minutes": 1})
    assert bad.status_code == 422
    body = {"check_seconds": 1, "topics": {"delivery": ["no ha llegado", "hasn't arrived"]},
            "playbook": {"en": "<b>Stay calm</b> & answer", "es": "Calma"}}
    r = call(stack, lead, "PUT", "/v1/crisis/settings", body)
    assert r.status_code == 200 and r.json()["playbook"] == "<b>Stay calm</b> & answer"
    state = call(stack, tokens["agent"], "GET", "/v1/crisis", lang="es").json()
    assert state["settings"]["topics"] == {"delivery": ["no ha llegado", "hasn't arrived"]}
    assert state["playbook"] == "Calma"
    assert call(stack, lead, "PUT", "/v1/crisis/settings", {"check_seconds": 1}).status_code == 200
