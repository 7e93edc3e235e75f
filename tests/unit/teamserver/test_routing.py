"""The router on a real database (SQLite and PostgreSQL): distribution, capacity, shifts, reclaim and the
disconnect grace, with the clock given to each pass."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from services.channels.base import InboundMessage, WebhookBatch
from services.teamserver import routing
from services.teamserver.db import init_db, make_engine
from services.teamserver.ingest import ingest_batches
from services.teamserver.models import Agent, Assignment, Conversation, Identity
from tests.support import DATABASES, team_database
from workstation import protocol

# A Monday, 10:00 UTC.
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
# Agents' apps count as connected until then unless a test says otherwise (the disconnect grace has its test).
CONNECTED = T0 + timedelta(days=400)


@pytest.fixture(params=DATABASES)
def engine(request, tmp_path):
    with team_database(request.param, tmp_path) as url:
        engine = make_engine(url)
        init_db(engine)
        yield engine
        engine.dispose()


def add_agent(engine, name: str, *, status: str = "available", capacity: dict | None = None,
              shifts: list[dict] | None = None, tz: str = "UTC", seen: datetime = CONNECTED) -> int:
    with Session(engine) as s:
        agent = Agent(email=f"{name.lower()}@t.test", name=name, password_hash="x", status=status,
                      capacity=json.dumps(capacity or {}), shifts=json.dumps(shifts or []), timezone=tz,
                      last_seen_at=seen)
        s.add(agent)
        s.commit()
        return agent.id


def inbound(engine, handle: str, minute: float = 0, channel: str = "whatsapp", text: str = "hola") -> int:
    message = InboundMessage(channel=channel, account_id="1", provider_message_id=f"{channel}-{handle}-{minute}",
                             sender_handle=handle, sender_name="", kind="text", text=text,
                             sent_at=T0 + timedelta(minutes=minute))
    with Session(engine) as s:
        ingest_batches(s, [WebhookBatch(messages=[message])])
        s.commit()
        return s.exec(select(Conversation.id).join(Identity, Identity.id == Conversation.identity_id)
                      .where(Identity.channel == channel, Identity.handle == handle)
                      .order_by(Conversation.id.desc())).first()


def set_rules(engine, **rules) -> None:
    with Session(engine) as s:
        routing.save_settings(s, protocol.RoutingSettings(**rules))
        s.commit()


def assignees(engine) -> dict[int, int | None]:
    with Session(engine) as s:
        return {c.id: c.assignee_id for c in s.exec(select(Conversation)).all()}


def set_agent(engine, agent_id: int, **values) -> None:
    with Session(engine) as s:
        agent = s.get(Agent, agent_id)
        for key, value in values.items():
            setattr(agent, key, value)
        s.add(agent)
        s.commit()


def trail(engine, conversation_id: int) -> list[tuple[str, int | None, int | None]]:
    with Session(engine) as s:
        rows = s.exec(select(Assignment).where(Assignment.conversation_id == conversation_id)
                      .order_by(Assignment.id)).all()
        return [(r.kind, r.from_agent_id, r.to_agent_id) for r in rows]


def test_least_loaded_first_and_round_robin_among_equals(engine):
    ana, ben, eva = add_agent(engine, "Ana"), add_agent(engine, "Ben"), add_agent(engine, "Eva")
    set_rules(engine, default_capacity=10, reclaim_minutes=0)
    first = [inbound(engine, f"c{i}", minute=i) for i in range(2)]
    routing.route_once(engine, T0 + timedelta(minutes=5))
    got = assignees(engine)
    assert sorted(got[c] for c in first) == sorted([ana, ben])  # one each, Eva next in turn
    more = [inbound(engine, f"d{i}", minute=10 + i) for i in range(4)]
    routing.route_once(engine, T0 + timedelta(minutes=20))
    got = assignees(engine)
    loads = {a: sum(1 for v in got.values() if v == a) for a in (ana, ben, eva)}
    assert loads == {ana: 2, ben: 2, eva: 2}, "equal loads after round robin"
    assert got[more[0]] == eva, "the oldest waiting conversation goes to the least-loaded agent"
    assert trail(engine, more[0]) == [("auto", None, eva)]


def test_nobody_offline_away_or_off_shift_gets_work_and_the_queue_waits_until_someone_is_free(engine):
    away = add_agent(engine, "Away", status="away")
    gone = add_agent(engine, "Gone", status="offline")
    # On shift Monday 14:00–22:00 in Madrid (UTC+1 in November): not at 10:00 UTC.
    late = add_agent(engine, "Late", shifts=[{"weekday": 0, "start": "14:00", "end": "22:00"}], tz="Europe/Madrid")
    convs = [inbound(engine, f"q{i}", minute=i) for i in range(3)]
    routing.route_once(engine, T0 + timedelta(minutes=5))
    assert set(assignees(engine).values()) == {None}
    # 13:05 UTC is 14:05 in Madrid: Late's shift has started.
    routing.route_once(engine, T0 + timedelta(hours=3, minutes=5))
    got = assignees(engine)
    assert all(got[c] == late for c in convs)
    assert away not in got.values() and gone not in got.values()


def test_capacity_per_channel_and_the_star_bucket(engine):
    ana = add_agent(engine, "Ana", capacity={"whatsapp": 1, "*": 2})
    set_rules(engine, default_capacity=50)
    wa = [inbound(engine, f"w{i}", minute=i) for i in range(3)]
    tg = [inbound(engine, f"t{i}", minute=10 + i, channel="telegram") for i in range(3)]
    routing.route_once(engine, T0 + timedelta(minutes=30))
    got = assignees(engine)
    assert [got[c] for c in wa] == [ana, None, None], "one WhatsApp conversation at a time"
    assert [got[c] for c in tg] == [ana, ana, None], "two for every other channel together"
    # Resolving one frees a place, and the next in line goes out.
    with Session(engine) as s:
        conv = s.get(Conversation, wa[0])
        conv.status = "resolved"
        s.add(conv)
        s.commit()
    routing.route_once(engine, T0 + timedelta(minutes=31))
    assert assignees(engine)[wa[1]] == ana


def test_overnight_shift_across_midnight_and_dst(engine):
    # Sunday 22:00 – Monday 06:00 in New York. 2026-11-01 is the day DST ends there (UTC-4 → UTC-5).
    night = add_agent(engine, "Night", shifts=[{"weekday": 6, "start": "22:00", "end": "06:00"}],
                      tz="America/New_York")
    shift = [protocol.Shift(weekday=6, start="22:00", end="06:00")]
    sunday_2330_local = datetime(2026, 11, 2, 4, 30, tzinfo=timezone.utc)  # 23:30 EST on Sunday 1 Nov
    monday_0530_local = datetime(2026, 11, 2, 10, 30, tzinfo=timezone.utc)  # 05:30 EST Monday
    monday_0630_local = datetime(2026, 11, 2, 11, 30, tzinfo=timezone.utc)  # 06:30 EST Monday
    assert protocol.on_shift(shift, "America/New_York", sunday_2330_local)
    assert protocol.on_shift(shift, "America/New_York", monday_0530_local)
    assert not protocol.on_shift(shift, "America/New_York", monday_0630_local)
    # The same wall-clock 05:30 before the change is 09:30 UTC (EDT): still in the shift.
    assert protocol.on_shift(shift, "America/New_York", datetime(2026, 10, 26, 9, 30, tzinfo=timezone.utc))
    assert not protocol.on_shift(shift, "America/New_York", datetime(2026, 10, 26, 10, 30, tzinfo=timezone.utc))
    conv = inbound(engine, "n1")
    routing.route_once(engine, monday_0630_local)
    assert assignees(engine)[conv] is None
    routing.route_once(engine, monday_0530_local + timedelta(days=7))
    assert assignees(engine)[conv] == night


def test_switched_off_nothing_is_handed_out(engine):
    add_agent(engine, "Ana")
    set_rules(engine, auto_assign=False)
    conv = inbound(engine, "m1")
    routing.route_once(engine, T0 + timedelta(minutes=1))
    assert assignees(engine)[conv] is None


def test_reclaim_returns_unanswered_work_to_someone_else(engine):
    ana = add_agent(engine, "Ana")
    set_rules(engine, reclaim_minutes=10, default_capacity=5)
    conv = inbound(engine, "r1", minute=0)
    routing.route_once(engine, T0 + timedelta(minutes=1))
    assert assignees(engine)[conv] == ana
    routing.route_once(engine, T0 + timedelta(minutes=10))  # 9 minutes since assignment: not yet
    assert assignees(engine)[conv] == ana
    ben = add_agent(engine, "Ben")
    result = routing.route_once(engine, T0 + timedelta(minutes=11, seconds=1))
    assert result.reclaimed == [conv]
    assert assignees(engine)[conv] == ben, "reclaimed work goes to someone other than who let it wait"
    assert trail(engine, conv) == [("auto", None, ana), ("reclaim", ana, None), ("auto", None, ben)]
    with Session(engine) as s:
        assert s.exec(select(Assignment).where(Assignment.kind == "reclaim")).one().reason == "10"


def test_an_answered_conversation_is_not_reclaimed(engine):
    ana = add_agent(engine, "Ana")
    set_rules(engine, reclaim_minutes=10)
    conv = inbound(engine, "r2")
    routing.route_once(engine, T0 + timedelta(minutes=1))
    with Session(engine) as s:  # what a reply does
        c = s.get(Conversation, conv)
        c.waiting_since = None
        s.add(c)
        s.commit()
    assert routing.route_once(engine, T0 + timedelta(minutes=60)).reclaimed == []
    assert assignees(engine)[conv] == ana


def test_a_disconnected_agent_goes_offline_after_the_grace_and_keeps_their_work(engine):
    ana = add_agent(engine, "Ana", seen=T0)
    set_rules(engine, offline_grace_seconds=120, reclaim_minutes=0)
    conv = inbound(engine, "g1")
    routing.route_once(engine, T0 + timedelta(seconds=60))
    assert assignees(engine)[conv] == ana
    result = routing.route_once(engine, T0 + timedelta(seconds=121))
    assert result.offline == [ana]
    with Session(engine) as s:
        assert s.get(Agent, ana).status == "offline"
    later = inbound(engine, "g2", minute=3)
    routing.route_once(engine, T0 + timedelta(minutes=4))
    got = assignees(engine)
    assert got[conv] == ana, "left for the lead to see"
    assert got[later] is None, "nothing new for an offline agent"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_shifts_and_statuses_keep_the_invariants(engine, seed):
    """Whatever the statuses, shifts and capacities: no conversation goes to an agent who is not available
    and on shift, nobody exceeds capacity, and nothing waits while an eligible agent has room."""
    rnd = random.Random(seed)
    set_rules(engine, default_capacity=3, reclaim_minutes=0, offline_grace_seconds=24 * 3600)
    agents = []
    for i in range(6):
        start = rnd.choice([0, 6, 14, 22])
        shifts = [{"weekday": d, "start": f"{start:02d}:00", "end": f"{(start + 8) % 24:02d}:00"}
                  for d in range(7) if rnd.random() < 0.6]
        agents.append(add_agent(engine, f"A{i}", status=rnd.choice(["available", "available", "away", "offline"]),
                                shifts=shifts, capacity=rnd.choice([{}, {"*": 2}, {"whatsapp": 1, "*": 4}])))
    minute = 0
    for step in range(8):
        for _ in range(rnd.randint(1, 6)):
            minute += 1
            inbound(engine, f"h{seed}-{minute}", minute=minute, channel=rnd.choice(["whatsapp", "telegram"]))
        now = T0 + timedelta(hours=step * 3, minutes=minute)
        routing.route_once(engine, now)
        with Session(engine) as s:
            by_id = {a.id: a for a in s.exec(select(Agent)).all()}
            convs = s.exec(select(Conversation)).all()
            settings = routing.load_settings(s)
            # The assignments made in this pass went to eligible agents.
            this_pass = s.exec(select(Assignment).where(Assignment.created_at == now)).all()
            for entry in this_pass:
                agent = by_id[entry.to_agent_id]
                assert agent.status == "available" and routing.agent_on_shift(agent, now)
            eligible = [a for a in by_id.values() if a.status == "available" and routing.agent_on_shift(a, now)]
            for agent in eligible:
                caps = routing.capacities(agent, settings.default_capacity)
                mine = [c for c in convs if c.assignee_id == agent.id and c.status in routing.LOAD_STATUSES]
                for key, cap in caps.items():
                    used = sum(1 for c in mine if (c.channel if c.channel in caps else "*") == key)
                    if any(e.to_agent_id == agent.id for e in this_pass):
                        assert used <= cap
                    queued_here = [c for c in convs if c.assignee_id is None and c.status == "open"
                                   and (c.channel if c.channel in caps else "*") == key]
                    assert not (queued_here and used < cap), "a conversation waits while someone has room"
        # Shake things up: statuses change between passes.
        for agent_id in rnd.sample(agents, 2):
            set_agent(engine, agent_id, status=rnd.choice(["available", "away", "offline"]))
