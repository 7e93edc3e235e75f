"""The change log: recording mutations and turning table rows into wire (protocol) objects."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Session, func, select

from services.teamserver.models import (utcnow, Agent, Assignment, CannedResponse, Change, Conversation, Customer,
                                        FollowUp, Identity, Message, Note)
from workstation import protocol

ENTITY_TABLES = {
    "agent": Agent,
    "customer": Customer,
    "identity": Identity,
    "conversation": Conversation,
    "message": Message,
    "note": Note,
    "assignment": Assignment,
    "follow_up": FollowUp,
    "canned": CannedResponse,
}


# PostgreSQL: writers append to the change log one at a time (a transaction-scoped advisory lock taken
# just before commit), so sequence order is commit order and a sync cursor never skips a change that
# commits late with a lower number. SQLite writers are serialised by BEGIN IMMEDIATE already.
CHANGE_LOG_LOCK = 0x57534348  # "WSCH"
NOTIFY_CHANNEL = "workstation_changes"
# Advisory locks are per database, not per schema: the second half of every key is the schema's, so
# team databases kept in separate schemas of one PostgreSQL database never wait for one another.
SCHEMA_KEY = "hashtext(current_schema())"
_PENDING = "pending_changes"
_COMMITTED = "committed_seq"
_OUTBOX = "outbox_conversations"
OUTBOX_CHANNEL = "workstation_outbox"


def record(session: Session, entity: str, entity_id: int) -> None:
    """Notes that an entity changed in this transaction; the change-log rows are written at commit."""
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = {}
    pending.pop((entity, entity_id), None)
    pending[(entity, entity_id)] = None


def notify_outbox(session: Session, conversation_id: int) -> None:
    """A reply was queued in this conversation: on PostgreSQL the sending worker hears of it at commit."""
    session.info.setdefault(_OUTBOX, set()).add(conversation_id)


def committed_seq(session: Session) -> int:
    """The newest change-log sequence written by this session's last commit (0 when it wrote none)."""
    return session.info.get(_COMMITTED, 0)


@event.listens_for(Session, "before_commit")
def _write_change_log(session: Session) -> None:
    session.info[_COMMITTED] = 0
    outbox = session.info.pop(_OUTBOX, None)
    if outbox and session.get_bind().dialect.name == "postgresql":
        for conversation_id in sorted(outbox):
            session.execute(sa.text("SELECT pg_notify(:c, :p)"), {"c": OUTBOX_CHANNEL, "p": str(conversation_id)})
    if not session.info.get(_PENDING):
        return
    session.flush()  # the transaction's own rows first: their conflicts surface before the lock is taken
    pending = session.info.pop(_PENDING)
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        connection.execute(sa.text(f"SELECT pg_advisory_xact_lock(:k, {SCHEMA_KEY})"), {"k": CHANGE_LOG_LOCK})
    now = utcnow()
    seqs = connection.execute(
        sa.insert(Change).returning(Change.seq),
        [{"entity": entity, "entity_id": entity_id, "created_at": now} for entity, entity_id in pending],
    ).scalars().all()
    newest = max(seqs)
    if postgres:
        # Delivered to every listening worker when (and only if) this transaction commits.
        connection.execute(sa.text("SELECT pg_notify(:c, :p)"), {"c": NOTIFY_CHANNEL, "p": str(newest)})
    session.info[_COMMITTED] = newest


@event.listens_for(Session, "after_soft_rollback")
def _forget_changes(session: Session, previous_transaction) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_OUTBOX, None)


def latest_seq(session: Session) -> int:
    return session.exec(select(func.max(Change.seq))).one() or 0


def agent_public(a: Agent) -> protocol.AgentPublic:
    return protocol.AgentPublic(
        id=a.id, email=a.email, name=a.name, role=a.role, status=a.status, status_changed_at=a.status_changed_at,
        timezone=a.timezone, shifts=json.loads(a.shifts or "[]"), capacity=json.loads(a.capacity or "{}"),
    )


def customer_public(c: Customer) -> protocol.CustomerPublic:
    return protocol.CustomerPublic(id=c.id, display_name=c.display_name, tags=json.loads(c.tags or "[]"),
                                   fields=json.loads(c.fields or "{}"), notes=c.notes or "", language=c.language)


def conversation_public(c: Conversation) -> protocol.ConversationPublic:
    data = {name: getattr(c, name) for name in protocol.ConversationPublic.model_fields if name != "priority_reasons"}
    return protocol.ConversationPublic(**data, priority_reasons=json.loads(c.priority_reasons or "[]"))


def canned_public(c: CannedResponse) -> protocol.CannedPublic:
    return protocol.CannedPublic(
        id=c.id, key=c.key, title=c.title, shortcut=c.shortcut, category=c.category, language=c.language,
        body=c.body, variants=json.loads(c.variants or "{}"), keywords=json.loads(c.keywords or "[]"),
        owner_agent_id=c.owner_agent_id, usage_count=c.usage_count, deleted=c.deleted)


def to_public(entity: str, row) -> object:
    if entity == "agent":
        return agent_public(row)
    if entity == "customer":
        return customer_public(row)
    if entity == "conversation":
        return conversation_public(row)
    if entity == "canned":
        return canned_public(row)
    model = {
        "customer": protocol.CustomerPublic,
        "identity": protocol.IdentityPublic,
        "conversation": protocol.ConversationPublic,
        "message": protocol.MessagePublic,
        "note": protocol.NotePublic,
        "assignment": protocol.AssignmentPublic,
        "follow_up": protocol.FollowUpPublic,
    }[entity]
    return model.model_validate(row, from_attributes=True)


def sync_page(session: Session, *, after: int, limit: int, epoch: str, newest: int | None = None) -> protocol.SyncPage:
    if newest is None:
        newest = latest_seq(session)
    if after > newest:
        # The client's cursor comes from another database (a reset or a new demo server): start over.
        return protocol.SyncPage(next_after=0, has_more=newest > 0, reset=True, newest=newest, epoch=epoch)
    rows = session.exec(select(Change).where(Change.seq > after).order_by(Change.seq).limit(limit)).all()
    next_after = rows[-1].seq if rows else after
    wanted: dict[str, set[int]] = {name: set() for name in ENTITY_TABLES}
    for row in rows:
        wanted[row.entity].add(row.entity_id)
    lists: dict[str, list] = {}
    for entity, ids in wanted.items():
        table = ENTITY_TABLES[entity]
        if not ids:
            lists[entity] = []
            continue
        found = session.exec(select(table).where(table.id.in_(ids)).order_by(table.id)).all()
        lists[entity] = [to_public(entity, r) for r in found]
    return protocol.SyncPage(
        agents=lists["agent"],
        customers=lists["customer"],
        identities=lists["identity"],
        conversations=lists["conversation"],
        messages=lists["message"],
        notes=lists["note"],
        assignments=lists["assignment"],
        follow_ups=lists["follow_up"],
        canned=lists["canned"],
        next_after=next_after,
        has_more=next_after < newest,
        newest=newest,
        epoch=epoch,
    )
