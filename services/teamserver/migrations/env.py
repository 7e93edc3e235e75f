"""Alembic environment: migrations run on the connection the team server hands over (see db.migrate)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from services.teamserver import models  # noqa: F401  (registers the tables)

target_metadata = SQLModel.metadata


def render_item(type_, obj, autogen_context):
    """New migrations spell our column types in plain SQLAlchemy, so they never import the models."""
    if type_ == "type":
        if isinstance(obj, models.UTCDateTime):
            return "sa.DateTime()"
        if type(obj).__name__ == "AutoString":
            return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("migrations run through services.teamserver.db.migrate(), which passes a connection")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite alters tables by copying them; batch mode does that for us.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def _under_alembic() -> bool:
    """True when Alembic runs this file; importing it otherwise (a test that imports every module) is a no-op."""
    try:
        context.config
    except (AttributeError, NameError):
        return False
    return True


if _under_alembic():
    run()
