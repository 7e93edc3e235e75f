"""Telegram end to end on real processes: a customer writes to the sandbox's Bot API emulator, the team server
long-polls it (getUpdates), the message shows in /v1/sync as a Telegram conversation, and an agent's reply goes
out through sendMessage; a blocked bot, a 429 with retry_after and a crash between storing and confirming
behave as the Bot API demands."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from sqlmodel import Session

from services.teamserver import pollers
from services.teamserver.db import make_engine
from services.teamserver.models import ServerMeta
from tests.integration.helpers import kill_server, sign_in, sync_all, wait_for
from tests.support import database_dump


def unique_chat_id() -> int:
    return 5_000_000_000 + uuid.uuid4().int % 1_000_000_000


def customer_writes(stack, chat_id: int, text: str, **extra) -> dict:
    body = {"chat_id": chat_id, "first_name": "Lucía", "last_name": "Fernández", "text": text, **extra}
    r = httpx.post(f"{stack.sandbox_url}/_sandbox/telegram/inbound", json=body, timeout=10)
    r.raise_for_status()
    return r.json()


def emulator(stack, what: str) -> list | dict:
    r = httpx.get(f"{stack.sandbox_url}/_sandbox/telegram/{what}", timeout=10)
    r.raise_for_status()
    return r.json()


def fault(stack, **body) -> None:
    httpx.post(f"{stack.sandbox_url}/_sandbox/telegram/faults", json=body, timeout=10).raise_for_status()


def sends_of(stack, text: str) -> list[dict]:
    return [s for s in emulator(stack, "sent") if (s.get("json") or {}).get("text") == text]


def stored(stack, token: str, text: str) -> list[dict]:
    return [m for m in sync_all(stack, token)["messages"] if m["text"] == text]


def arrived(stack, token: str, text: str, timeout: float = 15) -> dict:
    return wait_for(lambda: (stored(stack, token, text) or [None])[0], timeout=timeout, what=f"{text!r} in sync")


def reply(stack, token: str, conversation_id: int, text: str) -> dict:
    r = httpx.post(f"{stack.server_url}/v1/conversations/{conversation_id}/messages", json={"text": text},
                   headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 201, r.text
    return r.json()


def message_now(stack, token: str, message_id: int) -> dict:
    return next(m for m in sync_all(stack, token)["messages"] if m["id"] == message_id)


def settled(stack, token: str, message_id: int, timeout: float = 20) -> dict:
    """The reply once the server is done sending it (accepted or failed)."""
    def done() -> dict | None:
        message = message_now(stack, token, message_id)
        return message if message["delivery_state"] != "pending" else None

    return wait_for(done, timeout=timeout, what="the reply left the server")


def test_a_customer_message_shows_in_sync_as_a_telegram_conversation(stack):
    token, _ = sign_in(stack)
    chat_id, text = unique_chat_id(), f"¿Dónde está mi pedido? 📦 {uuid.uuid4().hex[:6]}"
    queued = customer_writes(stack, chat_id, text)
    message = arrived(stack, token, text)
    state = sync_all(stack, token)
    assert message["direction"] == "in" and message["kind"] == "text"
    assert message["provider_id"] == f"{chat_id}:{queued['message_id']}"
    conversation = next(c for c in state["conversations"] if c["id"] == message["conversation_id"])
    assert conversation["channel"] == "telegram" and conversation["status"] == "open"
    assert conversation["last_message_preview"] == text
    identity = next(i for i in state["identities"] if i["handle"] == str(chat_id))
    assert identity["channel"] == "telegram" and conversation["customer_id"] == identity["customer_id"]
    customer = next(c for c in state["customers"] if c["id"] == identity["customer_id"])
    assert customer["display_name"] == "Lucía Fernández"
    # Stored, then confirmed: the emulator forgets the update once the server asks past it.
    wait_for(lambda: queued["update_id"] not in emulator(stack, "state")["pending_update_ids"],
             what="the update was confirmed")


def test_photos_edits_and_group_messages(stack):
    token, _ = sign_in(stack)
    chat_id, tag = unique_chat_id(), uuid.uuid4().hex[:6]
    first = customer_writes(stack, chat_id, f"pedido #A1 {tag}")
    customer_writes(stack, chat_id, None, kind="photo", caption=f"la caja rota {tag}")
    customer_writes(stack, chat_id, f"hola grupo {tag}", chat_type="group")
    customer_writes(stack, chat_id, f"pedido #A2 {tag}", edit_message_id=first["message_id"])
    edit = arrived(stack, token, f"[edited] pedido #A2 {tag}")
    photo = arrived(stack, token, f"la caja rota {tag}")
    original = arrived(stack, token, f"pedido #A1 {tag}")
    assert photo["kind"] == "photo" and edit["kind"] == "edited"
    assert original["conversation_id"] == photo["conversation_id"] == edit["conversation_id"]
    assert original["text"] == f"pedido #A1 {tag}"  # the original stays as the customer first wrote it
    time.sleep(0.5)
    assert stored(stack, token, f"hola grupo {tag}") == []  # a group is not a customer's conversation


def test_an_agent_reply_goes_out_through_send_message_and_shows_sent(stack):
    token, agent = sign_in(stack)
    chat_id = unique_chat_id()
    customer_writes(stack, chat_id, f"hola {chat_id}")
    conversation_id = arrived(stack, token, f"hola {chat_id}")["conversation_id"]
    text = f"Hola Lucía, tu pedido sale hoy. <b>no es negrita</b> {uuid.uuid4().hex[:6]}"
    sent = reply(stack, token, conversation_id, text)
    assert sent["direction"] == "out" and sent["author_agent_id"] == agent["id"]

    [request] = wait_for(lambda: sends_of(stack, text), what="sendMessage reached the emulator")
    assert request["method"] == "sendMessage" and request["token_ok"] is True
    assert request["json"] == {"chat_id": chat_id, "text": text}  # plain text: no parse_mode, ever
    assert request["status_code"] == 200
    message_id = request["response"]["result"]["message_id"]
    final = settled(stack, token, sent["id"])
    # Bots get no delivery or read receipts: "accepted" (the desktop shows it as sent) is the last state.
    assert final["delivery_state"] == "accepted" and final["provider_id"] == f"{chat_id}:{message_id}"
    time.sleep(1.0)
    assert message_now(stack, token, sent["id"])["delivery_state"] == "accepted"
    assert len(sends_of(stack, text)) == 1


def test_a_customer_who_blocked_the_bot_makes_the_reply_fail_as_undeliverable(stack):
    token, _ = sign_in(stack)
    chat_id = unique_chat_id()
    customer_writes(stack, chat_id, f"adiós {chat_id}")
    conversation_id = arrived(stack, token, f"adiós {chat_id}")["conversation_id"]
    httpx.post(f"{stack.sandbox_url}/_sandbox/telegram/block", json={"chat_id": chat_id}).raise_for_status()
    text = f"¿Podemos ayudarte en algo más? {chat_id}"
    sent = reply(stack, token, conversation_id, text)
    final = settled(stack, token, sent["id"])
    assert final["delivery_state"] == "failed"
    assert final["error_kind"] == "undeliverable" and final["error_code"] == 403
    assert final["error_title"] == "The customer blocked the bot"
    time.sleep(0.5)
    [attempt] = sends_of(stack, text)  # not retried: blocking is for good
    assert attempt["response"]["description"] == "Forbidden: bot was blocked by the user"


def test_a_429_is_waited_out_exactly_and_the_reply_goes_once(stack):
    token, _ = sign_in(stack)
    chat_id = unique_chat_id()
    customer_writes(stack, chat_id, f"rápido {chat_id}")
    conversation_id = arrived(stack, token, f"rápido {chat_id}")["conversation_id"]
    fault(stack, method="sendMessage", error_code=429, retry_after=2, chat_id=chat_id)
    text = f"Un momento, lo miro {chat_id}"
    sent = reply(stack, token, conversation_id, text)
    final = settled(stack, token, sent["id"], timeout=20)
    assert final["delivery_state"] == "accepted"
    attempts = sends_of(stack, text)
    assert [a["status_code"] for a in attempts] == [429, 200]
    assert attempts[0]["response"]["parameters"] == {"retry_after": 2}
    waited = attempts[1]["at"] - attempts[0]["at"]
    assert 1.95 <= waited < 6.0, waited  # not before Telegram allows it, and not much later
    time.sleep(0.5)
    assert len(sends_of(stack, text)) == 2


def _set_cursor(db_url: str, value: str | None) -> None:
    engine = make_engine(db_url)
    try:
        if value is not None:
            pollers.save_cursor(engine, "telegram", value)
            return
        with Session(engine) as s:
            row = s.get(ServerMeta, pollers.CURSOR_KEY.format("telegram"))
            if row is not None:
                s.delete(row)
                s.commit()
    finally:
        engine.dispose()


def _cursor(db_url: str) -> str | None:
    engine = make_engine(db_url)
    try:
        return pollers.load_cursor(engine, "telegram")
    finally:
        engine.dispose()


def test_a_crash_between_storing_and_confirming_polls_the_update_again_and_stores_it_once(stack):
    token, _ = sign_in(stack)
    wait_for(lambda: emulator(stack, "state")["pending_update_ids"] == [], what="earlier updates confirmed")
    before = _cursor(stack.db_url)  # what a crash before the cursor was saved leaves behind
    update_id = emulator(stack, "state")["next_update_id"]
    # Every getUpdates that would confirm the new update fails, so Telegram keeps it.
    fault(stack, method="getUpdates", error_code=500, count=10_000, min_offset=update_id + 1)
    chat_id = unique_chat_id()
    text = f"no me dupliques {chat_id}"
    queued = customer_writes(stack, chat_id, text)
    assert queued["update_id"] == update_id
    arrived(stack, token, text)
    wait_for(lambda: any(p["offset"] == update_id + 1 and p["status_code"] == 500 for p in emulator(stack, "polls")),
             what="the confirming poll failed")
    engine = make_engine(stack.db_url)
    try:
        health = pollers.read_health(engine, "telegram")
    finally:
        engine.dispose()
    assert health["last_error"] == "Telegram server error" and health["last_error_kind"] == "retryable"

    kill_server(stack)
    _set_cursor(stack.db_url, before)  # the crash came after the commit, before the cursor was saved
    httpx.delete(f"{stack.sandbox_url}/_sandbox/telegram/faults").raise_for_status()
    assert update_id in emulator(stack, "state")["pending_update_ids"]  # never confirmed
    stack.start_server()

    wait_for(lambda: emulator(stack, "state")["pending_update_ids"] == [], timeout=20,
             what="the restarted server confirmed the update")
    deliveries = [p for p in emulator(stack, "polls") if update_id in p["update_ids"]]
    assert len(deliveries) == 2  # the update really came twice...
    assert len(stored(stack, token, text)) == 1  # ...and was stored once
    assert _cursor(stack.db_url) == str(update_id + 1)


def test_the_bot_token_is_never_written_down(stack):
    """Runs last: everything above (sends, refusals, 429s, 500s, a crash) has been logged and stored."""
    bot_token = stack.secrets["WORKSTATION_TELEGRAM_TOKEN"]
    log = (stack.data_dir / "children.log").read_text(encoding="utf-8", errors="replace")
    assert "Telegram" in log  # the server did log about Telegram (refusals, failed polls)
    assert bot_token not in log and bot_token.partition(":")[2] not in log
    dump = database_dump(stack.db_url)
    assert bot_token not in dump and bot_token.partition(":")[2] not in dump


@pytest.fixture(autouse=True)
def _no_faults_left(stack):
    yield
    httpx.delete(f"{stack.sandbox_url}/_sandbox/telegram/faults", timeout=10)
