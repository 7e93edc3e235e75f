"""The local cache: sync pages applied atomically with their cursor, the outbox, unread marks."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from workstation import protocol
from workstation.cache import Cache

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)


def conv(id_, *, at, direction="in", preview="hi", customer_id=1, inbound=1, version=1, status="open"):
    return protocol.ConversationPublic(
        id=id_, customer_id=customer_id, channel="whatsapp", status=status, assignee_id=None, last_message_at=at,
        last_inbound_at=at, last_message_preview=preview, last_message_direction=direction, version=version,
        inbound_count=inbound,
    )


def msg(id_, conversation_id, text, *, at, direction="in", state="delivered", op=None):
    return protocol.MessagePublic(
        id=id_, conversation_id=conversation_id, direction=direction, author_agent_id=None, text=text, kind="text",
        provider_id=f"wamid.{id_}", delivery_state=state, error_kind=None, error_code=None, error_title=None,
        created_at=at, client_op_id=op,
    )


def page(next_after, epoch="db-1", **lists):
    return protocol.SyncPage(next_after=next_after, has_more=False, epoch=epoch, **lists)


@pytest.fixture
def cache(tmp_path):
    c = Cache(tmp_path / "cache.sqlite")
    c.apply_page(page(
        3,
        customers=[protocol.CustomerPublic(id=1, display_name="Ana <b>López</b>")],
        identities=[protocol.IdentityPublic(id=1, customer_id=1, channel="whatsapp", handle="34600", display_name="Ana")],
        conversations=[conv(1, at=T0)],
        messages=[msg(1, 1, "hola", at=T0)],
    ))
    yield c
    c.close()


def test_page_and_cursor_are_applied_together(cache):
    assert cache.cursor() == 3
    [row] = cache.feed()
    assert row.customer_name == "Ana <b>López</b>" and row.unread
    assert [m.text for m in cache.thread(1)] == ["hola"]


def test_a_failing_page_changes_nothing_not_even_the_cursor(cache):
    bad = page(9, conversations=[conv(2, at=T0)], messages=[msg(5, 2, "x", at=T0)])
    # Corrupt the page after validation: a NULL in a NOT NULL column fails mid-transaction.
    bad.messages[0].__dict__["text"] = None
    with pytest.raises(Exception):
        cache.apply_page(bad)
    assert cache.cursor() == 3
    assert [r.conversation_id for r in cache.feed()] == [1]


def test_feed_is_newest_first_and_updates_in_place(cache):
    cache.apply_page(page(5, conversations=[conv(2, at=T0 + timedelta(minutes=5), customer_id=1)]))
    assert [r.conversation_id for r in cache.feed()] == [2, 1]
    cache.apply_page(page(6, conversations=[conv(1, at=T0 + timedelta(minutes=9), preview="again")]))
    assert [r.conversation_id for r in cache.feed()] == [1, 2]
    assert cache.feed()[0].preview == "again"


def test_mark_read_clears_unread_until_another_customer_message(cache):
    cache.mark_read(1)
    assert not cache.feed()[0].unread
    # A sync of the same conversation must not forget the local read mark.
    cache.apply_page(page(4, conversations=[conv(1, at=T0)]))
    assert not cache.feed()[0].unread
    # A late customer message with an older provider timestamp still counts as unread.
    cache.apply_page(page(5, conversations=[conv(1, at=T0, inbound=2, direction="out")]))
    assert cache.feed()[0].unread


def test_queued_reply_is_shown_then_replaced_by_the_servers_copy(cache):
    op_id, _ = cache.enqueue_reply(1, "on my way")
    rows = cache.thread(1)
    assert rows[-1].text == "on my way" and rows[-1].op_state == "queued" and rows[-1].delivery_state == "pending"
    assert cache.pending_ops() == 1 and cache.next_op().op_id == op_id
    # The server's copy may arrive through sync before the POST answer: it takes over the local row.
    cache.apply_page(page(7, messages=[msg(10, 1, "on my way", at=T0 + timedelta(minutes=1), direction="out",
                                           state="accepted", op=op_id)]))
    cache.op_done(op_id, msg(10, 1, "on my way", at=T0 + timedelta(minutes=1), direction="out", state="sent", op=op_id))
    rows = cache.thread(1)
    assert [r.text for r in rows] == ["hola", "on my way"]
    # Sync's copy stands: the POST answer only confirms the op.
    assert rows[-1].key == "s10" and rows[-1].op_state is None and rows[-1].delivery_state == "accepted"
    assert cache.pending_ops() == 0


def test_failed_op_keeps_its_reason(cache):
    op_id, _ = cache.enqueue_reply(1, "x")
    cache.op_failed(op_id, "conversation gone")
    row = cache.thread(1)[-1]
    assert row.op_state == "failed" and row.op_error == "conversation gone"
    assert cache.next_op() is None


def test_reset_drops_server_data_but_keeps_unsent_replies(cache):
    op_id, _ = cache.enqueue_reply(1, "still mine")
    cs = cache.apply_page(protocol.SyncPage(next_after=0, has_more=True, reset=True))
    assert cs.reset and cache.cursor() == 0 and cache.feed() == []
    assert cache.next_op().op_id == op_id
    assert [r.text for r in cache.thread(1)] == ["still mine"]


def test_a_different_database_epoch_resets_and_holds_back_unsent_writes(cache):
    op_id, _ = cache.enqueue_reply(1, "meant for the old database")
    cs = cache.apply_page(page(50, epoch="db-2", conversations=[conv(7, at=T0)]))
    assert cs.reset and cache.cursor() == 0 and cache.epoch() == "db-2"
    assert cache.feed() == [] and cache.next_op() is None
    row = cache.thread(1)[-1]
    assert row.op_id == op_id and row.op_state == "failed" and "database changed" in row.op_error


def test_a_stale_post_answer_never_downgrades_what_sync_already_applied(cache):
    op_id, _ = cache.enqueue_reply(1, "hello")
    at = T0 + timedelta(minutes=1)
    cache.apply_page(page(8, messages=[msg(20, 1, "hello", at=at, direction="out", state="read", op=op_id)]))
    # The POST's answer (or an idempotent replay of it) still says "pending".
    cache.op_done(op_id, msg(20, 1, "hello", at=at, direction="out", state="pending", op=op_id))
    assert cache.thread(1)[-1].delivery_state == "read"


def test_status_change_is_shown_at_once_and_undone_when_refused(cache):
    op_id, _ = cache.enqueue_update(1, status="resolved")
    assert cache.conversation(1).status == "resolved"
    [event] = [r for r in cache.thread(1) if r.direction == "event"]
    assert event.event["status"] == "resolved" and event.event["expected_version"] == 1
    cache.op_failed(op_id, "changed by Ana")
    assert cache.conversation(1).status == "open"
    # Retrying takes the conversation's current version and shows the change again.
    cache.apply_page(page(9, conversations=[conv(1, at=T0, version=3)]))
    cache.retry_op(op_id)
    assert cache.conversation(1).status == "resolved" and cache.next_op().op_id == op_id
    assert '"expected_version": 3' in cache.next_op().payload
    cache.discard_op(op_id)
    assert cache.conversation(1).status == "open" and cache.next_op() is None


def test_search_is_safe_against_fts_syntax_and_ignores_accents(cache):
    cache.apply_page(page(10, messages=[
        msg(30, 1, 'Quiero la devolución del pedido "A-12" NEAR casa * ya', at=T0 + timedelta(minutes=2)),
    ]))
    for query in ('"', "*", "NEAR(", "-", "AND OR NOT", ":", "pedido\"", 'devolucion "a-12'):
        cache.search(query)  # must not raise
    [hit] = cache.search("devolucion")
    assert hit.conversation_id == 1 and hit.matched == "message"
    assert hit.at == T0 + timedelta(minutes=2)
    assert "\ue000devolución\ue001" in hit.snippet
    assert cache.search('"A-12" NEAR') and cache.search("devol")  # prefix on the last word
    [customer_hit] = cache.search("lopez")
    assert customer_hit.matched == "customer" and "\ue000López\ue001" in customer_hit.snippet
    assert cache.search("34600")[0].matched == "customer"  # by handle
    assert cache.search("nothing-like-this") == []


def test_changes_queued_in_a_row_expect_the_versions_their_predecessors_will_make(cache):
    first, _ = cache.enqueue_update(1, assignee=(True, 5))
    second, _ = cache.enqueue_update(1, status="resolved")
    ops = {cache.next_op().op_id: cache.next_op()}
    assert '"expected_version": 1' in ops[first].payload
    cache.op_done(first, conv(1, at=T0, version=2))
    assert '"expected_version": 2' in cache.next_op().payload and cache.next_op().op_id == second


def test_another_agents_idempotency_key_never_collides_with_ours(cache):
    op_id, _ = cache.enqueue_reply(1, "mine")
    at = T0 + timedelta(minutes=3)
    # Two other agents happened to use the same key, and one of them the key of our pending reply.
    cache.apply_page(page(20, messages=[msg(41, 1, "theirs 1", at=at, direction="out", op="retry-1"),
                                        msg(42, 1, "theirs 2", at=at, direction="out", op="retry-1")]))
    texts = [r.text for r in cache.thread(1)]
    assert "theirs 1" in texts and "theirs 2" in texts and "mine" in texts
    assert cache.thread(1)[-1].op_state == "queued" or any(r.op_id == op_id for r in cache.thread(1))


def test_an_epoch_change_on_the_last_page_is_a_reset(cache):
    cs = cache.apply_page(protocol.SyncPage(next_after=99, has_more=False, epoch="db-9"))
    assert cs.reset and cache.cursor() == 0 and cache.epoch() == "db-9"


def test_a_refused_change_shows_the_servers_state_and_fails_the_changes_queued_after_it(cache):
    first, _ = cache.enqueue_update(1, assignee=(True, 5))
    second, _ = cache.enqueue_update(1, status="resolved")
    current = conv(1, at=T0, version=2, status="pending")
    cache.op_failed(first, "changed by Ana", current)
    assert cache.conversation(1).status == "pending" and cache.conversation(1).version == 2
    states = {r.op_id: (r.op_state, r.op_error) for r in cache.thread(1) if r.direction == "event"}
    assert states[first] == ("failed", "changed by Ana")
    assert states[second][0] == "failed" and "earlier change" in states[second][1]
    assert cache.next_op() is None
