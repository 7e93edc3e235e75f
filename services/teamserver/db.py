"""Database engine for the team server: SQLite (WAL, immediate write transactions) by default, PostgreSQL
(psycopg 3) for teams; the schema is kept by Alembic migrations."""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from services.teamserver import models  # noqa: F401  (registers the tables)

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# The revision whose schema the server had before migrations existed: such databases are stamped with it.
BASELINE_REVISION = "0001"
_MIGRATION_LOCK = 0x57534D47  # "WSMG": one process migrates at a time


class DatabaseUrlError(ValueError):
    pass


def normalize_url(db_url: str) -> str:
    """Accepts `postgresql://…` (and `postgres://…`) for psycopg 3; SQLite URLs pass unchanged."""
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if db_url.startswith(prefix):
            return "postgresql+psycopg://" + db_url[len(prefix):]
    if db_url.startswith(("sqlite:", "postgresql+psycopg://")):
        return db_url
    raise DatabaseUrlError("the database must be sqlite:///PATH or postgresql://USER@HOST:PORT/NAME")


def is_postgres(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(normalize_url(engine_or_url))
    return url.get_backend_name() == "postgresql"


def libpq_dsn(engine: Engine) -> str:
    """The engine's PostgreSQL address for a plain psycopg connection (LISTEN, leader lock)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def make_engine(db_url: str, *, pool_size: int = 8) -> Engine:
    db_url = normalize_url(db_url)
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
        engine = create_engine(db_url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size)
    return engine


def alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine) -> None:
    """Brings the schema to the newest revision. Databases made before migrations existed (tables but no
    alembic_version) are recognised as the baseline revision first. Safe to run from several processes."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k, hashtext(current_schema()))"),
                         {"k": _MIGRATION_LOCK})
        tables = set(sa.inspect(conn).get_table_names())
        config = alembic_config(conn)
        if "agent" in tables and "alembic_version" not in tables:
            log.info("database predates migrations: marking it as revision %s", BASELINE_REVISION)
            command.stamp(config, BASELINE_REVISION)
        command.upgrade(config, "head")


# Set by the worker supervisor for its workers: it has migrated the database before starting them.
MIGRATED_ENV = "WORKSTATION_DB_MIGRATED"


def init_db(engine: Engine) -> str:
    """Migrates the schema; returns the database epoch (made on first use)."""
    if os.environ.get(MIGRATED_ENV) != "1":
        migrate(engine)
    with Session(engine) as session:
        meta = session.get(models.ServerMeta, "epoch")
        if meta is None:
            session.add(models.ServerMeta(key="epoch", value=uuid.uuid4().hex))
            try:
                session.commit()
            except sa.exc.IntegrityError:  # another worker made it first
                session.rollback()
            meta = session.get(models.ServerMeta, "epoch")
        return meta.value


def read_only(engine: Engine) -> Engine:
    """The same engine and pool, for transactions that only read (a deferred BEGIN on SQLite)."""
    return engine.execution_options(read_only=True)
