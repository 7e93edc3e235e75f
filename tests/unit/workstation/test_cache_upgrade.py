"""A cache made by an older version is brought up to the current tables, keeping its outbox and drafts."""

from __future__ import annotations

import sqlite3

from workstation import protocol
from workstation.cache import Cache


def test_an_older_cache_gets_the_new_columns_and_pulls_everything_again(tmp_path):
    path = tmp_path / "cache.sqlite"
    con = sqlite3.connect(path)
    # The tables as version 0.2 made them (no status, shifts or capacity on agents; no care fields).
    con.executescript("""
        CREATE TABLE agent (id INTEGER PRIMARY KEY, email VARCHAR NOT NULL, name VARCHAR NOT NULL, role VARCHAR NOT NULL);
        CREATE TABLE customer (id INTEGER PRIMARY KEY, display_name VARCHAR NOT NULL);
        CREATE TABLE kv (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
        CREATE TABLE outbox (op_id VARCHAR PRIMARY KEY, seq INTEGER NOT NULL, kind VARCHAR NOT NULL,
            conversation_id INTEGER NOT NULL, payload VARCHAR NOT NULL, state VARCHAR NOT NULL, attempts INTEGER NOT NULL,
            last_error VARCHAR, created_at DATETIME NOT NULL);
        INSERT INTO agent VALUES (1, 'ana@t.test', 'Ana', 'agent');
        INSERT INTO customer VALUES (7, 'Sofía');
        INSERT INTO kv VALUES ('cursor', '812'), ('ui.drafts', '{"7": "hola"}');
        INSERT INTO outbox VALUES ('op-1', 1, 'reply', 7, '{"text": "hola"}', 'queued', 0, NULL, '2026-11-20 10:00:00');
    """)
    con.commit()
    con.close()
    cache = Cache(path)
    try:
        assert cache.cursor() == 0, "rows lack the new fields: everything is pulled again"
        assert cache.ui_value("drafts") == '{"7": "hola"}'
        assert cache.pending_ops() == 1, "the unsent reply is still there"
        agent = cache.agent(1)
        assert (agent.status, agent.timezone, agent.shifts, agent.capacity) == ("offline", "UTC", "[]", "{}")
        page = protocol.SyncPage(
            agents=[protocol.AgentPublic(id=1, email="ana@t.test", name="Ana", role="agent", status="available",
                                         shifts=[protocol.Shift(weekday=0, start="09:00", end="17:00")],
                                         capacity={"*": 3})],
            customers=[protocol.CustomerPublic(id=7, display_name="Sofía", tags=["VIP"], fields={"plan": "pro"})],
            next_after=900, has_more=False)
        cache.apply_page(page)
        agent = cache.agent(1)
        assert agent.status == "available" and '"09:00"' in agent.shifts and agent.capacity == '{"*": 3}'
        assert cache.cursor() == 900
    finally:
        cache.close()
    # Opening it again adds nothing and keeps the cursor.
    cache = Cache(path)
    try:
        assert cache.cursor() == 900
    finally:
        cache.close()
