"""Tests for the WhatsApp Cloud API sandbox, driven over real HTTP by the real WhatsApp connector."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any, Awaitable, Callable

import httpx
import pytest

from services.channels.base import ChannelError, ErrorKind, OutboundText, WebhookBatch
from services.channels.whatsapp import WhatsAppConnector
from services.sandbox.traffic import PERSONAS
from services.sandbox.whatsapp_api import SandboxConfig, create_app, user_id_for

SECRET = "sandbox-app-secret"
TOKEN = "EAAGsandboxTOKEN-4f1c9e"
WRONG_TOKEN = "EAAGwrongTOKEN-77aa01"
PHONE_ID = "106540352242922"
WINDOW_DETAILS = (
    "Message failed to send because more than 24 hours have passed since the customer last replied to this number."
)


@pytest.fixture
def sandbox(serve, receiver) -> Callable[..., str]:
    """Starts a receiver and a sandbox posting to it; returns a starter taking SandboxConfig overrides."""

    def start(**overrides: Any) -> str:
        options: dict[str, Any] = {"status_delays": (0.02, 0.04, 0.06), **overrides}
        if "webhook_url" not in options:
            options["webhook_url"] = serve(receiver.app) + receiver.path
        config = SandboxConfig(app_secret=SECRET, access_token=TOKEN, phone_number_id=PHONE_ID, **options)
        return serve(create_app(config))

    return start


def run_with_connector(base: str, body: Callable[[WhatsAppConnector], Awaitable[Any]], *, token: str = TOKEN) -> Any:
    async def scenario() -> Any:
        async with WhatsAppConnector(
            app_secret=SECRET, access_token=token, phone_number_id=PHONE_ID, api_base=base, timeout=5.0
        ) as connector:
            return await body(connector)

    return asyncio.run(scenario())


def parse_signed(base: str, delivery: Any) -> WebhookBatch:
    """Checks the delivery's signature and parses it the way the team server does."""

    async def body(connector: WhatsAppConnector) -> WebhookBatch:
        assert connector.verify_signature(delivery.body, delivery.headers)
        return connector.parse_webhook(delivery.body, delivery.headers)

    return run_with_connector(base, body)


def send(base: str, to: str, text: str = "Hola 👋", **kwargs: Any) -> Any:
    return run_with_connector(base, lambda c: c.send(OutboundText(to, text)), **kwargs)


def inbound(base: str, sender: str, text: str = "Hola", name: str = "Cliente", **extra: Any) -> dict[str, Any]:
    response = httpx.post(f"{base}/_sandbox/inbound", json={"from": sender, "name": name, "text": text, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def graph_post(base: str, body: Any, *, path: str = f"/v21.0/{PHONE_ID}/messages", token: str | None = TOKEN,
               ) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if isinstance(body, bytes):
        return httpx.post(base + path, content=body, headers={**headers, "Content-Type": "application/json"})
    return httpx.post(base + path, json=body, headers=headers)


def text_body(to: str = "34600100201", text: Any = "hi") -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text",
            "text": {"body": text, "preview_url": False}}


def test_health(sandbox):
    base = sandbox()
    assert httpx.get(f"{base}/_sandbox/health").json() == {"ok": True}


def test_send_in_window_is_accepted_and_signed_statuses_follow(sandbox, receiver):
    base = sandbox()
    customer = inbound(base, "34600100201", "Hola, ¿y mi pedido?", name="Lucía Fernández")
    receiver.next()

    async def body(connector: WhatsAppConnector) -> tuple[Any, list[Any], list[WebhookBatch]]:
        result = await connector.send(
            OutboundText("+34600100201", "¡Hola Lucía! Lo miro ahora.", reply_to_provider_id=customer["id"])
        )
        deliveries = [await asyncio.to_thread(receiver.next) for _ in range(3)]
        for delivery in deliveries:
            assert connector.verify_signature(delivery.body, delivery.headers)
        return result, deliveries, [connector.parse_webhook(d.body, d.headers) for d in deliveries]

    result, deliveries, batches = run_with_connector(base, body)

    assert result.provider_message_id.startswith("wamid.")
    assert result.recipient_handle == "34600100201"
    statuses = [status for batch in batches for status in batch.statuses]
    assert [s.status for s in statuses] == ["sent", "delivered", "read"]
    assert {s.provider_message_id for s in statuses} == {result.provider_message_id}
    assert {s.recipient_handle for s in statuses} == {"34600100201"}
    assert all(s.error is None for s in statuses)
    assert statuses[0].occurred_at <= statuses[2].occurred_at
    sent_status = json.loads(deliveries[0].body)["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert sent_status["pricing"] == {"billable": True, "pricing_model": "CBP", "category": "service"}
    assert sent_status["conversation"]["origin"] == {"type": "service"}
    assert isinstance(sent_status["timestamp"], str)
    assert "pricing" not in json.loads(deliveries[2].body)["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert deliveries[0].headers["content-type"] == "application/json"

    log = httpx.get(f"{base}/_sandbox/sent")
    [record] = log.json()
    assert record["path"] == f"/v21.0/{PHONE_ID}/messages"
    assert record["authorization_ok"] is True
    assert record["status_code"] == 200
    assert record["json"]["context"] == {"message_id": customer["id"]}
    assert record["json"]["text"] == {"body": "¡Hola Lucía! Lo miro ahora.", "preview_url": False}
    assert record["response"]["messages"] == [{"id": result.provider_message_id}]
    assert record["response"]["contacts"] == [{"input": "+34600100201", "wa_id": "34600100201"}]
    assert TOKEN not in log.text


def test_window_closed_after_24_hours_or_without_inbound(sandbox, receiver):
    base = sandbox(webhook_url=None)
    now = int(time.time())
    assert inbound(base, "15555550124", timestamp=now - 25 * 3600)["delivered"] is False
    inbound(base, "15555550126", timestamp=now - 23 * 3600)

    for never_or_stale in ("15555550124", "447700900999"):
        with pytest.raises(ChannelError) as info:
            send(base, never_or_stale)
        assert info.value.kind is ErrorKind.WINDOW_CLOSED
        assert info.value.code == 131047
        assert info.value.title == "Re-engagement message"
        assert info.value.details == WINDOW_DETAILS
        assert info.value.http_status == 400
    assert send(base, "15555550126").recipient_handle == "15555550126"


def test_wrong_token_is_auth_expired_and_never_echoed(sandbox):
    base = sandbox()
    inbound(base, "15555550121")

    with pytest.raises(ChannelError) as info:
        send(base, "15555550121", token=WRONG_TOKEN)

    error = info.value
    assert error.kind is ErrorKind.AUTH_EXPIRED
    assert error.code == 190
    assert error.http_status == 401
    for text in (str(error), repr(error), error.title, error.details):
        assert WRONG_TOKEN not in text
        assert TOKEN not in text
    log = httpx.get(f"{base}/_sandbox/sent")
    assert [r["authorization_ok"] for r in log.json()] == [False]
    assert WRONG_TOKEN not in log.text and TOKEN not in log.text
    assert graph_post(base, text_body("15555550121"), token=None).status_code == 401


def test_fault_injection_answers_the_provider_error_for_the_next_sends(sandbox):
    base = sandbox()
    inbound(base, "15555550121")
    response = httpx.post(f"{base}/_sandbox/faults", json={"code": 130429, "count": 1})
    assert response.json() == {"pending": 1}
    httpx.post(f"{base}/_sandbox/faults", json={"code": 131000, "count": 1, "http_status": 503})

    with pytest.raises(ChannelError) as first:
        send(base, "15555550121")
    with pytest.raises(ChannelError) as second:
        send(base, "15555550121")

    assert (first.value.kind, first.value.code, first.value.title) == (ErrorKind.RETRYABLE, 130429, "Rate limit hit")
    assert (second.value.kind, second.value.code, second.value.http_status) == (ErrorKind.RETRYABLE, 131000, 503)
    assert send(base, "15555550121").provider_message_id.startswith("wamid.")


def test_inbound_webhook_is_signed_over_ascii_escaped_bytes(sandbox, receiver):
    base = sandbox()
    text = "¿Dónde está mi pedido? Gracias 🙏"
    sent_at = int(time.time()) - 60
    answer = inbound(base, "447700900125", text, name="Zoë Lambert", timestamp=sent_at)
    delivery = receiver.next()

    assert "delivered" not in answer
    assert delivery.body.isascii()
    assert b"\\u00bfD\\u00f3nde est\\u00e1" in delivery.body
    assert b"\\ud83d\\ude4f" in delivery.body
    assert b"Zo\\u00eb Lambert" in delivery.body

    [message] = parse_signed(base, delivery).messages
    assert message.provider_message_id == answer["id"]
    assert message.account_id == PHONE_ID
    assert message.sender_handle == "447700900125"
    assert message.sender_name == "Zoë Lambert"
    assert message.kind == "text"
    assert message.text == text
    assert message.sent_at.timestamp() == sent_at
    payload = json.loads(delivery.body)
    assert payload["object"] == "whatsapp_business_account"
    value = payload["entry"][0]["changes"][0]["value"]
    assert payload["entry"][0]["changes"][0]["field"] == "messages"
    assert value["metadata"] == {"display_phone_number": "15550001234", "phone_number_id": PHONE_ID}


def test_inbound_without_wa_id_carries_user_ids_only(sandbox, receiver):
    base = sandbox()
    inbound(base, "34600100202", "Hola", name="Javier Muñoz", omit_wa_id=True)
    delivery = receiver.next()

    value = json.loads(delivery.body)["entry"][0]["changes"][0]["value"]
    assert "wa_id" not in value["contacts"][0] and "from" not in value["messages"][0]
    [message] = parse_signed(base, delivery).messages
    assert message.sender_handle == user_id_for("34600100202") != "34600100202"
    assert message.sender_name == "Javier Muñoz"


def test_webhook_delivery_is_retried_until_acknowledged(sandbox, receiver):
    receiver.fail_first = 2
    base = sandbox(webhook_backoff=0.01)

    answer = inbound(base, "15555550129", "retry me")

    assert "delivered" not in answer
    assert len(receiver.attempts) == 3
    assert len({(a.body, a.headers["x-hub-signature-256"]) for a in receiver.attempts}) == 1
    assert receiver.next(timeout=0).body == receiver.attempts[0].body


def test_inbound_reports_undelivered_after_giving_up(sandbox):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    base = sandbox(webhook_url=f"http://127.0.0.1:{closed_port}/webhooks/whatsapp",
                   webhook_attempts=2, webhook_backoff=0.01)

    answer = inbound(base, "15555550121")

    assert answer["id"].startswith("wamid.")
    assert answer["delivered"] is False


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({**text_body(), "text": {"preview_url": False}}, 131008),
        (text_body(text="x" * 4097), 131009),
        (text_body(text=""), 131009),
        (text_body(to="not-a-number"), 131009),
        ({**text_body(), "to": None}, 131008),
        ({**text_body(), "messaging_product": "sms"}, 100),
        ({k: v for k, v in text_body().items() if k != "messaging_product"}, 100),
        ({**text_body(), "type": "carousel"}, 100),
        (b"{not json", 100),
        ({"messaging_product": "whatsapp", "status": "read"}, 131008),
    ],
)
def test_invalid_bodies_get_graph_errors(sandbox, body: Any, code: int):
    base = sandbox(webhook_url=None)
    inbound(base, "34600100201")

    response = graph_post(base, body)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"].startswith(f"(#{code}) ")
    assert error["type"] == "OAuthException"
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert error["error_data"]["details"]
    assert isinstance(error["fbtrace_id"], str) and error["fbtrace_id"]


def test_graph_error_body_for_window_and_unknown_number(sandbox):
    base = sandbox(webhook_url=None)

    window = graph_post(base, text_body("447700900999")).json()["error"]
    unknown = graph_post(base, text_body(), path="/v21.0/999999/messages")

    assert window["message"] == "(#131047) Re-engagement message"
    assert window["error_data"] == {"messaging_product": "whatsapp", "details": WINDOW_DETAILS}
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == 100


def test_mark_read_and_template_sends(sandbox):
    base = sandbox(webhook_url=None)

    assert run_with_connector(base, lambda c: c.mark_read("wamid.customer1", typing=True)) is None
    template = {
        "messaging_product": "whatsapp", "to": "447700900999", "type": "template",
        "template": {"name": "order_update", "language": {"code": "en_GB"}},
    }
    response = graph_post(base, template)

    assert response.status_code == 200
    assert response.json()["messages"][0]["message_status"] == "accepted"
    log = httpx.get(f"{base}/_sandbox/sent").json()
    assert log[0]["json"] == {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.customer1",
                              "typing_indicator": {"type": "text"}}
    assert log[0]["response"] == {"success": True}


def test_traffic_runs_in_the_lifespan_through_the_inbound_path(sandbox, receiver):
    base = sandbox(traffic=True, traffic_seed=5, traffic_interval=(0.01, 0.02), initial_conversations=2)

    delivery = receiver.next()

    [message] = parse_signed(base, delivery).messages
    persona = next(p for p in PERSONAS if p.wa_id == message.sender_handle)
    assert message.sender_name == persona.name
    # The generator writes through the same path as /_sandbox/inbound, so its customers are in the window.
    assert send(base, persona.wa_id).recipient_handle == persona.wa_id


def test_an_emulated_customer_answers_a_survey_through_the_webhook(sandbox, receiver):
    from services.teamserver.csat import parse_answer

    base = sandbox(traffic=True, traffic_interval=(3600.0, 3600.0), initial_conversations=0,
                   survey_answer_rate=1.0, survey_delay=(0.0, 0.0))
    persona = PERSONAS[0]
    inbound(base, persona.wa_id, "Hola", name=persona.name)
    receiver.next()
    send(base, persona.wa_id, "Tu pedido sale hoy.")  # not a survey: no answer
    send(base, persona.wa_id, "¿Cómo valorarías la atención? Responde con un número del 1 (muy mal) al 5 (excelente).")
    while True:  # status webhooks come too; the customer's answer is the one message
        batch = parse_signed(base, receiver.next())
        if batch.messages:
            break
    [answer] = batch.messages
    assert answer.sender_handle == persona.wa_id and answer.sender_name == persona.name
    assert parse_answer(answer.text) in range(1, 6)
    time.sleep(0.3)  # an answer to the text that was not a survey would have come by now
    assert [m.text for d in receiver.attempts for m in parse_signed(base, d).messages] == ["Hola", answer.text]
