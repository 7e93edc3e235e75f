"""The team database on SQLite and PostgreSQL: migrations, and a change log whose order is commit order."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
import time

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import Session, SQLModel

from services.teamserver import changes
from services.teamserver.db import BASELINE_REVISION, DatabaseUrlError, alembic_config, init_db, make_engine, normalize_url
from services.teamserver.models import Customer, SessionToken
from tests.support import DATABASES, team_database


@pytest.fixture(params=DATABASES)
def db_url(request, tmp_path):
    with team_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def test_migrations_build_exactly_the_schema_the_models_declare(engine):
    init_db(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    assert diff == []
    with engine.connect() as conn:
        head = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    from alembic.script import ScriptDirectory
    assert head == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_a_database_made_before_migrations_is_upgraded_in_place(engine):
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), BASELINE_REVISION)
        # What a server of the previous release left: its tables and rows, no alembic_version.
        conn.execute(sa.text("DROP TABLE alembic_version"))
        conn.execute(sa.text("INSERT INTO agent (email, name, role, password_hash, created_at) "
                             "VALUES ('ana@example.com', 'Ana', 'agent', 'x', CURRENT_TIMESTAMP)"))
        conn.execute(sa.text("INSERT INTO sessiontoken (token_hash, agent_id, created_at) "
                             "VALUES ('h', 1, CURRENT_TIMESTAMP)"))
    epoch = init_db(engine)
    assert epoch and init_db(engine) == epoch  # made once, kept
    with Session(engine) as s:
        token = s.exec(sa.select(SessionToken)).scalars().one()
        # Tokens from before expiry existed have expired: their agents sign in again.
        assert token.expires_at <= datetime.now(timezone.utc)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT name FROM agent")).scalar_one() == "Ana"


def test_database_urls_are_checked():
    assert normalize_url("postgresql://u@h:5432/d") == "postgresql+psycopg://u@h:5432/d"
    assert normalize_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalize_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"
    with pytest.raises(DatabaseUrlError):
        normalize_url("mysql://root@localhost/test")


def _add_customer(engine, name: str) -> tuple[int, int]:
    with Session(engine) as s:
        customer = Customer(display_name=name)
        s.add(customer)
        s.flush()
        changes.record(s, "customer", customer.id)
        s.commit()
        return customer.id, changes.committed_seq(s)


def test_a_sync_cursor_never_skips_a_change_that_commits_late(db_url, engine):
    """Writer A numbers its change and is slow to commit; writer B starts after and commits fast. A reader
    that sees B must see A too, or its cursor (past B's number) would skip A for ever."""
    init_db(engine)
    slow = threading.Event()

    @sa.event.listens_for(engine, "commit")
    def _slow_commit(conn):
        if threading.current_thread().name == "writer-a":
            slow.set()
            time.sleep(0.6)

    results: dict[str, tuple[int, int]] = {}
    a = threading.Thread(target=lambda: results.update(a=_add_customer(engine, "A")), name="writer-a")
    a.start()
    assert slow.wait(5)
    b = threading.Thread(target=lambda: results.update(b=_add_customer(engine, "B")), name="writer-b")
    b.start()
    b.join(0.3)
    reader_engine = make_engine(db_url)
    try:
        with Session(reader_engine) as reader:
            page = changes.sync_page(reader, after=0, limit=100, epoch="e")
    finally:
        reader_engine.dispose()
    seen = {c.display_name for c in page.customers}
    a.join(5)
    b.join(5)
    assert "A" in seen or "B" not in seen, f"the reader saw B without A: {seen}"
    assert results["a"][1] < results["b"][1]  # numbered in commit order


def test_every_change_of_a_transaction_is_logged_once_at_commit(engine):
    init_db(engine)
    with Session(engine) as s:
        customer = Customer(display_name="C")
        s.add(customer)
        s.flush()
        for _ in range(3):
            changes.record(s, "customer", customer.id)
        s.rollback()
    assert _latest(engine) == 0  # a rolled-back transaction logs nothing
    cid, seq = _add_customer(engine, "D")
    assert seq == _latest(engine) and seq > 0
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT entity, entity_id FROM change")).all()
    assert rows == [("customer", cid)]


def _latest(engine) -> int:
    with Session(engine) as s:
        return changes.latest_seq(s)


def test_the_sync_page_cache_serves_repeats_and_stays_within_its_budget():
    from services.teamserver.routes.sync import PageCache

    cache = PageCache(max_bytes=1000)
    assert cache.get((0, 500, 7)) is None
    cache.put((0, 500, 7), b"x" * 200)
    assert cache.get((0, 500, 7)) == b"x" * 200
    assert cache.get((0, 500, 8)) is None  # a newer change: not the same page
    for i in range(10):
        cache.put((i, 500, 9), b"y" * 200)
    assert sum(len(cache.get((i, 500, 9)) or b"") for i in range(10)) <= 1000
    assert cache.get((9, 500, 9)) == b"y" * 200  # the newest stay
    cache.put((99, 500, 9), b"z" * 600)  # over a quarter of the budget: not kept
    assert cache.get((99, 500, 9)) is None
    assert cache.hits >= 2 and cache.misses >= 3


def test_the_evidence_index_is_filled_from_existing_customers_and_follows_edits(engine):
    """Migration 0007 indexes the phones and emails already in customers' CRM fields; afterwards every ORM
    write of a customer's fields keeps the index in step (linking new identities reads only the index)."""
    import json

    from alembic import command

    from services.teamserver import identities
    from services.teamserver.models import CustomerEvidence

    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0006")
        for name, fields in (("Lu", {"Phone": "+34 (600) 100-200", "plan": "Gold"}),
                             ("Ana", {"email": "Ana.Ruiz@Example.com"}), ("Bo", {"phone": "600 100 200"}),
                             ("Old", {"merged_into": "1", "phone": "+34600999999"})):
            conn.execute(sa.text("INSERT INTO customer (display_name, created_at, tags, fields, notes) "
                                 "VALUES (:n, CURRENT_TIMESTAMP, '[]', :f, '')"), {"n": name, "f": json.dumps(fields)})
    init_db(engine)

    def indexed() -> set[tuple[str, str, str]]:
        with Session(engine) as s:
            names = {c.id: c.display_name for c in s.exec(sa.select(Customer)).scalars()}
            return {(names[e.customer_id], e.kind, e.value) for e in s.exec(sa.select(CustomerEvidence)).scalars()}

    # A national number without its country code and a merged customer are not evidence.
    assert indexed() == {("Lu", "phone", "+34600100200"), ("Ana", "email", "ana.ruiz@example.com")}
    with Session(engine) as s:
        lu = s.exec(sa.select(Customer).where(Customer.display_name == "Lu")).scalars().one()
        lu.fields = json.dumps({"phone": "+44 20 7946 0958"})
        s.add(Customer(display_name="New", fields=json.dumps({"email": "new@example.com"})))
        s.add(lu)
        s.commit()
        lu_id = lu.id
    assert indexed() == {("Lu", "phone", "+442079460958"), ("Ana", "email", "ana.ruiz@example.com"),
                         ("New", "email", "new@example.com")}
    with engine.connect() as conn:
        assert identities.linked_customers(conn, [("whatsapp", "442079460958"), ("whatsapp", "34600100200")]) \
            == {("whatsapp", "442079460958"): lu_id}
