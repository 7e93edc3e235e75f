"""Command-line entry points of the team server (`workstation server ...`)."""

from __future__ import annotations

import logging
import sys

from services.serve import serve
from services.teamserver.admin import AdminError, add_agent as _add_agent
from services.teamserver.config import Settings

log = logging.getLogger(__name__)


def run(*, db: str | None, host: str, port: int, fd: int | None, exit_with_parent: bool) -> int:
    from services.teamserver.app import create_app

    settings = Settings.from_env(db_url=db)
    serve(create_app(settings), host=host, port=port, fd=fd, exit_with_parent=exit_with_parent)
    return 0


def add_agent(*, db: str | None, email: str, name: str, role: str, password: str) -> int:
    settings = Settings.from_env(db_url=db)
    try:
        agent_id = _add_agent(settings.db_url, email=email, name=name, role=role, password=password)
    except AdminError as exc:
        print(f"workstation server add-agent: {exc}", file=sys.stderr)
        return 1
    print(f"agent {agent_id} created: {email.strip().lower()} ({role})")
    return 0
