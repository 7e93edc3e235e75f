"""The desktop's local cache: SQLite (WAL) holding the synced team data, the sync cursor and the outbox."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, SQLModel, create_engine

from workstation import protocol


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """Naive UTC in SQLite, aware UTC in Python."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


def _dflt(value):
    """A default the database knows too (rows written by plain SQL, columns added to older caches)."""
    literal = str(int(value)) if isinstance(value, (bool, int)) else "'" + value.replace("'", "''") + "'"
    return Field(default=value, sa_column_kwargs={"server_default": sa.text(literal)})


def _ts(nullable: bool = True, **kw):
    return Field(sa_type=UTCDateTime, nullable=nullable, **kw)


# Local tables carry their own metadata so they never mix with a server's tables in one process.
class CacheModel(SQLModel, registry=sa.orm.registry()):
    pass


class CAgent(CacheModel, table=True):
    __tablename__ = "agent"
    id: int = Field(primary_key=True)
    email: str
    name: str
    role: str
    status: str = _dflt("offline")
    status_changed_at: datetime | None = _ts()
    timezone: str = _dflt("UTC")
    # JSON: list of protocol.Shift dicts, and {channel: capacity}.
    shifts: str = _dflt("[]")
    capacity: str = _dflt("{}")


class CCustomer(CacheModel, table=True):
    __tablename__ = "customer"
    id: int = Field(primary_key=True)
    display_name: str
    tags: str = _dflt("[]")  # JSON list
    fields: str = _dflt("{}")  # JSON object
    notes: str = _dflt("")
    language: str | None = None


class CIdentity(CacheModel, table=True):
    __tablename__ = "identity"
    id: int = Field(primary_key=True)
    customer_id: int = Field(index=True)
    channel: str
    handle: str
    display_name: str


class CConversation(CacheModel, table=True):
    __tablename__ = "conversation"
    id: int = Field(primary_key=True)
    customer_id: int = Field(index=True)
    channel: str
    status: str
    assignee_id: int | None = None
    last_message_at: datetime | None = _ts(index=True)
    last_inbound_at: datetime | None = _ts()
    last_message_preview: str = ""
    last_message_direction: str | None = None
    version: int = 1
    inbound_count: int = 0
    updated_by_agent_id: int | None = None
    assigned_at: datetime | None = _ts()
    waiting_since: datetime | None = _ts()
    priority: str = _dflt("normal")
    priority_reasons: str = _dflt("[]")  # JSON list
    case_type: str | None = None
    snoozed_until: datetime | None = _ts()
    snooze_until_reply: bool = _dflt(False)
    sla_kind: str | None = None
    sla_due_at: datetime | None = _ts()
    sla_target_seconds: int | None = None
    sla_breached_at: datetime | None = _ts()
    resolved_at: datetime | None = _ts()
    reopened_count: int = _dflt(0)
    public: bool = _dflt(False)
    # Local only: how many customer messages the agent had seen when last looking at it.
    read_count: int = 0


class CFollowUp(CacheModel, table=True):
    """Check-ins due some days after a case was resolved (protocol.FollowUpPublic)."""

    __tablename__ = "follow_up"
    id: int = Field(primary_key=True)
    conversation_id: int = Field(index=True)
    customer_id: int = Field(index=True)
    agent_id: int | None = None
    due_at: datetime = _ts(nullable=False)
    note: str = ""
    canned_id: str | None = None
    done_at: datetime | None = _ts()


class CCanned(CacheModel, table=True):
    """The team's canned responses and our own (protocol.CannedPublic)."""

    __tablename__ = "canned"
    id: int = Field(primary_key=True)
    key: str = Field(index=True)
    title: str
    shortcut: str
    category: str
    language: str
    body: str
    variants: str = _dflt("{}")  # JSON
    keywords: str = _dflt("[]")  # JSON
    owner_agent_id: int | None = None
    usage_count: int = _dflt(0)
    deleted: bool = _dflt(False)


class CAssignment(CacheModel, table=True):
    """The assignment trail of conversations (protocol.AssignmentPublic)."""

    __tablename__ = "assignment"
    id: int = Field(primary_key=True)
    conversation_id: int = Field(index=True)
    from_agent_id: int | None = None
    to_agent_id: int | None = None
    actor_agent_id: int | None = None
    kind: str
    reason: str = ""
    created_at: datetime = _ts(nullable=False)


class CMessage(CacheModel, table=True):
    __tablename__ = "message"
    local_id: int | None = Field(default=None, primary_key=True)
    server_id: int | None = Field(default=None, unique=True)
    op_id: str | None = Field(default=None, unique=True)
    conversation_id: int = Field(index=True)
    direction: str
    author_agent_id: int | None = None
    text: str
    kind: str = "text"
    delivery_state: str = "pending"
    error_kind: str | None = None
    error_code: int | None = None
    error_title: str | None = None
    created_at: datetime = _ts(nullable=False)


class CNote(CacheModel, table=True):
    __tablename__ = "note"
    local_id: int | None = Field(default=None, primary_key=True)
    server_id: int | None = Field(default=None, unique=True)
    op_id: str | None = Field(default=None, unique=True)
    conversation_id: int = Field(index=True)
    author_agent_id: int | None = None
    text: str
    created_at: datetime = _ts(nullable=False)


class COutbox(CacheModel, table=True):
    """Agent writes committed here first; the sender loop posts them with the op id as Idempotency-Key."""

    __tablename__ = "outbox"
    op_id: str = Field(primary_key=True)
    seq: int = Field(index=True)
    kind: str  # reply, note, update (status and/or assignment)
    conversation_id: int
    payload: str
    state: str = "queued"  # queued, failed (done ops are deleted)
    attempts: int = 0
    last_error: str | None = None
    created_at: datetime = _ts(nullable=False)


class CKeyValue(CacheModel, table=True):
    __tablename__ = "kv"
    key: str = Field(primary_key=True)
    value: str


@dataclass(frozen=True)
class FeedRow:
    conversation_id: int
    channel: str
    customer_name: str
    preview: str
    last_message_at: datetime | None
    last_direction: str | None
    status: str
    unread: bool
    assignee_id: int | None = None
    updated_by_agent_id: int | None = None
    inbound_count: int = 0
    priority: str = "normal"
    case_type: str | None = None
    # The response clock, when the customer is waiting for one (see workstation/sla.py).
    sla_kind: str | None = None
    sla_due_at: datetime | None = None
    sla_target_seconds: int | None = None
    sla_breached_at: datetime | None = None
    # The earliest check-in not yet done (due or not), if any.
    follow_up_due_at: datetime | None = None
    # A public conversation (mentions, comments) rather than private messages.
    public: bool = False
    last_inbound_at: datetime | None = None


def _feed_row(r) -> FeedRow:
    """A FeedRow from a row of _FEED_COLUMNS."""
    return FeedRow(
        conversation_id=r[0], channel=r[1], customer_name=r[2], preview=r[3], last_message_at=_utc(r[4]),
        last_direction=r[5], status=r[6], unread=bool(r[7]), assignee_id=r[8], updated_by_agent_id=r[9],
        inbound_count=r[10], priority=r[11] or "normal", case_type=r[12], sla_kind=r[13], sla_due_at=_utc(r[14]),
        sla_target_seconds=r[15], sla_breached_at=_utc(r[16]), follow_up_due_at=_utc(r[17]), public=bool(r[18]),
        last_inbound_at=_utc(r[19]))


@dataclass(frozen=True)
class ThreadRow:
    key: str
    # in, out, note (internal), event (a status/assignment change waiting in the outbox), assignment (the trail)
    direction: str
    text: str
    created_at: datetime
    delivery_state: str
    error_kind: str | None
    error_title: str | None
    op_state: str | None  # queued / failed while the write is still in the outbox
    op_error: str | None
    op_id: str | None = None
    author: str | None = None  # the agent who wrote an outbound message or a note
    # For direction "event": the requested change (the outbox payload). For "assignment": kind, reason, and
    # from/to/actor as names ("" when nobody: the queue, or the server) with from_id/to_id/actor_id.
    event: dict | None = None
    author_id: int | None = None  # the agent who wrote an outbound message or a note


@dataclass(frozen=True)
class SearchHit:
    conversation_id: int
    channel: str
    customer_name: str
    snippet: str  # plain text; matches are wrapped in HIGHLIGHT_START / HIGHLIGHT_END
    at: datetime | None
    matched: str  # "customer" or "message"


# Private-use characters mark highlights inside snippets; they are removed from cached text beforehand.
HIGHLIGHT_START, HIGHLIGHT_END = "\ue000", "\ue001"


@dataclass(frozen=True)
class CustomerCard:
    customer_id: int
    display_name: str
    identities: list[tuple[str, str, str]]  # channel, handle, display name
    conversations: list[tuple[int, str, str, datetime | None]]  # id, channel, status, last message at


@dataclass
class ChangeSet:
    """What one applied sync page or local write changed, for views to decide whether to refresh."""

    conversation_ids: set[int] = field(default_factory=set)
    customer_ids: set[int] = field(default_factory=set)
    new_inbound: int = 0
    reset: bool = False
    # Agents (status, shifts, capacity) changed: the lead board redraws.
    agents_changed: bool = False
    canned_changed: bool = False
    follow_ups_changed: bool = False

    def merge(self, other: "ChangeSet") -> None:
        self.conversation_ids |= other.conversation_ids
        self.customer_ids |= other.customer_ids
        self.new_inbound += other.new_inbound
        self.reset |= other.reset
        self.agents_changed |= other.agents_changed
        self.canned_changed |= other.canned_changed
        self.follow_ups_changed |= other.follow_ups_changed

    def __bool__(self) -> bool:
        return bool(self.conversation_ids or self.customer_ids or self.reset or self.agents_changed
                    or self.canned_changed or self.follow_ups_changed)


_STRIP_MARKERS = {ord(HIGHLIGHT_START): None, ord(HIGHLIGHT_END): None}

_FTS_DDL = (
    # External-content index over message text: the text is stored once, in `message`.
    "CREATE VIRTUAL TABLE IF NOT EXISTS message_fts USING fts5(text, content='message', "
    "content_rowid='local_id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS message_fts_ai AFTER INSERT ON message BEGIN "
    "INSERT INTO message_fts(rowid, text) VALUES (new.local_id, new.text); END",
    "CREATE TRIGGER IF NOT EXISTS message_fts_ad AFTER DELETE ON message BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, text) VALUES ('delete', old.local_id, old.text); END",
    "CREATE TRIGGER IF NOT EXISTS message_fts_au AFTER UPDATE OF text ON message WHEN old.text IS NOT new.text "
    "BEGIN INSERT INTO message_fts(message_fts, rowid, text) VALUES ('delete', old.local_id, old.text); "
    "INSERT INTO message_fts(rowid, text) VALUES (new.local_id, new.text); END",
    # One row per customer (rowid = customer id): name, handles and identity names.
    "CREATE VIRTUAL TABLE IF NOT EXISTS people_fts USING fts5(text, tokenize='unicode61 remove_diacritics 2')",
)

# Indexes for the feed's views, each in the feed's order (newest first; the rowid breaks ties), so a view's
# ids come from one index scan and never a sort of the whole table. Made on open for caches of older versions.
_INDEX_DDL = (
    "CREATE INDEX IF NOT EXISTS ix_conversation_assignee_feed ON conversation(assignee_id, last_message_at)",
    "CREATE INDEX IF NOT EXISTS ix_conversation_status_feed ON conversation(status, last_message_at)",
    "CREATE INDEX IF NOT EXISTS ix_conversation_unread_feed ON conversation(last_message_at) "
    "WHERE inbound_count > read_count",
    # The case-type filter, in the feed's order.
    "CREATE INDEX IF NOT EXISTS ix_conversation_case_feed ON conversation(case_type, last_message_at)",
    # Check-ins not done yet, by due time (the "Follow-ups due" view reads a handful through it).
    "CREATE INDEX IF NOT EXISTS ix_follow_up_open ON follow_up(due_at) WHERE done_at IS NULL",
)

# The feed's views: which conversations each shows. The terms match the indexes above word for word
# (a partial index is used only for a WHERE that repeats its condition).
FEED_VIEWS = ("all", "mine", "unassigned", "unread", "resolved", "follow_ups")
_VIEW_WHERE = {
    "all": "",
    "mine": "WHERE assignee_id = :agent",
    "unassigned": "WHERE assignee_id IS NULL",
    "unread": "WHERE inbound_count > read_count",
    "resolved": "WHERE status = 'resolved'",
    # Check-ins due now for this agent, or for nobody in particular (a handful: the subquery is small).
    "follow_ups": "WHERE id IN (SELECT conversation_id FROM follow_up WHERE done_at IS NULL AND due_at <= :now "
                  "AND (agent_id = :agent OR agent_id IS NULL))",
}
# Newest first. DESC already puts NULLs last in SQLite, and the index serves it in this form.
_FEED_ORDER = "ORDER BY last_message_at DESC, id DESC"
# The other orders the agent can pick. These sort the view's rows (no index serves them): tens of milliseconds
# for 100,000 conversations, paid only when chosen.
FEED_ORDERS = ("recent", "priority", "sla")
_ORDER_BY = {
    "recent": _FEED_ORDER,
    # Most urgent first; within a level, whoever has waited longest (then the newest).
    "priority": "ORDER BY CASE priority WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'low' THEN 0 ELSE 1 END DESC, "
                "waiting_since IS NULL, waiting_since, last_message_at DESC, id DESC",
    # Least time left first (breached clocks have the earliest due time); no running clock last.
    "sla": "ORDER BY sla_due_at IS NULL, sla_due_at, last_message_at DESC, id DESC",
}
_FEED_COLUMNS = (
    "conv.id, conv.channel, cust.display_name, conv.last_message_preview, conv.last_message_at, "
    "conv.last_message_direction, conv.status, conv.inbound_count > conv.read_count, conv.assignee_id, "
    "conv.updated_by_agent_id, conv.inbound_count, conv.priority, conv.case_type, conv.sla_kind, conv.sla_due_at, "
    "conv.sla_target_seconds, conv.sla_breached_at, "
    "(SELECT min(f.due_at) FROM follow_up f WHERE f.conversation_id = conv.id AND f.done_at IS NULL), "
    "conv.public, conv.last_inbound_at"
)


def _sql_time(value: datetime) -> str:
    """A time as the cache stores it (naive UTC text), for comparisons in raw SQL."""
    return value.astimezone(timezone.utc).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")

_WORD = re.compile(r"\w+", re.UNICODE)


def _canned_row(canned: protocol.CannedPublic) -> dict:
    row = canned.model_dump()
    row["variants"] = json.dumps(canned.variants)
    row["keywords"] = json.dumps(canned.keywords)
    return row


def _customer_row(customer: protocol.CustomerPublic) -> dict:
    row = customer.model_dump()
    row["tags"] = json.dumps(customer.tags)
    row["fields"] = json.dumps(customer.fields)
    return row


def _conversation_row(conversation: protocol.ConversationPublic) -> dict:
    row = conversation.model_dump()
    row["priority_reasons"] = json.dumps(conversation.priority_reasons)
    return row


def _agent_row(agent: protocol.AgentPublic) -> dict:
    row = agent.model_dump(mode="json", exclude={"shifts", "capacity", "status_changed_at"})
    row["status_changed_at"] = agent.status_changed_at
    row["shifts"] = json.dumps([s.model_dump() for s in agent.shifts])
    row["capacity"] = json.dumps(agent.capacity)
    return row


def _add_missing_columns(conn) -> bool:
    """Brings a cache made by an older version up to the current tables: columns it lacks are added with
    their defaults. True when any was added."""
    added = False
    for table in CacheModel.metadata.sorted_tables:
        present = {row[1] for row in conn.exec_driver_sql(f"PRAGMA table_info('{table.name}')")}
        for column in table.columns:
            if column.name in present:
                continue
            ddl = f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {column.type.compile(conn.dialect)}'
            if column.server_default is not None:
                ddl += " DEFAULT " + str(column.server_default.arg.text)
                if not column.nullable:
                    ddl += " NOT NULL"
            conn.exec_driver_sql(ddl)
            added = True
    return added


def _agent_name(agent_id: int | None, name: str | None) -> str:
    """An agent's name for the trail: "" for nobody (the queue, or the server), "#id" for one not synced."""
    if agent_id is None:
        return ""
    return name or f"#{agent_id}"


def _utc(value) -> datetime | None:
    """Raw SQL returns the stored text: the same naive UTC the ORM columns turn into aware datetimes."""
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)


def fts_query(text: str) -> str | None:
    """Turns what the agent typed into a safe FTS5 query: every word must match, the last one as a
    prefix. Words are quoted, so FTS syntax in the input (quotes, *, NEAR, -, AND, :) is just text."""
    words = _WORD.findall(text)
    if not words:
        return None
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


class Cache:
    """All methods are blocking; the app calls them on one database worker thread."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(f"sqlite:///{self.path}", connect_args={"check_same_thread": False})

        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # FULL: a reply shown as queued must survive a power cut, not only a crash of the app.
            cur.execute("PRAGMA synchronous=FULL")
            cur.close()

        CacheModel.metadata.create_all(self.engine)
        with self.engine.begin() as c:
            if _add_missing_columns(c):
                # Rows synced by an older version lack the new fields: pull everything again (the outbox and
                # local state stay; upserts fill the new columns in).
                self._set_value(c, "cursor", "0")
            for ddl in _FTS_DDL + _INDEX_DDL:
                c.exec_driver_sql(ddl)
        # Plain sqlite3 reads for the feed, one connection per calling thread (the database worker, and
        # the UI thread for the few rows it is about to paint): no ORM or row-object cost per row.
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()

    def close(self) -> None:
        with self._readers_lock:
            for con in self._readers:
                con.close()
            self._readers.clear()
        self._local = threading.local()
        self.engine.dispose()

    def _reader(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, check_same_thread=False)
            con.execute("PRAGMA query_only=ON")
            self._local.con = con
            with self._readers_lock:
                self._readers.append(con)
        return con

    # -- sync state -------------------------------------------------------------------------------
    def get_value(self, key: str, default: str | None = None) -> str | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(CKeyValue.value).where(CKeyValue.key == key)).first()
        return row[0] if row else default

    def cursor(self) -> int:
        return int(self.get_value("cursor", "0"))

    def epoch(self) -> str:
        return self.get_value("epoch", "") or ""

    def set_value(self, key: str, value: str) -> None:
        """Local UI state kept with the data it refers to (drafts, the open conversation)."""
        with self.engine.begin() as c:
            self._set_value(c, f"ui.{key}", value)

    def ui_value(self, key: str, default: str = "") -> str:
        return self.get_value(f"ui.{key}", default) or default

    @staticmethod
    def _set_value(conn, key: str, value: str) -> None:
        stmt = sqlite_insert(CKeyValue).values(key=key, value=value)
        conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value}))

    def apply_page(self, page: protocol.SyncPage) -> ChangeSet:
        """Applies one sync page and its cursor in a single transaction."""
        cs = ChangeSet()
        with self.engine.begin() as c:
            stored_epoch = c.execute(sa.select(CKeyValue.value).where(CKeyValue.key == "epoch")).scalar()
            if page.epoch and stored_epoch and page.epoch != stored_epoch:
                # Another database answers (restored, replaced): our cursor and ids mean nothing there.
                # Unsent writes name conversations of the old database, so they must not go out blindly.
                c.execute(sa.update(COutbox).where(COutbox.state == "queued").values(
                    state="failed", last_error="the team server's database changed; check before resending"))
                self._set_value(c, "epoch", page.epoch)
                page = protocol.SyncPage(next_after=0, has_more=True, reset=True)
            elif page.epoch and not stored_epoch:
                self._set_value(c, "epoch", page.epoch)
            if page.reset:
                for table in (CCanned, CFollowUp, CAssignment, CMessage, CNote, CConversation, CIdentity, CCustomer, CAgent):
                    stmt = sa.delete(table)
                    if table in (CMessage, CNote):
                        # Writes still waiting in the outbox keep their local rows.
                        stmt = stmt.where(table.op_id.is_(None) | table.server_id.is_not(None))
                    c.execute(stmt)
                c.exec_driver_sql("DELETE FROM people_fts")
                self._set_value(c, "cursor", "0")
                cs.reset = True
                return cs
            self._upsert(c, CAgent, [_agent_row(a) for a in page.agents])
            self._upsert(c, CCustomer, [_customer_row(x) for x in page.customers])
            self._upsert(c, CIdentity, [x.model_dump() for x in page.identities])
            self._upsert(c, CConversation, [_conversation_row(x) for x in page.conversations], keep=("read_count",))
            self._apply_messages(c, page.messages)
            for note in page.notes:
                self._apply_note(c, note)
            self._upsert(c, CAssignment, [x.model_dump() for x in page.assignments])
            self._upsert(c, CFollowUp, [x.model_dump() for x in page.follow_ups])
            self._upsert(c, CCanned, [_canned_row(x) for x in page.canned])
            cs.canned_changed = bool(page.canned)
            cs.follow_ups_changed = bool(page.follow_ups)
            cs.customer_ids = {x.id for x in page.customers} | {x.customer_id for x in page.identities}
            self._index_people(c, cs.customer_ids)
            cs.conversation_ids = (
                {x.id for x in page.conversations} | {m.conversation_id for m in page.messages}
                | {n.conversation_id for n in page.notes} | {x.conversation_id for x in page.assignments}
            )
            cs.agents_changed = bool(page.agents)
            cs.new_inbound = sum(1 for m in page.messages if m.direction == "in")
            self._set_value(c, "cursor", str(page.next_after))
        return cs

    @staticmethod
    def _upsert(conn, table, rows: list[dict], keep: tuple[str, ...] = ()) -> None:
        if not rows:
            return
        stmt = sqlite_insert(table)
        cols = [k for k in rows[0] if k != "id" and k not in keep]
        stmt = stmt.on_conflict_do_update(index_elements=["id"], set_={k: stmt.excluded[k] for k in cols})
        conn.execute(stmt, rows)

    @staticmethod
    def _index_people(conn, customer_ids: set[int]) -> None:
        if not customer_ids:
            return
        ids = ",".join(str(int(i)) for i in customer_ids)
        conn.exec_driver_sql(f"DELETE FROM people_fts WHERE rowid IN ({ids})")
        conn.exec_driver_sql(
            "INSERT INTO people_fts(rowid, text) SELECT c.id, c.display_name || ' ' || "
            "coalesce(group_concat(i.handle || ' ' || i.display_name, ' '), '') "
            f"FROM customer c LEFT JOIN identity i ON i.customer_id = c.id WHERE c.id IN ({ids}) GROUP BY c.id"
        )

    @staticmethod
    def _message_values(m: protocol.MessagePublic) -> dict:
        return dict(
            server_id=m.id, conversation_id=m.conversation_id, direction=m.direction,
            author_agent_id=m.author_agent_id, text=m.text.translate(_STRIP_MARKERS), kind=m.kind,
            delivery_state=m.delivery_state, error_kind=m.error_kind, error_code=m.error_code,
            error_title=m.error_title, created_at=m.created_at,
        )

    @classmethod
    def _apply_messages(cls, conn, messages: list[protocol.MessagePublic]) -> None:
        # A reply whose op id still has a local row (written by us, not yet confirmed) takes that row
        # over one by one; everything else - including replies sent from other machines, which is most
        # of them in an initial sync - is one bulk upsert.
        op_ids = [m.client_op_id for m in messages if m.client_op_id]
        local = set()
        for start in range(0, len(op_ids), 500):
            local |= set(conn.execute(sa.select(CMessage.op_id).where(
                CMessage.op_id.in_(op_ids[start:start + 500]), CMessage.server_id.is_(None))).scalars())
        own = [m for m in messages if m.client_op_id in local]
        # Other agents' keys are theirs: only our own pending rows carry an op id locally.
        rows = [cls._message_values(m) for m in messages if m.client_op_id not in local]
        if rows:
            stmt = sqlite_insert(CMessage)
            stmt = stmt.on_conflict_do_update(
                index_elements=["server_id"],
                set_={k: stmt.excluded[k] for k in rows[0] if k != "server_id"},
            )
            conn.execute(stmt, rows)
        for m in own:
            cls._apply_message(conn, m)

    @classmethod
    def _apply_message(cls, conn, m: protocol.MessagePublic) -> None:
        values = cls._message_values(m)
        updated = conn.execute(sa.update(CMessage).where(CMessage.server_id == m.id).values(**values)).rowcount
        if updated:
            return
        if m.client_op_id:
            # Our own reply coming back from the server: the local row becomes the server's row.
            updated = conn.execute(
                sa.update(CMessage).where(CMessage.op_id == m.client_op_id, CMessage.server_id.is_(None))
                .values(**values)
            ).rowcount
            if updated:
                return
        conn.execute(sa.insert(CMessage).values(**values))

    @staticmethod
    def _apply_note(conn, n: protocol.NotePublic) -> None:
        values = dict(server_id=n.id, conversation_id=n.conversation_id, author_agent_id=n.author_agent_id,
                      text=n.text, created_at=n.created_at)
        if conn.execute(sa.update(CNote).where(CNote.server_id == n.id).values(**values)).rowcount:
            return
        if n.client_op_id and conn.execute(
            sa.update(CNote).where(CNote.op_id == n.client_op_id, CNote.server_id.is_(None)).values(**values)
        ).rowcount:
            return
        conn.execute(sa.insert(CNote).values(**values))

    # -- reads for the views ----------------------------------------------------------------------
    def feed(self, *, limit: int = 1000) -> list[FeedRow]:
        con = self._reader()
        return [_feed_row(r) for r in con.execute(
            f"SELECT {_FEED_COLUMNS} FROM conversation conv JOIN customer cust ON cust.id = conv.customer_id "
            "ORDER BY conv.last_message_at DESC, conv.id DESC LIMIT ?", (limit,))]

    def feed_ids(self, view: str = "all", *, agent_id: int | None = None, order: str = "recent",
                 case_type: str | None = None, now: datetime | None = None) -> list[int]:
        """Every conversation id of a feed view in the chosen order (newest first by default: one scan of a
        covering index, 100k ids in tens of milliseconds); `case_type`: only conversations of that type. The
        rows themselves are read a window at a time (`feed_rows`)."""
        where = _VIEW_WHERE[view]
        if case_type:
            where = f"{where} AND case_type = :case_type" if where else "WHERE case_type = :case_type"
        con = self._reader()
        # One string instead of a tuple per row: a third of the cost for 100k ids.
        text = con.execute(
            f"SELECT group_concat(id) FROM (SELECT id FROM conversation {where} {_ORDER_BY[order]})",
            {"agent": agent_id, "case_type": case_type, "now": _sql_time(now or datetime.now(timezone.utc))},
        ).fetchone()[0]
        return [int(x) for x in text.split(",")] if text else []

    def feed_rows(self, conversation_ids: list[int]) -> list[FeedRow]:
        """The feed rows of the given conversations, in the order given (missing ones left out). Reads by
        primary key, so a screenful costs well under a millisecond; safe from any thread."""
        if not conversation_ids:
            return []
        con = self._reader()
        found: dict[int, FeedRow] = {}
        for k in range(0, len(conversation_ids), 500):
            chunk = conversation_ids[k:k + 500]
            rows = con.execute(
                f"SELECT {_FEED_COLUMNS} FROM conversation conv JOIN customer cust ON cust.id = conv.customer_id "
                f"WHERE conv.id IN ({','.join('?' * len(chunk))})", chunk).fetchall()
            for r in rows:
                found[r[0]] = _feed_row(r)
        return [found[i] for i in conversation_ids if i in found]

    def watch_rows(self, agent_id: int, *, breaches_of_all: bool = False) -> list[FeedRow]:
        """The conversations the agent's notifications follow: theirs, and the unassigned ones whose customer
        is waiting (a few hundred, not the whole feed); `breaches_of_all` (leads): also every open
        conversation past its response target."""
        con = self._reader()
        extra = " OR (conv.sla_breached_at IS NOT NULL AND conv.status = 'open')" if breaches_of_all else ""
        return [
            _feed_row(r)
            for r in con.execute(
                f"SELECT {_FEED_COLUMNS} FROM conversation conv JOIN customer cust ON cust.id = conv.customer_id "
                "WHERE conv.assignee_id = ? OR (conv.assignee_id IS NULL AND conv.last_message_direction = 'in' "
                f"AND conv.status IN ('open', 'pending')){extra}", (agent_id,))
        ]

    def conversation(self, conversation_id: int) -> CConversation | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(CConversation).where(CConversation.id == conversation_id)).first()
        return CConversation(**row._mapping) if row else None

    def thread(self, conversation_id: int) -> list[ThreadRow]:
        """Messages, internal notes, the assignment trail and pending changes of one conversation, oldest
        first."""
        m, o, n, a, t = CMessage, COutbox, CNote, CAgent, CAssignment
        a_from, a_to, a_actor = (sa.orm.aliased(CAgent, name=f"agent_{x}") for x in ("from", "to", "actor"))
        with self.engine.connect() as c:
            messages = c.execute(
                sa.select(m.local_id, m.server_id, m.direction, m.text, m.created_at, m.delivery_state,
                          m.error_kind, m.error_title, o.state, o.last_error, m.op_id, a.name, m.author_agent_id)
                .outerjoin(o, o.op_id == m.op_id)
                .outerjoin(a, a.id == m.author_agent_id)
                .where(m.conversation_id == conversation_id)
            ).all()
            notes = c.execute(
                sa.select(n.local_id, n.server_id, n.text, n.created_at, o.state, o.last_error, n.op_id, a.name,
                          n.author_agent_id)
                .outerjoin(o, o.op_id == n.op_id)
                .outerjoin(a, a.id == n.author_agent_id)
                .where(n.conversation_id == conversation_id)
            ).all()
            events = c.execute(
                sa.select(o.op_id, o.payload, o.created_at, o.state, o.last_error)
                .where(o.conversation_id == conversation_id, o.kind == "update")
            ).all()
            trail = c.execute(
                sa.select(t.id, t.kind, t.reason, t.created_at, t.from_agent_id, t.to_agent_id, t.actor_agent_id,
                          a_from.name, a_to.name, a_actor.name)
                .outerjoin(a_from, a_from.id == t.from_agent_id)
                .outerjoin(a_to, a_to.id == t.to_agent_id)
                .outerjoin(a_actor, a_actor.id == t.actor_agent_id)
                .where(t.conversation_id == conversation_id)
            ).all()
        rows = [
            ThreadRow(
                key=f"s{r[1]}" if r[1] is not None else f"l{r[0]}", direction=r[2], text=r[3], created_at=r[4],
                delivery_state=r[5], error_kind=r[6], error_title=r[7],
                op_state=r[8] if r[1] is None else None, op_error=r[9] if r[1] is None else None,
                op_id=r[10] if r[1] is None else None, author=r[11], author_id=r[12],
            )
            for r in messages
        ]
        rows += [
            ThreadRow(
                key=f"n{r[1]}" if r[1] is not None else f"nl{r[0]}", direction="note", text=r[2], created_at=r[3],
                delivery_state="sent" if r[1] is not None else "pending", error_kind=None, error_title=None,
                op_state=r[4] if r[1] is None else None, op_error=r[5] if r[1] is None else None,
                op_id=r[6] if r[1] is None else None, author=r[7], author_id=r[8],
            )
            for r in notes
        ]
        rows += [
            ThreadRow(
                key=f"e{r[0]}", direction="event", text="", created_at=r[2], delivery_state="pending",
                error_kind=None, error_title=None, op_state=r[3], op_error=r[4], op_id=r[0],
                event=json.loads(r[1]),
            )
            for r in events
        ]
        rows += [
            ThreadRow(
                key=f"a{r[0]}", direction="assignment", text="", created_at=r[3], delivery_state="sent",
                error_kind=None, error_title=None, op_state=None, op_error=None,
                event={"kind": r[1], "reason": r[2], "from_id": r[4], "to_id": r[5], "actor_id": r[6],
                       "from": _agent_name(r[4], r[7]), "to": _agent_name(r[5], r[8]),
                       "actor": _agent_name(r[6], r[9])},
            )
            for r in trail
        ]
        rows.sort(key=lambda r: (r.created_at, r.key))
        return rows

    def customer_card(self, conversation_id: int) -> CustomerCard | None:
        with self.engine.connect() as c:
            conv = c.execute(sa.select(CConversation.customer_id).where(CConversation.id == conversation_id)).first()
            if conv is None:
                return None
            customer = c.execute(sa.select(CCustomer).where(CCustomer.id == conv[0])).first()
            idents = c.execute(
                sa.select(CIdentity.channel, CIdentity.handle, CIdentity.display_name)
                .where(CIdentity.customer_id == conv[0]).order_by(CIdentity.id)
            ).all()
            convs = c.execute(
                sa.select(CConversation.id, CConversation.channel, CConversation.status, CConversation.last_message_at)
                .where(CConversation.customer_id == conv[0])
                .order_by(CConversation.last_message_at.desc().nulls_last())
            ).all()
        return CustomerCard(
            customer_id=conv[0], display_name=customer.display_name if customer else "",
            identities=[tuple(r) for r in idents], conversations=[tuple(r) for r in convs],
        )

    def agent(self, agent_id: int) -> CAgent | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(CAgent).where(CAgent.id == agent_id)).first()
        return CAgent(**row._mapping) if row else None

    def agents(self) -> list[CAgent]:
        with self.engine.connect() as c:
            return [CAgent(**r._mapping) for r in c.execute(sa.select(CAgent).order_by(CAgent.name)).all()]

    def mark_read(self, conversation_id: int) -> ChangeSet:
        with self.engine.begin() as c:
            c.execute(sa.update(CConversation).where(CConversation.id == conversation_id)
                      .values(read_count=CConversation.inbound_count))
        return ChangeSet(conversation_ids={conversation_id})

    def notes_mentioning(self, needle: str, *, after_local_id: int, not_by: int) -> list[tuple[int, int, str, str]]:
        """Notes by others after a point that mention `needle` (e.g. "@Ana"): (local id, conversation,
        text, author name)."""
        n, a = CNote, CAgent
        with self.engine.connect() as c:
            rows = c.execute(
                sa.select(n.local_id, n.conversation_id, n.text, a.name)
                .outerjoin(a, a.id == n.author_agent_id)
                .where(n.local_id > after_local_id, n.author_agent_id != not_by,
                       n.text.contains(needle, autoescape=True))
                .order_by(n.local_id)
            ).all()
        return [(r[0], r[1], r[2], r[3] or "") for r in rows]

    def last_note_id(self) -> int:
        with self.engine.connect() as c:
            return c.execute(sa.select(sa.func.max(CNote.local_id))).scalar() or 0

    # -- search -----------------------------------------------------------------------------------
    def search(self, text: str, *, limit: int = 50) -> list[SearchHit]:
        """Conversations matching the text: customers by name or handle first, then messages, newest
        first, one hit per conversation."""
        query = fts_query(text)
        if query is None:
            return []
        hits: list[SearchHit] = []
        seen: set[int] = set()
        with self.engine.connect() as c:
            people = c.exec_driver_sql(
                "SELECT conv.id, conv.channel, cust.display_name, conv.last_message_at, "
                "highlight(people_fts, 0, ?, ?) FROM people_fts "
                "JOIN customer cust ON cust.id = people_fts.rowid "
                "JOIN conversation conv ON conv.customer_id = cust.id "
                "WHERE people_fts MATCH ? ORDER BY conv.last_message_at DESC LIMIT ?",
                (HIGHLIGHT_START, HIGHLIGHT_END, query, limit),
            ).all()
            for conv_id, channel, name, at, highlighted in people:
                if conv_id not in seen:
                    seen.add(conv_id)
                    hits.append(SearchHit(conv_id, channel, name, highlighted, _utc(at), "customer"))
            # Newest first by rowid: ranking every hit of a common word would cost hundreds of ms.
            # (Snippets in the same pass: a second query per hit, MATCH with a rowid, costs more for common
            # words than snippets of rows that end up unused.)
            messages = c.exec_driver_sql(
                "SELECT m.conversation_id, conv.channel, cust.display_name, m.created_at, "
                "snippet(message_fts, 0, ?, ?, '…', 12) FROM message_fts "
                "JOIN message m ON m.local_id = message_fts.rowid "
                "JOIN conversation conv ON conv.id = m.conversation_id "
                "JOIN customer cust ON cust.id = conv.customer_id "
                "WHERE message_fts MATCH ? ORDER BY message_fts.rowid DESC LIMIT ?",
                (HIGHLIGHT_START, HIGHLIGHT_END, query, limit * 4),
            ).all()
            for conv_id, channel, name, at, snippet in messages:
                if conv_id not in seen and len(hits) < limit:
                    seen.add(conv_id)
                    hits.append(SearchHit(conv_id, channel, name, snippet, _utc(at), "message"))
        return hits

    # -- outbox -----------------------------------------------------------------------------------
    def _enqueue(self, conn, kind: str, conversation_id: int, payload: dict, now: datetime) -> str:
        op_id = str(uuid.uuid4())
        seq = (conn.execute(sa.select(sa.func.max(COutbox.seq))).scalar() or 0) + 1
        conn.execute(sa.insert(COutbox).values(
            op_id=op_id, seq=seq, kind=kind, conversation_id=conversation_id,
            payload=json.dumps(payload), state="queued", created_at=now,
        ))
        return op_id

    def enqueue_reply(self, conversation_id: int, text: str) -> tuple[str, ChangeSet]:
        """Commits a reply locally (outbox op + a pending message row) before anything is sent."""
        now = utcnow()
        with self.engine.begin() as c:
            op_id = self._enqueue(c, "reply", conversation_id, {"text": text}, now)
            c.execute(sa.insert(CMessage).values(
                op_id=op_id, conversation_id=conversation_id, direction="out", text=text,
                delivery_state="pending", created_at=now,
            ))
        return op_id, ChangeSet(conversation_ids={conversation_id})

    def enqueue_note(self, conversation_id: int, text: str, author_agent_id: int) -> tuple[str, ChangeSet]:
        now = utcnow()
        with self.engine.begin() as c:
            op_id = self._enqueue(c, "note", conversation_id, {"text": text}, now)
            c.execute(sa.insert(CNote).values(op_id=op_id, conversation_id=conversation_id,
                                              author_agent_id=author_agent_id, text=text, created_at=now))
        return op_id, ChangeSet(conversation_ids={conversation_id})

    def enqueue_update(self, conversation_id: int, *, status: str | None = None,
                       assignee: tuple[bool, int | None] = (False, None), reason: str = "",
                       care: dict | None = None) -> tuple[str, ChangeSet]:
        """Queues a status and/or assignment change and shows it at once; the previous values are kept
        in the op so a refused or discarded change can be undone locally. `care` holds the other fields of
        protocol.ConversationUpdate (case type, snooze, follow-up, priority), JSON-ready."""
        set_assignee, assignee_id = assignee
        now = utcnow()
        with self.engine.begin() as c:
            current = c.execute(sa.select(CConversation.status, CConversation.assignee_id, CConversation.version)
                                .where(CConversation.id == conversation_id)).first()
            if current is None:
                raise KeyError(f"conversation {conversation_id} is not in the cache")
            payload = {
                "status": status, "set_assignee": set_assignee, "assignee_id": assignee_id,
                "expected_version": current[2] + self._updates_ahead(c, conversation_id),
                "previous": {"status": current[0], "assignee_id": current[1]},
            }
            if reason:
                payload["reason"] = reason
            if care:
                payload["care"] = care
            op_id = self._enqueue(c, "update", conversation_id, payload, now)
            values = {key: care[key] for key in ("case_type", "priority") if care and care.get(key)}
            if status is not None:
                values["status"] = status
            if set_assignee:
                values["assignee_id"] = assignee_id
            if values:
                c.execute(sa.update(CConversation).where(CConversation.id == conversation_id).values(**values))
        return op_id, ChangeSet(conversation_ids={conversation_id})

    @staticmethod
    def _updates_ahead(conn, conversation_id: int, before_seq: int | None = None) -> int:
        """Our own queued changes that will reach the server first, each bumping its version by one."""
        stmt = sa.select(sa.func.count()).select_from(COutbox).where(
            COutbox.conversation_id == conversation_id, COutbox.kind == "update", COutbox.state == "queued")
        if before_seq is not None:
            stmt = stmt.where(COutbox.seq < before_seq)
        return conn.execute(stmt).scalar_one()

    def next_op(self) -> COutbox | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(COutbox).where(COutbox.state == "queued").order_by(COutbox.seq).limit(1)).first()
        return COutbox(**row._mapping) if row else None

    def pending_ops(self) -> int:
        with self.engine.connect() as c:
            return c.execute(sa.select(sa.func.count()).select_from(COutbox)
                             .where(COutbox.state == "queued")).scalar_one()

    def failed_ops(self) -> int:
        with self.engine.connect() as c:
            return c.execute(sa.select(sa.func.count()).select_from(COutbox)
                             .where(COutbox.state == "failed")).scalar_one()

    def op_attempted(self, op_id: str, error: str | None) -> None:
        with self.engine.begin() as c:
            c.execute(sa.update(COutbox).where(COutbox.op_id == op_id)
                      .values(attempts=COutbox.attempts + 1, last_error=error))

    def op_done(self, op_id: str, result) -> ChangeSet:
        """Removes a sent op and applies the server's answer (message, note or conversation)."""
        # The answer may be older than what sync already applied (an idempotent replay always is):
        # it only re-keys our local row, and never overwrites a row the server already sent.
        with self.engine.begin() as c:
            c.execute(sa.delete(COutbox).where(COutbox.op_id == op_id))
            if isinstance(result, protocol.MessagePublic):
                if c.execute(sa.select(CMessage.local_id).where(CMessage.server_id == result.id)).first() is None:
                    self._apply_message(c, result)
            elif isinstance(result, protocol.NotePublic):
                if c.execute(sa.select(CNote.local_id).where(CNote.server_id == result.id)).first() is None:
                    self._apply_note(c, result)
            elif isinstance(result, protocol.ConversationPublic):
                version = c.execute(sa.select(CConversation.version)
                                    .where(CConversation.id == result.id)).scalar()
                if version is None or result.version >= version:
                    self._upsert(c, CConversation, [_conversation_row(result)], keep=("read_count",))
        return ChangeSet(conversation_ids={result.conversation_id if hasattr(result, "conversation_id") else result.id})

    def _undo_update(self, conn, op: COutbox) -> None:
        payload = json.loads(op.payload)
        previous = payload.get("previous") or {}
        values = {}
        if payload.get("status") is not None:
            values["status"] = previous.get("status")
        if payload.get("set_assignee"):
            values["assignee_id"] = previous.get("assignee_id")
        if values:
            conn.execute(sa.update(CConversation).where(CConversation.id == op.conversation_id).values(**values))

    def _get_op(self, conn, op_id: str) -> COutbox | None:
        row = conn.execute(sa.select(COutbox).where(COutbox.op_id == op_id)).first()
        return COutbox(**row._mapping) if row else None

    def op_failed(self, op_id: str, reason: str, current: protocol.ConversationPublic | None = None) -> ChangeSet:
        """Keeps the op, visibly failed with its reason, until the agent retries or discards it. A refused
        change shows the conversation as the server has it now (`current`, from the 409), and the changes
        queued after it on the same conversation fail too: they were meant to follow this one."""
        with self.engine.begin() as c:
            op = self._get_op(c, op_id)
            if op is None:
                return ChangeSet()
            c.execute(sa.update(COutbox).where(COutbox.op_id == op_id).values(state="failed", last_error=reason))
            if op.kind == "update":
                later = c.execute(sa.select(COutbox.op_id).where(
                    COutbox.conversation_id == op.conversation_id, COutbox.kind == "update",
                    COutbox.state == "queued", COutbox.seq > op.seq)).scalars().all()
                if later:
                    c.execute(sa.update(COutbox).where(COutbox.op_id.in_(later)).values(
                        state="failed", last_error="an earlier change to this conversation was refused"))
                if current is not None:
                    self._upsert(c, CConversation, [_conversation_row(current)], keep=("read_count",))
                else:
                    self._undo_update(c, op)
        return ChangeSet(conversation_ids={op.conversation_id})

    def retry_op(self, op_id: str) -> ChangeSet:
        with self.engine.begin() as c:
            op = self._get_op(c, op_id)
            if op is None or op.state != "failed":
                return ChangeSet()
            values = {"state": "queued", "last_error": None, "attempts": 0}
            if op.kind == "update":
                # Retry against the conversation as it is now, and show the change again at once.
                payload = json.loads(op.payload)
                current = c.execute(sa.select(CConversation.status, CConversation.assignee_id, CConversation.version)
                                    .where(CConversation.id == op.conversation_id)).first()
                if current is not None:
                    payload["expected_version"] = current[2] + self._updates_ahead(c, op.conversation_id, op.seq)
                    payload["previous"] = {"status": current[0], "assignee_id": current[1]}
                    redo = {}
                    if payload.get("status") is not None:
                        redo["status"] = payload["status"]
                    if payload.get("set_assignee"):
                        redo["assignee_id"] = payload.get("assignee_id")
                    if redo:
                        c.execute(sa.update(CConversation).where(CConversation.id == op.conversation_id).values(**redo))
                values["payload"] = json.dumps(payload)
            c.execute(sa.update(COutbox).where(COutbox.op_id == op_id).values(**values))
        return ChangeSet(conversation_ids={op.conversation_id})

    def discard_op(self, op_id: str) -> ChangeSet:
        """Drops an unsent write and its local trace; only the agent's explicit choice calls this."""
        with self.engine.begin() as c:
            op = self._get_op(c, op_id)
            if op is None:
                return ChangeSet()
            c.execute(sa.delete(COutbox).where(COutbox.op_id == op_id))
            c.execute(sa.delete(CMessage).where(CMessage.op_id == op_id, CMessage.server_id.is_(None)))
            c.execute(sa.delete(CNote).where(CNote.op_id == op_id, CNote.server_id.is_(None)))
            if op.kind == "update" and op.state != "failed":
                self._undo_update(c, op)
        return ChangeSet(conversation_ids={op.conversation_id})

    # -- the customer's history (read only; workstation.history assembles it) --------------------------------
    def customer_id_of(self, conversation_id: int) -> int | None:
        with self.engine.connect() as c:
            return c.execute(sa.select(CConversation.customer_id)
                             .where(CConversation.id == conversation_id)).scalar()

    def customers_of(self, conversation_ids: set[int] | list[int]) -> set[int]:
        """The customers of the given conversations (those in the cache)."""
        ids = list(conversation_ids)
        found: set[int] = set()
        with self.engine.connect() as c:
            for start in range(0, len(ids), 500):
                found |= set(c.execute(sa.select(CConversation.customer_id).distinct()
                                       .where(CConversation.id.in_(ids[start:start + 500]))).scalars())
        return found

    def customer(self, customer_id: int) -> CCustomer | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(CCustomer).where(CCustomer.id == customer_id)).first()
        return CCustomer(**row._mapping) if row else None

    def customer_identities(self, customer_id: int) -> list[CIdentity]:
        with self.engine.connect() as c:
            rows = c.execute(sa.select(CIdentity).where(CIdentity.customer_id == customer_id)
                             .order_by(CIdentity.id)).all()
        return [CIdentity(**r._mapping) for r in rows]

    def customer_conversations(self, customer_id: int) -> list[tuple[CConversation, int]]:
        """Every conversation of the customer on any channel, newest first, with how many messages the cache
        holds for each."""
        conv, m = CConversation, CMessage
        counts = (sa.select(m.conversation_id, sa.func.count().label("n")).group_by(m.conversation_id)
                  .where(m.conversation_id.in_(sa.select(conv.id).where(conv.customer_id == customer_id)))
                  .subquery())
        with self.engine.connect() as c:
            rows = c.execute(
                sa.select(conv, sa.func.coalesce(counts.c.n, 0))
                .outerjoin(counts, counts.c.conversation_id == conv.id)
                .where(conv.customer_id == customer_id)
                .order_by(conv.last_message_at.desc().nulls_last(), conv.id.desc())
            ).all()
        return [(CConversation(**{k: v for k, v in r._mapping.items() if k in CConversation.model_fields}), r[-1])
                for r in rows]

    def conversation_notes(self, conversation_ids: list[int]) -> list[tuple[CNote, str | None]]:
        """The internal notes of the given conversations with their authors' names, oldest first."""
        n, a = CNote, CAgent
        out: list[tuple[CNote, str | None]] = []
        with self.engine.connect() as c:
            for start in range(0, len(conversation_ids), 500):
                rows = c.execute(
                    sa.select(n, a.name.label("author_name")).outerjoin(a, a.id == n.author_agent_id)
                    .where(n.conversation_id.in_(conversation_ids[start:start + 500]))
                ).all()
                out += [(CNote(**{k: v for k, v in r._mapping.items() if k in CNote.model_fields}), r.author_name)
                        for r in rows]
        out.sort(key=lambda item: (item[0].created_at, item[0].local_id or 0))
        return out

    def customer_follow_ups(self, customer_id: int, *, include_done: bool = False) -> list[tuple[CFollowUp, str | None]]:
        """The customer's follow-ups (open ones only unless `include_done`), soonest due first, with the name
        of the agent each belongs to."""
        f, a = CFollowUp, CAgent
        stmt = (sa.select(f, a.name.label("agent_name")).outerjoin(a, a.id == f.agent_id)
                .where(f.customer_id == customer_id).order_by(f.due_at, f.id))
        if not include_done:
            stmt = stmt.where(f.done_at.is_(None))
        with self.engine.connect() as c:
            rows = c.execute(stmt).all()
        return [(CFollowUp(**{k: v for k, v in r._mapping.items() if k in CFollowUp.model_fields}), r.agent_name)
                for r in rows]

    def due_follow_up_canned(self, conversation_id: int, now: datetime | None = None) -> list[str]:
        """The canned responses (keys) of the conversation's check-ins that are due and not done, soonest
        first; a follow-up without one suggests the default check-in."""
        now = now or datetime.now(timezone.utc)
        f = CFollowUp
        with self.engine.connect() as c:
            rows = c.execute(sa.select(f.canned_id).where(
                f.conversation_id == conversation_id, f.done_at.is_(None), f.due_at <= now)
                .order_by(f.due_at, f.id)).all()
        return [r[0] or "es-followup" for r in rows]

    # -- canned library (read only) ---------------------------------------------------------------
    def canned_rows(self, agent_id: int | None) -> list[CCanned]:
        """The synced canned responses `agent_id` may use: not deleted, and the team's (no owner) or the
        agent's own; another agent's personal responses are left out. Unordered."""
        visible = CCanned.owner_agent_id.is_(None)
        if agent_id is not None:
            visible = visible | (CCanned.owner_agent_id == agent_id)
        with self.engine.connect() as c:
            rows = c.execute(sa.select(CCanned).where(CCanned.deleted.is_(False), visible)).all()
        return [CCanned(**r._mapping) for r in rows]

    def canned_synced(self) -> bool:
        """Whether any canned response (deleted ones included) has been synced from the team server."""
        with self.engine.connect() as c:
            return c.execute(sa.select(CCanned.id).limit(1)).first() is not None
