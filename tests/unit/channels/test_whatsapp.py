"""Tests for the WhatsApp connector: webhook parsing, signatures, error mapping and sends."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.channels.base import ChannelError, ErrorKind, OutboundText, WebhookBatch, WebhookError
from services.channels.whatsapp import (
    ERROR_KINDS,
    WhatsAppConnector,
    error_kind_for,
    parse_webhook_payload,
    sign,
    verify_signature,
    verify_subscription,
)

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "channel-samples"
SECRET = "app-secret-for-tests"
TOKEN = "EAAGtestTOKEN0123456789secret"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def envelope(*changes: dict[str, Any], entry_id: str = "1") -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": [{"id": entry_id, "changes": list(changes)}]}


def messages_change(messages: list[dict[str, Any]], *, contacts: list[dict[str, Any]] | None = None,
                    phone_number_id: str = "111") -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001234", "phone_number_id": phone_number_id},
        "messages": messages,
    }
    if contacts is not None:
        value["contacts"] = contacts
    return {"value": value, "field": "messages"}


def parse(payload: dict[str, Any]) -> WebhookBatch:
    return parse_webhook_payload(json.dumps(payload).encode())


def one_message(message: dict[str, Any], **kwargs: Any):
    batch = parse(envelope(messages_change([message], **kwargs)))
    assert len(batch.messages) == 1
    return batch.messages[0]


# webhook parsing


def test_parses_inbound_text_sample_exactly():
    batch = parse_webhook_payload(sample("whatsapp-inbound-text.json"))

    assert batch.statuses == []
    [message] = batch.messages
    assert message.channel == "whatsapp"
    assert message.account_id == "1122334455667"
    assert message.provider_message_id == "wamid.xyzxyz"
    assert message.sender_handle == "972987654321"
    assert message.sender_name == "Test Name"
    assert message.kind == "text"
    assert message.text == "Body Text"
    assert message.sent_at == datetime(2023, 10, 11, 16, 53, 43, tzinfo=UTC)
    assert message.sent_at.utcoffset().total_seconds() == 0
    assert message.reply_to_provider_id is None


def test_parses_sent_status_sample():
    batch = parse_webhook_payload(sample("whatsapp-status-sent.json"))

    assert batch.messages == []
    [status] = batch.statuses
    assert status.channel == "whatsapp"
    assert status.provider_message_id == "wamid.xyzxyz"
    assert status.status == "sent"
    assert status.occurred_at == datetime.fromtimestamp(1698266945, tz=UTC)
    assert status.recipient_handle == "972987654321"
    assert status.error is None


def test_parses_failed_status_sample_with_error():
    [status] = parse_webhook_payload(sample("whatsapp-status-failed.json")).statuses

    assert status.status == "failed"
    assert status.error is not None
    assert status.error.code == 130472
    assert status.error.title == "User's number is part of an experiment"
    assert status.error.details == (
        "Failed to send message because this user's phone number is part of an experiment"
    )
    assert status.error.kind is ErrorKind.UNKNOWN


def test_failed_status_maps_known_code_to_kind():
    payload = envelope({
        "value": {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "111"}, "statuses": [{
            "id": "wamid.a", "status": "failed", "timestamp": "1700000000", "recipient_user_id": "777",
            "errors": [{"code": 131047, "title": "Re-engagement message", "error_data": {"details": "24 h"}}],
        }]},
        "field": "messages",
    })
    [status] = parse(payload).statuses
    assert status.recipient_handle == "777"
    assert status.error.kind is ErrorKind.WINDOW_CLOSED
    assert status.error.details == "24 h"


def test_walks_every_entry_and_change_and_ignores_other_fields():
    first = messages_change(
        [{"from": "1001", "id": "wamid.1", "timestamp": "1700000001", "type": "text", "text": {"body": "one"}},
         {"from": "1002", "id": "wamid.2", "timestamp": "1700000002", "type": "text", "text": {"body": "two"}}],
        contacts=[{"profile": {"name": "Uno"}, "wa_id": "1001"}, {"profile": {"name": "Dos"}, "wa_id": "1002"}],
        phone_number_id="AAA",
    )
    statuses = {"value": {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "AAA"},
                          "statuses": [{"id": "wamid.9", "status": "read", "timestamp": "1700000009",
                                        "recipient_id": "1003"}]},
                "field": "messages"}
    other_field = {"value": {"messages": [{"from": "9", "id": "wamid.x", "timestamp": "1", "type": "text",
                                           "text": {"body": "not a message change"}}]},
                   "field": "message_template_status_update"}
    second = messages_change(
        [{"from": "2001", "id": "wamid.3", "timestamp": "1700000003", "type": "text", "text": {"body": "three"}}],
        contacts=[{"profile": {"name": "Tres"}, "wa_id": "2001"}],
        phone_number_id="BBB",
    )
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "e1", "changes": [first, other_field, statuses]}, {"id": "e2", "changes": [second]}],
    }

    batch = parse(payload)

    assert [(m.provider_message_id, m.account_id, m.sender_name, m.text) for m in batch.messages] == [
        ("wamid.1", "AAA", "Uno", "one"),
        ("wamid.2", "AAA", "Dos", "two"),
        ("wamid.3", "BBB", "Tres", "three"),
    ]
    assert [(s.provider_message_id, s.status, s.recipient_handle) for s in batch.statuses] == [
        ("wamid.9", "read", "1003")
    ]


def test_user_id_only_payload_without_phone_fields():
    message = one_message(
        {"from_user_id": "US.998877", "id": "wamid.u", "timestamp": "1700000000", "type": "text",
         "text": {"body": "hi"}},
        contacts=[{"profile": {"name": "Someone Else"}, "user_id": "US.111"},
                  {"profile": {"name": "Ana"}, "user_id": "US.998877"}],
    )
    assert message.sender_handle == "US.998877"
    assert message.sender_name == "Ana"


def test_sender_name_falls_back_to_handle_without_matching_contact():
    message = one_message(
        {"from": "5550001", "id": "wamid.s", "timestamp": "1700000000", "type": "system",
         "system": {"body": "User changed number"}},
    )
    assert message.sender_name == "5550001"
    assert message.kind == "system"
    assert message.text == "User changed number"


@pytest.mark.parametrize(
    ("kind", "fields", "text"),
    [
        ("image", {"image": {"id": "m1", "mime_type": "image/jpeg", "sha256": "x", "caption": "my receipt"}},
         "my receipt"),
        ("image", {"image": {"id": "m1", "mime_type": "image/jpeg", "sha256": "x"}}, "[image]"),
        ("video", {"video": {"id": "m1"}}, "[video]"),
        ("audio", {"audio": {"id": "m1", "voice": True}}, "[audio]"),
        ("sticker", {"sticker": {"id": "m1", "animated": False}}, "[sticker]"),
        ("document", {"document": {"id": "m1", "filename": "invoice.pdf"}}, "[document] invoice.pdf"),
        ("reaction", {"reaction": {"message_id": "wamid.orig", "emoji": "👍"}}, "👍"),
        ("location", {"location": {"latitude": 40.4168, "longitude": -3.7038, "name": "Sol",
                                   "address": "Puerta del Sol, Madrid"}}, "[location] Sol, Puerta del Sol, Madrid"),
        ("location", {"location": {"latitude": 40.4168, "longitude": -3.7038}}, "[location] 40.4168,-3.7038"),
        ("contacts", {"contacts": [{"name": {"formatted_name": "Ana Pérez"}},
                                   {"name": {"first_name": "John", "last_name": "Doe"}}]},
         "[contacts] Ana Pérez, John Doe"),
        ("interactive", {"interactive": {"type": "button_reply", "button_reply": {"id": "b1", "title": "Yes"}}},
         "Yes"),
        ("interactive", {"interactive": {"type": "list_reply",
                                         "list_reply": {"id": "l1", "title": "Returns", "description": "d"}}},
         "Returns"),
        ("button", {"button": {"payload": "STOP", "text": "Stop promotions"}}, "Stop promotions"),
        ("unsupported", {"errors": [{"code": 131051, "title": "Message type unknown"}]}, "[unsupported]"),
    ],
)
def test_non_text_types(kind: str, fields: dict[str, Any], text: str):
    message = one_message(
        {"from": "34600", "id": "wamid.k", "timestamp": "1700000000", "type": kind, **fields},
        contacts=[{"profile": {"name": "Lucía"}, "wa_id": "34600"}],
    )
    assert message.kind == kind
    assert message.text == text
    assert message.sender_name == "Lucía"


def test_reply_context_and_reaction_target():
    quoted = one_message({"from": "1", "id": "wamid.q", "timestamp": "1700000000", "type": "text",
                          "text": {"body": "this one"}, "context": {"from": "15550001234", "id": "wamid.ours"}})
    reaction = one_message({"from": "1", "id": "wamid.r", "timestamp": "1700000000", "type": "reaction",
                            "reaction": {"message_id": "wamid.ours2", "emoji": "❤️"}})
    assert quoted.reply_to_provider_id == "wamid.ours"
    assert reaction.reply_to_provider_id == "wamid.ours2"


def test_malformed_message_is_skipped_not_the_batch(caplog: pytest.LogCaptureFixture):
    payload = envelope(messages_change([
        {"from": "1", "timestamp": "1700000000", "type": "text", "text": {"body": "no id"}},
        {"from": "1", "id": "wamid.badts", "timestamp": "yesterday", "type": "text", "text": {"body": "bad"}},
        {"from": "1", "id": "wamid.ok", "timestamp": "1700000000", "type": "text", "text": {"body": "fine"}},
    ]))
    with caplog.at_level(logging.WARNING, logger="services.channels.whatsapp"):
        batch = parse(payload)
    assert [m.provider_message_id for m in batch.messages] == ["wamid.ok"]
    assert "without id" in caplog.text
    assert "wamid.badts" in caplog.text


@pytest.mark.parametrize(
    "raw",
    [
        b'{"object": "whatsapp_business_account", "entry": [], "x": "\xff\xfe"}',
        b'{"object": "whatsapp_business_account", "entry": [',
        b'{"object": "page", "entry": []}',
        b'["whatsapp_business_account"]',
        b"",
    ],
    ids=["invalid-utf8", "bad-json", "wrong-object", "not-an-object", "empty"],
)
def test_rejects_bad_bodies_with_400(raw: bytes):
    with pytest.raises(WebhookError) as info:
        parse_webhook_payload(raw)
    assert info.value.status_code == 400


# signatures


def test_sign_matches_rfc4231_vector():
    assert sign("Jefe", b"what do ya want for nothing?") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_signature_accepts_raw_bytes_and_rejects_everything_else():
    raw = sample("whatsapp-inbound-text.json")
    header = sign(SECRET, raw)

    assert verify_signature(SECRET, raw, header)
    assert not verify_signature(SECRET, raw.replace(b"Body Text", b"Body Texx"), header)
    assert not verify_signature(SECRET, raw, None)
    assert not verify_signature(SECRET, raw, "")
    assert not verify_signature("another-secret", raw, header)
    assert not verify_signature("", raw, sign("", raw))
    assert not verify_signature(SECRET, raw, header.removeprefix("sha256="))
    assert not verify_signature(SECRET, raw, "sha1=" + header.removeprefix("sha256="))
    assert not verify_signature(SECRET, raw, header[:-2])
    assert not verify_signature(SECRET, raw, header[:-1] + "é")


def test_reserialising_non_ascii_breaks_the_hmac():
    payload = envelope(messages_change(
        [{"from": "34600", "id": "wamid.n", "timestamp": "1700000000", "type": "text",
          "text": {"body": "¿Dónde está mi pedido? 🙏"}}]))
    raw = json.dumps(payload, ensure_ascii=True).encode("ascii")  # as Meta sends it
    header = sign(SECRET, raw)
    reserialised = json.dumps(json.loads(raw), ensure_ascii=False).encode("utf-8")

    assert b"\\u00bfD\\u00f3nde" in raw
    assert json.loads(reserialised) == json.loads(raw)
    assert verify_signature(SECRET, raw, header)
    assert not verify_signature(SECRET, reserialised, header)
    assert parse_webhook_payload(raw).messages[0].text == "¿Dónde está mi pedido? 🙏"


def test_connector_parse_webhook_checks_signature_case_insensitively():
    raw = sample("whatsapp-inbound-text.json")

    async def scenario() -> None:
        async with WhatsAppConnector(app_secret=SECRET, access_token=TOKEN, phone_number_id="1") as connector:
            assert connector.verify_signature(raw, {"x-hub-signature-256": sign(SECRET, raw)})
            assert connector.verify_signature(raw, {"X-Hub-Signature-256": sign(SECRET, raw)})
            batch = connector.parse_webhook(raw, {"X-HUB-SIGNATURE-256": sign(SECRET, raw)})
            assert batch.messages[0].text == "Body Text"
            for headers in ({}, {"X-Hub-Signature-256": sign("wrong", raw)}):
                with pytest.raises(WebhookError) as info:
                    connector.parse_webhook(raw, headers)
                assert info.value.status_code == 403

    asyncio.run(scenario())


def test_verify_subscription():
    assert verify_subscription(mode="subscribe", token="T0k", challenge="1158201444", verify_token="T0k") == "1158201444"
    assert verify_subscription(mode="subscribe", token="nope", challenge="1", verify_token="T0k") is None
    assert verify_subscription(mode="unsubscribe", token="T0k", challenge="1", verify_token="T0k") is None
    assert verify_subscription(mode="subscribe", token="", challenge="1", verify_token="") is None
    assert verify_subscription(mode="subscribe", token=None, challenge="1", verify_token="T0k") is None
    assert verify_subscription(mode=None, token="T0k", challenge="1", verify_token="T0k") is None


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (131047, ErrorKind.WINDOW_CLOSED),
        *[(c, ErrorKind.RETRYABLE) for c in (130429, 131056, 4, 80007, 131000, 131016, 2)],
        (190, ErrorKind.AUTH_EXPIRED),
        (131026, ErrorKind.UNDELIVERABLE),
        *[(c, ErrorKind.BAD_REQUEST) for c in (131051, 100, 131008, 131009)],
        *[(c, ErrorKind.PERMISSION) for c in (10, 200, 250, 299)],
        *[(c, ErrorKind.UNKNOWN) for c in (199, 300, 130472, 1, None)],
    ],
)
def test_error_kind_for(code: int | None, kind: ErrorKind):
    assert error_kind_for(code) is kind
    if code is not None and code in ERROR_KINDS:
        assert ERROR_KINDS[code] is kind


# sends, against httpx's in-memory transport standing in for the network


class Recorder:
    """An httpx transport handler that answers with canned responses and records requests."""

    def __init__(self, *responses: httpx.Response | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.responses.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def run_send(recorder: Recorder, outbound: OutboundText, *, method: str = "send") -> Any:
    async def scenario() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as client:
            connector = WhatsAppConnector(
                app_secret=SECRET, access_token=TOKEN, phone_number_id="106540352242922",
                api_base="https://graph.example.test/", client=client,
            )
            try:
                if method == "mark_read":
                    return await connector.mark_read(outbound.reply_to_provider_id or "")
                return await connector.send(outbound)
            finally:
                await connector.aclose()
                assert not client.is_closed  # a client handed in belongs to the caller

    return asyncio.run(scenario())


def graph_error(code: int, message: str, details: str = "", status: int = 400, **headers: str) -> httpx.Response:
    body = {"error": {"message": message, "type": "OAuthException", "code": code,
                      "error_data": {"messaging_product": "whatsapp", "details": details},
                      "fbtrace_id": "AbCdEf"}}
    return httpx.Response(status, json=body, headers=headers)


def test_send_posts_graph_text_body_and_returns_ids():
    recorder = Recorder(httpx.Response(200, json={
        "messaging_product": "whatsapp",
        "contacts": [{"input": "+34600100201", "wa_id": "34600100201"}],
        "messages": [{"id": "wamid.sent1"}],
    }))

    result = run_send(recorder, OutboundText("+34600100201", "Hola Lucía 👋", reply_to_provider_id="wamid.in1"))

    assert result.provider_message_id == "wamid.sent1"
    assert result.recipient_handle == "34600100201"
    [request] = recorder.requests
    assert request.method == "POST"
    assert str(request.url) == "https://graph.example.test/v21.0/106540352242922/messages"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert json.loads(request.content) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+34600100201",
        "type": "text",
        "text": {"body": "Hola Lucía 👋", "preview_url": False},
        "context": {"message_id": "wamid.in1"},
    }


def test_send_without_reply_has_no_context_and_falls_back_to_input():
    recorder = Recorder(httpx.Response(200, json={"messaging_product": "whatsapp", "messages": [{"id": "wamid.x"}]}))
    result = run_send(recorder, OutboundText("15555550121", "Hi"))
    assert "context" not in json.loads(recorder.requests[0].content)
    assert result.recipient_handle == "15555550121"


def test_mark_read_posts_read_status():
    recorder = Recorder(httpx.Response(200, json={"success": True}))
    run_send(recorder, OutboundText("1", "x", reply_to_provider_id="wamid.in9"), method="mark_read")
    assert json.loads(recorder.requests[0].content) == {
        "messaging_product": "whatsapp", "status": "read", "message_id": "wamid.in9"}


def test_graph_error_keys_on_code_not_http_status():
    recorder = Recorder(graph_error(131047, "(#131047) Re-engagement message", "more than 24 hours", 400))
    with pytest.raises(ChannelError) as info:
        run_send(recorder, OutboundText("1555", "late"))
    error = info.value
    assert error.kind is ErrorKind.WINDOW_CLOSED
    assert error.code == 131047
    assert error.title == "Re-engagement message"
    assert error.details == "more than 24 hours"
    assert error.http_status == 400
    assert error.retry_after is None


def test_rate_limit_error_carries_retry_after():
    recorder = Recorder(graph_error(130429, "(#130429) Rate limit hit", status=400, **{"Retry-After": "7"}))
    with pytest.raises(ChannelError) as info:
        run_send(recorder, OutboundText("1555", "hi"))
    assert info.value.kind is ErrorKind.RETRYABLE
    assert info.value.retry_after == 7.0


@pytest.mark.parametrize(
    ("status", "kind"),
    [(503, ErrorKind.RETRYABLE), (500, ErrorKind.RETRYABLE), (429, ErrorKind.RETRYABLE),
     (404, ErrorKind.UNKNOWN), (400, ErrorKind.UNKNOWN)],
)
def test_non_json_error_bodies(status: int, kind: ErrorKind):
    recorder = Recorder(httpx.Response(status, text="<html>upstream error</html>"))
    with pytest.raises(ChannelError) as info:
        run_send(recorder, OutboundText("1555", "hi"))
    assert info.value.kind is kind
    assert info.value.http_status == status
    assert info.value.code is None


@pytest.mark.parametrize(
    ("exc", "title"),
    [(httpx.ReadTimeout("read timed out"), "timeout"), (httpx.ConnectError("refused"), "connection failed")],
)
def test_transport_failures_are_retryable(exc: Exception, title: str):
    with pytest.raises(ChannelError) as info:
        run_send(Recorder(exc), OutboundText("1555", "hi"))
    assert info.value.kind is ErrorKind.RETRYABLE
    assert info.value.title == title


def test_too_long_text_is_refused_without_calling_the_api():
    recorder = Recorder(httpx.Response(200, json={"messages": [{"id": "wamid.ok"}]}))
    with pytest.raises(ChannelError) as info:
        run_send(recorder, OutboundText("1555", "x" * 4097))
    assert info.value.kind is ErrorKind.BAD_REQUEST
    assert recorder.requests == []
    assert run_send(recorder, OutboundText("1555", "x" * 4096)).provider_message_id == "wamid.ok"


def test_token_never_leaks_into_errors_or_logs(caplog: pytest.LogCaptureFixture):
    # Some Graph errors quote what they were given; the connector must scrub it.
    recorder = Recorder(graph_error(190, f"Malformed access token {TOKEN}", f"token {TOKEN} expired", 401))
    with caplog.at_level(logging.DEBUG), pytest.raises(ChannelError) as info:
        run_send(recorder, OutboundText("1555", "hi"))
    error = info.value
    assert error.kind is ErrorKind.AUTH_EXPIRED
    assert error.code == 190
    for text in (str(error), repr(error), error.title, error.details, caplog.text):
        assert TOKEN not in text
    connector = WhatsAppConnector(app_secret=SECRET, access_token=TOKEN, phone_number_id="1",
                                  client=httpx.AsyncClient())
    assert TOKEN not in repr(connector)
    asyncio.run(connector._client.aclose())


def test_poll_is_a_no_op_and_aclose_closes_own_client():
    async def scenario() -> None:
        connector = WhatsAppConnector(app_secret=SECRET, access_token=TOKEN, phone_number_id="1")
        batch, cursor = await connector.poll("cursor-1")
        assert batch == WebhookBatch()
        assert cursor == "cursor-1"
        await connector.aclose()
        assert connector._client.is_closed

    asyncio.run(scenario())
