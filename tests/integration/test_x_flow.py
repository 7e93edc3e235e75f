"""X end to end on real processes: a customer mentions the brand and writes it a DM in the sandbox's X API v2
emulator, the team server polls both, the mention shows in /v1/sync as the customer's public X conversation and the
DM as their private one; an agent's answer in the public one becomes a reply to the mention (POST /2/tweets), in the
private one a DM; a 429 is waited out until x-rate-limit-reset, and a crash before the cursor was saved polls the
same posts again and stores them once."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from sqlmodel import Session

from services.channels.x import Cursor
from services.sandbox.x_api import user_id_for
from services.teamserver import pollers
from services.teamserver.db import make_engine
from services.teamserver.models import ServerMeta
from tests.integration.helpers import kill_server, sign_in, sync_all, wait_for
from tests.support import database_dump
from workstation.demo import DEMO_X_USER_ID


def unique_username() -> str:
    return "c_" + uuid.uuid4().hex[:12]


def sandbox(stack, what: str, **body) -> dict:
    r = httpx.post(f"{stack.sandbox_url}/_sandbox/x/{what}", json=body, timeout=10)
    r.raise_for_status()
    return r.json()


def emulator(stack, what: str) -> list | dict:
    r = httpx.get(f"{stack.sandbox_url}/_sandbox/x/{what}", timeout=10)
    r.raise_for_status()
    return r.json()


def requests_to(stack, endpoint: str) -> list[dict]:
    return [r for r in emulator(stack, "requests") if r["endpoint"] == endpoint]


def stored(stack, token: str, text: str) -> list[dict]:
    return [m for m in sync_all(stack, token)["messages"] if m["text"] == text]


def arrived(stack, token: str, text: str, timeout: float = 25) -> dict:
    return wait_for(lambda: (stored(stack, token, text) or [None])[0], timeout=timeout, what=f"{text!r} in sync",
                    interval=0.2)


def reply(stack, token: str, conversation_id: int, text: str) -> dict:
    r = httpx.post(f"{stack.server_url}/v1/conversations/{conversation_id}/messages", json={"text": text},
                   headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 201, r.text
    return r.json()


def settled(stack, token: str, message_id: int, timeout: float = 25) -> dict:
    def done() -> dict | None:
        message = next(m for m in sync_all(stack, token)["messages"] if m["id"] == message_id)
        return message if message["delivery_state"] != "pending" else None

    return wait_for(done, timeout=timeout, what="the reply left the server", interval=0.2)


def test_a_mention_and_a_dm_of_one_customer_are_their_public_and_private_x_conversations(stack):
    token, _ = sign_in(stack)
    username = unique_username()
    public_text, private_text = f"@workstation_demo my order is late 📦 {username}", f"Order #A12345 🙏 {username}"
    posted = sandbox(stack, "mention", username=username, name="Lucía Fernández", text=public_text)
    written = sandbox(stack, "dm", username=username, name="Lucía Fernández", text=private_text)
    public_message, private_message = arrived(stack, token, public_text), arrived(stack, token, private_text)
    assert public_message["provider_id"] == posted["id"]
    assert private_message["provider_id"] == "dm:" + written["dm_event_id"]
    assert public_message["direction"] == private_message["direction"] == "in"
    state = sync_all(stack, token)
    conversations = {c["id"]: c for c in state["conversations"]}
    public = conversations[public_message["conversation_id"]]
    private = conversations[private_message["conversation_id"]]
    assert public["id"] != private["id"]
    assert (public["channel"], public["public"]) == ("x", True)
    assert (private["channel"], private["public"]) == ("x", False)
    [identity] = [i for i in state["identities"] if i["handle"] == user_id_for(username)]
    assert identity["channel"] == "x" and public["customer_id"] == private["customer_id"] == identity["customer_id"]
    customer = next(c for c in state["customers"] if c["id"] == identity["customer_id"])
    assert customer["display_name"] == f"Lucía Fernández (@{username})"


def test_an_answer_in_the_public_conversation_replies_to_the_mention_and_in_the_private_one_is_a_dm(stack):
    token, agent = sign_in(stack)
    username = unique_username()
    first = sandbox(stack, "mention", username=username, name="Zoë", text=f"broken {username}")
    newest = sandbox(stack, "mention", username=username, name="Zoë", text=f"hello?? {username}")
    sandbox(stack, "dm", username=username, name="Zoë", text=f"details {username}")
    public_id = arrived(stack, token, f"@workstation_demo hello?? {username}")["conversation_id"]
    arrived(stack, token, f"@workstation_demo broken {username}")
    private_id = arrived(stack, token, f"details {username}")["conversation_id"]

    public_answer = reply(stack, token, public_id, f"Sorry, Zoë! DM us your order number 🙏 {username}")
    private_answer = reply(stack, token, private_id, f"Thanks, checking it now {username}")
    public_final = settled(stack, token, public_answer["id"])
    private_final = settled(stack, token, private_answer["id"])
    assert public_final["delivery_state"] == private_final["delivery_state"] == "accepted"

    sent = {s["json"]["text"]: s for s in emulator(stack, "sent") if username in s["json"]["text"]}
    tweet = sent[f"Sorry, Zoë! DM us your order number 🙏 {username}"]
    assert tweet["endpoint"] == "posts" and tweet["status_code"] == 201 and tweet["token_ok"] is True
    # The newest of the customer's posts is the one answered.
    assert tweet["json"]["reply"] == {"in_reply_to_tweet_id": newest["id"]} != {"in_reply_to_tweet_id": first["id"]}
    assert public_final["provider_id"] == tweet["response"]["data"]["id"]
    direct = sent[f"Thanks, checking it now {username}"]
    assert direct["endpoint"] == "dm_send" and direct["status_code"] == 201
    assert direct["path"] == f"/x/2/dm_conversations/with/{user_id_for(username)}/messages"
    assert private_final["provider_id"] == "dm:" + direct["response"]["data"]["dm_event_id"]
    assert agent["id"] == public_answer["author_agent_id"]
    # The brand's own DM comes back in dm_events; it is never stored as the customer's.
    newest_dm_event = direct["response"]["data"]["dm_event_id"]
    wait_for(lambda: int(Cursor.load(_cursor(stack.db_url)).dm_since or 0) >= int(newest_dm_event),
             timeout=20, what="the brand's DM was polled")
    messages = sorted((m for m in sync_all(stack, token)["messages"] if m["conversation_id"] == private_id),
                      key=lambda m: m["id"])
    assert [m["direction"] for m in messages] == ["in", "out"]


def test_a_429_on_mentions_is_waited_out_until_x_rate_limit_reset(stack):
    token, _ = sign_in(stack)
    sandbox(stack, "faults", endpoint="mentions", status=429, reset_in=4)
    username = unique_username()
    text = f"@workstation_demo anyone there? {username}"
    sandbox(stack, "mention", username=username, name="Daniel", text=text)
    arrived(stack, token, text, timeout=30)
    asked = requests_to(stack, "mentions")
    refused = [i for i, r in enumerate(asked) if r["status_code"] == 429]
    assert len(refused) == 1, [r["status_code"] for r in asked]  # not asked again while the window was used up
    limited, following = asked[refused[0]], asked[refused[0] + 1]
    assert limited["remaining"] == 0 and limited["reset"] >= limited["at"] + 4
    assert following["status_code"] == 200 and following["at"] >= limited["reset"]
    # The DM endpoint has a window of its own: it kept being polled meanwhile.
    assert any(limited["at"] < r["at"] < limited["reset"] for r in requests_to(stack, "dm_events"))


def test_a_429_on_a_reply_is_waited_out_and_the_reply_goes_once(stack):
    token, _ = sign_in(stack)
    username = unique_username()
    sandbox(stack, "mention", username=username, name="Priya", text=f"help {username}")
    conversation_id = arrived(stack, token, f"@workstation_demo help {username}")["conversation_id"]
    sandbox(stack, "faults", endpoint="posts", status=429, reset_in=3)
    text = f"On it, Priya {username}"
    answer = reply(stack, token, conversation_id, text)
    assert settled(stack, token, answer["id"], timeout=30)["delivery_state"] == "accepted"
    tries = [s for s in emulator(stack, "sent") if s["json"] and s["json"].get("text") == text]
    assert [s["status_code"] for s in tries] == [429, 201]
    [limited] = [r for r in requests_to(stack, "posts") if r["at"] == tries[0]["at"]]
    assert limited["status_code"] == 429 and limited["remaining"] == 0
    assert tries[1]["at"] >= limited["reset"]  # not before X allows it...
    assert tries[1]["at"] - limited["reset"] < 5  # ...and not much later


def _cursor(db_url: str) -> str | None:
    engine = make_engine(db_url)
    try:
        return pollers.load_cursor(engine, "x")
    finally:
        engine.dispose()


def _set_cursor(db_url: str, value: str) -> None:
    engine = make_engine(db_url)
    try:
        with Session(engine) as s:
            row = s.get(ServerMeta, pollers.CURSOR_KEY.format("x"))
            row.value = value
            s.add(row)
            s.commit()
    finally:
        engine.dispose()


def _settled_cursor(stack) -> str | None:
    """The X cursor, once it is not in the middle of walking pages."""
    cursor = _cursor(stack.db_url)
    state = Cursor.load(cursor)
    return cursor if state.mentions_since and not state.mentions_next and not state.dm_next else None


def test_a_crash_before_the_cursor_was_saved_polls_again_and_stores_once(stack):
    token, _ = sign_in(stack)
    username = unique_username()
    sandbox(stack, "mention", username=username, name="Liam", text=f"one {username}")
    sandbox(stack, "dm", username=username, name="Liam", text=f"dm one {username}")
    arrived(stack, token, f"@workstation_demo one {username}")
    arrived(stack, token, f"dm one {username}")
    before = wait_for(lambda: _settled_cursor(stack), what="a settled cursor")
    two = sandbox(stack, "mention", username=username, name="Liam", text=f"two {username}")
    dm_two = sandbox(stack, "dm", username=username, name="Liam", text=f"dm two {username}")
    arrived(stack, token, f"@workstation_demo two {username}")
    arrived(stack, token, f"dm two {username}")
    wait_for(lambda: Cursor.load(_cursor(stack.db_url)).mentions_since == two["id"], what="the cursor moved")

    kill_server(stack)
    _set_cursor(stack.db_url, before)  # the crash came after the commit, before the cursor was saved
    restarted_at = time.time()
    stack.start_server()

    wait_for(lambda: Cursor.load(_cursor(stack.db_url)).mentions_since == two["id"]
             and int(Cursor.load(_cursor(stack.db_url)).dm_since) >= int(dm_two["dm_event_id"]),
             timeout=30, what="the restarted server caught up")
    again = [r for r in requests_to(stack, "mentions") if r["at"] >= restarted_at]
    assert again[0]["query"]["since_id"] == Cursor.load(before).mentions_since and again[0]["status_code"] == 200
    assert len(stored(stack, token, f"@workstation_demo two {username}")) == 1  # came twice, stored once
    assert len(stored(stack, token, f"dm two {username}")) == 1
    assert len(stored(stack, token, f"@workstation_demo one {username}")) == 1


def test_the_x_token_is_never_written_down(stack):
    """Runs last: everything above (polls, replies, 429s, a crash) has been logged and stored."""
    x_token = stack.secrets["WORKSTATION_X_TOKEN"]
    log = (stack.data_dir / "children.log").read_text(encoding="utf-8", errors="replace")
    assert "X refused" in log  # the server did log about X (the 429s)
    assert x_token not in log
    assert x_token not in database_dump(stack.db_url)
    assert stack.env["WORKSTATION_X_USER_ID"] == DEMO_X_USER_ID


@pytest.fixture(autouse=True)
def _no_faults_left(stack):
    yield
    httpx.delete(f"{stack.sandbox_url}/_sandbox/x/faults", timeout=10)
