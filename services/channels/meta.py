"""Messenger (Facebook Pages) and Instagram messaging connector: webhooks, Send API, comment replies, errors.

One module, two connector instances (`channel` "messenger" and "instagram"): both platforms speak the Graph
API's Messenger Platform dialect and sign webhooks like WhatsApp (X-Hub-Signature-256 over the raw body with
the app secret; `whatsapp.verify_signature` is reused as is).

Inbound (`parse_webhook_payload`): `object: "page"` is Messenger, `object: "instagram"` Instagram.
- `entry[].messaging[]` and `entry[].standby[]` (events while another app owns the thread, under the handover
  protocol: the customer still wrote to us) carry private messages: `message {mid, text, attachments,
  reply_to}` → a private InboundMessage (attachments described as "[image]", "[video]", …); `postback` (a
  button tapped) → kind "postback" with its title. Millisecond `timestamp`s.
- `message.is_echo` (what the page itself sent, from any app or the Page inbox) is skipped: our own replies
  are already stored by the dispatcher with their mid, and storing the others as customer messages would be
  wrong (the ingest path only knows inbound messages). Unsent (`is_deleted`) messages, reactions, referrals
  and opt-ins are skipped too.
- Receipts. Messenger's `delivery {mids, watermark}` names the messages when `mids` is there: one
  DeliveryStatus "delivered" per mid. Without `mids`, and for Messenger's `read {watermark}`, Meta only says
  "everything sent to this customer before `watermark` was delivered/read": such receipts come back as a
  `Watermark` for the server to match against the outbound messages it knows (routes/webhooks.py), since
  only it knows what it sent and when. Instagram's `read {mid}` names the message seen: a "read" per mid.
- `entry[].changes[]` with `field: "feed"` and `value.item: "comment"`, `verb: "add"` is a public comment on
  one of the page's posts → a public InboundMessage (provider id = comment_id, sender = from.id). The page's
  own comments (`from.id` == the page id, i.e. our replies) are skipped; `edited`, `remove`, `hide` and
  `unhide` are ignored: an edit keeps the comment id (storing it again would collide with the original, and
  a synthetic id would become what a public answer replies to), and a removed comment stays in the history.
  Visitor posts, reactions and shares are ignored.
- Instagram `field: "comments"`: `value {id, text, from {id, username}, media {id}}` → a public message.
  The account's own comments (`from.id` == the account id) are skipped.

Outbound (`send`), by what the dispatcher hands over:
- private (a DM): `POST /{version}/{page-or-account-id}/messages {recipient: {id}, messaging_type: "RESPONSE",
  message: {text}}`. Meta allows RESPONSE within 24 h of the customer's last message and a human agent's
  MESSAGE_TAG/HUMAN_AGENT up to 7 days. The connector is not told when the customer last wrote, so it asks
  Meta, which is the authority on the window: RESPONSE first and, when refused with code 10 / subcode
  2018278 (outside the window), once more with MESSAGE_TAG + HUMAN_AGENT (every reply here is written by a
  person). Refused again: WINDOW_CLOSED, "the customer last wrote more than 7 days ago".
- private with `reply_to_provider_id` (a comment id): the private reply to that comment, `recipient:
  {comment_id}` (one per comment, within 7 days of it; Meta answers 10900 to a second one).
- public: the answer to the customer's newest comment, `POST /{comment-id}/comments {message}` on Facebook,
  `POST /{ig-comment-id}/replies {message}` on Instagram.
- Texts over 2,000 characters (Messenger) or 1,000 (Instagram), and comments over 8,000 (Facebook) or 2,200
  (Instagram), are refused before sending (BAD_REQUEST).
The token goes in the Authorization header, never in a URL, a log line or an exception.

Names (`profile`): messaging webhooks carry only the customer's page-scoped id (PSID, IGSID), so the server asks
the User Profile API for a name to show: `GET /{version}/{PSID}?fields=first_name,last_name,profile_pic` with
the page token (Messenger), `GET /{version}/{IGSID}?fields=name,username,profile_pic` (Instagram, on
graph.instagram.com or graph.facebook.com alike). A profile Meta will not give (privacy settings: code 100 /
subcode 2018218; an unknown id; Instagram's "User consent is required", code 230, for someone who only
commented; a customer who blocked the page) is None, not an error: the customer keeps showing as their id.
A refused token, rate limits, 5xx and network failures raise ChannelError as every other call does. Names
are the customer's own text: control characters and direction overrides go, runs of spaces become one, and
they are cut to MAX_PROFILE_NAME_CHARS; markup is kept as the text it is (the app shows plain text).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Mapping

import httpx

from services.channels.base import (
    AccountCheck,
    ChannelError,
    DeliveryStatus,
    ErrorKind,
    InboundMessage,
    OutboundText,
    SendResult,
    WebhookBatch,
    WebhookError,
)
# Graph's signature, subscription handshake and the small readers of untrusted JSON are WhatsApp's too.
from services.channels.graph import GraphClient
from services.channels.whatsapp import (  # noqa: F401  (verify_subscription is re-exported for the routes)
    MAX_NAME_CHARS,
    SIGNATURE_HEADER,
    _dict,
    _error_code,
    _id,
    _list,
    _retry_after,
    _str,
    scrub_http_logs,
    sign,
    token_expiry,
    verify_signature,
    verify_subscription,
)
from services.teamserver.hygiene import JsonTooDeep, clean_text, loads_json
from workstation.textcount import reply_limit

logger = logging.getLogger(__name__)

MESSENGER = "messenger"
INSTAGRAM = "instagram"
OBJECT_CHANNEL = {"page": MESSENGER, "instagram": INSTAGRAM}
PLATFORM_NAME = {MESSENGER: "Messenger", INSTAGRAM: "Instagram"}
# Send API text limits, and the comment limits of a reply to a comment.
MAX_TEXT_CHARS = {channel: reply_limit(channel) for channel in (MESSENGER, INSTAGRAM)}
MAX_COMMENT_CHARS = {channel: reply_limit(channel, public=True) for channel in (MESSENGER, INSTAGRAM)}
# Facebook Login apps call graph.facebook.com; Instagram API with Instagram Login apps graph.instagram.com.
DEFAULT_GRAPH_BASE = {MESSENGER: "https://graph.facebook.com", INSTAGRAM: "https://graph.instagram.com"}
DEFAULT_API_VERSION = "v21.0"
HUMAN_AGENT = "HUMAN_AGENT"
# Code 10 with one of these subcodes: the message is outside the window the customer's last message opened.
WINDOW_SUBCODES = frozenset({2018278, 2534022, 2018065})
# "This person isn't available right now" also comes as code 200 with this subcode.
UNAVAILABLE_SUBCODE = 1545041
UNREACHABLE_SUBCODE = 2018108

ERROR_KINDS: dict[int, ErrorKind] = {
    190: ErrorKind.AUTH_EXPIRED,
    # Rate limits: application (4), user (17), API (32), Send API calls (613).
    4: ErrorKind.RETRYABLE,
    17: ErrorKind.RETRYABLE,
    32: ErrorKind.RETRYABLE,
    613: ErrorKind.RETRYABLE,
    # Temporary errors: unknown (1), service (2), "please reduce the amount of data" (1200).
    1: ErrorKind.RETRYABLE,
    2: ErrorKind.RETRYABLE,
    1200: ErrorKind.RETRYABLE,
    10: ErrorKind.PERMISSION,
    368: ErrorKind.PERMISSION,  # deemed abusive, temporarily blocked
    2022: ErrorKind.PERMISSION,
    551: ErrorKind.UNDELIVERABLE,  # "This person isn't available right now."
    230: ErrorKind.UNDELIVERABLE,  # the person's settings do not allow the message
    100: ErrorKind.BAD_REQUEST,
    10900: ErrorKind.BAD_REQUEST,  # "Activity already replied to": one private reply per comment
    10903: ErrorKind.BAD_REQUEST,  # "This user can't reply to this activity"
}

_CODE_PREFIX = re.compile(r"^\(#\d+\)\s*")
# The User Profile API: who has no profile to show (the id stays the name), by Graph code and subcode.
PROFILE_HIDDEN_SUBCODE = 2018218  # "(#100) No profile available for this user"
USER_CONSENT_CODE = 230  # Instagram: "User consent is required to access user profile" (only commented)
MAX_PROFILE_NAME_CHARS = 100
MAX_PICTURE_URL_CHARS = 2048
PROFILE_FIELDS = {MESSENGER: "first_name,last_name,profile_pic", INSTAGRAM: "name,username,profile_pic"}
# PSIDs and IGSIDs are decimal numbers; anything else never reaches a URL.
_USER_ID = re.compile(r"[0-9]{1,32}")
# Direction controls (embeddings, overrides, isolates, marks) that would reorder what the app shows around a
# name: removed. Zero-width joiners stay (emoji sequences need them).
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                                         "\u2066\u2067\u2068\u2069"))
_DIGITS = re.compile(r"[0-9]{1,16}")
# Unix times at or above this are milliseconds (10^11 seconds is the year 5138; 10^11 ms is 1973).
_MILLISECONDS_FROM = 10**11
_ATTACHMENT_LABELS = {"file": "file", "ig_reel": "reel", "reel": "reel", "story_mention": "story mention",
                      "share": "share", "fallback": "link", "template": "template", "audio": "audio",
                      "video": "video", "image": "image", "location": "location", "sticker": "sticker"}


def error_kind_for(code: int | None, subcode: int | None = None, *, transient: bool = False) -> ErrorKind:
    if code is None:
        return ErrorKind.RETRYABLE if transient else ErrorKind.UNKNOWN
    if code == 10 and subcode in WINDOW_SUBCODES:
        return ErrorKind.WINDOW_CLOSED
    if subcode in (UNAVAILABLE_SUBCODE, UNREACHABLE_SUBCODE):
        return ErrorKind.UNDELIVERABLE
    if code in ERROR_KINDS:
        return ERROR_KINDS[code]
    if 200 <= code <= 299:  # Graph reserves the range for permission errors
        return ErrorKind.PERMISSION
    return ErrorKind.RETRYABLE if transient else ErrorKind.UNKNOWN


# -- inbound ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Watermark:
    """A receipt without message ids: everything the page sent `customer_handle` at or before `watermark` has
    reached `status` ("delivered" or "read"). The server turns it into statuses of the messages it sent."""

    channel: str
    account_id: str
    customer_handle: str
    status: str
    watermark: datetime


@dataclass(frozen=True)
class MetaWebhook:
    batch: WebhookBatch = field(default_factory=WebhookBatch)
    watermarks: list[Watermark] = field(default_factory=list)


@dataclass(frozen=True)
class CustomerProfile:
    """What the User Profile API tells of a customer, cleaned for display: `name` ("First Last" on Messenger;
    Instagram's name, else "@username"), the Instagram `username` (without "@"; "" on Messenger) and the
    profile picture's URL (https only; Meta's URLs expire within days, so it is not worth keeping long)."""

    name: str
    username: str = ""
    picture_url: str = ""


def clean_display_name(value: Any, limit: int = MAX_PROFILE_NAME_CHARS) -> str:
    """A customer-chosen name made safe to show as one line of plain text: NUL and unpaired surrogates as
    `clean_text`, control characters (new lines, tabs, escapes) and line separators as spaces, direction
    overrides and marks removed, spaces collapsed and trimmed, at most `limit` characters. Markup such as
    "<b>" stays as the literal text it is."""
    text = clean_text(_str(value))
    if not text:
        return ""
    text = text.translate(_BIDI_CONTROLS)
    if not text.isprintable():
        text = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit].rstrip()
    return text


def _picture_url(value: Any) -> str:
    url = _str(value)
    if not url.startswith("https://") or len(url) > MAX_PICTURE_URL_CHARS or not url.isprintable() or " " in url:
        return ""
    return url


def _meta_time(value: Any) -> datetime:
    """A Graph time: integer Unix milliseconds (messaging) or seconds (feed, comments); ValueError otherwise."""
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"time {str(value)[:40]!r} is not a Unix time")
    try:
        if value >= _MILLISECONDS_FROM:
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError(f"time {value!r} out of range") from exc


def _attachment_label(attachment: dict[str, Any]) -> str:
    kind = _str(attachment.get("type")) or "attachment"
    payload = _dict(attachment.get("payload"))
    if kind == "image" and payload.get("sticker_id") is not None:
        kind = "sticker"
    label = f"[{_ATTACHMENT_LABELS.get(kind, kind[:40])}]"
    if kind == "fallback":
        title = _str(attachment.get("title")) or _str(payload.get("title")) or _str(payload.get("url"))
        return f"{label} {title}" if title else label
    if kind == "location":
        point = _dict(payload.get("coordinates"))
        lat, lon = point.get("lat"), point.get("long")
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lat, lon)):
            return f"{label} {lat},{lon}"
    return label


def _content(message: dict[str, Any]) -> tuple[str, str] | None:
    """(kind, text to show) of a message; None when its text is not a string (malformed)."""
    text = message.get("text")
    if text is not None and not isinstance(text, str):
        return None
    attachments = [_dict(a) for a in _list(message.get("attachments"))]
    labels = [_attachment_label(a) for a in attachments]
    if message.get("is_unsupported") is True:
        return "unsupported", text or "[unsupported]"
    if not attachments:
        return "text", text or ""
    first = _str(attachments[0].get("type")) or "attachment"
    if first == "image" and _dict(attachments[0].get("payload")).get("sticker_id") is not None:
        first = "sticker"
    shown = " ".join(labels)
    return first[:40], f"{text} {shown}" if text else shown


def _inbound(channel: str, account_id: str, provider_id: str, sender: str, name: str, kind: str, text: str,
             sent_at: datetime, *, reply_to: str | None = None, public: bool = False) -> InboundMessage:
    # Everything stored is cleaned of NUL and unpaired surrogates, which databases cannot store.
    return InboundMessage(
        channel=channel, account_id=clean_text(account_id), provider_message_id=clean_text(provider_id),
        sender_handle=clean_text(sender), sender_name=clean_text(name[:MAX_NAME_CHARS]), kind=clean_text(kind),
        text=clean_text(text), sent_at=sent_at, reply_to_provider_id=clean_text(reply_to) if reply_to else None,
        public=public,
    )


def _parse_event(channel: str, account_id: str, event: dict[str, Any], out: MetaWebhook) -> None:
    """One `messaging[]` (or `standby[]`) event: a message, a postback or a receipt; the rest is skipped."""
    sender = _id(_dict(event.get("sender")).get("id"))
    recipient = _id(_dict(event.get("recipient")).get("id"))
    account = account_id or recipient or ""
    if "message" in event:
        message = _dict(event.get("message"))
        if message.get("is_echo") is True:
            return  # the page's own message (see the module docstring)
        if message.get("is_deleted") is True:
            return
        mid = _id(message.get("mid"))
        if mid is None or sender is None:
            logger.warning("skipping %s message without mid or sender (or one too long)", channel)
            return
        try:
            sent_at = _meta_time(event.get("timestamp"))
        except ValueError as exc:
            logger.warning("skipping %s message %s: %s", channel, mid, exc)
            return
        content = _content(message)
        if content is None:
            logger.warning("skipping %s message %s: its text is not a string", channel, mid)
            return
        kind, text = content
        reply_to = _id(_dict(message.get("reply_to")).get("mid"))
        # Messaging webhooks carry no name: the customer shows as their id until a comment names them.
        out.batch.messages.append(_inbound(channel, account, mid, sender, "", kind, text, sent_at,
                                           reply_to=reply_to))
    elif "postback" in event:
        postback = _dict(event.get("postback"))
        try:
            sent_at = _meta_time(event.get("timestamp"))
        except ValueError as exc:
            logger.warning("skipping %s postback: %s", channel, exc)
            return
        if sender is None:
            return
        # Older postbacks carry no mid: one per sender and millisecond is as unique as Meta makes them.
        mid = _id(postback.get("mid")) or f"postback:{sender}:{int(sent_at.timestamp() * 1000)}"
        text = _str(postback.get("title")) or _str(postback.get("payload")) or "[postback]"
        out.batch.messages.append(_inbound(channel, account, mid, sender, "", "postback", text, sent_at))
    elif "delivery" in event or "read" in event:
        _parse_receipt(channel, account, sender, event, out)


def _parse_receipt(channel: str, account_id: str, customer: str | None, event: dict[str, Any],
                   out: MetaWebhook) -> None:
    key, status = ("delivery", "delivered") if "delivery" in event else ("read", "read")
    receipt = _dict(event.get(key))
    if customer is None:
        return
    mids = [m for m in (_id(v) for v in _list(receipt.get("mids"))) if m]
    mid = _id(receipt.get("mid"))  # Instagram's read receipt names the message seen
    if mid:
        mids.append(mid)
    when = receipt.get("watermark") if receipt.get("watermark") is not None else event.get("timestamp")
    try:
        at = _meta_time(when)
    except ValueError:
        try:
            at = _meta_time(event.get("timestamp"))
        except ValueError:
            at = datetime.now(UTC)
    if mids:
        for message_id in mids:
            out.batch.statuses.append(DeliveryStatus(channel=channel, provider_message_id=clean_text(message_id),
                                                     status=status, occurred_at=at,
                                                     recipient_handle=clean_text(customer)))
        return
    if receipt.get("watermark") is None:
        logger.warning("skipping %s %s receipt without mids or watermark", channel, status)
        return
    out.watermarks.append(Watermark(channel=channel, account_id=clean_text(account_id),
                                    customer_handle=clean_text(customer), status=status, watermark=at))


def _parse_change(channel: str, account_id: str, entry_time: Any, change: dict[str, Any],
                  out: MetaWebhook) -> None:
    name = change.get("field")
    value = _dict(change.get("value"))
    if channel == MESSENGER and name == "feed":
        comment = _feed_comment(account_id, value)
        if comment is not None:
            out.batch.messages.append(comment)
    elif channel == INSTAGRAM and name == "comments":
        comment = _instagram_comment(account_id, entry_time, value)
        if comment is not None:
            out.batch.messages.append(comment)
    elif channel == INSTAGRAM and name == "messages":
        # Instagram's dashboard test deliveries (and some accounts) put a messaging event under `changes`.
        _parse_event(channel, account_id, value, out)


def _feed_comment(page_id: str, value: dict[str, Any]) -> InboundMessage | None:
    if value.get("item") != "comment" or value.get("verb") != "add":
        return None  # edits, removals, hides, reactions and posts (see the module docstring)
    comment_id = _id(value.get("comment_id"))
    author = _dict(value.get("from"))
    sender = _id(author.get("id"))
    if comment_id is None or sender is None:
        logger.warning("skipping page comment without comment_id or author")
        return None
    if sender == page_id:
        return None  # the page's own comment: one of our replies
    try:
        sent_at = _meta_time(value.get("created_time"))
    except ValueError as exc:
        logger.warning("skipping page comment %s: %s", comment_id, exc)
        return None
    text = value.get("message")
    if text is not None and not isinstance(text, str):
        logger.warning("skipping page comment %s: its message is not a string", comment_id)
        return None
    text = text or ""
    for media in ("photo", "video"):
        if _str(value.get(media)):
            text = f"{text} [{media}]" if text else f"[{media}]"
    parent = _id(value.get("parent_id"))
    # A reply to another comment names that comment as its parent; a top-level one names the post.
    reply_to = parent if parent and parent != _id(value.get("post_id")) else None
    return _inbound(MESSENGER, page_id, comment_id, sender, _str(author.get("name")), "comment", text, sent_at,
                    reply_to=reply_to, public=True)


def _instagram_comment(account_id: str, entry_time: Any, value: dict[str, Any]) -> InboundMessage | None:
    comment_id = _id(value.get("id"))
    author = _dict(value.get("from"))
    sender = _id(author.get("id"))
    if comment_id is None or sender is None:
        logger.warning("skipping Instagram comment without id or author")
        return None
    if sender == account_id:
        return None  # the account's own comment: one of our replies
    try:
        sent_at = _meta_time(entry_time)  # the comment value has no time of its own
    except ValueError as exc:
        logger.warning("skipping Instagram comment %s: %s", comment_id, exc)
        return None
    text = value.get("text")
    if text is not None and not isinstance(text, str):
        logger.warning("skipping Instagram comment %s: its text is not a string", comment_id)
        return None
    username = _str(author.get("username"))
    return _inbound(INSTAGRAM, account_id, comment_id, sender, f"@{username}" if username else "", "comment",
                    text or "", sent_at, reply_to=_id(value.get("parent_id")), public=True)


def parse_webhook_payload(raw_body: bytes) -> MetaWebhook:
    """Parses a (verified) Messenger or Instagram webhook; WebhookError(400) for a body that is not one."""
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
    kind = payload.get("object") if isinstance(payload, dict) else None
    channel = OBJECT_CHANNEL.get(kind) if isinstance(kind, str) else None
    if channel is None:
        raise WebhookError(400, "not a page or instagram webhook")
    out = MetaWebhook()
    for entry in _list(payload.get("entry")):
        entry = _dict(entry)
        account_id = _id(entry.get("id")) or ""
        for key in ("messaging", "standby"):
            for event in _list(entry.get(key)):
                _parse_event(channel, account_id, _dict(event), out)
        for change in _list(entry.get("changes")):
            _parse_change(channel, account_id, entry.get("time"), _dict(change), out)
    return out


# -- outbound ---------------------------------------------------------------------------------------------------

class GraphError(ChannelError):
    """A refusal from the Graph API, with its subcode (which tells a closed window from other code-10s)."""

    def __init__(self, kind: ErrorKind, title: str, *, subcode: int | None = None, **kw: Any) -> None:
        super().__init__(kind, title, **kw)
        self.subcode = subcode

    @property
    def outside_window(self) -> bool:
        return self.code == 10 and self.subcode in WINDOW_SUBCODES


class MetaConnector(GraphClient):
    """Talks to one Facebook Page (channel "messenger") or one Instagram professional account ("instagram")."""

    def __init__(
        self,
        *,
        channel: str,
        app_secret: str,
        access_token: str,
        account_id: str,
        api_base: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
    ) -> None:
        if channel not in PLATFORM_NAME:
            raise ValueError(f"channel must be {MESSENGER!r} or {INSTAGRAM!r}")
        self.channel = channel
        self._app_secret = app_secret
        self._access_token = access_token
        self.account_id = account_id
        self.api_base = (api_base or DEFAULT_GRAPH_BASE[channel]).rstrip("/")
        self.api_version = api_version
        self._timeout = timeout
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=timeout)
        scrub_http_logs()

    def __repr__(self) -> str:
        return f"MetaConnector(channel={self.channel!r}, account_id={self.account_id!r}, api_base={self.api_base!r})"

    @property
    def platform(self) -> str:
        return PLATFORM_NAME[self.channel]

    @property
    def messages_url(self) -> str:
        return f"{self.api_base}/{self.api_version}/{self.account_id}/messages"

    def comment_reply_url(self, comment_id: str) -> str:
        edge = "comments" if self.channel == MESSENGER else "replies"
        return f"{self.api_base}/{self.api_version}/{comment_id}/{edge}"

    def verify_signature(self, raw_body: bytes, headers: Mapping[str, str]) -> bool:
        wanted = SIGNATURE_HEADER.lower()
        header_value = next((v for k, v in headers.items() if k.lower() == wanted), None)
        return verify_signature(self._app_secret, raw_body, header_value)

    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> WebhookBatch:
        """The messages and per-message statuses of a signed webhook for this page or account (watermark
        receipts need the server's records: see `parse_webhook_payload`)."""
        if not self.verify_signature(raw_body, headers):
            raise WebhookError(403, "invalid or missing X-Hub-Signature-256")
        batch = parse_webhook_payload(raw_body).batch
        return WebhookBatch(
            messages=[m for m in batch.messages if m.channel == self.channel and m.account_id == self.account_id],
            statuses=[s for s in batch.statuses if s.channel == self.channel],
        )

    async def check(self) -> AccountCheck:
        """A live credentials check ("Test connection"): reads the page (`fields=id,name`) or the Instagram
        account (`fields=id,username`) with the token, then asks Graph's debug_token when the token ends.
        Raises ChannelError: AUTH_EXPIRED for a refused token, BAD_REQUEST for an id Graph does not know with
        this token, PERMISSION for a token without the rights, RETRYABLE when Graph cannot be reached."""
        field = "name" if self.channel == MESSENGER else "username"
        node = await self._get(f"{self.api_base}/{self.api_version}/{self.account_id}", {"fields": f"id,{field}"},
                               what=f"{field} check")
        account_id = _id(node.get("id")) or self.account_id
        value = clean_text(_str(node.get(field)))[:MAX_NAME_CHARS]
        if self.channel == MESSENGER:
            name = value or account_id
        else:
            name = f"@{value}" if value else account_id
        return AccountCheck(account_id=account_id, name=name, token_expires_at=await self._token_expiry())

    async def profile(self, user_id: str) -> CustomerProfile | None:
        """The customer's name (and Instagram username and picture) from the User Profile API, for a PSID or
        IGSID from this connector's webhooks. None when Meta will not show this customer's profile (their
        privacy settings, code 100 / 2018218; an id Graph does not know; Instagram's consent rule, code 230;
        a customer who blocked the page; any other refusal about this user) or has no name in it: keep the id.
        Raises ChannelError like `send`: AUTH_EXPIRED for a refused token, RETRYABLE for rate limits, 5xx,
        timeouts (the connector's) and network failures, PERMISSION for a token without the rights."""
        if not isinstance(user_id, str) or not _USER_ID.fullmatch(user_id):
            return None  # not a page-scoped id: nothing to look up (and nothing to put in a URL)
        try:
            node = await self._get(f"{self.api_base}/{self.api_version}/{user_id}",
                                   {"fields": PROFILE_FIELDS[self.channel]}, what="profile")
        except GraphError as exc:
            if not self._profile_unavailable(exc):
                raise
            logger.info("%s profile not available (code=%s subcode=%s): the customer keeps their id",
                        self.platform, exc.code, exc.subcode)
            return None
        picture = _picture_url(node.get("profile_pic"))
        if self.channel == MESSENGER:
            first, last = clean_display_name(node.get("first_name")), clean_display_name(node.get("last_name"))
            name = clean_display_name(f"{first} {last}")
            return CustomerProfile(name=name, picture_url=picture) if name else None
        username = clean_display_name(_str(node.get("username")).lstrip("@"))
        name = clean_display_name(node.get("name")) or (f"@{username}"[:MAX_PROFILE_NAME_CHARS] if username else "")
        return CustomerProfile(name=name, username=username, picture_url=picture) if name else None

    @staticmethod
    def _profile_unavailable(exc: GraphError) -> bool:
        """A refusal about this user (their profile is not ours to see) rather than about us or Graph."""
        if exc.kind in (ErrorKind.AUTH_EXPIRED, ErrorKind.RETRYABLE, ErrorKind.PERMISSION):
            return False  # the token, Graph's limits or the app's rights: the server should know (and retry)
        if exc.code in (100, USER_CONSENT_CODE) or exc.kind == ErrorKind.UNDELIVERABLE:
            return True
        return 400 <= (exc.http_status or 0) < 500  # any other Graph refusal of this read is about the user

    async def poll(self, cursor: Any) -> tuple[WebhookBatch, Any]:
        # Messenger and Instagram push webhooks; the Conversations API backfill is not used.
        return WebhookBatch(), cursor

    async def send(self, outbound: OutboundText) -> SendResult:
        text = outbound.text
        if not text.strip():
            raise ChannelError(ErrorKind.BAD_REQUEST, "empty message")
        if outbound.public:
            return await self._reply_to_comment(outbound)
        limit = MAX_TEXT_CHARS[self.channel]
        if len(text) > limit:
            raise ChannelError(ErrorKind.BAD_REQUEST, "message too long",
                               details=f"{len(text)} characters; {self.platform} allows {limit}")
        if outbound.reply_to_provider_id:
            # The one private message a public comment allows (routes/conversations.py, private-reply).
            body = {"recipient": {"comment_id": outbound.reply_to_provider_id}, "messaging_type": "RESPONSE",
                    "message": {"text": text}}
            return self._sent(await self._post(self.messages_url, body), outbound)
        body = {"recipient": {"id": outbound.recipient_handle}, "messaging_type": "RESPONSE",
                "message": {"text": text}}
        try:
            data = await self._post(self.messages_url, body)
        except GraphError as exc:
            if not exc.outside_window:
                raise
            # More than 24 h since the customer wrote: a person may still answer for 7 days, tagged.
            logger.info("%s: outside the 24 h window; sending with the HUMAN_AGENT tag", self.channel)
            tagged = {**body, "messaging_type": "MESSAGE_TAG", "tag": HUMAN_AGENT}
            try:
                data = await self._post(self.messages_url, tagged)
            except GraphError as late:
                if not late.outside_window:
                    raise
                raise GraphError(
                    ErrorKind.WINDOW_CLOSED,
                    f"the customer last wrote more than 7 days ago: {self.platform} allows no reply until "
                    "they write again",
                    code=late.code, subcode=late.subcode, details=late.title, http_status=late.http_status,
                ) from None
        return self._sent(data, outbound)

    async def _reply_to_comment(self, outbound: OutboundText) -> SendResult:
        comment_id = outbound.reply_to_provider_id
        if not comment_id:
            raise ChannelError(ErrorKind.BAD_REQUEST, "no comment to reply to")
        limit = MAX_COMMENT_CHARS[self.channel]
        if len(outbound.text) > limit:
            raise ChannelError(ErrorKind.BAD_REQUEST, "comment too long",
                               details=f"{len(outbound.text)} characters; {self.platform} allows {limit}")
        data = await self._post(self.comment_reply_url(comment_id), {"message": outbound.text})
        reply_id = data.get("id")
        if not isinstance(reply_id, str) or not reply_id:
            # Accepted but unreadable: not retryable, a retry could comment twice.
            raise ChannelError(ErrorKind.UNKNOWN, "unexpected response", http_status=200)
        return SendResult(provider_message_id=reply_id, recipient_handle=outbound.recipient_handle)

    @staticmethod
    def _sent(data: dict[str, Any], outbound: OutboundText) -> SendResult:
        message_id = data.get("message_id")
        if not isinstance(message_id, str) or not message_id:
            raise ChannelError(ErrorKind.UNKNOWN, "unexpected response", http_status=200)
        recipient = data.get("recipient_id")
        return SendResult(provider_message_id=message_id,
                          recipient_handle=recipient if isinstance(recipient, str) and recipient
                          else outbound.recipient_handle)

    async def _post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._request("POST", url, json=body)

    def _error_from(self, response: httpx.Response) -> ChannelError:
        status = response.status_code
        retry_after = _retry_after(response.headers.get("Retry-After"))
        try:
            error = response.json().get("error")
        except (ValueError, AttributeError, RecursionError):
            error = None
        if not isinstance(error, dict):
            kind = ErrorKind.RETRYABLE if status >= 500 or status == 429 else ErrorKind.UNKNOWN
            logger.warning("%s answered HTTP %s without a Graph error body", self.platform, status)
            return ChannelError(kind, f"HTTP {status}", http_status=status, retry_after=retry_after)
        code = _error_code(error.get("code"))
        subcode = _error_code(error.get("error_subcode"))
        message = _str(error.get("message"))
        title = self._redact(clean_text(_CODE_PREFIX.sub("", message)) or f"HTTP {status}")
        details = self._redact(clean_text(_str(error.get("error_user_msg")) or _str(error.get("error_user_title"))))
        kind = error_kind_for(code, subcode, transient=error.get("is_transient") is True)
        logger.warning("%s refused request: code=%s subcode=%s kind=%s http=%s fbtrace_id=%s", self.platform,
                       code, subcode, kind, status, _str(error.get("fbtrace_id"))[:64])
        return GraphError(kind, title, subcode=subcode, code=code, details=details, http_status=status,
                          retry_after=retry_after)


# -- configuration ----------------------------------------------------------------------------------------------

def _env(env: Mapping[str, str], name: str) -> str:
    return (env.get(name) or "").strip()


def _timeout(env: Mapping[str, str]) -> float:
    raw = _env(env, "WORKSTATION_META_TIMEOUT")
    try:
        value = float(raw) if raw else 10.0
    except ValueError:
        raise ValueError(f"WORKSTATION_META_TIMEOUT must be a number of seconds, not {raw[:20]!r}") from None
    if value <= 0:
        raise ValueError("WORKSTATION_META_TIMEOUT must be positive")
    return value


def _build(channel: str, env: Mapping[str, str], client: httpx.AsyncClient, id_name: str,
           token_name: str) -> MetaConnector | None:
    account_id, token = _env(env, id_name), _env(env, token_name)
    if not account_id or not token:
        return None
    return MetaConnector(
        channel=channel, app_secret=_env(env, "WORKSTATION_META_APP_SECRET"), access_token=token,
        account_id=account_id, client=client, timeout=_timeout(env),
        api_base=_env(env, "WORKSTATION_META_GRAPH_BASE") or None,
        api_version=_env(env, "WORKSTATION_META_GRAPH_VERSION") or DEFAULT_API_VERSION,
    )


def messenger_from_env(env: Mapping[str, str], client: httpx.AsyncClient) -> MetaConnector | None:
    """The Messenger connector for WORKSTATION_MESSENGER_PAGE_ID and WORKSTATION_MESSENGER_PAGE_TOKEN (else
    None). WORKSTATION_META_GRAPH_BASE (default graph.facebook.com), WORKSTATION_META_GRAPH_VERSION (v21.0)
    and WORKSTATION_META_TIMEOUT (seconds, 10) tune both connectors; the app secret is
    WORKSTATION_META_APP_SECRET, as for WhatsApp."""
    return _build(MESSENGER, env, client, "WORKSTATION_MESSENGER_PAGE_ID", "WORKSTATION_MESSENGER_PAGE_TOKEN")


def instagram_from_env(env: Mapping[str, str], client: httpx.AsyncClient) -> MetaConnector | None:
    """The Instagram connector for WORKSTATION_INSTAGRAM_ACCOUNT_ID and WORKSTATION_INSTAGRAM_TOKEN (else
    None); the API base defaults to graph.instagram.com (Instagram API with Instagram Login)."""
    return _build(INSTAGRAM, env, client, "WORKSTATION_INSTAGRAM_ACCOUNT_ID", "WORKSTATION_INSTAGRAM_TOKEN")


def from_env(env: Mapping[str, str], client: httpx.AsyncClient) -> list[MetaConnector]:
    """Whichever of the two connectors is configured."""
    return [c for c in (messenger_from_env(env, client), instagram_from_env(env, client)) if c is not None]


def configured_accounts(env: Mapping[str, str]) -> dict[str, str]:
    """channel → this server's page id / Instagram account id, for the channels configured (webhooks for
    other pages or accounts of the same Meta app are not ours)."""
    found = {MESSENGER: _env(env, "WORKSTATION_MESSENGER_PAGE_ID"),
             INSTAGRAM: _env(env, "WORKSTATION_INSTAGRAM_ACCOUNT_ID")}
    return {channel: account for channel, account in found.items() if account}
