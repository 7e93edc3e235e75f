"""WhatsApp Business Cloud API connector: webhook signature and parsing, sends, error mapping."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Mapping

import httpx

from services.channels.base import (
    AccountCheck,
    ChannelError,
    DeliveryStatus,
    ErrorKind,
    InboundMessage,
    OutboundText,
    ProviderError,
    SendResult,
    WebhookBatch,
    WebhookError,
)
from services.channels.graph import GraphClient
from services.teamserver.hygiene import JsonTooDeep, clean_text, loads_json
from workstation.textcount import reply_limit

logger = logging.getLogger(__name__)

CHANNEL = "whatsapp"
SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_TEXT_CHARS = reply_limit("whatsapp")
# Ids and handles longer than this are not WhatsApp's (wamids are ~60 characters) and would not fit a
# database index entry: such messages and statuses are skipped. Profile names are cut to MAX_NAME_CHARS.
MAX_ID_CHARS = 256
MAX_NAME_CHARS = 256

ERROR_KINDS: dict[int, ErrorKind] = {
    131047: ErrorKind.WINDOW_CLOSED,
    130429: ErrorKind.RETRYABLE,
    131056: ErrorKind.RETRYABLE,
    4: ErrorKind.RETRYABLE,
    80007: ErrorKind.RETRYABLE,
    131000: ErrorKind.RETRYABLE,
    131016: ErrorKind.RETRYABLE,
    2: ErrorKind.RETRYABLE,
    190: ErrorKind.AUTH_EXPIRED,
    131026: ErrorKind.UNDELIVERABLE,
    131051: ErrorKind.BAD_REQUEST,
    100: ErrorKind.BAD_REQUEST,
    131008: ErrorKind.BAD_REQUEST,
    131009: ErrorKind.BAD_REQUEST,
    10: ErrorKind.PERMISSION,
}

_MEDIA_KINDS = frozenset({"image", "video", "document", "sticker", "audio"})
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")
_CODE_PREFIX = re.compile(r"^\(#\d+\)\s*")
_UNIX_SECONDS = re.compile(r"-?[0-9]{1,12}")
# A token passed as a query parameter (Graph's debug_token takes the token it inspects that way).
_TOKEN_IN_QUERY = re.compile(r"((?:input_token|access_token)=)[^&\s'\"]+")


def error_kind_for(code: int | None) -> ErrorKind:
    if code is None:
        return ErrorKind.UNKNOWN
    if code in ERROR_KINDS:
        return ERROR_KINDS[code]
    # Graph reserves the whole 200-299 range for permission errors.
    if 200 <= code <= 299:
        return ErrorKind.PERMISSION
    return ErrorKind.UNKNOWN


def sign(app_secret: str, raw_body: bytes) -> str:
    digest = hmac.new(app_secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()
    return "sha256=" + digest


def verify_signature(app_secret: str, raw_body: bytes, header_value: str | None) -> bool:
    if not app_secret or not header_value:
        return False
    scheme, sep, digest = header_value.strip().partition("=")
    # compare_digest refuses non-ASCII str, so reject anything that is not plain hex first.
    if not sep or scheme.lower() != "sha256" or not _HEX_DIGEST.fullmatch(digest):
        return False
    expected = sign(app_secret, raw_body).partition("=")[2]
    return hmac.compare_digest(expected, digest.lower())


def verify_subscription(*, mode: str | None, token: str | None, challenge: str | None, verify_token: str) -> str | None:
    if not verify_token or mode != "subscribe" or token is None or challenge is None:
        return None
    if not hmac.compare_digest(token.encode("utf-8"), verify_token.encode("utf-8")):
        return None
    return challenge


def _parse_timestamp(value: Any) -> datetime:
    """Unix seconds as Meta sends them (a string); raises ValueError on anything else."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"timestamp {value!r} is not a string of Unix seconds")
    if isinstance(value, str) and not _UNIX_SECONDS.fullmatch(value):
        raise ValueError(f"timestamp {value[:40]!r} is not a string of Unix seconds")
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (OverflowError, OSError) as exc:
        raise ValueError(f"timestamp {value!r} out of range") from exc


def _error_code(value: Any) -> int | None:
    """A Graph error code, or None for anything else (a code must fit a database integer column)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31:
        return value
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    """A text field as sent, or "" when it is missing or not a string (never a Python repr)."""
    return value if isinstance(value, str) else ""


def _message_text(kind: str, message: dict[str, Any]) -> str | None:
    """What to show for a message; None when a text message's body is not a string (malformed)."""
    body = _dict(message.get(kind))
    if kind == "text":
        text = body.get("body")
        if text is not None and not isinstance(text, str):
            return None
        return text or ""
    if kind in _MEDIA_KINDS:
        caption = _str(body.get("caption"))
        if caption:
            return caption
        filename = _str(body.get("filename"))
        return f"[{kind}] {filename}" if kind == "document" and filename else f"[{kind}]"
    if kind == "reaction":
        # An empty emoji means the customer removed their reaction.
        return _str(body.get("emoji"))
    if kind == "location":
        label = ", ".join(_str(body.get(k)) for k in ("name", "address") if _str(body.get(k)))
        if not label:
            lat, lon = body.get("latitude"), body.get("longitude")
            lat = lat if isinstance(lat, (int, float)) and not isinstance(lat, bool) else "?"
            lon = lon if isinstance(lon, (int, float)) and not isinstance(lon, bool) else "?"
            label = f"{lat},{lon}"
        return f"[location] {label}"
    if kind == "contacts":
        names = []
        for card in _list(message.get("contacts")):
            name = _dict(_dict(card).get("name"))
            formatted = _str(name.get("formatted_name")) or " ".join(
                _str(name.get(k)) for k in ("first_name", "last_name") if _str(name.get(k))
            )
            if formatted:
                names.append(formatted)
        return "[contacts] " + ", ".join(names) if names else "[contacts]"
    if kind == "interactive":
        for reply_kind in ("button_reply", "list_reply"):
            title = _str(_dict(body.get(reply_kind)).get("title"))
            if title:
                return title
        return "[interactive]"
    if kind == "button":
        return _str(body.get("text")) or _str(body.get("payload")) or "[button]"
    if kind == "system":
        return _str(body.get("body")) or "[system]"
    return f"[{kind}]"


def _sender_name(contacts: list[Any], phone: str | None, user_id: str | None, handle: str) -> str:
    for contact in contacts:
        contact = _dict(contact)
        if (phone and contact.get("wa_id") == phone) or (user_id and contact.get("user_id") == user_id):
            name = _str(_dict(contact.get("profile")).get("name"))
            if name:
                return name[:MAX_NAME_CHARS]
    return handle


def _id(value: Any) -> str | None:
    """An id or handle: a non-empty string short enough for a database index, else None."""
    return value if isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS else None


def _parse_message(message: Any, *, account_id: str, contacts: list[Any]) -> InboundMessage | None:
    message = _dict(message)
    message_id = _id(message.get("id"))
    phone = message.get("from")
    user_id = message.get("from_user_id")
    handle = _id(phone or user_id)
    if message_id is None:
        logger.warning("skipping WhatsApp message without id (or an id too long)")
        return None
    if handle is None:
        logger.warning("skipping WhatsApp message %s without sender (or a sender too long)", message_id)
        return None
    try:
        sent_at = _parse_timestamp(message.get("timestamp"))
    except ValueError as exc:
        logger.warning("skipping WhatsApp message %s: %s", message_id, exc)
        return None
    kind = _id(message.get("type")) or "unknown"
    text = _message_text(kind, message)
    if text is None:
        logger.warning("skipping WhatsApp message %s: its text body is not a string", message_id)
        return None
    reply_to = _id(_dict(message.get("context")).get("id"))
    if not reply_to and kind == "reaction":
        # A reaction points at the message it reacts to; threading it there keeps it in context.
        reply_to = _id(_dict(message.get("reaction")).get("message_id"))
    # Everything stored is cleaned of NUL and unpaired surrogates, which databases cannot store.
    return InboundMessage(
        channel=CHANNEL,
        account_id=clean_text(account_id),
        provider_message_id=clean_text(message_id),
        sender_handle=clean_text(handle),
        sender_name=clean_text(_sender_name(contacts, phone, user_id, handle)),
        kind=clean_text(kind),
        text=clean_text(text),
        sent_at=sent_at,
        reply_to_provider_id=clean_text(reply_to) if reply_to else None,
    )


def _parse_status(status: Any) -> DeliveryStatus | None:
    status = _dict(status)
    status_id = _id(status.get("id"))
    state = _id(status.get("status"))
    if status_id is None or state is None:
        logger.warning("skipping WhatsApp status without id or status")
        return None
    try:
        occurred_at = _parse_timestamp(status.get("timestamp"))
    except ValueError as exc:
        logger.warning("skipping WhatsApp status %s/%s: %s", status_id, state, exc)
        return None
    error = None
    errors = _list(status.get("errors"))
    if errors:
        first = _dict(errors[0])
        code = _error_code(first.get("code"))
        error = ProviderError(
            code=code,
            title=clean_text(_str(first.get("title")) or _str(first.get("message"))),
            details=clean_text(_str(_dict(first.get("error_data")).get("details"))),
            kind=error_kind_for(code),
        )
    return DeliveryStatus(
        channel=CHANNEL,
        provider_message_id=clean_text(status_id),
        status=clean_text(state),
        occurred_at=occurred_at,
        recipient_handle=clean_text(_id(status.get("recipient_id")) or _id(status.get("recipient_user_id")) or ""),
        error=error,
    )


def parse_webhook_payload(raw_body: bytes) -> WebhookBatch:
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebhookError(400, "body is not valid UTF-8") from exc
    try:
        payload = loads_json(text)  # refuses nesting deeper than hygiene.MAX_JSON_DEPTH
    except JsonTooDeep as exc:
        raise WebhookError(400, str(exc)) from None
    except ValueError as exc:
        raise WebhookError(400, "body is not valid JSON") from exc
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        raise WebhookError(400, "not a whatsapp_business_account webhook")

    batch = WebhookBatch()
    for entry in _list(payload.get("entry")):
        for change in _list(_dict(entry).get("changes")):
            change = _dict(change)
            if change.get("field") != "messages":
                continue
            value = _dict(change.get("value"))
            account_id = _id(_dict(value.get("metadata")).get("phone_number_id")) or ""
            contacts = _list(value.get("contacts"))
            for message in _list(value.get("messages")):
                parsed = _parse_message(message, account_id=account_id, contacts=contacts)
                if parsed is not None:
                    batch.messages.append(parsed)
            for status in _list(value.get("statuses")):
                parsed_status = _parse_status(status)
                if parsed_status is not None:
                    batch.statuses.append(parsed_status)
    return batch


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class _ScrubQueryToken(logging.Filter):
    """httpx logs each request's URL at INFO: a token in its query (debug_token's input_token) becomes
    [REDACTED]."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is not ours to fix; keep it
            return True
        if "_token=" in message:
            record.msg, record.args = _TOKEN_IN_QUERY.sub(r"\1[REDACTED]", message), None
        return True


def scrub_http_logs() -> None:
    """Keeps tokens sent in a query string out of httpx's request log (installed once per process)."""
    target = logging.getLogger("httpx")
    if not any(isinstance(f, _ScrubQueryToken) for f in target.filters):
        target.addFilter(_ScrubQueryToken())


def token_expiry(answer: dict[str, Any], redact: Any = lambda text: text) -> datetime | None:
    """When a token ends, from Graph's `GET /debug_token` answer `{data: {expires_at, is_valid, ...}}`:
    `expires_at` 0 (or absent) means never (None); `is_valid: false` raises AUTH_EXPIRED."""
    data = _dict(answer.get("data"))
    if data.get("is_valid") is False:
        error = _dict(data.get("error"))
        code = _error_code(error.get("code"))
        raise ChannelError(ErrorKind.AUTH_EXPIRED, "the access token is no longer valid", code=code,
                           details=redact(clean_text(_str(error.get("message"))))[:300], http_status=200)
    expires_at = data.get("expires_at")
    if isinstance(expires_at, bool) or not isinstance(expires_at, int) or expires_at <= 0:
        return None
    try:
        return datetime.fromtimestamp(expires_at, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


class WhatsAppConnector(GraphClient):
    """Talks to one WhatsApp business phone number through the Graph API (or the sandbox)."""

    channel = CHANNEL
    platform = "WhatsApp"

    def __init__(
        self,
        *,
        app_secret: str,
        access_token: str,
        phone_number_id: str,
        api_base: str = "https://graph.facebook.com",
        api_version: str = "v21.0",
        client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._app_secret = app_secret
        self._access_token = access_token
        self.phone_number_id = phone_number_id
        self.api_base = api_base.rstrip("/")
        self.api_version = api_version
        self._timeout = timeout
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=timeout)
        scrub_http_logs()

    @property
    def account_id(self) -> str:
        return self.phone_number_id

    def __repr__(self) -> str:
        return f"WhatsAppConnector(phone_number_id={self.phone_number_id!r}, api_base={self.api_base!r})"

    @property
    def messages_url(self) -> str:
        return f"{self.api_base}/{self.api_version}/{self.phone_number_id}/messages"

    def verify_signature(self, raw_body: bytes, headers: Mapping[str, str]) -> bool:
        wanted = SIGNATURE_HEADER.lower()
        header_value = next((v for k, v in headers.items() if k.lower() == wanted), None)
        return verify_signature(self._app_secret, raw_body, header_value)

    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> WebhookBatch:
        if not self.verify_signature(raw_body, headers):
            raise WebhookError(403, "invalid or missing X-Hub-Signature-256")
        return parse_webhook_payload(raw_body)

    async def send(self, outbound: OutboundText) -> SendResult:
        if outbound.template is not None:
            return await self._send_template(outbound)
        if not outbound.text.strip():
            raise ChannelError(ErrorKind.BAD_REQUEST, "empty message")
        if len(outbound.text) > MAX_TEXT_CHARS:
            raise ChannelError(
                ErrorKind.BAD_REQUEST,
                "message too long",
                details=f"{len(outbound.text)} characters; WhatsApp allows {MAX_TEXT_CHARS}",
            )
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": outbound.recipient_handle,
            "type": "text",
            "text": {"body": outbound.text, "preview_url": False},
        }
        if outbound.reply_to_provider_id:
            body["context"] = {"message_id": outbound.reply_to_provider_id}
        return self._sent(await self._post(body), outbound)

    async def _send_template(self, outbound: OutboundText) -> SendResult:
        """An approved template: the only message WhatsApp delivers outside the 24-hour window."""
        template = outbound.template or {}
        parameters = [{"type": "text", "text": str(p)} for p in template.get("parameters") or []]
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": outbound.recipient_handle,
            "type": "template",
            "template": {"name": template.get("name"), "language": {"code": template.get("language")},
                         **({"components": [{"type": "body", "parameters": parameters}]} if parameters else {})},
        }
        return self._sent(await self._post(body), outbound)

    @staticmethod
    def _sent(data: dict, outbound: OutboundText) -> SendResult:
        try:
            message_id = data["messages"][0]["id"]
            if not isinstance(message_id, str) or not message_id:
                raise TypeError("empty message id")
        except (KeyError, IndexError, TypeError) as exc:
            # Accepted by the provider but unreadable: not retryable, a retry could send twice.
            raise ChannelError(ErrorKind.UNKNOWN, "unexpected response", http_status=200) from exc
        contacts = data.get("contacts") if isinstance(data.get("contacts"), list) else []
        wa_id = _dict(contacts[0]).get("wa_id") if contacts else None
        return SendResult(provider_message_id=message_id, recipient_handle=str(wa_id or outbound.recipient_handle))

    async def mark_read(self, provider_message_id: str, *, typing: bool = False) -> None:
        body: dict[str, Any] = {"messaging_product": "whatsapp", "status": "read", "message_id": provider_message_id}
        if typing:
            body["typing_indicator"] = {"type": "text"}
        await self._post(body)

    async def check(self) -> AccountCheck:
        """A live credentials check ("Test connection"): reads the phone number with the token, then asks
        Graph's debug_token when the token ends. Raises ChannelError (AUTH_EXPIRED for a refused token,
        BAD_REQUEST for a phone-number id Graph does not know with this token, RETRYABLE when Graph cannot be
        reached)."""
        node = await self._get(f"{self.api_base}/{self.api_version}/{self.phone_number_id}",
                               {"fields": "display_phone_number,verified_name"}, what="phone number check")
        account_id = _id(node.get("id")) or self.phone_number_id
        number = clean_text(_str(node.get("display_phone_number")))[:MAX_NAME_CHARS]
        verified = clean_text(_str(node.get("verified_name")))[:MAX_NAME_CHARS]
        name = " · ".join(part for part in (number, verified) if part) or account_id
        return AccountCheck(account_id=account_id, name=name, token_expires_at=await self._token_expiry())

    async def poll(self, cursor: Any) -> tuple[WebhookBatch, Any]:
        # WhatsApp only pushes webhooks; there is nothing to fetch.
        return WebhookBatch(), cursor

    async def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._request("POST", self.messages_url, json=body)

    def _error_from(self, response: httpx.Response) -> ChannelError:
        status = response.status_code
        retry_after = _retry_after(response.headers.get("Retry-After"))
        try:
            error = response.json().get("error")
        except (ValueError, AttributeError, RecursionError):
            error = None
        if not isinstance(error, dict):
            kind = ErrorKind.RETRYABLE if status >= 500 or status == 429 else ErrorKind.UNKNOWN
            logger.warning("WhatsApp answered HTTP %s without a Graph error body", status)
            return ChannelError(kind, f"HTTP {status}", http_status=status, retry_after=retry_after)
        code = _error_code(error.get("code"))
        title = self._redact(_CODE_PREFIX.sub("", str(error.get("message") or "")) or f"HTTP {status}")
        details = self._redact(str(_dict(error.get("error_data")).get("details") or ""))
        kind = error_kind_for(code)
        logger.warning(
            "WhatsApp refused request: code=%s kind=%s http=%s fbtrace_id=%s",
            code,
            kind,
            status,
            error.get("fbtrace_id"),
        )
        return ChannelError(kind, title, code=code, details=details, http_status=status, retry_after=retry_after)
