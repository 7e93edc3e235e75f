"""Channel webhooks: verified against the provider's signature over the raw body, committed before the 200."""

from __future__ import annotations

import asyncio
import logging

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import PlainTextResponse
from sqlmodel import Session, select

from services.channels import meta, whatsapp
from services.channels.base import DeliveryStatus, WebhookBatch, WebhookError
from services.teamserver.models import Conversation, Identity, Message

log = logging.getLogger(__name__)
router = APIRouter(tags=["webhooks"])


async def read_limited_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "body too large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "body too large")
    return bytes(body)


@router.get("/webhooks/whatsapp", response_class=PlainTextResponse)
def whatsapp_verify(
    request: Request,
    mode: str = Query("", alias="hub.mode"),
    token: str = Query("", alias="hub.verify_token"),
    challenge: str = Query("", alias="hub.challenge"),
) -> str:
    # Any verify token set for a Meta channel (from the app or the environment) answers the subscription check.
    answer = None
    for verify_token in request.app.state.channels.verify_tokens():
        answer = answer or whatsapp.verify_subscription(mode=mode, token=token, challenge=challenge,
                                                        verify_token=verify_token)
    if answer is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "verification failed")
    return answer


class WebhookRefused(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


async def receive_whatsapp(state, raw: bytes, signature: str | None) -> None:
    """Verifies, parses and stores one WhatsApp webhook body; returns once it is committed. Raises
    WebhookRefused with the status to answer. Shared by the route and the fast path (fastpath.py)."""
    hub = state.channels
    _verify_meta_signature(hub.app_secrets(("whatsapp",)), raw, signature, "WhatsApp")
    try:
        batch = whatsapp.parse_webhook_payload(raw)
    except WebhookError as exc:
        log.warning("WhatsApp webhook refused: %s", exc.reason)
        raise WebhookRefused(exc.status_code, exc.reason) from None
    ours = hub.account_id("whatsapp")
    if ours:
        # One Meta app can serve several numbers: only this server's number is ours to store and answer.
        foreign = [m for m in batch.messages if m.account_id != ours]
        if foreign:
            log.warning("ignored %d WhatsApp message(s) addressed to another phone number", len(foreign))
            batch = WebhookBatch(messages=[m for m in batch.messages if m.account_id == ours],
                                 statuses=batch.statuses)
    if batch.messages or batch.statuses:
        try:
            # Committed (with whatever else arrived meanwhile) before we answer; the change is announced.
            await state.ingestor.submit(batch)
        except RuntimeError:
            raise WebhookRefused(status.HTTP_503_SERVICE_UNAVAILABLE,
                                 "could not store the webhook; deliver it again") from None
    await _note_webhook(hub, ("whatsapp",))


def _verify_meta_signature(secrets: list[str], raw: bytes, signature: str | None, what: str) -> None:
    """A Meta webhook is ours when signed with the app secret of one of its channels."""
    if not secrets:
        log.error("%s webhook refused: no app secret is configured", what)
        raise WebhookRefused(status.HTTP_503_SERVICE_UNAVAILABLE, "webhook secret not configured")
    if not any(whatsapp.verify_signature(secret, raw, signature) for secret in secrets):
        log.warning("%s webhook refused: bad or missing signature (%d bytes)", what, len(raw))
        raise WebhookRefused(status.HTTP_403_FORBIDDEN, "bad signature")


async def _note_webhook(hub, channels) -> None:
    """The channel's health: a signed webhook arrived (written at most every 30 s per channel and worker)."""
    for channel in channels:
        if not hub.note_due(channel, "webhook"):
            continue  # written a moment ago: no thread hop on the hot path
        try:
            await asyncio.to_thread(hub.note, channel, kind="webhook")
        except Exception:  # a report: never refuse a stored webhook over it
            log.exception("could not record %s's health", channel)


ACK = "EVENT_RECEIVED"


@router.post("/webhooks/whatsapp")
async def whatsapp_webhook(request: Request) -> PlainTextResponse:
    raw = await read_limited_body(request, request.app.state.settings.max_webhook_bytes)
    try:
        await receive_whatsapp(request.app.state, raw, request.headers.get("x-hub-signature-256"))
    except WebhookRefused as exc:
        raise HTTPException(exc.status_code, exc.detail) from None
    return PlainTextResponse(ACK)


# -- Messenger and Instagram (object "page" and "instagram"): the same signature scheme, one endpoint ----------

@router.get("/webhooks/meta", response_class=PlainTextResponse)
def meta_verify(
    request: Request,
    mode: str = Query("", alias="hub.mode"),
    token: str = Query("", alias="hub.verify_token"),
    challenge: str = Query("", alias="hub.challenge"),
) -> str:
    return whatsapp_verify(request, mode, token, challenge)


def _watermarked(engine, marks: list[meta.Watermark]) -> list[DeliveryStatus]:
    """Meta's "everything sent before the watermark was delivered/read", as statuses of the private messages
    we sent that customer, accepted by Meta and created before the watermark (newest 200 not there yet)."""
    earlier = {"delivered": ("accepted", "sent"), "read": ("accepted", "sent", "delivered")}
    statuses = []
    with Session(engine) as s:
        for mark in marks:
            provider_ids = s.exec(
                select(Message.provider_id)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .join(Identity, Identity.id == Conversation.identity_id)
                .where(Identity.channel == mark.channel, Identity.handle == mark.customer_handle,
                       Conversation.public == sa.false(), Message.direction == "out",
                       Message.provider_id.is_not(None), Message.created_at <= mark.watermark,
                       Message.delivery_state.in_(earlier[mark.status]))
                .order_by(Message.id.desc()).limit(200)
            ).all()
            statuses += [DeliveryStatus(channel=mark.channel, provider_message_id=pid, status=mark.status,
                                        occurred_at=mark.watermark, recipient_handle=mark.customer_handle)
                         for pid in provider_ids]
    return statuses


async def receive_meta(state, raw: bytes, signature: str | None) -> None:
    """Verifies, parses and stores one Messenger or Instagram webhook body; returns once it is committed.
    Raises WebhookRefused with the status to answer."""
    hub = state.channels
    _verify_meta_signature(hub.app_secrets((meta.MESSENGER, meta.INSTAGRAM)), raw, signature, "Meta")
    try:
        parsed = meta.parse_webhook_payload(raw)
    except WebhookError as exc:
        log.warning("Meta webhook refused: %s", exc.reason)
        raise WebhookRefused(exc.status_code, exc.reason) from None
    ours = {c: a for c in (meta.MESSENGER, meta.INSTAGRAM) if (a := hub.account_id(c))}
    # One Meta app can serve several pages and accounts: only this server's are ours to store.
    messages = [m for m in parsed.batch.messages if ours.get(m.channel, m.account_id) == m.account_id]
    if len(messages) < len(parsed.batch.messages):
        log.warning("ignored %d Meta message(s) addressed to another page or account",
                    len(parsed.batch.messages) - len(messages))
    statuses = list(parsed.batch.statuses)
    marks = [w for w in parsed.watermarks if ours.get(w.channel, w.account_id) == w.account_id]
    if marks:
        statuses += await asyncio.to_thread(_watermarked, state.engine, marks)
    if messages or statuses:
        try:
            await state.ingestor.submit(WebhookBatch(messages=messages, statuses=statuses))
        except RuntimeError:
            raise WebhookRefused(status.HTTP_503_SERVICE_UNAVAILABLE,
                                 "could not store the webhook; deliver it again") from None
    # Their webhooks name nobody: look the new customers' names up in the background.
    state.profiles.request((m.channel, m.sender_handle) for m in messages if not m.sender_name)
    await _note_webhook(hub, sorted({m.channel for m in parsed.batch.messages} | {m.channel for m in marks}
                                    | {st.channel for st in parsed.batch.statuses}))


@router.post("/webhooks/meta")
async def meta_webhook(request: Request) -> PlainTextResponse:
    raw = await read_limited_body(request, request.app.state.settings.max_webhook_bytes)
    try:
        await receive_meta(request.app.state, raw, request.headers.get("x-hub-signature-256"))
    except WebhookRefused as exc:
        raise HTTPException(exc.status_code, exc.detail) from None
    return PlainTextResponse(ACK)
