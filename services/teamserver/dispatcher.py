"""Sends agents' replies to the channels in the background, in order per conversation, with retries."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from services.channels.base import ChannelError, Connector, ErrorKind, OutboundText
from services.teamserver import changes
from services.teamserver.events import Broadcaster
from services.teamserver.ingest import apply_recorded_statuses
from services.teamserver.models import Conversation, Identity, Message

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        broadcaster: Broadcaster,
        connectors: dict[str, Connector],
        *,
        attempts: int = 12,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
    ) -> None:
        self._engine = engine
        self._broadcaster = broadcaster
        self._connectors = connectors
        self._attempts = attempts
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._loop: asyncio.AbstractEventLoop | None = None
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        # Replies committed before a crash or restart but never handed to the provider go out now.
        pending = await asyncio.to_thread(self._pending_ids)
        for message_id, conversation_id in pending:
            self._spawn(message_id, conversation_id)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def submit(self, message_id: int, conversation_id: int) -> None:
        """Thread-safe: queue a committed pending reply for sending."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._spawn, message_id, conversation_id)

    def _spawn(self, message_id: int, conversation_id: int) -> None:
        # asyncio.Lock wakes waiters first come, first served, so replies leave in commit order.
        task = asyncio.ensure_future(self._send(message_id, conversation_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _pending_ids(self) -> list[tuple[int, int]]:
        with Session(self._engine) as s:
            rows = s.exec(
                select(Message.id, Message.conversation_id)
                .where(Message.direction == "out", Message.delivery_state == "pending")
                .order_by(Message.id)
            ).all()
        return [(r[0], r[1]) for r in rows]

    def _load(self, message_id: int) -> tuple[Message, str] | None:
        with Session(self._engine) as s:
            message = s.get(Message, message_id)
            if message is None or message.delivery_state != "pending":
                return None
            conversation = s.get(Conversation, message.conversation_id)
            identity = s.get(Identity, conversation.identity_id)
            s.expunge(message)
            return message, identity.handle

    def _finish(self, message_id: int, *, provider_id: str | None = None, error: ChannelError | None = None) -> int:
        with Session(self._engine) as s:
            message = s.get(Message, message_id)
            if error is None:
                message.provider_id = provider_id
                message.delivery_state = "accepted"
                apply_recorded_statuses(s, message)
            else:
                message.delivery_state = "failed"
                message.error_kind = str(error.kind)
                message.error_code = error.code
                message.error_title = error.title
            s.add(message)
            s.flush()
            change = changes.record(s, "message", message.id)
            s.commit()
            return change.seq

    async def _send(self, message_id: int, conversation_id: int) -> None:
        async with self._locks[conversation_id]:
            loaded = await asyncio.to_thread(self._load, message_id)
            if loaded is None:
                return
            message, handle = loaded
            connector = self._connectors.get(message.channel)
            if connector is None:
                error = ChannelError(ErrorKind.PERMISSION, f"{message.channel} is not configured on this server")
                seq = await asyncio.to_thread(self._finish, message_id, error=error)
                self._broadcaster.publish(seq)
                return
            for attempt in range(1, self._attempts + 1):
                try:
                    result = await connector.send(OutboundText(recipient_handle=handle, text=message.text))
                except ChannelError as exc:
                    if exc.kind == ErrorKind.RETRYABLE and attempt < self._attempts:
                        # The provider's Retry-After wins over our own backoff: never hammer.
                        delay = exc.retry_after or min(self._base_delay * 2 ** (attempt - 1), self._max_delay)
                        log.warning("send of message %s failed (%s); retry %s in %.1fs", message_id, exc, attempt, delay)
                        await asyncio.sleep(delay)
                        continue
                    log.warning("send of message %s failed for good: %s", message_id, exc)
                    seq = await asyncio.to_thread(self._finish, message_id, error=exc)
                else:
                    seq = await asyncio.to_thread(self._finish, message_id, provider_id=result.provider_message_id)
                self._broadcaster.publish(seq)
                return
