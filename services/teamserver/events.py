"""In-process fan-out of the newest change sequence to server-sent-event streams."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Callable


class Broadcaster:
    """Holds the newest sequence; `publish` may be called from any thread, waiters run on the loop."""

    def __init__(self, latest: int = 0) -> None:
        self.latest = latest
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None
        self.closed = False

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._changed = asyncio.Event()

    def publish(self, seq: int) -> None:
        if self._loop is None or seq <= 0:
            return
        self._loop.call_soon_threadsafe(self._set, seq)

    def _set(self, seq: int) -> None:
        if seq > self.latest:
            self.latest = seq
            assert self._changed is not None
            self._changed.set()
            self._changed = asyncio.Event()

    def wake(self) -> None:
        """Wakes every waiter without a new sequence (something else for the streams: presence)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        assert self._changed is not None
        self._changed.set()
        self._changed = asyncio.Event()

    def close(self) -> None:
        self.closed = True
        if self._changed is not None:
            self._changed.set()

    async def wait_newer(self, seen: int, timeout: float) -> int | None:
        """The newest sequence once it is above `seen`, or None after `timeout` seconds."""
        if self.latest > seen or self.closed:
            return self.latest
        assert self._changed is not None
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            return None
        return self.latest


class PresenceHub:
    """Who is viewing or typing where: short-lived events for the other agents' event streams, never
    stored. Kept in a small numbered ring that each stream reads past its own mark. On PostgreSQL they
    travel through NOTIFY (`notify`), so agents on every worker hear them; the listener calls `deliver`."""

    def __init__(self, broadcaster: Broadcaster, notify: Callable[[str], None] | None = None,
                 keep: int = 512) -> None:
        self._broadcaster = broadcaster
        self._notify = notify
        self._ring: deque[tuple[int, int, str]] = deque(maxlen=keep)
        self.count = 0

    def publish(self, event) -> None:
        """Thread-safe; `event` is a protocol.PresenceEvent."""
        payload = event.model_dump_json()
        if self._notify is not None:
            self._notify(payload)
        else:
            self.deliver(payload)

    def deliver(self, payload: str) -> None:
        loop = self._broadcaster._loop
        if loop is not None:
            loop.call_soon_threadsafe(self._add, payload)

    def _add(self, payload: str) -> None:
        try:
            agent_id = int(json.loads(payload)["agent_id"])
        except (ValueError, KeyError, TypeError):
            return
        self.count += 1
        self._ring.append((self.count, agent_id, payload))
        self._broadcaster._wake()

    def after(self, mark: int, *, not_from: int) -> list[str]:
        """Payloads numbered above `mark`, except those of agent `not_from` (their own)."""
        return [payload for n, agent_id, payload in self._ring if n > mark and agent_id != not_from]
