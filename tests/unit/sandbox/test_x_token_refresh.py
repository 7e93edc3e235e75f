"""OAuth 2.0 token refresh, the X connector against the X API emulator over real HTTP: X's access tokens end (two
hours; here whenever the test says), its refresh tokens rotate, and the connector refreshes once on a 401 (or
ahead of an ending token), hands the rotated tokens to `on_tokens` before using them, serializes concurrent
refreshes, and never lets a token into an error or a log."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import traceback
from datetime import UTC, datetime, timedelta
from typing import Any, Awaitable, Callable

import httpx
import pytest

from services.channels.base import AccountCheck, ChannelError, ErrorKind, OutboundText
from services.channels.x import XConnector, XTokens
from services.sandbox import x_api
from services.sandbox.x_api import XSandboxConfig

TOKEN = "c2FuZGJveC14LXRva2VuLWZvci10ZXN0cw"
REFRESH = "cmVmcmVzaC10b2tlbi1vbmUtZm9yLXRlc3Rz"
CLIENT_ID = "M1M5R3BMVjBsZ0hmTjZNR2ZYOGo6MTpjaQ"
CLIENT_SECRET = "c2VjcmV0LW9mLXRoZS1jb25maWRlbnRpYWwtY2xpZW50"
BRAND = "1580000000000000001"
INVALID = {"error": "invalid_request", "error_description": "Value passed for the token was invalid."}
UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}


@pytest.fixture
def base(serve) -> str:
    return serve(x_api.create_app(XSandboxConfig(token=TOKEN, user_id=BRAND, client_id=CLIENT_ID,
                                                 refresh_token=REFRESH)))


def control(base: str, what: str, **body: Any) -> Any:
    response = httpx.post(f"{base}/_sandbox/x/{what}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def oauth(base: str) -> dict[str, Any]:
    return httpx.get(f"{base}/_sandbox/x/oauth").json()


def expire(base: str) -> None:
    control(base, "oauth", expire_access_now=True)


def requests_to(base: str, *endpoints: str) -> list[dict[str, Any]]:
    return [r for r in httpx.get(f"{base}/_sandbox/x/requests").json() if r["endpoint"] in endpoints]


def customer(base: str, username: str = "luciafdez") -> str:
    return control(base, "dm", username=username, name="Lucía", text="hola")["sender_id"]


def refresh_raw(base: str, refresh_token: str, client_id: str = CLIENT_ID, **extra: Any) -> httpx.Response:
    return httpx.post(f"{base}/2/oauth2/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token,
                                                      "client_id": client_id}, **extra)


def connect(base: str, body: Callable[[XConnector], Awaitable[Any]], **options: Any) -> Any:
    options.setdefault("poll_interval", 0.0)
    options.setdefault("refresh_token", REFRESH)
    options.setdefault("client_id", CLIENT_ID)

    async def scenario() -> Any:
        async with XConnector(token=options.pop("token", TOKEN), user_id=BRAND, api_base=base, timeout=5.0,
                              **options) as c:
            return await body(c)

    return asyncio.run(scenario())


def everything_about(error: BaseException) -> str:
    return "\n".join([str(error), repr(error), "".join(traceback.format_exception(error)), repr(vars(error))])


def assert_no_secret(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text


# -- the emulator's token endpoint --------------------------------------------------------------------------------

def test_a_refresh_answers_xs_shape_and_rotates_the_refresh_token(base):
    answer = refresh_raw(base, REFRESH)
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == {"token_type", "expires_in", "access_token", "scope", "refresh_token"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 7200 and "offline.access" in body["scope"]
    assert body["refresh_token"] != REFRESH and body["access_token"] != TOKEN
    assert oauth(base)["refresh_token"] == body["refresh_token"] and oauth(base)["refreshes"] == 1
    # The used refresh token is revoked; the new one works, once.
    again = refresh_raw(base, REFRESH)
    assert again.status_code == 400 and again.json() == INVALID
    assert refresh_raw(base, body["refresh_token"]).status_code == 200
    assert refresh_raw(base, body["refresh_token"]).json() == INVALID
    # The issued access token works; the configured one too (it never ends unless told).
    for token in (body["access_token"], TOKEN):
        assert httpx.get(f"{base}/2/users/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    # Nothing the endpoint saw is recorded with a token.
    recorded = str(requests_to(base, "oauth2_token"))
    assert REFRESH not in recorded and body["refresh_token"] not in recorded and CLIENT_ID not in recorded


def test_issued_access_tokens_end_after_their_lifetime_with_xs_401(base):
    control(base, "oauth", access_token_lifetime=0.5)
    body = refresh_raw(base, REFRESH).json()
    assert body["expires_in"] == 1
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert httpx.get(f"{base}/2/users/me", headers=headers).status_code == 200
    time.sleep(0.7)
    ended = httpx.get(f"{base}/2/users/me", headers=headers)
    assert ended.status_code == 401 and ended.json() == UNAUTHORIZED
    assert "x-rate-limit-remaining" in ended.headers


def test_expire_access_now_ends_the_configured_token_too(base):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(f"{base}/2/dm_events", headers=auth).status_code == 200
    state = control(base, "oauth", expire_access_now=True)
    assert state["access_tokens_valid"] == 0 and state["client_id"] == CLIENT_ID
    refused = httpx.get(f"{base}/2/dm_events", headers=auth)
    assert refused.status_code == 401 and refused.json() == UNAUTHORIZED


def test_the_client_is_authenticated(base):
    wrong = refresh_raw(base, REFRESH, client_id="someone-else")
    assert wrong.status_code == 401 and wrong.json()["error"] == "unauthorized_client"
    assert "error_description" in wrong.json()
    assert oauth(base)["refresh_token"] == REFRESH  # a refused client uses up nothing
    missing = httpx.post(f"{base}/2/oauth2/token", data={"grant_type": "refresh_token", "refresh_token": REFRESH})
    assert missing.status_code == 401 and missing.json()["error"] == "unauthorized_client"
    as_json = httpx.post(f"{base}/2/oauth2/token", json={"grant_type": "refresh_token", "refresh_token": REFRESH,
                                                          "client_id": CLIENT_ID})
    assert as_json.status_code == 401  # not a form: X reads no client_id in it
    no_grant = httpx.post(f"{base}/2/oauth2/token", data={"refresh_token": REFRESH, "client_id": CLIENT_ID})
    assert no_grant.status_code == 400 and no_grant.json() == {
        "error": "invalid_request", "error_description": "Missing required parameter [grant_type]."}
    # A confidential client: HTTP Basic client_id:client_secret, and nothing less.
    control(base, "oauth", client_secret=CLIENT_SECRET)
    assert refresh_raw(base, REFRESH).json()["error"] == "unauthorized_client"
    assert refresh_raw(base, REFRESH, auth=(CLIENT_ID, "wrong")).json()["error"] == "unauthorized_client"
    rotated = refresh_raw(base, REFRESH, auth=(CLIENT_ID, CLIENT_SECRET))
    assert rotated.status_code == 200, rotated.text
    assert oauth(base)["confidential"] is True


def test_without_a_client_id_every_refresh_is_refused(serve):
    base = serve(x_api.create_app(XSandboxConfig(token=TOKEN, user_id=BRAND)))
    assert oauth(base)["client_id"] is None and oauth(base)["refresh_token"] is None
    assert refresh_raw(base, REFRESH).status_code == 401
    made = control(base, "oauth", client_id=CLIENT_ID)
    assert made["refresh_token"]  # made up for the tests to read
    assert refresh_raw(base, made["refresh_token"]).status_code == 200


# -- the connector ------------------------------------------------------------------------------------------------

def test_a_401_refreshes_once_and_the_call_goes_through(base):
    user = customer(base)
    expire(base)
    result = connect(base, lambda c: c.send(OutboundText(user, "¿Te ayudo?")))
    assert result.provider_message_id.startswith("dm:")
    sends = requests_to(base, "dm_send", "oauth2_token")
    assert [(r["endpoint"], r["status_code"]) for r in sends] == [
        ("dm_send", 401), ("oauth2_token", 200), ("dm_send", 201)]
    assert oauth(base)["refreshes"] == 1


def test_on_tokens_gets_the_rotated_tokens_before_the_retried_call(base):
    user = customer(base)
    expire(base)
    seen: list[tuple[XTokens, dict, int]] = []

    async def store(tokens: XTokens) -> None:
        async with httpx.AsyncClient() as client:
            state = (await client.get(f"{base}/_sandbox/x/oauth")).json()
            sends = [r for r in (await client.get(f"{base}/_sandbox/x/requests")).json()
                     if r["endpoint"] == "dm_send"]
        seen.append((tokens, state, len(sends)))

    async def body(c: XConnector):
        c.on_tokens = store  # as the server sets it
        await c.send(OutboundText(user, "uno"))
        return c.token_expires_at

    before = datetime.now(UTC)
    expires_at = connect(base, body)
    [(tokens, state, sends_then)] = seen
    assert tokens.refresh_token == state["refresh_token"] != REFRESH
    assert sends_then == 1  # only the refused send had gone: the retry came after on_tokens
    assert tokens.access_token != TOKEN
    assert tokens.expires_at == expires_at
    assert before + timedelta(seconds=7190) <= tokens.expires_at <= datetime.now(UTC) + timedelta(seconds=7200)
    # The old refresh token is refused from now on; the one handed over works.
    assert refresh_raw(base, REFRESH).json() == INVALID
    assert refresh_raw(base, tokens.refresh_token).status_code == 200


def test_the_connector_keeps_using_the_rotated_refresh_token(base):
    user = customer(base)
    handed: list[XTokens] = []

    async def store(tokens: XTokens) -> None:
        handed.append(tokens)

    async def body(c: XConnector):
        for text in ("uno", "dos", "tres"):
            expire(base)
            await c.send(OutboundText(user, text))

    connect(base, body, on_tokens=store)
    assert len(handed) == 3 and len({t.refresh_token for t in handed}) == 3
    assert oauth(base)["refresh_token"] == handed[-1].refresh_token
    assert [r["status_code"] for r in requests_to(base, "oauth2_token")] == [200, 200, 200]


def test_two_concurrent_sends_refresh_once(base):
    first, second = customer(base, "ana"), customer(base, "bea")
    expire(base)
    handed: list[XTokens] = []

    async def store(tokens: XTokens) -> None:
        await asyncio.sleep(0.05)  # a slow store: the other caller waits on the lock meanwhile
        handed.append(tokens)

    results = connect(base, lambda c: asyncio.gather(c.send(OutboundText(first, "a")),
                                                     c.send(OutboundText(second, "b"))), on_tokens=store)
    assert all(r.provider_message_id.startswith("dm:") for r in results)
    assert len(handed) == 1 and oauth(base)["refreshes"] == 1
    assert [r["status_code"] for r in requests_to(base, "oauth2_token")] == [200]
    assert sorted(r["status_code"] for r in requests_to(base, "dm_send")) == [201, 201, 401, 401]


def test_concurrent_calls_with_an_ending_token_refresh_once_ahead(base):
    users = [customer(base, f"c{i}") for i in range(3)]
    soon = datetime.now(UTC) + timedelta(seconds=30)
    results = connect(base, lambda c: asyncio.gather(*(c.send(OutboundText(u, "hola")) for u in users)),
                      token_expires_at=soon)
    assert len(results) == 3
    assert oauth(base)["refreshes"] == 1
    assert all(r["status_code"] == 201 for r in requests_to(base, "dm_send"))


def test_a_token_ending_within_a_minute_is_refreshed_before_the_call(base):
    user = customer(base)

    async def body(c: XConnector):
        await c.send(OutboundText(user, "hola"))
        return c.token_expires_at

    expires_at = connect(base, body, token_expires_at=datetime.now(UTC) + timedelta(seconds=59))
    assert [(r["endpoint"], r["status_code"]) for r in requests_to(base, "dm_send", "oauth2_token")] == [
        ("oauth2_token", 200), ("dm_send", 201)]
    assert expires_at > datetime.now(UTC) + timedelta(seconds=7000)


def test_a_token_with_time_left_is_not_refreshed(base):
    user = customer(base)
    # Naive datetimes are UTC.
    later = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=120)
    connect(base, lambda c: c.send(OutboundText(user, "hola")), token_expires_at=later)
    assert requests_to(base, "oauth2_token") == [] and oauth(base)["refreshes"] == 0


def test_without_a_refresh_token_the_401_is_auth_expired_as_before(base, caplog):
    caplog.set_level(logging.DEBUG)
    user = customer(base)
    expire(base)
    for options in ({"refresh_token": None}, {"client_id": None}):
        with pytest.raises(ChannelError) as caught:
            connect(base, lambda c: c.send(OutboundText(user, "hola")), **options)
        assert caught.value.kind == ErrorKind.AUTH_EXPIRED and caught.value.title == "The X token was refused"
        assert caught.value.http_status == 401
    assert requests_to(base, "oauth2_token") == []
    assert_no_secret(caplog.text, TOKEN, REFRESH)


def test_a_refused_refresh_is_auth_expired_without_any_token_in_text_or_logs(base, caplog):
    caplog.set_level(logging.DEBUG)
    user = customer(base)
    expire(base)
    dead = "ZGVhZC1yZWZyZXNoLXRva2VuLXRoYXQteC1yZXZva2Vk"

    async def body(c: XConnector):
        errors = []
        for _ in range(2):
            try:
                await c.send(OutboundText(user, "hola"))
            except ChannelError as exc:
                errors.append(exc)
        return errors

    errors = connect(base, body, refresh_token=dead)
    assert [e.kind for e in errors] == [ErrorKind.AUTH_EXPIRED, ErrorKind.AUTH_EXPIRED]
    assert errors[0].title == "X refused the refresh token: invalid_request" == errors[1].title
    assert errors[0].http_status == 400 and errors[0].details == INVALID["error_description"]
    assert errors[0].__cause__ is None and errors[0].__context__ is None
    # The refused refresh token is not offered to X again.
    assert len(requests_to(base, "oauth2_token")) == 1
    for error in errors:
        assert_no_secret(everything_about(error), TOKEN, dead, CLIENT_SECRET)
    assert "X refused the token refresh" in caplog.text
    for record in caplog.records:
        assert_no_secret(record.getMessage() + str(record.__dict__), TOKEN, dead)


def test_a_wrong_client_is_auth_expired_and_a_confidential_client_authenticates(base, caplog):
    caplog.set_level(logging.DEBUG)
    user = customer(base)
    control(base, "oauth", client_secret=CLIENT_SECRET)
    expire(base)
    for options in ({"client_id": "not-our-app", "client_secret": CLIENT_SECRET}, {}):  # {}: the secret is missing
        with pytest.raises(ChannelError) as caught:
            connect(base, lambda c: c.send(OutboundText(user, "hola")), **options)
        assert caught.value.kind == ErrorKind.AUTH_EXPIRED
        assert caught.value.title == "X refused the refresh token: unauthorized_client"
        assert_no_secret(everything_about(caught.value), TOKEN, REFRESH, CLIENT_SECRET)
    sent = connect(base, lambda c: c.send(OutboundText(user, "hola")), client_secret=CLIENT_SECRET)
    assert sent.provider_message_id.startswith("dm:")
    assert_no_secret(caplog.text, TOKEN, REFRESH, CLIENT_SECRET, base64.b64encode(
        f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode())


def test_a_second_401_after_the_refresh_surfaces_and_nothing_loops(base):
    user = customer(base)
    control(base, "faults", endpoint="dm_send", status=401, count=2)
    with pytest.raises(ChannelError) as caught:
        connect(base, lambda c: c.send(OutboundText(user, "hola")))
    assert caught.value.kind == ErrorKind.AUTH_EXPIRED and caught.value.title == "The X token was refused"
    assert [r["status_code"] for r in requests_to(base, "dm_send")] == [401, 401]
    assert len(requests_to(base, "oauth2_token")) == 1


def test_a_failing_token_endpoint_is_retryable_and_keeps_the_refresh_token(base):
    user = customer(base)
    expire(base)
    control(base, "faults", endpoint="oauth2_token", status=503)
    with pytest.raises(ChannelError) as caught:
        connect(base, lambda c: c.send(OutboundText(user, "hola")))
    assert caught.value.kind == ErrorKind.RETRYABLE
    assert oauth(base)["refresh_token"] == REFRESH  # nothing rotated: the next try refreshes
    assert connect(base, lambda c: c.send(OutboundText(user, "hola"))).provider_message_id.startswith("dm:")


def test_on_tokens_failing_is_logged_and_the_new_tokens_are_used(base, caplog):
    user = customer(base)
    expire(base)

    async def broken(tokens: XTokens) -> None:
        raise RuntimeError(f"database is locked while storing {tokens.refresh_token}")

    async def body(c: XConnector):
        await c.send(OutboundText(user, "uno"))
        await c.send(OutboundText(user, "dos"))

    connect(base, body, on_tokens=broken)
    assert "storing the refreshed tokens failed (RuntimeError)" in caplog.text
    assert oauth(base)["refreshes"] == 1
    assert [r["status_code"] for r in requests_to(base, "dm_send")] == [401, 201, 201]
    assert oauth(base)["refresh_token"] not in caplog.text


def test_a_cancelled_caller_does_not_lose_the_rotated_refresh_token(base):
    user = customer(base)
    expire(base)
    handed: list[XTokens] = []

    async def slow_store(tokens: XTokens) -> None:
        await asyncio.sleep(0.3)
        handed.append(tokens)

    async def body(c: XConnector):
        first = asyncio.ensure_future(c.send(OutboundText(user, "uno")))
        while not handed and oauth(base)["refreshes"] == 0:
            await asyncio.sleep(0.01)
        first.cancel()  # while on_tokens is storing
        with pytest.raises(asyncio.CancelledError):
            await first
        return await c.send(OutboundText(user, "dos"))

    sent = connect(base, body, on_tokens=slow_store)
    assert sent.provider_message_id.startswith("dm:")
    assert len(handed) == 1 and handed[0].refresh_token == oauth(base)["refresh_token"]
    assert oauth(base)["refreshes"] == 1


def test_check_works_after_expiry_and_reports_when_the_token_ends(base):
    assert connect(base, lambda c: c.check()) == AccountCheck(account_id=BRAND, name="@workstation_demo",
                                                              token_expires_at=None)
    expire(base)
    checked = connect(base, lambda c: c.check())
    assert checked.account_id == BRAND and checked.name == "@workstation_demo"
    assert checked.token_expires_at is not None
    assert abs((checked.token_expires_at - datetime.now(UTC)).total_seconds() - 7200) < 30
    assert [(r["endpoint"], r["status_code"]) for r in requests_to(base, "users_me", "oauth2_token")][-3:] == [
        ("users_me", 401), ("oauth2_token", 200), ("users_me", 200)]


def test_set_tokens_installs_stored_tokens(base):
    stored = refresh_raw(base, REFRESH).json()
    expire_at = datetime.now(UTC) + timedelta(seconds=stored["expires_in"])
    control(base, "oauth", expire_access_now=True)  # the configured token (and this one) end...
    fresh = refresh_raw(base, stored["refresh_token"]).json()  # ...and a later refresh's are what is stored

    async def body(c: XConnector):
        c.set_tokens(XTokens(access_token=fresh["access_token"], refresh_token=fresh["refresh_token"],
                             expires_at=expire_at))
        return await c.check(), c.token_expires_at

    checked, expires_at = connect(base, body, refresh_token="c3RhbGUtb25lLWZyb20tdGhlLWVudmlyb25tZW50")
    assert checked.token_expires_at == expire_at == expires_at
    assert oauth(base)["refreshes"] == 2  # no refresh by the connector: the installed token worked
