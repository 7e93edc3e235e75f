"""Emulator of the WhatsApp Business Cloud API: sends, the 24 h window, signed webhooks and fault injection."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import random
import re
import secrets
import time
from collections import deque
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Coroutine, Literal

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.channels.whatsapp import MAX_TEXT_CHARS, SIGNATURE_HEADER, sign
from services.sandbox import spike
from services.sandbox.traffic import SendInbound, SendMeta, TrafficGenerator
from services.teamserver.hygiene import loads_json

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 24 * 60 * 60
# ASCII digits only: \d also matches other scripts' digits, which are not phone numbers.
_PHONE = re.compile(r"\+?[0-9]{5,20}")

# code -> (title, details, default HTTP status); Graph mostly answers 400 whatever the cause.
ERRORS: dict[int, tuple[str, str, int]] = {
    2: ("Service temporarily unavailable", "Service temporarily unavailable due to downtime or overload.", 503),
    4: ("Application request limit reached", "Too many API calls were made by this app.", 400),
    10: ("Permission denied", "Permission is either not granted or has been removed.", 403),
    100: ("Invalid parameter", "The request included one or more unsupported or misspelled parameters.", 400),
    190: ("Invalid OAuth access token - Cannot parse access token", "The access token is invalid or has expired.", 401),
    200: ("Permissions error", "The app does not have the permission needed for this request.", 403),
    80007: ("Rate limit issues", "The WhatsApp Business Account has reached its rate limit.", 400),
    130429: ("Rate limit hit", "Cloud API message throughput has been reached.", 400),
    131000: ("Something went wrong", "Message failed to send due to an unknown error.", 500),
    131008: ("Required parameter is missing", "The request is missing a required parameter.", 400),
    131009: ("Parameter value is not valid", "One or more parameter values are invalid.", 400),
    131016: ("Service unavailable", "A service is temporarily unavailable.", 503),
    131026: ("Message undeliverable", "Unable to deliver message.", 400),
    131047: (
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
        400,
    ),
    131051: ("Unsupported message type", "Message type is not currently supported.", 400),
    131056: (
        "(Business Account, Consumer Account) pair rate limit hit",
        "Too many messages sent from the sender phone number to the same recipient phone number "
        "in a short period of time.",
        400,
    ),
}


@dataclass
class SandboxConfig:
    app_secret: str
    access_token: str
    phone_number_id: str
    webhook_url: str | None  # the team server's /webhooks/whatsapp; None = don't post
    display_phone_number: str = "15550001234"
    # Seconds after accepting a send until the sent, delivered and read status webhooks.
    status_delays: tuple[float, float, float] = (0.3, 0.8, 1.6)
    traffic: bool = False
    traffic_interval: tuple[float, float] = (4.0, 9.0)
    traffic_seed: int | None = None
    initial_conversations: int = 8
    # How often and how soon (seconds) the emulated customers answer a satisfaction survey.
    survey_answer_rate: float = 0.6
    survey_delay: tuple[float, float] = (3.0, 20.0)
    business_account_id: str = "102290129340398"
    webhook_attempts: int = 6
    webhook_backoff: float = 0.25  # first retry delay; doubles each time
    # Meta's redelivery: a webhook not answered with a success is retried, less and less often, until it is
    # acknowledged or this many seconds have passed since its first attempt (Meta: up to 7 days). None keeps
    # the fixed `webhook_attempts`. Either way the delay doubles, up to `webhook_backoff_max`.
    webhook_retry_for: float | None = None
    webhook_backoff_max: float = 3600.0
    # What Graph tells of the number and the token (GET /{phone-number-id}, GET /debug_token). The token ends
    # at `token_expires_at` (Unix seconds; 0 = never, as a system user's token): from then on every call is
    # refused with code 190, subcode 463. Settable while running: POST /_sandbox/token.
    verified_name: str = "Workstation Demo"
    app_id: str = "1543227719081234"
    application: str = "Workstation Sandbox"
    system_user_id: str = "122100000000000001"
    token_expires_at: int = 0


@dataclass
class WebhookStats:
    """What happened to the webhooks this sandbox posted (every kind: messages and statuses)."""

    queued: int = 0  # accepted for delivery, not yet acknowledged nor given up
    acknowledged: int = 0
    given_up: int = 0
    attempts: int = 0
    failed_attempts: int = 0  # connection errors, timeouts, non-2xx answers

    def as_dict(self) -> dict[str, int]:
        return dict(queued=self.queued, acknowledged=self.acknowledged, given_up=self.given_up,
                    attempts=self.attempts, failed_attempts=self.failed_attempts)


class GraphError(Exception):
    def __init__(
        self,
        code: int,
        details: str | None = None,
        *,
        http_status: int | None = None,
        headers: dict[str, str] | None = None,
        subcode: int | None = None,
        message: str | None = None,
    ) -> None:
        title, default_details, default_status = ERRORS.get(code, ("Unknown error", "", 400))
        super().__init__(f"({code}) {title}")
        self.code = code
        self.title = title
        self.details = default_details if details is None else details
        self.http_status = http_status or default_status
        self.headers = headers or {}
        self.subcode = subcode
        self.message = message  # the whole `message` when Graph words it otherwise than "(#code) title"

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message or f"(#{self.code}) {self.title}",
            "type": "OAuthException",
            "code": self.code,
            "error_data": {"messaging_product": "whatsapp", "details": self.details},
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)
        return {"error": error}


FaultKind = Literal["429", "500", "503raw", "timeout"]


class FaultRequest(BaseModel):
    """Either `code` (the next `count` sends answer that Graph error) or `rate` (every send fails with
    that probability, with a kind drawn from `kinds`), or both; count-based faults are used up first."""

    code: int | None = None
    count: int = Field(default=1, ge=0, le=10_000)
    http_status: int | None = Field(default=None, ge=400, le=599)
    rate: float | None = Field(default=None, ge=0.0, le=1.0)
    kinds: list[FaultKind] = Field(default_factory=lambda: ["429", "500", "timeout"], min_length=1)
    seed: int | None = None
    retry_after: int = Field(default=1, ge=0, le=3600)
    hang_seconds: float = Field(default=3.0, ge=0.0, le=120.0)

    @model_validator(mode="after")
    def _code_or_rate(self) -> FaultRequest:
        if self.code is None and self.rate is None:
            raise ValueError("give a Graph error `code` (with `count`) or a fault `rate`")
        return self


class InjectedFault(Exception):
    """A send failed on purpose: `error` is the Graph error to answer; None means a non-JSON 503."""

    def __init__(self, kind: str, error: GraphError | None = None, *, hang_seconds: float = 0.0) -> None:
        super().__init__(kind)
        self.kind = kind
        self.error = error
        self.hang_seconds = hang_seconds


@dataclass
class RandomFaults:
    """Fails each send with probability `rate`, choosing one of `kinds` at random (seeded: reproducible)."""

    rate: float
    kinds: tuple[str, ...]
    rng: random.Random
    retry_after: int = 1
    hang_seconds: float = 3.0

    def pick(self) -> str | None:
        if self.rate <= 0 or self.rng.random() >= self.rate:
            return None
        return self.rng.choice(self.kinds)

    def raise_for(self, kind: str) -> None:
        if kind == "429":
            raise InjectedFault(
                kind, GraphError(130429, http_status=429, headers={"Retry-After": str(self.retry_after)})
            )
        if kind == "500":
            raise InjectedFault(kind, GraphError(131000, http_status=500))
        if kind == "503raw":
            raise InjectedFault(kind)
        # "timeout": the request never reached WhatsApp (an emulated dropped connection): nothing is
        # accepted, and the sender's client times out while we hang. On the real WhatsApp a timeout can
        # also come AFTER the message was accepted; the Graph API has no idempotency key, so a retry of
        # such a send cannot be deduplicated and the customer gets the text twice. This sandbox only
        # emulates the safe case.
        raise InjectedFault(kind, GraphError(2), hang_seconds=self.hang_seconds)


class InboundRequest(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    sender: str = Field(alias="from", pattern=r"^\+?[0-9]{5,20}$")
    name: str = Field(max_length=256)
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    timestamp: int | None = Field(default=None, ge=0)
    omit_wa_id: bool = False


class SpikeRequest(BaseModel):
    """A crisis on demand: `count` negative messages about `topic` from as many new customers, spread over
    `seconds`; `wait`: answer once all were delivered (else at once)."""

    topic: str = Field(min_length=1, max_length=40)
    count: int = Field(default=40, ge=1, le=spike.MAX_COUNT)
    seconds: float = Field(default=60.0, ge=0.0, le=3600.0)
    language: spike.Language = "es"
    seed: int | None = None
    wait: bool = False


class BatchedMessage(BaseModel):
    """One customer text inside a multi-message webhook; `id` given = that wamid again (a repeat)."""

    model_config = ConfigDict(populate_by_name=True)

    sender: str = Field(alias="from", pattern=r"^\+?[0-9]{5,20}$")
    name: str = Field(max_length=256)
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    id: str | None = Field(default=None, min_length=1, max_length=512)
    timestamp: int | None = Field(default=None, ge=0)


class WebhooksRequest(BaseModel):
    """Webhooks to post in the background, each carrying the listed messages (Meta may batch several);
    `rate` spaces their first attempts (webhooks per second; None = all at once)."""

    webhooks: list[list[BatchedMessage]] = Field(min_length=1, max_length=200_000)
    rate: float | None = Field(default=None, gt=0, le=100_000)


class TokenRequest(BaseModel):
    """When the access token ends (Unix seconds; 0 = never). A past moment makes every call fail with 190/463."""

    expires_at: int = Field(ge=0, le=2**40)


class RedeliveryRequest(BaseModel):
    """How unacknowledged webhooks are retried; fields left out keep their value. `retry_for` set: retry
    until acknowledged or that many seconds after the first attempt (Meta: 7 days); null: `attempts` tries."""

    retry_for: float | None = Field(default=None, ge=0, le=7 * 24 * 3600)
    attempts: int | None = Field(default=None, ge=1, le=10_000)
    backoff: float | None = Field(default=None, gt=0, le=3600)
    max_backoff: float | None = Field(default=None, gt=0, le=24 * 3600)


def webhook_envelope(value: dict[str, Any], *, business_account_id: str, display_phone_number: str,
                     phone_number_id: str) -> dict[str, Any]:
    """The Cloud API webhook around one `messages` change value, as Meta posts it."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": business_account_id,
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": display_phone_number,
                                "phone_number_id": phone_number_id,
                            },
                            **value,
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def text_message_webhook(*, wa_id: str, name: str, text: str, wamid: str, timestamp: int, phone_number_id: str,
                         business_account_id: str = "102290129340398",
                         display_phone_number: str = "15550001234") -> dict[str, Any]:
    """One inbound text message from a customer, as a whole webhook (tests and benchmarks post these)."""
    return webhook_envelope(
        {"contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
         "messages": [{"from": wa_id, "id": wamid, "timestamp": str(timestamp), "type": "text",
                       "text": {"body": text}}]},
        business_account_id=business_account_id, display_phone_number=display_phone_number,
        phone_number_id=phone_number_id,
    )


# Fields of a business phone number node Graph knows, and those it answers when none are asked for.
PHONE_NUMBER_FIELDS = frozenset({"id", "display_phone_number", "verified_name", "quality_rating",
                                 "code_verification_status", "platform_type", "throughput", "name_status",
                                 "messaging_limit_tier"})
DEFAULT_PHONE_NUMBER_FIELDS = ("verified_name", "code_verification_status", "display_phone_number", "quality_rating",
                               "platform_type", "throughput", "id")
TOKEN_SCOPES = ("whatsapp_business_management", "whatsapp_business_messaging", "business_management")
SESSION_EXPIRED = 463


def formatted_number(digits: str) -> str:
    """A number as Graph shows it on the phone-number node ("+1 555-000-1234"); webhooks carry bare digits."""
    digits = digits.lstrip("+")
    if len(digits) == 11 and digits.startswith("1"):
        return f"+1 {digits[1:4]}-{digits[4:7]}-{digits[7:]}"
    return "+" + digits


def graph_time(seconds: float) -> str:
    """A moment as Graph words it in its session-expired message ("Tuesday, 24-Nov-26 08:00:00 UTC")."""
    return time.strftime("%A, %d-%b-%y %H:%M:%S UTC", time.gmtime(seconds))


def session_expired(expired_at: float) -> GraphError:
    """What Graph answers a call made with a token past its end (code 190, subcode 463)."""
    return GraphError(190, "The access token has expired.", subcode=SESSION_EXPIRED,
                      message=f"Error validating access token: Session has expired on {graph_time(expired_at)}. "
                              f"The current time is {graph_time(time.time())}.")


def unsupported_get(node_id: str) -> GraphError:
    """Graph's answer to a GET of a node it does not know, or that this token may not see (code 100/33)."""
    message = (f"Unsupported get request. Object with ID '{node_id[:80]}' does not exist, cannot be loaded due to "
               "missing permissions, or does not support this operation. Please read the Graph API documentation "
               "at https://developers.facebook.com/docs/graph-api")
    return GraphError(100, message, subcode=33, message=message)


def requested_fields(params: Any, known: frozenset[str], default: tuple[str, ...], node_type: str) -> list[str]:
    """The `fields` a Graph GET asks for (its defaults when none), id first; an unknown one is Graph's (#100)."""
    raw = params.get("fields")
    if not raw:
        return list(default)
    fields = [f.strip() for f in str(raw).split(",") if f.strip()]
    for name in fields:
        if name not in known:
            message = f"(#100) Tried accessing nonexisting field ({name[:60]}) on node type ({node_type})"
            raise GraphError(100, message, message=message)
    return list(dict.fromkeys(["id", *fields]))


def new_wamid() -> str:
    # Real ids are base64 blobs behind a "wamid." prefix; callers must treat them as opaque.
    return "wamid." + base64.b64encode(secrets.token_bytes(30)).decode("ascii").rstrip("=")


def user_id_for(wa_id: str) -> str:
    """A stable opaque business-scoped user id for a phone number (used when wa_id is omitted)."""
    return str(int.from_bytes(hashlib.sha256(wa_id.encode("ascii")).digest()[:8], "big"))


class WhatsAppSandbox:
    """State and behaviour behind the emulator's routes; one per app."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.client: httpx.AsyncClient | None = None
        self.sent: list[dict[str, Any]] = []
        self.last_inbound: dict[str, int] = {}  # wa_id -> unix seconds of the newest inbound message
        self.faults: deque[tuple[int, int | None]] = deque()
        self.random_faults: RandomFaults | None = None
        self._conversations: dict[str, tuple[str, int]] = {}  # wa_id -> (conversation id, expiry)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.webhook_stats = WebhookStats()
        self.traffic: TrafficGenerator | None = None  # the emulated customers, when traffic is on
        # Set when the Telegram emulator is mounted beside this one (telegram_api.mount): some customers write there.
        self.telegram_inbound: SendInbound | None = None
        # Set when the Meta emulator is mounted beside this one (meta_api.mount): some customers write on
        # Messenger and Instagram, privately or in comments.
        self.meta_inbound: SendMeta | None = None
        # Set when the X emulator is mounted beside this one (x_api.mount): some customers mention the brand or DM it.
        self.x_mention: SendInbound | None = None
        self.x_dm: SendInbound | None = None
        self.token_issued_at = int(time.time())

    # lifecycle

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("sandbox task %s failed", task.get_name(), exc_info=task.exception())

    async def start(self) -> None:
        self.client = httpx.AsyncClient(timeout=10.0)
        if self.config.traffic:
            generator = self.traffic = TrafficGenerator(
                self.send_inbound,
                seed=self.config.traffic_seed,
                interval=self.config.traffic_interval,
                initial_conversations=self.config.initial_conversations,
                survey_answer_rate=self.config.survey_answer_rate,
                survey_delay=self.config.survey_delay,
                send_telegram=self.telegram_inbound,
                send_meta=self.meta_inbound,
                send_x_mention=self.x_mention,
                send_x_dm=self.x_dm,
            )
            self.spawn(generator.run(), name="whatsapp-sandbox-traffic")

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.client is not None:
            await self.client.aclose()
            self.client = None

    # webhooks

    def envelope(self, value: dict[str, Any]) -> dict[str, Any]:
        return webhook_envelope(value, business_account_id=self.config.business_account_id,
                                display_phone_number=self.config.display_phone_number,
                                phone_number_id=self.config.phone_number_id)

    async def deliver(self, payload: dict[str, Any]) -> bool:
        """Posts one signed webhook, retrying like Meta does; False once the attempts are used up."""
        url = self.config.webhook_url
        if url is None or self.client is None:
            return False
        # Meta escapes non-ASCII; the signature covers exactly these bytes.
        raw = json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode("ascii")
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(self.config.app_secret, raw)}
        stats = self.webhook_stats
        stats.queued += 1
        try:
            delay = self.config.webhook_backoff
            started = time.monotonic()
            attempt = 0
            while True:
                attempt += 1
                stats.attempts += 1
                retry_for = self.config.webhook_retry_for
                attempts = max(1, self.config.webhook_attempts)
                of = f"{attempt}/{attempts}" if retry_for is None else f"{attempt} (retrying for {retry_for:g} s)"
                try:
                    response = await self.client.post(url, content=raw, headers=headers)
                except httpx.HTTPError as exc:
                    logger.warning("webhook attempt %s to %s failed: %s", of, url, type(exc).__name__)
                else:
                    if response.is_success:
                        stats.acknowledged += 1
                        return True
                    logger.warning("webhook attempt %s to %s got HTTP %d", of, url, response.status_code)
                stats.failed_attempts += 1
                if retry_for is None:
                    again = attempt < attempts
                else:
                    again = time.monotonic() + delay - started <= retry_for
                if not again:
                    break
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.webhook_backoff_max)
            stats.given_up += 1
            logger.error("webhook to %s given up after %d attempts", url, attempt)
            return False
        finally:
            stats.queued -= 1

    def batched_webhook(self, messages: list[BatchedMessage]) -> tuple[dict[str, Any], list[str]]:
        """One webhook carrying several customer texts (one contact per sender), and their wamids."""
        contacts: dict[str, dict[str, Any]] = {}
        items: list[dict[str, Any]] = []
        ids: list[str] = []
        for m in messages:
            wa_id = m.sender.lstrip("+")
            sent_at = int(time.time()) if m.timestamp is None else m.timestamp
            message_id = m.id or new_wamid()
            self.last_inbound[wa_id] = max(self.last_inbound.get(wa_id, sent_at), sent_at)
            contacts.setdefault(wa_id, {"profile": {"name": m.name}, "wa_id": wa_id})
            items.append({"from": wa_id, "id": message_id, "timestamp": str(sent_at), "text": {"body": m.text},
                          "type": "text"})
            ids.append(message_id)
        return self.envelope({"contacts": list(contacts.values()), "messages": items}), ids

    async def post_webhooks(self, payloads: list[dict[str, Any]], rate: float | None) -> None:
        """Starts each webhook's delivery (with its redeliveries) on time; does not wait for them."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i, payload in enumerate(payloads):
            if rate is not None:
                await asyncio.sleep(max(0.0, start + i / rate - loop.time()))
            self.spawn(self.deliver(payload), name="whatsapp-sandbox-webhook")

    async def send_inbound(
        self, wa_id: str, name: str, text: str, *, timestamp: int | None = None, omit_wa_id: bool = False
    ) -> dict[str, Any]:
        wa_id = wa_id.lstrip("+")
        sent_at = int(time.time()) if timestamp is None else int(timestamp)
        message_id = new_wamid()
        self.last_inbound[wa_id] = max(self.last_inbound.get(wa_id, sent_at), sent_at)
        contact: dict[str, Any] = {"profile": {"name": name}}
        message: dict[str, Any] = {}
        if omit_wa_id:
            contact["user_id"] = message["from_user_id"] = user_id_for(wa_id)
        else:
            contact["wa_id"] = message["from"] = wa_id
        message.update({"id": message_id, "timestamp": str(sent_at), "text": {"body": text}, "type": "text"})
        delivered = await self.deliver(self.envelope({"contacts": [contact], "messages": [message]}))
        return {"id": message_id} if delivered else {"id": message_id, "delivered": False}

    def _conversation(self, wa_id: str, now: int) -> tuple[str, int]:
        current = self._conversations.get(wa_id)
        if current is None or current[1] <= now:
            current = (secrets.token_hex(15), now + WINDOW_SECONDS)
            self._conversations[wa_id] = current
        return current

    async def post_statuses(self, message_id: str, wa_id: str, accepted_at: float) -> None:
        loop = asyncio.get_running_loop()
        for state, delay in zip(("sent", "delivered", "read"), self.config.status_delays):
            await asyncio.sleep(max(0.0, accepted_at + delay - loop.time()))
            now = int(time.time())
            status: dict[str, Any] = {
                "id": message_id,
                "status": state,
                "timestamp": str(now),
                "recipient_id": wa_id,
            }
            if state != "read":
                conversation_id, expiry = self._conversation(wa_id, now)
                status["conversation"] = {
                    "id": conversation_id,
                    "expiration_timestamp": str(expiry),
                    "origin": {"type": "service"},
                }
                status["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "service"}
            await self.deliver(self.envelope({"statuses": [status]}))

    # Graph API

    def authorized(self, header: str | None) -> bool:
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not token or not self.config.access_token:
            return False
        return hmac.compare_digest(token.strip().encode("utf-8"), self.config.access_token.encode("utf-8"))

    def check_expiry(self) -> None:
        """Refuses every call once the token's end (config.token_expires_at) has passed."""
        expires_at = self.config.token_expires_at
        if expires_at and expires_at <= time.time():
            raise session_expired(expires_at)

    def phone_number(self, phone_number_id: str, params: Any, authorization: str | None) -> dict[str, Any]:
        """`GET /{version}/{phone-number-id}?fields=...`: the number as Graph shows it to its token."""
        if not self.authorized(authorization):
            raise GraphError(190)
        self.check_expiry()
        if phone_number_id != self.config.phone_number_id:
            raise unsupported_get(phone_number_id)
        fields = requested_fields(params, PHONE_NUMBER_FIELDS, DEFAULT_PHONE_NUMBER_FIELDS,
                                  "WhatsAppBusinessPhoneNumber")
        node = {
            "id": self.config.phone_number_id,
            "display_phone_number": formatted_number(self.config.display_phone_number),
            "verified_name": self.config.verified_name,
            "quality_rating": "GREEN",
            "code_verification_status": "VERIFIED",
            "platform_type": "CLOUD_API",
            "throughput": {"level": "STANDARD"},
            "name_status": "APPROVED",
            "messaging_limit_tier": "TIER_1K",
        }
        return {name: node[name] for name in fields}

    def debug_token(self, params: Any, authorization: str | None) -> dict[str, Any]:
        """`GET /{version}/debug_token?input_token=...`: what Graph knows of a token (asked with a valid one)."""
        if not self.authorized(authorization):
            raise GraphError(190)
        self.check_expiry()
        input_token = params.get("input_token")
        if not input_token:
            raise GraphError(100, "The parameter input_token is required",
                             message="(#100) The parameter input_token is required")
        if not hmac.compare_digest(str(input_token).encode("utf-8"), self.config.access_token.encode("utf-8")):
            return {"data": {"error": {"code": 190, "message": "Invalid OAuth access token."},
                             "is_valid": False, "scopes": []}}
        waba = self.config.business_account_id
        return {"data": {
            "app_id": self.config.app_id,
            "type": "SYSTEM_USER",
            "application": self.config.application,
            "data_access_expires_at": 0,
            "expires_at": int(self.config.token_expires_at),
            "is_valid": True,
            "issued_at": self.token_issued_at,
            "scopes": list(TOKEN_SCOPES),
            "granular_scopes": [{"scope": scope, "target_ids": [waba]} for scope in TOKEN_SCOPES[:2]]
            + [{"scope": TOKEN_SCOPES[2]}],
            "user_id": self.config.system_user_id,
        }}

    def handle_messages(self, phone_number_id: str, body: Any, authorization_ok: bool) -> dict[str, Any]:
        if not authorization_ok:
            raise GraphError(190)
        self.check_expiry()
        if phone_number_id != self.config.phone_number_id:
            raise GraphError(
                100,
                f"Unsupported post request. Object with ID '{phone_number_id}' does not exist, cannot be loaded "
                "due to missing permissions, or does not support this operation.",
            )
        if not isinstance(body, dict):
            raise GraphError(100, "The request body must be a JSON object.")
        if "messaging_product" not in body:
            raise GraphError(100, "The parameter messaging_product is required.")
        if body["messaging_product"] != "whatsapp":
            raise GraphError(100, "Param messaging_product must be one of {WHATSAPP}.")
        if "status" in body:
            return self._mark_read(body)
        if self.faults:
            code, http_status = self.faults.popleft()
            raise InjectedFault("code", GraphError(code, http_status=http_status))
        if self.random_faults is not None:
            kind = self.random_faults.pick()
            if kind is not None:
                self.random_faults.raise_for(kind)
        if body.get("recipient_type", "individual") != "individual":
            raise GraphError(100, "Param recipient_type must be one of {INDIVIDUAL}.")
        to = body.get("to")
        if to is None or to == "":
            raise GraphError(131008, "The parameter to is required.")
        if not isinstance(to, str) or not _PHONE.fullmatch(to):
            raise GraphError(131009, "Param to must be a phone number in international format.")
        wa_id = to.lstrip("+")
        # Graph treats a missing type as text.
        kind = body.get("type", "text")
        if kind == "text":
            self._check_text(body)
            self._check_context(body)
            last = self.last_inbound.get(wa_id)
            if last is None or time.time() - last > WINDOW_SECONDS:
                raise GraphError(131047)
            extra: dict[str, Any] = {}
        elif kind == "template":
            self._check_template(body)
            extra = {"message_status": "accepted"}
        else:
            raise GraphError(100, f"Param type must be one of {{TEXT, TEMPLATE}} in this sandbox, got {kind!r}.")
        message_id = new_wamid()
        if self.config.webhook_url is not None:
            self.spawn(
                self.post_statuses(message_id, wa_id, asyncio.get_running_loop().time()),
                name=f"whatsapp-sandbox-statuses-{message_id[-8:]}",
            )
        if kind == "text" and self.traffic is not None:
            # An emulated customer reads what we sent them: a satisfaction survey gets answered, sometimes.
            self.spawn(self.traffic.answer_survey(wa_id, body["text"]["body"]),
                       name=f"whatsapp-sandbox-survey-{message_id[-8:]}")
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": wa_id}],
            "messages": [{"id": message_id, **extra}],
        }

    def _mark_read(self, body: dict[str, Any]) -> dict[str, Any]:
        if body["status"] != "read":
            raise GraphError(131009, "Param status must be one of {READ}.")
        message_id = body.get("message_id")
        if not message_id:
            raise GraphError(131008, "The parameter message_id is required.")
        if not isinstance(message_id, str):
            raise GraphError(131009, "Param message_id must be a string.")
        typing = body.get("typing_indicator")
        if typing is not None and (not isinstance(typing, dict) or typing.get("type") != "text"):
            raise GraphError(131009, "Param typing_indicator[type] must be one of {TEXT}.")
        return {"success": True}

    @staticmethod
    def _check_text(body: dict[str, Any]) -> None:
        text = body.get("text")
        if not isinstance(text, dict) or "body" not in text:
            raise GraphError(131008, "The parameter text['body'] is required.")
        content = text["body"]
        if not isinstance(content, str) or not content.strip():
            raise GraphError(131009, "Param text['body'] must be a non-empty string.")
        if len(content) > MAX_TEXT_CHARS:
            raise GraphError(131009, f"Param text['body'] must be at most {MAX_TEXT_CHARS} characters long.")
        if not isinstance(text.get("preview_url", False), bool):
            raise GraphError(131009, "Param text['preview_url'] must be a boolean.")

    @staticmethod
    def _check_context(body: dict[str, Any]) -> None:
        if "context" not in body:
            return
        context = body["context"]
        if not isinstance(context, dict) or not isinstance(context.get("message_id"), str):
            raise GraphError(131009, "Param context['message_id'] must be a string.")

    @staticmethod
    def _check_template(body: dict[str, Any]) -> None:
        template = body.get("template")
        if not isinstance(template, dict) or not template.get("name"):
            raise GraphError(131008, "The parameter template['name'] is required.")
        language = template.get("language")
        if not isinstance(language, dict) or not language.get("code"):
            raise GraphError(131008, "The parameter template['language']['code'] is required.")


def create_app(config: SandboxConfig) -> FastAPI:
    sandbox = WhatsAppSandbox(config)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await sandbox.start()
        try:
            yield
        finally:
            await sandbox.stop()

    app = FastAPI(title="WhatsApp Cloud API sandbox", lifespan=lifespan)
    app.state.sandbox = sandbox

    @app.post("/{version}/{phone_number_id}/messages")
    async def messages(version: str, phone_number_id: str, request: Request) -> Response:
        raw = await request.body()
        authorization_ok = sandbox.authorized(request.headers.get("authorization"))
        try:
            body: Any = loads_json(raw)  # too deep (JsonTooDeep) is a ValueError too: not a JSON object
        except ValueError:
            body = None
        headers: dict[str, str] = {}
        fault: str | None = None
        hang = 0.0
        try:
            status_code, response = 200, sandbox.handle_messages(phone_number_id, body, authorization_ok)
        except GraphError as exc:
            status_code, response, headers = exc.http_status, exc.body(), exc.headers
        except InjectedFault as exc:
            fault, hang = exc.kind, exc.hang_seconds
            if exc.error is not None:
                status_code, response, headers = exc.error.http_status, exc.error.body(), exc.error.headers
            else:
                status_code, response = 503, "upstream connect error or disconnect/reset before headers"
        # Every attempt is logged (faulted ones too, with their status), before any hang, so tests can count.
        sandbox.sent.append(
            {
                "path": request.url.path,
                "authorization_ok": authorization_ok,
                "json": body,
                "status_code": status_code,
                "response": response,
                "fault": fault,
            }
        )
        if hang:
            await asyncio.sleep(hang)
        if isinstance(response, str):
            return PlainTextResponse(response, status_code=status_code)
        return JSONResponse(response, status_code=status_code, headers=headers)

    def fault_state() -> dict[str, Any]:
        state: dict[str, Any] = {"pending": len(sandbox.faults)}
        if sandbox.random_faults is not None:
            state["rate"] = sandbox.random_faults.rate
            state["kinds"] = list(sandbox.random_faults.kinds)
        return state

    @app.post("/_sandbox/faults")
    async def add_faults(fault: FaultRequest) -> dict[str, Any]:
        if fault.code is not None:
            sandbox.faults.extend([(fault.code, fault.http_status)] * fault.count)
        if fault.rate is not None:
            sandbox.random_faults = RandomFaults(
                rate=fault.rate,
                kinds=tuple(fault.kinds),
                rng=random.Random(fault.seed),
                retry_after=fault.retry_after,
                hang_seconds=fault.hang_seconds,
            )
        return fault_state()

    @app.delete("/_sandbox/faults")
    async def clear_faults() -> dict[str, Any]:
        sandbox.faults.clear()
        sandbox.random_faults = None
        return fault_state()

    @app.get("/_sandbox/sent")
    async def sent() -> list[dict[str, Any]]:
        return sandbox.sent

    @app.post("/_sandbox/inbound")
    async def inbound(payload: InboundRequest) -> dict[str, Any]:
        return await sandbox.send_inbound(
            payload.sender,
            payload.name,
            payload.text,
            timestamp=payload.timestamp,
            omit_wa_id=payload.omit_wa_id,
        )

    @app.post("/_sandbox/spike")
    async def post_spike(request: SpikeRequest) -> dict[str, Any]:
        messages = spike.compose(request.topic, request.count, request.language, seed=request.seed)
        sending = spike.send_spike(sandbox.send_inbound, messages, request.seconds)
        answer: dict[str, Any] = {"topic": request.topic, "count": len(messages), "seconds": request.seconds,
                                  "customers": len({m.wa_id for m in messages})}
        if request.wait:
            answer["delivered"] = await sending
        else:
            sandbox.spawn(sending, name="whatsapp-sandbox-spike")
        return answer

    def webhook_state() -> dict[str, Any]:
        c = sandbox.config
        return {**sandbox.webhook_stats.as_dict(), "retry_for": c.webhook_retry_for,
                "attempts_limit": c.webhook_attempts, "backoff": c.webhook_backoff,
                "max_backoff": c.webhook_backoff_max}

    @app.post("/_sandbox/webhooks")
    async def post_webhooks(request: WebhooksRequest) -> dict[str, Any]:
        built = [sandbox.batched_webhook(messages) for messages in request.webhooks]
        sandbox.spawn(sandbox.post_webhooks([payload for payload, _ in built], request.rate),
                      name="whatsapp-sandbox-webhook-feeder")
        return {"ids": [ids for _, ids in built], **webhook_state()}

    @app.get("/_sandbox/webhooks")
    async def webhooks_state() -> dict[str, Any]:
        return webhook_state()

    @app.post("/_sandbox/redelivery")
    async def redelivery(request: RedeliveryRequest) -> dict[str, Any]:
        c = sandbox.config
        if "retry_for" in request.model_fields_set:
            c.webhook_retry_for = request.retry_for
        if request.attempts is not None:
            c.webhook_attempts = request.attempts
        if request.backoff is not None:
            c.webhook_backoff = request.backoff
        if request.max_backoff is not None:
            c.webhook_backoff_max = request.max_backoff
        return webhook_state()

    @app.get("/_sandbox/health")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/_sandbox/token")
    async def set_token(request: TokenRequest) -> dict[str, Any]:
        sandbox.config.token_expires_at = request.expires_at
        return {"expires_at": sandbox.config.token_expires_at}

    # Graph reads. Registered last and only for versioned paths ("/v21.0/..."): a catch-all two-segment GET
    # must not shadow the sandbox's own routes nor those of the emulators mounted beside this one.
    def graph_answer(read: Callable[[], dict[str, Any]]) -> Response:
        try:
            return JSONResponse(read())
        except GraphError as exc:
            return JSONResponse(exc.body(), status_code=exc.http_status, headers=exc.headers)

    @app.get("/v{version}/debug_token", include_in_schema=False)
    async def debug_token(version: str, request: Request) -> Response:
        return graph_answer(lambda: sandbox.debug_token(request.query_params, request.headers.get("authorization")))

    @app.get("/v{version}/{phone_number_id}", include_in_schema=False)
    async def phone_number(version: str, phone_number_id: str, request: Request) -> Response:
        return graph_answer(lambda: sandbox.phone_number(phone_number_id, request.query_params,
                                                         request.headers.get("authorization")))

    return app
