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
    answer = whatsapp.verify_subscription(
        mode=mode, token=token, challenge=challenge, verify_token=request.app.state.settings.meta_verify_token
    )
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
    settings = state.settings
    if not settings.meta_app_secret:
        log.error("WhatsApp webhook refused: WORKSTATION_META_APP_SECRET is not configured")
        raise WebhookRefused(status.HTTP_503_SERVICE_UNAVAILABLE, "webhook secret not configured")
    if not whatsapp.verify_signature(settings.meta_app_secret, raw, signature):
        log.warning("WhatsApp webhook refused: bad or missing signature (%d bytes)", len(raw))
        raise WebhookRefused(status.HTTP_403_FORBIDDEN, "bad signature")
    try:
        batch = whatsapp.parse_webhook_payload(raw)
    except WebhookError as exc:
        log.warning("WhatsApp webhook refused: %s", exc.reason)
        raise WebhookRefused(exc.status_code, exc.reason) from None
    ours = settings.whatsapp_phone_number_id
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
    settings = state.settings
    if not settings.meta_app_secret:
        log.error("Meta webhook refused: WORKSTATION_META_APP_SECRET is not configured")
        raise WebhookRefused(status.HTTP_503_SERVICE_UNAVAILABLE, "webhook secret not configured")
    if not whatsapp.verify_signature(settings.meta_app_secret, raw, signature):
        log.warning("Meta webhook refused: bad or missing signature (%d bytes)", len(raw))
        raise WebhookRefused(status.HTTP_403_FORBIDDEN, "bad signature")
    try:
        parsed = meta.parse_webhook_payload(raw)
    except WebhookError as exc:
        log.warning("Meta webhook refused: %s", exc.reason)
        raise WebhookRefused(exc.status_code, exc.reason) from None
    ours = meta.configured_accounts(settings.channel_env)
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


@router.post("/webhooks/meta")
async def meta_webhook(request: Request) -> PlainTextResponse:
    raw = await read_limited_body(request, request.app.state.settings.max_webhook_bytes)
    try:
        await receive_meta(request.app.state, raw, request.headers.get("x-hub-signature-256"))
    except WebhookRefused as exc:
        raise HTTPException(exc.status_code, exc.detail) from None
    return PlainTextResponse(ACK)
