"""Tests for the connectors' live credentials checks (`check()`, the admin's "Test connection"), each run by the
real connector over real HTTP against its emulator: WhatsApp (the phone-number node and debug_token), Messenger
and Instagram (the page / account node and debug_token), Telegram (getMe) and X (users/me). Each check names the
account on success, maps a refused token to AUTH_EXPIRED, a wrong id or missing right to BAD_REQUEST /
PERMISSION, an unreachable provider to RETRYABLE, and never lets the token into an exception or a log line."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
import traceback
from datetime import UTC, datetime
from typing import Any, Awaitable, Callable

import httpx
import pytest

from services.channels.base import AccountCheck, ChannelError, ErrorKind, OutboundText
from services.channels.meta import INSTAGRAM, MESSENGER, MetaConnector
from services.channels.telegram import TelegramConnector
from services.channels.whatsapp import WhatsAppConnector
from services.channels.x import XConnector
from services.sandbox import telegram_api, x_api
from services.sandbox.meta_api import MetaSandboxConfig
from services.sandbox.meta_api import create_app as meta_app
from services.sandbox.telegram_api import TelegramSandboxConfig
from services.sandbox.whatsapp_api import SandboxConfig
from services.sandbox.whatsapp_api import create_app as whatsapp_app
from services.sandbox.x_api import XSandboxConfig

SECRET = "check-app-secret-0123456789"
WA_TOKEN, PHONE_ID = "EAAWhatsAppCHECKtoken-9f8e7d6c5b4a", "106540352242922"
PAGE, PAGE_TOKEN = "370873143344730", "EAAGpageCHECKtoken-4f1c9e0123"
IG, IG_TOKEN = "17841403506636395", "IGAAigCHECKtoken-77aa01abcd"
TG_TOKEN = "6012345678:AAFcheckTOKEN_for-tests-0123456"
X_TOKEN, BRAND = "eC1jaGVjay10b2tlbi1mb3ItdGVzdHM", "1580000000000000001"
WRONG = "EAAthis-is-not-the-TOKEN-at-all-000"

Scenario = Callable[[], Awaitable[Any]]


def run(scenario: Scenario) -> Any:
    return asyncio.run(scenario())


def failure(scenario: Scenario) -> ChannelError:
    with pytest.raises(ChannelError) as caught:
        run(scenario)
    return caught.value


def assert_no_token(exc: BaseException, token: str, caplog: pytest.LogCaptureFixture) -> None:
    """Neither the exception (its text, repr, title, details, traceback, chained causes) nor any log line
    (httpx's request lines included) holds the token."""
    assert isinstance(exc, ChannelError)
    text = " ".join([str(exc), repr(exc), exc.title, exc.details, "".join(traceback.format_exception(exc))])
    assert token not in text
    assert exc.__cause__ is None and exc.__context__ is None
    assert token not in caplog.text


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again on return: connecting is refused


@pytest.fixture(autouse=True)
def _logs_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    # httpx logs every request's URL at INFO: captured, so the tests see a token that would leak there.
    caplog.set_level(logging.DEBUG)


# -- WhatsApp ---------------------------------------------------------------------------------------------------

@pytest.fixture
def wa_base(serve) -> Callable[..., str]:
    def start(**options: Any) -> str:
        return serve(whatsapp_app(SandboxConfig(app_secret=SECRET, access_token=WA_TOKEN, phone_number_id=PHONE_ID,
                                                webhook_url=None, **options)))
    return start


def wa_check(base: str, *, token: str = WA_TOKEN, phone_number_id: str = PHONE_ID) -> Scenario:
    async def scenario() -> AccountCheck:
        async with WhatsAppConnector(app_secret=SECRET, access_token=token, phone_number_id=phone_number_id,
                                     api_base=base, timeout=5.0) as connector:
            return await connector.check()
    return scenario


def test_whatsapp_check_names_the_number_and_a_system_token_never_expires(wa_base, caplog):
    base = wa_base(display_phone_number="15550001234", verified_name="Acme Tiendas")
    check = run(wa_check(base))
    assert check == AccountCheck(account_id=PHONE_ID, name="+1 555-000-1234 · Acme Tiendas", token_expires_at=None)
    assert WA_TOKEN not in caplog.text  # debug_token's input_token is scrubbed from httpx's request line
    assert "input_token=[REDACTED]" in caplog.text


def test_whatsapp_check_reports_when_the_token_ends(wa_base):
    ends = int(time.time()) + 59 * 24 * 3600
    base = wa_base(token_expires_at=ends)
    assert run(wa_check(base)).token_expires_at == datetime.fromtimestamp(ends, tz=UTC)


def test_whatsapp_emulator_answers_graph_shapes(wa_base):
    base = wa_base()
    auth = {"Authorization": f"Bearer {WA_TOKEN}"}
    node = httpx.get(f"{base}/v21.0/{PHONE_ID}", params={"fields": "display_phone_number,verified_name"}, headers=auth)
    assert node.status_code == 200 and node.json() == {"id": PHONE_ID, "display_phone_number": "+1 555-000-1234",
                                                       "verified_name": "Workstation Demo"}
    debug = httpx.get(f"{base}/v21.0/debug_token", params={"input_token": WA_TOKEN}, headers=auth).json()["data"]
    assert {"app_id", "type", "application", "expires_at", "is_valid", "scopes", "issued_at"} <= debug.keys()
    assert debug["expires_at"] == 0 and debug["is_valid"] is True and debug["type"] == "SYSTEM_USER"
    assert "whatsapp_business_messaging" in debug["scopes"]
    other = httpx.get(f"{base}/v21.0/debug_token", params={"input_token": "EAAsomeone-else"}, headers=auth).json()
    assert other["data"]["is_valid"] is False and other["data"]["error"]["code"] == 190
    unknown = httpx.get(f"{base}/v21.0/{PHONE_ID}", params={"fields": "secret_sauce"}, headers=auth)
    assert unknown.status_code == 400
    assert unknown.json()["error"]["message"].startswith("(#100) Tried accessing nonexisting field (secret_sauce)")
    refused = httpx.get(f"{base}/v21.0/{PHONE_ID}", headers={"Authorization": f"Bearer {WRONG}"})
    error = refused.json()["error"]
    assert refused.status_code == 401 and error["code"] == 190 and error["type"] == "OAuthException"
    assert error["fbtrace_id"] and WRONG not in refused.text
    # The Graph reads shadow none of the sandbox's own two-segment routes.
    assert httpx.get(f"{base}/_sandbox/health").json() == {"ok": True}


def test_whatsapp_check_with_a_bad_token_is_auth_expired_without_the_token(wa_base, caplog):
    exc = failure(wa_check(wa_base(), token=WRONG))
    assert exc.kind == ErrorKind.AUTH_EXPIRED and exc.code == 190 and exc.http_status == 401
    assert_no_token(exc, WRONG, caplog)


def test_whatsapp_a_token_past_its_end_is_refused_everywhere(wa_base, caplog):
    base = wa_base()
    ended = int(time.time()) - 60
    assert httpx.post(f"{base}/_sandbox/token", json={"expires_at": ended}).json() == {"expires_at": ended}
    exc = failure(wa_check(base))
    assert exc.kind == ErrorKind.AUTH_EXPIRED and exc.code == 190
    assert exc.title.startswith("Error validating access token: Session has expired")
    assert_no_token(exc, WA_TOKEN, caplog)
    raw = httpx.get(f"{base}/v21.0/{PHONE_ID}", headers={"Authorization": f"Bearer {WA_TOKEN}"}).json()
    assert raw["error"]["error_subcode"] == 463

    async def send() -> Any:
        async with WhatsAppConnector(app_secret=SECRET, access_token=WA_TOKEN, phone_number_id=PHONE_ID,
                                     api_base=base, timeout=5.0) as connector:
            return await connector.send(OutboundText(recipient_handle="34600000001", text="hola"))

    assert failure(send).kind == ErrorKind.AUTH_EXPIRED


def test_whatsapp_check_of_a_number_the_token_does_not_reach_is_a_bad_request(wa_base, caplog):
    exc = failure(wa_check(wa_base(), phone_number_id="999000999000999"))
    assert exc.kind == ErrorKind.BAD_REQUEST and exc.code == 100
    assert "999000999000999" in exc.title
    assert_no_token(exc, WA_TOKEN, caplog)


def test_whatsapp_check_when_graph_is_unreachable_is_retryable(caplog):
    exc = failure(wa_check(f"http://127.0.0.1:{closed_port()}"))
    assert exc.kind == ErrorKind.RETRYABLE
    assert_no_token(exc, WA_TOKEN, caplog)


def graph_mock(node: tuple[int, Any], debug: tuple[int, Any]) -> httpx.AsyncClient:
    def answer(request: httpx.Request) -> httpx.Response:
        status, body = debug if request.url.path.endswith("/debug_token") else node
        return httpx.Response(status, json=body)
    return httpx.AsyncClient(transport=httpx.MockTransport(answer))


@pytest.mark.parametrize("debug", [
    (500, {"error": {"message": "(#2) Service temporarily unavailable", "code": 2, "fbtrace_id": "A1"}}),
    (403, {"error": {"message": "(#10) Permission denied", "code": 10, "fbtrace_id": "A2"}}),
    (200, {"data": {"is_valid": True, "expires_at": "soon"}}),
])
def test_whatsapp_expiry_is_unknown_when_debug_token_fails_for_another_reason(debug):
    node = (200, {"id": PHONE_ID, "display_phone_number": "+34 600 000 000", "verified_name": "Acme"})

    async def scenario() -> AccountCheck:
        async with graph_mock(node, debug) as client:
            connector = WhatsAppConnector(app_secret=SECRET, access_token=WA_TOKEN, phone_number_id=PHONE_ID,
                                          api_base="https://graph.test", client=client)
            return await connector.check()

    assert run(scenario) == AccountCheck(account_id=PHONE_ID, name="+34 600 000 000 · Acme", token_expires_at=None)


def test_whatsapp_a_token_debug_token_calls_invalid_is_auth_expired(caplog):
    node = (200, {"id": PHONE_ID, "display_phone_number": "+34 600 000 000"})
    debug = (200, {"data": {"is_valid": False, "expires_at": 1764000000, "scopes": [],
                            "error": {"code": 190, "subcode": 460,
                                      "message": f"The session was invalidated ({WA_TOKEN})"}}})

    async def scenario() -> AccountCheck:
        async with graph_mock(node, debug) as client:
            connector = WhatsAppConnector(app_secret=SECRET, access_token=WA_TOKEN, phone_number_id=PHONE_ID,
                                          api_base="https://graph.test", client=client)
            return await connector.check()

    exc = failure(scenario)
    assert exc.kind == ErrorKind.AUTH_EXPIRED and exc.code == 190
    assert_no_token(exc, WA_TOKEN, caplog)


# -- Messenger and Instagram ------------------------------------------------------------------------------------

@pytest.fixture
def meta_base(serve) -> Callable[..., str]:
    def start(**options: Any) -> str:
        config = MetaSandboxConfig(app_secret=SECRET, page_id=PAGE, page_token=PAGE_TOKEN, instagram_id=IG,
                                   instagram_token=IG_TOKEN, page_name="Tiendas Acme", instagram_username="acme.es",
                                   **options)
        return serve(meta_app(config)) + "/meta"
    return start


def meta_check(base: str, channel: str, *, token: str | None = None, account_id: str | None = None) -> Scenario:
    token = token or (PAGE_TOKEN if channel == MESSENGER else IG_TOKEN)
    account_id = account_id or (PAGE if channel == MESSENGER else IG)

    async def scenario() -> AccountCheck:
        async with MetaConnector(channel=channel, app_secret=SECRET, access_token=token, account_id=account_id,
                                 api_base=base, timeout=5.0) as connector:
            return await connector.check()
    return scenario


def control(base: str, path: str, **body: Any) -> Any:
    root = base.removesuffix("/meta")
    response = httpx.post(f"{root}/_sandbox/meta/{path}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_messenger_check_names_the_page(meta_base, caplog):
    check = run(meta_check(meta_base(), MESSENGER))
    assert check == AccountCheck(account_id=PAGE, name="Tiendas Acme", token_expires_at=None)
    assert PAGE_TOKEN not in caplog.text


def test_instagram_check_names_the_account_and_its_token_end(meta_base, caplog):
    ends = int(time.time()) + 60 * 24 * 3600
    check = run(meta_check(meta_base(instagram_token_expires_at=ends), INSTAGRAM))
    assert check == AccountCheck(account_id=IG, name="@acme.es", token_expires_at=datetime.fromtimestamp(ends, tz=UTC))
    assert IG_TOKEN not in caplog.text


def test_meta_emulator_answers_graph_shapes(meta_base):
    base = meta_base()
    page = httpx.get(f"{base}/v21.0/{PAGE}", params={"fields": "id,name"},
                     headers={"Authorization": f"Bearer {PAGE_TOKEN}"})
    assert page.json() == {"id": PAGE, "name": "Tiendas Acme"}
    ig = httpx.get(f"{base}/v21.0/{IG}", params={"fields": "id,username", "access_token": IG_TOKEN})
    assert ig.json() == {"id": IG, "username": "acme.es"}
    debug = httpx.get(f"{base}/v21.0/debug_token", params={"input_token": PAGE_TOKEN},
                      headers={"Authorization": f"Bearer {PAGE_TOKEN}"}).json()["data"]
    assert debug["type"] == "PAGE" and debug["profile_id"] == PAGE and debug["is_valid"] is True
    assert debug["expires_at"] == 0 and "pages_messaging" in debug["scopes"] and debug["app_id"]
    bad_field = httpx.get(f"{base}/v21.0/{PAGE}", params={"fields": "id,password"},
                          headers={"Authorization": f"Bearer {PAGE_TOKEN}"})
    assert bad_field.status_code == 400 and bad_field.json()["error"]["code"] == 100


def test_meta_check_with_a_bad_token_is_auth_expired_without_the_token(meta_base, caplog):
    exc = failure(meta_check(meta_base(), MESSENGER, token=WRONG))
    assert exc.kind == ErrorKind.AUTH_EXPIRED and exc.code == 190
    assert_no_token(exc, WRONG, caplog)


def test_meta_a_page_token_past_its_end_is_auth_expired(meta_base, caplog):
    base = meta_base()
    control(base, "token", channel="messenger", expires_at=int(time.time()) - 5)
    exc = failure(meta_check(base, MESSENGER))
    assert exc.kind == ErrorKind.AUTH_EXPIRED and exc.code == 190 and "Session has expired" in exc.title
    assert_no_token(exc, PAGE_TOKEN, caplog)
    assert run(meta_check(base, INSTAGRAM)).name == "@acme.es"  # the other token still works


def test_meta_check_of_another_accounts_id_is_a_bad_request(meta_base, caplog):
    # The Instagram token cannot read the page: Graph's "Unsupported get request" (100/33).
    exc = failure(meta_check(meta_base(), INSTAGRAM, account_id=PAGE))
    assert exc.kind == ErrorKind.BAD_REQUEST and exc.code == 100 and exc.subcode == 33
    assert "Unsupported get request" in exc.title
    assert_no_token(exc, IG_TOKEN, caplog)


def test_meta_check_without_the_permission_is_permission(meta_base, caplog):
    base = meta_base()
    control(base, "faults", code=200, edge="node")
    exc = failure(meta_check(base, MESSENGER))
    assert exc.kind == ErrorKind.PERMISSION and exc.code == 200
    assert_no_token(exc, PAGE_TOKEN, caplog)


def test_meta_expiry_is_unknown_when_debug_token_is_down(meta_base):
    base = meta_base(page_token_expires_at=int(time.time()) + 3600)
    control(base, "faults", code=2, edge="debug_token")
    assert run(meta_check(base, MESSENGER)) == AccountCheck(account_id=PAGE, name="Tiendas Acme")


def test_meta_check_when_graph_is_unreachable_is_retryable(caplog):
    exc = failure(meta_check(f"http://127.0.0.1:{closed_port()}", INSTAGRAM))
    assert exc.kind == ErrorKind.RETRYABLE
    assert_no_token(exc, IG_TOKEN, caplog)


# -- Telegram ---------------------------------------------------------------------------------------------------

@pytest.fixture
def tg_base(serve) -> str:
    return serve(telegram_api.create_app(TelegramSandboxConfig(token=TG_TOKEN, bot_first_name="Acme Soporte",
                                                               bot_username="acme_soporte_bot")))


def tg_check(base: str, token: str = TG_TOKEN) -> Scenario:
    async def scenario() -> AccountCheck:
        async with TelegramConnector(token=token, api_base=base, timeout=5.0) as connector:
            return await connector.check()
    return scenario


def test_telegram_check_names_the_bot(tg_base, caplog):
    assert run(tg_check(tg_base)) == AccountCheck(account_id="6012345678", name="@acme_soporte_bot")
    assert TG_TOKEN not in caplog.text  # the token is in every Bot API URL; httpx's log line is scrubbed
    me = httpx.post(f"{tg_base}/bot{TG_TOKEN}/getMe").json()
    assert me["ok"] is True and me["result"]["is_bot"] is True and me["result"]["id"] == 6012345678
    assert {"first_name", "username", "can_join_groups", "supports_inline_queries"} <= me["result"].keys()


@pytest.mark.parametrize("token", ["6012345678:AAFsomeoneELSEStoken_0123456789", "not-a-token"])
def test_telegram_check_with_a_refused_token_is_auth_expired(tg_base, token, caplog):
    exc = failure(tg_check(tg_base, token))
    assert exc.kind == ErrorKind.AUTH_EXPIRED and exc.code in (401, 404)
    assert_no_token(exc, token, caplog)
    raw = httpx.post(f"{tg_base}/bot6012345678:AAFsomeoneELSEStoken_0123456789/getMe")
    assert raw.status_code == 401 and raw.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


def test_telegram_check_when_flooded_is_retryable_with_the_wait(tg_base, caplog):
    httpx.post(f"{tg_base}/_sandbox/telegram/faults", json={"method": "getMe", "error_code": 429, "retry_after": 7})
    exc = failure(tg_check(tg_base))
    assert exc.kind == ErrorKind.RETRYABLE and exc.retry_after == 7
    assert_no_token(exc, TG_TOKEN, caplog)


def test_telegram_check_when_unreachable_is_retryable(caplog):
    exc = failure(tg_check(f"http://127.0.0.1:{closed_port()}"))
    assert exc.kind == ErrorKind.RETRYABLE
    assert_no_token(exc, TG_TOKEN, caplog)


# -- X ----------------------------------------------------------------------------------------------------------

@pytest.fixture
def x_base(serve) -> str:
    return serve(x_api.create_app(XSandboxConfig(token=X_TOKEN, user_id=BRAND, username="acme_es",
                                                 name="Acme España")))


def x_check(base: str, *, token: str = X_TOKEN, user_id: str = BRAND) -> Scenario:
    async def scenario() -> AccountCheck:
        async with XConnector(token=token, user_id=user_id, api_base=base, timeout=5.0) as connector:
            return await connector.check()
    return scenario


def test_x_check_names_the_account(x_base, caplog):
    assert run(x_check(x_base)) == AccountCheck(account_id=BRAND, name="@acme_es", token_expires_at=None)
    raw = httpx.get(f"{x_base}/2/users/me", params={"user.fields": "created_at"},
                    headers={"Authorization": f"Bearer {X_TOKEN}"})
    assert raw.status_code == 200 and raw.headers["x-rate-limit-limit"] == "75"
    assert raw.json()["data"]["id"] == BRAND and raw.json()["data"]["username"] == "acme_es"
    assert "created_at" in raw.json()["data"]
    assert X_TOKEN not in caplog.text


def test_x_check_of_a_token_of_another_account_is_a_bad_request(x_base, caplog):
    exc = failure(x_check(x_base, user_id="44196397"))
    assert exc.kind == ErrorKind.BAD_REQUEST
    assert exc.title == "the token belongs to another X account (@acme_es), not user 44196397"
    assert_no_token(exc, X_TOKEN, caplog)


def test_x_check_with_a_bad_token_is_auth_expired(x_base, caplog):
    exc = failure(x_check(x_base, token=WRONG))
    assert exc.kind == ErrorKind.AUTH_EXPIRED and exc.http_status == 401
    assert_no_token(exc, WRONG, caplog)
    raw = httpx.get(f"{x_base}/2/users/me", headers={"Authorization": f"Bearer {WRONG}"})
    assert raw.json() == {"title": "Unauthorized", "detail": "Unauthorized", "type": "about:blank", "status": 401}


@pytest.mark.parametrize("status, kind", [(403, ErrorKind.PERMISSION), (503, ErrorKind.RETRYABLE),
                                          (429, ErrorKind.RETRYABLE)])
def test_x_check_refusals_map_to_our_kinds(x_base, status, kind, caplog):
    httpx.post(f"{x_base}/_sandbox/x/faults", json={"endpoint": "users_me", "status": status, "reset_in": 30})
    exc = failure(x_check(x_base))
    assert exc.kind == kind
    if status == 429:
        assert exc.retry_after is not None and 25 <= exc.retry_after <= 33
    assert_no_token(exc, X_TOKEN, caplog)


def test_x_check_when_unreachable_is_retryable(caplog):
    exc = failure(x_check(f"http://127.0.0.1:{closed_port()}"))
    assert exc.kind == ErrorKind.RETRYABLE
    assert_no_token(exc, X_TOKEN, caplog)


def test_sandbox_state_lists_the_users_me_window(x_base):
    state = httpx.get(f"{x_base}/_sandbox/x/state").json()
    assert json.dumps(state["windows"]["users_me"]) and state["windows"]["users_me"]["limit"] == 75
