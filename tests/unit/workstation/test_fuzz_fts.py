"""Property test: whatever the agent types in the search box, fts_query() gives a valid FTS5 query."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzzing import FUZZ, NASTY_STRINGS
from workstation.cache import fts_query

ROWS = ["hola mundo", "pedido 1234 NEAR la tienda", "café crème", "'; DROP TABLE message;--",
        "\u202eevil\u202c", "\U0001f600 emoji", 'say "hi" *now*']


@pytest.fixture(scope="module")
def fts():
    db = sqlite3.connect(":memory:")
    # The tokenizer the desktop cache uses for message_fts and people_fts.
    db.execute("CREATE VIRTUAL TABLE t USING fts5(text, tokenize='unicode61 remove_diacritics 2')")
    db.executemany("INSERT INTO t(text) VALUES (?)", [(r,) for r in ROWS])
    yield db
    db.close()


@FUZZ
@given(st.one_of(st.text(max_size=60), st.sampled_from(NASTY_STRINGS),
                 st.lists(st.sampled_from(NASTY_STRINGS + ['"', "*", "(", ")", ":", "^", "-", "+", "AND", "NOT",
                                                           "NEAR", "OR", " "]), max_size=8).map("".join)))
@example('"unclosed')
@example('NEAR(a b, 3) AND "x" OR y* NOT z')
@example("\x00\ud800")
def test_any_text_is_a_valid_fts5_query(fts, text):
    query = fts_query(text)
    if query is None:
        return
    query.encode("utf-8")  # bindable
    fts.execute("SELECT rowid FROM t WHERE t MATCH ?", (query,)).fetchall()


def test_metacharacters_are_searched_as_words(fts):
    def hits(text):
        return [r for (r,) in fts.execute("SELECT text FROM t WHERE t MATCH ?", (fts_query(text),))]
    assert hits("NEAR(") == ["pedido 1234 NEAR la tienda"]
    assert hits("DROP TABLE") == ["'; DROP TABLE message;--"]
    assert hits("crem") == ["café crème"]
    assert hits('"hi" *') == ['say "hi" *now*']
