"""Telegram Bot API connector: long-polled updates (getUpdates), replies (sendMessage), error mapping.

The bot token is part of every request's URL (`/bot<token>/<method>`), so it must never reach a log, an
exception or a health record: transport errors are re-raised without the request (whose URL holds it), the
connector logs methods, never URLs, and httpx's own request log lines are scrubbed (see `_scrub_http_logs`).

Telegram has no delivery or read receipts for bots: a sendMessage that succeeds means the message is in the
customer's chat. The server records it as "accepted", which the desktop shows as sent; nothing follows.

Edited messages are stored as a new message of kind "edited" ("[edited] <new text>", threaded to the
original): an agent must see that an order number was corrected, and the original text stays as it was.
"""

from __future__ import annotations

import hmac
import logging
import re
from datetime import UTC, datetime
from typing import Any, Mapping

import httpx

from services.channels.base import (
    AccountCheck,
    ChannelError,
    ErrorKind,
    InboundMessage,
    OutboundText,
    SendResult,
    WebhookBatch,
    WebhookError,
)
from services.teamserver.hygiene import JsonTooDeep, clean_text, loads_json
from services.teamserver.pollers import PollResult
from workstation.textcount import reply_limit

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
DEFAULT_API_BASE = "https://api.telegram.org"
MAX_TEXT_CHARS = reply_limit("telegram")
POLL_LIMIT = 100
ALLOWED_UPDATES = ("message", "edited_message")
DEFAULT_POLL_TIMEOUT = 25
# Telegram's header on webhook deliveries when setWebhook was given a secret_token.
SECRET_TOKEN_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_NAME_CHARS = 256

# Media that may carry a caption, in the order to test them: an animation also carries `document`.
_MEDIA_KINDS = ("photo", "video", "animation", "video_note", "voice", "audio", "document", "sticker")
# Other contents, in the order to test them: a venue also carries `location`.
_OTHER_KINDS = ("venue", "location", "contact", "poll", "dice", "story", "game", "invoice")
_CHAT_ID = re.compile(r"-?[0-9]{1,20}")
_RETRY_AFTER_TEXT = re.compile(r"retry after (\d+)", re.IGNORECASE)
# A bot token as it shows in a URL path: /bot<id>:<secret>/getUpdates.
_TOKEN_IN_PATH = re.compile(r"/bot[^/\s'\"]+")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None


# -- inbound ----------------------------------------------------------------------------------------------------

def _sender_name(user: dict[str, Any], chat_id: int) -> str:
    full = " ".join(part for part in (_str(user.get("first_name")).strip(), _str(user.get("last_name")).strip())
                    if part)
    username = _str(user.get("username")).strip()
    return (full or (f"@{username}" if username else "") or str(chat_id))[:MAX_NAME_CHARS]


def _content(message: dict[str, Any]) -> tuple[str, str]:
    """(kind, text to show): the text, a caption, or a short description of what was sent."""
    if isinstance(message.get("text"), str):
        return "text", message["text"]
    caption = _str(message.get("caption"))
    for kind in _MEDIA_KINDS:
        if kind not in message:
            continue
        if caption:
            return kind, caption
        if kind == "sticker":
            emoji = _str(_dict(message["sticker"]).get("emoji"))
            return kind, f"[sticker] {emoji}" if emoji else "[sticker]"
        if kind == "document":
            name = _str(_dict(message["document"]).get("file_name"))
            return kind, f"[document] {name}" if name else "[document]"
        return kind, f"[{kind}]"
    for kind in _OTHER_KINDS:
        if kind not in message:
            continue
        body = _dict(message[kind])
        if kind == "venue":
            label = ", ".join(v for v in (_str(body.get("title")), _str(body.get("address"))) if v)
        elif kind == "location":
            lat, lon = body.get("latitude"), body.get("longitude")
            ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lat, lon))
            label = f"{lat},{lon}" if ok else ""
        elif kind == "contact":
            label = " ".join(v for v in (_str(body.get("first_name")), _str(body.get("last_name"))) if v)
        elif kind == "poll":
            label = _str(body.get("question"))
        elif kind == "dice":
            value = _int(body.get("value"))
            label = " ".join(v for v in (_str(body.get("emoji")), str(value) if value is not None else "") if v)
        else:
            label = ""
        return kind, f"[{kind}] {label}" if label else f"[{kind}]"
    return "unsupported", "[unsupported]"


def parse_update(update: Any, *, account_id: str) -> InboundMessage | None:
    """One customer's message from an Update, or None for what agents do not answer here (logged why)."""
    update = _dict(update)
    update_id = _int(update.get("update_id"))
    edited = "message" not in update and "edited_message" in update
    message = _dict(update.get("edited_message") if edited else update.get("message"))
    if not message:
        logger.debug("Telegram update %s carries no message (%s); skipped", update_id,
                     ",".join(k for k in update if k != "update_id")[:80] or "empty")
        return None
    chat = _dict(message.get("chat"))
    sender = _dict(message.get("from"))
    chat_id, message_id = _int(chat.get("id")), _int(message.get("message_id"))
    if chat_id is None or message_id is None:
        logger.warning("skipping Telegram update %s: no chat id or message id", update_id)
        return None
    if chat.get("type") != "private":
        # Groups and channels are public rooms, not a customer's conversation with us.
        logger.debug("Telegram update %s: skipped a message in a %s chat", update_id, _str(chat.get("type"))[:20])
        return None
    if not sender or sender.get("is_bot") is True:
        logger.debug("Telegram update %s: skipped a message from a bot (or without sender)", update_id)
        return None
    stamp = message.get("edit_date") if edited and _int(message.get("edit_date")) is not None else message.get("date")
    try:
        if _int(stamp) is None:
            raise ValueError("not an integer")
        sent_at = datetime.fromtimestamp(stamp, tz=UTC)
    except (ValueError, OverflowError, OSError):
        logger.warning("skipping Telegram update %s: its date is not Unix seconds", update_id)
        return None
    kind, text = _content(message)
    provider_id = f"{chat_id}:{message_id}"
    reply_to = _int(_dict(message.get("reply_to_message")).get("message_id"))
    reply_to_id = f"{chat_id}:{reply_to}" if reply_to is not None else None
    if edited:
        # Same message id, new text: a message of its own (an id per edit), threaded to the one it corrects.
        provider_id, reply_to_id = f"{provider_id}:edit:{stamp}", provider_id
        kind, text = "edited", f"[edited] {text}"
    return InboundMessage(
        channel=CHANNEL,
        account_id=account_id,
        provider_message_id=provider_id,
        sender_handle=str(chat_id),
        sender_name=clean_text(_sender_name(sender, chat_id)),
        kind=kind,
        text=clean_text(text),
        sent_at=sent_at,
        reply_to_provider_id=reply_to_id,
    )


def parse_updates(updates: list[Any], *, account_id: str) -> tuple[WebhookBatch, int | None]:
    """The customers' messages among `updates`, and the highest update_id seen (skipped updates count too:
    confirming them is how they are skipped)."""
    batch = WebhookBatch()
    newest: int | None = None
    for update in updates:
        update_id = _int(_dict(update).get("update_id"))
        if update_id is not None:
            newest = update_id if newest is None else max(newest, update_id)
        parsed = parse_update(update, account_id=account_id)
        if parsed is not None:
            batch.messages.append(parsed)
    return batch, newest


# -- errors -----------------------------------------------------------------------------------------------------

def error_for(http_status: int, body: Any, *, retry_after_header: str | None = None) -> ChannelError:
    """Our error for a Bot API refusal `{ok: false, error_code, description, parameters?: {retry_after}}` (or
    for an answer without that body, such as a proxy's 502 page)."""
    body = _dict(body)
    code = _int(body.get("error_code"))
    code = code if code is not None and 100 <= code <= 599 else http_status
    description = _str(body.get("description"))[:500]
    low = description.lower()
    retry_after = _number(_dict(body.get("parameters")).get("retry_after"))
    if retry_after is None:
        found = _RETRY_AFTER_TEXT.search(description)
        retry_after = float(found.group(1)) if found else None
    if retry_after is None and retry_after_header and retry_after_header.strip().isdigit():
        retry_after = float(retry_after_header.strip())

    def error(kind: ErrorKind, title: str) -> ChannelError:
        return ChannelError(kind, title, code=code, details=description, http_status=http_status,
                            retry_after=retry_after if kind == ErrorKind.RETRYABLE else None)

    if code == 429:
        wait = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        return error(ErrorKind.RETRYABLE, "Telegram rate limit" + wait)
    if code >= 500:
        return error(ErrorKind.RETRYABLE, "Telegram server error")
    if code in (401, 404):
        # 404 is Telegram's answer to a token it cannot even parse.
        return error(ErrorKind.AUTH_EXPIRED, "The bot token was refused")
    if code == 403:
        if "blocked by the user" in low:
            return error(ErrorKind.UNDELIVERABLE, "The customer blocked the bot")
        if "user is deactivated" in low:
            return error(ErrorKind.UNDELIVERABLE, "The customer's Telegram account was deleted")
        if "initiate conversation" in low:
            return error(ErrorKind.UNDELIVERABLE, "The customer has not started a chat with the bot")
        if "kicked" in low or "not a member" in low:
            return error(ErrorKind.UNDELIVERABLE, "The bot is no longer in this chat")
        return error(ErrorKind.PERMISSION, "Telegram refused: " + (description or "forbidden"))
    if code == 409:
        if "webhook" in low:
            return error(ErrorKind.PERMISSION, "A webhook is set for this bot, so it cannot be polled")
        return error(ErrorKind.PERMISSION, "Another program is polling this bot")
    if code == 400:
        if "chat not found" in low or "peer_id_invalid" in low or "user not found" in low:
            return error(ErrorKind.UNDELIVERABLE, "The customer's chat was not found")
        if "too long" in low:
            return error(ErrorKind.BAD_REQUEST, "Message too long")
        if "text is empty" in low:
            return error(ErrorKind.BAD_REQUEST, "Empty message")
        return error(ErrorKind.BAD_REQUEST, description or "Bad request")
    return error(ErrorKind.UNKNOWN, description or f"HTTP {http_status}")


class _ScrubBotToken(logging.Filter):
    """httpx logs each request's URL at INFO: the bot token in its path becomes /bot[REDACTED]."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is not ours to fix; keep it
            return True
        if "/bot" in message:
            record.msg, record.args = _TOKEN_IN_PATH.sub("/bot[REDACTED]", message), None
        return True


def _scrub_http_logs() -> None:
    for name in ("httpx", "httpcore"):
        target = logging.getLogger(name)
        if not any(isinstance(f, _ScrubBotToken) for f in target.filters):
            target.addFilter(_ScrubBotToken())


# -- the connector ----------------------------------------------------------------------------------------------

class TelegramConnector:
    """Talks to one bot through the Bot API (or the sandbox): polls its updates, sends its replies."""

    channel = CHANNEL

    def __init__(
        self,
        *,
        token: str,
        api_base: str = DEFAULT_API_BASE,
        client: httpx.AsyncClient | None = None,
        poll_timeout: int = DEFAULT_POLL_TIMEOUT,
        timeout: float = 10.0,
        idle_wait: float = 0.5,
        webhook_secret: str = "",
    ) -> None:
        if not token:
            raise ValueError("a bot token is needed")
        self._token = token
        self.api_base = api_base.rstrip("/")
        self.poll_timeout = max(0, int(poll_timeout))
        self._timeout = timeout
        # After an empty answer: a long poll has waited already; a short poll (timeout 0) must not spin.
        self.idle_wait = idle_wait
        self._webhook_secret = webhook_secret
        bot_id = token.partition(":")[0]
        # The bot's own user id leads its token; it is public (every message the bot sends carries it).
        self.account_id = bot_id if bot_id.isascii() and bot_id.isdigit() else CHANNEL
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=timeout)
        _scrub_http_logs()

    def __repr__(self) -> str:
        return f"TelegramConnector(bot={self.account_id!r}, api_base={self.api_base!r})"

    # The shape every connector shares. Telegram can also push updates to a webhook, with the secret given to
    # setWebhook in a header; this server polls, but a webhook route would parse with these.
    def verify_signature(self, raw_body: bytes, headers: Mapping[str, str]) -> bool:
        wanted = SECRET_TOKEN_HEADER.lower()
        value = next((v for k, v in headers.items() if k.lower() == wanted), None)
        if not self._webhook_secret or value is None:
            return False
        return hmac.compare_digest(value.encode("utf-8"), self._webhook_secret.encode("utf-8"))

    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> WebhookBatch:
        if not self.verify_signature(raw_body, headers):
            raise WebhookError(403, f"invalid or missing {SECRET_TOKEN_HEADER}")
        try:
            update = loads_json(raw_body.decode("utf-8"))
        except UnicodeDecodeError:
            raise WebhookError(400, "body is not valid UTF-8") from None
        except JsonTooDeep as exc:
            raise WebhookError(400, str(exc)) from None
        except ValueError:
            raise WebhookError(400, "body is not valid JSON") from None
        if not isinstance(update, dict) or _int(update.get("update_id")) is None:
            raise WebhookError(400, "not a Telegram update")
        return parse_updates([update], account_id=self.account_id)[0]

    async def check(self) -> AccountCheck:
        """A live credentials check ("Test connection"): getMe with the token. A refused token is AUTH_EXPIRED
        (401, or 404 for a token Telegram cannot parse); Telegram tokens do not expire (only revoked)."""
        result = _dict(await self._call("getMe", {}, timeout=httpx.Timeout(self._timeout)))
        bot_id = _int(result.get("id"))
        if bot_id is None:
            raise ChannelError(ErrorKind.UNKNOWN, "Unexpected getMe answer", http_status=200)
        username = clean_text(_str(result.get("username")))[:MAX_NAME_CHARS]
        first_name = clean_text(_str(result.get("first_name")))[:MAX_NAME_CHARS]
        return AccountCheck(account_id=str(bot_id), name=f"@{username}" if username else first_name or str(bot_id))

    async def poll(self, cursor: str | None) -> PollResult:
        """One getUpdates: asking with offset = last update_id + 1 is what confirms the earlier updates, so
        the poller sends the new cursor only after this batch is stored."""
        payload: dict[str, Any] = {"limit": POLL_LIMIT, "timeout": self.poll_timeout,
                                   "allowed_updates": list(ALLOWED_UPDATES)}
        offset = _offset(cursor)
        if offset is not None:
            payload["offset"] = offset
        # The read must outlast the long poll, or every quiet minute would look like a timeout.
        timeout = httpx.Timeout(self.poll_timeout + self._timeout, connect=min(self._timeout, 10.0))
        result = await self._call("getUpdates", payload, timeout=timeout)
        if not isinstance(result, list):
            raise ChannelError(ErrorKind.UNKNOWN, "Unexpected getUpdates answer")
        batch, newest = parse_updates(result, account_id=self.account_id)
        if newest is None:
            return PollResult(batch, cursor=cursor, wait=self.idle_wait)
        return PollResult(batch, cursor=str(newest + 1), wait=0.0)

    async def send(self, outbound: OutboundText) -> SendResult:
        if outbound.template is not None:
            # Templates are WhatsApp's way past its 24-hour window; Telegram has neither.
            raise ChannelError(ErrorKind.BAD_REQUEST, "Telegram has no message templates")
        text = outbound.text
        if not text.strip():
            raise ChannelError(ErrorKind.BAD_REQUEST, "Empty message")
        if len(text) > MAX_TEXT_CHARS:
            raise ChannelError(ErrorKind.BAD_REQUEST, "Message too long",
                               details=f"{len(text)} characters; Telegram allows {MAX_TEXT_CHARS}")
        handle = outbound.recipient_handle
        if not _CHAT_ID.fullmatch(handle or ""):
            raise ChannelError(ErrorKind.BAD_REQUEST, "Not a Telegram chat id", details=(handle or "")[:40])
        chat_id = int(handle)
        body: dict[str, Any] = {"chat_id": chat_id, "text": text}
        reply_to = _reply_target(outbound.reply_to_provider_id, chat_id)
        if reply_to is not None:
            body["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}
        result = await self._call("sendMessage", body, timeout=httpx.Timeout(self._timeout))
        message_id = _int(_dict(result).get("message_id"))
        if message_id is None:
            # Telegram took it but the answer is unreadable: not retryable, a retry could send it twice.
            raise ChannelError(ErrorKind.UNKNOWN, "Unexpected sendMessage answer", http_status=200)
        return SendResult(provider_message_id=f"{chat_id}:{message_id}", recipient_handle=str(chat_id))

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> TelegramConnector:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "[REDACTED]") if self._token in text else text

    async def _call(self, method: str, payload: dict[str, Any], *, timeout: httpx.Timeout) -> Any:
        url = f"{self.api_base}/bot{self._token}/{method}"
        failure: ChannelError | None = None
        response: httpx.Response | None = None
        # httpx's exceptions carry the request, and so the URL with the token: the error is raised outside
        # the handler, so it neither chains nor keeps them.
        try:
            response = await self._client.post(url, json=payload, timeout=timeout)
        except httpx.TimeoutException as exc:
            logger.warning("Telegram %s timed out (%s)", method, type(exc).__name__)
            failure = ChannelError(ErrorKind.RETRYABLE, "Telegram did not answer in time")
        except httpx.HTTPError as exc:
            logger.warning("Telegram %s failed: %s", method, type(exc).__name__)
            failure = ChannelError(ErrorKind.RETRYABLE, "Connection to Telegram failed")
        except httpx.InvalidURL:
            logger.warning("Telegram %s: the API address or bot token does not make a valid URL", method)
            failure = ChannelError(ErrorKind.AUTH_EXPIRED, "The bot token or API address is not valid")
        if failure is not None:
            raise failure
        assert response is not None
        try:
            data = response.json()
        except (ValueError, RecursionError):
            data = None
        if response.is_success and isinstance(data, dict) and data.get("ok") is True and "result" in data:
            return data["result"]
        if response.is_success:
            raise ChannelError(ErrorKind.UNKNOWN, f"Unexpected {method} answer", http_status=response.status_code)
        error = error_for(response.status_code, data, retry_after_header=response.headers.get("Retry-After"))
        if self._token in error.title or self._token in error.details:  # never seen; never let it through
            error = ChannelError(error.kind, self._redact(error.title), code=error.code,
                                 details=self._redact(error.details), http_status=error.http_status,
                                 retry_after=error.retry_after)
        logger.warning("Telegram refused %s: error_code=%s kind=%s description=%r", method, error.code,
                       error.kind, error.details[:200])
        raise error


def _offset(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        return int(cursor)
    except ValueError:
        logger.warning("ignoring a Telegram cursor that is not an update id: %r", cursor[:40])
        return None


def _reply_target(provider_id: str | None, chat_id: int) -> int | None:
    """The message id to reply to, when `provider_id` ("<chat>:<message>") is a message of this chat."""
    if not provider_id:
        return None
    chat, _, message = provider_id.partition(":")
    if chat != str(chat_id) or not message.isascii() or not message.isdigit():
        return None
    return int(message)


def from_env(env: Mapping[str, str], client: httpx.AsyncClient) -> TelegramConnector | None:
    """The connector for WORKSTATION_TELEGRAM_TOKEN (else None); WORKSTATION_TELEGRAM_API_BASE (default
    api.telegram.org), WORKSTATION_TELEGRAM_POLL_TIMEOUT (seconds a getUpdates may wait, default 25) and
    WORKSTATION_TELEGRAM_TIMEOUT (seconds for a send, default 10) tune it."""
    token = (env.get("WORKSTATION_TELEGRAM_TOKEN") or "").strip()
    if not token:
        return None
    return TelegramConnector(
        token=token,
        api_base=(env.get("WORKSTATION_TELEGRAM_API_BASE") or "").strip() or DEFAULT_API_BASE,
        client=client,
        poll_timeout=_setting(env, "WORKSTATION_TELEGRAM_POLL_TIMEOUT", DEFAULT_POLL_TIMEOUT, int),
        timeout=_setting(env, "WORKSTATION_TELEGRAM_TIMEOUT", 10.0, float),
    )


def _setting(env: Mapping[str, str], name: str, default: Any, kind: type) -> Any:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {raw[:20]!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return value
