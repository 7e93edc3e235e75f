"""Wire contract between the desktop and the team server (/v1); imports nothing else of the project."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

API_PREFIX = "/v1"
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_REPLY_CHARS = 4096

Role = Literal["agent", "lead", "admin"]
Direction = Literal["in", "out"]
ConversationStatus = Literal["open", "pending", "snoozed", "resolved"]
# pending: committed by the server, not yet accepted by the provider; accepted: the provider took it.
DeliveryState = Literal["pending", "accepted", "sent", "delivered", "read", "failed"]
ErrorKind = Literal[
    "retryable", "window_closed", "auth_expired", "undeliverable", "bad_request", "permission", "unknown"
]


def clean_text(value: str) -> str:
    """Drops NUL characters (legal in JSON strings, refused by PostgreSQL text columns)."""
    return value.replace("\x00", "") if "\x00" in value else value


# Text a client writes: stored and shown as given, without NUL. (Unpaired surrogates are refused: 422.)
CleanText = Annotated[str, AfterValidator(clean_text)]
# Ids and versions fit a signed 64-bit database integer; larger numbers are refused (422), not a 500.
DbInt = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class SessionCreate(BaseModel):
    email: CleanText = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class AgentPublic(BaseModel):
    id: int
    email: str
    name: str
    role: Role


class SessionPublic(BaseModel):
    token: str
    agent: AgentPublic


class CustomerPublic(BaseModel):
    id: int
    display_name: str


class IdentityPublic(BaseModel):
    id: int
    customer_id: int
    channel: str
    handle: str
    display_name: str


class ConversationPublic(BaseModel):
    id: int
    customer_id: int
    channel: str
    status: ConversationStatus
    assignee_id: int | None
    last_message_at: datetime | None
    last_inbound_at: datetime | None
    last_message_preview: str
    last_message_direction: Direction | None
    version: int
    # How many customer messages the conversation has: unread marks compare counts, not clocks.
    inbound_count: int = 0
    # Who last changed status or assignment (shown when a stale write of ours is refused).
    updated_by_agent_id: int | None = None


class MessagePublic(BaseModel):
    id: int
    conversation_id: int
    direction: Direction
    author_agent_id: int | None
    text: str
    kind: str
    provider_id: str | None
    delivery_state: DeliveryState
    error_kind: ErrorKind | None
    error_code: int | None
    error_title: str | None
    created_at: datetime
    client_op_id: str | None


class NotePublic(BaseModel):
    """An internal note on a conversation: seen by the team, never sent to the customer."""

    id: int
    conversation_id: int
    author_agent_id: int | None
    text: str
    created_at: datetime
    client_op_id: str | None


class SyncPage(BaseModel):
    """Current state of every entity changed after the cursor; apply in field order, in one transaction."""

    agents: list[AgentPublic] = []
    customers: list[CustomerPublic] = []
    identities: list[IdentityPublic] = []
    conversations: list[ConversationPublic] = []
    messages: list[MessagePublic] = []
    notes: list[NotePublic] = []
    next_after: int
    # The newest sequence on the server when the page was read (for progress during a long sync).
    newest: int = 0
    has_more: bool
    # True when the cursor is older than the change log keeps: drop the cache and pull from 0.
    reset: bool = False
    # Identifies the server's database; a different epoch means the cursor belongs to another database.
    epoch: str = ""


class ReplyCreate(BaseModel):
    text: CleanText = Field(min_length=1, max_length=MAX_REPLY_CHARS)


class NoteCreate(BaseModel):
    text: CleanText = Field(min_length=1, max_length=MAX_REPLY_CHARS)


class ConversationUpdate(BaseModel):
    """Status and/or assignment; refused with 409 when `expected_version` is not the current version."""

    status: ConversationStatus | None = None
    assignee_id: DbInt | None = None
    # assignee_id is applied only when this is true, so "unassign" (None) can be told from "unchanged".
    set_assignee: bool = False
    expected_version: DbInt


class Conflict(BaseModel):
    """Body of a 409: the conversation as it is now, and who changed it."""

    detail: str
    conversation: ConversationPublic
    changed_by: str | None


class EventPoke(BaseModel):
    """Payload of a server-sent `change` event: the newest sequence in the change log."""

    seq: int
    epoch: str = ""
