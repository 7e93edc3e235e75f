"""Tests for the Telegram connector: parsing updates (the published sample and every kind), the getUpdates
offset as cursor, sendMessage's exact request, the Bot API error mapping, and the bot token kept out of every
exception, log record and repr."""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

from services.channels.base import ChannelError, ErrorKind, OutboundText, WebhookError
from services.channels.telegram import (
    ALLOWED_UPDATES,
    SECRET_TOKEN_HEADER,
    TelegramConnector,
    error_for,
    from_env,
    parse_update,
    parse_updates,
)

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "channel-samples"
TOKEN = "7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw-x"
BOT_ID = "7012345678"
BASE = "https://api.telegram.test"
T0 = 1764000000  # 2025-11-24T16:00:00Z


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def private_message(chat_id: int = 42, message_id: int = 7, **fields: Any) -> dict[str, Any]:
    sender = {"id": chat_id, "is_bot": False, "first_name": "Lucía", "last_name": "Fernández",
              "username": "luciaf", "language_code": "es"}
    chat = {"id": chat_id, "first_name": "Lucía", "last_name": "Fernández", "username": "luciaf",
            "type": "private"}
    return {"message_id": message_id, "from": sender, "chat": chat, "date": T0, **fields}


def update(update_id: int = 100, *, kind: str = "message", **fields: Any) -> dict[str, Any]:
    return {"update_id": update_id, kind: private_message(**fields)}


def one(upd: dict[str, Any]):
    parsed = parse_update(upd, account_id=BOT_ID)
    assert parsed is not None
    return parsed


# -- parsing ----------------------------------------------------------------------------------------------------

def test_the_published_sample_becomes_one_customer_message():
    batch, newest = parse_updates([sample("telegram-update-text.json")], account_id=BOT_ID)
    [message] = batch.messages
    assert newest == 537836436
    assert message.channel == "telegram" and message.account_id == BOT_ID
    assert message.provider_message_id == "900069535:1"
    assert message.sender_handle == "900069535"
    assert message.sender_name == "zeinersyad"  # first name only: no last name in the sample
    assert message.kind == "text" and message.text == "/start"
    assert message.sent_at == datetime(2023, 2, 6, 1, 56, 53, tzinfo=UTC)
    assert message.reply_to_provider_id is None
    assert batch.statuses == []  # bots get no delivery or read receipts


def test_full_name_and_username_fallback():
    assert one(update(text="hola")).sender_name == "Lucía Fernández"
    bare = update(text="hi")
    bare["message"]["from"] = {"id": 42, "is_bot": False, "first_name": " ", "username": "shy_one"}
    assert one(bare).sender_name == "@shy_one"


@pytest.mark.parametrize("fields, kind, text", [
    ({"text": "¿Dónde está mi pedido? 📦"}, "text", "¿Dónde está mi pedido? 📦"),
    ({"photo": [{"file_id": "a", "file_unique_id": "b", "width": 90, "height": 90}], "caption": "la caja rota"},
     "photo", "la caja rota"),
    ({"photo": [{"file_id": "a", "file_unique_id": "b", "width": 90, "height": 90}]}, "photo", "[photo]"),
    ({"sticker": {"file_id": "s", "emoji": "😡", "type": "regular"}}, "sticker", "[sticker] 😡"),
    ({"sticker": {"file_id": "s", "type": "regular"}}, "sticker", "[sticker]"),
    ({"document": {"file_id": "d", "file_name": "factura.pdf"}}, "document", "[document] factura.pdf"),
    ({"animation": {"file_id": "g"}, "document": {"file_id": "g", "file_name": "x.mp4"}}, "animation",
     "[animation]"),
    ({"voice": {"file_id": "v", "duration": 3}}, "voice", "[voice]"),
    ({"video": {"file_id": "v"}, "caption": "mira"}, "video", "mira"),
    ({"location": {"latitude": 40.4, "longitude": -3.7}}, "location", "[location] 40.4,-3.7"),
    ({"venue": {"location": {"latitude": 1, "longitude": 2}, "title": "Tienda Centro", "address": "Gran Vía 1"},
      "location": {"latitude": 1, "longitude": 2}}, "venue", "[venue] Tienda Centro, Gran Vía 1"),
    ({"contact": {"phone_number": "+34600", "first_name": "Ana", "last_name": "Gil"}}, "contact", "[contact] Ana Gil"),
    ({"dice": {"emoji": "🎲", "value": 4}}, "dice", "[dice] 🎲 4"),
    ({"new_chat_title": "x"}, "unsupported", "[unsupported]"),
])
def test_each_kind_of_message_gets_its_kind_and_a_text_to_show(fields, kind, text):
    message = one(update(**fields))
    assert (message.kind, message.text) == (kind, text)


def test_a_reply_points_at_the_message_it_answers():
    quoted = {"message_id": 3, "chat": {"id": 42, "type": "private"}, "date": T0, "text": "earlier"}
    assert one(update(text="yes", reply_to_message=quoted)).reply_to_provider_id == "42:3"


def test_an_edit_is_a_message_of_its_own_threaded_to_the_original():
    edited = update(101, kind="edited_message", message_id=7, text="pedido #B12345, no #B12354",
                    edit_date=T0 + 90)
    message = one(edited)
    assert message.kind == "edited" and message.text == "[edited] pedido #B12345, no #B12354"
    assert message.provider_message_id == f"42:7:edit:{T0 + 90}"
    assert message.reply_to_provider_id == "42:7"
    assert message.sent_at == datetime.fromtimestamp(T0 + 90, tz=UTC)
    # The same edit polled again has the same id (stored once); a second edit is another message.
    again = update(101, kind="edited_message", message_id=7, text="x", edit_date=T0 + 90)
    later = update(102, kind="edited_message", message_id=7, text="y", edit_date=T0 + 120)
    assert one(again).provider_message_id == message.provider_message_id != one(later).provider_message_id


def test_group_chats_and_bots_are_skipped_with_the_reason_logged_but_still_confirmed(caplog):
    group = update(200, text="hola grupo")
    group["message"]["chat"] = {"id": -100123, "title": "Fans", "type": "supergroup"}
    bot = update(201, text="I am a bot")
    bot["message"]["from"]["is_bot"] = True
    channel_post = {"update_id": 202, "channel_post": {"message_id": 1, "chat": {"id": -1, "type": "channel"},
                                                       "date": T0, "text": "news"}}
    caplog.set_level(logging.DEBUG, logger="services.channels.telegram")
    batch, newest = parse_updates([group, bot, channel_post, update(203, text="real customer")], account_id=BOT_ID)
    assert [m.text for m in batch.messages] == ["real customer"]
    assert newest == 203
    reasons = " | ".join(r.getMessage() for r in caplog.records)
    assert "supergroup chat" in reasons and "from a bot" in reasons and "no message" in reasons


@pytest.mark.parametrize("bad", [
    "not a dict",
    {"update_id": 5},
    {"update_id": 5, "message": {"message_id": 1, "date": T0, "text": "no chat"}},
    {"update_id": 5, "message": {**private_message(), "date": "yesterday"}},
    {"update_id": 5, "message": {**private_message(), "date": 10**20}},
    {"update_id": 5, "message": {**private_message(), "message_id": "7"}},
])
def test_malformed_updates_are_skipped_without_failing_the_page(bad):
    batch, newest = parse_updates([bad, update(6, text="fine")], account_id=BOT_ID)
    assert [m.text for m in batch.messages] == ["fine"]
    assert newest == 6


def test_text_is_cleaned_of_what_databases_cannot_store():
    assert one(update(text="a\x00b\ud800c")).text == "ab\ufffdc"


# -- the HTTP side: a scripted Bot API ---------------------------------------------------------------------------

class BotApi:
    """A MockTransport that records requests and answers from a script (a response, or a callable)."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if callable(answer):
            return answer(request)
        return answer

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


def ok(result: Any) -> httpx.Response:
    return httpx.Response(200, json={"ok": True, "result": result})


def refused(code: int, description: str, retry_after: int | None = None) -> httpx.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return httpx.Response(code, json=body)


def run(api: BotApi | Callable[[httpx.Request], httpx.Response], body: Callable[[TelegramConnector], Any],
        **options: Any) -> Any:
    async def scenario() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(api)) as client:
            connector = TelegramConnector(token=TOKEN, api_base=BASE, client=client, **options)
            return await body(connector)

    return asyncio.run(scenario())


def sent_message(chat_id: int, message_id: int, text: str) -> dict[str, Any]:
    return {"message_id": message_id, "from": {"id": int(BOT_ID), "is_bot": True, "first_name": "Demo"},
            "chat": {"id": chat_id, "first_name": "Lucía", "type": "private"}, "date": T0, "text": text}


def test_poll_asks_getupdates_for_messages_and_edits_and_moves_the_cursor_past_the_newest():
    api = BotApi(ok([update(500, text="uno"), update(502, text="tres"), update(501, text="dos")]))
    result = run(api, lambda c: c.poll("500"), poll_timeout=1)
    [request] = api.requests
    assert request.method == "POST" and str(request.url) == f"{BASE}/bot{TOKEN}/getUpdates"
    assert api.bodies() == [{"limit": 100, "timeout": 1, "allowed_updates": ["message", "edited_message"],
                             "offset": 500}]
    assert list(ALLOWED_UPDATES) == ["message", "edited_message"]
    assert [m.text for m in result.batch.messages] == ["uno", "tres", "dos"]
    assert result.cursor == "503" and result.wait == 0


def test_the_first_poll_sends_no_offset_and_an_empty_answer_keeps_the_cursor_and_waits_a_little():
    api = BotApi(ok([]), ok([]))
    first = run(api, lambda c: c.poll(None), poll_timeout=0, idle_wait=0.25)
    assert "offset" not in api.bodies()[0] and api.bodies()[0]["timeout"] == 0
    assert first.cursor is None and first.batch.messages == [] and first.wait == 0.25
    later = run(api, lambda c: c.poll("77"), poll_timeout=0, idle_wait=0.25)
    assert later.cursor == "77" and later.wait == 0.25


def test_a_page_of_skipped_updates_still_confirms_them():
    group = update(900, text="en el grupo")
    group["message"]["chat"]["type"] = "group"
    result = run(BotApi(ok([group])), lambda c: c.poll("900"))
    assert result.batch.messages == [] and result.cursor == "901"


def test_the_cursor_follows_the_ids_received_even_below_the_old_one():
    # After a week without updates Telegram restarts update_ids at a random value, possibly lower: keeping
    # the higher old offset would never confirm the new updates, and they would come again forever.
    result = run(BotApi(ok([update(117314199, text="una semana después")])), lambda c: c.poll("727334708"))
    assert [m.text for m in result.batch.messages] == ["una semana después"]
    assert result.cursor == "117314200"


def test_the_read_timeout_outlasts_the_long_poll():
    seen: list[dict] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return ok([])

    run(BotApi(answer), lambda c: c.poll(None), poll_timeout=25, timeout=10.0)
    assert seen[0]["read"] == 35.0


def test_an_unreadable_cursor_polls_from_the_oldest_unconfirmed_update(caplog):
    api = BotApi(ok([]))
    run(api, lambda c: c.poll("not-a-number"))
    assert "offset" not in api.bodies()[0]
    assert any("not an update id" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_a_malformed_getupdates_answer_is_an_error_not_an_empty_page():
    with pytest.raises(ChannelError) as caught:
        run(BotApi(ok({"not": "a list"})), lambda c: c.poll("1"))
    assert caught.value.kind == ErrorKind.UNKNOWN


def test_send_posts_chat_id_and_text_and_returns_chat_and_message_id():
    api = BotApi(ok(sent_message(42, 9, "Hola Lucía")))
    result = run(api, lambda c: c.send(OutboundText("42", "Hola Lucía")))
    [request] = api.requests
    assert str(request.url) == f"{BASE}/bot{TOKEN}/sendMessage"
    assert request.headers["content-type"] == "application/json"
    assert api.bodies() == [{"chat_id": 42, "text": "Hola Lucía"}]
    assert result.provider_message_id == "42:9" and result.recipient_handle == "42"


def test_send_quotes_the_message_it_replies_to_in_the_same_chat_only():
    api = BotApi(ok(sent_message(42, 10, "a")), ok(sent_message(42, 11, "b")))
    run(api, lambda c: c.send(OutboundText("42", "a", reply_to_provider_id="42:7")))
    run(api, lambda c: c.send(OutboundText("42", "b", reply_to_provider_id="99:7")))
    assert api.bodies()[0]["reply_parameters"] == {"message_id": 7, "allow_sending_without_reply": True}
    assert "reply_parameters" not in api.bodies()[1]


@pytest.mark.parametrize("handle, text, title", [
    ("42", "x" * 4097, "Message too long"),
    ("42", "  \n ", "Empty message"),
    ("@someone", "hola", "Not a Telegram chat id"),
    ("٤٢", "hola", "Not a Telegram chat id"),  # Arabic-Indic digits: int() would take them
])
def test_sends_telegram_would_refuse_are_refused_without_a_request(handle, text, title):
    api = BotApi()
    with pytest.raises(ChannelError) as caught:
        run(api, lambda c: c.send(OutboundText(handle, text)))
    assert caught.value.kind == ErrorKind.BAD_REQUEST and caught.value.title == title
    assert api.requests == []


def test_a_whatsapp_template_is_refused_without_a_request():
    api = BotApi()
    outbound = OutboundText("42", "Tu pedido ha salido", template={"name": "order_update", "language": "es",
                                                                   "parameters": []})
    with pytest.raises(ChannelError) as caught:
        run(api, lambda c: c.send(outbound))
    assert caught.value.kind == ErrorKind.BAD_REQUEST and api.requests == []


def test_exactly_4096_characters_are_sent():
    api = BotApi(ok(sent_message(42, 1, "x" * 4096)))
    run(api, lambda c: c.send(OutboundText("42", "x" * 4096)))
    assert len(api.bodies()[0]["text"]) == 4096


def test_an_accepted_send_with_an_unreadable_answer_is_not_retryable():
    with pytest.raises(ChannelError) as caught:
        run(BotApi(ok({"chat": {"id": 42}})), lambda c: c.send(OutboundText("42", "hola")))
    assert caught.value.kind == ErrorKind.UNKNOWN  # a retry could send it twice


# -- errors -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("response, kind, title, retry_after", [
    (refused(429, "Too Many Requests: retry after 7", retry_after=7), ErrorKind.RETRYABLE,
     "Telegram rate limit; retry after 7 s", 7.0),
    (refused(429, "Too Many Requests: retry after 3"), ErrorKind.RETRYABLE, "Telegram rate limit; retry after 3 s",
     3.0),
    (httpx.Response(429, headers={"Retry-After": "4"}), ErrorKind.RETRYABLE, "Telegram rate limit; retry after 4 s",
     4.0),
    (refused(500, "Internal Server Error"), ErrorKind.RETRYABLE, "Telegram server error", None),
    (httpx.Response(502, text="<html>502 Bad Gateway</html>"), ErrorKind.RETRYABLE, "Telegram server error", None),
    (refused(401, "Unauthorized"), ErrorKind.AUTH_EXPIRED, "The bot token was refused", None),
    (refused(404, "Not Found"), ErrorKind.AUTH_EXPIRED, "The bot token was refused", None),
    (refused(403, "Forbidden: bot was blocked by the user"), ErrorKind.UNDELIVERABLE,
     "The customer blocked the bot", None),
    (refused(403, "Forbidden: user is deactivated"), ErrorKind.UNDELIVERABLE,
     "The customer's Telegram account was deleted", None),
    (refused(403, "Forbidden: bot can't initiate conversation with a user"), ErrorKind.UNDELIVERABLE,
     "The customer has not started a chat with the bot", None),
    (refused(403, "Forbidden: bot is not a member of the supergroup chat"), ErrorKind.UNDELIVERABLE,
     "The bot is no longer in this chat", None),
    (refused(403, "Forbidden: something new"), ErrorKind.PERMISSION, "Telegram refused: Forbidden: something new",
     None),
    (refused(400, "Bad Request: chat not found"), ErrorKind.UNDELIVERABLE, "The customer's chat was not found", None),
    (refused(400, "Bad Request: message is too long"), ErrorKind.BAD_REQUEST, "Message too long", None),
    (refused(400, "Bad Request: message text is empty"), ErrorKind.BAD_REQUEST, "Empty message", None),
    (refused(400, "Bad Request: can't parse entities"), ErrorKind.BAD_REQUEST, "Bad Request: can't parse entities",
     None),
    (refused(409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
                  "running"), ErrorKind.PERMISSION, "Another program is polling this bot", None),
    (refused(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the "
                  "webhook first"), ErrorKind.PERMISSION, "A webhook is set for this bot, so it cannot be polled",
     None),
    (refused(418, "I'm a teapot"), ErrorKind.UNKNOWN, "I'm a teapot", None),
])
def test_bot_api_errors_map_to_our_kinds(response, kind, title, retry_after):
    with pytest.raises(ChannelError) as caught:
        run(BotApi(response), lambda c: c.send(OutboundText("42", "hola")))
    error = caught.value
    assert (error.kind, error.title, error.retry_after) == (kind, title, retry_after)
    assert error.code == response.status_code and error.http_status == response.status_code
    if response.headers.get("content-type") == "application/json":
        assert error.details == response.json()["description"]


def test_the_same_mapping_applies_to_polls():
    with pytest.raises(ChannelError) as caught:
        run(BotApi(refused(429, "Too Many Requests: retry after 12", retry_after=12)), lambda c: c.poll("5"))
    assert caught.value.kind == ErrorKind.RETRYABLE and caught.value.retry_after == 12.0
    with pytest.raises(ChannelError) as caught:
        run(BotApi(refused(401, "Unauthorized")), lambda c: c.poll("5"))
    assert caught.value.kind == ErrorKind.AUTH_EXPIRED


def test_error_code_in_the_body_wins_over_an_odd_http_status():
    assert error_for(200, {"ok": False, "error_code": 403,
                           "description": "Forbidden: bot was blocked by the user"}).kind == ErrorKind.UNDELIVERABLE
    assert error_for(400, {"ok": False, "error_code": "x"}).kind == ErrorKind.BAD_REQUEST


def test_an_ok_answer_without_ok_true_is_unknown_not_success():
    with pytest.raises(ChannelError) as caught:
        run(BotApi(httpx.Response(200, json={"result": {"message_id": 1}})), lambda c: c.send(OutboundText("1", "x")))
    assert caught.value.kind == ErrorKind.UNKNOWN


# -- the token ---------------------------------------------------------------------------------------------------

def _everything_about(error: BaseException) -> str:
    return "\n".join([str(error), repr(error), "".join(traceback.format_exception(error)),
                      repr(vars(error))])


def raising(exc_type: type[Exception]) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        # httpx puts the request, and so the URL with the token, on its exceptions.
        raise exc_type(f"failed talking to {request.url}", request=request)

    return answer


@pytest.mark.parametrize("exc_type, title", [
    (httpx.ConnectError, "Connection to Telegram failed"),
    (httpx.ReadError, "Connection to Telegram failed"),
    (httpx.RemoteProtocolError, "Connection to Telegram failed"),
    (httpx.ReadTimeout, "Telegram did not answer in time"),
    (httpx.ConnectTimeout, "Telegram did not answer in time"),
])
def test_network_failures_are_retryable_and_never_carry_the_token(exc_type, title, caplog):
    caplog.set_level(logging.DEBUG)
    for call in (lambda c: c.send(OutboundText("42", "hola")), lambda c: c.poll("3")):
        with pytest.raises(ChannelError) as caught:
            run(BotApi(raising(exc_type)), call)
        error = caught.value
        assert error.kind == ErrorKind.RETRYABLE and error.title == title
        assert error.__cause__ is None and error.__context__ is None
        assert TOKEN not in _everything_about(error)
        assert "bot" + TOKEN[:10] not in _everything_about(error)
    assert caplog.records and TOKEN not in caplog.text


def test_refusals_and_successes_log_without_the_token(caplog):
    caplog.set_level(logging.DEBUG)  # httpx logs every request's URL at INFO
    api = BotApi(ok(sent_message(42, 1, "a")), refused(401, "Unauthorized"), ok([update(1, text="x")]),
                 refused(429, "Too Many Requests: retry after 1", retry_after=1))
    errors = []
    for call in (lambda c: c.send(OutboundText("42", "a")), lambda c: c.send(OutboundText("42", "b")),
                 lambda c: c.poll(None), lambda c: c.poll("2")):
        try:
            run(api, call)
        except ChannelError as exc:
            errors.append(exc)
    assert len(errors) == 2 and all(TOKEN not in _everything_about(e) for e in errors)
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)  # httpx's own lines were captured...
    assert all(TOKEN not in r.getMessage() for r in caplog.records)  # ...and scrubbed
    assert TOKEN not in caplog.text and "/bot[REDACTED]/sendMessage" in caplog.text


def test_a_description_that_echoes_the_token_is_redacted():
    api = BotApi(refused(400, f"Bad Request: what is {TOKEN}?"))
    with pytest.raises(ChannelError) as caught:
        run(api, lambda c: c.send(OutboundText("42", "hola")))
    assert TOKEN not in _everything_about(caught.value) and "[REDACTED]" in caught.value.details


def test_repr_names_the_bot_but_not_the_token():
    connector = TelegramConnector(token=TOKEN, api_base=BASE, client=httpx.AsyncClient())
    assert BOT_ID in repr(connector) and TOKEN not in repr(connector)
    assert connector.account_id == BOT_ID
    asyncio.run(connector._client.aclose())


# -- configuration ----------------------------------------------------------------------------------------------

def test_from_env_builds_a_connector_only_with_a_token():
    client = httpx.AsyncClient()
    try:
        assert from_env({}, client) is None
        assert from_env({"WORKSTATION_TELEGRAM_TOKEN": "  "}, client) is None
        default = from_env({"WORKSTATION_TELEGRAM_TOKEN": TOKEN}, client)
        assert default.channel == "telegram" and default.api_base == "https://api.telegram.org"
        assert default.poll_timeout == 25
        tuned = from_env({"WORKSTATION_TELEGRAM_TOKEN": TOKEN, "WORKSTATION_TELEGRAM_API_BASE": "http://sb/telegram/",
                          "WORKSTATION_TELEGRAM_POLL_TIMEOUT": "1", "WORKSTATION_TELEGRAM_TIMEOUT": "2.5"}, client)
        assert tuned.api_base == "http://sb/telegram" and tuned.poll_timeout == 1 and tuned._timeout == 2.5
        assert tuned._client is client
        with pytest.raises(ValueError) as caught:
            from_env({"WORKSTATION_TELEGRAM_TOKEN": TOKEN, "WORKSTATION_TELEGRAM_POLL_TIMEOUT": "soon"}, client)
        assert "WORKSTATION_TELEGRAM_POLL_TIMEOUT" in str(caught.value) and TOKEN not in str(caught.value)
    finally:
        asyncio.run(client.aclose())


def test_the_server_builds_the_connector_from_its_settings():
    from services.teamserver.channel_setup import build_connector

    client = httpx.AsyncClient()
    try:
        assert build_connector("telegram", {}, client) is None
        connector = build_connector("telegram", {"WORKSTATION_TELEGRAM_TOKEN": TOKEN}, client)
        assert isinstance(connector, TelegramConnector)
    finally:
        asyncio.run(client.aclose())


# -- webhooks (the shape every connector shares) -----------------------------------------------------------------

def test_a_webhook_update_is_parsed_only_with_the_secret_header():
    connector = TelegramConnector(token=TOKEN, client=httpx.AsyncClient(), webhook_secret="s3cr3t-header")
    raw = json.dumps(sample("telegram-update-text.json")).encode()
    batch = connector.parse_webhook(raw, {SECRET_TOKEN_HEADER: "s3cr3t-header"})
    assert [m.provider_message_id for m in batch.messages] == ["900069535:1"]
    for headers in ({}, {SECRET_TOKEN_HEADER: "wrong"}):
        with pytest.raises(WebhookError) as caught:
            connector.parse_webhook(raw, headers)
        assert caught.value.status_code == 403
    for body in (b"\xff", b"[1]", b'{"message": {}}'):
        with pytest.raises(WebhookError) as caught:
            connector.parse_webhook(body, {SECRET_TOKEN_HEADER: "s3cr3t-header"})
        assert caught.value.status_code == 400
    asyncio.run(connector._client.aclose())
