"""One signed-in agent's working set: cache, sync engine, canned library; what the UI calls into."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
import logging
from pathlib import Path
from typing import Callable

from workstation import canned, protocol
from workstation.api import ApiClient
from workstation.cache import CAgent, CConversation, Cache, ChangeSet, CustomerCard, FeedRow, SearchHit, ThreadRow
from workstation.errors import AuthError, NetworkError, ServerError
from workstation.paths import data_dir, resources_dir
from workstation.sync import OFFLINE, SIGNED_OUT, DbWorker, SyncEngine

log = logging.getLogger(__name__)

# How long a presence update may take before it is given up (it is repeated anyway).
PRESENCE_TIMEOUT = 3.0
# At most this many presence updates wait to be sent (older ones are stale by then).
PRESENCE_QUEUE = 8
# The key, in this account's cache, of the status the agent last chose (set again on every (re)connect).
STATUS_KEY = "agent_status"


@dataclass(frozen=True)
class FeedSnapshot:
    rows: list  # SearchHit when searching; else the FeedRows of ids[window start:end] (what the view shows)
    agent_names: dict[int, str]
    failed_ops: int
    mentions: list[tuple[int, int, str, str]]  # new notes mentioning the agent: local id, conversation, text, author
    last_note_id: int
    ids: list[int] | None = None  # the feed view's conversation ids, newest first (None when searching)
    watched: list = field(default_factory=list)  # FeedRows the notifications follow (Cache.watch_rows)


def default_cache_path(server_url: str, agent_id: int) -> Path:
    # One cache per server and agent, so switching accounts never mixes their data.
    digest = hashlib.sha256(f"{server_url.rstrip('/')}|{agent_id}".encode()).hexdigest()[:16]
    return data_dir() / "caches" / f"{digest}.sqlite"


class Workspace:
    def __init__(
        self,
        api: ApiClient,
        agent: protocol.AgentPublic,
        *,
        cache_path: Path | None = None,
        on_change: Callable[[ChangeSet], None] = lambda cs: None,
        on_state: Callable[[str, int], None] = lambda state, queued: None,
        on_progress: Callable[[int, int], None] = lambda done, total: None,
        on_presence: Callable[[int], None] = lambda conversation_id: None,
        on_agent_status: Callable[[protocol.AgentPublic | None, Exception | None], None] = lambda agent, error: None,
    ) -> None:
        self.api = api
        self.agent = agent
        self.cache = Cache(cache_path or default_cache_path(api.base_url, agent.id))
        self.db = DbWorker(self.cache)
        self.engine = SyncEngine(api, self.db, on_change=on_change, on_state=on_state, on_progress=on_progress,
                                 on_presence=on_presence, on_connected=self._on_connected, agent_id=agent.id)
        self.canned = canned.load_library(resources_dir() / "canned")
        # Told of every status the server confirms for us (or of the error), also of automatic re-sets.
        self._on_agent_status = on_agent_status
        # The conversation we last announced as viewed (told "left" when we move on or sign off).
        self.presence_conversation: int | None = None
        self._background: set[asyncio.Task] = set()
        # Presence updates go out one at a time, oldest first; a burst never opens a connection per update.
        self._presence_queue: list[tuple[int, str]] = []
        self._presence_sender: asyncio.Task | None = None

    def start(self) -> None:
        self.engine.start()

    async def stop(self) -> None:
        # Presence and status requests on their way are let finish (briefly): a request cancelled halfway
        # leaves its connection to be closed by the garbage collector.
        if self._background:
            await asyncio.wait(list(self._background), timeout=PRESENCE_TIMEOUT + 0.5)
        for task in list(self._background):
            task.cancel()
        await self.engine.stop()
        self.db.shutdown()

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    # -- presence (best effort: never raises, never waits long) ------------------------------------------
    def presence(self, conversation_id: int) -> list[tuple[str, str]]:
        """Colleagues in the conversation now: (name, "typing" | "viewing"), typing first."""
        return self.engine.presence(conversation_id)

    def announce_presence(self, conversation_id: int, state: str) -> None:
        """`send_presence` in the background, owned by the workspace (not by a window that may close). Updates
        are sent one after another, in order; one already waiting to go is not sent twice."""
        self._track_presence(conversation_id, state)
        update = (conversation_id, state)
        if update in self._presence_queue:
            self._presence_queue.remove(update)  # the same again: it goes once, in its newest place
        self._presence_queue.append(update)
        del self._presence_queue[:-PRESENCE_QUEUE]
        if self._presence_sender is None or self._presence_sender.done():
            self._presence_sender = self._spawn(self._send_queued_presence())

    async def _send_queued_presence(self) -> None:
        while self._presence_queue:
            conversation_id, state = self._presence_queue.pop(0)
            await self._post_presence(conversation_id, state)

    def _track_presence(self, conversation_id: int, state: str) -> None:
        if state == "left":
            if self.presence_conversation == conversation_id:
                self.presence_conversation = None
        else:
            self.presence_conversation = conversation_id

    async def send_presence(self, conversation_id: int, state: str) -> bool:
        """Tells the team we are viewing, typing in or have left a conversation. Offline, refused or slow,
        it is dropped (logged at debug): presence is repeated, and it must never hold anything up.
        Returns whether the server took it."""
        self._track_presence(conversation_id, state)
        return await self._post_presence(conversation_id, state)

    async def _post_presence(self, conversation_id: int, state: str) -> bool:
        if self.engine.state in (OFFLINE, SIGNED_OUT):
            return False
        try:
            await self.api.send_presence(conversation_id, state, timeout=PRESENCE_TIMEOUT)
        except (NetworkError, ServerError, AuthError, ValueError) as exc:
            log.debug("presence %s for conversation %s not sent: %s", state, conversation_id, exc)
            return False
        return True

    # -- the agent's own status ------------------------------------------------------------------------
    def chosen_status(self) -> str | None:
        """The status the agent last chose on this machine for this account, if any."""
        value = self.cache.ui_value(STATUS_KEY, "")
        return value if value in ("available", "away", "offline") else None

    async def set_my_status(self, status: str, *, remember: bool = True) -> protocol.AgentPublic:
        """Sets our status on the server and returns the server's answer (the agent row itself arrives
        with the next sync, like a change made by a lead). The choice is remembered first, so an offline attempt is made good
        when the event stream reconnects; errors are raised for the caller to show."""
        if remember:
            await self.db.run(self.cache.set_value, STATUS_KEY, status)
        agent = await self.api.set_agent_status(self.agent.id, status)
        self.agent = agent
        return agent

    def _on_connected(self) -> None:
        """The event stream (re)connected: sign-in, or back after an outage during which the server may
        have set us offline. The status chosen last is set again."""
        status = self.chosen_status()
        if status is not None:
            self._spawn(self._restore_status(status))

    async def _restore_status(self, status: str) -> None:
        try:
            agent = await self.set_my_status(status, remember=False)
        except (NetworkError, ServerError, AuthError) as exc:
            log.info("status %s not set again after reconnecting: %s", status, exc)
            self._on_agent_status(None, exc)
            return
        self._on_agent_status(agent, None)

    async def my_agent(self) -> CAgent | None:
        return await self.db.run(self.cache.agent, self.agent.id)

    async def agents(self) -> list[CAgent]:
        return await self.db.run(self.cache.agents)

    async def sign_off(self, timeout: float = 1.0) -> None:
        """Closing the app: "left" for the open conversation and offline on the server, within `timeout`
        seconds, best effort (the server would set us offline after its grace period anyway). The chosen
        status is kept, and set again at the next sign-in."""
        if self.engine.state in (OFFLINE, SIGNED_OUT):
            return
        jobs = [self.api.set_agent_status(self.agent.id, "offline")]
        if self.presence_conversation is not None:
            jobs.append(self.api.send_presence(self.presence_conversation, "left"))
        try:
            results = await asyncio.wait_for(asyncio.gather(*jobs, return_exceptions=True), timeout)
        except TimeoutError:
            log.info("signing off took over %.1f s; left to the server's grace period", timeout)
            return
        for result in results:
            if isinstance(result, Exception):
                log.info("signing off: %s", result)

    async def handoff(self, to_agent_id: int | None, reason: str = "", go_offline: bool = True) -> protocol.HandoffResult:
        """Ends our shift: our open conversations go back to the queue or to a colleague; errors are raised
        for the caller to show."""
        result = await self.api.handoff(self.agent.id, protocol.Handoff(
            to_agent_id=to_agent_id, reason=reason, go_offline=go_offline))
        if go_offline:
            await self.db.run(self.cache.set_value, STATUS_KEY, "offline")
        self.agent = result.agent
        self.engine.request_pull()
        return result

    async def feed(self) -> list[FeedRow]:
        return await self.db.run(self.cache.feed)

    def feed_rows_now(self, conversation_ids: list[int]) -> list[FeedRow]:
        """The rows the feed is about to paint, read at once on the calling (UI) thread: a primary-key read
        of at most a page of rows on the cache's own read connection, which never waits on the worker."""
        return self.cache.feed_rows(conversation_ids)

    async def thread(self, conversation_id: int) -> list[ThreadRow]:
        return await self.db.run(self.cache.thread, conversation_id)

    async def customer_card(self, conversation_id: int) -> CustomerCard | None:
        return await self.db.run(self.cache.customer_card, conversation_id)

    async def mark_read(self, conversation_id: int) -> ChangeSet:
        return await self.db.run(self.cache.mark_read, conversation_id)

    async def conversation(self, conversation_id: int) -> CConversation | None:
        return await self.db.run(self.cache.conversation, conversation_id)

    async def due_follow_up_canned(self, conversation_id: int) -> list[str]:
        return await self.db.run(self.cache.due_follow_up_canned, conversation_id)

    async def agent_names(self) -> dict[int, str]:
        return {a.id: a.name for a in await self.db.run(self.cache.agents)}

    async def search(self, text: str) -> list[SearchHit]:
        return await self.db.run(self.cache.search, text)

    async def feed_snapshot(self, *, search: str | None, mentions_after: int | None, view: str = "all",
                            window: tuple[int, int] = (0, 64), watch: bool = True, order: str = "recent",
                            case_type: str | None = None) -> FeedSnapshot:
        """Everything the feed and its neighbours show, read in one trip to the database thread: the view's
        ids (in `order`, of `case_type` only if given) and the rows of ids[window], never the whole feed's
        rows; `watch`: also the rows the notifications follow (not needed when only the view changed; a
        lead's include every breached conversation)."""
        needle = "@" + canned.first_name(self.agent.name)

        def read() -> FeedSnapshot:
            if search:
                rows, ids = self.cache.search(search), None
            else:
                ids = self.cache.feed_ids(view, agent_id=self.agent.id, order=order, case_type=case_type)
                start, end = window
                rows = self.cache.feed_rows(ids[max(0, start):max(0, end)])
            if mentions_after is None:
                mentions, last_note = [], self.cache.last_note_id()  # older notes are not news
            else:
                mentions = self.cache.notes_mentioning(needle, after_local_id=mentions_after, not_by=self.agent.id)
                last_note = max([mentions_after] + [m[0] for m in mentions])
            return FeedSnapshot(rows=rows, agent_names={a.id: a.name for a in self.cache.agents()},
                                failed_ops=self.cache.failed_ops(), mentions=mentions, last_note_id=last_note,
                                ids=ids, watched=self.cache.watch_rows(self.agent.id, breaches_of_all=self.agent.role in ("lead", "admin"))
                                if watch and not search else [])

        return await self.db.run(read)

    async def mentions(self, *, after_local_id: int) -> list[tuple[int, int, str, str]]:
        needle = "@" + canned.first_name(self.agent.name)
        return await self.db.run(lambda: self.cache.notes_mentioning(
            needle, after_local_id=after_local_id, not_by=self.agent.id))

    async def last_note_id(self) -> int:
        return await self.db.run(self.cache.last_note_id)

    def load_ui_state(self) -> tuple[dict[str, str], int | None]:
        """Drafts by conversation and the conversation last open; kept in this server's cache, since
        conversation ids mean nothing on another server. Called once at start, before the loop runs."""
        drafts = json.loads(self.cache.ui_value("drafts", "{}"))
        last = self.cache.ui_value("conversation", "")
        return drafts, int(last) if last.isdigit() else None

    async def save_ui_state(self, drafts: dict[str, str], conversation_id: int | None) -> None:
        def save() -> None:
            self.cache.set_value("drafts", json.dumps(drafts))
            self.cache.set_value("conversation", str(conversation_id or ""))
        await self.db.run(save)

    async def failed_ops(self) -> int:
        return await self.db.run(self.cache.failed_ops)

    async def send_reply(self, conversation_id: int, text: str) -> str:
        return await self.engine.send_reply(conversation_id, text)

    async def add_note(self, conversation_id: int, text: str) -> str:
        return await self.engine.add_note(conversation_id, text, self.agent.id)

    async def set_status(self, conversation_id: int, status: str, care: dict | None = None) -> str:
        """`care`: the case type (required to resolve), follow-up, snooze time (protocol.ConversationUpdate)."""
        return await self.engine.update_conversation(conversation_id, status=status, care=care)

    async def assign(self, conversation_id: int, agent_id: int | None, reason: str = "") -> str:
        return await self.engine.update_conversation(conversation_id, assignee=(True, agent_id), reason=reason)

    async def retry(self, op_id: str) -> None:
        await self.engine.retry(op_id)

    async def discard(self, op_id: str) -> None:
        await self.engine.discard(op_id)

    def canned_context(self, card: CustomerCard | None, conversation_id: int | None) -> dict[str, str]:
        context = {
            "agent.name": self.agent.name,
            "agent.first_name": canned.first_name(self.agent.name),
        }
        if card is not None:
            context["customer.name"] = card.display_name
            context["customer.first_name"] = canned.first_name(card.display_name)
        if conversation_id is not None:
            context["conversation.id"] = str(conversation_id)
        return context
