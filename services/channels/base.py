"""Normalized channel events, error kinds and the shape every connector shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Mapping, Protocol


class ErrorKind(StrEnum):
    """Our error kinds; connectors map provider codes onto these (values match protocol.ErrorKind)."""

    RETRYABLE = "retryable"
    WINDOW_CLOSED = "window_closed"
    AUTH_EXPIRED = "auth_expired"
    UNDELIVERABLE = "undeliverable"
    BAD_REQUEST = "bad_request"
    PERMISSION = "permission"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ProviderError:
    code: int | None
    title: str
    details: str = ""
    kind: ErrorKind = ErrorKind.UNKNOWN


@dataclass(frozen=True)
class InboundMessage:
    channel: str
    account_id: str  # our side of the conversation: phone-number id, page id, bot id...
    provider_message_id: str
    sender_handle: str  # the customer's id on the channel (wa_id, or business-scoped user id)
    sender_name: str
    kind: str  # text, image, reaction, ... as the provider names it
    text: str  # plain text to show: body, caption, or a short description of a non-text message
    sent_at: datetime
    reply_to_provider_id: str | None = None
    # A public post (an X mention, a comment on a page's post) rather than a private message: it joins the
    # customer's open public conversation on the channel, kept apart from their private one.
    public: bool = False


@dataclass(frozen=True)
class DeliveryStatus:
    channel: str
    provider_message_id: str
    status: str  # sent, delivered, read, failed, played
    occurred_at: datetime
    recipient_handle: str
    error: ProviderError | None = None


@dataclass(frozen=True)
class WebhookBatch:
    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[DeliveryStatus] = field(default_factory=list)


@dataclass(frozen=True)
class OutboundText:
    recipient_handle: str
    text: str
    # For a public conversation: the customer's newest public post, which the answer replies to publicly.
    reply_to_provider_id: str | None = None
    public: bool = False
    # A WhatsApp template instead of free text: {"name", "language", "parameters": [str]} (`text` is then
    # what the customer will read, for the record).
    template: dict | None = None


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str
    recipient_handle: str


@dataclass(frozen=True)
class AccountCheck:
    """What a live credentials check learned about our account on the provider (connectors' `check()`)."""

    account_id: str  # the provider's id of our account: phone-number id, page id, IG account id, bot id, user id
    name: str  # what the admin recognises: the display number, the page name, @bot, @handle, the address
    token_expires_at: datetime | None = None  # when the provider says the token ends (None: never or unknown)


class WebhookError(Exception):
    """A webhook delivery we refuse; `status_code` is what the endpoint answers (400, 403, 413)."""

    def __init__(self, status_code: int, reason: str) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason


class ChannelError(Exception):
    """A send the provider refused or that never reached it. Never carries a token in its text."""

    def __init__(
        self,
        kind: ErrorKind,
        title: str,
        *,
        code: int | None = None,
        details: str = "",
        http_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{kind}: {title}" + (f" (code {code})" if code is not None else ""))
        self.kind = kind
        self.title = title
        self.code = code
        self.details = details
        self.http_status = http_status
        self.retry_after = retry_after


class Connector(Protocol):
    channel: str

    def verify_signature(self, raw_body: bytes, headers: Mapping[str, str]) -> bool: ...

    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> WebhookBatch: ...

    async def send(self, outbound: OutboundText) -> SendResult: ...

    # Webhook channels only push (WhatsApp answers an empty batch); polled channels (Telegram, X, email)
    # return a services.teamserver.pollers.PollResult and are run by a Poller.
    async def poll(self, cursor: Any) -> Any: ...
