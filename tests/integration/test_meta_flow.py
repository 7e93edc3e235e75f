"""End to end on real processes (team server + sandbox): Messenger and Instagram messages and comments through
signed webhooks into /v1/sync, and replies back out in the Graph API's exact formats, with the reply windows."""

from __future__ import annotations

import json
import secrets
import time
import uuid

import httpx
import pytest

from services.channels.whatsapp import sign
from tests.integration.helpers import inbound as whatsapp_inbound
from tests.integration.helpers import sign_in, sync_all, wait_for
from tests.integration.test_whatsapp_flow import stored_counts, unique_wa_id
from workstation.demo import DEMO_INSTAGRAM_ID, DEMO_PAGE_ID

DAY = 24 * 3600


def new_id() -> str:
    """A fresh page-scoped (or Instagram-scoped) user id: 16 digits."""
    return str(secrets.randbelow(9 * 10**15) + 10**15)


def customer_writes(stack, sender: str, text: str, **body) -> str:
    r = httpx.post(f"{stack.sandbox_url}/_sandbox/meta/inbound", json={"sender": sender, "text": text, **body},
                   timeout=30)
    assert r.status_code == 200, r.text
    assert r.json().get("delivered", True) is True
    return r.json()["id"]


def conversation_of(state: dict, text: str) -> tuple[dict, dict]:
    message = next(m for m in state["messages"] if m["text"] == text)
    return message, next(c for c in state["conversations"] if c["id"] == message["conversation_id"])


def reply(stack, token: str, conversation_id: int, text: str, path: str = "messages") -> httpx.Response:
    return httpx.post(f"{stack.server_url}/v1/conversations/{conversation_id}/{path}", json={"text": text},
                      headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}, timeout=30)


def graph_calls(stack, text: str) -> list[dict]:
    """The Graph calls that carried `text`: a Send API message's, or a comment reply's."""
    def carried(call: dict) -> str | None:
        message = call["params"].get("message")
        return message.get("text") if isinstance(message, dict) else message

    return [s for s in httpx.get(f"{stack.sandbox_url}/_sandbox/meta/sent", timeout=30).json() if carried(s) == text]


def message_state(stack, token: str, message_id: int, *states: str) -> dict | None:
    message = next(m for m in sync_all(stack, token)["messages"] if m["id"] == message_id)
    return message if message["delivery_state"] in states else None


def test_a_dm_and_a_comment_are_a_private_and_a_public_conversation_of_one_customer(stack):
    token, _ = sign_in(stack)
    psid = new_id()
    dm_text, comment_text = f"¿Dónde está mi pedido? 📦 {psid}", f"Nadie me contesta 😡 {psid}"
    mid = customer_writes(stack, psid, dm_text)
    comment_id = customer_writes(stack, psid, comment_text, kind="comment", name="Lucía Peña")
    state = sync_all(stack, token)
    dm, private = conversation_of(state, dm_text)
    comment, public = conversation_of(state, comment_text)
    assert (dm["provider_id"], dm["direction"], comment["provider_id"]) == (mid, "in", comment_id)
    assert (private["channel"], private["public"], public["channel"], public["public"]) == \
        ("messenger", False, "messenger", True)
    assert private["id"] != public["id"] and private["customer_id"] == public["customer_id"]
    [identity] = [i for i in state["identities"] if i["handle"] == psid]
    assert (identity["channel"], identity["customer_id"]) == ("messenger", public["customer_id"])
    # The comment named them (Messenger's messaging webhooks carry no name).
    assert identity["display_name"] == "Lucía Peña"


def test_a_private_reply_goes_out_as_a_send_api_response_and_is_delivered_then_read(stack):
    token, _ = sign_in(stack)
    psid = new_id()
    customer_writes(stack, psid, "hola " + psid)
    _, conversation = conversation_of(sync_all(stack, token), "hola " + psid)
    text = f"¡Hola! Tu pedido sale hoy 🚚 <b>{psid}</b>"
    r = reply(stack, token, conversation["id"], text)
    assert r.status_code == 201, r.text
    [call] = wait_for(lambda: graph_calls(stack, text))
    assert call["path"] == f"/meta/v21.0/{DEMO_PAGE_ID}/messages" and call["token_ok"] is True
    assert call["json"] == {"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": {"text": text}}
    seen: list[str] = []

    def read():
        message = next(m for m in sync_all(stack, token)["messages"] if m["id"] == r.json()["id"])
        if not seen or seen[-1] != message["delivery_state"]:
            seen.append(message["delivery_state"])
        return message if message["delivery_state"] == "read" else None

    final = wait_for(read, timeout=15, what="the read receipt (a watermark)")
    assert final["provider_id"] == call["response"]["message_id"]
    assert "delivered" not in seen or seen.index("delivered") < seen.index("read")
    # The echo of our own message is not stored as a customer message.
    time.sleep(0.3)
    assert [m["direction"] for m in sync_all(stack, token)["messages"] if m["text"] == text] == ["out"]


def test_a_public_answer_replies_to_the_comment(stack):
    token, _ = sign_in(stack)
    psid = new_id()
    customer_writes(stack, psid, "primero " + psid, kind="comment", name="Pau")
    comment_id = customer_writes(stack, psid, "¿hay stock? " + psid, kind="comment", name="Pau")
    _, conversation = conversation_of(sync_all(stack, token), "¿hay stock? " + psid)
    text = "¡Sí! Te escribimos por privado 📩 " + psid
    r = reply(stack, token, conversation["id"], text)
    assert r.status_code == 201
    [call] = wait_for(lambda: graph_calls(stack, text))
    assert call["path"] == f"/meta/v21.0/{comment_id}/comments"  # the newest comment
    assert call["json"] == {"message": text} and call["token_ok"] is True
    accepted = wait_for(lambda: message_state(stack, token, r.json()["id"], "accepted"))
    assert accepted["provider_id"] == call["response"]["id"]
    # The page's own comment comes back as a feed webhook and is not stored as the customer's.
    time.sleep(0.5)
    assert [m["direction"] for m in sync_all(stack, token)["messages"] if m["text"] == text] == ["out"]


def test_instagram_comment_and_dm(stack):
    token, _ = sign_in(stack)
    igsid = new_id()
    comment_id = customer_writes(stack, igsid, "¿En azul? " + igsid, channel="instagram", kind="comment",
                                 name="zoe.lambert")
    customer_writes(stack, igsid, "te escribo por aquí " + igsid, channel="instagram")
    state = sync_all(stack, token)
    _, public = conversation_of(state, "¿En azul? " + igsid)
    _, private = conversation_of(state, "te escribo por aquí " + igsid)
    assert (public["channel"], public["public"], private["public"]) == ("instagram", True, False)
    assert public["customer_id"] == private["customer_id"]
    assert next(c for c in state["customers"] if c["id"] == public["customer_id"])["display_name"] == "@zoe.lambert"
    assert next(i for i in state["identities"] if i["handle"] == igsid)["display_name"] == "@zoe.lambert"
    text = "¡Sí, también en azul! 💙 " + igsid
    assert reply(stack, token, public["id"], text).status_code == 201
    [call] = wait_for(lambda: graph_calls(stack, text))
    assert (call["path"], call["json"]) == (f"/meta/v21.0/{comment_id}/replies", {"message": text})
    text = "Hola, ¿qué talla? " + igsid
    assert reply(stack, token, private["id"], text).status_code == 201
    [call] = wait_for(lambda: graph_calls(stack, text))
    assert call["path"] == f"/meta/v21.0/{DEMO_INSTAGRAM_ID}/messages"
    assert call["json"] == {"recipient": {"id": igsid}, "messaging_type": "RESPONSE", "message": {"text": text}}


def test_a_reply_after_24_hours_goes_with_the_human_agent_tag(stack):
    token, _ = sign_in(stack)
    psid = new_id()
    customer_writes(stack, psid, "ayer " + psid, timestamp=time.time() - 30 * 3600)
    _, conversation = conversation_of(sync_all(stack, token), "ayer " + psid)
    text = "Perdona la espera " + psid
    r = reply(stack, token, conversation["id"], text)
    wait_for(lambda: message_state(stack, token, r.json()["id"], "accepted", "delivered", "read"))
    calls = graph_calls(stack, text)
    assert [(c["json"]["messaging_type"], c["json"].get("tag"), c["status_code"]) for c in calls] == \
        [("RESPONSE", None, 400), ("MESSAGE_TAG", "HUMAN_AGENT", 200)]
    assert calls[0]["response"]["error"]["error_subcode"] == 2018278


def test_a_reply_after_7_days_fails_as_window_closed_with_a_clear_title(stack):
    token, _ = sign_in(stack)
    psid = new_id()
    customer_writes(stack, psid, "hace mucho " + psid, timestamp=time.time() - 8 * DAY)
    _, conversation = conversation_of(sync_all(stack, token), "hace mucho " + psid)
    r = reply(stack, token, conversation["id"], "¿Sigues ahí? " + psid)
    failed = wait_for(lambda: message_state(stack, token, r.json()["id"], "failed"))
    assert (failed["error_kind"], failed["error_code"]) == ("window_closed", 10)
    assert failed["error_title"] == ("the customer last wrote more than 7 days ago: Messenger allows no reply until "
                                     "they write again")


def signed_dm(psid: str, text: str, *, page: str = DEMO_PAGE_ID) -> bytes:
    payload = {"object": "page", "entry": [{"id": page, "time": int(time.time() * 1000), "messaging": [
        {"sender": {"id": psid}, "recipient": {"id": page}, "timestamp": int(time.time() * 1000),
         "message": {"mid": "m_" + uuid.uuid4().hex, "text": text}}]}]}
    return json.dumps(payload).encode()


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "sha1=abc", "wrong secret"])
def test_an_unsigned_or_forged_webhook_gets_403_and_stores_nothing(stack, signature):
    token, _ = sign_in(stack)
    before = stored_counts(stack, token)
    raw = signed_dm(new_id(), "forged")
    headers = {"Content-Type": "application/json"}
    if signature == "wrong secret":
        headers["X-Hub-Signature-256"] = sign("not-the-app-secret", raw)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    r = httpx.post(f"{stack.server_url}/webhooks/meta", content=raw, headers=headers)
    assert r.status_code == 403
    assert stored_counts(stack, token) == before


def test_signed_webhooks_for_another_page_or_not_meta_are_not_stored(stack):
    token, _ = sign_in(stack)
    before = stored_counts(stack, token)
    secret = stack.secrets["WORKSTATION_META_APP_SECRET"]
    raw = signed_dm(new_id(), "not ours", page="999999999")
    assert httpx.post(f"{stack.server_url}/webhooks/meta", content=raw,
                      headers={"X-Hub-Signature-256": sign(secret, raw)}).status_code == 200
    raw = b'{"object": "whatsapp_business_account", "entry": []}'
    r = httpx.post(f"{stack.server_url}/webhooks/meta", content=raw, headers={"X-Hub-Signature-256": sign(secret, raw)})
    assert r.status_code == 400 and "page or instagram" in r.json()["detail"]
    assert stored_counts(stack, token) == before


def test_subscription_verification(stack):
    verify = stack.secrets["WORKSTATION_META_VERIFY_TOKEN"]
    ok = httpx.get(f"{stack.server_url}/webhooks/meta",
                   params={"hub.mode": "subscribe", "hub.verify_token": verify, "hub.challenge": "1158201444"})
    assert (ok.status_code, ok.text) == (200, "1158201444")
    bad = httpx.get(f"{stack.server_url}/webhooks/meta",
                    params={"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"})
    assert bad.status_code == 403


# -- the private reply to a comment -----------------------------------------------------------------------------

def test_a_private_reply_is_stored_in_the_customers_private_conversation_once_per_comment(stack):
    token, _ = sign_in(stack)
    psid = new_id()
    customer_writes(stack, psid, "quiero devolverlo " + psid, kind="comment", name="Marta")
    _, public = conversation_of(sync_all(stack, token), "quiero devolverlo " + psid)
    r = reply(stack, token, public["id"], "Te escribimos por privado", path="private-reply")
    assert r.status_code == 201, r.text
    message = r.json()
    assert (message["kind"], message["direction"], message["delivery_state"]) == ("private_reply", "out", "pending")
    state = sync_all(stack, token)
    private = next(c for c in state["conversations"] if c["id"] == message["conversation_id"])
    assert (private["channel"], private["public"], private["customer_id"]) == ("messenger", False,
                                                                              public["customer_id"])
    again = reply(stack, token, public["id"], "¿Me lees?", path="private-reply")
    assert again.status_code == 409 and "one per comment" in again.json()["detail"]
    # The customer answers privately: their message joins that private conversation.
    customer_writes(stack, psid, "vale, gracias " + psid)
    answer, conversation = conversation_of(sync_all(stack, token), "vale, gracias " + psid)
    assert conversation["id"] == private["id"]


def test_a_private_reply_is_refused_for_old_comments_and_private_or_other_conversations(stack):
    token, _ = sign_in(stack)
    psid = new_id()
    customer_writes(stack, psid, "viejo " + psid, kind="comment", timestamp=time.time() - 8 * DAY)
    customer_writes(stack, psid, "privado " + psid)
    state = sync_all(stack, token)
    _, public = conversation_of(state, "viejo " + psid)
    _, private = conversation_of(state, "privado " + psid)
    old = reply(stack, token, public["id"], "hola", path="private-reply")
    assert old.status_code == 422 and "more than 7 days old" in old.json()["detail"]
    for conversation_id in (private["id"], _whatsapp_conversation(stack, token)):
        refused = reply(stack, token, conversation_id, "hola", path="private-reply")
        assert refused.status_code == 422 and "public comment" in refused.json()["detail"]
    too_long = reply(stack, token, public["id"], "x" * 2001, path="private-reply")
    assert too_long.status_code == 422 and "2000" in too_long.json()["detail"]
    assert not [m for m in sync_all(stack, token)["messages"] if m["kind"] == "private_reply"
                and m["conversation_id"] == private["id"]]


def _whatsapp_conversation(stack, token: str) -> int:
    wa_id = unique_wa_id()
    whatsapp_inbound(stack, wa_id=wa_id, name="Wa", text="hola " + wa_id)
    return conversation_of(sync_all(stack, token), "hola " + wa_id)[1]["id"]


def test_the_private_reply_reaches_meta_addressed_to_the_comment(stack):
    token, _ = sign_in(stack)
    psid = new_id()
    comment_id = customer_writes(stack, psid, "ayuda " + psid, kind="comment", name="Nico")
    _, public = conversation_of(sync_all(stack, token), "ayuda " + psid)
    text = "Hola Nico, te ayudamos por aquí " + psid
    r = reply(stack, token, public["id"], text, path="private-reply")
    assert r.status_code == 201
    accepted = wait_for(lambda: message_state(stack, token, r.json()["id"], "accepted", "delivered", "read",
                                              "failed"))
    [call] = graph_calls(stack, text)
    assert call["json"] == {"recipient": {"comment_id": comment_id}, "messaging_type": "RESPONSE",
                            "message": {"text": text}}
    assert accepted["delivery_state"] != "failed" and accepted["provider_id"] == call["response"]["message_id"]


def test_no_meta_token_reaches_the_logs(stack):
    """Runs last in this module: everything above has been logged by the server and the sandbox."""
    log = (stack.data_dir / "children.log").read_text(encoding="utf-8", errors="replace")
    assert "/webhooks/meta" in log  # the log is the one the children write
    for key in ("WORKSTATION_MESSENGER_PAGE_TOKEN", "WORKSTATION_INSTAGRAM_TOKEN", "WORKSTATION_META_APP_SECRET"):
        assert stack.secrets[key] not in log


def test_a_messenger_customer_gets_their_name_from_the_profile_api(stack):
    """Messenger webhooks carry only the customer's id: the server asks the User Profile API in the background
    and shows the name; a customer whose privacy hides it keeps showing their id."""
    token, _ = sign_in(stack)
    named, hidden = "6024875100000001", "6024875100000002"
    customer_writes(stack, named, "hola, soy yo " + named, profile_name="Marta  Gómez\u202e")
    customer_writes(stack, hidden, "hola " + hidden, profile_hidden=True)

    def identity(handle: str) -> dict | None:
        return next((i for i in sync_all(stack, token)["identities"]
                     if i["channel"] == "messenger" and i["handle"] == handle), None)

    wait_for(lambda: (i := identity(named)) and i["display_name"], timeout=15, what="the profile's name")
    state = sync_all(stack, token)
    found = identity(named)
    assert found["display_name"] == "Marta Gómez"  # cleaned: one space, no bidi override
    customer = next(c for c in state["customers"] if c["id"] == found["customer_id"])
    assert customer["display_name"] == "Marta Gómez"
    wait_for(lambda: identity(hidden) is not None, timeout=15, what="the hidden customer's message")
    time.sleep(1.0)
    hidden_identity = identity(hidden)
    assert hidden_identity["display_name"] == ""
    assert next(c for c in sync_all(stack, token)["customers"]
                if c["id"] == hidden_identity["customer_id"])["display_name"] == hidden
