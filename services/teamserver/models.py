"""Team database tables (SQLModel)."""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """Stores naive UTC and returns aware UTC: SQLite keeps no zone, and naive datetimes leak local time."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


def ts_field(nullable: bool = False, **kw):
    return Field(sa_type=UTCDateTime, nullable=nullable, **kw)


class Agent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, index=True)
    name: str
    role: str = "agent"
    password_hash: str
    created_at: datetime = ts_field(default_factory=utcnow)
    status: str = "offline"
    status_changed_at: datetime | None = ts_field(nullable=True, default=None)
    timezone: str = "UTC"
    # JSON: a list of protocol.Shift, and {channel: capacity}.
    shifts: str = "[]"
    capacity: str = "{}"
    # The last moment the agent's app was connected (an open event stream), written every few seconds.
    last_seen_at: datetime | None = ts_field(nullable=True, default=None)
    # When the router last handed this agent a conversation: round robin among equally loaded agents.
    last_assigned_at: datetime | None = ts_field(nullable=True, default=None)


class SessionToken(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, index=True)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    created_at: datetime = ts_field(default_factory=utcnow)
    # Written at most once per Settings.session_touch_seconds, so a busy agent does not write per request.
    last_used_at: datetime = ts_field(default_factory=utcnow)
    # The token is refused from this moment: last use + idle lifetime, never past sign-in + maximum age.
    expires_at: datetime = ts_field(index=True)


class LoginAttempt(SQLModel, table=True):
    """A failed sign-in, kept for the throttling window: per email (hashed) and per client address."""

    __table_args__ = (
        sa.Index("ix_loginattempt_email_key_created_at", "email_key", "created_at"),
        sa.Index("ix_loginattempt_client_ip_created_at", "client_ip", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    # sha256 of the normalized email: a password typed into the email field is never stored.
    email_key: str = Field(max_length=64)
    client_ip: str = Field(max_length=64)
    created_at: datetime = ts_field(default_factory=utcnow, index=True)


class Customer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    display_name: str
    created_at: datetime = ts_field(default_factory=utcnow)
    tags: str = "[]"  # JSON list
    fields: str = "{}"  # JSON object (CRM fields)
    notes: str = ""
    language: str | None = None


class CustomerEvidence(SQLModel, table=True):
    """Exact evidence in a customer's CRM fields (a "phone" as E.164, an "email" lowercased), kept in step with
    `customer.fields` on every ORM flush (identities.py): new identities are linked with one indexed read."""

    __tablename__ = "customer_evidence"
    __table_args__ = (sa.Index("ix_customer_evidence_kind_value", "kind", "value"),)
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    kind: str
    value: str


class Identity(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("channel", "handle"),)
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    channel: str
    handle: str
    display_name: str = ""


class Conversation(SQLModel, table=True):
    __table_args__ = (
        sa.Index("ix_conversation_status_assignee", "status", "assignee_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    identity_id: int = Field(foreign_key="identity.id", index=True)
    channel: str
    status: str = "open"
    assignee_id: int | None = Field(default=None, foreign_key="agent.id")
    last_message_at: datetime | None = ts_field(nullable=True, default=None)
    last_inbound_at: datetime | None = ts_field(nullable=True, default=None)
    last_message_preview: str = ""
    last_message_direction: str | None = None
    # Bumped only by status and assignment changes: the writes that can conflict between agents.
    version: int = 1
    inbound_count: int = 0
    updated_by_agent_id: int | None = Field(default=None, foreign_key="agent.id")
    created_at: datetime = ts_field(default_factory=utcnow)
    assigned_at: datetime | None = ts_field(nullable=True, default=None)
    # The oldest customer message no agent has answered yet; None once an agent replied.
    waiting_since: datetime | None = ts_field(nullable=True, default=None)
    # The agent this conversation was last reclaimed from: the router prefers someone else for it.
    reclaimed_from_agent_id: int | None = None
    priority: str = "normal"
    priority_reasons: str = "[]"  # JSON list of reason codes
    case_type: str | None = None
    snoozed_until: datetime | None = ts_field(nullable=True, default=None)
    snooze_until_reply: bool = False
    sla_kind: str | None = None
    sla_due_at: datetime | None = ts_field(nullable=True, default=None, index=True)
    sla_target_seconds: int | None = None
    sla_breached_at: datetime | None = ts_field(nullable=True, default=None)
    resolved_at: datetime | None = ts_field(nullable=True, default=None, index=True)
    reopened_count: int = 0
    # Customer messages since an agent last answered (repeated messages raise the priority).
    unanswered_count: int = 0
    public: bool = False
    # When an agent first answered (the first-response time of reports).
    first_replied_at: datetime | None = ts_field(nullable=True, default=None)
    # The closed period the out-of-hours reply was last sent in (one per conversation per closed period).
    auto_reply_key: str | None = None


class Assignment(SQLModel, table=True):
    """The assignment trail: every change of a conversation's assignee."""

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    from_agent_id: int | None = Field(default=None, foreign_key="agent.id")
    to_agent_id: int | None = Field(default=None, foreign_key="agent.id")
    actor_agent_id: int | None = Field(default=None, foreign_key="agent.id")
    kind: str
    reason: str = ""
    created_at: datetime = ts_field(default_factory=utcnow)


class FollowUp(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    agent_id: int | None = Field(default=None, foreign_key="agent.id")
    due_at: datetime = ts_field(index=True)
    note: str = ""
    canned_id: str | None = None
    done_at: datetime | None = ts_field(nullable=True, default=None)
    created_at: datetime = ts_field(default_factory=utcnow)


class CannedResponse(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("key"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str
    title: str
    shortcut: str
    category: str = "general"
    language: str = "es"
    body: str
    variants: str = "{}"  # JSON
    keywords: str = "[]"  # JSON
    owner_agent_id: int | None = Field(default=None, foreign_key="agent.id", index=True)
    usage_count: int = 0
    deleted: bool = False
    updated_at: datetime = ts_field(default_factory=utcnow)


class Note(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("author_agent_id", "client_op_id"),)
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    author_agent_id: int | None = Field(default=None, foreign_key="agent.id")
    text: str
    created_at: datetime = ts_field(default_factory=utcnow)
    client_op_id: str | None = None


class Message(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("channel", "provider_id"),
        sa.UniqueConstraint("author_agent_id", "client_op_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    channel: str
    direction: str
    author_agent_id: int | None = Field(default=None, foreign_key="agent.id")
    text: str
    kind: str = "text"
    provider_id: str | None = None
    delivery_state: str = "pending"
    error_kind: str | None = None
    error_code: int | None = None
    error_title: str | None = None
    # Indexed for the time-range reads of KPIs and crisis detection.
    created_at: datetime = ts_field(default_factory=utcnow, index=True)
    client_op_id: str | None = None
    # Inbound only, set when stored: "negative", "neutral" or "positive" (services/teamserver/sentiment.py),
    # and the priority the rules gave this one message ("urgent", "high", …).
    sentiment: str | None = None
    urgency: str | None = None
    # Outbound only: what a send needs beyond the text, as JSON (a WhatsApp template's name, language and
    # parameters; kind tells which).
    payload: str | None = None


class ResponseRecord(SQLModel, table=True):
    """One answer to a waiting customer: written when an agent's reply stops a response clock. The KPIs
    (first and next response time, SLA compliance) are read from these rows."""

    __tablename__ = "response_record"
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    channel: str
    agent_id: int | None = Field(default=None, foreign_key="agent.id", index=True)
    kind: str  # "first" or "next"
    priority: str = "normal"
    waited_from: datetime = ts_field()
    answered_at: datetime = ts_field(index=True)
    seconds: int  # wall-clock wait
    business_seconds: int  # the wait counted in business hours (= seconds when the SLA counts all hours)
    target_seconds: int | None = None
    met: bool | None = None  # None: no target applied


class CsatSurvey(SQLModel, table=True):
    """A one-question satisfaction survey sent after resolving, and the customer's answer (1–5)."""

    __tablename__ = "csat_survey"
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    agent_id: int | None = Field(default=None, foreign_key="agent.id", index=True)
    channel: str
    message_id: int | None = Field(default=None, foreign_key="message.id")
    sent_at: datetime = ts_field(index=True)
    score: int | None = None
    answered_at: datetime | None = ts_field(nullable=True, default=None)


class CrisisAlert(SQLModel, table=True):
    """A spike of negative or urgent customer messages (overall when `topic` is "", else for one topic)."""

    __tablename__ = "crisis_alert"
    id: int | None = Field(default=None, primary_key=True)
    topic: str = ""
    status: str = "active"  # active, acknowledged, ended
    started_at: datetime = ts_field(index=True)
    last_seen_at: datetime = ts_field()
    ended_at: datetime | None = ts_field(nullable=True, default=None)
    window_count: int = 0  # messages in the rolling window when raised (the peak since)
    baseline: float = 0.0  # the usual count for such a window
    sample: str = "[]"  # JSON: a few of the messages, for the lead
    acknowledged_by_agent_id: int | None = Field(default=None, foreign_key="agent.id")


class ProviderStatus(SQLModel, table=True):
    """Every delivery status a provider reported, once: dedupes redeliveries and keeps early arrivals."""

    __table_args__ = (sa.UniqueConstraint("channel", "provider_id", "status"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str
    provider_id: str = Field(index=True)
    status: str
    occurred_at: datetime = ts_field()
    error_code: int | None = None
    error_title: str | None = None
    error_kind: str | None = None


class Change(SQLModel, table=True):
    """The change log behind /v1/sync: one row per mutation, in commit order."""

    seq: int | None = Field(default=None, primary_key=True)
    entity: str
    entity_id: int
    created_at: datetime = ts_field(default_factory=utcnow)


class IdempotencyRecord(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("agent_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id")
    key: str
    # What the first request asked for: a key reused for a different request is refused, not replayed.
    request_hash: str = ""
    status_code: int
    response_json: str
    created_at: datetime = ts_field(default_factory=utcnow)


class ChannelAccount(SQLModel, table=True):
    """A channel an admin connected from the app (channel_setup.py). Secret settings (tokens, passwords, app
    secrets) are only in `secrets_sealed`, sealed by secretbox.SecretBox under a key kept outside the
    database; `settings_json` holds the rest (ids, hosts, ports)."""

    __tablename__ = "channel_account"
    channel: str = Field(primary_key=True)
    settings_json: str = "{}"
    secrets_sealed: str = ""
    account_id: str = ""
    account_name: str = ""
    token_expires_at: datetime | None = ts_field(nullable=True, default=None)
    connected_at: datetime = ts_field(default_factory=utcnow)
    connected_by_agent_id: int | None = Field(default=None, foreign_key="agent.id")


class ServerMeta(SQLModel, table=True):
    """Facts about this database; `epoch` is a random id made once, when the database is created."""

    key: str = Field(primary_key=True)
    value: str
