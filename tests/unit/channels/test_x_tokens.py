"""The X connector's OAuth 2.0 refresh on a scripted transport: the exact token request (form, public and
confidential clients), XTokens hiding its tokens, the configuration from the environment, and what happens
when X's answer is odd or the token endpoint is down while the old token still lasts."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Callable
from urllib.parse import parse_qsl

import httpx
import pytest

from services.channels.base import ChannelError, ErrorKind, OutboundText
from services.channels.x import XConnector, XTokens, from_env

TOKEN, REFRESH = "YWNjZXNzLXRva2VuLW9uZQ", "cmVmcmVzaC10b2tlbi1vbmU"
NEW_TOKEN, NEW_REFRESH = "YWNjZXNzLXRva2VuLXR3bw", "cmVmcmVzaC10b2tlbi10d28"
CLIENT_ID, CLIENT_SECRET = "Y2xpZW50LWlk", "c2VjcmV0LXNlY3JldA"
BRAND, CUSTOMER = "1580000000000000001", "1600000000000000002"
BASE = "https://api.x.test"
NOW = 1_760_000_000.0


def refreshed(**overrides: Any) -> httpx.Response:
    body = {"token_type": "bearer", "expires_in": 7200, "access_token": NEW_TOKEN, "scope": "dm.write offline.access",
            "refresh_token": NEW_REFRESH} | overrides
    return httpx.Response(200, json={k: v for k, v in body.items() if v is not None})


def dm_sent() -> httpx.Response:
    return httpx.Response(201, json={"data": {"dm_conversation_id": f"{BRAND}-{CUSTOMER}", "dm_event_id": "77"}})


class Api:
    """Answers the token endpoint and DM sends from scripts; records every request."""

    def __init__(self, token: list, dm: list) -> None:
        self.scripts = {"token": token, "dm": dm}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.scripts["token" if request.url.path == "/2/oauth2/token" else "dm"].pop(0)
        return step(request) if callable(step) else step


def run(api: Callable[[httpx.Request], httpx.Response], **options: Any) -> Any:
    async def scenario() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(api)) as client:
            c = XConnector(token=TOKEN, user_id=BRAND, api_base=BASE, client=client, clock=lambda: NOW, **options)
            return c, await c.send(OutboundText(CUSTOMER, "hola"))

    return asyncio.run(scenario())


def test_xtokens_hides_both_tokens():
    tokens = XTokens(access_token=TOKEN, refresh_token=REFRESH, expires_at=datetime(2026, 1, 1, tzinfo=UTC))
    for text in (repr(tokens), str(tokens), f"{tokens}", repr([tokens])):
        assert TOKEN not in text and REFRESH not in text and "2026-01-01T00:00:00+00:00" in text
    assert "refresh_token=None" in repr(XTokens(access_token=TOKEN, refresh_token=None))
    with pytest.raises(AttributeError):
        tokens.access_token = "x"  # type: ignore[misc]


def test_a_public_client_refreshes_with_the_form_and_a_confidential_one_adds_basic():
    for secret in (None, CLIENT_SECRET):
        api = Api(token=[refreshed()], dm=[httpx.Response(401, json={"title": "Unauthorized", "status": 401,
                                                                     "type": "about:blank", "detail": "Unauthorized"}),
                                           dm_sent()])
        connector, _ = run(api, refresh_token=REFRESH, client_id=CLIENT_ID, client_secret=secret)
        request = api.requests[1]
        assert request.method == "POST" and str(request.url) == f"{BASE}/2/oauth2/token"
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        assert dict(parse_qsl(request.content.decode())) == {"grant_type": "refresh_token",
                                                             "refresh_token": REFRESH, "client_id": CLIENT_ID}
        basic = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        assert request.headers.get("authorization") == (basic if secret else None)
        assert api.requests[2].headers["authorization"] == f"Bearer {NEW_TOKEN}"
        assert connector.token_expires_at == datetime.fromtimestamp(NOW + 7200, tz=UTC)


def test_an_answer_without_a_new_refresh_token_keeps_the_old_one_and_without_expiry_none():
    handed: list[XTokens] = []

    async def store(tokens: XTokens) -> None:
        handed.append(tokens)

    api = Api(token=[refreshed(refresh_token=None, expires_in=None)], dm=[dm_sent()])
    connector, _ = run(api, refresh_token=REFRESH, client_id=CLIENT_ID, on_tokens=store,
                       token_expires_at=datetime.fromtimestamp(NOW - 5, tz=UTC))
    assert handed == [XTokens(access_token=NEW_TOKEN, refresh_token=REFRESH, expires_at=None)]
    assert connector.token_expires_at is None


def test_an_answer_without_an_access_token_is_unknown_and_nothing_is_stored():
    stored: list[XTokens] = []

    async def store(tokens: XTokens) -> None:
        stored.append(tokens)

    api = Api(token=[refreshed(access_token=None)], dm=[httpx.Response(401, json={"title": "Unauthorized"})])
    with pytest.raises(ChannelError) as caught:
        run(api, refresh_token=REFRESH, client_id=CLIENT_ID, on_tokens=store)
    assert caught.value.kind == ErrorKind.UNKNOWN and stored == []


def test_a_failed_refresh_ahead_still_uses_a_token_that_has_not_ended(caplog):
    api = Api(token=[httpx.Response(503, text="upstream connect error")], dm=[dm_sent()])
    connector, sent = run(api, refresh_token=REFRESH, client_id=CLIENT_ID,
                          token_expires_at=datetime.fromtimestamp(NOW + 30, tz=UTC))
    assert sent.provider_message_id == "dm:77"
    assert api.requests[1].headers["authorization"] == f"Bearer {TOKEN}"
    assert "refreshing ahead failed" in caplog.text
    # Ended already: the refresh's failure is the call's.
    api = Api(token=[httpx.Response(503, text="upstream connect error")], dm=[])
    with pytest.raises(ChannelError) as caught:
        run(api, refresh_token=REFRESH, client_id=CLIENT_ID, token_expires_at=datetime.fromtimestamp(NOW - 1, tz=UTC))
    assert caught.value.kind == ErrorKind.RETRYABLE and len(api.requests) == 1


def test_network_failures_of_the_refresh_never_carry_a_secret(caplog):
    caplog.set_level(logging.DEBUG)

    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"failed: {request.content.decode()} {request.headers.get('authorization')}",
                                 request=request)

    api = Api(token=[fail], dm=[httpx.Response(401, json={"title": "Unauthorized"})])
    with pytest.raises(ChannelError) as caught:
        run(api, refresh_token=REFRESH, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    error = caught.value
    assert error.kind == ErrorKind.RETRYABLE and error.__cause__ is None and error.__context__ is None
    text = "\n".join([str(error), repr(error), json.dumps(vars(error), default=str), caplog.text])
    for secret in (TOKEN, REFRESH, CLIENT_SECRET):
        assert secret not in text


def test_a_refresh_token_without_a_client_id_is_never_used(caplog):
    api = Api(token=[], dm=[httpx.Response(401, json={"title": "Unauthorized"})])
    with pytest.raises(ChannelError) as caught:
        run(api, refresh_token=REFRESH)
    assert caught.value.kind == ErrorKind.AUTH_EXPIRED and len(api.requests) == 1
    assert "cannot be used" in caplog.text


def test_from_env_reads_the_refresh_settings():
    async def build(env: dict[str, str]) -> XConnector:
        async with httpx.AsyncClient() as client:
            return from_env(env, client)

    env = {"WORKSTATION_X_TOKEN": TOKEN, "WORKSTATION_X_USER_ID": BRAND}
    plain = asyncio.run(build(env))
    assert not plain.can_refresh and plain.token_expires_at is None
    full = asyncio.run(build(env | {"WORKSTATION_X_REFRESH_TOKEN": f" {REFRESH} ", "WORKSTATION_X_CLIENT_ID": CLIENT_ID,
                                    "WORKSTATION_X_CLIENT_SECRET": CLIENT_SECRET}))
    assert full.can_refresh and full._refresh_token == REFRESH and full._client_secret == CLIENT_SECRET
    assert REFRESH not in repr(full) and CLIENT_SECRET not in repr(full)
    assert not asyncio.run(build(env | {"WORKSTATION_X_REFRESH_TOKEN": REFRESH})).can_refresh


def test_set_tokens_installs_and_keeps_the_refresh_token_when_none_is_given():
    connector = XConnector(token=TOKEN, user_id=BRAND, refresh_token=REFRESH, client_id=CLIENT_ID)
    when = datetime(2030, 1, 1)
    connector.set_tokens(XTokens(access_token=NEW_TOKEN, refresh_token=None, expires_at=when))
    assert connector._token == NEW_TOKEN and connector._refresh_token == REFRESH
    assert connector.token_expires_at == when.replace(tzinfo=UTC)
    with pytest.raises(ValueError):
        connector.set_tokens(XTokens(access_token="", refresh_token=REFRESH))
    asyncio.run(connector.aclose())


def test_a_401_refresh_never_happens_twice_for_one_call():
    unauthorized = httpx.Response(401, json={"title": "Unauthorized", "detail": "Unauthorized"})
    api = Api(token=[refreshed()], dm=[unauthorized, unauthorized])
    with pytest.raises(ChannelError) as caught:
        run(api, refresh_token=REFRESH, client_id=CLIENT_ID)
    assert caught.value.kind == ErrorKind.AUTH_EXPIRED
    assert [r.url.path.rsplit("/", 1)[-1] for r in api.requests] == ["messages", "token", "messages"]
    # Refreshed ahead, a 401 afterwards is not refreshed again.
    api = Api(token=[refreshed()], dm=[unauthorized])
    with pytest.raises(ChannelError):
        run(api, refresh_token=REFRESH, client_id=CLIENT_ID,
            token_expires_at=datetime.fromtimestamp(NOW + 10, tz=UTC) - timedelta(seconds=0))
    assert len(api.requests) == 2
