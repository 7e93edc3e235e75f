"""The feed's care views from a real cache fed with sync pages: order by priority or by time left on the
response clock, the case-type filter, the "Follow-ups due" view, and the clock's colours."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from workstation import protocol, sla
from workstation.cache import Cache

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)
ME, OTHER = 1, 2


def conv(id_, *, priority="normal", due=None, target=None, kind="first", breached=None, case_type=None,
         status="open", assignee=None, waiting=None, last=None):
    return protocol.ConversationPublic(
        id=id_, customer_id=1, channel="whatsapp", status=status, assignee_id=assignee, last_inbound_at=None,
        last_message_at=last or NOW - timedelta(minutes=id_), last_message_preview=f"m{id_}",
        last_message_direction="in", version=1, priority=priority, case_type=case_type, waiting_since=waiting,
        sla_kind=kind if due else None, sla_due_at=due, sla_target_seconds=target, sla_breached_at=breached)


def follow_up(id_, conversation_id, *, due, agent=ME, done=None, canned=None):
    return protocol.FollowUpPublic(id=id_, conversation_id=conversation_id, customer_id=1, agent_id=agent,
                                   due_at=due, note="", canned_id=canned, done_at=done)


@pytest.fixture
def cache(tmp_path):
    c = Cache(tmp_path / "cache.sqlite")
    yield c
    c.close()


def feed(cache, **lists):
    cache.apply_page(protocol.SyncPage(
        next_after=cache.cursor() + 1, has_more=False, epoch="db-1",
        customers=[protocol.CustomerPublic(id=1, display_name="Lu")], **lists))


def test_priority_order_puts_urgent_first_then_the_longest_wait(cache):
    feed(cache, conversations=[
        conv(1, priority="normal", waiting=NOW - timedelta(hours=5)),
        conv(2, priority="urgent", waiting=NOW - timedelta(minutes=5)),
        conv(3, priority="high", waiting=NOW - timedelta(minutes=1)),
        conv(4, priority="urgent", waiting=NOW - timedelta(hours=1)),
        conv(5, priority="low", waiting=NOW - timedelta(days=1)),
        conv(6, priority="high"),  # not waiting: after the waiting ones of its level
    ])
    assert cache.feed_ids(order="priority") == [4, 2, 3, 6, 1, 5]
    # The default stays newest first.
    assert cache.feed_ids() == [1, 2, 3, 4, 5, 6]


def test_time_left_order_puts_breached_and_nearest_due_first_and_no_clock_last(cache):
    feed(cache, conversations=[
        conv(1),
        conv(2, due=NOW + timedelta(minutes=30), target=3600),
        conv(3, due=NOW - timedelta(minutes=10), target=3600, breached=NOW - timedelta(minutes=10)),
        conv(4, due=NOW + timedelta(minutes=5), target=3600),
        conv(5),
    ])
    assert cache.feed_ids(order="sla") == [3, 4, 2, 1, 5]


def test_case_type_filter_combines_with_the_view(cache):
    feed(cache, conversations=[
        conv(1, case_type="incident.complaint", status="resolved", assignee=ME),
        conv(2, case_type="incident.complaint", assignee=OTHER, status="resolved"),
        conv(3, case_type="postsale.return", status="resolved", assignee=ME),
        conv(4),
    ])
    assert cache.feed_ids(case_type="incident.complaint") == [1, 2]
    assert cache.feed_ids("mine", agent_id=ME, case_type="incident.complaint") == [1]
    assert cache.feed_ids("resolved", case_type="postsale.return") == [3]
    assert cache.feed_ids(case_type=None) == [1, 2, 3, 4]


def test_follow_ups_view_lists_check_ins_due_for_me_or_nobody(cache):
    feed(cache, conversations=[conv(i, status="resolved") for i in range(1, 7)], follow_ups=[
        follow_up(1, 1, due=NOW - timedelta(hours=1)),  # due, mine
        follow_up(2, 2, due=NOW + timedelta(hours=1)),  # not yet due
        follow_up(3, 3, due=NOW - timedelta(days=2), agent=OTHER),  # a colleague's
        follow_up(4, 4, due=NOW - timedelta(days=1), agent=None),  # anyone's
        follow_up(5, 5, due=NOW - timedelta(days=1), done=NOW - timedelta(hours=2)),  # done
    ])
    assert cache.feed_ids("follow_ups", agent_id=ME, now=NOW) == [1, 4]
    assert cache.feed_ids("follow_ups", agent_id=OTHER, now=NOW) == [3, 4]
    # Later, the second one is due too.
    assert cache.feed_ids("follow_ups", agent_id=ME, now=NOW + timedelta(hours=2)) == [1, 2, 4]
    rows = {r.conversation_id: r for r in cache.feed_rows([1, 2, 5, 6])}
    assert rows[1].follow_up_due_at == NOW - timedelta(hours=1)
    assert rows[2].follow_up_due_at == NOW + timedelta(hours=1)
    assert rows[5].follow_up_due_at is None and rows[6].follow_up_due_at is None


def test_due_follow_up_suggests_its_canned_response_or_the_default_check_in(cache):
    feed(cache, conversations=[conv(1, status="resolved"), conv(2, status="resolved")], follow_ups=[
        follow_up(1, 1, due=NOW - timedelta(hours=1), canned="en-followup"),
        follow_up(2, 1, due=NOW + timedelta(days=1), canned="en-warranty"),
        follow_up(3, 2, due=NOW - timedelta(hours=1)),
    ])
    assert cache.due_follow_up_canned(1, NOW) == ["en-followup"]
    assert cache.due_follow_up_canned(2, NOW) == ["es-followup"]
    assert cache.due_follow_up_canned(1, NOW + timedelta(days=2)) == ["en-followup", "en-warranty"]


def test_feed_rows_carry_the_clock_priority_and_case_type(cache):
    due = NOW + timedelta(minutes=10)
    feed(cache, conversations=[conv(1, priority="urgent", due=due, target=3600, kind="next",
                                    case_type="postsale.repair")])
    row = cache.feed_rows([1])[0]
    assert (row.priority, row.case_type, row.sla_kind, row.sla_due_at, row.sla_target_seconds) == \
        ("urgent", "postsale.repair", "next", due, 3600)
    assert cache.watch_rows(ME)[0] == row


def test_a_lead_watches_every_breached_conversation(cache):
    feed(cache, conversations=[
        conv(1, assignee=OTHER, due=NOW - timedelta(minutes=1), target=600, breached=NOW - timedelta(minutes=1)),
        conv(2, assignee=OTHER),
        conv(3, assignee=OTHER, status="resolved", breached=NOW - timedelta(hours=1), due=NOW - timedelta(hours=1)),
    ])
    assert cache.watch_rows(ME) == []
    assert [r.conversation_id for r in cache.watch_rows(ME, breaches_of_all=True)] == [1]


@pytest.mark.parametrize("left, target, breached, colour", [
    (3000, 3600, False, "green"),
    (901, 3600, False, "green"),
    (900, 3600, False, "amber"),  # a quarter left
    (60, 3600, False, "amber"),
    (0, 3600, False, "red"),
    (-120, 3600, False, "red"),
    (3000, 3600, True, "red"),  # the server marked it breached
    (10, None, False, "green"),  # no target known: never amber
])
def test_clock_colours(left, target, breached, colour):
    clock = sla.clock("first", NOW + timedelta(seconds=left), target, NOW if breached else None, NOW)
    assert clock.colour == colour and clock.seconds_left == left


def test_no_clock_without_a_due_time_or_on_a_closed_conversation(cache):
    assert sla.clock(None, NOW, 60, None, NOW) is None
    assert sla.clock("first", None, 60, None, NOW) is None
    feed(cache, conversations=[conv(1, due=NOW, target=60, status="resolved"), conv(2, due=NOW, target=60)])
    rows = {r.conversation_id: r for r in cache.feed_rows([1, 2])}
    assert sla.of(rows[1], NOW) is None and sla.of(rows[2], NOW).colour == "red"


@pytest.mark.parametrize("seconds, text", [
    (5, "5s"), (59.9, "59s"), (60, "1m"), (-125, "2m"), (3599, "59m"), (3600, "1h"), (3660, "1h01"),
    (9 * 3600 + 1800, "9h30"), (11 * 3600 + 1800, "11h"), (3 * 86400, "3d"),
])
def test_compact_durations(seconds, text):
    assert sla.compact(seconds) == text
