"""Database engine for the team server: SQLite (WAL, immediate write transactions) by default."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine
import uuid

from sqlmodel import Session, SQLModel, create_engine

from services.teamserver import models  # noqa: F401  (registers the tables)


def make_engine(db_url: str) -> Engine:
    if db_url.startswith("sqlite"):
        engine = create_engine(db_url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            # Take transaction control from pysqlite so every transaction can start IMMEDIATE: a
            # deferred read-then-write transaction in WAL mode fails with SQLITE_BUSY instead of waiting.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            # Reads (see read_only) take no write lock, so syncing agents never queue behind webhooks.
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("read_only") else "BEGIN IMMEDIATE")

    else:
        engine = create_engine(db_url, pool_pre_ping=True)
    return engine


def init_db(engine: Engine) -> str:
    """Creates missing tables; returns the database epoch (made on first use)."""
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        meta = session.get(models.ServerMeta, "epoch")
        if meta is None:
            meta = models.ServerMeta(key="epoch", value=uuid.uuid4().hex)
            session.add(meta)
            session.commit()
        return meta.value


def read_only(engine: Engine) -> Engine:
    """The same engine and pool, for transactions that only read (a deferred BEGIN on SQLite)."""
    return engine.execution_options(read_only=True)
