"""In-process fan-out of the newest change sequence to server-sent-event streams."""

from __future__ import annotations

import asyncio


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
