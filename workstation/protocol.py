"""Wire contract between the desktop and the team server (/v1); imports nothing else of the project."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

API_PREFIX = "/v1"
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_REPLY_CHARS = 4096

Role = Literal["agent", "lead", "admin"]
Direction = Literal["in", "out"]
ConversationStatus = Literal["open", "pending", "snoozed", "resolved"]
# pending: committed by the server, not yet accepted by the provider; accepted: the provider took it.
DeliveryState = Literal["pending", "accepted", "sent", "delivered", "read", "failed"]
AgentStatus = Literal["available", "away", "offline"]
# How a conversation's assignee changed: by the router (auto), a lead or agent choosing it (manual), an
# agent taking an unassigned one (take) or giving theirs back (release), the router taking back an
# unanswered one (reclaim), a shift hand-off (handoff).
AssignmentKind = Literal["auto", "manual", "take", "release", "reclaim", "handoff"]
PresenceState = Literal["viewing", "typing", "left"]
Priority = Literal["low", "normal", "high", "urgent"]
PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
# The case types of a customer-service department: information, incident, post-sale.
CaseType = Literal[
    "information.query", "information.request",
    "incident.claim", "incident.complaint", "incident.suggestion", "incident.compliment",
    "postsale.warranty", "postsale.return", "postsale.repair",
]
SlaKind = Literal["first", "next"]
# Capacity key that covers every channel without a capacity of its own.
ANY_CHANNEL = "*"
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


def _hhmm(value: str) -> str:
    hours, sep, minutes = value.partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and len(hours) <= 2):
        raise ValueError("times are HH:MM")
    if not (0 <= int(hours) <= 24 and 0 <= int(minutes) < 60) or (int(hours) == 24 and int(minutes)):
        raise ValueError("times run from 00:00 to 24:00")
    return f"{int(hours):02d}:{minutes}"


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


def _minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:])


class Shift(BaseModel):
    """One working stretch, in the agent's time zone: `weekday` 0 is Monday. A shift whose end is not after
    its start runs past midnight into the next day (22:00–06:00)."""

    weekday: int = Field(ge=0, le=6)
    start: Annotated[str, AfterValidator(_hhmm)]
    end: Annotated[str, AfterValidator(_hhmm)]


def on_shift(shifts: list[Shift], zone: str, now: datetime) -> bool:
    """Whether `now` (aware) falls in one of the shifts; an agent with no shifts is always on shift."""
    if not shifts:
        return True
    local = now.astimezone(ZoneInfo(zone))
    minute = local.hour * 60 + local.minute
    today, yesterday = local.weekday(), (local.weekday() - 1) % 7
    for shift in shifts:
        start, end = _minutes(shift.start), _minutes(shift.end)
        if end > start:
            if shift.weekday == today and start <= minute < end:
                return True
        else:  # past midnight: the evening part today, the morning part the next day
            if shift.weekday == today and minute >= start:
                return True
            if shift.weekday == yesterday and minute < end:
                return True
    return False


class AgentPublic(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    status: AgentStatus = "offline"
    status_changed_at: datetime | None = None
    timezone: str = "UTC"
    shifts: list[Shift] = []
    # Open conversations the router may give this agent, per channel; ANY_CHANNEL covers the rest.
    # Empty: the team's default capacity for every channel together.
    capacity: dict[str, int] = {}


class SessionPublic(BaseModel):
    token: str
    agent: AgentPublic


class CustomerPublic(BaseModel):
    id: int
    display_name: str
    # Labels such as VIP or loyal; "VIP" raises the priority of the customer's conversations.
    tags: list[str] = []
    # CRM fields (order count, plan, city…), also usable in canned responses as {{customer.<name>}}.
    fields: dict[str, str] = {}
    # Internal notes about the customer: seen by the team, never sent.
    notes: str = ""
    # The customer's language (es, en) when known: canned responses in it are preferred.
    language: str | None = None


class CustomerUpdate(BaseModel):
    """Fields left out stay as they are."""

    tags: list[Annotated[CleanText, Field(min_length=1, max_length=40)]] | None = Field(default=None, max_length=30)
    fields: dict[Annotated[str, Field(min_length=1, max_length=60)], Annotated[CleanText, Field(max_length=500)]] | None \
        = Field(default=None, max_length=50)
    notes: CleanText | None = Field(default=None, max_length=MAX_REPLY_CHARS)
    language: Literal["es", "en"] | None = None


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
    assigned_at: datetime | None = None
    # The oldest customer message not answered yet (None once an agent replied): the wait the team sees.
    waiting_since: datetime | None = None
    priority: Priority = "normal"
    # Why the rules set the priority (codes such as keyword:urgente, vip, public, repeated).
    priority_reasons: list[str] = []
    case_type: CaseType | None = None
    # Snoozed: back to open at this time, and/or when the customer writes.
    snoozed_until: datetime | None = None
    snooze_until_reply: bool = False
    # The response-time clock running now: first response or next response, due when, and its full length.
    sla_kind: SlaKind | None = None
    sla_due_at: datetime | None = None
    sla_target_seconds: int | None = None
    sla_breached_at: datetime | None = None
    resolved_at: datetime | None = None
    # How many times the customer wrote again after it was resolved.
    reopened_count: int = 0
    # A public post or comment (answers are seen by everyone), not a private message.
    public: bool = False


class AssignmentPublic(BaseModel):
    """One change of a conversation's assignee: the trail kept and shown in the conversation."""

    id: int
    conversation_id: int
    from_agent_id: int | None
    to_agent_id: int | None
    # None: the server did it (distribution, reclaim).
    actor_agent_id: int | None
    kind: AssignmentKind
    reason: str
    created_at: datetime


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
    assignments: list[AssignmentPublic] = []
    follow_ups: list[FollowUpPublic] = []
    canned: list[CannedPublic] = []
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
    # Why (optional; kept in the assignment trail).
    reason: CleanText = Field(default="", max_length=500)
    # Required when resolving.
    case_type: CaseType | None = None
    # With status "snoozed": until when, and/or until the customer writes.
    snoozed_until: datetime | None = None
    snooze_until_reply: bool = False
    # With status "resolved": a check-in this many days later.
    follow_up_days: int | None = Field(default=None, ge=1, le=365)
    follow_up_note: CleanText = Field(default="", max_length=500)
    # Set by hand (rules only ever raise it).
    priority: Priority | None = None


class FollowUpPublic(BaseModel):
    """A check-in with the customer some days after a case was resolved."""

    id: int
    conversation_id: int
    customer_id: int
    agent_id: int | None
    due_at: datetime
    note: str
    # The canned response suggested for it (the follow-up check-in of the customer's language).
    canned_id: str | None = None
    done_at: datetime | None = None


class FollowUpUpdate(BaseModel):
    done: bool = True


class CannedPublic(BaseModel):
    """A canned response of the team library (owner_agent_id None, leads edit it) or an agent's own."""

    id: int
    # Stable name ("es-greeting"); the default library's keys are kept across versions.
    key: str
    title: str
    shortcut: str
    category: str
    language: str
    body: str
    # Channel (or "public"/"private") → a variant of the body, e.g. a short one for X.
    variants: dict[str, str] = {}
    keywords: list[str] = []
    owner_agent_id: int | None = None
    usage_count: int = 0
    deleted: bool = False


class CannedWrite(BaseModel):
    title: CleanText = Field(min_length=1, max_length=200)
    shortcut: CleanText = Field(min_length=1, max_length=40)
    category: CleanText = Field(default="general", max_length=40)
    language: Literal["es", "en"] = "es"
    body: CleanText = Field(min_length=1, max_length=MAX_REPLY_CHARS)
    variants: dict[Annotated[str, Field(max_length=20)], Annotated[CleanText, Field(max_length=MAX_REPLY_CHARS)]] = \
        Field(default={}, max_length=10)
    keywords: list[Annotated[CleanText, Field(max_length=60)]] = Field(default=[], max_length=40)
    # True: a team response (leads only); false: the author's own.
    team: bool = False


class AutoReply(BaseModel):
    """The out-of-hours answer, per language; {hours} and {alternative} are filled in by the server."""

    enabled: bool = True
    text: dict[str, str] = {
        "es": "¡Gracias por escribirnos! Ahora mismo estamos fuera de horario ({hours}). Te responderemos en cuanto "
              "abramos. Si es urgente, puedes {alternative}.",
        "en": "Thanks for writing to us! We are closed right now ({hours}). We will answer as soon as we open. "
              "If it is urgent, you can {alternative}.",
    }
    alternative: dict[str, str] = {
        "es": "llamarnos al 900 123 456 (24 h)",
        "en": "call us on +34 900 123 456 (24 h)",
    }


class CsatSettings(BaseModel):
    """The satisfaction survey (CSAT): when a private conversation is resolved, the customer gets one question on
    the same channel, in their language, while the channel lets us write to them (WhatsApp, Messenger, Instagram:
    24 h after their last message). An answer 1–5 ("4", "4 estrellas", "cuatro", ⭐⭐⭐⭐, 4️⃣) within
    `answer_hours` is recorded against the conversation and the agent it was assigned to, thanked, and does not
    reopen the conversation; anything else is a normal message. At most one survey per conversation per
    `answer_hours`, so a conversation reopened and resolved again soon after is not asked twice."""

    enabled: bool = False
    question: dict[Annotated[str, Field(max_length=20)], Annotated[CleanText, Field(max_length=1000)]] = Field(
        default={
            "es": "¿Cómo valorarías la atención que has recibido? Responde con un número del 1 (muy mal) al 5 "
                  "(excelente).",
            "en": "How would you rate the help you received? Reply with a number from 1 (very poor) to 5 "
                  "(excellent).",
        },
        max_length=10,
    )
    thanks: dict[Annotated[str, Field(max_length=20)], Annotated[CleanText, Field(max_length=1000)]] = Field(
        default={
            "es": "¡Gracias por tu valoración! Nos ayuda a mejorar.",
            "en": "Thank you for your rating! It helps us improve.",
        },
        max_length=10,
    )
    answer_hours: int = Field(default=72, ge=1, le=30 * 24)


class WhatsAppTemplate(BaseModel):
    """A message template approved for the team's WhatsApp number: the only message WhatsApp delivers more than
    24 h after the customer's last message. `body` is the approved text, with {{1}}, {{2}}… for parameters."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,512}$")]
    language: Annotated[str, Field(min_length=2, max_length=16)]
    title: CleanText = Field(default="", max_length=200)
    body: CleanText = Field(min_length=1, max_length=1024)

    def parameter_count(self) -> int:
        """How many parameters the body takes ({{1}} … {{n}})."""
        count = 0
        while "{{" + str(count + 1) + "}}" in self.body:
            count += 1
        return count

    def render(self, parameters: list[str]) -> str:
        """The text the customer receives. Raises ValueError when the parameters do not match the body."""
        if len(parameters) != self.parameter_count():
            raise ValueError(f"the template {self.name} takes {self.parameter_count()} parameter(s), "
                             f"not {len(parameters)}")
        text = self.body
        # One pass per placeholder, highest first ({{10}} before {{1}}); a parameter's own text is never read
        # again, so a customer's name containing "{{2}}" stays as written.
        pieces = [text]
        for n in range(len(parameters), 0, -1):
            mark = "{{" + str(n) + "}}"
            pieces = [part for piece in pieces for part in _split_keep(piece, mark, parameters[n - 1])]
        return "".join(p if isinstance(p, str) else p[0] for p in pieces)


def _split_keep(piece, mark: str, value: str) -> list:
    """Splits a template piece at `mark`, putting `value` (wrapped, so later passes skip it) between the parts."""
    if not isinstance(piece, str):
        return [piece]
    parts = piece.split(mark)
    out: list = []
    for i, part in enumerate(parts):
        if i:
            out.append((value,))
        out.append(part)
    return out


DEFAULT_TEMPLATES = [
    WhatsAppTemplate(name="seguimiento_consulta", language="es", title="Retomar la conversación",
                     body="Hola {{1}}, te escribimos por tu consulta con nosotros. ¿Seguimos con ella? Responde a "
                          "este mensaje y te atendemos enseguida."),
    WhatsAppTemplate(name="case_follow_up", language="en", title="Pick the conversation up again",
                     body="Hi {{1}}, we are writing about your question to us. Shall we carry on? Reply to this "
                          "message and we will help you right away."),
    WhatsAppTemplate(name="actualizacion_pedido", language="es", title="Novedades de tu pedido",
                     body="Hola {{1}}, hay novedades sobre tu pedido {{2}}. Responde a este mensaje para verlas."),
    WhatsAppTemplate(name="order_update", language="en", title="News about your order",
                     body="Hi {{1}}, there is news about your order {{2}}. Reply to this message to see it."),
]


class TemplateSend(BaseModel):
    """An agent sends an approved WhatsApp template (the reply window is closed)."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,512}$")]
    language: Annotated[str, Field(min_length=2, max_length=16)]
    parameters: list[Annotated[CleanText, Field(min_length=1, max_length=1024)]] = Field(default=[], max_length=10)


class CareSettings(BaseModel):
    """The team's care rules (leads edit them). `hours` maps a channel (or "*") to business hours
    {timezone, weekly: {0..6: [[start, end], …]}, holidays: [date…]}; `sla` is {targets: [{channel, priority,
    first_response_minutes, next_response_minutes}], business_hours}; `priority` the priority rules (keyword lists
    per language and bumps). The server checks each and refuses (422) what it cannot use."""

    hours: dict[str, dict] = {}
    sla: dict = {}
    priority: dict = {}
    auto_reply: AutoReply = AutoReply()
    # Days after resolving during which a customer's new message reopens the case (0: always a new one).
    reopen_days: int = Field(default=7, ge=0, le=365)
    # The WhatsApp templates approved for the team's number (agents pick one when the window is closed).
    templates: list[WhatsAppTemplate] = Field(default_factory=lambda: list(DEFAULT_TEMPLATES), max_length=200)
    # The satisfaction survey sent after resolving.
    csat: CsatSettings = CsatSettings()


class HoursNow(BaseModel):
    open: bool
    # Weekly hours in words, in the language asked for.
    description: str
    # When it next opens or closes (None: never).
    next_change_at: datetime | None = None


class CarePublic(BaseModel):
    settings: CareSettings
    # Per channel with hours of its own, and "*": open now?, in words.
    hours_now: dict[str, HoursNow] = {}


class AgentStatusUpdate(BaseModel):
    status: AgentStatus


class AgentCreate(BaseModel):
    """An admin adds an agent."""

    email: CleanText = Field(min_length=3, max_length=320)
    name: CleanText = Field(min_length=1, max_length=200)
    role: Role = "agent"
    password: str = Field(min_length=8, max_length=1024)


class AgentUpdate(BaseModel):
    """Fields left out stay as they are. Leads set schedules and capacity; only admins set name and role."""

    name: CleanText | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    timezone: Annotated[str, AfterValidator(_zone)] | None = None
    shifts: list[Shift] | None = Field(default=None, max_length=50)
    capacity: dict[Annotated[str, Field(min_length=1, max_length=40)], Annotated[int, Field(ge=0, le=1000)]] | None = \
        Field(default=None, max_length=20)


class Handoff(BaseModel):
    """Ends an agent's shift in one action: their open conversations go back to the queue (to_agent_id None)
    or to a named colleague, and (by default) the agent goes offline."""

    to_agent_id: DbInt | None = None
    reason: CleanText = Field(default="", max_length=500)
    go_offline: bool = True


class HandoffResult(BaseModel):
    moved: list[int]
    agent: AgentPublic


class RoutingSettings(BaseModel):
    """The team's distribution rules (leads edit them)."""

    # Off: nothing is handed out; agents pick from the unassigned queue.
    auto_assign: bool = True
    # Open conversations per agent when the agent has no capacity of their own.
    default_capacity: int = Field(default=5, ge=0, le=1000)
    # An assigned conversation whose customer has waited this long for an answer goes back to the queue
    # (0: never).
    reclaim_minutes: int = Field(default=15, ge=0, le=7 * 24 * 60)
    # An agent whose app has been disconnected this long is set offline.
    offline_grace_seconds: int = Field(default=120, ge=5, le=24 * 3600)


class PresenceUpdate(BaseModel):
    state: PresenceState


class PresenceEvent(BaseModel):
    """Payload of a server-sent `presence` event: an agent is viewing or typing in a conversation (for
    `ttl` seconds unless repeated), or left it."""

    conversation_id: int
    agent_id: int
    agent_name: str
    state: PresenceState
    ttl: float


class Conflict(BaseModel):
    """Body of a 409: the conversation as it is now, and who changed it."""

    detail: str
    conversation: ConversationPublic
    changed_by: str | None


class EventPoke(BaseModel):
    """Payload of a server-sent `change` event: the newest sequence in the change log."""

    seq: int
    epoch: str = ""


# -- evaluation and control: KPIs, cost per contact, CSAT, crisis ------------------------------------------
Sentiment = Literal["negative", "neutral", "positive"]


class Distribution(BaseModel):
    """Durations in seconds: how many, and their median, 90th percentile and mean (None when count is 0).
    Percentiles are the nearest-rank ones (the smallest value with at least p% of the values at or below)."""

    count: int = 0
    median: float | None = None
    p90: float | None = None
    mean: float | None = None


class KpiRow(BaseModel):
    """The figures of one slice of the report: the whole team, one channel or one agent."""

    key: str  # "all", a channel name, or an agent id as text
    label: str  # the channel's or agent's name ("" for "all")
    conversations: int = 0  # conversations with a customer message in the range
    inbound: int = 0  # customer messages in the range
    outbound: int = 0  # agent replies in the range
    resolved: int = 0  # resolutions in the range
    reopened: int = 0  # of those, conversations that had been reopened at least once
    reopen_rate: float | None = None  # reopened / resolved
    first_response: Distribution = Distribution()  # business seconds (ResponseRecord.business_seconds)
    next_response: Distribution = Distribution()
    resolution: Distribution = Distribution()  # created → resolved, wall-clock seconds
    sla_met: int = 0
    sla_total: int = 0  # responses with a target
    sla_compliance: float | None = None  # sla_met / sla_total
    csat_count: int = 0
    csat_average: float | None = None
    csat_sent: int = 0


class Backlog(BaseModel):
    """What is waiting now (not limited by the date range): open and pending conversations."""

    open: int = 0
    waiting: int = 0  # open ones whose customer waits for an answer
    breached: int = 0  # open ones past their response target
    oldest_wait_seconds: float | None = None
    # Counts by how long the customer has waited: "<1h", "1-4h", "4-24h", "1-3d", ">3d".
    age: dict[str, int] = {}


class CostSettings(BaseModel):
    """The contact-centre model: what an agent hour costs, how long an agent spends per reply, and what a
    phone contact costs (the baseline each resolved conversation saves)."""

    currency: str = Field(default="EUR", min_length=1, max_length=8)
    agent_cost_per_hour: float = Field(default=18.0, ge=0, le=10_000)
    handle_minutes_per_reply: float = Field(default=3.0, gt=0, le=600)
    phone_cost_per_contact: float = Field(default=4.5, ge=0, le=10_000)
    # Share of resolved conversations that would otherwise have been a phone call (0–1).
    call_deflection: float = Field(default=1.0, ge=0, le=1)


class CostRow(BaseModel):
    channel: str  # or "all"
    resolved: int = 0
    replies: int = 0
    agent_hours: float = 0.0  # replies × handle minutes / 60
    cost: float = 0.0  # agent_hours × agent cost per hour
    cost_per_resolved: float | None = None
    phone_baseline: float = 0.0  # resolved × deflection × phone cost per contact
    saving: float = 0.0  # phone_baseline − cost
    roi: float | None = None  # saving / cost


class KpiReport(BaseModel):
    """GET /v1/kpis?start=&end=&channel=&agent_id=&tz=: everything the dashboard shows, computed by the
    server in SQL. An agent gets only their own figures (by_agent holds only them); a lead gets everyone's."""

    start: datetime
    end: datetime
    timezone: str = "UTC"  # hours and weekdays below are in this zone
    channel: str | None = None
    agent_id: int | None = None
    totals: KpiRow
    by_channel: list[KpiRow] = []
    by_agent: list[KpiRow] = []
    # Customer messages by local hour (24 numbers) and weekday (7, Monday first).
    volume_by_hour: list[int] = []
    volume_by_weekday: list[int] = []
    backlog: Backlog = Backlog()
    case_types: dict[str, int] = {}  # resolutions in the range by case type ("" when none was set)
    sentiment: dict[str, int] = {}  # customer messages in the range by sentiment
    csat_scores: dict[str, int] = {}  # "1".."5" → answers in the range
    cost_settings: CostSettings = CostSettings()
    cost: list[CostRow] = []  # one per channel, then "all"


# -- crisis detection ----------------------------------------------------------------------------------------
CrisisStatus = Literal["active", "acknowledged", "ended"]
CrisisTopicName = Annotated[CleanText, Field(min_length=1, max_length=40)]
CrisisKeyword = Annotated[CleanText, Field(min_length=2, max_length=60)]

# Keywords are matched as parts of the text, ignoring case (and accents, as "caído" also finds "caido"): keep
# them specific ("is down", not "down", which is part of "download").
DEFAULT_CRISIS_TOPICS: dict[str, list[str]] = {
    "outage": [
        "no funciona", "no me funciona", "no funcionan", "no carga", "caído", "caída", "se ha caído",
        "sin servicio", "sin conexión", "no puedo entrar", "no puedo acceder", "no me deja entrar",
        "not working", "n't working", "doesn't work", "does not work", "stopped working", "is down", "are down",
        "went down", "outage", "no service", "won't load", "can't log in", "cannot log in", "can't access",
    ],
    "fraud": [
        "fraude", "fraudulento", "estafa", "estafado", "timo", "cargo no autorizado", "cargos no autorizados",
        "no reconozco", "suplantación", "hackeado", "me han robado", "phishing", "fraud", "scam",
        "unauthorized charge", "unauthorised charge", "don't recognise", "don't recognize", "identity theft",
        "hacked", "stolen",
    ],
    "billing": [
        "cobro", "cobrado", "cobrar", "factura", "doble cargo", "un cargo", "reembolso", "me habéis cobrado",
        "charged", "billing", "my bill", "the bill", "invoice", "refund", "double charge",
    ],
}

DEFAULT_CRISIS_PLAYBOOK: dict[str, str] = {
    "en": (
        "Crisis playbook\n"
        "\n"
        "1. Acknowledge publicly, fast (within 15 minutes): post the holding statement on the public channels. "
        "Say what we know, that we are working on it, and when the next update comes. Do not guess causes, "
        "dates or compensation.\n"
        "2. Answer every customer with the pinned holding statement (/crisis); make the first line personal.\n"
        "3. Move details to private: ask for order or account numbers by direct message, never in a public reply.\n"
        "4. One voice: only the lead (or whoever the lead names) publishes updates; everyone else uses the "
        "approved wording. Put anything new you learn in an internal note for the lead.\n"
        "5. Update cadence: a public update every 30 to 60 minutes, even with no news; always say when the next "
        "one comes.\n"
        "6. Escalate at once to the lead: fraud, legal threats, journalists, safety, and VIP customers.\n"
        "7. Close: once it is solved, post a clear resolution and apology, tell the customers who wrote to us, "
        "end crisis mode, and note what happened for the review."
    ),
    "es": (
        "Protocolo de crisis\n"
        "\n"
        "1. Reconoce el problema en público y rápido (antes de 15 minutos): publica el comunicado de espera en "
        "los canales públicos. Di lo que sabemos, que estamos trabajando en ello y cuándo llegará la próxima "
        "actualización. No adivines causas, fechas ni compensaciones.\n"
        "2. Responde a cada cliente con el comunicado de espera fijado (/crisis); personaliza la primera línea.\n"
        "3. Pasa los detalles a privado: pide números de pedido o de cuenta por mensaje directo, nunca en una "
        "respuesta pública.\n"
        "4. Una sola voz: solo el responsable (o quien él designe) publica actualizaciones; los demás usan el "
        "texto aprobado. Lo nuevo que sepas, en una nota interna para el responsable.\n"
        "5. Ritmo de actualizaciones: una actualización pública cada 30 a 60 minutos, aunque no haya novedades; "
        "di siempre cuándo llegará la siguiente.\n"
        "6. Escala de inmediato al responsable: fraude, amenazas legales, periodistas, seguridad y clientes VIP.\n"
        "7. Cierre: cuando esté resuelto, publica una resolución clara y una disculpa, avisa a los clientes que "
        "nos escribieron, termina el modo crisis y anota lo ocurrido para la revisión."
    ),
}


class CrisisSettings(BaseModel):
    """How the server watches for a crisis (leads edit it).

    Every `check_seconds` the server counts the customer messages of the last `window_minutes` that are
    negative or urgent (sentiment negative, or the priority rules gave the message high or urgent), overall
    and per topic (a message belongs to a topic when one of its keywords is part of its text). The usual
    count for such a window is the median over the last `history_days` days of the level at the same time
    of day (the hour around it; days the server did not yet exist are left out), or the level of the two
    hours before the window, whichever is higher (both scaled to one window). An alert is raised when the count reaches max(`min_count`, `ratio` × usual,
    usual + `sigmas` × √usual). Without any history, a topic alerts at `min_count` and the overall count
    waits for one. An alert ends once its count has stayed under that threshold for a whole window."""

    enabled: bool = True
    window_minutes: int = Field(default=15, ge=5, le=240)
    min_count: int = Field(default=10, ge=1, le=100_000)
    ratio: float = Field(default=3.0, ge=1.0, le=100.0)
    sigmas: float = Field(default=4.0, ge=0.0, le=20.0)
    history_days: int = Field(default=7, ge=1, le=28)
    check_seconds: int = Field(default=30, ge=1, le=3600)
    topics: dict[CrisisTopicName, Annotated[list[CrisisKeyword], Field(min_length=1, max_length=60)]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_CRISIS_TOPICS.items()}, max_length=20)
    # What the team does in a crisis, per language (shown to everyone as plain text).
    playbook: dict[Literal["es", "en"], Annotated[CleanText, Field(max_length=20_000)]] = Field(
        default_factory=lambda: dict(DEFAULT_CRISIS_PLAYBOOK))
    # Canned responses (by key) pinned at the top of the library while crisis mode is on.
    pinned_canned: list[Annotated[CleanText, Field(min_length=1, max_length=100)]] = Field(
        default_factory=lambda: ["es-crisis", "en-crisis"], max_length=20)


class CrisisMode(BaseModel):
    """Crisis mode, switched on by a lead: the crisis responses are pinned, and conversations about the
    crisis (`topics`; "" or none: every negative or urgent message) are raised to urgent."""

    active: bool = False
    since: datetime | None = None
    by_agent_id: int | None = None
    by_name: str = ""
    topics: list[str] = []


class CrisisModeUpdate(BaseModel):
    active: bool


class CrisisSample(BaseModel):
    """One of the messages that raised an alert (customer text: show it as plain text)."""

    message_id: int
    conversation_id: int
    text: str
    created_at: datetime


class CrisisAlertPublic(BaseModel):
    id: int
    topic: str  # "" = every negative or urgent message together
    status: CrisisStatus
    started_at: datetime
    last_seen_at: datetime  # the last check that found the count at or over the threshold
    ended_at: datetime | None = None
    window_count: int  # negative or urgent messages in the window (the highest count seen)
    baseline: float  # the usual count for such a window
    window_minutes: int
    sample: list[CrisisSample] = []
    acknowledged_by_agent_id: int | None = None
    acknowledged_by_name: str = ""


class CrisisPublic(BaseModel):
    """GET /v1/crisis: the alerts not ended (newest first), then those ended in the last day; crisis mode;
    the playbook in the language asked for; and the canned responses to pin (empty unless crisis mode is on)."""

    alerts: list[CrisisAlertPublic] = []
    mode: CrisisMode = CrisisMode()
    settings: CrisisSettings = CrisisSettings()
    playbook: str = ""
    pinned_canned_keys: list[str] = []


# -- channel setup (GET/PUT/DELETE /v1/channels) ----------------------------------------------------------------

class ChannelField(BaseModel):
    """One setting of a channel's connection form; secret ones are never sent back, only whether one is set."""

    name: str
    secret: bool = False
    required: bool = False
    kind: Literal["text", "number", "choice"] = "text"
    choices: list[str] = []
    default: str = ""


class ChannelHealth(BaseModel):
    last_ok_at: datetime | None = None  # the last poll, webhook or send that worked
    last_webhook_at: datetime | None = None
    last_send_at: datetime | None = None
    last_error: str = ""  # the provider's reason, in English as it gave it
    last_error_kind: str = ""  # an ErrorKind value
    last_error_code: int | None = None
    last_error_at: datetime | None = None


# What the admin should fix, most urgent first; the app words each in the admin's language.
ChannelProblem = Literal["not_connected", "credentials_unreadable", "token_expired", "token_expires_soon",
                         "auth_refused", "permission_missing", "provider_failing", "poll_stale",
                         "webhook_waiting"]


class ChannelPublic(BaseModel):
    channel: str
    connected: bool
    source: Literal["app", "environment", ""] = ""  # who configured it: an admin from the app, or the server
    account_id: str = ""
    account_name: str = ""
    settings: dict[str, str] = {}  # the non-secret settings (ids, hosts, ports); only for channels set from the app
    secrets_set: list[str] = []  # which secret settings hold a value
    token_expires_at: datetime | None = None
    connected_at: datetime | None = None
    connected_by_name: str = ""
    webhook_path: str = ""  # where the provider must deliver webhooks ("" for polled channels)
    health: ChannelHealth = ChannelHealth()
    problems: list[ChannelProblem] = []
    fields: list[ChannelField] = []


class ChannelConnect(BaseModel):
    """PUT /v1/channels/{channel}: a secret left out keeps the stored one (change a host without retyping the
    password)."""

    model_config = ConfigDict(extra="forbid")

    settings: dict[str, str | int] = {}
    secrets: dict[str, str] = {}
