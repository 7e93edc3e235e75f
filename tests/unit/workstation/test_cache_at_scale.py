"""The feed and search of a big cache: views in the right order from their indexes, rows read by the window,
query plans that never scan every message or conversation."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

import pytest

from workstation.cache import FEED_VIEWS, Cache

ME = 7
N = 20_000


def fill(path, conversations: int = N, per_conversation: int = 3) -> None:
    """Bulk rows in the real schema (made by Cache), the FTS index rebuilt after, as the benchmark does."""
    Cache(path).close()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("BEGIN")
    con.execute("DROP TRIGGER message_fts_ai")
    t0 = datetime(2026, 1, 1)
    convs, customers, messages = [], [], []
    for c in range(1, conversations + 1):
        # Times collide in pairs, so the id must break ties; a few conversations have no message time.
        at = None if c % 997 == 0 else (t0 + timedelta(minutes=(c * 7919) % conversations // 2)).isoformat(" ")
        status = "resolved" if c % 3 == 0 else "open"
        assignee = ME if c % 5 == 0 else None if c % 5 == 1 else 2
        inbound, read = 3, (2 if c % 11 == 0 else 3)
        convs.append((c, c, "whatsapp", status, assignee, at, f"preview {c}", "in", inbound, read))
        customers.append((c, f"Customer {c}"))
        for m in range(per_conversation):
            messages.append((c, "in", f"message {m} of conversation {c} pedido", at or t0.isoformat(" ")))
    con.executemany("INSERT INTO customer(id, display_name) VALUES (?,?)", customers)
    con.executemany("INSERT INTO conversation(id, customer_id, channel, status, assignee_id, last_message_at, "
                    "last_message_preview, last_message_direction, inbound_count, read_count, version) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,1)", convs)
    con.executemany("INSERT INTO message(conversation_id, direction, text, kind, delivery_state, created_at) "
                    "VALUES (?,?,?,'text','delivered',?)", messages)
    con.execute("INSERT INTO people_fts(rowid, text) SELECT id, display_name FROM customer")
    con.execute("INSERT INTO message_fts(message_fts) VALUES('rebuild')")
    con.execute("COMMIT")
    con.close()


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "cache.sqlite"
    fill(path)
    cache = Cache(path)  # puts the trigger back
    yield cache
    cache.close()


def expected(cache: Cache, where: str) -> list[int]:
    con = sqlite3.connect(cache.path)
    rows = con.execute(f"SELECT id, last_message_at FROM conversation {where}").fetchall()
    con.close()
    # Newest first, conversations without a time last, ties by the newest id.
    rows.sort(key=lambda r: (r[1] is not None, r[1] or "", r[0]), reverse=True)
    return [r[0] for r in rows]


@pytest.mark.parametrize("view, where", [
    ("all", ""), ("mine", f"WHERE assignee_id = {ME}"), ("unassigned", "WHERE assignee_id IS NULL"),
    ("unread", "WHERE inbound_count > read_count"), ("resolved", "WHERE status = 'resolved'"),
])
def test_every_view_lists_its_conversations_newest_first(big, view, where):
    ids = big.feed_ids(view, agent_id=ME)
    assert ids == expected(big, where)
    assert len(ids) > 100


def test_feed_rows_come_in_the_order_asked_and_match_the_feed(big):
    ids = big.feed_ids("all")
    window = ids[5000:5064]
    rows = big.feed_rows(window)
    assert [r.conversation_id for r in rows] == window
    assert rows[0].customer_name == f"Customer {window[0]}" and rows[0].preview == f"preview {window[0]}"
    # The old whole-feed read agrees with the windowed one.
    assert [r.conversation_id for r in big.feed(limit=64)] == ids[:64]
    assert big.feed(limit=64)[:3] == big.feed_rows(ids[:3])


def test_watch_rows_are_the_agents_and_the_unassigned_waiting(big):
    rows = big.watch_rows(ME)
    assert rows and len(rows) < N / 2
    assert all(r.assignee_id == ME or (r.assignee_id is None and r.status in ("open", "pending")
                                       and r.last_direction == "in") for r in rows)
    assert {r.conversation_id for r in rows} >= set(big.feed_ids("mine", agent_id=ME))


def plan(cache: Cache, sql: str, params=()) -> str:
    con = sqlite3.connect(cache.path)
    try:
        return " | ".join(r[3] for r in con.execute("EXPLAIN QUERY PLAN " + sql, params))
    finally:
        con.close()


@pytest.mark.parametrize("view", FEED_VIEWS)
def test_each_view_is_one_index_scan_without_a_sort(big, view):
    from workstation.cache import _FEED_ORDER, _VIEW_WHERE

    where = _VIEW_WHERE[view].replace(':agent', '7').replace(':now', "'2030-01-01 00:00:00.000000'")
    text = plan(big, f"SELECT id FROM conversation {where} {_FEED_ORDER}")
    if view == "follow_ups":
        # The open check-ins due come from their own index, and each conversation by its key: the sort
        # is of those few rows, never of the whole table.
        assert "SEARCH conversation USING INTEGER PRIMARY KEY" in text and "SCAN conversation" not in text, text
        assert "SEARCH follow_up USING INDEX ix_follow_up_open" in text, text
        return
    assert "INDEX" in text, text
    assert "TEMP B-TREE" not in text, text  # no sort of the whole table


def test_search_and_thread_never_scan_every_message(big):
    searched = plan(big, "SELECT m.conversation_id FROM message_fts JOIN message m ON m.local_id = message_fts.rowid "
                         "JOIN conversation conv ON conv.id = m.conversation_id "
                         "JOIN customer cust ON cust.id = conv.customer_id "
                         "WHERE message_fts MATCH 'pedido*' ORDER BY message_fts.rowid DESC LIMIT 200")
    steps = searched.split(" | ")
    # The full-text index finds the messages; each is then read by its key, never by a scan.
    assert steps[0].startswith("SCAN message_fts VIRTUAL TABLE"), searched
    assert all(s.startswith("SEARCH") for s in steps[1:]) and "SEARCH m USING INTEGER PRIMARY KEY" in searched
    thread = plan(big, "SELECT local_id FROM message WHERE conversation_id = 5")
    assert "SCAN" not in thread and "ix_message_conversation_id" in thread, thread
    hits = big.search("pedido conversation 1234")
    assert hits and all(h.matched == "message" for h in hits) and len(hits) <= 50


def test_an_old_cache_gets_the_feed_indexes_on_open(tmp_path):
    path = tmp_path / "old.sqlite"
    Cache(path).close()
    con = sqlite3.connect(path)
    con.execute("DROP INDEX ix_conversation_unread_feed")
    con.commit()
    con.close()
    Cache(path).close()
    con = sqlite3.connect(path)
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    con.close()
    assert {"ix_conversation_assignee_feed", "ix_conversation_status_feed", "ix_conversation_unread_feed"} <= names


def test_the_case_type_filter_is_one_index_scan_without_a_sort(big):
    from workstation.cache import _FEED_ORDER

    text = plan(big, f"SELECT id FROM conversation WHERE case_type = 'postsale.return' {_FEED_ORDER}")
    assert "INDEX ix_conversation_case_feed" in text and "TEMP B-TREE" not in text, text
