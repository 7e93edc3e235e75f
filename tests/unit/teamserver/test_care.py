"""Care rules on a real team database (SQLite and PostgreSQL), with the clock given: priority on ingest,
response clocks, breaches, snooze wake-ups, reopening and the out-of-hours reply."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from services.channels.base import InboundMessage, WebhookBatch
from services.teamserver import care, routing
from services.teamserver.db import init_db, make_engine
from services.teamserver.ingest import ingest_batches
from services.teamserver.models import CannedResponse, Conversation, Customer, Identity, Message
from tests.support import DATABASES, team_database
from workstation import protocol

NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture(params=DATABASES)
def engine(request, tmp_path):
    with team_database(request.param, tmp_path) as url:
        engine = make_engine(url)
        init_db(engine)
        yield engine
        engine.dispose()


def write(engine, handle: str, text: str, at: datetime, key: str | None = None) -> Conversation:
    message = InboundMessage(channel="whatsapp", account_id="1", provider_message_id=key or f"{handle}-{at.isoformat()}",
                             sender_handle=handle, sender_name="", kind="text", text=text, sent_at=at)
    with Session(engine) as s:
        ingest_batches(s, [WebhookBatch(messages=[message])])
        s.commit()
    return conversation_of(engine, handle)


def conversation_of(engine, handle: str) -> Conversation:
    with Session(engine) as s:
        conv = s.exec(select(Conversation).join(Identity, Identity.id == Conversation.identity_id)
                      .where(Identity.handle == handle).order_by(Conversation.id.desc())).first()
        s.expunge(conv)
        return conv


def pass_at(engine, now: datetime) -> care.CareResult:
    """One routing pass (care included) at `now`; what its care step did (nothing when it had nothing to do)."""
    return routing.route_once(engine, now).care or care.CareResult([], [], [])


def set_care(engine, **settings) -> None:
    with Session(engine) as s:
        care.save(s, protocol.CareSettings(**settings))
        s.commit()


def update(engine, conversation_id: int, **values) -> None:
    with Session(engine) as s:
        conv = s.get(Conversation, conversation_id)
        for key, value in values.items():
            setattr(conv, key, value)
        s.add(conv)
        s.commit()


def test_priority_from_the_text_in_both_languages_with_negation(engine):
    urgent = write(engine, "p1", "Es URGENTE: me han cobrado dos veces, esto es un fraude", NOW)
    assert urgent.priority == "urgent"
    assert any(r.startswith("urgent:") for r in json.loads(urgent.priority_reasons))
    calm = write(engine, "p2", "No es urgente, cuando podáis me decís el horario", NOW)
    assert calm.priority == "normal"
    english = write(engine, "p3", "The app is not working and I want to cancel", NOW)
    assert protocol.PRIORITY_RANK[english.priority] >= protocol.PRIORITY_RANK["high"]
    not_cancel = write(engine, "p4", "I don't want to cancel, just asking about the price", NOW)
    assert not_cancel.priority == "normal"
    # Rules only raise it: a calm follow-up leaves an urgent conversation urgent.
    again = write(engine, "p1", "gracias", NOW + timedelta(minutes=1))
    assert again.id == urgent.id and again.priority == "urgent"


def test_vip_customers_and_repeated_messages_raise_the_priority(engine):
    first = write(engine, "v1", "hola, una pregunta", NOW)
    assert first.priority == "normal"
    with Session(engine) as s:
        customer = s.get(Customer, first.customer_id)
        customer.tags = json.dumps(["VIP"])
        s.add(customer)
        s.commit()
    second = write(engine, "v1", "¿me podéis ayudar?", NOW + timedelta(minutes=1))
    assert second.priority == "high" and "vip" in json.loads(second.priority_reasons)
    for i in range(3):
        third = write(engine, "r1", f"hola {i}", NOW + timedelta(minutes=i))
    assert "repeated" in json.loads(third.priority_reasons) and third.unanswered_count == 3


def test_response_clocks_first_then_next_and_a_breach(engine):
    set_care(engine, sla={"targets": [{"channel": "*", "priority": "*", "first_response_minutes": 30,
                                       "next_response_minutes": 90}], "business_hours": False})
    conv = write(engine, "s1", "hola", NOW)
    assert (conv.sla_kind, conv.sla_target_seconds) == ("first", 1800)
    assert conv.sla_due_at == NOW + timedelta(minutes=30)
    # Not yet due: nothing happens; past due: breached, once.
    assert pass_at(engine, NOW + timedelta(minutes=29)).breached == []
    assert pass_at(engine, NOW + timedelta(minutes=31)).breached == [conv.id]
    assert conversation_of(engine, "s1").sla_breached_at == NOW + timedelta(minutes=31)
    assert pass_at(engine, NOW + timedelta(minutes=40)).breached == []
    # An agent answers (what the reply route does): the clock stops; the next message starts "next".
    with Session(engine) as s:
        c = s.get(Conversation, conv.id)
        care.answered(c, NOW + timedelta(minutes=45))
        s.add(c)
        s.commit()
    answered = conversation_of(engine, "s1")
    assert (answered.sla_kind, answered.sla_due_at, answered.waiting_since) == (None, None, None)
    assert answered.first_replied_at == NOW + timedelta(minutes=45)
    later = write(engine, "s1", "otra cosa", NOW + timedelta(hours=2))
    assert later.sla_kind == "next" and later.sla_due_at == NOW + timedelta(hours=2, minutes=90)


def test_a_clock_counts_business_hours_only(engine):
    # Open Mon–Fri 09:00–17:00 in Madrid. A message on Friday 16:30 (15:30 UTC in November) with a 60-minute
    # target is due on Monday 09:30 Madrid time (08:30 UTC).
    set_care(engine, hours={"*": {"timezone": "Europe/Madrid", "weekly": {str(d): [["09:00", "17:00"]] for d in range(5)}}},
             sla={"targets": [{"channel": "*", "priority": "*", "first_response_minutes": 60,
                               "next_response_minutes": 60}], "business_hours": True},
             auto_reply={"enabled": False})
    friday = datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc)
    conv = write(engine, "b1", "hola", friday)
    assert conv.sla_due_at == datetime(2026, 11, 30, 8, 30, tzinfo=timezone.utc)


def test_resolved_conversations_reopen_when_the_customer_writes_again(engine):
    conv = write(engine, "o1", "hola", NOW - timedelta(days=2))
    update(engine, conv.id, status="resolved", resolved_at=NOW - timedelta(days=2), case_type="information.query")
    back = write(engine, "o1", "sigo con el problema", NOW - timedelta(days=1))
    assert back.id == conv.id and back.status == "open" and back.reopened_count == 1
    assert back.version == conv.version + 1, "a reopen changes the version (stale writes are refused)"
    # Resolved longer ago than reopen_days: a new conversation.
    update(engine, conv.id, status="resolved", resolved_at=NOW - timedelta(days=30))
    fresh = write(engine, "o1", "hola de nuevo", NOW)
    assert fresh.id != conv.id and fresh.status == "open" and fresh.reopened_count == 0


def test_snoozed_conversations_wake_at_their_time_or_when_the_customer_writes(engine):
    timed = write(engine, "z1", "hola", NOW)
    update(engine, timed.id, status="snoozed", snoozed_until=NOW + timedelta(hours=1))
    assert pass_at(engine, NOW + timedelta(minutes=59)).woken == []
    assert conversation_of(engine, "z1").status == "snoozed"
    assert pass_at(engine, NOW + timedelta(hours=1, seconds=1)).woken == [timed.id]
    assert conversation_of(engine, "z1").status == "open"
    until_reply = write(engine, "z2", "hola", NOW)
    update(engine, until_reply.id, status="snoozed", snooze_until_reply=True)
    routing.route_once(engine, NOW + timedelta(days=3))
    assert conversation_of(engine, "z2").status == "snoozed"
    woke = write(engine, "z2", "¿hola?", NOW + timedelta(days=3))
    assert woke.id == until_reply.id and woke.status == "open" and not woke.snooze_until_reply


def test_one_out_of_hours_reply_per_closed_period(engine):
    # Closed all week except Sunday 03:00–04:00 in UTC: closed at NOW unless NOW happens to be in that hour.
    set_care(engine, hours={"*": {"timezone": "UTC", "weekly": {"6": [["03:00", "04:00"]]}}})
    with Session(engine) as s:
        rules = care.load(s)
    now = NOW if not care.bh.is_open(rules.hours_for("whatsapp"), NOW) else NOW + timedelta(hours=2)
    conv = write(engine, "h1", "hola, ¿estáis?", now)
    assert [c for _, c in pass_at(engine, now + timedelta(seconds=1)).auto_replies] == [conv.id]
    write(engine, "h1", "¿hola?", now + timedelta(minutes=5))
    assert pass_at(engine, now + timedelta(minutes=5, seconds=1)).auto_replies == []
    with Session(engine) as s:
        replies = s.exec(select(Message).where(Message.conversation_id == conv.id,
                                               Message.kind == "auto_reply")).all()
    assert len(replies) == 1 and replies[0].direction == "out" and replies[0].delivery_state == "pending"
    assert "Sun 03:00–04:00" in replies[0].text or "dom 03:00–04:00" in replies[0].text
    assert "900 123 456" in replies[0].text, "the alternative channel is named"
    # The auto reply is not an agent's answer: the customer still waits and the clock runs.
    assert conversation_of(engine, "h1").waiting_since is not None


def test_the_default_canned_library_is_seeded_once(engine):
    care.ensure_seeded(engine)
    care.ensure_seeded(engine)
    with Session(engine) as s:
        rows = s.exec(select(CannedResponse)).all()
    keys = {r.key for r in rows}
    assert {"es-greeting", "en-greeting", "es-followup", "en-crisis"} <= keys
    assert len(rows) == len(keys) >= 60
    assert all(r.owner_agent_id is None for r in rows)


def test_out_of_hours_reply_only_for_messages_of_the_closed_period_and_again_in_the_next(engine):
    monday = datetime(2026, 11, 23, tzinfo=timezone.utc)
    every_day = {str(d): [["09:00", "17:00"]] for d in range(7)}
    set_care(engine, hours={"*": {"timezone": "UTC", "weekly": every_day}})
    conv = write(engine, "h2", "una pregunta", monday.replace(hour=16))
    assert pass_at(engine, monday.replace(hour=16, second=1)).auto_replies == []
    # Closed at 17:00, but the customer wrote while open: the team owes an answer, not an out-of-hours note.
    assert pass_at(engine, monday.replace(hour=18)).auto_replies == []
    write(engine, "h2", "¿hola?", monday.replace(hour=20))
    assert [c for _, c in pass_at(engine, monday.replace(hour=20, second=1)).auto_replies] == [conv.id]
    assert conversation_of(engine, "h2").auto_reply_key == monday.replace(hour=17).isoformat()
    write(engine, "h2", "sigo esperando", monday + timedelta(days=1, hours=8))
    assert pass_at(engine, monday + timedelta(days=1, hours=8, seconds=1)).auto_replies == []
    # The next closed period gets its own reply.
    write(engine, "h2", "¿mañana abrís?", monday + timedelta(days=1, hours=18))
    assert [c for _, c in pass_at(engine, monday + timedelta(days=1, hours=18, seconds=1)).auto_replies] == [conv.id]
    assert conversation_of(engine, "h2").auto_reply_key == (monday + timedelta(days=1, hours=17)).isoformat()
    # A channel with hours of its own (always open) never gets it while the team's default hours are closed.
    set_care(engine, hours={"*": {"timezone": "UTC", "weekly": every_day},
                            "whatsapp": {"timezone": "UTC", "always_open": True}})
    write(engine, "h3", "hola", monday + timedelta(days=1, hours=19))
    assert pass_at(engine, monday + timedelta(days=1, hours=19, seconds=1)).auto_replies == []
