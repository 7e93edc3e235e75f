"""Command-line entry points of the team server (`workstation server ...`)."""

from __future__ import annotations

import logging
import sys

from services.serve import serve
from services import logctx
from services.teamserver.config import Settings

log = logging.getLogger(__name__)


def run(*, db: str | None, host: str, port: int, fd: int | None, exit_with_parent: bool, workers: int = 1) -> int:
    settings = Settings.from_env(db_url=db)
    # JSON lines from here on, scrubbed of tokens and of this server's secrets; before the app's modules
    # are imported, as some (alembic) log on import.
    logctx.configure(secrets=_secrets(settings))
    from services.teamserver.app import create_app

    if workers > 1:
        from services.teamserver import workers as pool
        from services.teamserver.db import init_db, is_postgres, make_engine

        if not is_postgres(settings.db_url):
            print("workstation server: several workers need PostgreSQL (--db postgresql://…); "
                  "SQLite serves one worker", file=sys.stderr)
            return 2
        engine = make_engine(settings.db_url)
        init_db(engine)  # once, before the workers start
        engine.dispose()
        return pool.supervise(db_url=settings.db_url, workers=workers, host=host, port=port, fd=fd,
                              exit_with_parent=exit_with_parent)
    from services.teamserver.fastpath import WebhookFastPath

    serve(logctx.RequestLog(WebhookFastPath(create_app(settings))), host=host, port=port, fd=fd,
          exit_with_parent=exit_with_parent)
    return 0


def _secrets(settings: Settings) -> tuple[str, ...]:
    from sqlalchemy.engine import make_url

    try:
        db_password = make_url(settings.db_url).password or ""
    except Exception:  # an unparsable URL fails later, with its own error
        db_password = ""
    # Every channel's token or secret (WORKSTATION_TELEGRAM_TOKEN, WORKSTATION_X_TOKEN, …) is kept out of the logs too.
    channel_secrets = tuple(v for k, v in settings.channel_env.items()
                            if any(word in k for word in ("TOKEN", "SECRET", "PASSWORD")) and len(v) >= 6)
    return (settings.meta_app_secret, settings.meta_verify_token, settings.whatsapp_token, str(db_password),
            *channel_secrets)


def add_agent(*, db: str | None, email: str, name: str, role: str, password: str) -> int:
    # Imported here, not above: the database modules (alembic) log on import, before run() sets up logging.
    from services.teamserver.admin import AdminError, add_agent as _add_agent

    settings = Settings.from_env(db_url=db)
    try:
        agent_id = _add_agent(settings.db_url, email=email, name=name, role=role, password=password)
    except AdminError as exc:
        print(f"workstation server add-agent: {exc}", file=sys.stderr)
        return 1
    print(f"agent {agent_id} created: {email.strip().lower()} ({role})")
    return 0


def revoke_sessions(*, db: str | None, email: str) -> int:
    from services.teamserver.admin import AdminError, revoke_sessions as _revoke_sessions

    settings = Settings.from_env(db_url=db)
    try:
        count = _revoke_sessions(settings.db_url, email=email)
    except AdminError as exc:
        print(f"workstation server revoke-sessions: {exc}", file=sys.stderr)
        return 1
    print(f"{count} session(s) of {email.strip().lower()} revoked")
    return 0
