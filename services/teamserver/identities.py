"""One customer across channels: linking a new identity on exact evidence, and agents merging and splitting
customers."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, func, select

from services.teamserver import changes
from services.teamserver.models import (
    Agent, Conversation, CsatSurvey, Customer, CustomerEvidence, FollowUp, Identity, Note, utcnow,
)

log = logging.getLogger(__name__)

C, I, E = Customer.__table__, Identity.__table__, CustomerEvidence.__table__
# The CRM fields that are evidence (names compared case-insensitively, trimmed).
PHONE_FIELD, EMAIL_FIELD = "phone", "email"
# What a merged customer keeps in `fields`: the customer it was merged into (it has no identities left, and
# clients show customers only through their identities and conversations).
MERGED_INTO = "merged_into"
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# Written between the digits of a phone number in CRM fields ("+34 600-100.200", "+34 (600) 100 200").
_PHONE_SEPARATORS = str.maketrans("", "", " -.()/\u00a0")


class IdentityError(Exception):
    """A merge or split that cannot be done; `status` is the HTTP status that says why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


# -- exact evidence -----------------------------------------------------------------------------------------
def e164(value: str) -> str | None:
    """A phone number as E.164 ("+" and digits), when the value is one written with separators; None for
    anything else (a national number without its country code is not evidence)."""
    compact = value.translate(_PHONE_SEPARATORS)
    return compact if _E164.fullmatch(compact) else None


def email_key(value: str) -> str | None:
    """An email address lowercased, when it looks like one and is ASCII (the lookup below matches JSON text,
    where other characters are escaped)."""
    address = value.strip(" ").lower()
    if not address.isascii() or address.count("@") != 1 or any(c.isspace() or c in "\"\\" for c in address):
        return None
    local, _, domain = address.partition("@")
    return address if local and "." in domain else None


def evidence(channel: str, handle: str) -> tuple[str, str] | None:
    """What a new identity's handle proves: ("phone", E.164) for WhatsApp, ("email", address) for email."""
    if channel == "whatsapp" and handle.isdigit():
        phone = e164("+" + handle)
        return (PHONE_FIELD, phone) if phone else None
    if channel == "email":
        key = email_key(handle)
        return (EMAIL_FIELD, key) if key else None
    return None


def field_evidence(fields_json: str | None) -> set[tuple[str, str]]:
    """The evidence in a customer's CRM fields: their "phone" as E.164 and their "email" lowercased."""
    try:
        fields = json.loads(fields_json or "{}")
    except ValueError:
        return set()
    if not isinstance(fields, dict) or MERGED_INTO in fields:
        return set()
    found: set[tuple[str, str]] = set()
    for name, value in fields.items():
        if not isinstance(name, str) or not isinstance(value, str):
            continue
        name = name.strip().casefold()
        if name == PHONE_FIELD and e164(value):
            found.add((PHONE_FIELD, e164(value)))
        elif name == EMAIL_FIELD and email_key(value):
            found.add((EMAIL_FIELD, email_key(value)))
    return found


def linked_customers(conn: sa.Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """(channel, handle) of new identities → the one existing customer their handle is exact evidence of:
    a WhatsApp number equal (as E.164) to a customer's CRM "phone", an email address equal (lowercased) to a
    customer's CRM "email" or to another email identity's handle. Two or more candidate customers: no link.

    Cost, per group with new WhatsApp (and per group with new email) senders: one indexed read of
    `customer_evidence` (per 500 new senders); email adds one indexed read of `identity`. Groups without new
    WhatsApp or email senders read nothing."""
    wanted = {key: ev for key in keys if (ev := evidence(*key)) is not None}
    if not wanted:
        return {}
    candidates: dict[tuple[str, str], set[int]] = {ev: set() for ev in wanted.values()}
    for kind in (PHONE_FIELD, EMAIL_FIELD):
        values = sorted(value for k, value in candidates if k == kind)
        for i in range(0, len(values), 500):
            # customer_evidence holds the CRM fields' evidence, normalised: one indexed read.
            for customer_id, value in conn.execute(sa.select(E.c.customer_id, E.c.value).where(
                    E.c.kind == kind, E.c.value.in_(values[i:i + 500]))):
                candidates[(kind, value)].add(customer_id)
    emails = sorted(value for kind, value in candidates if kind == EMAIL_FIELD)
    for i in range(0, len(emails), 500):
        # Handles stored as the connector gives them (lowercase): this is the (channel, handle) index.
        for customer_id, handle in conn.execute(
            sa.select(I.c.customer_id, I.c.handle).where(I.c.channel == "email", I.c.handle.in_(emails[i:i + 500]))
        ):
            candidates[(EMAIL_FIELD, handle)].add(customer_id)
    linked = {}
    for key, ev in wanted.items():
        if len(candidates[ev]) == 1:
            linked[key] = next(iter(candidates[ev]))
        elif candidates[ev]:
            log.info("new %s identity matches %d customers: not linked", key[0], len(candidates[ev]))
    return linked


@event.listens_for(OrmSession, "after_flush")
def _keep_evidence_in_step(session: OrmSession, _flush_context) -> None:
    """customer_evidence follows `customer.fields` on every ORM flush (a profile edit, a merge, a split)."""
    changed = [obj for obj in (*session.new, *session.dirty) if isinstance(obj, Customer) and obj.id is not None
               and (obj in session.new or sa.inspect(obj).attrs.fields.history.has_changes())]
    if not changed:
        return
    conn = session.connection()
    conn.execute(E.delete().where(E.c.customer_id.in_([c.id for c in changed])))
    rows = [{"customer_id": c.id, "kind": kind, "value": value}
            for c in changed for kind, value in sorted(field_evidence(c.fields))]
    if rows:
        conn.execute(E.insert(), rows)


# -- merge and split ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Moved:
    identities: list[int]
    conversations: list[int]
    follow_ups: list[int]


def is_merged(customer: Customer) -> bool:
    try:
        fields = json.loads(customer.fields or "{}")
    except ValueError:
        return False
    return isinstance(fields, dict) and MERGED_INTO in fields


def _ids(session: Session, statement) -> list[int]:
    return sorted(session.execute(statement).scalars().all())


def _move(session: Session, to_customer: int, *, customer_id: int | None = None,
          identity_id: int | None = None) -> Moved:
    """Moves to `to_customer` every identity, conversation, follow-up and survey of a customer, or of one
    identity (its conversations' follow-ups and surveys), and records the moved rows in the change log."""
    V, F, S = Conversation.__table__, FollowUp.__table__, CsatSurvey.__table__
    if customer_id is not None:
        identity_ids = _ids(session, I.update().where(I.c.customer_id == customer_id)
                            .values(customer_id=to_customer).returning(I.c.id))
        conversation_ids = _ids(session, V.update().where(V.c.customer_id == customer_id)
                                .values(customer_id=to_customer).returning(V.c.id))
        follow_up_ids = _ids(session, F.update().where(F.c.customer_id == customer_id)
                             .values(customer_id=to_customer).returning(F.c.id))
        session.execute(S.update().where(S.c.customer_id == customer_id).values(customer_id=to_customer))
    else:
        identity_ids = _ids(session, I.update().where(I.c.id == identity_id)
                            .values(customer_id=to_customer).returning(I.c.id))
        conversation_ids = _ids(session, V.update().where(V.c.identity_id == identity_id)
                                .values(customer_id=to_customer).returning(V.c.id))
        follow_up_ids: list[int] = []
        for i in range(0, len(conversation_ids), 500):
            chunk = conversation_ids[i:i + 500]
            follow_up_ids += _ids(session, F.update().where(F.c.conversation_id.in_(chunk))
                                  .values(customer_id=to_customer).returning(F.c.id))
            session.execute(S.update().where(S.c.conversation_id.in_(chunk)).values(customer_id=to_customer))
    for entity, ids in (("identity", identity_ids), ("conversation", conversation_ids),
                        ("follow_up", follow_up_ids)):
        for entity_id in ids:
            changes.record(session, entity, entity_id)
    return Moved(identity_ids, conversation_ids, follow_up_ids)


def _note_on(session: Session, conversation_ids: list[int], agent: Agent, text: str) -> None:
    """The history says who merged or split: an internal note on each conversation that moved."""
    if not conversation_ids:
        return
    now = utcnow()
    note_ids = session.execute(
        sa.insert(Note.__table__).returning(Note.__table__.c.id, sort_by_parameter_order=True),
        [{"conversation_id": cid, "author_agent_id": agent.id, "text": text, "created_at": now}
         for cid in conversation_ids],
    ).scalars().all()
    for note_id in note_ids:
        changes.record(session, "note", note_id)


def _united_tags(first: list, second: list) -> list[str]:
    tags: list[str] = []
    for tag in [*first, *second]:
        if isinstance(tag, str) and tag.casefold() not in {t.casefold() for t in tags}:
            tags.append(tag)
    return tags


def _json(text: str | None, default):
    try:
        value = json.loads(text) if text else default
    except ValueError:
        return default
    return value if isinstance(value, type(default)) else default


def _locked_customers(session: Session, *ids: int) -> dict[int, Customer]:
    # In id order: two agents merging the same pair the other way round wait, they do not deadlock.
    return {c.id: c for c in session.exec(select(Customer).where(Customer.id.in_(ids)).order_by(Customer.id)
                                          .with_for_update()).all()}


def merge(session: Session, *, customer_id: int, other_customer_id: int, agent: Agent) -> Customer:
    """Moves the other customer's identities, conversations, follow-ups and surveys to this one. Tags are
    united; CRM fields merged with this customer's values winning (the other's differing values are written
    into the notes, so nothing is lost); notes concatenated. The other customer stays as an empty record
    marked {"merged_into": id}. Merging again what was merged already changes nothing."""
    if customer_id == other_customer_id:
        raise IdentityError(422, "a customer cannot be merged with itself")
    found = _locked_customers(session, customer_id, other_customer_id)
    keep, other = found.get(customer_id), found.get(other_customer_id)
    if keep is None or other is None:
        raise IdentityError(404, "no such customer")
    if is_merged(keep):
        raise IdentityError(409, "this customer was merged into another one")
    if is_merged(other):
        if _json(other.fields, {}).get(MERGED_INTO) == str(customer_id):
            return keep  # a repeated request: done already
        raise IdentityError(409, "the other customer was merged into another one already")
    moved = _move(session, customer_id, customer_id=other_customer_id)
    keep_fields, other_fields = _json(keep.fields, {}), _json(other.fields, {})
    differing = {k: v for k, v in other_fields.items() if k in keep_fields and keep_fields[k] != v}
    fields = {**other_fields, **keep_fields}
    keep.tags = json.dumps(_united_tags(_json(keep.tags, []), _json(other.tags, [])))
    keep.fields = json.dumps(fields, sort_keys=True)
    notes = [keep.notes.strip(), other.notes.strip()]
    if differing:
        notes.append(f"Merged from {other.display_name} (#{other.id}), data that differed: "
                     + "; ".join(f"{k}: {v}" for k, v in sorted(differing.items())))
    keep.notes = "\n\n".join(n for n in notes if n)
    keep.language = keep.language or other.language
    other.tags, other.fields, other.notes = "[]", json.dumps({MERGED_INTO: str(customer_id)}), ""
    session.add(keep)
    session.add(other)
    _note_on(session, moved.conversations, agent,
             f"Merged with {keep.display_name} (#{keep.id}) by {agent.name}: was customer "
             f"{other.display_name} (#{other.id}).")
    session.flush()
    changes.record(session, "customer", keep.id)
    changes.record(session, "customer", other.id)
    log.info("customer %s merged into %s by agent %s (%d identities, %d conversations)", other.id, keep.id,
             agent.id, len(moved.identities), len(moved.conversations))
    return keep


def split(session: Session, *, identity_id: int, agent: Agent) -> Customer:
    """Moves one identity and its conversations (with their follow-ups and surveys) to a new customer named
    after the identity. A customer's only identity is refused (409): there is nothing to split from."""
    identity = session.get(Identity, identity_id)
    if identity is None:
        raise IdentityError(404, "no such identity")
    old = _locked_customers(session, identity.customer_id).get(identity.customer_id)
    session.refresh(identity)  # read again under the lock: a merge may have moved it meanwhile
    if old is None or old.id != identity.customer_id:
        raise IdentityError(409, "this identity moved meanwhile; try again")
    count = session.exec(select(func.count()).select_from(Identity).where(Identity.customer_id == old.id)).one()
    if count <= 1:
        raise IdentityError(409, "this is the customer's only channel identity: there is nothing to split from")
    new = Customer(display_name=identity.display_name or identity.handle, language=old.language)
    session.add(new)
    session.flush()
    moved = _move(session, new.id, identity_id=identity.id)
    _note_on(session, moved.conversations, agent,
             f"Split from {old.display_name} (#{old.id}) into a separate customer by {agent.name}.")
    session.flush()
    changes.record(session, "customer", new.id)
    changes.record(session, "customer", old.id)
    log.info("identity %s split from customer %s into %s by agent %s", identity.id, old.id, new.id, agent.id)
    return new
