"""Session token lifetimes, sign-in throttling and revocation; all state lives in the database.

Lifetimes: a token is refused once unused for `session_idle_seconds` (default 12 h) and, used or not,
`session_max_age_seconds` (default 7 days) after sign-in. Use slides the idle expiry, but a token's row
is written at most once per `session_touch_seconds` (default 5 min), so the idle lifetime is effectively
between idle - touch and idle.

Throttling: failed sign-ins are rows of LoginAttempt. An email with `login_max_failures_per_email`
failures, or a client address with `login_max_failures_per_ip`, inside the last `login_window_seconds`
is answered 429 with Retry-After until its oldest failure leaves the window, whether or not the password
is right (else the limit would be an oracle). A successful sign-in clears its email's failures.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, delete, select, update

from services.teamserver.config import Settings
from services.teamserver.models import Agent, LoginAttempt, SessionToken, utcnow
from services.teamserver.security import new_token, token_hash

SESSION_EXPIRED = "session expired"
SESSION_INVALID = "invalid or revoked session"


class SessionRefused(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


# -- tokens -------------------------------------------------------------------------------------------
def _idle_expiry(created_at: datetime, now: datetime, settings: Settings) -> datetime:
    return min(now + timedelta(seconds=settings.session_idle_seconds),
               created_at + timedelta(seconds=settings.session_max_age_seconds))


def issue_token(session: Session, agent_id: int, settings: Settings, now: datetime | None = None) -> str:
    """Adds a new token row (the caller commits) and returns the token; it is never stored in clear."""
    now = now or utcnow()
    token = new_token()
    session.add(SessionToken(token_hash=token_hash(token), agent_id=agent_id, created_at=now, last_used_at=now,
                             expires_at=_idle_expiry(now, now, settings)))
    # Hygiene: expired tokens are useless; drop them while we write anyway.
    session.exec(delete(SessionToken).where(SessionToken.expires_at < now - timedelta(days=1)))
    return token


def authenticate(session: Session, token: str, now: datetime | None = None) -> tuple[Agent, SessionToken]:
    """The agent and token row of a bearer token, or SessionRefused (unknown, revoked or expired)."""
    now = now or utcnow()
    row = session.exec(
        select(Agent, SessionToken).join(SessionToken, SessionToken.agent_id == Agent.id)
        .where(SessionToken.token_hash == token_hash(token))
    ).first()
    if row is None:
        raise SessionRefused(SESSION_INVALID)
    agent, row_token = row
    if row_token.expires_at <= now:
        raise SessionRefused(SESSION_EXPIRED)
    return agent, row_token


def touch(engine: Engine, row_token: SessionToken, settings: Settings, now: datetime | None = None) -> bool:
    """Slides the idle expiry of a used token, at most once per touch interval; True if it wrote."""
    now = now or utcnow()
    if (now - row_token.last_used_at).total_seconds() < settings.session_touch_seconds:
        return False
    with Session(engine) as s:
        # Conditional on the value read: of several workers touching at once, one writes.
        s.exec(update(SessionToken)
               .where(SessionToken.id == row_token.id, SessionToken.last_used_at == row_token.last_used_at)
               .values(last_used_at=now, expires_at=_idle_expiry(row_token.created_at, now, settings)))
        s.commit()
    return True


def token_still_valid(engine: Engine, token: str) -> bool:
    with Session(engine) as s:
        try:
            authenticate(s, token)
        except SessionRefused:
            return False
        finally:
            s.rollback()
    return True


def revoke_agent_sessions(session: Session, agent_id: int) -> int:
    """Deletes every token of an agent (the caller commits); returns how many there were."""
    result = session.exec(delete(SessionToken).where(SessionToken.agent_id == agent_id))
    return result.rowcount or 0


# -- sign-in throttling -------------------------------------------------------------------------------
def email_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def retry_after(session: Session, key: str, client_ip: str, settings: Settings,
                now: datetime | None = None) -> int | None:
    """Seconds until this email and address may try again, or None when they may try now."""
    now = now or utcnow()
    window = timedelta(seconds=settings.login_window_seconds)
    since = now - window
    waits = []
    for column, value, limit in ((LoginAttempt.email_key, key, settings.login_max_failures_per_email),
                                 (LoginAttempt.client_ip, client_ip, settings.login_max_failures_per_ip)):
        if limit <= 0:
            continue
        times = session.exec(
            select(LoginAttempt.created_at).where(column == value, LoginAttempt.created_at > since)
            .order_by(LoginAttempt.created_at.desc()).limit(limit)
        ).all()
        if len(times) >= limit:
            # Free again once the limit-th newest failure leaves the window.
            waits.append((times[-1] + window - now).total_seconds())
    if not waits:
        return None
    return max(1, math.ceil(max(waits)))


def record_failure(session: Session, key: str, client_ip: str, settings: Settings,
                   now: datetime | None = None) -> None:
    now = now or utcnow()
    session.add(LoginAttempt(email_key=key, client_ip=client_ip[:64], created_at=now))
    # Failures older than the window count for nothing: drop them while we write anyway.
    session.exec(delete(LoginAttempt).where(
        LoginAttempt.created_at < now - timedelta(seconds=settings.login_window_seconds)))


def clear_failures(session: Session, key: str) -> None:
    session.exec(delete(LoginAttempt).where(LoginAttempt.email_key == key))
