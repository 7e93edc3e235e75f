"""Nothing is lost, nothing is sent twice: the desktop core against a real team server and WhatsApp sandbox
(child processes), through a server outage, a kill -9 of the desktop, and a flaky provider.

The desktop core runs headless on plain asyncio (no Qt): in this process, or in tests/integration/agent_proc.py.
"""

from __future__ import annotations

import asyncio
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

import httpx
import pytest

from tests.integration.helpers import inbound, sign_in, wait_for
from workstation.api import ApiClient
from workstation.cache import Cache
from workstation.demo import DemoStack, start_demo_stack
from workstation.sync import DbWorker, SyncEngine

AGENT_PROC = Path(__file__).with_name("agent_proc.py")
# Short provider retries and timeout, so a flaky provider costs the tests seconds, not minutes.
FAST_RETRIES = {
    "WORKSTATION_SEND_RETRY_BASE": "0.05",
    "WORKSTATION_SEND_RETRY_MAX": "1",
    "WORKSTATION_WHATSAPP_TIMEOUT": "1",
}
BEYOND_PENDING = {"accepted", "sent", "delivered", "read"}


@pytest.fixture(scope="module")
def offline_stack(tmp_path_factory) -> DemoStack:
    """This module's own team server + sandbox (fast retries); the shared `stack` fixture stays untouched."""
    s = start_demo_stack(data_dir=tmp_path_factory.mktemp("offline-stack"), traffic=False, extra_env=FAST_RETRIES)
    yield s
    s.stop()


# -- helpers ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Customer:
    wa_id: str
    conversation_id: int


class ServerView:
    """The team server's state as an agent sees it through /v1/sync, pulled incrementally."""

    def __init__(self, stack: DemoStack, token: str) -> None:
        self._url = f"{stack.server_url}/v1/sync"
        self._headers = {"Authorization": f"Bearer {token}"}
        self.after = 0
        self.messages: dict[int, dict] = {}

    def refresh(self) -> ServerView:
        with httpx.Client(timeout=10) as client:
            while True:
                r = client.get(self._url, params={"after": self.after, "limit": 1000}, headers=self._headers)
                r.raise_for_status()
                page = r.json()
                assert not page.get("reset")
                self.messages.update((m["id"], m) for m in page["messages"])
                self.after = page["next_after"]
                if not page["has_more"]:
                    return self

    def replies(self, texts: set[str]) -> list[dict]:
        return [m for m in self.messages.values() if m["direction"] == "out" and m["text"] in texts]


def open_conversations(stack: DemoStack, token: str, count: int, tag: str) -> list[Customer]:
    """`count` customers write in (so their 24 h window is open); returns their conversations."""
    wa_ids = [f"34{uuid.uuid4().int % 10**9:09d}" for _ in range(count)]
    texts = {}
    for i, wa_id in enumerate(wa_ids):
        texts[f"hello {tag} {i}"] = wa_id
        inbound(stack, wa_id=wa_id, name=f"Customer {i}", text=f"hello {tag} {i}")
    view = ServerView(stack, token).refresh()
    by_text = {m["text"]: m["conversation_id"] for m in view.messages.values() if m["direction"] == "in"}
    customers = [Customer(wa_id, by_text[text]) for text, wa_id in texts.items()]
    assert len({c.conversation_id for c in customers}) == count
    return customers


def sandbox_sends(stack: DemoStack, prefix: str) -> list[dict]:
    """Every send attempt the sandbox saw whose text starts with `prefix`, in arrival order."""
    sent = httpx.get(f"{stack.sandbox_url}/_sandbox/sent", timeout=10).json()
    return [s for s in sent if isinstance(s["json"], dict)
            and str(s["json"].get("text", {}).get("body", "")).startswith(prefix)]


def accepted_texts(stack: DemoStack, prefix: str) -> list[tuple[str, str]]:
    """(to, text) of the sends the sandbox accepted (HTTP 200 with a wamid), in arrival order."""
    return [(s["json"]["to"], s["json"]["text"]["body"]) for s in sandbox_sends(stack, prefix)
            if s["status_code"] == 200 and s["response"]["messages"][0]["id"].startswith("wamid.")]


wait_until = wait_for


async def async_until(predicate: Callable[[], Awaitable[Any]], timeout: float, what: str,
                      interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        await asyncio.sleep(interval)


@dataclass
class HeadlessAgent:
    """The desktop core as the app wires it (cache, db worker, API client, sync engine), without Qt."""

    server_url: str
    token: str
    cache_path: Path
    states: list[tuple[str, int]] = field(default_factory=list)

    async def __aenter__(self) -> HeadlessAgent:
        self.cache = Cache(self.cache_path)
        self.db = DbWorker(self.cache)
        self.engine = SyncEngine(ApiClient(self.server_url, self.token), self.db,
                                 on_state=lambda state, queued: self.states.append((state, queued)))
        self.engine.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.engine.stop()
        self.db.shutdown()

    @property
    def state(self) -> str | None:
        return self.states[-1][0] if self.states else None

    async def pending(self) -> int:
        return await self.db.run(self.cache.pending_ops)

    async def in_state(self, state: str, timeout: float) -> None:
        async def reached() -> bool:
            return self.state == state
        await async_until(reached, timeout, f"engine state {state!r} (saw {self.states[-3:]})")


def per_recipient(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for to, text in pairs:
        grouped[to].append(text)
    return dict(grouped)


# -- (a) server outage --------------------------------------------------------------------------------


def test_replies_written_while_the_server_is_down_go_out_once_and_in_order(offline_stack, tmp_path):
    stack = offline_stack
    token, _ = sign_in(stack)
    tag = uuid.uuid4().hex[:8]
    customers = open_conversations(stack, token, 20, tag)
    prefix = f"outage {tag}"
    expected: dict[str, list[str]] = defaultdict(list)

    async def scenario() -> None:
        async with HeadlessAgent(stack.server_url, token, tmp_path / "cache.sqlite") as agent:
            await agent.engine.pull()
            for customer in customers:  # the customers' messages are in the local cache
                thread = await agent.db.run(agent.cache.thread, customer.conversation_id)
                assert [r.direction for r in thread] == ["in"]
            await agent.in_state("online", 10)

            await asyncio.to_thread(stack.stop_server)
            await agent.in_state("offline", 10)
            for i in range(200):
                customer = customers[i % len(customers)]
                text = f"{prefix} {i:03d} to {customer.wa_id}"
                await agent.engine.send_reply(customer.conversation_id, text)
                expected[customer.wa_id].append(text)
            assert await agent.pending() == 200
            assert agent.states[-1] == ("offline", 200)
            # Every reply is in its thread at once, shown as pending.
            thread = await agent.db.run(agent.cache.thread, customers[0].conversation_id)
            assert [r.delivery_state for r in thread if r.text.startswith(prefix)] == ["pending"] * 10
            assert accepted_texts(stack, prefix) == []

            await asyncio.to_thread(stack.start_server)

            async def drained() -> bool:
                return await agent.pending() == 0
            await async_until(drained, 30, "outbox drained after the restart")
            await async_until(lambda: asyncio.to_thread(lambda: len(accepted_texts(stack, prefix)) >= 200), 20,
                              "200 sends accepted by the sandbox")
            await agent.in_state("online", 10)

    try:
        asyncio.run(scenario())
    finally:
        if stack.children[0].poll() is not None:  # never leave the module's server down
            stack.start_server()

    time.sleep(0.3)  # a late duplicate would show up here
    accepted = accepted_texts(stack, prefix)
    assert len(accepted) == 200
    assert len({text for _, text in accepted}) == 200, "a reply reached WhatsApp twice"
    assert per_recipient(accepted) == dict(expected)


# -- (b) kill -9 of the desktop while it sends ----------------------------------------------------------


class AgentProcess:
    """tests/integration/agent_proc.py as a child process, its output lines read on a thread."""

    def __init__(self, stack: DemoStack, token: str, cache: Path, *extra: str) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, str(AGENT_PROC), "--server", stack.server_url, "--cache", str(cache),
             "--timeout", "40", *extra],
            env={**_child_env(), "WORKSTATION_AGENT_TOKEN": token},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next_line(self, deadline: float) -> str | None:
        try:
            line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"agent_proc said nothing in time; so far: {self.seen[-5:]}") from None
        if line is not None:
            self.seen.append(line)
        return line

    def acks(self) -> int:
        return sum(line.startswith("ack ") for line in self.seen)

    def finish(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.next_line(deadline) is not None:
            pass
        return self.proc.wait(max(0.1, deadline - time.monotonic()))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self._reader.join(10)
        self.proc.stdout.close()


def _child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "WORKSTATION_AGENT_TOKEN"}


def test_kill_9_of_the_desktop_while_sending_loses_nothing_and_sends_nothing_twice(offline_stack, tmp_path):
    stack = offline_stack
    token, _ = sign_in(stack)
    tag = uuid.uuid4().hex[:8]
    customers = open_conversations(stack, token, 6, tag)
    prefix = f"crash {tag}"
    cache = tmp_path / "agent.sqlite"
    conversations = ",".join(str(c.conversation_id) for c in customers)

    first = AgentProcess(stack, token, cache, "--enqueue", "150", "--conversations", conversations,
                         "--prefix", prefix)
    try:
        deadline = time.monotonic() + 30
        assert first.next_line(deadline) == "queued 150"
        while first.acks() < 20:
            line = first.next_line(deadline)
            assert line is not None and line.startswith("ack "), f"agent_proc stopped early: {first.seen[-5:]}"
        first.proc.send_signal(signal.SIGKILL)
        assert first.proc.wait(10) == -signal.SIGKILL
    finally:
        first.close()
    assert "done" not in first.seen
    acked_before_kill = first.acks()
    assert 20 <= acked_before_kill < 150

    second = AgentProcess(stack, token, cache)
    try:
        assert second.finish(45) == 0, second.seen[-5:]
    finally:
        second.close()
    word, left_text = second.seen[0].split()
    assert word == "queued"
    left = int(left_text)
    # What the first run had not seen acknowledged is still queued (an op in flight at the kill is re-sent
    # with its op id and the server replays its first answer).
    assert 0 < left <= 150 - acked_before_kill
    assert second.seen[-1] == "done" and second.acks() == left

    texts = {f"{prefix} {i:04d}" for i in range(150)}
    wait_until(lambda: len(accepted_texts(stack, prefix)) >= 150, 20, "150 sends accepted by the sandbox")
    time.sleep(0.3)  # a late duplicate would show up here
    counts = Counter(text for _, text in accepted_texts(stack, prefix))
    assert set(counts) == texts
    assert [t for t, n in counts.items() if n != 1] == [], "replies that reached WhatsApp twice"
    server_counts = Counter(m["text"] for m in ServerView(stack, token).refresh().replies(texts))
    assert server_counts == Counter({t: 1 for t in texts}), "the team server stored a reply twice"


# -- (c) a flaky provider -----------------------------------------------------------------------------


def test_a_flaky_provider_gets_every_reply_exactly_once(offline_stack, tmp_path):
    stack = offline_stack
    token, _ = sign_in(stack)
    tag = uuid.uuid4().hex[:8]
    customers = open_conversations(stack, token, 8, tag)
    prefix = f"flaky {tag}"
    texts: dict[str, list[str]] = defaultdict(list)
    faults = httpx.post(f"{stack.sandbox_url}/_sandbox/faults", json={
        "rate": 0.2, "kinds": ["429", "500", "timeout"], "seed": 7, "retry_after": 1, "hang_seconds": 3,
    })
    assert faults.status_code == 200 and faults.json()["rate"] == 0.2
    view = ServerView(stack, token)

    def all_beyond_pending() -> bool:
        replies = view.refresh().replies(all_texts)
        states = Counter(m["delivery_state"] for m in replies)
        assert "failed" not in states, [m for m in replies if m["delivery_state"] == "failed"][:3]
        return len(replies) == 100 and set(states) <= BEYOND_PENDING

    async def scenario() -> None:
        async with HeadlessAgent(stack.server_url, token, tmp_path / "cache.sqlite") as agent:
            for i in range(100):
                customer = customers[i % len(customers)]
                text = f"{prefix} {i:03d} to {customer.wa_id}"
                await agent.engine.send_reply(customer.conversation_id, text)
                texts[customer.wa_id].append(text)

            async def drained() -> bool:
                return await agent.pending() == 0
            await async_until(drained, 20, "outbox drained")

    try:
        asyncio.run(scenario())
        all_texts = {t for group in texts.values() for t in group}
        wait_until(all_beyond_pending, 30, "every reply accepted by the provider", interval=0.25)
    finally:
        httpx.delete(f"{stack.sandbox_url}/_sandbox/faults")

    attempts = sandbox_sends(stack, prefix)
    faulted = Counter(s["fault"] for s in attempts if s["status_code"] != 200)
    assert sum(faulted.values()) > 0, "no fault was injected"
    assert set(faulted) <= {"429", "500", "timeout"}
    accepted = accepted_texts(stack, prefix)
    counts = Counter(text for _, text in accepted)
    assert set(counts) == all_texts
    assert [t for t, n in counts.items() if n != 1] == [], "replies that reached WhatsApp twice"
    assert per_recipient(accepted) == dict(texts)  # retries kept each conversation in order
