"""Sends agents' replies to the channels in the background, in order per conversation, with retries."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from typing import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from services.channels.base import ChannelError, Connector, ErrorKind, OutboundText
from services.teamserver import changes
from services.teamserver.events import Broadcaster
from services.teamserver.ingest import apply_recorded_statuses
from services.teamserver.models import Conversation, Identity, Message

log = logging.getLogger(__name__)


class Dispatcher:
    """One drain task per conversation sends its pending replies oldest first, so commit order is send
    order whichever request thread committed them."""

    def __init__(
        self,
        engine: Engine,
        broadcaster: Broadcaster,
        connectors: dict[str, Connector],
        *,
        attempts: int = 12,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        stop_grace: float = 15.0,
        on_outcome: Callable[..., None] | None = None,
        outcome_due: Callable[[str], bool] | None = None,
    ) -> None:
        self._engine = engine
        self._broadcaster = broadcaster
        self._connectors = connectors
        self._attempts = attempts
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._stop_grace = stop_grace
        # Told (in a worker thread) of every send that worked or failed for good: the channel's health.
        self._on_outcome = on_outcome
        self._outcome_due_check = outcome_due
        self._loop: asyncio.AbstractEventLoop | None = None
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: set[asyncio.Task] = set()
        self._stopping = asyncio.Event()
        self.active = False

    def _outcome_due(self, channel: str) -> bool:
        """Whether a send that worked is worth reporting now (the health is written every so often, not per send)."""
        return self._on_outcome is not None and (self._outcome_due_check is None or self._outcome_due_check(channel))

    def _outcome(self, channel: str, error: ChannelError | None) -> None:
        if self._on_outcome is not None:
            try:
                self._on_outcome(channel, error=error)
            except Exception:  # health is a report: never let it fail a send
                log.exception("could not record %s's health", channel)

    async def start(self) -> None:
        """Starts sending (again, after a stop): replies committed but never handed to the provider, before
        a crash, a restart or while another worker was the sender, go out now."""
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self.active = True
        await self.rescan()

    async def rescan(self) -> None:
        """Drains every conversation with replies waiting (after a start, or when notices may be lost)."""
        if self.active:
            for conversation_id in await asyncio.to_thread(self._conversations_with_pending):
                self._spawn(conversation_id)

    async def stop(self) -> None:
        """Lets sends already at the provider finish (their outcome must be recorded, or a restart would
        send them again); cancels what is only waiting."""
        self.active = False
        self._stopping.set()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=self._stop_grace)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def submit(self, message_id: int | None, conversation_id: int) -> None:
        """Thread-safe: a reply was committed in this conversation; make sure it gets drained (when this
        worker is the one that sends; on PostgreSQL the others hear of it through the outbox channel)."""
        if self._loop is not None and self.active:
            self._loop.call_soon_threadsafe(self._spawn, conversation_id)

    def _spawn(self, conversation_id: int) -> None:
        if self._stopping.is_set() or not self.active:
            return
        task = asyncio.ensure_future(self._drain(conversation_id))
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("reply dispatch failed", exc_info=task.exception())

    def _conversations_with_pending(self) -> list[int]:
        with Session(self._engine) as s:
            rows = s.exec(
                select(Message.conversation_id)
                .where(Message.direction == "out", Message.delivery_state == "pending")
                .group_by(Message.conversation_id).order_by(Message.conversation_id)
            ).all()
        return list(rows)

    def _oldest_pending(self, conversation_id: int) -> tuple[Message, OutboundText] | None:
        with Session(self._engine) as s:
            message = s.exec(
                select(Message)
                .where(Message.conversation_id == conversation_id, Message.direction == "out",
                       Message.delivery_state == "pending")
                .order_by(Message.id).limit(1)
            ).first()
            if message is None:
                return None
            conversation = s.get(Conversation, message.conversation_id)
            identity = s.get(Identity, conversation.identity_id)
            reply_to = None
            if conversation.public or conversation.channel == "email":
                # A public answer replies to the customer's newest public post in the conversation; an email
                # answer threads to the customer's newest mail in it (In-Reply-To, References, "Re:" subject).
                reply_to = s.exec(
                    select(Message.provider_id)
                    .where(Message.conversation_id == conversation.id, Message.direction == "in",
                           Message.provider_id.is_not(None))
                    .order_by(Message.created_at.desc(), Message.id.desc()).limit(1)
                ).first()
            template = None
            if message.kind == "template" and message.payload:
                template = json.loads(message.payload).get("template")
            elif message.kind == "private_reply" and message.payload:
                # The one private message Meta allows in answer to a public comment: addressed to the comment.
                reply_to = json.loads(message.payload).get("comment_id")
            s.expunge(message)
            return message, OutboundText(recipient_handle=identity.handle, text=message.text,
                                         reply_to_provider_id=reply_to, public=conversation.public,
                                         template=template)

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
            changes.record(s, "message", message.id)
            s.commit()
            return changes.committed_seq(s)

    async def _drain(self, conversation_id: int) -> None:
        async with self._locks[conversation_id]:
            while not self._stopping.is_set():
                loaded = await asyncio.to_thread(self._oldest_pending, conversation_id)
                if loaded is None:
                    return
                await self._send(*loaded)

    async def _send(self, message: Message, outbound: OutboundText) -> None:
        connector = self._connectors.get(message.channel)
        if connector is None:
            error = ChannelError(ErrorKind.PERMISSION, f"{message.channel} is not configured on this server")
            self._broadcaster.publish(await asyncio.to_thread(self._finish, message.id, error=error))
            return
        for attempt in range(1, self._attempts + 1):
            try:
                result = await connector.send(outbound)
            except ChannelError as exc:
                if exc.kind == ErrorKind.RETRYABLE and attempt < self._attempts:
                    # The provider's Retry-After wins over our own backoff: never hammer.
                    delay = exc.retry_after or min(self._base_delay * 2 ** (attempt - 1), self._max_delay)
                    log.warning("send of message %s failed (%s); retry %s in %.1fs", message.id, exc, attempt, delay)
                    try:
                        await asyncio.wait_for(self._stopping.wait(), delay)
                        return  # stopping: the reply stays pending and goes out after the restart
                    except TimeoutError:
                        continue
                log.warning("send of message %s failed for good: %s", message.id, exc)
                seq = await asyncio.to_thread(self._finish, message.id, error=exc)
                self._broadcaster.publish(seq)
                if exc.kind in (ErrorKind.AUTH_EXPIRED, ErrorKind.PERMISSION, ErrorKind.RETRYABLE):
                    # The channel's fault, not this customer's: the admin sees it in the channel's health.
                    await asyncio.to_thread(self._outcome, message.channel, exc)
                return
            seq = await asyncio.to_thread(self._finish, message.id, provider_id=result.provider_message_id)
            self._broadcaster.publish(seq)
            if self._outcome_due(message.channel):
                await asyncio.to_thread(self._outcome, message.channel, None)
            return
