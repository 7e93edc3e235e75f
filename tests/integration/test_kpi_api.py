"""KPIs through the real team server over HTTP (SQLite and PostgreSQL): replies through the agent API write
the response records the report reads, an agent sees only their own figures while a lead sees everyone's,
bad ranges are refused, and the cost model round-trips (leads only), also through the desktop's ApiClient."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import sqlalchemy as sa

from services.teamserver.db import make_engine
from tests.integration.helpers import inbound, sign_in, sync_all, wait_for
from workstation import protocol
from workstation.api import ApiClient
from workstation.errors import ServerError

ANA = "ana@demo.workstation.test"
BEN = "ben@demo.workstation.test"
UTC = timezone.utc


class Agent:
    def __init__(self, stack, email: str) -> None:
        self.url = stack.server_url
        self.token, self.me = sign_in(stack, email)

    @property
    def id(self) -> int:
        return self.me["id"]

    def request(self, method: str, path: str, *, body: dict | None = None, **params) -> httpx.Response:
        return httpx.request(method, self.url + path, json=body, params=params or None, timeout=30,
                             headers={"Authorization": f"Bearer {self.token}", "Idempotency-Key": str(uuid.uuid4())})

    def kpis(self, **params) -> httpx.Response:
        now = datetime.now(UTC)
        params = {"start": (now - timedelta(days=1)).isoformat(), "end": (now + timedelta(hours=1)).isoformat(),
                  **params}
        return self.request("GET", "/v1/kpis", **params)


@pytest.fixture(scope="module")
def team(stack):
    people = {"lead": Agent(stack, stack.lead_email), "ana": Agent(stack, ANA), "ben": Agent(stack, BEN)}
    # Wall-clock targets (the test runs at any hour): first answer within 60 minutes, next within 30.
    care = people["lead"].request("PUT", "/v1/care", body={
        "sla": {"targets": [{"channel": "*", "priority": "*", "first_response_minutes": 60,
                             "next_response_minutes": 30}], "business_hours": False},
        "auto_reply": {"enabled": False}})
    assert care.status_code == 200, care.text
    return people


def customer_writes(stack, lead: Agent, wa_id: str, text: str, at: datetime | None = None) -> dict:
    inbound(stack, wa_id=wa_id, name="Cliente", text=text, timestamp=int(at.timestamp()) if at else None)

    def find():
        page = sync_all(stack, lead.token)
        message = next((m for m in page["messages"] if m["text"] == text), None)
        return message and next(c for c in page["conversations"] if c["id"] == message["conversation_id"])

    return wait_for(find, what=f"the customer's message {text!r}")


def reply(agent: Agent, conversation_id: int, text: str) -> None:
    r = agent.request("POST", f"/v1/conversations/{conversation_id}/messages", body={"text": text})
    assert r.status_code == 201, r.text


def response_records(stack, conversation_id: int) -> list[tuple]:
    engine = make_engine(stack.db_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(
                "SELECT kind, agent_id, channel, seconds, target_seconds, met FROM response_record "
                "WHERE conversation_id = :c ORDER BY id"), {"c": conversation_id})]
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def answered(stack, team):
    """Ana answers a new customer at once (first, met), then the same customer's message that was sent two
    hours ago (next, missed: its 30 minutes ran out before it arrived); Ben answers another customer."""
    lead, ana, ben = team["lead"], team["ana"], team["ben"]
    wa_id = "3466" + str(uuid.uuid4().int)[:7]
    conv = customer_writes(stack, lead, wa_id, f"hola {wa_id}")
    reply(ana, conv["id"], "¡Hola! ¿En qué te ayudo?")
    reply(ana, conv["id"], "¿Sigues ahí?")  # nobody waiting: no record
    customer_writes(stack, lead, wa_id, f"perdón, se me olvidó {wa_id}", datetime.now(UTC) - timedelta(hours=2))
    reply(ana, conv["id"], "Sin problema")
    other = "3466" + str(uuid.uuid4().int)[:7]
    ben_conv = customer_writes(stack, lead, other, f"buenas {other}")
    reply(ben, ben_conv["id"], "Buenas, dime")
    return {"ana_conv": conv["id"], "ben_conv": ben_conv["id"]}


def test_replies_through_the_api_write_response_records(stack, team, answered):
    records = response_records(stack, answered["ana_conv"])
    assert [(kind, agent, channel, target, bool(met)) for kind, agent, channel, _, target, met in records] == [
        ("first", team["ana"].id, "whatsapp", 3600, True),
        ("next", team["ana"].id, "whatsapp", 1800, False),
    ]
    first_wait, next_wait = records[0][3], records[1][3]
    assert 0 <= first_wait < 60
    assert 2 * 3600 - 5 <= next_wait < 2 * 3600 + 60, "the wait runs from when the customer wrote"
    assert [r[:2] for r in response_records(stack, answered["ben_conv"])] == [("first", team["ben"].id)]


def test_an_agent_sees_only_their_own_figures(team, answered):
    ana = team["ana"]
    # Asking for Ben's figures still gives Ana's own.
    r = ana.kpis(agent_id=team["ben"].id)
    assert r.status_code == 200, r.text
    report = protocol.KpiReport.model_validate(r.json())
    assert report.agent_id == ana.id
    assert [row.key for row in report.by_agent] == [str(ana.id)]
    t = report.totals
    assert (t.outbound, t.first_response.count, t.next_response.count) == (3, 1, 1)
    assert (t.sla_met, t.sla_total, t.sla_compliance) == (1, 2, 0.5)
    assert t.next_response.median >= 2 * 3600 - 5
    # Both of Ana's customer's messages, on her conversation (she took it by answering).
    assert (t.conversations, t.inbound) == (1, 2)
    assert sum(report.volume_by_hour) == 2 and sum(report.volume_by_weekday) == 2


def test_a_lead_sees_everyone_and_any_one_agent(stack, team, answered):
    lead = team["lead"]
    report = protocol.KpiReport.model_validate(lead.kpis(tz="Europe/Madrid").json())
    assert report.agent_id is None and report.timezone == "Europe/Madrid"
    rows = {row.key: row for row in report.by_agent}
    assert rows[str(team["ana"].id)].outbound == 3 and rows[str(team["ben"].id)].outbound == 1
    assert rows[str(team["ben"].id)].label == "Ben Carter"
    assert report.totals.first_response.count >= 2 and report.totals.outbound >= 4
    assert [row.key for row in report.by_channel] == ["whatsapp"]
    assert [c.channel for c in report.cost] == ["whatsapp", "all"]
    ben = protocol.KpiReport.model_validate(lead.kpis(agent_id=team["ben"].id).json())
    assert [row.key for row in ben.by_agent] == [str(team["ben"].id)]
    assert (ben.totals.outbound, ben.totals.first_response.count, ben.totals.next_response.count) == (1, 1, 0)
    # A range that holds none of it.
    old = lead.kpis(start="2020-01-01T00:00:00Z", end="2020-02-01T00:00:00Z")
    assert old.status_code == 200 and old.json()["totals"]["outbound"] == 0
    assert lead.kpis(agent_id=2**31 - 1).status_code == 404


@pytest.mark.parametrize(("params", "why"), [
    ({"start": "2026-03-02T00:00:00Z", "end": "2026-03-01T00:00:00Z"}, "before"),
    ({"start": "2026-03-01T00:00:00Z", "end": "2026-03-01T00:00:00Z"}, "before"),
    ({"start": "2025-01-01T00:00:00Z", "end": "2026-03-01T00:00:00Z"}, "400 days"),
    ({"start": "2026-03-01T00:00:00", "end": "2026-03-02T00:00:00"}, "offset"),
    ({"tz": "Mars/Olympus_Mons"}, "time zone"),
    ({"tz": "../../../etc/passwd"}, "time zone"),
    ({"start": "yesterday"}, None),
    ({"agent_id": 0}, None),
    ({"channel": "what\x00sapp"}, None),  # PostgreSQL text holds no NUL: refused here, not a 500 there
    ({"agent_id": 2**31}, None),  # past the agent id column (PostgreSQL would refuse it with an error)
])
def test_bad_requests_are_refused_with_422(team, params, why):
    for who in ("ana", "lead"):
        r = team[who].kpis(**params)
        assert r.status_code == 422, r.text
        if why:
            assert why in r.json()["detail"]


def test_start_and_end_are_required(team):
    r = team["lead"].request("GET", "/v1/kpis")
    assert r.status_code == 422


def test_the_cost_model_round_trips_and_only_a_lead_changes_it(team, answered):
    lead, ana = team["lead"], team["ana"]
    assert protocol.CostSettings.model_validate(ana.request("GET", "/v1/kpis/cost").json()) == protocol.CostSettings()
    body = {"currency": "USD", "agent_cost_per_hour": 30, "handle_minutes_per_reply": 6,
            "phone_cost_per_contact": 7, "call_deflection": 0.4}
    refused = ana.request("PUT", "/v1/kpis/cost", body=body)
    assert refused.status_code == 403 and refused.json()["detail"]
    assert ana.request("GET", "/v1/kpis/cost").json()["currency"] == "EUR", "a refusal changes nothing"
    assert lead.request("PUT", "/v1/kpis/cost", body={**body, "call_deflection": 2}).status_code == 422
    saved = lead.request("PUT", "/v1/kpis/cost", body=body)
    assert saved.status_code == 200 and saved.json() == body
    assert ana.request("GET", "/v1/kpis/cost").json() == body
    # The report prices Ana's three replies with it: 3 × 6 min = 0.3 h × 30 = 9.00.
    report = protocol.KpiReport.model_validate(ana.kpis().json())
    assert report.cost_settings.currency == "USD"
    assert [(c.channel, c.replies, c.agent_hours, c.cost) for c in report.cost] == \
        [("whatsapp", 3, 0.3, 9.0), ("all", 3, 0.3, 9.0)]


def test_the_desktop_client(stack, team, answered):
    async def run():
        lead = ApiClient(stack.server_url, team["lead"].token)
        ana = ApiClient(stack.server_url, team["ana"].token)
        try:
            now = datetime.now(UTC)
            report = await ana.kpis(now - timedelta(days=1), now + timedelta(hours=1), tz="America/New_York",
                                    agent_id=team["ben"].id)
            assert isinstance(report, protocol.KpiReport)
            assert (report.agent_id, report.timezone, report.totals.outbound) == (team["ana"].id, "America/New_York", 3)
            whatsapp = await lead.kpis(now - timedelta(days=1), now + timedelta(hours=1), channel="whatsapp")
            assert whatsapp.channel == "whatsapp" and len(whatsapp.by_agent) >= 2
            with pytest.raises(ServerError) as refused:
                await ana.kpis(now, now - timedelta(days=1))
            assert refused.value.status_code == 422
            settings = protocol.CostSettings(currency="GBP", agent_cost_per_hour=25)
            assert await lead.set_cost_settings(settings) == settings
            assert await ana.cost_settings() == settings
            with pytest.raises(ServerError) as forbidden:
                await ana.set_cost_settings(protocol.CostSettings())
            assert forbidden.value.status_code == 403
        finally:
            await lead.aclose()
            await ana.aclose()

    asyncio.run(run())


def test_the_backlog_counts_whoever_waits_now(stack, team):
    lead = team["lead"]
    before = lead.kpis().json()["backlog"]
    wa_id = "3466" + str(uuid.uuid4().int)[:7]
    customer_writes(stack, lead, wa_id, f"¿hay alguien? {wa_id}", datetime.now(UTC) - timedelta(hours=2))
    after = wait_for(lambda: (b := lead.kpis().json()["backlog"])["waiting"] > before["waiting"] and b,
                     what="the waiting customer in the backlog")
    assert after["open"] == before["open"] + 1
    assert after["age"]["1-4h"] == before["age"]["1-4h"] + 1
    # Past its 60-minute target already.
    assert after["breached"] == before["breached"] + 1
    assert after["oldest_wait_seconds"] >= 2 * 3600 - 5
