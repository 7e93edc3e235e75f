"""End to end on real processes: sandbox → signed webhook → team server → /v1/sync, and replies back out."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from tests.integration.helpers import inbound, post_signed, sign_in, sync_all, text_webhook, wait_for
from tests.support import database_dump
from workstation.demo import DEMO_PHONE_NUMBER_ID


def unique_wa_id() -> str:
    return "3460" + str(uuid.uuid4().int)[:7]


def find_message(state: dict, text: str) -> dict | None:
    return next((m for m in state["messages"] if m["text"] == text), None)


def stored_counts(stack, token) -> dict[str, int]:
    """How many of each entity the server holds. (Not the change-log sequence: late status webhooks
    for earlier replies legitimately move it while a test runs.)"""
    state = sync_all(stack, token)
    return {k: len(v) for k, v in state.items() if isinstance(v, list)}


def latest_seq(stack, token) -> int:
    return sync_all(stack, token)["next_after"]


def test_signed_inbound_webhook_is_visible_through_sync(stack):
    token, _ = sign_in(stack)
    wa_id, text = unique_wa_id(), "¿Dónde está mi pedido? 📦 Ñandú"
    wamid = inbound(stack, wa_id=wa_id, name="María Peña", text=text)
    state = sync_all(stack, token)
    message = find_message(state, text)
    assert message is not None and message["direction"] == "in" and message["provider_id"] == wamid
    conversation = next(c for c in state["conversations"] if c["id"] == message["conversation_id"])
    assert conversation["channel"] == "whatsapp" and conversation["status"] == "open"
    assert conversation["last_message_preview"] == text and conversation["last_inbound_at"] is not None
    identity = next(i for i in state["identities"] if i["handle"] == wa_id)
    customer = next(c for c in state["customers"] if c["id"] == identity["customer_id"])
    assert customer["display_name"] == "María Peña" and conversation["customer_id"] == customer["id"]


def test_second_message_of_a_customer_threads_into_the_same_conversation(stack):
    token, _ = sign_in(stack)
    wa_id = unique_wa_id()
    inbound(stack, wa_id=wa_id, name="Tom", text="first " + wa_id)
    inbound(stack, wa_id=wa_id, name="Tom", text="second " + wa_id)
    state = sync_all(stack, token)
    first, second = find_message(state, "first " + wa_id), find_message(state, "second " + wa_id)
    assert first["conversation_id"] == second["conversation_id"]
    assert len([i for i in state["identities"] if i["handle"] == wa_id]) == 1


def test_repeated_delivery_is_stored_once(stack):
    token, _ = sign_in(stack)
    wa_id, wamid = unique_wa_id(), f"wamid.{uuid.uuid4().hex}"
    payload = text_webhook(wa_id=wa_id, name="Rita", text="only once " + wamid, wamid=wamid,
                           timestamp=int(time.time()), phone_number_id=DEMO_PHONE_NUMBER_ID)
    for _ in range(3):
        assert post_signed(stack, payload).status_code == 200
    state = sync_all(stack, token)
    assert [m["provider_id"] for m in state["messages"]].count(wamid) == 1


@pytest.mark.parametrize("signature", ["sha256=" + "0" * 64, "sha1=abc", "", "sha256="])
def test_bad_or_missing_signature_is_refused_and_stores_nothing(stack, signature):
    token, _ = sign_in(stack)
    before = stored_counts(stack, token)
    wamid = f"wamid.{uuid.uuid4().hex}"
    payload = text_webhook(wa_id=unique_wa_id(), name="Mallory", text="forged " + wamid, wamid=wamid,
                           timestamp=int(time.time()), phone_number_id=DEMO_PHONE_NUMBER_ID)
    raw = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if signature:
        headers["X-Hub-Signature-256"] = signature
    r = httpx.post(f"{stack.server_url}/webhooks/whatsapp", content=raw, headers=headers)
    assert r.status_code == 403
    assert stored_counts(stack, token) == before


def test_signature_with_the_wrong_secret_is_refused(stack):
    token, _ = sign_in(stack)
    before = stored_counts(stack, token)
    wamid = f"wamid.{uuid.uuid4().hex}"
    payload = text_webhook(wa_id=unique_wa_id(), name="Mallory", text="x", wamid=wamid,
                           timestamp=int(time.time()), phone_number_id=DEMO_PHONE_NUMBER_ID)
    assert post_signed(stack, payload, secret="not-the-app-secret").status_code == 403
    assert stored_counts(stack, token) == before


@pytest.mark.parametrize("raw, status", [
    (b'{"object": "whatsapp_business_account", "entry": [\xff\xfe]}', 400),  # invalid UTF-8
    (b'{"object": "whatsapp_business_account", "entry": [', 400),  # truncated JSON
    (b'{"object": "page", "entry": []}', 400),  # not a WhatsApp payload
    (b"[1, 2, 3]", 400),
])
def test_malformed_signed_bodies_get_a_clear_error_and_store_nothing(stack, raw, status):
    token, _ = sign_in(stack)
    before = stored_counts(stack, token)
    r = post_signed(stack, raw)
    assert r.status_code == status and r.json()["detail"]
    assert stored_counts(stack, token) == before


def test_oversize_body_is_refused_with_413(stack):
    raw = b'{"object": "whatsapp_business_account", "entry": [], "pad": "' + b"a" * (1024 * 1024 + 10) + b'"}'
    assert post_signed(stack, raw).status_code == 413


def test_subscription_verification(stack):
    verify = stack.secrets["WORKSTATION_META_VERIFY_TOKEN"]
    ok = httpx.get(f"{stack.server_url}/webhooks/whatsapp",
                   params={"hub.mode": "subscribe", "hub.verify_token": verify, "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.text == "1158201444"
    bad = httpx.get(f"{stack.server_url}/webhooks/whatsapp",
                    params={"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"})
    assert bad.status_code == 403


def _reply(stack, token, conversation_id, text, key=None):
    return httpx.post(
        f"{stack.server_url}/v1/conversations/{conversation_id}/messages", json={"text": text},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key or str(uuid.uuid4())},
    )


def _sent_to_sandbox(stack, text) -> list[dict]:
    sent = httpx.get(f"{stack.sandbox_url}/_sandbox/sent").json()
    return [s for s in sent if s["json"].get("text", {}).get("body") == text]


def test_reply_reaches_the_sandbox_as_the_exact_graph_request_then_is_delivered_and_read(stack):
    token, agent = sign_in(stack)
    wa_id = unique_wa_id()
    inbound(stack, wa_id=wa_id, name="Lena", text="hello " + wa_id)
    conversation_id = find_message(sync_all(stack, token), "hello " + wa_id)["conversation_id"]
    text = "Hi Lena, your order ships today. <b>not bold</b>"
    r = _reply(stack, token, conversation_id, text)
    assert r.status_code == 201
    reply = r.json()
    assert reply["direction"] == "out" and reply["author_agent_id"] == agent["id"]

    requests = wait_for(lambda: _sent_to_sandbox(stack, text))
    assert len(requests) == 1
    assert requests[0]["path"] == f"/v21.0/{DEMO_PHONE_NUMBER_ID}/messages"
    assert requests[0]["authorization_ok"] is True
    assert requests[0]["json"] == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": wa_id,
        "type": "text", "text": {"body": text, "preview_url": False},
    }
    wamid = requests[0]["response"]["messages"][0]["id"]

    seen: list[str] = []

    def state_now():
        message = next(m for m in sync_all(stack, token)["messages"] if m["id"] == reply["id"])
        if not seen or seen[-1] != message["delivery_state"]:
            seen.append(message["delivery_state"])
        return message if message["delivery_state"] == "read" else None

    final = wait_for(state_now, timeout=15)
    assert final["provider_id"] == wamid
    assert "delivered" in seen and seen.index("delivered") < seen.index("read")


def test_repeated_idempotency_key_replays_the_first_answer_and_sends_once(stack):
    token, _ = sign_in(stack)
    wa_id = unique_wa_id()
    inbound(stack, wa_id=wa_id, name="Ivo", text="hi " + wa_id)
    conversation_id = find_message(sync_all(stack, token), "hi " + wa_id)["conversation_id"]
    key, text = str(uuid.uuid4()), "only one of me " + wa_id
    first = _reply(stack, token, conversation_id, text, key)
    second = _reply(stack, token, conversation_id, text, key)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    wait_for(lambda: _sent_to_sandbox(stack, text))
    time.sleep(0.5)
    assert len(_sent_to_sandbox(stack, text)) == 1
    assert [m["text"] for m in sync_all(stack, token)["messages"]].count(text) == 1


def test_reply_outside_the_24h_window_fails_with_window_closed(stack):
    token, _ = sign_in(stack)
    wa_id = unique_wa_id()
    old = int(time.time()) - 25 * 3600
    inbound(stack, wa_id=wa_id, name="Olga", text="old " + wa_id, timestamp=old)
    conversation_id = find_message(sync_all(stack, token), "old " + wa_id)["conversation_id"]
    r = _reply(stack, token, conversation_id, "too late " + wa_id)
    message_id = r.json()["id"]

    def failed():
        m = next(m for m in sync_all(stack, token)["messages"] if m["id"] == message_id)
        return m if m["delivery_state"] == "failed" else None

    message = wait_for(failed)
    assert message["error_kind"] == "window_closed" and message["error_code"] == 131047


def test_sign_in_and_tokens(stack):
    r = httpx.post(f"{stack.server_url}/v1/session", json={"email": stack.lead_email, "password": "wrong password"})
    assert r.status_code == 401
    r = httpx.post(f"{stack.server_url}/v1/session", json={"email": "nobody@example.com", "password": "x" * 10})
    assert r.status_code == 401
    assert httpx.get(f"{stack.server_url}/v1/sync").status_code == 401
    assert httpx.get(f"{stack.server_url}/v1/sync", headers={"Authorization": "Bearer forged"}).status_code == 401
    token, agent = sign_in(stack)
    assert agent["role"] == "lead"
    me = httpx.get(f"{stack.server_url}/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["email"] == stack.lead_email
    # Neither the token nor any password is stored as written.
    dump = database_dump(stack.db_url)
    assert token not in dump
    assert all(password not in dump for password in stack.passwords.values())
    assert "scrypt$" in dump
    # Signing out revokes the token.
    assert httpx.delete(f"{stack.server_url}/v1/session", headers={"Authorization": f"Bearer {token}"}).status_code == 204
    assert httpx.get(f"{stack.server_url}/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_event_stream_announces_new_changes(stack):
    token, _ = sign_in(stack)
    cursor = latest_seq(stack, token)
    with httpx.Client(timeout=httpx.Timeout(5.0, read=10.0)) as client:
        with client.stream("GET", f"{stack.server_url}/v1/events", headers={"Authorization": f"Bearer {token}"}) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            lines = r.iter_lines()
            seqs = []
            injected = False
            for line in lines:
                if line.startswith("data:"):
                    seqs.append(json.loads(line[5:])["seq"])
                    if not injected:
                        injected = True
                        inbound(stack, wa_id=unique_wa_id(), name="Eve", text="poke")
                    elif seqs[-1] > cursor:
                        break
    assert seqs[0] >= cursor and seqs[-1] > cursor


def test_no_secret_reaches_the_logs(stack):
    """Runs last in this module: everything above has been logged by the server and the sandbox."""
    token, _ = sign_in(stack)
    httpx.get(f"{stack.server_url}/v1/sync", headers={"Authorization": f"Bearer {token}"})
    httpx.get(f"{stack.server_url}/v1/sync", headers={"Authorization": "Bearer forged-token-value"})
    log = (stack.data_dir / "children.log").read_text(encoding="utf-8", errors="replace")
    assert "signed in" in log  # the log is the one the children write
    secrets = [stack.secrets[k] for k in ("WORKSTATION_META_APP_SECRET", "WORKSTATION_META_VERIFY_TOKEN",
                                           "WORKSTATION_WHATSAPP_TOKEN")]
    for secret in secrets + list(stack.passwords.values()) + [token, "forged-token-value"]:
        assert secret not in log


def test_agent_api_refuses_oversize_bodies_before_reading_them(stack):
    big = b'{"email": "a@b.c", "password": "' + b"x" * (200 * 1024) + b'"}'
    r = httpx.post(f"{stack.server_url}/v1/session", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_messages_for_another_phone_number_are_ignored(stack):
    token, _ = sign_in(stack)
    before = stored_counts(stack, token)
    wamid = f"wamid.{uuid.uuid4().hex}"
    payload = text_webhook(wa_id=unique_wa_id(), name="Other", text="not ours " + wamid, wamid=wamid,
                           timestamp=int(time.time()), phone_number_id="999999999999")
    assert post_signed(stack, payload).status_code == 200  # acknowledged, so Meta stops retrying
    assert stored_counts(stack, token) == before


def test_a_key_reused_for_a_different_request_is_refused(stack):
    token, _ = sign_in(stack)
    wa_id = unique_wa_id()
    inbound(stack, wa_id=wa_id, name="Kai", text="hey " + wa_id)
    conversation_id = find_message(sync_all(stack, token), "hey " + wa_id)["conversation_id"]
    key = str(uuid.uuid4())
    assert _reply(stack, token, conversation_id, "first text", key).status_code == 201
    reused = _reply(stack, token, conversation_id, "a different text", key)
    assert reused.status_code == 422 and "different request" in reused.json()["detail"]
    assert "a different text" not in [m["text"] for m in sync_all(stack, token)["messages"]]


def test_a_burst_of_changes_is_announced_a_few_times_a_second_ending_with_the_newest(stack):
    """Every announcement costs each agent a /v1/sync round trip: a burst is coalesced, never dropped."""
    from services.teamserver.routes.sync import POKE_INTERVAL

    token, _ = sign_in(stack)
    seqs: list[tuple[float, int]] = []  # (time read, seq)
    with httpx.Client(timeout=httpx.Timeout(5.0, read=10.0)) as client:
        with client.stream("GET", f"{stack.server_url}/v1/events", headers={"Authorization": f"Bearer {token}"}) as r:
            lines = r.iter_lines()
            for line in lines:  # the stream's first announcement: where it starts
                if line.startswith("data:"):
                    break
            started = time.monotonic()
            for i in range(40):
                wamid = f"wamid.{uuid.uuid4().hex}"
                assert post_signed(stack, text_webhook(wa_id=unique_wa_id(), name="Burst", text=f"burst {i}",
                                                       wamid=wamid, timestamp=int(time.time()),
                                                       phone_number_id=DEMO_PHONE_NUMBER_ID)).status_code == 200
            burst = time.monotonic() - started
            newest = latest_seq(stack, token)
            for line in lines:
                if line.startswith("data:"):
                    seqs.append((time.monotonic(), json.loads(line[5:])["seq"]))
                    if seqs[-1][1] >= newest:
                        break
    assert seqs[-1][1] >= newest
    # 40 commits; one announcement each would be 40.
    assert len(seqs) <= burst / POKE_INTERVAL + 2, (len(seqs), burst)
