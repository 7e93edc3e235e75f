"""Storing what channels tell us: inbound messages (threaded by customer identity) and delivery statuses."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Iterable, Iterator

import sqlalchemy as sa
from sqlmodel import Session, select

from services.channels.base import DeliveryStatus, InboundMessage, WebhookBatch
from services.teamserver import care, changes, crisis, csat, sentiment
from services.teamserver.identities import linked_customers
from services.teamserver.models import (Conversation, Customer, Identity, Message, ProviderStatus, UTCDateTime,
                                        utcnow)

log = logging.getLogger(__name__)

M, I, C, V = Message.__table__, Identity.__table__, Customer.__table__, Conversation.__table__
PREVIEW_CHARS = 140
_RANK = {"pending": 0, "accepted": 1, "sent": 2, "delivered": 3, "read": 4, "played": 4}


def preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"


def merged_state(current: str, status: str) -> str:
    """Statuses arrive in any order and may skip steps: keep the furthest one reached."""
    status = "read" if status == "played" else status
    if status == "failed":
        # A failure after the customer already received the message says nothing new.
        return current if _RANK.get(current, 0) >= _RANK["delivered"] else "failed"
    if current == "failed":
        return status if _RANK[status] >= _RANK["delivered"] else current
    return status if _RANK.get(status, 0) > _RANK.get(current, 0) else current


def apply_status(message: Message, status: ProviderStatus) -> bool:
    """Moves the message's delivery state for one provider status; True when anything changed."""
    new_state = merged_state(message.delivery_state, status.status)
    if new_state == message.delivery_state:
        return False
    message.delivery_state = new_state
    if new_state == "failed":
        message.error_code = status.error_code
        message.error_title = status.error_title
        message.error_kind = status.error_kind
    return True


def apply_recorded_statuses(session: Session, message: Message) -> bool:
    """Applies statuses that came in before we knew the message's provider id."""
    found = session.exec(
        select(ProviderStatus).where(
            ProviderStatus.channel == message.channel, ProviderStatus.provider_id == message.provider_id
        )
    ).all()
    changed = False
    for status in found:
        changed |= apply_status(message, status)
    return changed


def _chunks_by_channel(keys: Iterable[tuple[str, str]], size: int = 500) -> Iterator[tuple[str, list[str]]]:
    """(channel, id) pairs as (channel, up to `size` distinct ids) for `IN` lookups of bounded length."""
    by_channel: dict[str, set[str]] = defaultdict(set)
    for channel, key in keys:
        by_channel[channel].add(key)
    for channel, ids in by_channel.items():
        ordered = sorted(ids)
        for i in range(0, len(ordered), size):
            yield channel, ordered[i:i + size]


def _new_inbound(conn: sa.Connection, messages: list[InboundMessage]) -> list[InboundMessage]:
    """The messages not stored before (nor repeated within the group), oldest first."""
    unique: dict[tuple[str, str], InboundMessage] = {}
    for msg in messages:
        unique.setdefault((msg.channel, msg.provider_message_id), msg)
    for channel, chunk in _chunks_by_channel(list(unique)):
        for provider_id in conn.execute(
            sa.select(M.c.provider_id).where(M.c.channel == channel, M.c.provider_id.in_(chunk))
        ).scalars():
            unique.pop((channel, provider_id), None)
    return sorted(unique.values(), key=lambda m: m.sent_at)


def _identities(session: Session, conn: sa.Connection, messages: list[InboundMessage]) -> dict[tuple[str, str], dict]:
    """(channel, handle) → identity row (id, customer_id); creates customers and identities not seen yet and
    keeps display names current."""
    newest_name: dict[tuple[str, str], str] = {}
    for msg in messages:  # oldest first: the newest name wins
        key = (msg.channel, msg.sender_handle)
        if msg.sender_name or key not in newest_name:
            newest_name[key] = msg.sender_name
    found: dict[tuple[str, str], dict] = {}
    for channel, chunk in _chunks_by_channel(newest_name):
        for row in conn.execute(
            sa.select(I.c.id, I.c.customer_id, I.c.handle, I.c.display_name)
            .where(I.c.channel == channel, I.c.handle.in_(chunk))
        ).mappings():
            found[(channel, row["handle"])] = dict(row)
    renamed = [
        {"b_id": row["id"], "b_name": newest_name[key]}
        for key, row in found.items() if newest_name[key] and newest_name[key] != row["display_name"]
    ]
    if renamed:
        conn.execute(I.update().where(I.c.id == sa.bindparam("b_id")).values(display_name=sa.bindparam("b_name")),
                     renamed)
        for item in renamed:
            changes.record(session, "identity", item["b_id"])
    missing = [key for key in newest_name if key not in found]
    if missing:
        now = utcnow()
        # A new identity whose handle is exact evidence (same phone, same email) joins that one customer.
        linked = linked_customers(conn, missing)
        unlinked = [key for key in missing if key not in linked]
        customer_ids = conn.execute(
            sa.insert(C).returning(C.c.id, sort_by_parameter_order=True),
            [{"display_name": newest_name[key] or key[1], "created_at": now} for key in unlinked],
        ).scalars().all() if unlinked else []
        owner = {**linked, **dict(zip(unlinked, customer_ids))}
        identity_ids = conn.execute(
            sa.insert(I).returning(I.c.id, sort_by_parameter_order=True),
            [{"customer_id": owner[key], "channel": key[0], "handle": key[1], "display_name": newest_name[key]}
             for key in missing],
        ).scalars().all()
        for key, iid in zip(missing, identity_ids):
            found[key] = {"id": iid, "customer_id": owner[key]}
            changes.record(session, "customer", owner[key])
            changes.record(session, "identity", iid)
    return found


_CARE_COLS = ("status", "priority", "priority_reasons", "public", "sla_kind", "sla_due_at", "sla_target_seconds",
              "sla_breached_at", "first_replied_at", "unanswered_count", "snoozed_until", "snooze_until_reply",
              "reopened_count", "resolved_at", "channel", "customer_id")


def _open_conversations(conn: sa.Connection, wanted: dict[tuple[int, bool], dict], channel_of: dict[int, str],
                        reopen_after: datetime) -> dict[tuple[int, bool], dict]:
    """(identity id, public) → the conversation a new message of theirs joins: their newest private (or public)
    one not resolved, else the newest resolved since `reopen_after` (it reopens), else a new one. A customer's
    public posts and private messages on one channel are two conversations."""
    ids = sorted({identity_id for identity_id, _public in wanted})
    found: dict[tuple[int, bool], dict] = {}
    reopenable: dict[tuple[int, bool], dict] = {}
    cols = (V.c.id, V.c.identity_id, V.c.last_message_at, V.c.last_message_preview, V.c.last_message_direction,
            V.c.last_inbound_at, V.c.inbound_count, V.c.waiting_since, *(V.c[name] for name in _CARE_COLS))
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        for row in conn.execute(
            sa.select(*cols).where(V.c.identity_id.in_(chunk),
                                   sa.or_(V.c.status != "resolved", V.c.resolved_at >= reopen_after))
            .order_by(V.c.id.desc())
        ).mappings():
            target = reopenable if row["status"] == "resolved" else found
            target.setdefault((row["identity_id"], bool(row["public"])), dict(row))
    for key, row in reopenable.items():
        if key not in found:
            found[key] = row
    missing = [(key, row) for key, row in wanted.items() if key not in found]
    if missing:
        now = utcnow()
        new_ids = conn.execute(
            sa.insert(V).returning(V.c.id, sort_by_parameter_order=True),
            [{"customer_id": row["customer_id"], "identity_id": row["id"], "channel": channel_of[row["id"]],
              "status": "open", "version": 1, "inbound_count": 0, "last_message_preview": "", "created_at": now,
              "public": public}
             for (_iid, public), row in missing],
        ).scalars().all()
        for ((_iid, public), row), cid in zip(missing, new_ids):
            found[(row["id"], public)] = {
                                "id": cid, "identity_id": row["id"], "last_message_at": None,
                                "last_message_preview": "", "last_message_direction": None,
                                "last_inbound_at": None, "inbound_count": 0, "waiting_since": None,
                                "status": "open", "priority": "normal", "priority_reasons": "[]", "public": public,
                                "sla_kind": None, "sla_due_at": None, "sla_target_seconds": None,
                                "sla_breached_at": None, "first_replied_at": None, "unanswered_count": 0,
                                "snoozed_until": None, "snooze_until_reply": False, "reopened_count": 0,
                                "resolved_at": None, "channel": channel_of[row["id"]],
                                "customer_id": row["customer_id"]}
    return found


def _care(session: Session, conn: sa.Connection, touched: dict[int, dict], texts: dict[int, list[str]],
          rows: dict[int, list[dict]] | None = None, rules: care.Rules | None = None) -> None:
    """Applies the care rules to conversations that got customer messages: reopening and waking, priority,
    and the response clock. Each message's row (`rows`, in the order of `texts`) gets its sentiment and the
    level its own words have under the priority rules (without the VIP, public and repeat bumps, which are
    about the conversation); crisis mode raises the conversation of a message about the crisis to urgent."""
    rules = rules or care.load(session)
    crisis_mode = crisis.for_ingest(session)
    customer_ids = sorted({c["customer_id"] for c in touched.values()})
    vip: dict[int, bool] = {}
    for i in range(0, len(customer_ids), 500):
        for cid, tags in conn.execute(sa.select(C.c.id, C.c.tags).where(C.c.id.in_(customer_ids[i:i + 500]))):
            vip[cid] = care.is_vip(tags)
    for conversation in touched.values():
        if conversation["status"] in ("resolved", "snoozed"):
            if conversation["status"] == "resolved":
                conversation["reopened_count"] += 1
                conversation["resolved_at"] = None
            conversation["status"] = "open"
            conversation["snoozed_until"] = None
            conversation["snooze_until_reply"] = False
            conversation["reopen"] = True
        level = conversation["priority"]
        reasons = json.loads(conversation["priority_reasons"] or "[]")
        unanswered = conversation["unanswered_count"]
        for index, text in enumerate(texts[conversation["id"]]):
            unanswered += 1
            found = care.assess(rules, text, vip=vip.get(conversation["customer_id"], False),
                                public=bool(conversation["public"]), unanswered=unanswered)
            words, mood = care.keyword_level(found), sentiment.classify(text)
            about_crisis = crisis_mode.reasons(text, mood, words) if crisis_mode is not None else []
            if rows is not None:
                rows[conversation["id"]][index].update(sentiment=mood, urgency=words)
            level = care.higher(level, "urgent" if about_crisis else found.priority)
            reasons = care.merge_reasons(reasons, [r for r in found.reasons if not r.startswith("negated:")])
            reasons = care.merge_reasons(reasons, about_crisis)
        raised = level != conversation["priority"]
        conversation["priority"], conversation["priority_reasons"] = level, json.dumps(reasons)
        conversation["unanswered_count"] = unanswered
        starting = conversation["sla_kind"] is None and conversation["waiting_since"] is not None
        if starting or (raised and conversation["sla_kind"] and conversation["sla_breached_at"] is None):
            kind = conversation["sla_kind"] or ("first" if conversation["first_replied_at"] is None else "next")
            due, target = rules.clock(conversation["channel"], level, kind, conversation["waiting_since"])
            conversation["sla_kind"] = kind if due is not None else None
            conversation["sla_due_at"], conversation["sla_target_seconds"] = due, target
            conversation["sla_breached_at"] = None


def store_inbound_many(session: Session, messages: list[InboundMessage]) -> int:
    """Stores the inbound messages not stored before, threaded by customer identity, in set-based
    statements (no round trip per message); returns how many were new."""
    conn = session.connection()
    fresh = _new_inbound(conn, messages)
    if not fresh:
        return 0
    identities = _identities(session, conn, fresh)
    channel_of = {row["id"]: key[0] for key, row in identities.items()}
    rules = care.load(session)  # read once per group: reopening here, priority and clocks in _care
    reopen_days = rules.settings.reopen_days
    wanted = {(identities[(m.channel, m.sender_handle)]["id"], m.public): identities[(m.channel, m.sender_handle)]
              for m in fresh}
    conversations = _open_conversations(conn, wanted, channel_of,
                                        utcnow() - timedelta(days=reopen_days) if reopen_days else utcnow())
    rows = []
    touched: dict[int, dict] = {}
    texts: dict[int, list[str]] = defaultdict(list)
    inbound_rows: dict[int, list[dict]] = defaultdict(list)
    # Satisfaction survey answers (csat.py): looked up only when a message joins a resolved conversation.
    surveys = csat.pending_surveys(session, conn, conversations.values(), fresh)
    answers: list[tuple[dict, int, InboundMessage, dict]] = []
    for msg in fresh:
        conversation = conversations[(identities[(msg.channel, msg.sender_handle)]["id"], msg.public)]
        answer = csat.take_answer(surveys, conversation["id"], msg) if surveys else None
        rows.append({"conversation_id": conversation["id"], "channel": msg.channel, "direction": "in",
                     "text": msg.text, "kind": msg.kind, "provider_id": msg.provider_message_id,
                     "delivery_state": "delivered", "created_at": msg.sent_at, "sentiment": None, "urgency": None})
        if conversation["last_message_at"] is None or msg.sent_at >= conversation["last_message_at"]:
            conversation["last_message_at"] = msg.sent_at
            conversation["last_message_preview"] = preview(msg.text)
            conversation["last_message_direction"] = "in"
        if conversation["last_inbound_at"] is None or msg.sent_at > conversation["last_inbound_at"]:
            conversation["last_inbound_at"] = msg.sent_at
        conversation["inbound_count"] += 1
        if answer is not None:  # in the thread, but nobody needs to answer it: it does not reopen
            rows[-1]["kind"] = csat.ANSWER_KIND
            answers.append((*answer, msg, conversation))
            touched[conversation["id"]] = conversation
            continue
        if conversation["waiting_since"] is None or msg.sent_at < conversation["waiting_since"]:
            conversation["waiting_since"] = msg.sent_at
        touched[conversation["id"]] = conversation
        texts[conversation["id"]].append(msg.text)
        inbound_rows[conversation["id"]].append(rows[-1])
    _care(session, conn, {cid: c for cid, c in touched.items() if texts[cid]}, texts, inbound_rows, rules)
    message_ids = conn.execute(sa.insert(M).returning(M.c.id, sort_by_parameter_order=True), rows).scalars().all()
    # One statement for every conversation touched; a late older message leaves its latest message as it was.
    conn.execute(
        V.update().where(V.c.id == sa.bindparam("b_id")).values(
            last_message_at=sa.bindparam("b_at", type_=UTCDateTime()),
            last_message_preview=sa.bindparam("b_preview"),
            last_message_direction=sa.bindparam("b_direction"),
            last_inbound_at=sa.bindparam("b_in", type_=UTCDateTime()),
            inbound_count=sa.bindparam("b_count"),
            waiting_since=sa.bindparam("b_waiting", type_=UTCDateTime()),
            status=sa.bindparam("b_status"),
            priority=sa.bindparam("b_priority"),
            priority_reasons=sa.bindparam("b_reasons"),
            unanswered_count=sa.bindparam("b_unanswered"),
            sla_kind=sa.bindparam("b_sla_kind"),
            sla_due_at=sa.bindparam("b_sla_due", type_=UTCDateTime()),
            sla_target_seconds=sa.bindparam("b_sla_target"),
            sla_breached_at=sa.bindparam("b_sla_breached", type_=UTCDateTime()),
            snoozed_until=sa.bindparam("b_snoozed", type_=UTCDateTime()),
            snooze_until_reply=sa.bindparam("b_snooze_reply"),
            reopened_count=sa.bindparam("b_reopened"),
            resolved_at=sa.bindparam("b_resolved", type_=UTCDateTime()),
            # A reopened or woken conversation changed status: other agents' stale writes must see it.
            version=V.c.version + sa.bindparam("b_bump"),
        ),
        [{"b_id": c["id"], "b_at": c["last_message_at"], "b_preview": c["last_message_preview"],
          "b_direction": c["last_message_direction"], "b_in": c["last_inbound_at"], "b_count": c["inbound_count"],
          "b_waiting": c["waiting_since"], "b_status": c["status"], "b_priority": c["priority"],
          "b_reasons": c["priority_reasons"], "b_unanswered": c["unanswered_count"], "b_sla_kind": c["sla_kind"],
          "b_sla_due": c["sla_due_at"], "b_sla_target": c["sla_target_seconds"],
          "b_sla_breached": c["sla_breached_at"], "b_snoozed": c["snoozed_until"],
          "b_snooze_reply": c["snooze_until_reply"], "b_reopened": c["reopened_count"],
          "b_resolved": c["resolved_at"], "b_bump": 1 if c.get("reopen") else 0}
         for c in touched.values()],
    )
    csat.record_answers(session, conn, answers)
    for conversation_id in touched:
        changes.record(session, "conversation", conversation_id)
    for message_id in message_ids:
        changes.record(session, "message", message_id)
    return len(fresh)


def store_statuses(session: Session, statuses: list[DeliveryStatus]) -> int:
    """Records each delivery status once and applies it to its message where we know it; returns how many
    were new."""
    unique: dict[tuple[str, str, str], DeliveryStatus] = {}
    for st in statuses:
        unique.setdefault((st.channel, st.provider_message_id, st.status), st)
    if not unique:
        return 0
    for channel, chunk in _chunks_by_channel((channel, provider_id) for channel, provider_id, _ in unique):
        for provider_id, status in session.exec(
            select(ProviderStatus.provider_id, ProviderStatus.status)
            .where(ProviderStatus.channel == channel, ProviderStatus.provider_id.in_(chunk))
        ).all():
            unique.pop((channel, provider_id, status), None)
    if not unique:
        return 0
    records = [
        ProviderStatus(channel=st.channel, provider_id=st.provider_message_id, status=st.status,
                       occurred_at=st.occurred_at, error_code=st.error.code if st.error else None,
                       error_title=st.error.title if st.error else None,
                       error_kind=str(st.error.kind) if st.error else None)
        for st in unique.values()
    ]
    session.add_all(records)
    messages: dict[tuple[str, str], Message] = {}
    for channel, chunk in _chunks_by_channel((r.channel, r.provider_id) for r in records):
        for message in session.exec(
            select(Message).where(Message.channel == channel, Message.provider_id.in_(chunk))
        ).all():
            messages[(channel, message.provider_id)] = message
    changed: set[int] = set()
    for record in records:
        message = messages.get((record.channel, record.provider_id))
        if message is not None and apply_status(message, record):
            session.add(message)
            changed.add(message.id)
    session.flush()
    for message_id in sorted(changed):
        changes.record(session, "message", message_id)
    return len(records)


def ingest_batches(session: Session, batches: list[WebhookBatch]) -> int:
    """Stores parsed webhooks in the caller's transaction; returns how many records were new."""
    new = store_inbound_many(session, [m for b in batches for m in b.messages])
    return new + store_statuses(session, [st for b in batches for st in b.statuses])
