"""Tests for the Telegram Bot API emulator over real HTTP, mostly driven by the real Telegram connector:
offsets confirm and forget, long polls wait and wake, overlapping pollers conflict, sendMessage answers
Telegram's exact shapes and refusals, faults and blocks are injected, and the token is never recorded."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any, Awaitable, Callable

import httpx
import pytest

from services.channels.base import ChannelError, ErrorKind, OutboundText
from services.channels.telegram import TelegramConnector
from services.sandbox import telegram_api
from services.sandbox.telegram_api import TERMINATED, WEBHOOK_ACTIVE, TelegramSandbox, TelegramSandboxConfig
from services.sandbox.traffic import PERSONAS, TrafficGenerator

TOKEN = "6012345678:AAFsandboxTOKEN_for-tests-0123456"
BOT_ID = 6012345678


@pytest.fixture
def base(serve) -> str:
    return serve(telegram_api.create_app(TelegramSandboxConfig(token=TOKEN, first_update_id=1000)))


def run(base: str, body: Callable[[TelegramConnector], Awaitable[Any]], *, token: str = TOKEN,
        poll_timeout: int = 0) -> Any:
    async def scenario() -> Any:
        async with TelegramConnector(token=token, api_base=base, poll_timeout=poll_timeout, timeout=5.0) as c:
            return await body(c)

    return asyncio.run(scenario())


def inbound(base: str, chat_id: int = 4242, text: str | None = "Hola", **extra: Any) -> dict[str, Any]:
    body = {"chat_id": chat_id, "first_name": "Lucía", "last_name": "Fernández", "text": text, **extra}
    response = httpx.post(f"{base}/_sandbox/telegram/inbound", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def bot(base: str, method: str, token: str = TOKEN, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{base}/bot{token}/{method}", timeout=15, **kwargs)


def state(base: str) -> dict[str, Any]:
    return httpx.get(f"{base}/_sandbox/telegram/state").json()


def fault(base: str, **body: Any) -> None:
    response = httpx.post(f"{base}/_sandbox/telegram/faults", json=body)
    assert response.status_code == 200, response.text


# -- getUpdates -------------------------------------------------------------------------------------------------

def test_a_customer_message_comes_as_telegram_shapes_it(base):
    queued = inbound(base, chat_id=4242, text="/start", username="luciaf", language_code="es")
    answer = bot(base, "getUpdates", json={"timeout": 0}).json()
    assert answer["ok"] is True
    [upd] = answer["result"]
    message = upd["message"]
    assert upd["update_id"] == queued["update_id"] == 1000
    assert message["message_id"] == queued["message_id"] == 1
    assert message["from"] == {"id": 4242, "is_bot": False, "first_name": "Lucía", "last_name": "Fernández",
                               "username": "luciaf", "language_code": "es"}
    assert message["chat"] == {"id": 4242, "first_name": "Lucía", "last_name": "Fernández", "username": "luciaf",
                               "type": "private"}
    assert isinstance(message["date"], int) and abs(message["date"] - time.time()) < 5
    assert message["text"] == "/start"
    assert message["entities"] == [{"offset": 0, "length": 6, "type": "bot_command"}]


def test_updates_come_again_until_an_offset_confirms_them(base):
    inbound(base, text="uno")
    inbound(base, text="dos")
    first = run(base, lambda c: c.poll(None))
    assert [m.text for m in first.batch.messages] == ["uno", "dos"] and first.cursor == "1002"
    # Not confirmed yet (say the server crashed before storing): the same updates come again.
    again = run(base, lambda c: c.poll(None))
    assert [m.provider_message_id for m in again.batch.messages] == \
        [m.provider_message_id for m in first.batch.messages]
    # Asking with the cursor confirms them: Telegram forgets them for good.
    after = run(base, lambda c: c.poll(first.cursor))
    assert after.batch.messages == [] and after.cursor == "1002"
    assert state(base)["pending_update_ids"] == []
    assert run(base, lambda c: c.poll(None)).batch.messages == []


def test_a_confirming_offset_keeps_later_updates_and_limit_caps_the_page(base):
    for i in range(4):
        inbound(base, text=f"m{i}")
    page = bot(base, "getUpdates", json={"offset": 1001, "limit": 2}).json()["result"]
    assert [u["update_id"] for u in page] == [1001, 1002]
    assert state(base)["pending_update_ids"] == [1001, 1002, 1003]


def test_a_negative_offset_keeps_only_the_newest_updates(base):
    for i in range(4):
        inbound(base, text=f"m{i}")
    page = bot(base, "getUpdates", json={"offset": -1}).json()["result"]
    assert [u["message"]["text"] for u in page] == ["m3"]
    assert state(base)["pending_update_ids"] == [1003]


def test_parameters_may_come_in_the_query_string_or_a_form_and_methods_ignore_case(base):
    inbound(base, text="uno")
    inbound(base, text="dos")
    by_query = httpx.get(f"{base}/bot{TOKEN}/getupdates", params={"offset": 1001}).json()
    assert [u["update_id"] for u in by_query["result"]] == [1001]
    by_form = bot(base, "GETUPDATES", data={"offset": "1002", "allowed_updates": '["message"]'}).json()
    assert by_form == {"ok": True, "result": []}
    assert state(base)["allowed_updates"] == ["message"]


def test_a_long_poll_waits_for_the_next_message_and_returns_at_once(base):
    threading.Timer(0.4, inbound, args=(base,), kwargs={"text": "llego tarde"}).start()
    started = time.monotonic()
    result = run(base, lambda c: c.poll(None), poll_timeout=10)
    took = time.monotonic() - started
    assert [m.text for m in result.batch.messages] == ["llego tarde"]
    assert 0.3 < took < 3.0


def test_an_empty_long_poll_waits_its_timeout(base):
    started = time.monotonic()
    result = run(base, lambda c: c.poll("1000"), poll_timeout=1)
    assert result.batch.messages == [] and time.monotonic() - started >= 0.95


def test_a_second_poller_ends_the_waiting_one_with_409(base):
    async def two_pollers(connector: TelegramConnector) -> tuple[Any, Any]:
        first = asyncio.ensure_future(connector.poll(None))
        await asyncio.sleep(0.3)
        async with TelegramConnector(token=TOKEN, api_base=base, poll_timeout=0) as other:
            second = await other.poll(None)
        return await asyncio.gather(first, return_exceptions=True), second

    (first,), second = run(base, two_pollers, poll_timeout=10)
    assert isinstance(first, ChannelError)
    assert first.kind == ErrorKind.PERMISSION and first.code == 409 and first.details == TERMINATED
    assert first.title == "Another program is polling this bot"
    assert second.batch.messages == []


def test_with_a_webhook_set_polling_is_refused_until_it_is_deleted(base):
    assert bot(base, "setWebhook", json={"url": "http://insecure.example"}).status_code == 400
    assert bot(base, "setWebhook", json={"url": "https://bot.example/hook"}).json() == {"ok": True, "result": True}
    refused = bot(base, "getUpdates", json={})
    assert refused.status_code == 409 and refused.json() == {"ok": False, "error_code": 409,
                                                             "description": WEBHOOK_ACTIVE}
    with pytest.raises(ChannelError) as caught:
        run(base, lambda c: c.poll(None))
    assert caught.value.title == "A webhook is set for this bot, so it cannot be polled"
    assert bot(base, "deleteWebhook", json={}).json()["result"] is True
    assert bot(base, "getUpdates", json={}).json() == {"ok": True, "result": []}


def test_edits_come_as_edited_message_and_only_when_allowed(base):
    queued = inbound(base, text="pedido #A1")
    run(base, lambda c: c.poll(None))  # allowed_updates: message and edited_message
    inbound(base, text="pedido #A2", edit_message_id=queued["message_id"])
    result = run(base, lambda c: c.poll("1001"))
    [edit] = result.batch.messages
    assert edit.kind == "edited" and edit.text == "[edited] pedido #A2" and edit.reply_to_provider_id == "4242:1"
    # A bot that asks only for messages gets no edits: Telegram does not even keep them.
    bot(base, "getUpdates", json={"offset": 1002, "allowed_updates": ["message"]})
    assert inbound(base, text="otra vez", edit_message_id=queued["message_id"])["update_id"] is None
    assert state(base)["pending_update_ids"] == []


def test_group_messages_and_media_come_as_telegram_sends_them(base):
    inbound(base, chat_id=77, text=None, kind="photo", caption="la caja rota")
    inbound(base, chat_id=77, text=None, kind="sticker", emoji="😡")
    inbound(base, chat_id=78, text="hola grupo", chat_type="group")
    page = bot(base, "getUpdates", json={}).json()["result"]
    assert page[0]["message"]["caption"] == "la caja rota" and len(page[0]["message"]["photo"]) == 2
    assert page[1]["message"]["sticker"]["emoji"] == "😡"
    assert page[2]["message"]["chat"]["type"] == "group" and page[2]["message"]["chat"]["id"] == -78
    result = run(base, lambda c: c.poll(None))
    assert [(m.kind, m.text) for m in result.batch.messages] == [("photo", "la caja rota"),
                                                                  ("sticker", "[sticker] 😡")]


# -- sendMessage ------------------------------------------------------------------------------------------------

def test_send_message_answers_the_sent_message(base):
    inbound(base, chat_id=4242, text="Hola")
    answer = bot(base, "sendMessage", json={"chat_id": 4242, "text": "¡Hola, Lucía! 👋"})
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"ok", "result"} and body["ok"] is True
    message = body["result"]
    assert message["message_id"] == 2  # one sequence per chat, shared with the customer's messages
    assert message["from"] == {"id": BOT_ID, "is_bot": True, "first_name": "Workstation Demo",
                               "username": "workstation_demo_bot"}
    assert message["chat"] == {"id": 4242, "first_name": "Lucía", "last_name": "Fernández", "type": "private"}
    assert message["text"] == "¡Hola, Lucía! 👋" and isinstance(message["date"], int)
    result = run(base, lambda c: c.send(OutboundText("4242", "segunda")))
    assert result.provider_message_id == "4242:3" and result.recipient_handle == "4242"


def test_a_reply_quotes_the_customer_message(base):
    queued = inbound(base, chat_id=4242, text="¿Abrís mañana?")
    answer = bot(base, "sendMessage", json={"chat_id": 4242, "text": "Sí",
                                            "reply_parameters": {"message_id": queued["message_id"]}}).json()
    assert answer["result"]["reply_to_message"]["text"] == "¿Abrís mañana?"
    missing = bot(base, "sendMessage", json={"chat_id": 4242, "text": "Sí", "reply_parameters": {"message_id": 99}})
    assert missing.json()["description"] == "Bad Request: message to be replied not found"
    allowed = bot(base, "sendMessage", json={"chat_id": 4242, "text": "Sí", "reply_parameters": json.dumps(
        {"message_id": 99, "allow_sending_without_reply": True})})
    assert allowed.status_code == 200 and "reply_to_message" not in allowed.json()["result"]


@pytest.mark.parametrize("params, status, description", [
    ({"text": "hola"}, 400, "Bad Request: chat_id is empty"),
    ({"chat_id": 999, "text": "hola"}, 400, "Bad Request: chat not found"),
    ({"chat_id": "@nobody", "text": "hola"}, 400, "Bad Request: chat not found"),
    ({"chat_id": 4242}, 400, "Bad Request: message text is empty"),
    ({"chat_id": 4242, "text": "   "}, 400, "Bad Request: message text is empty"),
    ({"chat_id": 4242, "text": "x" * 4097}, 400, "Bad Request: message is too long"),
    ({"chat_id": 4242, "text": "hola", "parse_mode": "BBCode"}, 400, "Bad Request: unsupported parse_mode BBCode"),
])
def test_send_message_refuses_what_telegram_refuses(base, params, status, description):
    inbound(base, chat_id=4242)
    answer = bot(base, "sendMessage", json=params)
    assert answer.status_code == status
    assert answer.json() == {"ok": False, "error_code": status, "description": description}


def test_exactly_4096_characters_and_string_chat_ids_are_fine(base):
    inbound(base, chat_id=4242)
    assert bot(base, "sendMessage", json={"chat_id": "4242", "text": "x" * 4096}).status_code == 200
    assert bot(base, "sendMessage", data={"chat_id": "4242", "text": "por formulario"}).status_code == 200


@pytest.mark.parametrize("token, status, description", [
    ("6012345678:AAFsomeoneELSEsTOKEN_0123456789", 401, "Unauthorized"),
    ("not-a-token", 404, "Not Found"),
])
def test_a_wrong_token_is_refused_the_way_telegram_does(base, token, status, description):
    inbound(base, chat_id=4242)
    answer = bot(base, "sendMessage", token=token, json={"chat_id": 4242, "text": "hola"})
    assert answer.status_code == status
    assert answer.json() == {"ok": False, "error_code": status, "description": description}
    with pytest.raises(ChannelError) as caught:
        run(base, lambda c: c.send(OutboundText("4242", "hola")), token=token)
    assert caught.value.kind == ErrorKind.AUTH_EXPIRED
    [first, second] = httpx.get(f"{base}/_sandbox/telegram/sent").json()
    assert first["token_ok"] is False and first["status_code"] == status and second["status_code"] == status


def test_unknown_methods_are_not_found(base):
    answer = bot(base, "sendTelepathy", json={})
    assert answer.status_code == 404 and answer.json()["description"] == "Not Found"


def test_get_me_describes_the_bot(base):
    assert bot(base, "getMe").json()["result"]["id"] == BOT_ID


# -- faults, blocks and the record of sends ---------------------------------------------------------------------

def test_a_429_fault_tells_how_long_to_wait_and_is_used_up(base):
    inbound(base, chat_id=4242)
    fault(base, method="sendMessage", error_code=429, retry_after=3)
    raw = bot(base, "sendMessage", json={"chat_id": 4242, "text": "uno"})
    assert raw.status_code == 429
    assert raw.json() == {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3",
                          "parameters": {"retry_after": 3}}
    fault(base, error_code=429, retry_after=2)
    with pytest.raises(ChannelError) as caught:
        run(base, lambda c: c.send(OutboundText("4242", "dos")))
    assert caught.value.kind == ErrorKind.RETRYABLE and caught.value.retry_after == 2.0
    assert run(base, lambda c: c.send(OutboundText("4242", "dos"))).provider_message_id.startswith("4242:")
    sent = httpx.get(f"{base}/_sandbox/telegram/sent").json()
    assert [(s["params"]["text"], s["status_code"]) for s in sent] == [("uno", 429), ("dos", 429), ("dos", 200)]
    assert sent[1]["at"] <= sent[2]["at"]


@pytest.mark.parametrize("error_code, kind, description", [
    (403, ErrorKind.UNDELIVERABLE, "Forbidden: bot was blocked by the user"),
    (401, ErrorKind.AUTH_EXPIRED, "Unauthorized"),
    (500, ErrorKind.RETRYABLE, "Internal Server Error"),
    (400, ErrorKind.UNDELIVERABLE, "Bad Request: chat not found"),
])
def test_injected_faults_answer_telegram_bodies(base, error_code, kind, description):
    inbound(base, chat_id=4242)
    fault(base, error_code=error_code)
    with pytest.raises(ChannelError) as caught:
        run(base, lambda c: c.send(OutboundText("4242", "hola")))
    assert caught.value.kind == kind and caught.value.details == description and caught.value.code == error_code


def test_an_html_502_from_the_proxy_is_retryable(base):
    inbound(base, chat_id=4242)
    fault(base, error_code=502, html=True)
    raw = bot(base, "sendMessage", json={"chat_id": 4242, "text": "hola"})
    assert raw.status_code == 502 and raw.headers["content-type"].startswith("text/html")
    fault(base, error_code=502, html=True)
    with pytest.raises(ChannelError) as caught:
        run(base, lambda c: c.send(OutboundText("4242", "hola")))
    assert caught.value.kind == ErrorKind.RETRYABLE


def test_faults_can_target_one_chat_or_the_polls_that_would_confirm(base):
    inbound(base, chat_id=1)
    inbound(base, chat_id=2)
    fault(base, error_code=403, chat_id=2, count=5)
    assert bot(base, "sendMessage", json={"chat_id": 1, "text": "a"}).status_code == 200
    assert bot(base, "sendMessage", json={"chat_id": 2, "text": "b"}).status_code == 403
    fault(base, method="getUpdates", error_code=500, min_offset=1002, count=100)
    assert bot(base, "getUpdates", json={"offset": 1001}).status_code == 200
    assert bot(base, "getUpdates", json={"offset": 1002}).status_code == 500
    assert state(base)["pending_update_ids"] == [1001]  # a failed call confirms nothing
    assert httpx.delete(f"{base}/_sandbox/telegram/faults").json() == {"pending": 0}
    assert bot(base, "sendMessage", json={"chat_id": 2, "text": "b"}).status_code == 200
    polls = httpx.get(f"{base}/_sandbox/telegram/polls").json()
    assert [(p["offset"], p["status_code"], p["update_ids"]) for p in polls] == [(1001, 200, [1001]),
                                                                                (1002, 500, [])]


def test_a_customer_who_blocks_the_bot_gets_nothing_until_unblocking(base):
    inbound(base, chat_id=4242)
    httpx.post(f"{base}/_sandbox/telegram/block", json={"chat_id": 4242})
    with pytest.raises(ChannelError) as caught:
        run(base, lambda c: c.send(OutboundText("4242", "¿Sigues ahí?")))
    assert caught.value.kind == ErrorKind.UNDELIVERABLE and caught.value.title == "The customer blocked the bot"
    httpx.post(f"{base}/_sandbox/telegram/block", json={"chat_id": 4242, "blocked": False})
    assert run(base, lambda c: c.send(OutboundText("4242", "¿Sigues ahí?"))).recipient_handle == "4242"


def test_the_record_of_calls_never_holds_the_token(base):
    inbound(base, chat_id=4242)
    run(base, lambda c: c.send(OutboundText("4242", "hola")))
    run(base, lambda c: c.poll(None))
    bot(base, "sendMessage", token=TOKEN[:-1] + "X", json={"chat_id": 4242, "text": "x"})
    sent = httpx.get(f"{base}/_sandbox/telegram/sent").text
    polls = httpx.get(f"{base}/_sandbox/telegram/polls").text
    assert "hola" in sent and TOKEN not in sent and TOKEN[:-1] not in sent and TOKEN not in polls


def test_bad_sandbox_requests_get_a_clear_error(base):
    assert httpx.post(f"{base}/_sandbox/telegram/inbound", json={"chat_id": 1, "first_name": "A"}).status_code == 422
    assert httpx.post(f"{base}/_sandbox/telegram/faults", json={"error_code": 200}).status_code == 422
    edit = httpx.post(f"{base}/_sandbox/telegram/inbound",
                      json={"chat_id": 1, "first_name": "A", "text": "x", "edit_message_id": 5})
    assert edit.status_code == 404
    assert bot(base, "sendMessage", content=b"{", headers={"content-type": "application/json"}).status_code == 400


# -- beside the WhatsApp emulator, with its traffic --------------------------------------------------------------

def test_traffic_sends_telegram_customers_to_telegram_and_the_rest_to_whatsapp():
    telegram = TelegramSandbox(TelegramSandboxConfig(token=TOKEN, first_update_id=1))
    whatsapp: list[tuple[str, str, str]] = []

    async def collect(wa_id: str, name: str, text: str) -> None:
        whatsapp.append((wa_id, name, text))

    generator = TrafficGenerator(collect, seed=11, initial_conversations=len(PERSONAS), burst_gap=(0, 0),
                                 send_telegram=telegram.send_inbound)
    asyncio.run(generator.initial_burst())
    on_telegram = {p.telegram_chat_id: p for p in PERSONAS if p.telegram_chat_id is not None}
    assert len(on_telegram) >= 3
    chats = {u["message"]["chat"]["id"] for u in telegram.updates}
    assert chats == set(on_telegram)
    assert {wa_id for wa_id, _, _ in whatsapp} == {p.wa_id for p in PERSONAS if p.telegram_chat_id is None}
    for upd in telegram.updates:
        persona = on_telegram[upd["message"]["chat"]["id"]]
        sender = upd["message"]["from"]
        assert " ".join(filter(None, (sender["first_name"], sender.get("last_name")))) == persona.name


def test_mounted_beside_whatsapp_a_telegram_customer_answers_a_survey_on_telegram(serve, receiver):
    from services.sandbox.whatsapp_api import SandboxConfig, create_app
    from services.teamserver.csat import parse_answer

    app = create_app(SandboxConfig(app_secret="s", access_token="EAAGx", phone_number_id="1",
                                   webhook_url=serve(receiver.app) + receiver.path, traffic=True,
                                   traffic_interval=(3600.0, 3600.0), initial_conversations=0,
                                   survey_answer_rate=1.0, survey_delay=(0.0, 0.0)))
    telegram_api.mount(app, TelegramSandboxConfig(token=TOKEN, first_update_id=1))
    base = serve(app)
    api = base + "/telegram"  # the Bot API under /telegram; the control routes stay at /_sandbox/telegram
    persona = next(p for p in PERSONAS if p.telegram_chat_id is not None)
    chat = str(persona.telegram_chat_id)
    inbound(base, chat_id=persona.telegram_chat_id, text="Hola")
    assert bot(api, "getMe").json()["result"]["id"] == BOT_ID
    run(api, lambda c: c.send(OutboundText(chat, "Tu pedido sale hoy.")))  # not a survey: no answer
    run(api, lambda c: c.send(OutboundText(
        chat, "¿Cómo valorarías la atención? Responde con un número del 1 (muy mal) al 5 (excelente).")))
    deadline = time.monotonic() + 5
    while len(state(base)["pending_update_ids"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    page = bot(api, "getUpdates", json={}).json()["result"]
    assert [u["message"]["text"] for u in page][0] == "Hola" and len(page) == 2
    answer = page[1]["message"]
    assert answer["chat"]["id"] == persona.telegram_chat_id and parse_answer(answer["text"]) in range(1, 6)
    assert receiver.attempts == []  # nothing went by WhatsApp


def test_a_stale_offset_from_an_earlier_id_sequence_loses_nothing(serve):
    """Telegram picks a random next update_id after a week without updates (and a sandbox restarts with new
    ids): the bot's saved offset is then above the new ids. The updates still come, and the connector's next
    cursor follows the ids it got, so they are confirmed instead of coming forever."""
    base = serve(telegram_api.create_app(TelegramSandboxConfig(token=TOKEN, first_update_id=117314199)))
    inbound(base, text="después de una semana")
    stale = "727334708"
    first = run(base, lambda c: c.poll(stale))
    assert [m.text for m in first.batch.messages] == ["después de una semana"]
    assert first.cursor == "117314200"
    assert state(base)["pending_update_ids"] == [117314199]
    run(base, lambda c: c.poll(first.cursor))
    assert state(base)["pending_update_ids"] == []
