"""The lead board's data from a real cache fed with sync pages: loads, capacity, shifts by time and zone,
the queue's order, and our own moves still in the outbox."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from workstation import protocol
from workstation.board import board_snapshot, read_board
from workstation.cache import Cache
from workstation.sync import DbWorker

MONDAY = datetime(2026, 11, 16, 12, 0, tzinfo=timezone.utc)  # a Monday in winter (Madrid UTC+1, New York UTC-5)
T0 = MONDAY


def agent(id_, name, *, role="agent", status="available", tz="UTC", shifts=(), capacity=None):
    return protocol.AgentPublic(
        id=id_, email=f"{name.lower()}@example.test", name=name, role=role, status=status, timezone=tz,
        shifts=[protocol.Shift(weekday=d, start=s, end=e) for d, s, e in shifts], capacity=capacity or {})


def conv(id_, *, assignee=None, channel="whatsapp", status="open", customer=1, waiting=None, inbound=None,
         last=None, preview="hola"):
    last = last or inbound or waiting or T0
    return protocol.ConversationPublic(
        id=id_, customer_id=customer, channel=channel, status=status, assignee_id=assignee, last_message_at=last,
        last_inbound_at=inbound, last_message_preview=preview, last_message_direction="in", version=3,
        waiting_since=waiting)


def customers(*names):
    return [protocol.CustomerPublic(id=i, display_name=n) for i, n in enumerate(names, start=1)]


@pytest.fixture
def cache(tmp_path):
    c = Cache(tmp_path / "cache.sqlite")
    yield c
    c.close()


def feed(cache, **lists):
    cache.apply_page(protocol.SyncPage(next_after=cache.cursor() + 1, has_more=False, epoch="db-1", **lists))


def test_load_counts_open_and_pending_and_capacity_follows_the_router(cache):
    feed(cache,
         agents=[agent(1, "Ana"), agent(2, "Ben", capacity={"whatsapp": 2, "*": 3}),
                 agent(3, "Carla", capacity={"whatsapp": 1})],
         customers=customers("Lu"),
         conversations=[
             conv(10, assignee=1), conv(11, assignee=1), conv(12, assignee=1, channel="messenger", status="pending"),
             conv(13, assignee=1, status="resolved"), conv(14, assignee=1, status="snoozed"),
             conv(20, assignee=2), conv(21, assignee=2, channel="email"), conv(22, assignee=2, channel="telegram"),
         ])
    board = read_board(cache, MONDAY, default_capacity=4)
    ana, ben, carla = (board.agent(i) for i in (1, 2, 3))
    assert (ana.load, ana.capacity) == (3, 4)  # resolved and snoozed do not count
    assert ana.channel_loads == {"whatsapp": 2, "messenger": 1}
    assert ana.capacities == {"*": 4}
    # Ben: 2 for WhatsApp plus 3 shared by every other channel; email and Telegram both count against "*".
    assert (ben.load, ben.capacity) == (3, 5)
    assert ben.key_loads == {"whatsapp": 1, "*": 2}
    # Carla has a WhatsApp number only: every other channel gets the team's default, as the router does.
    assert (carla.load, carla.capacity, carla.free) == (0, 5, 5)
    assert read_board(cache, MONDAY, default_capacity=10).agent(1).capacity == 10
    # Nobody is waiting on Ana: her list is by the most recent message (all equal here, so newest id first).
    assert [c.conversation_id for c in board.conversations[1]] == [12, 11, 10]
    assert 13 not in {c.conversation_id for c in board.conversations[1]}


def test_oldest_wait_and_the_agents_list_put_waiting_customers_first(cache):
    feed(cache, agents=[agent(1, "Ana")], customers=customers("Lu", "Mo", "Ny"),
         conversations=[
             conv(1, assignee=1, customer=1, waiting=T0 - timedelta(minutes=10)),
             conv(2, assignee=1, customer=2, waiting=None, last=T0 - timedelta(minutes=1)),  # answered
             conv(3, assignee=1, customer=3, waiting=T0 - timedelta(minutes=30)),
             conv(4, assignee=1, customer=3, waiting=T0 - timedelta(hours=5), status="resolved"),
         ])
    board = read_board(cache, MONDAY)
    ana = board.agent(1)
    assert ana.oldest_waiting_since == T0 - timedelta(minutes=30)
    assert ana.oldest_waiting_id == 3
    rows = board.conversations[1]
    assert [r.conversation_id for r in rows] == [3, 1, 2]
    assert [r.customer_name for r in rows] == ["Ny", "Lu", "Mo"]
    assert [r.waiting for r in rows] == [True, True, False]


def test_an_agent_nobody_is_waiting_on_has_no_oldest_wait(cache):
    feed(cache, agents=[agent(1, "Ana")], customers=customers("Lu"),
         conversations=[conv(1, assignee=1, waiting=None)])
    ana = read_board(cache, MONDAY).agent(1)
    assert ana.load == 1 and ana.oldest_waiting_since is None and ana.oldest_waiting_id is None


def test_queue_is_unassigned_open_and_pending_longest_wait_first(cache):
    feed(cache, agents=[agent(1, "Ana")], customers=customers("Lu", "Mo", "Ny", "Oz", "Pi"),
         conversations=[
             conv(1, customer=1, waiting=T0 - timedelta(minutes=5), preview="<b>hola</b>"),
             # Answered (no waiting_since): waits since the last customer message.
             conv(2, customer=2, waiting=None, inbound=T0 - timedelta(minutes=20), status="pending"),
             conv(3, customer=3, waiting=T0 - timedelta(minutes=12), channel="email"),
             conv(4, customer=4, waiting=T0 - timedelta(hours=2), status="resolved"),
             conv(5, customer=5, waiting=T0 - timedelta(hours=3), assignee=1),
             conv(6, customer=5, waiting=None, inbound=None, last=T0 - timedelta(minutes=1)),
         ])
    board = read_board(cache, MONDAY)
    assert [r.conversation_id for r in board.queue] == [2, 3, 1, 6]
    assert board.queue_total == 4
    first = board.queue[0]
    assert (first.customer_name, first.status, first.waiting_since, first.waiting) == \
        ("Mo", "pending", T0 - timedelta(minutes=20), False)
    assert board.queue[2].preview == "<b>hola</b>"  # the text as the customer wrote it; the UI shows it plain
    assert board.queue[1].channel == "email"
    limited = read_board(cache, MONDAY, limit=2)
    assert [r.conversation_id for r in limited.queue] == [2, 3] and limited.queue_total == 4


def test_on_shift_follows_the_agents_time_zone_and_the_season(cache):
    feed(cache, agents=[agent(1, "Ana", tz="Europe/Madrid", shifts=[(0, "09:00", "17:00")]),
                        agent(2, "Ben", tz="UTC", shifts=[(0, "09:00", "17:00")])])

    def on(agent_id, when):
        return read_board(cache, when).agent(agent_id).on_shift

    winter = datetime(2026, 11, 16, 7, 30, tzinfo=timezone.utc)  # 08:30 in Madrid
    assert not on(1, winter) and not on(2, winter)
    assert on(1, winter + timedelta(minutes=30))  # 09:00 in Madrid
    assert not on(2, winter + timedelta(minutes=30))  # 08:00 UTC
    assert on(1, datetime(2026, 11, 16, 15, 59, tzinfo=timezone.utc))
    assert not on(1, datetime(2026, 11, 16, 16, 0, tzinfo=timezone.utc))  # 17:00 in Madrid: the end is out
    summer = datetime(2026, 7, 13, 7, 30, tzinfo=timezone.utc)  # a Monday, 09:30 in Madrid (UTC+2)
    assert on(1, summer) and not on(2, summer)
    board = read_board(cache, winter)
    assert board.agent(1).shift_text == "09:00–17:00"
    assert board.agent(1).today == (("09:00", "17:00"),)


def test_overnight_shift_runs_into_the_next_day_in_its_zone(cache):
    # Friday 22:00–06:00 in New York (UTC-5 in November).
    feed(cache, agents=[agent(1, "Nia", tz="America/New_York", shifts=[(4, "22:00", "06:00"), (5, "10:00", "12:00")])])
    friday_late = datetime(2026, 11, 21, 3, 30, tzinfo=timezone.utc)  # Friday 22:30 in New York
    saturday_early = datetime(2026, 11, 21, 10, 59, tzinfo=timezone.utc)  # Saturday 05:59
    saturday_after = datetime(2026, 11, 21, 11, 0, tzinfo=timezone.utc)  # Saturday 06:00
    friday_evening_utc = datetime(2026, 11, 20, 23, 0, tzinfo=timezone.utc)  # Friday 18:00 in New York
    nia = lambda when: read_board(cache, when).agent(1)  # noqa: E731
    assert nia(friday_late).on_shift
    assert nia(saturday_early).on_shift
    assert not nia(saturday_after).on_shift
    assert not nia(friday_evening_utc).on_shift  # already Friday 23:00 in UTC, but not in New York
    # Today's text is the agent's own day: Friday's shift on Friday; on Saturday morning the overnight
    # shift still running, then Saturday's own.
    assert nia(friday_late).shift_text == "22:00–06:00"
    assert nia(saturday_early).today == (("22:00", "06:00"), ("10:00", "12:00"))
    assert nia(saturday_after).shift_text == "10:00–12:00"


def test_no_schedule_means_always_on_shift_and_off_today_is_told_apart(cache):
    feed(cache, agents=[agent(1, "Ana"), agent(2, "Ben", shifts=[(1, "09:00", "17:00")])])
    board = read_board(cache, MONDAY)
    ana, ben = board.agent(1), board.agent(2)
    assert ana.on_shift and not ana.has_schedule and ana.shift_text == ""
    assert not ben.on_shift and ben.has_schedule and ben.shift_text == "" and ben.today == ()


def test_agents_by_name_and_an_unknown_assignee_still_shows(cache):
    feed(cache, agents=[agent(2, "bea", role="lead"), agent(1, "Álex"), agent(3, "Carla", status="away")],
         customers=customers("Lu"), conversations=[conv(1, assignee=99)])
    board = read_board(cache, MONDAY)
    # By name, accents and case aside; an assignee the cache has no row for comes last, by number.
    assert [a.name for a in board.agents] == ["Álex", "bea", "Carla", "#99"]
    assert board.agent(99).load == 1 and not board.agent(99).known
    assert board.agent(2).role == "lead" and board.agent(3).status == "away"


def test_our_queued_and_refused_moves_are_reported(cache):
    feed(cache, agents=[agent(1, "Ana")], customers=customers("Lu"),
         conversations=[conv(1), conv(2), conv(3)])
    cache.enqueue_update(1, assignee=(True, 1), reason="VIP")
    op, _ = cache.enqueue_update(2, assignee=(True, 1))
    cache.enqueue_update(3, status="resolved")  # not a move
    board = read_board(cache, MONDAY)
    # Shown where they are going at once.
    assert [c.conversation_id for c in board.conversations[1]] == [2, 1]
    assert board.queued_moves == 2 and board.failed_moves == {}
    cache.op_failed(op, "only a lead can assign a conversation to someone else")
    board = read_board(cache, MONDAY)
    assert board.queued_moves == 1
    assert board.failed_moves == {2: "only a lead can assign a conversation to someone else"}
    # The refused move is undone locally: conversation 2 is back in the queue.
    assert [c.conversation_id for c in board.queue] == [2]
    payload = json.loads(cache.next_op().payload)
    assert payload["assignee_id"] == 1 and payload["reason"] == "VIP"


def test_board_snapshot_reads_on_the_database_thread(cache):
    feed(cache, agents=[agent(1, "Ana")], customers=customers("Lu"), conversations=[conv(1, assignee=1)])
    db = DbWorker(cache)
    try:
        board = asyncio.run(board_snapshot(SimpleNamespace(db=db, cache=cache), MONDAY, default_capacity=7))
    finally:
        db._pool.shutdown(wait=True)
    assert board.now == MONDAY and board.default_capacity == 7
    assert (board.agent(1).load, board.agent(1).capacity) == (1, 7)


def test_lists_are_capped_but_loads_are_exact(cache):
    feed(cache, agents=[agent(1, "Ana")], customers=customers("Lu"),
         conversations=[conv(i, assignee=1, waiting=T0 - timedelta(minutes=i)) for i in range(1, 6)]
         + [conv(i, waiting=T0 - timedelta(minutes=i)) for i in range(10, 14)])
    board = read_board(cache, MONDAY, limit=2)
    assert board.agent(1).load == 5
    assert [c.conversation_id for c in board.conversations[1]] == [5, 4]  # the longest waits
    assert board.agent(1).oldest_waiting_id == 5
    assert [c.conversation_id for c in board.queue] == [13, 12] and board.queue_total == 4
