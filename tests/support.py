"""Shared test doubles that plug into real library APIs, and the team databases tests run on."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Iterator

import keyring
from keyring.backend import KeyringBackend


class DictKeyring(KeyringBackend):
    """An in-process keyring backend: keyring's own API and error handling run unchanged on top of it."""

    priority = 1

    def __init__(self):
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def get_password(self, service, username):
        return self.items.get((service, username))

    def delete_password(self, service, username):
        if (service, username) not in self.items:
            raise keyring.errors.PasswordDeleteError("not found")
        del self.items[(service, username)]


# The team database the server tests run on: SQLite files, and PostgreSQL (127.0.0.1:5432, database
# `test`, trust auth) in a fresh schema per use. PostgreSQL being absent fails the run; it is not skipped.
PG_URL = os.environ.get("WORKSTATION_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
DATABASES = ("sqlite", "postgresql")


@contextlib.contextmanager
def team_database(kind: str, folder: Path) -> Iterator[str]:
    """A database URL for a fresh, empty team database of `kind`; removed afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'team.sqlite'}"
        return
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def database_dump(db_url: str) -> str:
    """Every row of every table as text, for asserting what was (not) stored."""
    import sqlalchemy as sa

    from services.teamserver.db import make_engine

    engine = make_engine(db_url)
    try:
        lines = []
        with engine.connect() as conn:
            for table in sorted(sa.inspect(conn).get_table_names()):
                for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                    lines.append(f"{table}: {tuple(row)!r}")
        return "\n".join(lines)
    finally:
        engine.dispose()
