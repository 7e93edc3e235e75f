"""One signed-in agent's working set: cache, sync engine, canned library; what the UI calls into."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
import logging
from pathlib import Path
from typing import Callable

from workstation import canned, protocol
from workstation.api import ApiClient
from workstation.cache import CConversation, Cache, ChangeSet, CustomerCard, FeedRow, SearchHit, ThreadRow
from workstation.paths import data_dir, resources_dir
from workstation.sync import DbWorker, SyncEngine

log = logging.getLogger(__name__)


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
    ) -> None:
        self.api = api
        self.agent = agent
        self.cache = Cache(cache_path or default_cache_path(api.base_url, agent.id))
        self.db = DbWorker(self.cache)
        self.engine = SyncEngine(api, self.db, on_change=on_change, on_state=on_state, on_progress=on_progress)
        self.canned = canned.load_library(resources_dir() / "canned")

    def start(self) -> None:
        self.engine.start()

    async def stop(self) -> None:
        await self.engine.stop()
        self.db.shutdown()

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

    async def agent_names(self) -> dict[int, str]:
        return {a.id: a.name for a in await self.db.run(self.cache.agents)}

    async def search(self, text: str) -> list[SearchHit]:
        return await self.db.run(self.cache.search, text)

    async def feed_snapshot(self, *, search: str | None, mentions_after: int | None, view: str = "all",
                            window: tuple[int, int] = (0, 64), watch: bool = True) -> FeedSnapshot:
        """Everything the feed and its neighbours show, read in one trip to the database thread: the view's
        ids and the rows of ids[window], never the whole feed's rows; `watch`: also the rows the
        notifications follow (not needed when only the view changed)."""
        needle = "@" + canned.first_name(self.agent.name)

        def read() -> FeedSnapshot:
            if search:
                rows, ids = self.cache.search(search), None
            else:
                ids = self.cache.feed_ids(view, agent_id=self.agent.id)
                start, end = window
                rows = self.cache.feed_rows(ids[max(0, start):max(0, end)])
            if mentions_after is None:
                mentions, last_note = [], self.cache.last_note_id()  # older notes are not news
            else:
                mentions = self.cache.notes_mentioning(needle, after_local_id=mentions_after, not_by=self.agent.id)
                last_note = max([mentions_after] + [m[0] for m in mentions])
            return FeedSnapshot(rows=rows, agent_names={a.id: a.name for a in self.cache.agents()},
                                failed_ops=self.cache.failed_ops(), mentions=mentions, last_note_id=last_note,
                                ids=ids, watched=self.cache.watch_rows(self.agent.id) if watch and not search else [])

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

    async def set_status(self, conversation_id: int, status: str) -> str:
        return await self.engine.update_conversation(conversation_id, status=status)

    async def assign(self, conversation_id: int, agent_id: int | None) -> str:
        return await self.engine.update_conversation(conversation_id, assignee=(True, agent_id))

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
