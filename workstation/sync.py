"""The sync engine: delta pulls, the live event stream, and the outbox sender, all on one asyncio loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

from workstation.api import ApiClient
from workstation.cache import Cache, ChangeSet
from workstation import protocol
from workstation.errors import AuthError, ConflictError, NetworkError, ServerError

log = logging.getLogger(__name__)

ONLINE, CONNECTING, OFFLINE, SIGNED_OUT = "online", "connecting", "offline", "signed_out"


@dataclass
class Presence:
    """A colleague's presence in one conversation, by the monotonic clock: viewing until `viewing_until`,
    typing until `typing_until` (typing implies viewing; an agent who stops typing is still viewing)."""

    name: str
    viewing_until: float = 0.0
    typing_until: float = 0.0

    def state(self, now: float) -> str | None:
        if self.typing_until > now:
            return "typing"
        if self.viewing_until > now:
            return "viewing"
        return None


class DbWorker:
    """Serializes every cache call on one thread, so the UI loop never waits on SQLite."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cache-db")

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)
        self.cache.close()


class SyncEngine:
    """Keeps the cache in step with the team server and sends queued writes; reports through callbacks."""

    def __init__(
        self,
        api: ApiClient,
        db: DbWorker,
        *,
        on_change: Callable[[ChangeSet], None] = lambda cs: None,
        on_state: Callable[[str, int], None] = lambda state, queued: None,
        on_progress: Callable[[int, int], None] = lambda done, total: None,
        on_presence: Callable[[int], None] = lambda conversation_id: None,
        on_connected: Callable[[], None] = lambda: None,
        agent_id: int | None = None,
        page_size: int = 1000,
        max_backoff: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.db = db
        self._on_change = on_change
        self._on_state = on_state
        self._on_progress = on_progress
        # Colleagues viewing or typing, by conversation: conversation id -> {agent id: Presence}.
        self._on_presence = on_presence
        self._on_connected = on_connected
        self._agent_id = agent_id
        self._clock = clock
        self._presence: dict[int, dict[int, Presence]] = {}
        self._presence_timers: dict[int, asyncio.TimerHandle] = {}
        self._page_size = page_size
        self._max_backoff = max_backoff
        self.state = CONNECTING
        self._tasks: set[asyncio.Task] = set()
        self._pull_lock = asyncio.Lock()
        self._pull_wanted = asyncio.Event()
        self._outbox_wake = asyncio.Event()
        # Set when the event stream (re)connects: ends an outbox backoff early. New writes do not, or
        # every reply typed while offline would hammer the dead server once more.
        self._server_back = asyncio.Event()
        self._known: tuple[int, str] | None = None  # (cursor, epoch) as last applied
        # Set once a pull has completed since the last (re)connect: only then is it known that the
        # server is the database our queued writes were meant for (see the epoch), so only then send.
        self._synced = asyncio.Event()
        self.synced_once = False

    # -- lifecycle ----------------------------------------------------------------------------------
    async def _sender_guard(self) -> None:
        """Restarts the sender after an unexpected error (a SQLite error, a bug) instead of dying."""
        while True:
            try:
                await self._sender_loop()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox sender failed unexpectedly; restarting it")
                await asyncio.sleep(1.0)

    def start(self) -> None:
        for coro, name in ((self._events_loop(), "events"), (self._pull_loop(), "pull"),
                           (self._sender_guard(), "sender")):
            task = asyncio.ensure_future(coro)
            task.set_name(f"sync-{name}")
            self._tasks.add(task)
            task.add_done_callback(self._task_done)
        self._pull_wanted.set()

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("sync task %s died", task.get_name(), exc_info=task.exception())

    async def stop(self) -> None:
        for handle in self._presence_timers.values():
            handle.cancel()
        self._presence_timers.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.api.aclose()

    async def _set_state(self, state: str) -> None:
        self.state = state
        queued = await self.db.run(self.db.cache.pending_ops)
        self._on_state(state, queued)

    # -- pulling ------------------------------------------------------------------------------------
    async def pull(self) -> ChangeSet:
        """Pulls every page after the stored cursor; each page is applied with its cursor atomically."""
        total = ChangeSet()
        prefetch: asyncio.Future | None = None
        async with self._pull_lock:
            try:
                start = after = await self.db.run(self.db.cache.cursor)
                page = await self.api.sync(after, self._page_size)
                while True:
                    # Fetch the next page while this one is applied: the server and SQLite work side by side.
                    prefetch = None
                    if page.has_more and not page.reset:
                        prefetch = asyncio.ensure_future(self.api.sync(page.next_after, self._page_size))
                        # Its error, if any, is read where it is awaited; this only keeps asyncio quiet
                        # about one that was cancelled after failing.
                        prefetch.add_done_callback(lambda f: f.cancelled() or f.exception())
                    cs = await self.db.run(self.db.cache.apply_page, page)
                    total.merge(cs)
                    # cs.reset also covers an epoch change the cache itself noticed in this page.
                    self._known = None if cs.reset else (page.next_after, page.epoch)
                    if cs.reset:
                        start = 0
                    if cs:
                        self._on_change(cs)
                    # Progress only for pulls of more than one page (an initial sync, a long absence).
                    if page.has_more or after > start:
                        self._on_progress(page.next_after - start, max(page.newest - start, 1))
                    if not page.has_more and not cs.reset:
                        break
                    after = await self.db.run(self.db.cache.cursor)
                    if prefetch is not None and after == page.next_after and not cs.reset:
                        page = await prefetch
                    else:  # a reset (or another writer) moved the cursor: ask again from where it is
                        if prefetch is not None:
                            prefetch.cancel()
                        page = await self.api.sync(after, self._page_size)
            finally:
                if prefetch is not None and not prefetch.done():
                    prefetch.cancel()
        return total

    async def _pull_loop(self) -> None:
        backoff = 0.5
        while True:
            await self._pull_wanted.wait()
            self._pull_wanted.clear()
            try:
                await self.pull()
                backoff = 0.5
                self.synced_once = True
                if not self._synced.is_set():
                    self._synced.set()
                    self._outbox_wake.set()
            except (NetworkError, ServerError) as exc:
                log.info("pull failed (%s); again in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                self._pull_wanted.set()
            except AuthError:
                await self._set_state(SIGNED_OUT)
                return
            except Exception:
                # A bug or a malformed page must not end syncing for the rest of the shift.
                log.exception("pull failed unexpectedly; again in %.1fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                self._pull_wanted.set()

    def request_pull(self) -> None:
        self._pull_wanted.set()

    async def _events_loop(self) -> None:
        backoff = 0.5
        while True:
            try:
                # aclosing: a cancelled stream is closed here and now, not later by the garbage collector.
                async with contextlib.aclosing(self.api.events()) as stream:
                    async for poke in stream:
                        if isinstance(poke, protocol.PresenceEvent):
                            self.presence_event(poke)
                            continue
                        if self.state != ONLINE:
                            await self._set_state(ONLINE)
                            self._server_back.set()
                            self._pull_wanted.set()  # the sender resumes once this pull is through
                            # (Re)connected: the server may have set us offline while we were away.
                            try:
                                self._on_connected()
                            except Exception:
                                log.exception("on_connected failed")
                        backoff = 0.5
                        # The cursor and epoch are read once and then followed in memory: a poke
                        # arrives with every change, and the database thread has better things to do.
                        if self._known is None:
                            self._known = (await self.db.run(self.db.cache.cursor),
                                           await self.db.run(self.db.cache.epoch))
                        if poke.seq > self._known[0] or (poke.epoch and poke.epoch != self._known[1]):
                            self._pull_wanted.set()
                raise NetworkError("event stream ended")
            except AuthError:
                await self._set_state(SIGNED_OUT)
                return
            except (NetworkError, ServerError) as exc:
                self._synced.clear()
                if self.state != OFFLINE:
                    log.info("event stream lost: %s", exc)
                    await self._set_state(OFFLINE)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
            except Exception:
                log.exception("event stream failed unexpectedly")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)

    # -- presence -------------------------------------------------------------------------------------
    def presence_event(self, event: protocol.PresenceEvent) -> None:
        """Records a colleague's presence (our own agent's, from another machine, is ignored) and tells the
        UI; the entry expires after its ttl unless repeated, and the UI hears of that too."""
        if event.agent_id == self._agent_id:
            return
        now = self._clock()
        agents = self._presence.setdefault(event.conversation_id, {})
        if event.state == "left" or event.ttl <= 0:
            if agents.pop(event.agent_id, None) is None:
                return
        else:
            entry = agents.setdefault(event.agent_id, Presence(event.agent_name))
            entry.name = event.agent_name
            until = now + event.ttl
            if event.state == "typing":
                entry.typing_until = until
                entry.viewing_until = max(entry.viewing_until, until)
            else:
                entry.viewing_until = until
            self._schedule_expiry(event.conversation_id, event.ttl)
        if not agents:
            self._presence.pop(event.conversation_id, None)
        self._notify_presence(event.conversation_id)

    def presence(self, conversation_id: int) -> list[tuple[str, str]]:
        """Colleagues in a conversation now: (name, "typing" | "viewing"), typing first, then by name."""
        now = self._clock()
        agents = self._presence.get(conversation_id, {})
        out = []
        for agent_id in list(agents):
            state = agents[agent_id].state(now)
            if state is None:
                del agents[agent_id]
            else:
                out.append((agents[agent_id].name, state))
        if not agents:
            self._presence.pop(conversation_id, None)
        return sorted(out, key=lambda item: (item[1] != "typing", item[0].casefold()))

    def _schedule_expiry(self, conversation_id: int, ttl: float) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a unit test feeding events by hand): presence() still expires by the clock
        old = self._presence_timers.get(conversation_id)
        if old is not None:
            old.cancel()
        # One timer per conversation, at the next moment something in it may expire.
        now = self._clock()
        moments = [t for e in self._presence.get(conversation_id, {}).values()
                   for t in (e.typing_until, e.viewing_until) if t > now]
        delay = (min(moments) - now) if moments else ttl
        self._presence_timers[conversation_id] = loop.call_later(max(0.0, delay) + 0.05, self._expire, conversation_id)

    def _expire(self, conversation_id: int) -> None:
        self._presence_timers.pop(conversation_id, None)
        self.presence(conversation_id)  # drops what has expired
        self._notify_presence(conversation_id)
        if conversation_id in self._presence:
            self._schedule_expiry(conversation_id, 0.0)

    def _notify_presence(self, conversation_id: int) -> None:
        try:
            self._on_presence(conversation_id)
        except Exception:
            log.exception("on_presence failed")

    # -- writing ----------------------------------------------------------------------------------
    async def _queued(self, enqueue: Callable[..., tuple[str, ChangeSet]], *args: Any) -> str:
        """Commits a write to the local outbox (shown at once as pending) and wakes the sender."""
        op_id, cs = await self.db.run(enqueue, *args)
        self._on_change(cs)
        self._outbox_wake.set()
        await self._set_state(self.state)
        return op_id

    async def send_reply(self, conversation_id: int, text: str) -> str:
        return await self._queued(self.db.cache.enqueue_reply, conversation_id, text)

    async def add_note(self, conversation_id: int, text: str, author_agent_id: int) -> str:
        return await self._queued(self.db.cache.enqueue_note, conversation_id, text, author_agent_id)

    async def update_conversation(self, conversation_id: int, *, status: str | None = None,
                                  assignee: tuple[bool, int | None] = (False, None), reason: str = "",
                                  care: dict | None = None) -> str:
        def enqueue() -> tuple[str, ChangeSet]:
            return self.db.cache.enqueue_update(conversation_id, status=status, assignee=assignee, reason=reason,
                                                care=care)

        return await self._queued(enqueue)

    async def retry(self, op_id: str) -> None:
        await self._queued(lambda: (op_id, self.db.cache.retry_op(op_id)))

    async def discard(self, op_id: str) -> None:
        cs = await self.db.run(self.db.cache.discard_op, op_id)
        self._on_change(cs)
        await self._set_state(self.state)
        self.request_pull()  # the server's state replaces whatever the discarded write showed

    async def _post(self, op) -> Any:
        payload = json.loads(op.payload)
        if op.kind == "reply":
            return await self.api.post_reply(op.conversation_id, payload["text"], op.op_id)
        if op.kind == "note":
            return await self.api.post_note(op.conversation_id, payload["text"], op.op_id)
        if op.kind == "update":
            update = protocol.ConversationUpdate(
                status=payload.get("status"), set_assignee=payload.get("set_assignee", False),
                assignee_id=payload.get("assignee_id"), expected_version=payload["expected_version"],
                reason=payload.get("reason", ""), **payload.get("care", {}),
            )
            return await self.api.update_conversation(op.conversation_id, update, op.op_id)
        raise ValueError(f"unknown outbox op kind {op.kind!r}")

    async def _sender_loop(self) -> None:
        backoff = 0.5
        while True:
            op = await self.db.run(self.db.cache.next_op)
            if op is None or not self._synced.is_set():
                await self._outbox_wake.wait()
                self._outbox_wake.clear()
                continue
            try:
                result = await self._post(op)
            except (ValueError, TypeError) as exc:
                # The op itself is unusable (say, text over the limit): park it, don't block the rest.
                log.warning("write %s cannot be sent: %s", op.op_id, exc)
                cs = await self.db.run(self.db.cache.op_failed, op.op_id, "invalid: " + str(exc)[:200])
                self._on_change(cs)
                await self._set_state(self.state)
                continue
            except AuthError:
                await self._set_state(SIGNED_OUT)
                return
            except ConflictError as exc:
                reason = f"changed by {exc.changed_by}" if exc.changed_by else "changed meanwhile"
                log.info("write %s refused: %s", op.op_id, reason)
                cs = await self.db.run(self.db.cache.op_failed, op.op_id, reason, exc.conversation)
                self._on_change(cs)
                self.request_pull()
                await self._set_state(self.state)
                continue
            except (NetworkError, ServerError) as exc:
                if isinstance(exc, ServerError) and not exc.retryable:
                    log.warning("write %s refused: %s", op.op_id, exc)
                    cs = await self.db.run(self.db.cache.op_failed, op.op_id, exc.detail)
                    self._on_change(cs)
                    await self._set_state(self.state)
                    continue
                await self.db.run(self.db.cache.op_attempted, op.op_id, str(exc))
                if isinstance(exc, NetworkError) and self.state != OFFLINE:
                    await self._set_state(OFFLINE)
                # Wait, but wake early when the event stream says the server is back.
                self._server_back.clear()
                try:
                    await asyncio.wait_for(self._server_back.wait(), backoff)
                except TimeoutError:
                    pass
                backoff = min(backoff * 2, self._max_backoff)
                continue
            backoff = 0.5
            cs = await self.db.run(self.db.cache.op_done, op.op_id, result)
            self._on_change(cs)
            await self._set_state(self.state)
