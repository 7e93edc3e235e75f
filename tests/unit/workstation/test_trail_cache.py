"""The assignment trail in the cached thread: synced AssignmentPublic rows become "assignment" rows, with names."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from workstation import protocol
from workstation.cache import Cache

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
ANA, BEN, LUCIA = 2, 3, 1


def agent(id_, name, role="agent"):
    return protocol.AgentPublic(id=id_, email=f"{id_}@x.test", name=name, role=role)


def trail(id_, kind, *, source=None, target=None, actor=None, reason="", at):
    return protocol.AssignmentPublic(id=id_, conversation_id=1, from_agent_id=source, to_agent_id=target,
                                     actor_agent_id=actor, kind=kind, reason=reason, created_at=at)


def message(id_, text, *, at, direction="in", author=None):
    return protocol.MessagePublic(
        id=id_, conversation_id=1, direction=direction, author_agent_id=author, text=text, kind="text",
        provider_id=None, delivery_state="delivered", error_kind=None, error_code=None, error_title=None,
        created_at=at, client_op_id=None)


@pytest.fixture
def cache(tmp_path):
    c = Cache(tmp_path / "cache.sqlite")
    c.apply_page(protocol.SyncPage(
        next_after=5, has_more=False, epoch="e",
        agents=[agent(LUCIA, "Lucía Fernández", "lead"), agent(ANA, "Ana Gómez"), agent(BEN, "Ben Carter")],
        customers=[protocol.CustomerPublic(id=1, display_name="Cliente")],
        conversations=[protocol.ConversationPublic(
            id=1, customer_id=1, channel="whatsapp", status="open", assignee_id=BEN, last_message_at=T0,
            last_inbound_at=T0, last_message_preview="", last_message_direction="in", version=3)],
        messages=[message(1, "Hallo", at=T0), message(2, "Hi!", at=T0 + timedelta(minutes=3), direction="out",
                                                      author=ANA)],
        assignments=[
            trail(1, "auto", target=ANA, at=T0 + timedelta(seconds=1)),
            trail(2, "manual", source=ANA, target=BEN, actor=LUCIA, reason="customer speaks <b>German</b>",
                  at=T0 + timedelta(minutes=5)),
            trail(3, "reclaim", source=BEN, reason="unanswered for 15 min", at=T0 + timedelta(minutes=30)),
            trail(4, "take", target=99, actor=99, at=T0 + timedelta(minutes=31)),
        ],
    ))
    yield c
    c.close()


def test_trail_rows_sit_in_time_order_among_the_messages_with_names(cache):
    rows = cache.thread(1)
    assert [(r.direction, r.key) for r in rows] == [
        ("in", "s1"), ("assignment", "a1"), ("out", "s2"), ("assignment", "a2"), ("assignment", "a3"),
        ("assignment", "a4")]
    auto, moved, reclaimed, taken = (r.event for r in rows if r.direction == "assignment")
    assert auto == {"kind": "auto", "reason": "", "from_id": None, "to_id": ANA, "actor_id": None,
                    "from": "", "to": "Ana Gómez", "actor": ""}
    assert (moved["kind"], moved["from"], moved["to"], moved["actor"]) == ("manual", "Ana Gómez", "Ben Carter",
                                                                           "Lucía Fernández")
    assert moved["reason"] == "customer speaks <b>German</b>"  # as given: the view draws it as plain text
    assert (reclaimed["kind"], reclaimed["from"], reclaimed["to"]) == ("reclaim", "Ben Carter", "")
    # An agent the cache does not know (yet) is named by id, never left blank (blank means the queue).
    assert (taken["to"], taken["actor"]) == ("#99", "#99")


def test_outbound_rows_carry_their_author_id_for_collision_checks(cache):
    out = [r for r in cache.thread(1) if r.direction == "out"]
    assert [(r.author, r.author_id) for r in out] == [("Ana Gómez", ANA)]


def test_trail_of_other_conversations_stays_out_and_a_reset_clears_it(cache):
    cache.apply_page(protocol.SyncPage(next_after=6, has_more=False, epoch="e", assignments=[
        protocol.AssignmentPublic(id=9, conversation_id=2, from_agent_id=None, to_agent_id=ANA, actor_agent_id=None,
                                  kind="auto", reason="", created_at=T0)]))
    assert "a9" not in [r.key for r in cache.thread(1)]
    cache.apply_page(protocol.SyncPage(next_after=0, has_more=True, reset=True, epoch="e"))
    assert [r for r in cache.thread(1) if r.direction == "assignment"] == []
