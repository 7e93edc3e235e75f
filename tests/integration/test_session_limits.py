"""Sign-in throttling, session expiry and admin revocation on the real server over HTTP, with short
windows and lifetimes set through the environment, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import threading
import time

import httpx
import pytest
import sqlalchemy as sa

from services.teamserver.admin import add_agent
from services.teamserver.db import make_engine
from tests.integration.helpers import sign_in, wait_for
from workstation.api import ApiClient
from workstation.demo import self_command, start_demo_stack
from workstation.errors import AuthError, RateLimitedError, SessionExpiredError

WINDOW = 4  # seconds of the failure window
IDLE, MAX_AGE, TOUCH, RECHECK = 3.0, 7.0, 1.0, 0.5
ADMIN = "root@demo.workstation.test"
ANA, BEN = "ana@demo.workstation.test", "ben@demo.workstation.test"


@pytest.fixture(scope="module")
def limits(tmp_path_factory, team_db):
    env = {
        "WORKSTATION_LOGIN_MAX_FAILURES_PER_EMAIL": "3",
        "WORKSTATION_LOGIN_MAX_FAILURES_PER_IP": "6",
        "WORKSTATION_LOGIN_WINDOW_SECONDS": str(WINDOW),
        "WORKSTATION_SESSION_IDLE_SECONDS": str(IDLE),
        "WORKSTATION_SESSION_MAX_AGE_SECONDS": str(MAX_AGE),
        "WORKSTATION_SESSION_TOUCH_SECONDS": str(TOUCH),
        "WORKSTATION_SESSION_RECHECK_SECONDS": str(RECHECK),
    }
    s = start_demo_stack(data_dir=tmp_path_factory.mktemp("limits"), traffic=False, db_url=team_db, extra_env=env)
    s.passwords[ADMIN] = secrets.token_urlsafe(12)
    add_agent(s.db_url, email=ADMIN, name="Root", role="admin", password=s.passwords[ADMIN])
    yield s
    s.stop()


def _post_session(stack, email, password, ip):
    # uvicorn trusts X-Forwarded-For from loopback: each test signs in from addresses of its own.
    return httpx.post(f"{stack.server_url}/v1/session", json={"email": email, "password": password},
                      headers={"X-Forwarded-For": ip})


def _auth(token):
    return {"Authorization": f"Bearer {token}"}


def _me(stack, token) -> httpx.Response:
    return httpx.get(f"{stack.server_url}/v1/me", headers=_auth(token))


def test_failed_sign_ins_per_email_are_answered_429_until_the_window_passes(limits):
    ip = "10.0.1.1"
    for _ in range(3):
        assert _post_session(limits, ANA, "wrong password", ip).status_code == 401
    held = _post_session(limits, ANA, "wrong password", ip)
    assert held.status_code == 429
    wait = int(held.headers["Retry-After"])
    assert 1 <= wait <= WINDOW
    assert held.json()["detail"] == "too many failed sign-in attempts; try again in 1 minute"
    # The right password is held too (else the limit would tell a guesser when they are right)...
    assert _post_session(limits, ANA, limits.passwords[ANA], ip).status_code == 429
    # ...but nobody else is: another email from the same address signs in.
    assert _post_session(limits, BEN, limits.passwords[BEN], ip).status_code == 200
    # The desktop client reads the 429 as a typed error with the delay.
    with pytest.raises(RateLimitedError) as exc:
        asyncio.run(_client_sign_in(limits, ANA, limits.passwords[ANA]))
    assert 0 < exc.value.retry_after <= WINDOW
    time.sleep(wait + 0.2)
    assert _post_session(limits, ANA, limits.passwords[ANA], ip).status_code == 200


async def _client_sign_in(stack, email, password):
    api = ApiClient(stack.server_url)
    try:
        return await api.sign_in(email, password)
    finally:
        await api.aclose()


def test_failed_sign_ins_per_address_hold_every_email_from_it(limits):
    ip, other = "10.0.2.2", "10.0.2.3"
    for i in range(6):  # six unknown emails, one failure each: under the email limit, at the address limit
        assert _post_session(limits, f"nobody{i}@example.com", "whatever1", ip).status_code == 401
    held = _post_session(limits, BEN, limits.passwords[BEN], ip)
    assert held.status_code == 429 and 1 <= int(held.headers["Retry-After"]) <= WINDOW
    assert _post_session(limits, BEN, limits.passwords[BEN], other).status_code == 200
    time.sleep(int(held.headers["Retry-After"]) + 0.2)
    assert _post_session(limits, BEN, limits.passwords[BEN], ip).status_code == 200


def _token_row(stack, token) -> tuple:
    import hashlib

    engine = make_engine(stack.db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT created_at, last_used_at, expires_at FROM sessiontoken "
                                        "WHERE token_hash = :h"), {"h": hashlib.sha256(token.encode()).hexdigest()}).one()
    finally:
        engine.dispose()


def test_use_slides_the_idle_expiry_without_a_write_per_request(limits):
    token, _ = sign_in(limits, ANA)
    created, last_used, _ = _token_row(limits, token)
    for _ in range(3):
        assert _me(limits, token).status_code == 200
    assert _token_row(limits, token)[1] == last_used == created  # within the touch interval: no write
    started = time.monotonic()
    while time.monotonic() - started < IDLE + 1.5:  # used past the idle lifetime: still good
        assert _me(limits, token).status_code == 200
        time.sleep(0.4)
    assert _token_row(limits, token)[1] > last_used
    time.sleep(IDLE + 0.2)
    r = _me(limits, token)
    assert r.status_code == 401 and r.json()["detail"] == "session expired"
    assert r.headers["WWW-Authenticate"] == "Bearer"
    with pytest.raises(SessionExpiredError):
        asyncio.run(_client_me(limits, token))


async def _client_me(stack, token):
    api = ApiClient(stack.server_url, token)
    try:
        return await api.me()
    finally:
        await api.aclose()


def test_a_session_in_use_ends_at_its_maximum_age(limits):
    token, _ = sign_in(limits, ANA)
    started = time.monotonic()
    while time.monotonic() - started < MAX_AGE - 0.7:
        assert _me(limits, token).status_code == 200
        time.sleep(0.4)
    wait_for(lambda: _me(limits, token).status_code == 401, timeout=2.0, what="refused at the maximum age")
    assert _me(limits, token).json()["detail"] == "session expired"


def test_wrong_credentials_stay_a_plain_auth_error_for_the_client(limits):
    with pytest.raises(AuthError) as exc:
        asyncio.run(_client_sign_in(limits, ADMIN, "not the password"))
    assert not isinstance(exc.value, SessionExpiredError)


def _revoke(stack, agent_id, token=None) -> httpx.Response:
    return httpx.delete(f"{stack.server_url}/v1/agents/{agent_id}/sessions", headers=_auth(token) if token else {})


def _stream_until_closed(stack, token, result: dict) -> None:
    """Reads the event stream; records when the server ends it."""
    try:
        with httpx.Client(timeout=httpx.Timeout(5.0, read=10.0)) as client:
            with client.stream("GET", f"{stack.server_url}/v1/events", headers=_auth(token)) as r:
                result["status"] = r.status_code
                for _ in r.iter_lines():
                    result.setdefault("opened", time.monotonic())
        result["closed"] = time.monotonic()
    except Exception as exc:  # a read timeout would mean the stream was never closed
        result["error"] = repr(exc)


def test_revocation_is_for_admins_and_ends_every_session_and_stream_at_once(limits):
    admin_token, _ = sign_in(limits, ADMIN)
    lead_token, _ = sign_in(limits, limits.lead_email)
    ana_token, _ = sign_in(limits, ANA)
    ben_tokens = [sign_in(limits, BEN)[0] for _ in range(2)]
    ben_id = _me(limits, ben_tokens[0]).json()["id"]

    assert _revoke(limits, ben_id).status_code == 401
    assert _revoke(limits, ben_id, "forged-token").status_code == 401
    assert _revoke(limits, ben_id, ana_token).status_code == 403
    assert _revoke(limits, ben_id, lead_token).status_code == 403
    assert _revoke(limits, 999999, admin_token).status_code == 404
    assert all(_me(limits, t).status_code == 200 for t in ben_tokens)

    stream: dict = {}
    reader = threading.Thread(target=_stream_until_closed, args=(limits, ben_tokens[0], stream), daemon=True)
    reader.start()
    wait_for(lambda: "opened" in stream, timeout=5, what="the stream opened")
    time.sleep(RECHECK * 2)  # a valid session's stream survives its re-checks
    assert "closed" not in stream and "error" not in stream

    revoked_at = time.monotonic()
    assert _revoke(limits, ben_id, admin_token).status_code == 204
    for t in ben_tokens:
        r = _me(limits, t)
        assert r.status_code == 401 and r.json()["detail"] == "invalid or revoked session"
    reader.join(timeout=5)
    assert stream.get("status") == 200 and "error" not in stream, stream
    assert stream["closed"] - revoked_at < RECHECK + 2
    # Everyone else is still signed in.
    assert all(_me(limits, t).status_code == 200 for t in (admin_token, lead_token, ana_token))


def test_revoke_sessions_from_the_command_line(limits):
    token, _ = sign_in(limits, ANA)
    done = subprocess.run(self_command() + ["server", "revoke-sessions", "--db", limits.db_url, "--email", ANA.upper()],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"of {ANA} revoked" in done.stdout
    assert _me(limits, token).status_code == 401
    unknown = subprocess.run(self_command() + ["server", "revoke-sessions", "--db", limits.db_url,
                                               "--email", "nobody@example.com"], capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 1 and "no agent with email nobody@example.com" in unknown.stderr


def test_server_logs_are_json_lines(limits):
    lines = [line for line in (limits.data_dir / "children.log").read_text(encoding="utf-8").splitlines() if line]
    entries = [json.loads(line) for line in lines]
    assert all({"ts", "level", "logger", "msg"} <= set(e) for e in entries)
    access = [e for e in entries if e["logger"] == "workstation.access" and e["path"] == "/v1/me"]
    assert access and all({"request_id", "method", "status", "duration_ms"} <= set(e) for e in access)
    assert any(e.get("agent_id") for e in access)
