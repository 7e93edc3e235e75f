"""The canned library an agent works with: the team's responses and their own, synced from the team server.

`CannedLibrary` turns the cache's canned rows into `canned.CannedResponse` objects (keyed by their stable key,
e.g. "es-greeting", with the server id of each kept beside it), leaves out deleted responses and other agents'
personal ones, orders them by use and title, and ranks them for a customer's message with a `Suggester` that is
rebuilt only when the responses' text changes. Until the first sync has brought any canned response (first
start, offline) it serves the library bundled in resources/canned.

`CannedStore` is what a view calls: the library kept in step with the cache (on the database worker), and the
team server's canned API (create, edit, delete, count a use), with the server's answer shown at once.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from workstation import canned, protocol
from workstation.cache import Cache, CCanned, ChangeSet
from workstation.errors import WorkstationError
from workstation.suggest import Suggester, Suggestion

log = logging.getLogger(__name__)

# The categories of the library, aligned with the case types (information, incident, post-sale), plus the
# general ones, the crisis holding statements and the follow-up check-ins.
CATEGORIES = ("general", "information", "incident", "post-sale", "crisis", "follow-up")
LANGUAGES = ("es", "en")
SUGGESTIONS = 3


@dataclass(frozen=True)
class LibraryEntry:
    response: canned.CannedResponse
    # The team server's id (for edits and usage counts); None for the bundled library.
    server_id: int | None = None
    # None: a team response (leads edit it); else the agent whose own response it is.
    owner_agent_id: int | None = None
    usage_count: int = 0

    @property
    def key(self) -> str:
        return self.response.id

    @property
    def team(self) -> bool:
        return self.owner_agent_id is None


def _json(text: str | None, default: Any) -> Any:
    try:
        value = json.loads(text or "")
    except ValueError:
        return default
    return value if isinstance(value, type(default)) else default


def entry_from_row(row: CCanned) -> LibraryEntry:
    """A cached canned row as a library entry; malformed JSON columns count as empty."""
    variants = {k: v for k, v in _json(row.variants, {}).items() if isinstance(k, str) and isinstance(v, str)}
    keywords = tuple(k for k in _json(row.keywords, []) if isinstance(k, str))
    response = canned.CannedResponse(
        id=row.key, title=row.title, shortcut=row.shortcut, category=row.category, language=row.language,
        body=row.body, variants=variants, keywords=keywords)
    return LibraryEntry(response, row.id, row.owner_agent_id, row.usage_count or 0)


def entry_from_public(item: protocol.CannedPublic) -> LibraryEntry:
    response = canned.CannedResponse(
        id=item.key, title=item.title, shortcut=item.shortcut, category=item.category, language=item.language,
        body=item.body, variants=dict(item.variants), keywords=tuple(item.keywords))
    return LibraryEntry(response, item.id, item.owner_agent_id, item.usage_count)


def order_key(entry: LibraryEntry) -> tuple:
    """The library's order: most used first, then by title."""
    return (-entry.usage_count, entry.response.title.casefold(), entry.key)


def bundled_library() -> list[canned.CannedResponse]:
    from workstation.paths import resources_dir

    return canned.load_library(resources_dir() / "canned")


@dataclass(frozen=True)
class _State:
    entries: tuple[LibraryEntry, ...] = ()
    by_key: dict[str, LibraryEntry] = field(default_factory=dict)
    fallback: bool = False
    # The responses the suggester indexes, by key order: an equal tuple means the suggester can stay.
    indexed: tuple[canned.CannedResponse, ...] = ()
    suggester: Suggester | None = None


class CannedLibrary:
    """One agent's view of the canned library. `load` reads the cache (blocking: call it on the database
    worker); everything else is cheap and safe from any thread, since each change swaps in a new state."""

    def __init__(self, agent_id: int | None, *,
                 fallback: Callable[[], Sequence[canned.CannedResponse]] | None = bundled_library) -> None:
        self.agent_id = agent_id
        self._fallback = fallback
        self._fallback_responses: list[canned.CannedResponse] | None = None
        self._state = _State()
        self._lock = threading.Lock()  # serialises writers; readers take the state as it is
        self.version = 0  # bumped on every change, for views to know when to redraw

    @classmethod
    def from_responses(cls, responses: Iterable[canned.CannedResponse], agent_id: int | None = None) -> CannedLibrary:
        """A fixed library (the bundled one, or a test's), every response a team response."""
        library = cls(agent_id, fallback=None)
        library.set_entries([LibraryEntry(r) for r in responses], fallback=True)
        return library

    # -- reading the cache and the server's answers ------------------------------------------------------------
    def load(self, cache: Cache) -> bool:
        """Reads the synced library from the cache (the bundled one while nothing has been synced). Returns
        whether anything the views show changed."""
        rows = cache.canned_rows(self.agent_id)
        if rows or cache.canned_synced():
            return self.set_entries([entry_from_row(r) for r in rows])
        return self.set_entries([LibraryEntry(r) for r in self._bundled()], fallback=True)

    def _bundled(self) -> list[canned.CannedResponse]:
        if self._fallback_responses is None:
            try:
                self._fallback_responses = list(self._fallback()) if self._fallback else []
            except canned.CannedLibraryError:
                log.exception("the bundled canned library cannot be read")
                self._fallback_responses = []
        return self._fallback_responses

    @staticmethod
    def handles(changes: ChangeSet) -> bool:
        """Whether a change set may have changed the library (then `load` again)."""
        return bool(changes.canned_changed or changes.reset)

    def set_entries(self, entries: Iterable[LibraryEntry], *, fallback: bool = False) -> bool:
        """Replaces the library with `entries` (filtered and ordered here). Returns whether anything changed."""
        visible = [e for e in entries if e.team or self.agent_id is None or e.owner_agent_id == self.agent_id]
        ordered = tuple(sorted(visible, key=order_key))
        with self._lock:
            old = self._state
            if ordered == old.entries and fallback == old.fallback:
                return False
            indexed = tuple(sorted((e.response for e in ordered), key=lambda r: r.id))
            suggester = old.suggester
            if indexed != old.indexed or suggester is None:
                # The responses' text changed (not only their usage counts): index them again.
                suggester = Suggester(indexed) if indexed else None
            self._state = _State(ordered, {e.key: e for e in ordered}, fallback, indexed, suggester)
            self.version += 1
        return True

    def apply_public(self, item: protocol.CannedPublic) -> bool:
        """Shows the server's answer to a write at once; the same row comes back with the next sync."""
        entries = [e for e in self._state.entries if e.server_id != item.id and e.key != item.key]
        if not item.deleted:
            entries.append(entry_from_public(item))
        return self.set_entries(entries, fallback=self._state.fallback and not entries)

    def forget(self, server_id: int) -> bool:
        """Drops a response the server has deleted, before the sync says so."""
        state = self._state
        return self.set_entries([e for e in state.entries if e.server_id != server_id], fallback=state.fallback)

    # -- what the views read -----------------------------------------------------------------------------------
    @property
    def entries(self) -> list[LibraryEntry]:
        """Every response the agent may use, most used first, then by title."""
        return list(self._state.entries)

    @property
    def responses(self) -> list[canned.CannedResponse]:
        return [e.response for e in self._state.entries]

    @property
    def fallback(self) -> bool:
        """True while the library is the bundled one (nothing synced yet): nothing can be edited."""
        return self._state.fallback

    def entry(self, key: str) -> LibraryEntry | None:
        return self._state.by_key.get(key)

    def server_id(self, key: str) -> int | None:
        entry = self._state.by_key.get(key)
        return entry.server_id if entry else None

    def suggestions(self, last_customer_message: str, language: str | None = None,
                    k: int = SUGGESTIONS) -> list[Suggestion]:
        """The `k` responses that fit the customer's last message best, best first; the customer's language
        (`language`, or guessed from the message) is preferred."""
        suggester = self._state.suggester
        if suggester is None or not last_customer_message or not last_customer_message.strip():
            return []
        return suggester.suggest(last_customer_message, language=language, k=k)

    def search(self, query: str, *, language: str | None = None) -> list[LibraryEntry]:
        """Responses whose shortcut, title, category, keywords or text hold every word of `query` (accents
        and case ignored): shortcut matches first, then `language`, then the library's order."""
        words = canned._fold(query.strip().lstrip("/")).split()
        hits = []
        for position, entry in enumerate(self._state.entries):
            r = entry.response
            if words:
                haystack = canned._fold(" ".join((r.shortcut, r.title, r.category, " ".join(r.keywords), r.body,
                                                  *r.variants.values())))
                if not all(w in haystack for w in words):
                    continue
            shortcut_hit = bool(words) and canned._fold(r.shortcut).startswith(words[0])
            hits.append((not shortcut_hit, language is not None and r.language != language, position, entry))
        hits.sort(key=lambda h: h[:3])
        return [h[3] for h in hits]

    def shortcut_owner(self, shortcut: str, language: str, *, besides: str | None = None) -> LibraryEntry | None:
        """The response already answering to /`shortcut` in `language` (other than the one keyed `besides`)."""
        wanted = canned._fold(shortcut.strip().lstrip("/"))
        for entry in self._state.entries:
            r = entry.response
            if entry.key != besides and r.language == language and canned._fold(r.shortcut) == wanted:
                return entry
        return None

    def close(self) -> None:
        with self._lock:
            if self._state.suggester is not None:
                self._state.suggester.close()
            self._state = _State()


# -- template checks, as data a view can word in the user's language --------------------------------------------
@dataclass(frozen=True)
class TemplateIssue:
    kind: str  # "stray", "empty_placeholder", "unknown_variable", "other"
    detail: str  # the stray mark, the variable's name, or canned's own words for "other"
    position: int | None = None


_ISSUE_PATTERNS = (
    ("stray", re.compile(r"^stray '(.+)' at (\d+)$")),
    ("empty_placeholder", re.compile(r"^empty placeholder at (\d+)()$")),
    ("unknown_variable", re.compile(r"^unknown variable '(.+)'()$")),
)


def template_issues(text: str) -> list[TemplateIssue]:
    """`canned.template_problems` as structured issues."""
    issues = []
    for problem in canned.template_problems(text):
        for kind, pattern in _ISSUE_PATTERNS:
            match = pattern.match(problem)
            if match:
                first, second = match.groups()
                if kind == "empty_placeholder":
                    issues.append(TemplateIssue(kind, "", int(first)))
                elif kind == "stray":
                    issues.append(TemplateIssue(kind, first, int(second)))
                else:
                    issues.append(TemplateIssue(kind, first))
                break
        else:
            issues.append(TemplateIssue("other", problem))
    return issues


def variant_limit(key: str) -> int | None:
    """The length a variant must keep to (X and public posts: 280), or None."""
    return canned.SHORT_VARIANT_LIMIT if key in canned.SHORT_VARIANT_KEYS else None


def variant_key_for(response: canned.CannedResponse, channel: str | None, *, public: bool | None = None) -> str | None:
    """The variant `canned.body_for` picks on `channel` (None: the body itself)."""
    keys = []
    if public is True:
        keys.append("public")
    elif public is False:
        keys.append("private")
    if channel:
        keys.append(channel)
    return next((key for key in keys if response.variants.get(key)), None)


# -- the store: the library kept in step, and the server's canned API -------------------------------------------
class CannedStore:
    """The library of one signed-in agent plus the writes a view may make. Reads of the cache run through
    `run` (the database worker); writes go to the server and show its answer at once."""

    def __init__(self, library: CannedLibrary, *, api: Any, agent: protocol.AgentPublic,
                 cache: Cache | None = None, run: Callable[..., Awaitable[Any]] | None = None,
                 request_pull: Callable[[], None] | None = None) -> None:
        self.library = library
        self.api = api  # workstation.api.ApiClient or anything with its canned methods
        self.agent = agent
        self.cache = cache
        self._run = run
        self._request_pull = request_pull

    @classmethod
    def from_workspace(cls, workspace: Any) -> CannedStore:
        """The store of a `workstation.workspace.Workspace` (its cache, database worker, API and agent)."""
        return cls(CannedLibrary(workspace.agent.id), api=workspace.api, agent=workspace.agent,
                   cache=workspace.cache, run=workspace.db.run, request_pull=workspace.engine.request_pull)

    @property
    def can_edit_team(self) -> bool:
        """Leads and admins keep the team's library."""
        return self.agent.role in ("lead", "admin")

    def can_edit(self, entry: LibraryEntry | None) -> bool:
        if entry is None or entry.server_id is None:
            return False
        return self.can_edit_team if entry.team else entry.owner_agent_id == self.agent.id

    async def refresh(self) -> bool:
        """Reads the library from the cache again; True when it changed."""
        if self.cache is None:
            return False
        if self._run is None:
            return self.library.load(self.cache)
        return await self._run(self.library.load, self.cache)

    async def apply_changes(self, changes: ChangeSet) -> bool:
        return await self.refresh() if self.library.handles(changes) else False

    def _pull(self) -> None:
        if self._request_pull is not None:
            self._request_pull()

    async def save(self, body: protocol.CannedWrite, server_id: int | None = None) -> protocol.CannedPublic:
        """Creates (no `server_id`) or changes a response; raises the server's refusal (403, 422) or
        NetworkError for the caller to show."""
        if server_id is None:
            result = await self.api.create_canned(body)
        else:
            result = await self.api.update_canned(server_id, body)
        self.library.apply_public(result)
        self._pull()
        return result

    async def delete(self, entry: LibraryEntry) -> None:
        if entry.server_id is None:
            raise ValueError("the bundled library cannot be changed")
        await self.api.delete_canned(entry.server_id)
        self.library.forget(entry.server_id)
        self._pull()

    async def count_use(self, key: str) -> bool:
        """Tells the server a response was used (it ranks the library). Best effort: offline or refused, the
        use is not counted, and that is all."""
        server_id = self.library.server_id(key)
        if server_id is None:
            return False
        try:
            await self.api.count_canned_use(server_id)
        except WorkstationError as exc:
            log.info("use of canned response %s not counted: %s", key, exc)
            return False
        return True


def write_from(response: canned.CannedResponse, *, team: bool) -> protocol.CannedWrite:
    """The write that stores `response` as it is (for tests and imports)."""
    return protocol.CannedWrite(title=response.title, shortcut=response.shortcut, category=response.category,
                                language=response.language, body=response.body, variants=dict(response.variants),
                                keywords=list(response.keywords), team=team)
