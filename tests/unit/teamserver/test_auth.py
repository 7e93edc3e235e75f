"""Session lifetimes, sign-in throttling and revocation against the database (SQLite and PostgreSQL),
with the clock given explicitly; the HTTP side is in tests/integration/test_session_limits.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from services.teamserver import auth
from services.teamserver.config import Settings
from services.teamserver.db import init_db, make_engine
from services.teamserver.models import Agent, LoginAttempt, SessionToken, utcnow
from services.teamserver.security import token_hash

SETTINGS = replace(Settings(), session_idle_seconds=3600, session_max_age_seconds=4 * 3600,
                   session_touch_seconds=300, login_max_failures_per_email=3, login_max_failures_per_ip=5,
                   login_window_seconds=600)


@pytest.fixture(scope="module")
def engine(team_db):
    engine = make_engine(team_db)
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def agent_id(engine) -> int:
    with Session(engine) as s:
        agent = Agent(email=f"a{utcnow().timestamp()}@example.com", name="A", password_hash="x")
        s.add(agent)
        s.commit()
        return agent.id


def _issue(engine, agent_id, now) -> str:
    with Session(engine) as s:
        token = auth.issue_token(s, agent_id, SETTINGS, now)
        s.commit()
    return token


def _row(engine, token) -> SessionToken:
    with Session(engine) as s:
        return s.exec(select(SessionToken).where(SessionToken.token_hash == token_hash(token))).one()


def _use(engine, token, now) -> bool:
    """One authenticated request at `now`: True if it was let in (and touched the row as the app does)."""
    with Session(engine) as s:
        try:
            _, row = auth.authenticate(s, token, now)
        except auth.SessionRefused:
            return False
    auth.touch(engine, row, SETTINGS, now)
    return True


def test_settings_come_from_the_environment():
    s = Settings.from_env(env={"WORKSTATION_LOGIN_MAX_FAILURES_PER_EMAIL": "2", "WORKSTATION_LOGIN_WINDOW_SECONDS": "1.5",
                               "WORKSTATION_SESSION_IDLE_SECONDS": "60", "WORKSTATION_SESSION_TOUCH_SECONDS": "0"})
    assert (s.login_max_failures_per_email, s.login_window_seconds, s.session_idle_seconds, s.session_touch_seconds) \
        == (2, 1.5, 60.0, 0.0)
    d = Settings.from_env(env={})
    assert (d.login_max_failures_per_email, d.login_max_failures_per_ip, d.login_window_seconds) == (5, 20, 900)
    assert (d.session_idle_seconds, d.session_max_age_seconds) == (12 * 3600, 7 * 24 * 3600)


def test_idle_expiry_slides_with_use_but_writes_at_most_once_per_touch_interval(engine, agent_id):
    t0 = utcnow()
    token = _issue(engine, agent_id, t0)
    first = _row(engine, token)
    assert first.expires_at == t0 + timedelta(hours=1) and first.last_used_at == t0
    # Requests within the touch interval leave the row alone.
    for minutes in (1, 2, 4):
        assert _use(engine, token, t0 + timedelta(minutes=minutes))
    assert _row(engine, token).last_used_at == t0
    # The first request after it slides the expiry.
    assert _use(engine, token, t0 + timedelta(minutes=6))
    row = _row(engine, token)
    assert row.last_used_at == t0 + timedelta(minutes=6)
    assert row.expires_at == t0 + timedelta(minutes=66)
    # Unused for the idle lifetime: refused, with the reason.
    with Session(engine) as s, pytest.raises(auth.SessionRefused) as refused:
        auth.authenticate(s, token, t0 + timedelta(minutes=66))
    assert refused.value.detail == "session expired"


def test_a_token_in_use_still_ends_at_its_maximum_age(engine, agent_id):
    t0 = utcnow()
    token = _issue(engine, agent_id, t0)
    now = t0
    while now < t0 + timedelta(hours=4) - timedelta(minutes=30):
        now += timedelta(minutes=30)
        assert _use(engine, token, now), now - t0
    assert _row(engine, token).expires_at == t0 + timedelta(hours=4)
    assert not _use(engine, token, t0 + timedelta(hours=4))


def test_unknown_and_revoked_tokens_are_refused(engine, agent_id):
    t0 = utcnow()
    tokens = [_issue(engine, agent_id, t0) for _ in range(3)]
    with Session(engine) as s, pytest.raises(auth.SessionRefused) as refused:
        auth.authenticate(s, "not-a-token", t0)
    assert refused.value.detail == "invalid or revoked session"
    assert auth.token_still_valid(engine, tokens[0])
    with Session(engine) as s:
        assert auth.revoke_agent_sessions(s, agent_id) == 3
        s.commit()
    assert not any(auth.token_still_valid(engine, t) for t in tokens)


def test_throttle_per_email_and_per_address(engine):
    t0 = utcnow()
    alice, bob = auth.email_key(f"alice{t0.timestamp()}@x.test"), auth.email_key(f"bob{t0.timestamp()}@x.test")
    ip = f"10.1.{int(t0.timestamp()) % 250}.1"
    with Session(engine) as s:
        for i in range(3):
            assert auth.retry_after(s, alice, ip, SETTINGS, t0 + timedelta(seconds=i)) is None
            auth.record_failure(s, alice, ip, SETTINGS, t0 + timedelta(seconds=i))
        s.commit()
        # Alice is held until her oldest failure leaves the window; Bob from the same address is not.
        assert auth.retry_after(s, alice, ip, SETTINGS, t0 + timedelta(seconds=10)) == 590
        assert auth.retry_after(s, bob, ip, SETTINGS, t0 + timedelta(seconds=10)) is None
        assert auth.retry_after(s, alice, ip, SETTINGS, t0 + timedelta(seconds=600)) is None
        # Two more failures from the address (another email) reach its limit of five: everyone there waits.
        for i in range(2):
            auth.record_failure(s, bob, ip, SETTINGS, t0 + timedelta(seconds=20 + i))
        s.commit()
        assert auth.retry_after(s, bob, ip, SETTINGS, t0 + timedelta(seconds=30)) == 570
        assert auth.retry_after(s, bob, "10.9.9.9", SETTINGS, t0 + timedelta(seconds=30)) is None
        # A success clears that email's failures only.
        auth.clear_failures(s, bob)
        s.commit()
        assert auth.retry_after(s, bob, ip, SETTINGS, t0 + timedelta(seconds=30)) is None
        # Failures older than the window are dropped by the next write.
        auth.record_failure(s, bob, "10.9.9.8", SETTINGS, t0 + timedelta(hours=2))
        s.commit()
        left = s.exec(select(LoginAttempt).where(LoginAttempt.email_key.in_([alice, bob]))).all()
        assert [a.client_ip for a in left] == ["10.9.9.8"]


def test_a_limit_of_zero_turns_throttling_off(engine):
    off = replace(SETTINGS, login_max_failures_per_email=0, login_max_failures_per_ip=0)
    t0 = utcnow()
    key = auth.email_key(f"carol{t0.timestamp()}@x.test")
    with Session(engine) as s:
        for i in range(10):
            auth.record_failure(s, key, "10.7.7.7", off, t0)
        s.commit()
        assert auth.retry_after(s, key, "10.7.7.7", off, t0) is None
