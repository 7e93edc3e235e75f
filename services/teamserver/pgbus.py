"""PostgreSQL as the bus between team-server workers: LISTEN/NOTIFY for new changes and queued replies,
and a session advisory lock that elects the one worker that sends replies to the channels."""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

import psycopg

log = logging.getLogger(__name__)

LEADER_LOCK = 0x57534450  # "WSDP": held by the worker whose dispatcher sends replies
RETRY_SECONDS = 1.0
LEADER_POLL_SECONDS = 2.0


class _Background:
    """A coroutine `_run` kept as a task from `start` until `stop`."""

    _task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        raise NotImplementedError


class Listener(_Background):
    """Keeps a LISTEN connection open (reconnecting after failures) and hands notifications' payloads to
    the callback of their channel. `on_connect` runs after every (re)connect: notifications sent while we
    were away are lost, so the caller catches up from the database."""

    def __init__(self, dsn: str, handlers: dict[str, Callable[[str], None]],
                 on_connect: Callable[[], Awaitable[None]]) -> None:
        self._dsn = dsn
        self._handlers = handlers
        self._on_connect = on_connect
        self.connected = asyncio.Event()

    async def _run(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._dsn, autocommit=True) as conn:
                    for channel in self._handlers:
                        await conn.execute(f'LISTEN "{channel}"')
                    self.connected.set()
                    await self._on_connect()
                    async for note in conn.notifies():
                        handler = self._handlers.get(note.channel)
                        if handler is not None:
                            handler(note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect after a pause
                self.connected.clear()
                log.warning("change listener lost its database connection (%s); reconnecting",
                            type(exc).__name__)
                await asyncio.sleep(RETRY_SECONDS)


class LeaderElection(_Background):
    """Tries to hold a session-level advisory lock; runs `on_elected` when it gets it and `on_deposed` when
    its connection (and so the lock) is lost. A worker that dies releases the lock with its connection."""

    def __init__(self, dsn: str, on_elected: Callable[[], Awaitable[None]],
                 on_deposed: Callable[[], Awaitable[None]]) -> None:
        self._dsn = dsn
        self._on_elected = on_elected
        self._on_deposed = on_deposed
        self.leader = False

    async def stop(self) -> None:
        await super().stop()
        if self.leader:
            self.leader = False
            await self._on_deposed()

    async def _run(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._dsn, autocommit=True) as conn:
                    while True:
                        if not self.leader:
                            # Keyed by schema too: team databases in other schemas elect their own.
                            cur = await conn.execute(
                                "SELECT pg_try_advisory_lock(%s, hashtext(current_schema()))", (LEADER_LOCK,))
                            row = await cur.fetchone()
                            if row and row[0]:
                                self.leader = True
                                log.info("this worker sends replies to the channels")
                                await self._on_elected()
                        else:
                            await conn.execute("SELECT 1")
                        await asyncio.sleep(LEADER_POLL_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - lost the connection: lost the lock too
                log.warning("leader connection lost (%s)", type(exc).__name__)
                if self.leader:
                    self.leader = False
                    await self._on_deposed()
                await asyncio.sleep(RETRY_SECONDS)
