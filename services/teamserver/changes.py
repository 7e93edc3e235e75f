"""The change log: recording mutations and turning table rows into wire (protocol) objects."""

from __future__ import annotations

from sqlmodel import Session, func, select

from services.teamserver.models import Agent, Change, Conversation, Customer, Identity, Message, Note
from workstation import protocol

ENTITY_TABLES = {
    "agent": Agent,
    "customer": Customer,
    "identity": Identity,
    "conversation": Conversation,
    "message": Message,
    "note": Note,
}


def record(session: Session, entity: str, entity_id: int) -> Change:
    change = Change(entity=entity, entity_id=entity_id)
    session.add(change)
    return change


def latest_seq(session: Session) -> int:
    return session.exec(select(func.max(Change.seq))).one() or 0


def agent_public(a: Agent) -> protocol.AgentPublic:
    return protocol.AgentPublic(id=a.id, email=a.email, name=a.name, role=a.role)


def to_public(entity: str, row) -> object:
    if entity == "agent":
        return agent_public(row)
    model = {
        "customer": protocol.CustomerPublic,
        "identity": protocol.IdentityPublic,
        "conversation": protocol.ConversationPublic,
        "message": protocol.MessagePublic,
        "note": protocol.NotePublic,
    }[entity]
    return model.model_validate(row, from_attributes=True)


def sync_page(session: Session, *, after: int, limit: int, epoch: str) -> protocol.SyncPage:
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
        next_after=next_after,
        has_more=next_after < newest,
        newest=newest,
        epoch=epoch,
    )
