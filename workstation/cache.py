"""The desktop's local cache: SQLite (WAL) holding the synced team data, the sync cursor and the outbox."""

from __future__ import annotations

import json
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


class CCustomer(CacheModel, table=True):
    __tablename__ = "customer"
    id: int = Field(primary_key=True)
    display_name: str


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
    # Local only: the agent has seen everything up to this moment.
    read_upto: datetime | None = _ts()


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


class COutbox(CacheModel, table=True):
    """Agent writes committed here first; the sender loop posts them with the op id as Idempotency-Key."""

    __tablename__ = "outbox"
    op_id: str = Field(primary_key=True)
    seq: int = Field(index=True)
    kind: str
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


@dataclass(frozen=True)
class ThreadRow:
    key: str
    direction: str
    text: str
    created_at: datetime
    delivery_state: str
    error_kind: str | None
    error_title: str | None
    op_state: str | None  # queued / failed while the reply is still in the outbox
    op_error: str | None


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

    def merge(self, other: "ChangeSet") -> None:
        self.conversation_ids |= other.conversation_ids
        self.customer_ids |= other.customer_ids
        self.new_inbound += other.new_inbound
        self.reset |= other.reset

    def __bool__(self) -> bool:
        return bool(self.conversation_ids or self.customer_ids or self.reset)


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
        self._lock = threading.Lock()

    def close(self) -> None:
        self.engine.dispose()

    # -- sync state -------------------------------------------------------------------------------
    def get_value(self, key: str, default: str | None = None) -> str | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(CKeyValue.value).where(CKeyValue.key == key)).first()
        return row[0] if row else default

    def cursor(self) -> int:
        return int(self.get_value("cursor", "0"))

    @staticmethod
    def _set_value(conn, key: str, value: str) -> None:
        stmt = sqlite_insert(CKeyValue).values(key=key, value=value)
        conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value}))

    def apply_page(self, page: protocol.SyncPage) -> ChangeSet:
        """Applies one sync page and its cursor in a single transaction."""
        cs = ChangeSet()
        with self.engine.begin() as c:
            if page.reset:
                for table in (CMessage, CConversation, CIdentity, CCustomer, CAgent):
                    stmt = sa.delete(table)
                    if table is CMessage:
                        # Replies still waiting in the outbox keep their local rows.
                        stmt = stmt.where(CMessage.op_id.is_(None) | CMessage.server_id.is_not(None))
                    c.execute(stmt)
                self._set_value(c, "cursor", "0")
                cs.reset = True
                return cs
            self._upsert(c, CAgent, [a.model_dump() for a in page.agents])
            self._upsert(c, CCustomer, [x.model_dump() for x in page.customers])
            self._upsert(c, CIdentity, [x.model_dump() for x in page.identities])
            conv_rows = [x.model_dump() for x in page.conversations]
            self._upsert(c, CConversation, conv_rows, keep=("read_upto",))
            for m in page.messages:
                self._apply_message(c, m)
                if m.direction == "in":
                    cs.new_inbound += 1
            cs.customer_ids = {x.id for x in page.customers} | {x.customer_id for x in page.identities}
            cs.conversation_ids = {x.id for x in page.conversations} | {m.conversation_id for m in page.messages}
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
    def _apply_message(conn, m: protocol.MessagePublic) -> None:
        values = dict(
            server_id=m.id, conversation_id=m.conversation_id, direction=m.direction,
            author_agent_id=m.author_agent_id, text=m.text, kind=m.kind, delivery_state=m.delivery_state,
            error_kind=m.error_kind, error_code=m.error_code, error_title=m.error_title, created_at=m.created_at,
        )
        updated = conn.execute(sa.update(CMessage).where(CMessage.server_id == m.id).values(**values)).rowcount
        if updated:
            return
        if m.client_op_id:
            # Our own reply coming back from the server: the local row becomes the server's row.
            updated = conn.execute(
                sa.update(CMessage).where(CMessage.op_id == m.client_op_id).values(**values)
            ).rowcount
            if updated:
                return
        conn.execute(sa.insert(CMessage).values(op_id=m.client_op_id, **values))

    def apply_message(self, m: protocol.MessagePublic) -> ChangeSet:
        with self.engine.begin() as c:
            self._apply_message(c, m)
        return ChangeSet(conversation_ids={m.conversation_id})

    # -- reads for the views ----------------------------------------------------------------------
    def feed(self, *, limit: int = 1000) -> list[FeedRow]:
        conv, cust = CConversation, CCustomer
        stmt = (
            sa.select(conv.id, conv.channel, cust.display_name, conv.last_message_preview, conv.last_message_at,
                      conv.last_message_direction, conv.status, conv.read_upto)
            .join(cust, cust.id == conv.customer_id)
            .order_by(conv.last_message_at.desc().nulls_last(), conv.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as c:
            rows = c.execute(stmt).all()
        return [
            FeedRow(
                conversation_id=r[0], channel=r[1], customer_name=r[2], preview=r[3], last_message_at=r[4],
                last_direction=r[5], status=r[6],
                unread=r[5] == "in" and (r[7] is None or (r[4] is not None and r[4] > r[7])),
            )
            for r in rows
        ]

    def thread(self, conversation_id: int) -> list[ThreadRow]:
        m, o = CMessage, COutbox
        stmt = (
            sa.select(m.local_id, m.server_id, m.direction, m.text, m.created_at, m.delivery_state, m.error_kind,
                      m.error_title, o.state, o.last_error)
            .outerjoin(o, o.op_id == m.op_id)
            .where(m.conversation_id == conversation_id)
            .order_by(m.created_at, m.local_id)
        )
        with self.engine.connect() as c:
            rows = c.execute(stmt).all()
        return [
            ThreadRow(
                key=f"s{r[1]}" if r[1] is not None else f"l{r[0]}", direction=r[2], text=r[3], created_at=r[4],
                delivery_state=r[5], error_kind=r[6], error_title=r[7],
                op_state=r[8] if r[1] is None else None, op_error=r[9] if r[1] is None else None,
            )
            for r in rows
        ]

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

    def mark_read(self, conversation_id: int) -> ChangeSet:
        with self.engine.begin() as c:
            c.execute(sa.update(CConversation).where(CConversation.id == conversation_id)
                      .values(read_upto=CConversation.last_message_at))
        return ChangeSet(conversation_ids={conversation_id})

    # -- outbox -----------------------------------------------------------------------------------
    def enqueue_reply(self, conversation_id: int, text: str) -> tuple[str, ChangeSet]:
        """Commits a reply locally (outbox op + a pending message row) before anything is sent."""
        op_id = str(uuid.uuid4())
        now = utcnow()
        with self.engine.begin() as c:
            seq = (c.execute(sa.select(sa.func.max(COutbox.seq))).scalar() or 0) + 1
            c.execute(sa.insert(COutbox).values(
                op_id=op_id, seq=seq, kind="reply", conversation_id=conversation_id,
                payload=json.dumps({"text": text}), state="queued", created_at=now,
            ))
            c.execute(sa.insert(CMessage).values(
                op_id=op_id, conversation_id=conversation_id, direction="out", text=text,
                delivery_state="pending", created_at=now,
            ))
        return op_id, ChangeSet(conversation_ids={conversation_id})

    def next_op(self) -> COutbox | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(COutbox).where(COutbox.state == "queued").order_by(COutbox.seq).limit(1)).first()
        return COutbox(**row._mapping) if row else None

    def pending_ops(self) -> int:
        with self.engine.connect() as c:
            return c.execute(sa.select(sa.func.count()).select_from(COutbox)
                             .where(COutbox.state == "queued")).scalar_one()

    def op_attempted(self, op_id: str, error: str | None) -> None:
        with self.engine.begin() as c:
            c.execute(sa.update(COutbox).where(COutbox.op_id == op_id)
                      .values(attempts=COutbox.attempts + 1, last_error=error))

    def op_done(self, op_id: str, message: protocol.MessagePublic) -> ChangeSet:
        with self.engine.begin() as c:
            c.execute(sa.delete(COutbox).where(COutbox.op_id == op_id))
            self._apply_message(c, message)
        return ChangeSet(conversation_ids={message.conversation_id})

    def op_failed(self, op_id: str, reason: str) -> ChangeSet:
        with self.engine.begin() as c:
            c.execute(sa.update(COutbox).where(COutbox.op_id == op_id).values(state="failed", last_error=reason))
            conv = c.execute(sa.select(COutbox.conversation_id).where(COutbox.op_id == op_id)).scalar()
        return ChangeSet(conversation_ids={conv} if conv else set())
