"""One customer across channels: profile, identities, every conversation with its notes, open follow-ups."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime

from workstation import protocol
from workstation.cache import Cache

log = logging.getLogger(__name__)

VIP_TAG = "VIP"

# The limits of protocol.CustomerUpdate, checked before sending so the agent hears what is wrong in words
# (the server's 422 names pydantic's rules).
MAX_TAGS = 30
MAX_TAG_CHARS = 40
MAX_FIELDS = 50
MAX_FIELD_NAME_CHARS = 60
MAX_FIELD_VALUE_CHARS = 500
MAX_NOTES_CHARS = protocol.MAX_REPLY_CHARS


@dataclass(frozen=True)
class HistoryIdentity:
    channel: str
    handle: str
    display_name: str


@dataclass(frozen=True)
class HistoryNote:
    """An internal note on one of the customer's conversations: seen by the team, never sent."""

    conversation_id: int
    author: str  # "" when the author is unknown here
    author_id: int | None
    created_at: datetime
    text: str
    pending: bool = False  # written here, not yet on the server


@dataclass(frozen=True)
class HistoryConversation:
    conversation_id: int
    channel: str
    status: str
    case_type: str | None  # the outcome, once classified (protocol.CaseType)
    priority: str
    last_message_at: datetime | None
    preview: str
    message_count: int
    public: bool
    resolved_at: datetime | None
    assignee_id: int | None
    notes: tuple[HistoryNote, ...] = ()


@dataclass(frozen=True)
class HistoryFollowUp:
    follow_up_id: int
    conversation_id: int
    due_at: datetime
    note: str
    agent_id: int | None
    agent: str  # whose check-in it is ("" for nobody in particular)
    channel: str | None = None  # the channel of its conversation, when cached


@dataclass(frozen=True)
class CustomerHistory:
    customer_id: int
    display_name: str
    tags: tuple[str, ...] = ()
    fields: dict[str, str] = field(default_factory=dict)
    notes: str = ""
    language: str | None = None
    identities: tuple[HistoryIdentity, ...] = ()
    conversations: tuple[HistoryConversation, ...] = ()  # newest first, every channel
    follow_ups: tuple[HistoryFollowUp, ...] = ()  # open ones, soonest due first

    @property
    def vip(self) -> bool:
        return is_vip(self.tags)

    @property
    def conversation_ids(self) -> frozenset[int]:
        return frozenset(c.conversation_id for c in self.conversations)

    def with_profile(self, customer: protocol.CustomerPublic) -> CustomerHistory:
        """This history with the profile as the server just answered it (before sync brings it)."""
        return CustomerHistory(
            customer_id=self.customer_id, display_name=customer.display_name, tags=tuple(customer.tags),
            fields=dict(customer.fields), notes=customer.notes, language=customer.language,
            identities=self.identities, conversations=self.conversations,
            follow_ups=self.follow_ups)

    def without_follow_up(self, follow_up_id: int) -> CustomerHistory:
        return CustomerHistory(
            customer_id=self.customer_id, display_name=self.display_name, tags=self.tags, fields=self.fields,
            notes=self.notes, language=self.language, identities=self.identities,
            conversations=self.conversations,
            follow_ups=tuple(f for f in self.follow_ups if f.follow_up_id != follow_up_id))


def is_vip(tags) -> bool:
    return any(tag.casefold() == VIP_TAG.casefold() for tag in tags)


def _json(text: str | None, default):
    try:
        value = json.loads(text) if text else default
    except ValueError:
        return default
    return value if isinstance(value, type(default)) else default


def customer_history(cache: Cache, customer_id: int) -> CustomerHistory | None:
    """Everything the cache knows of one customer. Blocking: call it on the database worker (one call, so
    the reads see one state of the cache)."""
    customer = cache.customer(customer_id)
    if customer is None:
        return None
    conversations = cache.customer_conversations(customer_id)
    notes: dict[int, list[HistoryNote]] = {}
    for note, author in cache.conversation_notes([conv.id for conv, _count in conversations]):
        notes.setdefault(note.conversation_id, []).append(HistoryNote(
            conversation_id=note.conversation_id, author=author or "", author_id=note.author_agent_id,
            created_at=note.created_at, text=note.text, pending=note.server_id is None))
    channels = {conv.id: conv.channel for conv, _count in conversations}
    tags = _json(customer.tags, [])
    fields = _json(customer.fields, {})
    return CustomerHistory(
        customer_id=customer.id,
        display_name=customer.display_name,
        tags=tuple(str(t) for t in tags),
        fields={str(k): str(v) for k, v in fields.items()},
        notes=customer.notes or "",
        language=customer.language,
        identities=tuple(HistoryIdentity(i.channel, i.handle, i.display_name)
                         for i in cache.customer_identities(customer_id)),
        conversations=tuple(
            HistoryConversation(
                conversation_id=conv.id, channel=conv.channel, status=conv.status, case_type=conv.case_type,
                priority=conv.priority or "normal", last_message_at=conv.last_message_at,
                preview=conv.last_message_preview or "", message_count=count, public=bool(conv.public),
                resolved_at=conv.resolved_at, assignee_id=conv.assignee_id,
                notes=tuple(notes.get(conv.id, ())))
            for conv, count in conversations),
        follow_ups=tuple(
            HistoryFollowUp(follow_up_id=f.id, conversation_id=f.conversation_id, due_at=f.due_at, note=f.note,
                            agent_id=f.agent_id, agent=agent or "", channel=channels.get(f.conversation_id))
            for f, agent in cache.customer_follow_ups(customer_id)),
    )


def history_for_conversation(cache: Cache, conversation_id: int) -> CustomerHistory | None:
    customer_id = cache.customer_id_of(conversation_id)
    return None if customer_id is None else customer_history(cache, customer_id)


def concerns(cache: Cache, history: CustomerHistory, *, customer_ids: set[int], conversation_ids: set[int],
             follow_ups_changed: bool) -> bool:
    """Whether a change (a ChangeSet's parts) touches this customer's history: the customer itself, one of
    their conversations, a new conversation of theirs, or a follow-up (which may be theirs)."""
    if history.customer_id in customer_ids or follow_ups_changed:
        return True
    if conversation_ids & history.conversation_ids:
        return True
    unknown = conversation_ids - history.conversation_ids
    return bool(unknown) and history.customer_id in cache.customers_of(unknown)


# -- edits ---------------------------------------------------------------------------------------------------
def normal_tag(tag: str) -> str:
    """A tag as the server keeps it: inner whitespace collapsed."""
    return " ".join(tag.split())


def with_tag(tags, tag: str) -> list[str]:
    """The tags with one more (a tag already there, in any case, is not added twice)."""
    tag = normal_tag(tag)
    tags = list(tags)
    if tag and tag.casefold() not in {t.casefold() for t in tags}:
        tags.append(tag)
    return tags


def without_tag(tags, tag: str) -> list[str]:
    return [t for t in tags if t.casefold() != normal_tag(tag).casefold()]


def clean_fields(fields: dict[str, str]) -> dict[str, str]:
    """CRM fields as they will be saved: names trimmed, rows without a name dropped."""
    return {k.strip(): v for k, v in fields.items() if k.strip()}


@dataclass(frozen=True)
class Problem:
    """Why an edit cannot be saved as it is (the UI says it in words). `subject`: the tag or field concerned."""

    code: str  # too_many_tags, tag_too_long, too_many_fields, field_name_too_long, field_value_too_long,
    #            duplicate_field, notes_too_long
    subject: str = ""
    limit: int = 0


def check_tags(tags) -> Problem | None:
    if len(tags) > MAX_TAGS:
        return Problem("too_many_tags", limit=MAX_TAGS)
    for tag in tags:
        if len(tag) > MAX_TAG_CHARS:
            return Problem("tag_too_long", tag, MAX_TAG_CHARS)
    return None


def check_fields(rows: list[tuple[str, str]]) -> Problem | None:
    """`rows`: (name, value) pairs as the agent left them (rows without a name are dropped)."""
    seen: set[str] = set()
    named = [(k.strip(), v) for k, v in rows if k.strip()]
    if len(named) > MAX_FIELDS:
        return Problem("too_many_fields", limit=MAX_FIELDS)
    for name, value in named:
        if name in seen:
            return Problem("duplicate_field", name)
        seen.add(name)
        if len(name) > MAX_FIELD_NAME_CHARS:
            return Problem("field_name_too_long", name, MAX_FIELD_NAME_CHARS)
        if len(value) > MAX_FIELD_VALUE_CHARS:
            return Problem("field_value_too_long", name, MAX_FIELD_VALUE_CHARS)
    return None


def check_notes(notes: str) -> Problem | None:
    if len(notes) > MAX_NOTES_CHARS:
        return Problem("notes_too_long", limit=MAX_NOTES_CHARS)
    return None


# -- through the workspace (async: the database worker, the API) ------------------------------------------------
async def load_history(workspace, customer_id: int) -> CustomerHistory | None:
    return await workspace.db.run(customer_history, workspace.cache, customer_id)


async def load_history_for_conversation(workspace, conversation_id: int) -> CustomerHistory | None:
    return await workspace.db.run(history_for_conversation, workspace.cache, conversation_id)


async def history_if_changed(workspace, history: CustomerHistory, *, customer_ids: set[int],
                             conversation_ids: set[int], follow_ups_changed: bool) -> CustomerHistory | None:
    """The customer's history read again when a change touches it; None when it does not (or the customer
    is gone)."""
    def read() -> CustomerHistory | None:
        if not concerns(workspace.cache, history, customer_ids=customer_ids, conversation_ids=conversation_ids,
                        follow_ups_changed=follow_ups_changed):
            return None
        return customer_history(workspace.cache, history.customer_id)
    return await workspace.db.run(read)


async def _catch_up(workspace) -> None:
    """Pulls now, so the cache holds what the server just answered; offline, the next pull brings it."""
    try:
        await workspace.engine.pull()
    except Exception as exc:  # noqa: BLE001 (a failed pull is retried by the sync loop anyway)
        log.info("pull after a customer edit failed: %s", exc)
        workspace.engine.request_pull()


async def update_customer(workspace, customer_id: int, update: protocol.CustomerUpdate) -> protocol.CustomerPublic:
    """Saves a profile edit on the server (errors are raised for the caller to show) and pulls it into the
    cache."""
    customer = await workspace.api.update_customer(customer_id, update)
    await _catch_up(workspace)
    return customer


async def follow_up_done(workspace, follow_up_id: int, done: bool = True) -> protocol.FollowUpPublic:
    follow_up = await workspace.api.set_follow_up_done(follow_up_id, done)
    await _catch_up(workspace)
    return follow_up
