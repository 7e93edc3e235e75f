"""Polled channels (Telegram getUpdates, X mentions and DMs, IMAP): one loop per connector that asks the
provider for what is new, stores it through the same writer as webhooks, and only then moves its cursor.

Nothing is lost and nothing is stored twice:
- the cursor is saved (ServerMeta, `poll_cursor:<name>`) only after the batch it came with is committed, so a
  crash between the two polls the same items again;
- storing is idempotent on the provider's message id (ingest skips messages it already has), so polling the
  same items again stores nothing new;
- for Telegram the cursor *is* the confirmation: the next getUpdates with offset = last update_id + 1 tells
  Telegram to forget the earlier ones, so it is only sent after they are stored.

Errors: a `ChannelError` with `retry_after` (Telegram 429 `retry_after`, X `x-rate-limit-reset`) waits exactly
that long; other errors back off exponentially with jitter up to `max_backoff`. Each loop records the
channel's health (`channel_health:<name>`: last successful poll, last error and its kind) for the admin.

Only the elected worker polls (like the dispatcher sends): two pollers would confirm each other's updates.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Awaitable, Callable, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.channels.base import ChannelError, WebhookBatch
from services.teamserver.models import ServerMeta, utcnow

log = logging.getLogger(__name__)

CURSOR_KEY = "poll_cursor:{}"
HEALTH_KEY = "channel_health:{}"


@dataclass(frozen=True)
class PollResult:
    batch: WebhookBatch
    # The cursor to save once `batch` is stored (None: keep the old one). A str: connectors encode what they
    # need (an offset, a since_id and a pagination token, a UIDVALIDITY and last UID) as text.
    cursor: str | None
    # How long to wait before the next poll (0: at once, e.g. a long poll returned or more pages wait).
    wait: float = 0.0
    # What failed in a poll that still brought news (X: one endpoint of two): the admin sees it in the health.
    errors: tuple[ChannelError, ...] = ()


class PollingConnector(Protocol):
    channel: str

    async def poll(self, cursor: str | None) -> PollResult: ...


Store = Callable[[WebhookBatch], Awaitable[int]]


def load_cursor(engine: Engine, name: str) -> str | None:
    with Session(engine) as s:
        row = s.get(ServerMeta, CURSOR_KEY.format(name))
        return row.value if row else None


def save_cursor(engine: Engine, name: str, cursor: str) -> None:
    with Session(engine) as s:
        row = s.get(ServerMeta, CURSOR_KEY.format(name)) or ServerMeta(key=CURSOR_KEY.format(name), value="")
        row.value = cursor
        s.add(row)
        s.commit()


def record_health(engine: Engine, name: str, *, ok: bool, error: ChannelError | None = None,
                  at: datetime | None = None, **extra: Any) -> None:
    """Keeps what the admin's channel list shows: when the channel last worked, and its last error."""
    at = at or utcnow()
    with Session(engine) as s:
        row = s.get(ServerMeta, HEALTH_KEY.format(name)) or ServerMeta(key=HEALTH_KEY.format(name), value="{}")
        try:
            health = json.loads(row.value or "{}")
        except ValueError:
            health = {}
        if ok:
            health["last_ok_at"] = at.isoformat()
        if error is not None:
            health.update(last_error=error.title, last_error_kind=str(error.kind), last_error_code=error.code,
                          last_error_at=at.isoformat())
        health.update(extra)
        row.value = json.dumps(health)
        s.add(row)
        s.commit()


def clear_health(engine: Engine, name: str) -> None:
    with Session(engine) as s:
        row = s.get(ServerMeta, HEALTH_KEY.format(name))
        if row is not None:
            s.delete(row)
            s.commit()


def read_health(engine: Engine, name: str) -> dict:
    with Session(engine) as s:
        row = s.get(ServerMeta, HEALTH_KEY.format(name))
    try:
        return json.loads(row.value) if row else {}
    except ValueError:
        return {}


class Poller:
    """Polls one connector until stopped."""

    def __init__(self, engine: Engine, connector: PollingConnector, store: Store, *, name: str | None = None,
                 idle_wait: float = 1.0, base_backoff: float = 1.0, max_backoff: float = 300.0,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.engine = engine
        self.connector = connector
        self.store = store
        self.name = name or connector.channel
        self.idle_wait = idle_wait
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        self._task: asyncio.Task | None = None
        self.failures = 0
        # Figures for tests: polls made and records stored.
        self.polls = 0
        self.stored = 0

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def poll_once(self) -> float:
        """One poll: stores what came, then moves the cursor; returns how long to wait before the next."""
        cursor = await asyncio.to_thread(load_cursor, self.engine, self.name)
        try:
            result = await self.connector.poll(cursor)
        except ChannelError as exc:
            await asyncio.to_thread(record_health, self.engine, self.name, ok=False, error=exc)
            if exc.retry_after is not None:
                # The provider said when: exactly that, not our backoff (which only counts our guesses).
                log.warning("%s: %s; waiting %.0f s as the provider asks", self.name, exc.title, exc.retry_after)
                return max(0.0, exc.retry_after)
            self.failures += 1
            delay = min(self.max_backoff, self.base_backoff * 2 ** min(self.failures - 1, 16))
            log.warning("%s: poll failed (%s: %s); next try in %.1f s", self.name, exc.kind, exc.title, delay)
            return delay * random.uniform(0.5, 1.0)  # jitter: many pollers never retry in step
        self.polls += 1
        batch = result.batch
        if batch.messages or batch.statuses:
            self.stored += await self.store(batch)
        if result.cursor is not None and result.cursor != cursor:
            await asyncio.to_thread(save_cursor, self.engine, self.name, result.cursor)
        self.failures = 0
        await asyncio.to_thread(record_health, self.engine, self.name, ok=True,
                                error=result.errors[0] if result.errors else None)
        return result.wait

    async def _run(self) -> None:
        while True:
            try:
                wait = await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a bug in one poll must not end polling for good
                self.failures += 1
                log.exception("%s: poll crashed", self.name)
                wait = min(self.max_backoff, self.base_backoff * 2 ** min(self.failures - 1, 16))
            await self._sleep(wait if wait > 0 else 0)
