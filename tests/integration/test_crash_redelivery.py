"""Nothing lost, nothing doubled: the team server is killed (SIGKILL) in the middle of a burst of signed
WhatsApp webhooks that the sandbox redelivers like Meta does (every webhook not answered with a success is
retried until it is), then started again on the same port and database.

The burst: 400 unique customer messages from 60 customers, in webhooks of 1 to 3 messages, some webhooks
sent twice on purpose, some carrying an earlier message again beside new ones, some naming one message twice.
The first part is under way when the server dies: webhooks in flight at that moment may have been committed
without their 200 ever leaving (the redelivery must then be deduplicated) or not committed at all (the
redelivery must store them). The second part is posted while the server is down, so its first attempts are
refused. When every webhook is acknowledged, the server holds exactly the unique messages sent, once each, in
its database and as an agent sees it through /v1/sync. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import base64
import random
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from services.teamserver.db import make_engine
from tests.integration.helpers import (
    kill_server, sandbox_post_webhooks, sandbox_redelivery, sandbox_webhook_state, sign_in, sync_all, wait_for,
)
from tests.support import DATABASES, team_database
from workstation.demo import DemoStack, start_demo_stack

UNIQUE_MESSAGES = 400
CUSTOMERS = 60
RATE = 150.0  # webhooks per second: a backlog builds up, so the kill finds requests in flight


@pytest.fixture(params=DATABASES)
def crash_stack(request, tmp_path) -> DemoStack:
    (tmp_path / "db").mkdir()
    with team_database(request.param, tmp_path / "db") as url:
        stack = start_demo_stack(data_dir=tmp_path / "stack", traffic=False, db_url=url)
        try:
            yield stack
        finally:
            stack.stop()


def wamid(rng: random.Random) -> str:
    return "wamid." + base64.b64encode(rng.randbytes(30)).decode("ascii")


def build_burst(seed: int) -> tuple[list[list[dict]], dict[str, str]]:
    """The webhooks (lists of messages) in sending order, and the unique messages: wamid -> text."""
    rng = random.Random(seed)
    base = int(time.time()) - 3600
    customers = [(f"3469{rng.randrange(10**7, 10**8)}", f"Crash Customer {c:02d}") for c in range(CUSTOMERS)]
    messages = []
    for i in range(UNIQUE_MESSAGES):
        phone, name = rng.choice(customers)
        messages.append({"from": phone, "name": name, "text": f"crash burst message {i:04d} from {name}",
                         "id": wamid(rng), "timestamp": base + i})
    webhooks: list[list[dict]] = []
    i = 0
    while i < len(messages):
        size = rng.choice((1, 1, 2, 3))
        hook = [dict(m) for m in messages[i:i + size]]
        i += size
        if webhooks and rng.random() < 0.08:  # an earlier message again, beside new ones
            hook.insert(rng.randrange(len(hook) + 1), dict(rng.choice(rng.choice(webhooks))))
        if rng.random() < 0.02:  # one message twice in the same webhook
            hook.append(dict(hook[0]))
        webhooks.append(hook)
    for _ in range(len(webhooks) // 10):  # whole webhooks again, later in the burst
        k = rng.randrange(len(webhooks))
        webhooks.insert(rng.randrange(k + 1, len(webhooks) + 1), [dict(m) for m in webhooks[k]])
    return webhooks, {m["id"]: m["text"] for m in messages}


def stored_inbound(db_url: str) -> list[tuple[str, str]]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                sa.text("SELECT provider_id, text FROM message WHERE direction = 'in'"))]
    finally:
        engine.dispose()


def conversation_inbound_total(db_url: str) -> int:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT COALESCE(SUM(inbound_count), 0) FROM conversation")).scalar()
    finally:
        engine.dispose()


def test_server_killed_mid_burst_loses_and_doubles_nothing(crash_stack: DemoStack):
    stack = crash_stack
    webhooks, unique = build_burst(seed=20261123)
    assert len(unique) == UNIQUE_MESSAGES
    assert sum(len(h) for h in webhooks) > UNIQUE_MESSAGES  # repeats on purpose
    # Meta's redelivery (7 days there), with delays short enough for a test.
    sandbox_redelivery(stack, retry_for=120.0, backoff=0.05, max_backoff=1.0)

    split = len(webhooks) * 55 // 100
    first, second = webhooks[:split], webhooks[split:]
    ids = sandbox_post_webhooks(stack, first, rate=RATE)
    assert [i for hook in ids for i in hook] == [m["id"] for hook in first for m in hook]
    wait_for(lambda: sandbox_webhook_state(stack)["acknowledged"] >= len(first) // 3, timeout=30,
             what="a third of the first part acknowledged")

    kill_server(stack)
    at_kill = sandbox_webhook_state(stack)
    assert at_kill["acknowledged"] < len(first), "the kill came after the burst, not in its middle"
    # The second part goes out while the server is down: its first attempts are refused.
    sandbox_post_webhooks(stack, second, rate=RATE)
    wait_for(lambda: sandbox_webhook_state(stack)["failed_attempts"] >= at_kill["failed_attempts"] + 20,
             timeout=30, what="webhooks refused while the server is down")
    stack.start_server()

    total = len(webhooks)
    state = wait_for(lambda: (s := sandbox_webhook_state(stack))["queued"] == 0
                     and s["acknowledged"] + s["given_up"] == total and s, timeout=40,
                     what="every webhook acknowledged after the restart")
    assert state["given_up"] == 0
    assert state["acknowledged"] == total
    assert state["failed_attempts"] > 0 and state["attempts"] == total + state["failed_attempts"]
    print(f"{total} webhooks; killed with {at_kill['acknowledged']} acknowledged and {at_kill['queued']} under way; "
          f"{state['failed_attempts']} attempts failed and were redelivered")

    # The database: every unique message exactly once, with its own text.
    rows = stored_inbound(stack.db_url)
    doubled = {wid: n for wid, n in Counter(wid for wid, _ in rows).items() if n > 1}
    assert doubled == {}, f"stored more than once: {doubled}"
    lost = set(unique) - {wid for wid, _ in rows}
    assert lost == set(), f"{len(lost)} messages lost"
    assert dict(rows) == unique
    assert conversation_inbound_total(stack.db_url) == UNIQUE_MESSAGES

    # What an agent sees: the same set through the change log, once each.
    token, _ = sign_in(stack)
    synced = sync_all(stack, token)
    seen = Counter(m["provider_id"] for m in synced["messages"] if m["direction"] == "in")
    assert set(seen) == set(unique) and set(seen.values()) == {1}
