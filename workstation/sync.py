"""The sync engine: delta pulls, the live event stream, and the outbox sender, all on one asyncio loop."""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from workstation.api import ApiClient
from workstation.cache import Cache, ChangeSet
from workstation.errors import AuthError, NetworkError, ServerError

log = logging.getLogger(__name__)

ONLINE, CONNECTING, OFFLINE, SIGNED_OUT = "online", "connecting", "offline", "signed_out"


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
        page_size: int = 500,
        max_backoff: float = 15.0,
    ) -> None:
        self.api = api
        self.db = db
        self._on_change = on_change
        self._on_state = on_state
        self._page_size = page_size
        self._max_backoff = max_backoff
        self.state = CONNECTING
        self._tasks: set[asyncio.Task] = set()
        self._pull_lock = asyncio.Lock()
        self._pull_wanted = asyncio.Event()
        self._outbox_wake = asyncio.Event()

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        for coro, name in ((self._events_loop(), "events"), (self._pull_loop(), "pull"),
                           (self._sender_loop(), "sender")):
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
        async with self._pull_lock:
            while True:
                after = await self.db.run(self.db.cache.cursor)
                page = await self.api.sync(after, self._page_size)
                cs = await self.db.run(self.db.cache.apply_page, page)
                total.merge(cs)
                if cs:
                    self._on_change(cs)
                if not page.has_more and not page.reset:
                    break
        return total

    async def _pull_loop(self) -> None:
        backoff = 0.5
        while True:
            await self._pull_wanted.wait()
            self._pull_wanted.clear()
            try:
                await self.pull()
                backoff = 0.5
            except (NetworkError, ServerError) as exc:
                log.info("pull failed (%s); again in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                self._pull_wanted.set()
            except AuthError:
                await self._set_state(SIGNED_OUT)
                return

    def request_pull(self) -> None:
        self._pull_wanted.set()

    async def _events_loop(self) -> None:
        backoff = 0.5
        while True:
            try:
                async for seq in self.api.events():
                    if self.state != ONLINE:
                        await self._set_state(ONLINE)
                        self._outbox_wake.set()
                    backoff = 0.5
                    if seq > await self.db.run(self.db.cache.cursor):
                        self._pull_wanted.set()
                raise NetworkError("event stream ended")
            except AuthError:
                await self._set_state(SIGNED_OUT)
                return
            except (NetworkError, ServerError) as exc:
                if self.state != OFFLINE:
                    log.info("event stream lost: %s", exc)
                    await self._set_state(OFFLINE)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)

    # -- writing ------------------------------------------------------------------------------------
    async def send_reply(self, conversation_id: int, text: str) -> str:
        """Commits the reply to the local outbox (shown at once as pending) and wakes the sender."""
        op_id, cs = await self.db.run(self.db.cache.enqueue_reply, conversation_id, text)
        self._on_change(cs)
        self._outbox_wake.set()
        await self._set_state(self.state)
        return op_id

    async def _sender_loop(self) -> None:
        backoff = 0.5
        while True:
            op = await self.db.run(self.db.cache.next_op)
            if op is None:
                await self._outbox_wake.wait()
                self._outbox_wake.clear()
                continue
            payload = json.loads(op.payload)
            try:
                message = await self.api.post_reply(op.conversation_id, payload["text"], op.op_id)
            except AuthError:
                await self._set_state(SIGNED_OUT)
                return
            except (NetworkError, ServerError) as exc:
                if isinstance(exc, ServerError) and not exc.retryable:
                    log.warning("reply %s refused: %s", op.op_id, exc)
                    cs = await self.db.run(self.db.cache.op_failed, op.op_id, exc.detail)
                    self._on_change(cs)
                    await self._set_state(self.state)
                    continue
                await self.db.run(self.db.cache.op_attempted, op.op_id, str(exc))
                if isinstance(exc, NetworkError) and self.state != OFFLINE:
                    await self._set_state(OFFLINE)
                # Wait, but wake early when the event stream says the server is back.
                self._outbox_wake.clear()
                try:
                    await asyncio.wait_for(self._outbox_wake.wait(), backoff)
                except TimeoutError:
                    pass
                backoff = min(backoff * 2, self._max_backoff)
                continue
            backoff = 0.5
            cs = await self.db.run(self.db.cache.op_done, op.op_id, message)
            self._on_change(cs)
            await self._set_state(self.state)
