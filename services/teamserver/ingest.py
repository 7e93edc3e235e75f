"""Storing what channels tell us: inbound messages (threaded by customer identity) and delivery statuses."""

from __future__ import annotations

import logging

from sqlmodel import Session, select

from services.channels.base import DeliveryStatus, InboundMessage, WebhookBatch
from services.teamserver import changes
from services.teamserver.models import Conversation, Customer, Identity, Message, ProviderStatus

log = logging.getLogger(__name__)

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


def _identity_for(session: Session, msg: InboundMessage) -> tuple[Identity, bool]:
    identity = session.exec(
        select(Identity).where(Identity.channel == msg.channel, Identity.handle == msg.sender_handle)
    ).first()
    if identity is not None:
        if msg.sender_name and msg.sender_name != identity.display_name:
            identity.display_name = msg.sender_name
            session.add(identity)
            return identity, True
        return identity, False
    customer = Customer(display_name=msg.sender_name or msg.sender_handle)
    session.add(customer)
    session.flush()
    changes.record(session, "customer", customer.id)
    identity = Identity(
        customer_id=customer.id, channel=msg.channel, handle=msg.sender_handle, display_name=msg.sender_name
    )
    session.add(identity)
    session.flush()
    return identity, True


def _open_conversation(session: Session, identity: Identity) -> Conversation:
    conversation = session.exec(
        select(Conversation)
        .where(Conversation.identity_id == identity.id, Conversation.status != "resolved")
        .order_by(Conversation.id.desc())
    ).first()
    if conversation is None:
        conversation = Conversation(customer_id=identity.customer_id, identity_id=identity.id, channel=identity.channel)
        session.add(conversation)
        session.flush()
    return conversation


def store_inbound(session: Session, msg: InboundMessage) -> bool:
    """Stores one inbound message unless it was stored before; True when new."""
    exists = session.exec(
        select(Message.id).where(Message.channel == msg.channel, Message.provider_id == msg.provider_message_id)
    ).first()
    if exists is not None:
        return False
    identity, identity_changed = _identity_for(session, msg)
    if identity_changed:
        changes.record(session, "identity", identity.id)
    conversation = _open_conversation(session, identity)
    message = Message(
        conversation_id=conversation.id,
        channel=msg.channel,
        direction="in",
        text=msg.text,
        kind=msg.kind,
        provider_id=msg.provider_message_id,
        delivery_state="delivered",
        created_at=msg.sent_at,
    )
    session.add(message)
    if conversation.last_message_at is None or msg.sent_at >= conversation.last_message_at:
        conversation.last_message_at = msg.sent_at
        conversation.last_message_preview = preview(msg.text)
        conversation.last_message_direction = "in"
    if conversation.last_inbound_at is None or msg.sent_at > conversation.last_inbound_at:
        conversation.last_inbound_at = msg.sent_at
    conversation.inbound_count += 1
    session.add(conversation)
    session.flush()
    changes.record(session, "conversation", conversation.id)
    changes.record(session, "message", message.id)
    return True


def store_status(session: Session, st: DeliveryStatus) -> bool:
    """Records one delivery status once and applies it to its message if we know it; True when new."""
    exists = session.exec(
        select(ProviderStatus.id).where(
            ProviderStatus.channel == st.channel,
            ProviderStatus.provider_id == st.provider_message_id,
            ProviderStatus.status == st.status,
        )
    ).first()
    if exists is not None:
        return False
    status = ProviderStatus(
        channel=st.channel,
        provider_id=st.provider_message_id,
        status=st.status,
        occurred_at=st.occurred_at,
        error_code=st.error.code if st.error else None,
        error_title=st.error.title if st.error else None,
        error_kind=str(st.error.kind) if st.error else None,
    )
    session.add(status)
    message = session.exec(
        select(Message).where(Message.channel == st.channel, Message.provider_id == st.provider_message_id)
    ).first()
    if message is not None and apply_status(message, status):
        session.add(message)
        session.flush()
        changes.record(session, "message", message.id)
    return True


def ingest_batch(session: Session, batch: WebhookBatch) -> int:
    """Stores a parsed webhook in the caller's transaction; returns how many records were new."""
    new = 0
    for msg in sorted(batch.messages, key=lambda m: m.sent_at):
        new += store_inbound(session, msg)
    for st in batch.statuses:
        new += store_status(session, st)
    return new
