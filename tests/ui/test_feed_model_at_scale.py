"""The lazy feed model over a big cache: few rows in memory, the right order, no resets on refresh, the
selection kept; the thread model's window over a long conversation."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from PySide6.QtWidgets import QListView

from tests.unit.workstation.test_cache_at_scale import fill
from ui import feed_model as fm
from ui.feed_delegate import FeedDelegate
from ui.thread_model import WINDOW, ThreadModel
from workstation.cache import Cache, ThreadRow


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    path = tmp_path_factory.mktemp("feed") / "cache.sqlite"
    fill(path, conversations=20_000, per_conversation=1)
    cache = Cache(path)
    yield cache
    cache.close()


class Counting:
    def __init__(self, cache: Cache) -> None:
        self.cache, self.calls, self.rows = cache, 0, 0

    def __call__(self, ids):
        self.calls += 1
        self.rows += len(ids)
        return self.cache.feed_rows(ids)


def signals(model) -> list[str]:
    heard: list[str] = []
    for name in ("modelReset", "rowsInserted", "rowsRemoved", "layoutChanged", "dataChanged"):
        getattr(model, name).connect(lambda *_a, n=name: heard.append(n))
    return heard


def test_a_scroll_through_20k_conversations_keeps_few_rows_in_memory(qtbot, big):
    fetch = Counting(big)
    model = fm.FeedModel()
    ids = big.feed_ids("all")
    model.set_feed(ids, big.feed_rows(ids[:40]), fetch)
    view = QListView()
    qtbot.addWidget(view)
    view.setUniformItemSizes(True)
    view.setItemDelegate(FeedDelegate(view))
    view.setModel(model)
    view.resize(340, 700)
    view.show()
    qtbot.waitExposed(view)
    assert model.rowCount() == 20_000
    assert fetch.rows < 200  # painting the first screen read no more than a page or two
    bar = view.verticalScrollBar()
    seen = []
    while bar.value() < bar.maximum():
        bar.setValue(bar.value() + bar.pageStep() * 10)
        view.viewport().repaint()
        seen.append(view.indexAt(view.viewport().rect().topLeft()).data(fm.ConversationIdRole))
        assert model.cached_rows() <= fm.MAX_ROWS
    # Every row shown is the one at its place in the feed's order, read by pages, never all at once.
    tops = [model.index(r).data(fm.ConversationIdRole) for r in (0, 9_999, 19_999)]
    assert tops == [ids[0], ids[9_999], ids[19_999]]
    assert seen[-1] in ids[-20:]
    assert fetch.rows < 20_000 * 0.5 and fetch.calls >= len(seen) / 2


def test_a_refresh_keeps_the_selection_and_never_resets(qtbot, big):
    model = fm.FeedModel()
    view = QListView()
    qtbot.addWidget(view)
    view.setModel(model)
    ids = big.feed_ids("all")
    model.set_feed(ids, big.feed_rows(ids[:40]), big.feed_rows)
    chosen = ids[500]
    view.setCurrentIndex(model.index(500))
    heard = signals(model)
    # A sync: one conversation gets a new message (moves to the top), a new one arrives, one is deleted.
    con = sqlite3.connect(big.path)
    newest = con.execute("SELECT max(last_message_at) FROM conversation").fetchone()[0]
    later = (datetime.fromisoformat(newest) + timedelta(seconds=5)).isoformat(" ")
    moved, gone = ids[3000], ids[10]
    with con:
        con.execute("UPDATE conversation SET last_message_at = ?, last_message_preview = 'moved' WHERE id = ?",
                    (later, moved))
        con.execute("INSERT INTO customer(id, display_name) VALUES (99999, 'New Customer')")
        con.execute("INSERT INTO conversation(id, customer_id, channel, status, last_message_at, "
                    "last_message_preview, version, inbound_count, read_count) "
                    "VALUES (99999, 99999, 'whatsapp', 'open', ?, 'new', 1, 0, 0)", (later,))
    try:
        new_ids = [i for i in big.feed_ids("all") if i != gone]
        model.set_feed(new_ids, big.feed_rows(new_ids[:40]), big.feed_rows)
        assert "modelReset" not in heard
        assert heard.count("rowsInserted") == 1 and heard.count("rowsRemoved") == 1
        assert heard.count("layoutChanged") <= 1 and len(heard) <= 4
        assert model.ids() == new_ids
        assert [model.index(r).data(fm.ConversationIdRole) for r in range(2)] == [99999, moved]
        assert model.index(1).data(fm.PreviewRole) == "moved"
        assert view.currentIndex().data(fm.ConversationIdRole) == chosen
        # The same order again: only the rows that changed repaint.
        heard.clear()
        model.set_feed(list(new_ids), big.feed_rows(new_ids[:40]), big.feed_rows)
        assert heard == []
    finally:
        with con:
            con.execute("DELETE FROM conversation WHERE id = 99999")
            con.execute("DELETE FROM customer WHERE id = 99999")
            con.execute("UPDATE conversation SET last_message_at = ?, last_message_preview = ? WHERE id = ?",
                        (big.feed_rows([ids[3001]])[0].last_message_at.replace(tzinfo=None).isoformat(" "),
                         f"preview {moved}", moved))
        con.close()


def test_search_results_replace_the_feed_and_back(qtbot, big):
    model = fm.FeedModel()
    ids = big.feed_ids("all")
    model.set_feed(ids, [], big.feed_rows)
    hits = big.feed_rows(ids[100:103])
    model.set_rows(hits)
    assert model.rowCount() == 3 and model.index(2).data(fm.CustomerNameRole) == hits[2].customer_name
    model.set_feed(ids, [], big.feed_rows)
    assert model.rowCount() == len(ids) and model.cached_rows() == 0


def thread(n: int, start: int = 0) -> list[ThreadRow]:
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    return [ThreadRow(key=f"s{i}", direction="in" if i % 2 else "out", text=f"message {i}",
                      created_at=t0 + timedelta(seconds=i), delivery_state="read", error_kind=None,
                      error_title=None, op_state=None, op_error=None) for i in range(start, n)]


def test_a_long_thread_opens_on_its_newest_window_and_grows_upwards(qtbot):
    model = ThreadModel()
    assert model.set_rows(1, thread(2000))
    assert model.rowCount() == WINDOW and model.has_older()
    assert model.index(WINDOW - 1).data() == "message 1999"
    assert model.show_older() == WINDOW and model.rowCount() == 2 * WINDOW
    assert model.index(0).data() == f"message {2000 - 2 * WINDOW}"
    heard = signals(model)
    assert model.set_rows(1, thread(2001))  # a new message: appended, the window kept
    assert heard == ["rowsInserted"] and model.rowCount() == 2 * WINDOW + 1
    assert model.index(model.rowCount() - 1).data() == "message 2000"
    while model.has_older():
        model.show_older()
    assert model.rowCount() == 2001 and model.index(0).data() == "message 0"
    assert model.set_rows(2, thread(10)) and model.rowCount() == 10 and not model.has_older()
