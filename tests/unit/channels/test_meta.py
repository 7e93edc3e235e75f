"""Tests for the Messenger and Instagram connector: webhook parsing (messages, standby, echoes, receipts, page
and Instagram comments), signatures, error mapping, character limits and the reply window."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.channels.base import ChannelError, ErrorKind, OutboundText, WebhookBatch, WebhookError
from services.channels.meta import (
    ERROR_KINDS,
    MetaConnector,
    Watermark,
    configured_accounts,
    error_kind_for,
    from_env,
    instagram_from_env,
    messenger_from_env,
    parse_webhook_payload,
)
from services.channels.whatsapp import sign

SECRET = "app-secret-for-tests"
TOKEN = "EAAGpageTOKEN0123456789secret"
PAGE = "370873143344730"
IG = "17841403506636395"
PSID = "6780462125377510"
IGSID = "1092310252982105"
T_MS = 1701427704837
T = datetime.fromtimestamp(T_MS / 1000, tz=UTC)


def page_messaging(*events: dict[str, Any], key: str = "messaging", account: str = PAGE,
                   obj: str = "page") -> dict[str, Any]:
    return {"object": obj, "entry": [{"id": account, "time": T_MS + 500, key: list(events)}]}


def from_customer(message: dict[str, Any], *, sender: str = PSID, recipient: str = PAGE) -> dict[str, Any]:
    return {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": T_MS, "message": message}


def parse(payload: dict[str, Any]):
    return parse_webhook_payload(json.dumps(payload).encode())


# -- Messenger messages -----------------------------------------------------------------------------------------

def test_messenger_text_message_in_metas_shape():
    payload = page_messaging(from_customer({"mid": "m_EYIjld_07gZyN02MY6vztOXzGkvslWQkbqad", "text": "测试私信 ¿hola?"}))
    parsed = parse(payload)
    assert parsed.watermarks == [] and parsed.batch.statuses == []
    [message] = parsed.batch.messages
    assert message.channel == "messenger" and message.account_id == PAGE and message.public is False
    assert message.provider_message_id == "m_EYIjld_07gZyN02MY6vztOXzGkvslWQkbqad"
    assert message.sender_handle == PSID and message.sender_name == ""
    assert (message.kind, message.text) == ("text", "测试私信 ¿hola?")
    assert message.sent_at == T and message.sent_at.tzinfo is not None
    assert message.reply_to_provider_id is None


@pytest.mark.parametrize(("attachments", "text", "kind", "shown"), [
    ([{"type": "image", "payload": {"url": "https://scontent.xx.fbcdn.net/a.jpg"}}], None, "image", "[image]"),
    ([{"type": "image", "payload": {"url": "https://x/s.png", "sticker_id": 369239263222822}}], None, "sticker",
     "[sticker]"),
    ([{"type": "video", "payload": {"url": "u"}}, {"type": "audio", "payload": {"url": "u"}}], None, "video",
     "[video] [audio]"),
    ([{"type": "file", "payload": {"url": "u"}}], "the invoice", "file", "the invoice [file]"),
    ([{"type": "fallback", "title": "Brava 2 coffee maker", "payload": {"url": "https://shop/x"}}], None, "fallback",
     "[link] Brava 2 coffee maker"),
    ([{"type": "location", "payload": {"coordinates": {"lat": 40.4, "long": -3.7}}}], None, "location",
     "[location] 40.4,-3.7"),
    ([{"type": "story_mention", "payload": {"url": "u"}}], None, "story_mention", "[story mention]"),
])
def test_attachments_are_described(attachments, text, kind, shown):
    message = {"mid": "m_att", "attachments": attachments}
    if text:
        message["text"] = text
    [parsed] = parse(page_messaging(from_customer(message))).batch.messages
    assert (parsed.kind, parsed.text) == (kind, shown)


def test_reply_to_threads_to_the_quoted_message():
    [message] = parse(page_messaging(from_customer({"mid": "m_2", "text": "this one",
                                                    "reply_to": {"mid": "m_1"}}))).batch.messages
    assert message.reply_to_provider_id == "m_1"


def test_standby_events_are_customer_messages_too():
    payload = page_messaging(from_customer({"mid": "m_standby", "text": "still there?"}), key="standby")
    [message] = parse(payload).batch.messages
    assert (message.provider_message_id, message.text, message.public) == ("m_standby", "still there?", False)


def test_echoes_of_the_pages_own_messages_are_skipped():
    echo = {"sender": {"id": PAGE}, "recipient": {"id": PSID}, "timestamp": T_MS,
            "message": {"mid": "m_echo", "is_echo": True, "app_id": 1543227719081234, "text": "Our answer"}}
    customer = from_customer({"mid": "m_real", "text": "thanks"})
    parsed = parse(page_messaging(echo, customer))
    assert [m.provider_message_id for m in parsed.batch.messages] == ["m_real"]


def test_postback_becomes_a_message_with_its_title():
    event = {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": T_MS,
             "postback": {"mid": "m_pb", "title": "Talk to a person", "payload": "HUMAN"}}
    [message] = parse(page_messaging(event)).batch.messages
    assert (message.kind, message.text, message.provider_message_id) == ("postback", "Talk to a person", "m_pb")


@pytest.mark.parametrize("event", [
    {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": T_MS,
     "reaction": {"mid": "m_1", "action": "react", "emoji": "❤", "reaction": "love"}},
    {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": T_MS, "message": {"mid": "m_del",
                                                                                       "is_deleted": True}},
    {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": T_MS, "referral": {"ref": "ad"}},
    {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": "yesterday", "message": {"mid": "m_t",
                                                                                              "text": "x"}},
    {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": T_MS, "message": {"text": "no mid"}},
    {"recipient": {"id": PAGE}, "timestamp": T_MS, "message": {"mid": "m_ns", "text": "no sender"}},
    {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": T_MS, "message": {"mid": "m_n", "text": 42}},
])
def test_other_and_malformed_events_store_nothing(event):
    assert parse(page_messaging(event)).batch == WebhookBatch()


def test_seconds_and_milliseconds_both_read_as_the_right_time():
    seconds = {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": 1701427704,
               "message": {"mid": "m_s", "text": "x"}}
    [message] = parse(page_messaging(seconds)).batch.messages
    assert message.sent_at == datetime(2023, 12, 1, 10, 48, 24, tzinfo=UTC)
    [message] = parse(page_messaging(from_customer({"mid": "m_ms", "text": "x"}))).batch.messages
    assert message.sent_at == datetime(2023, 12, 1, 10, 48, 24, 837000, tzinfo=UTC)


# -- receipts ---------------------------------------------------------------------------------------------------

def test_delivery_with_mids_is_one_status_per_mid():
    event = {"sender": {"id": PSID}, "recipient": {"id": PAGE},
             "delivery": {"mids": ["mid.1458668856218:ed81099e15d3f4f233", "m_2"], "watermark": 1458668856253}}
    parsed = parse(page_messaging(event))
    assert parsed.watermarks == []
    assert [(s.provider_message_id, s.status, s.recipient_handle, s.channel) for s in parsed.batch.statuses] == [
        ("mid.1458668856218:ed81099e15d3f4f233", "delivered", PSID, "messenger"),
        ("m_2", "delivered", PSID, "messenger")]
    assert parsed.batch.statuses[0].occurred_at == datetime.fromtimestamp(1458668856.253, tz=UTC)


def test_delivery_without_mids_and_read_are_watermarks_for_the_server():
    delivery = {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "delivery": {"watermark": 1458668856253}}
    read = {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": 1458668856463,
            "read": {"watermark": 1458668856253}}
    parsed = parse(page_messaging(delivery, read))
    assert parsed.batch == WebhookBatch()
    mark = datetime.fromtimestamp(1458668856.253, tz=UTC)
    assert parsed.watermarks == [Watermark("messenger", PAGE, PSID, "delivered", mark),
                                 Watermark("messenger", PAGE, PSID, "read", mark)]


def test_instagram_read_names_the_message_seen():
    read = {"sender": {"id": IGSID}, "recipient": {"id": IG}, "timestamp": 1762010759340,
            "read": {"mid": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAzNTA2NjM2Mzk1"}}
    parsed = parse(page_messaging(read, obj="instagram", account=IG))
    assert parsed.watermarks == []
    [status] = parsed.batch.statuses
    assert (status.channel, status.status, status.recipient_handle) == ("instagram", "read", IGSID)
    assert status.provider_message_id == "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAzNTA2NjM2Mzk1"


# -- comments ---------------------------------------------------------------------------------------------------

def feed(value: dict[str, Any]) -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": PAGE, "time": 1701413579,
                                         "changes": [{"field": "feed", "value": value}]}]}


def comment_value(**overrides: Any) -> dict[str, Any]:
    value = {
        "from": {"id": PSID, "name": "Changan Yang"},
        "post": {"status_type": "added_video", "is_published": True, "updated_time": "2023-12-01T06:52:51+0000",
                 "permalink_url": "https://www.facebook.com/joyjdth/posts/pfbid04M7S4", "promotion_status": "inactive",
                 "id": f"{PAGE}_690891113073877"},
        "message": "手动点赞 — where is my order?",
        "post_id": f"{PAGE}_690891113073877",
        "comment_id": "690891113073877_759878495960329",
        "created_time": 1701413571,
        "item": "comment",
        "parent_id": f"{PAGE}_690891113073877",
        "verb": "add",
    }
    value.update(overrides)
    return value


def test_page_comment_is_a_public_message_of_the_commenter():
    [message] = parse(feed(comment_value())).batch.messages
    assert message.public is True and message.channel == "messenger" and message.account_id == PAGE
    assert message.provider_message_id == "690891113073877_759878495960329"
    assert (message.sender_handle, message.sender_name) == (PSID, "Changan Yang")
    assert (message.kind, message.text) == ("comment", "手动点赞 — where is my order?")
    assert message.sent_at == datetime.fromtimestamp(1701413571, tz=UTC)
    assert message.reply_to_provider_id is None  # a top-level comment answers the post, not a comment


def test_reply_to_a_comment_and_photo_comment():
    value = comment_value(parent_id="690891113073877_111", message="", photo="https://scontent/x.jpg",
                          comment_id="690891113073877_222")
    [message] = parse(feed(value)).batch.messages
    assert message.reply_to_provider_id == "690891113073877_111"
    assert message.text == "[photo]"


@pytest.mark.parametrize("value", [
    comment_value(verb="edited", message="edited text"),
    comment_value(verb="remove"),
    comment_value(verb="hide"),
    comment_value(verb="unhide"),
    comment_value(**{"from": {"id": PAGE, "name": "Our Page"}}),  # the page's own comment (our reply)
    {"item": "status", "verb": "add", "post_id": f"{PAGE}_1", "from": {"id": PSID}, "created_time": 1701413571},
    {"item": "reaction", "verb": "add", "reaction_type": "like", "from": {"id": PSID}, "post_id": f"{PAGE}_1"},
    comment_value(created_time="not a time"),
    comment_value(comment_id=None),
])
def test_edits_removals_own_comments_and_other_feed_items_are_ignored(value):
    assert parse(feed(value)).batch == WebhookBatch()


def ig_comment(value: dict[str, Any], *, time: int = 1755779280) -> dict[str, Any]:
    return {"object": "instagram", "entry": [{"id": IG, "time": time,
                                              "changes": [{"field": "comments", "value": value}]}]}


def test_instagram_comment_is_a_public_message():
    value = {"from": {"id": IGSID, "username": "jiangwenwen1213"},
             "media": {"id": "18172143295349192", "media_product_type": "FEED"},
             "id": "17919697626119712", "text": "Does it come in blue? 💙"}
    [message] = parse(ig_comment(value)).batch.messages
    assert (message.channel, message.account_id, message.public) == ("instagram", IG, True)
    assert (message.provider_message_id, message.sender_handle) == ("17919697626119712", IGSID)
    assert (message.sender_name, message.text, message.kind) == ("@jiangwenwen1213", "Does it come in blue? 💙",
                                                                 "comment")
    assert message.sent_at == datetime.fromtimestamp(1755779280, tz=UTC)


def test_instagram_accounts_own_comment_is_skipped():
    value = {"from": {"id": IG, "username": "ourbrand"}, "media": {"id": "1"}, "id": "179", "text": "Thanks!"}
    assert parse(ig_comment(value)).batch == WebhookBatch()


def test_instagram_direct_message():
    payload = page_messaging(from_customer({"mid": "aWdfZAG1", "text": "hola"}, sender=IGSID, recipient=IG),
                             obj="instagram", account=IG)
    [message] = parse(payload).batch.messages
    assert (message.channel, message.sender_handle, message.public) == ("instagram", IGSID, False)


@pytest.mark.parametrize(("raw", "reason"), [
    (b'{"object": "page", "entry": [\xff]}', "UTF-8"),
    (b'{"object": "page", "entry": [', "JSON"),
    (b'{"object": "whatsapp_business_account", "entry": []}', "page or instagram"),
    (b"[1, 2]", "page or instagram"),
    (b"[" * 100 + b"]" * 100, "deeper"),
])
def test_bodies_that_are_not_meta_webhooks_are_refused(raw, reason):
    with pytest.raises(WebhookError) as info:
        parse_webhook_payload(raw)
    assert info.value.status_code == 400 and reason in info.value.reason


# -- signatures (WhatsApp's scheme) -----------------------------------------------------------------------------

def test_signature_is_checked_over_the_raw_bytes():
    payload = page_messaging(from_customer({"mid": "m_sig", "text": "¿Dónde está? 🙏"}))
    raw = json.dumps(payload, ensure_ascii=True).encode("ascii")
    reserialised = json.dumps(json.loads(raw), ensure_ascii=False).encode("utf-8")
    connector = MetaConnector(channel="messenger", app_secret=SECRET, access_token=TOKEN, account_id=PAGE,
                              client=httpx.AsyncClient())
    try:
        assert connector.verify_signature(raw, {"x-hub-signature-256": sign(SECRET, raw)})
        assert not connector.verify_signature(reserialised, {"X-Hub-Signature-256": sign(SECRET, raw)})
        batch = connector.parse_webhook(raw, {"X-Hub-Signature-256": sign(SECRET, raw)})
        assert batch.messages[0].text == "¿Dónde está? 🙏"
        for headers in ({}, {"X-Hub-Signature-256": sign("wrong", raw)}, {"X-Hub-Signature-256": "sha1=abc"}):
            with pytest.raises(WebhookError) as info:
                connector.parse_webhook(raw, headers)
            assert info.value.status_code == 403
    finally:
        asyncio.run(connector._client.aclose())


def test_connector_keeps_only_its_own_page():
    other = page_messaging(from_customer({"mid": "m_other", "text": "x"}, recipient="999"), account="999")
    raw = json.dumps(other).encode()
    connector = MetaConnector(channel="messenger", app_secret=SECRET, access_token=TOKEN, account_id=PAGE,
                              client=httpx.AsyncClient())
    try:
        assert connector.parse_webhook(raw, {"X-Hub-Signature-256": sign(SECRET, raw)}).messages == []
        assert parse_webhook_payload(raw).batch.messages[0].account_id == "999"
    finally:
        asyncio.run(connector._client.aclose())


# -- error mapping ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "subcode", "kind"), [
    (190, 463, ErrorKind.AUTH_EXPIRED),
    *[(c, None, ErrorKind.RETRYABLE) for c in (4, 17, 32, 613, 2, 1200, 1)],
    (10, 2018278, ErrorKind.WINDOW_CLOSED),
    (10, 2534022, ErrorKind.WINDOW_CLOSED),
    (10, None, ErrorKind.PERMISSION),
    *[(c, None, ErrorKind.PERMISSION) for c in (200, 250, 299, 368)],
    (551, 1545041, ErrorKind.UNDELIVERABLE),
    (200, 1545041, ErrorKind.UNDELIVERABLE),
    (10, 2018108, ErrorKind.UNDELIVERABLE),
    (230, None, ErrorKind.UNDELIVERABLE),
    (100, 2018001, ErrorKind.BAD_REQUEST),
    (10900, None, ErrorKind.BAD_REQUEST),
    *[(c, None, ErrorKind.UNKNOWN) for c in (199, 300, 131047, None)],
])
def test_error_kind_for(code, subcode, kind):
    assert error_kind_for(code, subcode) is kind
    if code in ERROR_KINDS and subcode is None:
        assert ERROR_KINDS[code] is kind


def test_transient_flag_makes_an_unknown_code_retryable():
    assert error_kind_for(80001, transient=True) is ErrorKind.RETRYABLE
    assert error_kind_for(80001) is ErrorKind.UNKNOWN
    assert error_kind_for(190, transient=True) is ErrorKind.AUTH_EXPIRED


# -- sends, against httpx's in-memory transport -----------------------------------------------------------------

class Recorder:
    def __init__(self, *responses: httpx.Response | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.responses.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


def run_send(recorder: Recorder, outbound: OutboundText, *, channel: str = "messenger") -> Any:
    async def scenario() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as client:
            connector = MetaConnector(channel=channel, app_secret=SECRET, access_token=TOKEN,
                                      account_id=PAGE if channel == "messenger" else IG,
                                      api_base="https://graph.example.test/", client=client)
            try:
                return await connector.send(outbound)
            finally:
                await connector.aclose()
                assert not client.is_closed  # a client handed in belongs to the caller

    return asyncio.run(scenario())


def graph_error(code: int, message: str, *, subcode: int | None = None, status: int = 400,
                **headers: str) -> httpx.Response:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AxIIVeNp"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return httpx.Response(status, json={"error": error}, headers=headers)


WINDOW = ("(#10) This message is sent outside of allowed window. Learn more about the new policy here: "
          "https://developers.facebook.com/docs/messenger-platform/policy-overview")


def test_private_reply_is_a_send_api_response():
    recorder = Recorder(httpx.Response(200, json={"recipient_id": PSID, "message_id": "m_sent1"}))
    result = run_send(recorder, OutboundText(PSID, "Hola 👋, ¿nº de pedido?"))
    assert (result.provider_message_id, result.recipient_handle) == ("m_sent1", PSID)
    [request] = recorder.requests
    assert str(request.url) == f"https://graph.example.test/v21.0/{PAGE}/messages"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}" and TOKEN not in str(request.url)
    assert recorder.bodies() == [{"recipient": {"id": PSID}, "messaging_type": "RESPONSE",
                                  "message": {"text": "Hola 👋, ¿nº de pedido?"}}]


def test_instagram_private_reply_goes_to_the_account():
    recorder = Recorder(httpx.Response(200, json={"recipient_id": IGSID, "message_id": "aWdf_sent"}))
    run_send(recorder, OutboundText(IGSID, "hi"), channel="instagram")
    assert str(recorder.requests[0].url) == f"https://graph.example.test/v21.0/{IG}/messages"


def test_after_24_hours_the_reply_goes_again_with_the_human_agent_tag():
    recorder = Recorder(graph_error(10, WINDOW, subcode=2018278),
                        httpx.Response(200, json={"recipient_id": PSID, "message_id": "m_late"}))
    result = run_send(recorder, OutboundText(PSID, "Sorry for the delay"))
    assert result.provider_message_id == "m_late"
    first, second = recorder.bodies()
    assert first["messaging_type"] == "RESPONSE" and "tag" not in first
    assert second == {"recipient": {"id": PSID}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT",
                      "message": {"text": "Sorry for the delay"}}


def test_after_7_days_the_reply_fails_as_window_closed_with_a_clear_title():
    recorder = Recorder(graph_error(10, WINDOW, subcode=2018278), graph_error(10, WINDOW, subcode=2018278))
    with pytest.raises(ChannelError) as info:
        run_send(recorder, OutboundText(PSID, "too late"))
    error = info.value
    assert error.kind is ErrorKind.WINDOW_CLOSED and error.code == 10
    assert "more than 7 days ago" in error.title and "Messenger" in error.title
    assert len(recorder.requests) == 2  # one tagged retry, no more


@pytest.mark.parametrize(("response", "kind"), [
    (graph_error(10, "(#10) Application does not have permission for this action"), ErrorKind.PERMISSION),
    (graph_error(551, "(#551) This person isn't available right now.", subcode=1545041), ErrorKind.UNDELIVERABLE),
    (graph_error(100, "(#100) No matching user found", subcode=2018001), ErrorKind.BAD_REQUEST),
    (graph_error(190, "Error validating access token: Session has expired", subcode=463, status=401),
     ErrorKind.AUTH_EXPIRED),
    (graph_error(613, "(#613) Calls to this api have exceeded the rate limit.", **{"Retry-After": "3"}),
     ErrorKind.RETRYABLE),
    (graph_error(2, "(#2) Service temporarily unavailable", status=503), ErrorKind.RETRYABLE),
])
def test_other_refusals_are_mapped_and_not_retried_with_a_tag(response, kind):
    recorder = Recorder(response)
    with pytest.raises(ChannelError) as info:
        run_send(recorder, OutboundText(PSID, "hi"))
    assert info.value.kind is kind
    assert len(recorder.requests) == 1
    assert not info.value.title.startswith("(#")


def test_rate_limit_carries_retry_after():
    recorder = Recorder(graph_error(4, "(#4) Application request limit reached", **{"Retry-After": "7"}))
    with pytest.raises(ChannelError) as info:
        run_send(recorder, OutboundText(PSID, "hi"))
    assert (info.value.kind, info.value.retry_after) == (ErrorKind.RETRYABLE, 7.0)


@pytest.mark.parametrize(("status", "kind"), [(503, ErrorKind.RETRYABLE), (500, ErrorKind.RETRYABLE),
                                              (429, ErrorKind.RETRYABLE), (400, ErrorKind.UNKNOWN)])
def test_non_graph_error_bodies(status, kind):
    with pytest.raises(ChannelError) as info:
        run_send(Recorder(httpx.Response(status, text="upstream connect error")), OutboundText(PSID, "hi"))
    assert (info.value.kind, info.value.code, info.value.http_status) == (kind, None, status)


@pytest.mark.parametrize("exc", [httpx.ReadTimeout("slow"), httpx.ConnectError("refused")])
def test_transport_failures_are_retryable(exc):
    with pytest.raises(ChannelError) as info:
        run_send(Recorder(exc), OutboundText(PSID, "hi"))
    assert info.value.kind is ErrorKind.RETRYABLE


@pytest.mark.parametrize(("channel", "limit"), [("messenger", 2000), ("instagram", 1000)])
def test_character_limits_are_refused_before_sending(channel, limit):
    recorder = Recorder(httpx.Response(200, json={"recipient_id": "1", "message_id": "m_ok"}))
    with pytest.raises(ChannelError) as info:
        run_send(recorder, OutboundText(PSID, "x" * (limit + 1)), channel=channel)
    assert info.value.kind is ErrorKind.BAD_REQUEST and str(limit) in info.value.details
    assert recorder.requests == []
    assert run_send(recorder, OutboundText(PSID, "x" * limit), channel=channel).provider_message_id == "m_ok"


def test_empty_text_is_refused():
    recorder = Recorder()
    with pytest.raises(ChannelError) as info:
        run_send(recorder, OutboundText(PSID, "  \n"))
    assert info.value.kind is ErrorKind.BAD_REQUEST and recorder.requests == []


def test_public_answer_replies_to_the_facebook_comment():
    recorder = Recorder(httpx.Response(200, json={"id": "690891113073877_900000000000001"}))
    result = run_send(recorder, OutboundText(PSID, "We're on it! Check your inbox 📩", public=True,
                                             reply_to_provider_id="690891113073877_759878495960329"))
    assert result.provider_message_id == "690891113073877_900000000000001"
    [request] = recorder.requests
    assert str(request.url) == "https://graph.example.test/v21.0/690891113073877_759878495960329/comments"
    assert recorder.bodies() == [{"message": "We're on it! Check your inbox 📩"}]


def test_public_answer_replies_to_the_instagram_comment():
    recorder = Recorder(httpx.Response(200, json={"id": "17858893269000001"}))
    result = run_send(recorder, OutboundText(IGSID, "Yes, in blue too 💙", public=True,
                                             reply_to_provider_id="17919697626119712"), channel="instagram")
    assert result.provider_message_id == "17858893269000001"
    assert str(recorder.requests[0].url) == "https://graph.example.test/v21.0/17919697626119712/replies"
    assert recorder.bodies() == [{"message": "Yes, in blue too 💙"}]


def test_public_answer_limits_and_missing_comment():
    recorder = Recorder(httpx.Response(200, json={"id": "c1"}))
    with pytest.raises(ChannelError) as info:
        run_send(recorder, OutboundText(IGSID, "x" * 2201, public=True, reply_to_provider_id="1"),
                 channel="instagram")
    assert info.value.kind is ErrorKind.BAD_REQUEST
    with pytest.raises(ChannelError) as info:
        run_send(recorder, OutboundText(PSID, "hello", public=True))
    assert info.value.title == "no comment to reply to"
    assert recorder.requests == []
    # A public answer is not held to the private message limit.
    assert run_send(recorder, OutboundText(PSID, "x" * 2500, public=True, reply_to_provider_id="1_2")) \
        .provider_message_id == "c1"


def test_private_reply_to_a_comment_sends_to_the_comment():
    recorder = Recorder(httpx.Response(200, json={"recipient_id": PSID, "message_id": "m_pr"}))
    result = run_send(recorder, OutboundText(PSID, "Te escribo por privado", reply_to_provider_id="69_75"))
    assert (result.provider_message_id, result.recipient_handle) == ("m_pr", PSID)
    assert recorder.bodies() == [{"recipient": {"comment_id": "69_75"}, "messaging_type": "RESPONSE",
                                  "message": {"text": "Te escribo por privado"}}]


def test_a_second_private_reply_is_refused_by_meta_and_not_retried():
    recorder = Recorder(graph_error(10900, "(#10900) Activity already replied to"))
    with pytest.raises(ChannelError) as info:
        run_send(recorder, OutboundText(PSID, "again", reply_to_provider_id="69_75"))
    assert (info.value.kind, info.value.code, info.value.title) == (ErrorKind.BAD_REQUEST, 10900,
                                                                     "Activity already replied to")
    assert len(recorder.requests) == 1


def test_token_never_leaks_into_errors_or_logs(caplog):
    recorder = Recorder(graph_error(190, f"Malformed access token {TOKEN}", status=401))
    with caplog.at_level(logging.DEBUG), pytest.raises(ChannelError) as info:
        run_send(recorder, OutboundText(PSID, "hi"))
    assert info.value.kind is ErrorKind.AUTH_EXPIRED
    for text in (str(info.value), repr(info.value), info.value.title, info.value.details, caplog.text):
        assert TOKEN not in text
    connector = MetaConnector(channel="messenger", app_secret=SECRET, access_token=TOKEN, account_id=PAGE,
                              client=httpx.AsyncClient())
    assert TOKEN not in repr(connector) and SECRET not in repr(connector)
    asyncio.run(connector._client.aclose())


def test_unreadable_success_is_not_retryable():
    with pytest.raises(ChannelError) as info:
        run_send(Recorder(httpx.Response(200, json={"recipient_id": PSID})), OutboundText(PSID, "hi"))
    assert info.value.kind is ErrorKind.UNKNOWN


# -- configuration ----------------------------------------------------------------------------------------------

def test_from_env_builds_what_is_configured():
    async def scenario() -> None:
        async with httpx.AsyncClient() as client:
            assert from_env({}, client) == []
            assert messenger_from_env({"WORKSTATION_MESSENGER_PAGE_ID": PAGE}, client) is None
            env = {"WORKSTATION_MESSENGER_PAGE_ID": PAGE, "WORKSTATION_MESSENGER_PAGE_TOKEN": TOKEN,
                   "WORKSTATION_META_APP_SECRET": SECRET}
            [messenger] = from_env(env, client)
            assert (messenger.channel, messenger.account_id) == ("messenger", PAGE)
            assert messenger.messages_url == f"https://graph.facebook.com/v21.0/{PAGE}/messages"
            env |= {"WORKSTATION_INSTAGRAM_ACCOUNT_ID": IG, "WORKSTATION_INSTAGRAM_TOKEN": "IGAAtoken"}
            instagram = instagram_from_env(env, client)
            assert instagram.comment_reply_url("1") == "https://graph.instagram.com/v21.0/1/replies"
            env |= {"WORKSTATION_META_GRAPH_BASE": "http://127.0.0.1:9/meta", "WORKSTATION_META_GRAPH_VERSION": "v23.0"}
            assert [c.messages_url for c in from_env(env, client)] == [
                f"http://127.0.0.1:9/meta/v23.0/{PAGE}/messages", f"http://127.0.0.1:9/meta/v23.0/{IG}/messages"]
            assert configured_accounts(env) == {"messenger": PAGE, "instagram": IG}
            with pytest.raises(ValueError):
                from_env(env | {"WORKSTATION_META_TIMEOUT": "soon"}, client)

    asyncio.run(scenario())


def test_poll_is_a_no_op():
    async def scenario() -> None:
        async with MetaConnector(channel="instagram", app_secret=SECRET, access_token=TOKEN, account_id=IG) as c:
            assert await c.poll("cursor") == (WebhookBatch(), "cursor")
        assert c._client.is_closed

    asyncio.run(scenario())


# -- hostile input: whatever arrives parses into storable records or is a clean 400 ----------------------------

from hypothesis import example, given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from services.channels.whatsapp import MAX_ID_CHARS  # noqa: E402
from tests.fuzzing import FUZZ, dumps, json_values, maybe, texts  # noqa: E402

ids = st.one_of(st.from_regex(r"[0-9]{5,17}", fullmatch=True), texts)
times = st.one_of(st.integers(min_value=-5, max_value=2**63), st.just(T_MS), texts)
events = st.fixed_dictionaries({"sender": maybe(st.fixed_dictionaries({"id": maybe(ids)})),
                                "recipient": maybe(st.fixed_dictionaries({"id": maybe(ids)})),
                                "timestamp": maybe(times)}, optional={
    "message": maybe(st.fixed_dictionaries({"mid": maybe(ids), "text": maybe(texts)}, optional={
        "is_echo": st.booleans(), "attachments": maybe(st.lists(maybe(st.fixed_dictionaries(
            {"type": maybe(st.sampled_from(["image", "fallback", "location", "x"])), "payload": json_values(4)})),
            max_size=2)), "reply_to": maybe(st.fixed_dictionaries({"mid": maybe(ids)}))})),
    "delivery": maybe(st.fixed_dictionaries({"watermark": maybe(times)}, optional={
        "mids": maybe(st.lists(maybe(ids), max_size=2))})),
    "read": maybe(st.fixed_dictionaries({}, optional={"watermark": maybe(times), "mid": maybe(ids)})),
    "postback": maybe(st.fixed_dictionaries({"title": maybe(texts)}, optional={"mid": maybe(ids)})),
})
changes = st.fixed_dictionaries({"field": maybe(st.sampled_from(["feed", "comments", "messages"])),
                                 "value": maybe(st.fixed_dictionaries({
                                     "item": maybe(st.just("comment")), "verb": maybe(st.just("add")),
                                     "comment_id": maybe(ids), "id": maybe(ids), "message": maybe(texts),
                                     "text": maybe(texts), "created_time": maybe(times), "parent_id": maybe(ids),
                                     "from": maybe(st.fixed_dictionaries({"id": maybe(ids), "name": maybe(texts),
                                                                          "username": maybe(texts)}))}))})
meta_webhooks = st.fixed_dictionaries({
    "object": maybe(st.sampled_from(["page", "instagram"])),
    "entry": maybe(st.lists(maybe(st.fixed_dictionaries({
        "id": maybe(ids), "time": maybe(times),
        "messaging": maybe(st.lists(maybe(events), max_size=2)),
        "standby": maybe(st.lists(maybe(events), max_size=1)),
        "changes": maybe(st.lists(maybe(changes), max_size=2))})), max_size=2)),
})


def _storable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def parse_or_refuse(raw: bytes) -> None:
    try:
        parsed = parse_webhook_payload(raw)
    except WebhookError as exc:
        assert exc.status_code == 400
        return
    for m in parsed.batch.messages:
        for value in (m.account_id, m.provider_message_id, m.sender_handle, m.sender_name, m.kind, m.text):
            assert isinstance(value, str) and _storable(value)
        assert 0 < len(m.provider_message_id) <= MAX_ID_CHARS and 0 < len(m.sender_handle) <= MAX_ID_CHARS
        assert m.reply_to_provider_id is None or _storable(m.reply_to_provider_id)
        assert m.sent_at.tzinfo is not None
    for s in parsed.batch.statuses:
        assert _storable(s.provider_message_id) and 0 < len(s.provider_message_id) <= MAX_ID_CHARS
        assert s.status in ("delivered", "read") and _storable(s.recipient_handle)
    for w in parsed.watermarks:
        assert w.status in ("delivered", "read") and _storable(w.customer_handle) and w.watermark.tzinfo


@FUZZ
@given(st.binary(max_size=1024))
@example(b'{"object":"page","entry":' + b"[" * 5000 + b"]" * 5000 + b"}")
def test_any_bytes_parse_or_refuse(raw):
    parse_or_refuse(raw)


@FUZZ
@given(json_values())
def test_any_json_parses_or_is_refused(value):
    parse_or_refuse(dumps(value))


@FUZZ
@given(meta_webhooks)
def test_webhook_shaped_json_parses_or_is_refused(payload):
    parse_or_refuse(dumps(payload))
