"""Tests for the Messenger/Instagram emulator, over real HTTP: the Send API and its windows, comment and private
replies, tokens, Graph's error shapes, signed webhooks in Meta's shapes, faults, and the real connector."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Callable

import httpx
import pytest

from services.channels.base import ChannelError, ErrorKind, OutboundText
from services.channels.meta import MetaConnector, parse_webhook_payload
from services.channels.whatsapp import verify_signature
from services.sandbox.meta_api import MetaSandboxConfig, create_app
from services.sandbox.traffic import PERSONAS, TrafficGenerator
from tests.unit.sandbox.conftest import WebhookReceiver

SECRET = "meta-sandbox-secret"
PAGE, PAGE_TOKEN = "370873143344730", "EAAGpageTOKEN-4f1c9e0123"
IG, IG_TOKEN = "17841403506636395", "IGAAigTOKEN-77aa01abcd"
PSID, IGSID = "6780462125377510", "1092310252982105"
HOUR, DAY = 3600, 24 * 3600


class MetaReceiver(WebhookReceiver):
    path = "/webhooks/meta"

    def webhook(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next acknowledged delivery, its signature checked, as JSON."""
        delivery = self.next(timeout)
        assert verify_signature(SECRET, delivery.body, delivery.headers["x-hub-signature-256"])
        assert delivery.body.isascii()  # Meta escapes non-ASCII; the signature covers those bytes
        return json.loads(delivery.body)


@pytest.fixture
def meta_receiver() -> MetaReceiver:
    return MetaReceiver()


@pytest.fixture
def sandbox(serve, meta_receiver) -> Callable[..., str]:
    def start(**overrides: Any) -> str:
        options: dict[str, Any] = {"receipt_delays": (0.01, 0.03, 0.06), "instagram_id": IG,
                                   "instagram_token": IG_TOKEN, **overrides}
        if "webhook_url" not in options:
            options["webhook_url"] = serve(meta_receiver.app) + meta_receiver.path
        return serve(create_app(MetaSandboxConfig(app_secret=SECRET, page_id=PAGE, page_token=PAGE_TOKEN,
                                                  **options)))

    return start


def inbound(base: str, **body: Any) -> str:
    r = httpx.post(f"{base}/_sandbox/meta/inbound", json={"sender": PSID, **body})
    assert r.status_code == 200, r.text
    return r.json()["id"]


def graph(base: str, node: str, edge: str, body: Any, *, token: str | None = PAGE_TOKEN,
          version: str = "v21.0") -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{base}/meta/{version}/{node}/{edge}", json=body, headers=headers)


def dm(recipient: str = PSID, text: str = "Hola 👋", **extra: Any) -> dict[str, Any]:
    return {"recipient": {"id": recipient}, "messaging_type": "RESPONSE", "message": {"text": text}, **extra}


def assert_graph_error(r: httpx.Response, code: int, subcode: int | None = None, status: int = 400) -> dict:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and error["message"].startswith(f"(#{code}) ")
    assert error["type"] == "OAuthException" and error["fbtrace_id"]
    assert error.get("error_subcode") == subcode
    return error


# -- customers write: webhooks in Meta's shapes -----------------------------------------------------------------

def test_a_customer_message_arrives_as_a_signed_messaging_webhook(sandbox, meta_receiver):
    base = sandbox()
    before = int(time.time() * 1000)
    mid = inbound(base, text="¿Dónde está mi pedido? 📦")
    payload = meta_receiver.webhook()
    assert payload["object"] == "page"
    [entry] = payload["entry"]
    assert entry["id"] == PAGE and entry["time"] >= before
    [event] = entry["messaging"]
    assert event["sender"] == {"id": PSID} and event["recipient"] == {"id": PAGE}
    assert event["message"] == {"mid": mid, "text": "¿Dónde está mi pedido? 📦"}
    assert before <= event["timestamp"] <= int(time.time() * 1000)
    [message] = parse_webhook_payload(meta_receiver.attempts[-1].body).batch.messages
    assert (message.provider_message_id, message.sender_handle, message.public) == (mid, PSID, False)


def test_instagram_message_and_attachment(sandbox, meta_receiver):
    base = sandbox()
    inbound(base, channel="instagram", sender=IGSID, attachment="image")
    payload = meta_receiver.webhook()
    assert payload["object"] == "instagram" and payload["entry"][0]["id"] == IG
    message = payload["entry"][0]["messaging"][0]["message"]
    assert message["attachments"][0]["type"] == "image" and "text" not in message
    [parsed] = parse_webhook_payload(meta_receiver.attempts[-1].body).batch.messages
    assert (parsed.channel, parsed.text) == ("instagram", "[image]")


def test_a_page_comment_arrives_as_a_feed_change(sandbox, meta_receiver):
    base = sandbox()
    comment_id = inbound(base, kind="comment", name="Lu Peña", text="Mi pedido no llega 😡", timestamp=1701413571)
    payload = meta_receiver.webhook()
    [entry] = payload["entry"]
    assert entry["id"] == PAGE and entry["time"] == 1701413571  # feed entries carry seconds
    [change] = entry["changes"]
    assert change["field"] == "feed"
    value = change["value"]
    assert (value["item"], value["verb"], value["comment_id"], value["message"]) == \
        ("comment", "add", comment_id, "Mi pedido no llega 😡")
    assert value["from"] == {"id": PSID, "name": "Lu Peña"} and value["created_time"] == 1701413571
    assert value["parent_id"] == value["post_id"] == value["post"]["id"] and value["post_id"].startswith(PAGE + "_")
    [message] = parse_webhook_payload(meta_receiver.attempts[-1].body).batch.messages
    assert (message.public, message.provider_message_id, message.sender_name) == (True, comment_id, "Lu Peña")


def test_an_instagram_comment_arrives_as_a_comments_change(sandbox, meta_receiver):
    base = sandbox()
    comment_id = inbound(base, channel="instagram", kind="comment", sender=IGSID, name="zoe.l", text="¿En azul?")
    [entry] = meta_receiver.webhook()["entry"]
    assert entry["id"] == IG
    [change] = entry["changes"]
    assert change["field"] == "comments"
    assert change["value"] == {"from": {"id": IGSID, "username": "zoe.l"},
                               "media": {"id": "17895695668004550", "media_product_type": "FEED"},
                               "id": comment_id, "text": "¿En azul?"}


def test_unacknowledged_webhooks_are_retried(serve, sandbox):
    receiver = MetaReceiver(fail_first=2)
    base = sandbox(webhook_url=serve(receiver.app) + receiver.path, webhook_backoff=0.01)
    inbound(base, text="retry me")
    assert len(receiver.attempts) == 3
    assert receiver.attempts[0].body == receiver.attempts[2].body
    assert httpx.get(f"{base}/_sandbox/meta/state").json()["webhooks"]["failed_attempts"] == 2


# -- the Send API -----------------------------------------------------------------------------------------------

def test_send_within_24_hours_then_echo_delivery_and_read(sandbox, meta_receiver):
    base = sandbox()
    inbound(base, text="hola")
    meta_receiver.webhook()
    r = graph(base, PAGE, "messages", dm(text="¡Hola, Lu! 🙂"))
    assert r.status_code == 200
    answer = r.json()
    assert set(answer) == {"recipient_id", "message_id"} and answer["recipient_id"] == PSID
    mid = answer["message_id"]
    echo, delivery, read = (meta_receiver.webhook()["entry"][0]["messaging"][0] for _ in range(3))
    assert echo["sender"] == {"id": PAGE} and echo["recipient"] == {"id": PSID}
    assert echo["message"]["is_echo"] is True and echo["message"]["mid"] == mid
    assert echo["message"]["text"] == "¡Hola, Lu! 🙂"
    assert delivery["sender"] == {"id": PSID} and delivery["delivery"]["mids"] == [mid]
    assert read["read"]["watermark"] >= delivery["delivery"]["watermark"] and "mids" not in read["read"]


def test_delivery_without_mids_as_older_clients_send_it(sandbox, meta_receiver):
    base = sandbox(echoes=False, delivery_mids=False)
    inbound(base, text="hola")
    meta_receiver.webhook()
    assert graph(base, PAGE, "messages", dm()).status_code == 200
    delivery = meta_receiver.webhook()["entry"][0]["messaging"][0]
    assert list(delivery["delivery"]) == ["watermark"]


def test_instagram_sends_no_delivery_and_reads_by_mid(sandbox, meta_receiver):
    base = sandbox(echoes=False)
    inbound(base, channel="instagram", sender=IGSID, text="hi")
    meta_receiver.webhook()
    r = graph(base, IG, "messages", dm(IGSID), token=IG_TOKEN)
    assert r.status_code == 200
    read = meta_receiver.webhook()["entry"][0]["messaging"][0]
    assert read["read"] == {"mid": r.json()["message_id"]}


def test_the_window_rules(sandbox):
    base = sandbox(webhook_url=None)
    inbound(base, sender="1000000000001", text="yesterday", timestamp=time.time() - 25 * HOUR)
    inbound(base, sender="1000000000002", text="last week", timestamp=time.time() - 8 * DAY)
    late, gone = "1000000000001", "1000000000002"
    error = assert_graph_error(graph(base, PAGE, "messages", dm(late)), 10, 2018278)
    assert "sent outside of allowed window" in error["message"]
    assert_graph_error(graph(base, PAGE, "messages", dm(late, messaging_type="UPDATE")), 10, 2018278)
    tagged = dm(late, messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
    assert graph(base, PAGE, "messages", tagged).status_code == 200
    assert_graph_error(graph(base, PAGE, "messages", {**tagged, "recipient": {"id": gone}}), 10, 2018278)


@pytest.mark.parametrize(("body", "subcode", "fragment"), [
    (dm("9999999999"), 2018001, "No matching user found"),
    ({"recipient": {"id": PSID}, "message": {"text": "hi"}}, None, "messaging_type is required"),
    (dm(messaging_type="PROMO"), None, "messaging_type must be one of"),
    (dm(messaging_type="MESSAGE_TAG", tag="ACCOUNT_UPDATE"), None, "HUMAN_AGENT"),
    (dm(messaging_type="MESSAGE_TAG"), None, "HUMAN_AGENT"),
    (dm(text="x" * 2001), None, "less than or equal to 2000"),
    (dm(text="   "), None, "non-empty"),
    ({"messaging_type": "RESPONSE", "message": {"text": "hi"}}, None, "recipient"),
])
def test_bad_send_requests_get_graphs_100(sandbox, body, subcode, fragment):
    base = sandbox(webhook_url=None)
    inbound(base, text="hola")
    error = assert_graph_error(graph(base, PAGE, "messages", body), 100, subcode)
    assert fragment in error["message"]
    assert graph(base, PAGE, "messages", dm(text="x" * 2000)).status_code == 200


def test_instagram_allows_1000_characters(sandbox):
    base = sandbox(webhook_url=None)
    inbound(base, channel="instagram", sender=IGSID, text="hi")
    assert_graph_error(graph(base, IG, "messages", dm(IGSID, "x" * 1001), token=IG_TOKEN), 100)
    assert graph(base, IG, "messages", dm(IGSID, "x" * 1000), token=IG_TOKEN).status_code == 200


def test_tokens(sandbox):
    base = sandbox(webhook_url=None)
    inbound(base, text="hola")
    for token in (None, "EAAGwrong", IG_TOKEN):
        assert_graph_error(graph(base, PAGE, "messages", dm(), token=token), 190, status=401)
    by_param = httpx.post(f"{base}/meta/v21.0/{PAGE}/messages", params={"access_token": PAGE_TOKEN}, json=dm())
    assert by_param.status_code == 200
    form = httpx.post(f"{base}/meta/v21.0/{PAGE}/messages",
                      data={"recipient": json.dumps({"id": PSID}), "messaging_type": "RESPONSE",
                            "message": json.dumps({"text": "form"}), "access_token": PAGE_TOKEN})
    assert form.status_code == 200 and form.json()["recipient_id"] == PSID
    assert_graph_error(graph(base, "123456", "messages", dm()), 100, 33)
    sent = httpx.get(f"{base}/_sandbox/meta/sent").json()
    assert len(sent) == 6 and [s["token_ok"] for s in sent] == [False, False, True, True, True, True]
    assert PAGE_TOKEN not in json.dumps(sent) and IG_TOKEN not in json.dumps(sent)


def test_sender_actions(sandbox):
    base = sandbox(webhook_url=None)
    inbound(base, text="hola")
    r = graph(base, PAGE, "messages", {"recipient": {"id": PSID}, "sender_action": "typing_on"})
    assert r.status_code == 200 and r.json() == {"recipient_id": PSID}
    assert_graph_error(graph(base, PAGE, "messages", {"recipient": {"id": PSID}, "sender_action": "dance"}), 100)


def test_a_customer_who_blocked_the_page_is_unavailable(sandbox):
    base = sandbox(webhook_url=None)
    inbound(base, text="hola")
    assert httpx.post(f"{base}/_sandbox/meta/block", json={"sender": PSID}).status_code == 200
    error = assert_graph_error(graph(base, PAGE, "messages", dm()), 551, 1545041)
    assert error["message"] == "(#551) This person isn't available right now."


# -- comments: public and private replies -----------------------------------------------------------------------

def test_reply_to_a_facebook_comment_and_the_pages_own_comment_webhook(sandbox, meta_receiver):
    base = sandbox()
    comment_id = inbound(base, kind="comment", name="Lu", text="¿Hay stock?")
    meta_receiver.webhook()
    r = graph(base, comment_id, "comments", {"message": "¡Sí! Te escribimos por privado."})
    assert r.status_code == 200 and list(r.json()) == ["id"]
    reply_id = r.json()["id"]
    assert reply_id.split("_")[0] == comment_id.split("_")[0] and reply_id != comment_id
    value = meta_receiver.webhook()["entry"][0]["changes"][0]["value"]
    assert (value["from"]["id"], value["comment_id"], value["parent_id"]) == (PAGE, reply_id, comment_id)
    # The team server skips the page's own comment.
    assert parse_webhook_payload(meta_receiver.attempts[-1].body).batch.messages == []


def test_reply_to_an_instagram_comment(sandbox):
    base = sandbox(webhook_url=None)
    comment_id = inbound(base, channel="instagram", kind="comment", sender=IGSID, text="¿En azul?")
    r = graph(base, comment_id, "replies", {"message": "¡Sí! 💙"}, token=IG_TOKEN)
    assert r.status_code == 200 and r.json()["id"].isdigit()
    # An Instagram comment has no /comments edge here, and a Facebook comment no /replies.
    assert_graph_error(graph(base, comment_id, "comments", {"message": "x"}, token=IG_TOKEN), 100, 33)
    fb = inbound(base, kind="comment", text="hola")
    assert_graph_error(graph(base, fb, "replies", {"message": "x"}, token=IG_TOKEN), 100, 33)
    assert_graph_error(graph(base, comment_id, "replies", {"message": "x"}, token=PAGE_TOKEN), 190, status=401)
    assert_graph_error(graph(base, comment_id, "replies", {"message": "x" * 2201}, token=IG_TOKEN), 100)
    assert_graph_error(graph(base, "1784100000", "replies", {"message": "x"}, token=IG_TOKEN), 100, 33)
    assert_graph_error(graph(base, comment_id, "likes", {}, token=IG_TOKEN), 100, 2500)


def test_private_reply_once_per_comment_within_7_days(sandbox, meta_receiver):
    base = sandbox(echoes=False)
    fresh = inbound(base, kind="comment", text="quiero devolverlo")
    old = inbound(base, kind="comment", text="hace mucho", timestamp=time.time() - 8 * DAY)
    meta_receiver.webhook(), meta_receiver.webhook()
    body = {"recipient": {"comment_id": fresh}, "message": {"text": "Te escribo por aquí"}}
    r = graph(base, PAGE, "messages", body)
    assert r.status_code == 200 and r.json()["recipient_id"] == PSID and r.json()["message_id"]
    assert meta_receiver.webhook()["entry"][0]["messaging"][0]["delivery"]["mids"] == [r.json()["message_id"]]
    error = assert_graph_error(graph(base, PAGE, "messages", body), 10900)
    assert error["message"] == "(#10900) Activity already replied to"
    assert_graph_error(graph(base, PAGE, "messages", {**body, "recipient": {"comment_id": old}}), 10, 2018278)
    assert_graph_error(graph(base, PAGE, "messages", {**body, "recipient": {"comment_id": "1_2"}}), 100, 2018001)
    # A private reply opens no window: the commenter has to answer it first.
    assert_graph_error(graph(base, PAGE, "messages", dm()), 100, 2018001)
    state = httpx.get(f"{base}/_sandbox/meta/state").json()
    assert state["comments"][fresh]["private_replied"] is True and state["comments"][old]["private_replied"] is False


# -- faults -----------------------------------------------------------------------------------------------------

def test_faults_fail_the_next_calls_then_clear(sandbox):
    base = sandbox(webhook_url=None)
    inbound(base, text="hola")
    assert httpx.post(f"{base}/_sandbox/meta/faults", json={"code": 613, "count": 2}).json() == {"pending": 2}
    for _ in range(2):
        error = assert_graph_error(graph(base, PAGE, "messages", dm()), 613)
        assert error["is_transient"] is True
    assert graph(base, PAGE, "messages", dm()).status_code == 200
    httpx.post(f"{base}/_sandbox/meta/faults", json={"raw": True, "http_status": 503})
    raw = graph(base, PAGE, "messages", dm())
    assert raw.status_code == 503 and raw.headers["content-type"].startswith("text/plain")
    httpx.post(f"{base}/_sandbox/meta/faults", json={"code": 190, "subcode": 463, "edge": "comments"})
    comment = inbound(base, kind="comment", text="x")
    assert graph(base, PAGE, "messages", dm()).status_code == 200  # the fault waits for its edge
    assert_graph_error(graph(base, comment, "comments", {"message": "x"}), 190, 463, status=401)
    assert httpx.delete(f"{base}/_sandbox/meta/faults").json() == {"pending": 0}
    faults = [s["fault"] for s in httpx.get(f"{base}/_sandbox/meta/sent").json()]
    assert faults == ["613", "613", None, "raw 503", None, "190/463"]


def test_inbound_validation(sandbox):
    base = sandbox(webhook_url=None, instagram_id="", instagram_token="")
    for body in ({"sender": "not-digits", "text": "x"}, {"sender": PSID}, {"sender": PSID, "kind": "comment",
                                                                             "attachment": "audio", "text": "x"}):
        assert httpx.post(f"{base}/_sandbox/meta/inbound", json=body).status_code == 422
    r = httpx.post(f"{base}/_sandbox/meta/inbound", json={"sender": IGSID, "channel": "instagram", "text": "x"})
    assert r.status_code == 404 and "instagram" in r.json()["detail"]


# -- the real connector against the emulator --------------------------------------------------------------------

def connector_send(base: str, outbound: OutboundText, *, channel: str = "messenger") -> Any:
    async def scenario() -> Any:
        async with MetaConnector(channel=channel, app_secret=SECRET,
                                 access_token=PAGE_TOKEN if channel == "messenger" else IG_TOKEN,
                                 account_id=PAGE if channel == "messenger" else IG, api_base=base + "/meta",
                                 timeout=5.0) as connector:
            return await connector.send(outbound)

    return asyncio.run(scenario())


def test_connector_falls_back_to_human_agent_then_reports_a_closed_window(sandbox):
    base = sandbox(webhook_url=None)
    inbound(base, sender="1000000000003", text="ayer", timestamp=time.time() - 30 * HOUR)
    inbound(base, sender="1000000000004", text="hace 8 días", timestamp=time.time() - 8 * DAY)
    result = connector_send(base, OutboundText("1000000000003", "Perdona la espera"))
    assert result.recipient_handle == "1000000000003" and result.provider_message_id.startswith("m_")
    with pytest.raises(ChannelError) as info:
        connector_send(base, OutboundText("1000000000004", "¿Sigues ahí?"))
    assert info.value.kind is ErrorKind.WINDOW_CLOSED and "7 days" in info.value.title
    types = [(s["params"]["recipient"]["id"], s["params"]["messaging_type"], s["status_code"])
             for s in httpx.get(f"{base}/_sandbox/meta/sent").json()]
    assert types == [("1000000000003", "RESPONSE", 400), ("1000000000003", "MESSAGE_TAG", 200),
                     ("1000000000004", "RESPONSE", 400), ("1000000000004", "MESSAGE_TAG", 400)]


def test_connector_public_and_private_replies(sandbox):
    base = sandbox(webhook_url=None)
    ig_comment = inbound(base, channel="instagram", kind="comment", sender=IGSID, text="precio?")
    result = connector_send(base, OutboundText(IGSID, "¡Te escribimos!", public=True,
                                               reply_to_provider_id=ig_comment), channel="instagram")
    assert result.provider_message_id.isdigit()
    result = connector_send(base, OutboundText(IGSID, "Hola, el precio es…", reply_to_provider_id=ig_comment),
                            channel="instagram")
    assert result.recipient_handle == IGSID
    with pytest.raises(ChannelError) as info:
        connector_send(base, OutboundText(IGSID, "otra vez", reply_to_provider_id=ig_comment), channel="instagram")
    assert (info.value.kind, info.value.code) == (ErrorKind.BAD_REQUEST, 10900)


# -- traffic ----------------------------------------------------------------------------------------------------

def test_meta_personas_write_on_their_channel_and_some_comment():
    calls: list[tuple[str, bool, str, str, str]] = []

    async def whatsapp(*args: str) -> None:
        raise AssertionError("a Meta persona wrote on WhatsApp")

    async def meta(channel: str, public: bool, handle: str, name: str, text: str) -> None:
        calls.append((channel, public, handle, name, text))

    personas = tuple(p for p in PERSONAS if p.messenger_psid or p.instagram_igsid)
    assert {("messenger" if p.messenger_psid else "instagram", p.comments) for p in personas} == \
        {("messenger", False), ("messenger", True), ("instagram", False), ("instagram", True)}
    generator = TrafficGenerator(whatsapp, seed=3, personas=personas, burst_gap=(0, 0), send_meta=meta)

    async def turns() -> None:
        for persona in personas:
            await generator.send_turn(persona)

    asyncio.run(turns())
    seen = {(channel, public, handle) for channel, public, handle, _, _ in calls}
    expected = {("messenger" if p.messenger_psid else "instagram", p.comments, p.messenger_psid or p.instagram_igsid)
                for p in personas}
    assert seen == expected
    # Without the Meta emulator the same personas write on WhatsApp, as before.
    plain: list[str] = []

    async def record(wa_id: str, name: str, text: str) -> None:
        plain.append(wa_id)

    asyncio.run(TrafficGenerator(record, seed=3, personas=personas, burst_gap=(0, 0)).send_turn(personas[0]))
    assert plain and set(plain) == {personas[0].wa_id}
