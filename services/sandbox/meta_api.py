"""Emulator of the Graph API's Messenger Platform for one Facebook Page and one Instagram account: the Send API
with its reply windows, comment replies, private replies, signed webhooks to the team server, and faults.

Served beside the WhatsApp emulator under `/meta` (the connectors' API base is `<sandbox>/meta`). What it
reproduces:

- `POST /{version}/{page-id or ig-account-id}/messages` (the Send API). `recipient: {id}` needs
  `messaging_type`: RESPONSE or UPDATE within 24 h of the customer's last message, MESSAGE_TAG with
  `tag: HUMAN_AGENT` within 7 days, anything later `(#10) This message is sent outside of allowed window`
  (code 10, subcode 2018278). Someone who never wrote is `(#100) No matching user found` (subcode 2018001);
  a customer who blocked the page `(#551) This person isn't available right now.`. Text longer than 2,000
  characters (Messenger) or 1,000 (Instagram) is a (#100). `sender_action` (typing_on, typing_off, mark_seen)
  is accepted. 200 → `{recipient_id, message_id}`.
- `recipient: {comment_id}`: the private reply to a comment, once per comment (`(#10900) Activity already
  replied to`) and within 7 days of it (else code 10 / 2018278). It opens no window: the customer has to
  answer it first. 200 → `{recipient_id: <the commenter>, message_id}`.
- `POST /{version}/{comment-id}/comments {message}` (Facebook) and `POST /{version}/{ig-comment-id}/replies
  {message}` (Instagram): a public reply, `{id}` of the new comment (8,000 / 2,200 characters at most).
- `GET /{version}/{page-id}?fields=id,name` and `GET /{version}/{ig-account-id}?fields=id,username` (the
  "Test connection" reads), with that account's token; another node is `Unsupported get request` (100/33), an
  unknown field `(#100) Tried accessing nonexisting field`. `GET /{version}/debug_token?input_token=T` →
  `{data: {app_id, type, application, expires_at (0 = never), is_valid, issued_at, scopes, ...}}`.
- `GET /{version}/{PSID}?fields=first_name,last_name,profile_pic` and `GET /{version}/{IGSID}?fields=name,
  username,profile_pic` (the User Profile API), with the token of the customer's channel, for customers who
  wrote through `/_sandbox/meta/inbound`: the name they were given, split at its first space into first_name
  and last_name on Messenger; on Instagram `username` (the inbound `name`, else "user" + the id's last digits)
  and `name` (the inbound `profile_name`, omitted when there is none, as Graph omits an unset name). A
  customer given `profile_hidden: true` is `(#100) No profile available for this user` (100/2018218); an
  Instagram customer who only commented `(#230) User consent is required to access user profile`; a customer
  who blocked the account, another channel's customer or an id never seen, Graph's `Unsupported get request`
  (100/33). The same GET route serves the account node and debug_token: reads are routed by id (debug_token,
  the account's own id, a known customer, else 100/33), never by a second route.
- Every call needs the account's token (`Authorization: Bearer` or `access_token`): else `(#190)`. A token
  past its end (`/_sandbox/meta/token` sets it; 0 = never) is refused with 190, subcode 463.
  Parameters come as JSON, as a form or in the query string (form and query values JSON-encoded, as Graph
  takes them). Errors are Graph's `{error: {message: "(#code) …", type, code, error_subcode?, fbtrace_id}}`.
- Webhooks to the team server's /webhooks/meta, signed like Meta's (X-Hub-Signature-256 over the exact
  ASCII-escaped bytes), retried a few times when not acknowledged: a customer's message (`messaging[]`,
  millisecond timestamps) or comment (`feed` change for the page, `comments` for Instagram); after each of
  our sends, the echo (`is_echo`), then on Messenger `delivery {mids, watermark}` and `read {watermark}`
  (Instagram: `read {mid}` only; Instagram sends no delivery receipts); after a Facebook comment reply, the
  feed change of the page's own comment.

Sandbox-only routes under /_sandbox/meta: `inbound` (a customer writes or comments), `sent` (every Graph call
attempt, refused ones too; never the token), `reads` (every Graph GET: node, debug_token, profiles; never the
token), `faults` (the next calls answer a Graph error), `block` (a customer blocks the page), `token` (when a
token ends) and `state`.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import logging
import secrets
import time
import unicodedata
from collections import deque
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Coroutine, Literal
from urllib.parse import parse_qsl

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field, model_validator

from services.channels.meta import HUMAN_AGENT, MAX_COMMENT_CHARS, MAX_TEXT_CHARS
from services.channels.whatsapp import SIGNATURE_HEADER, sign
from services.teamserver.hygiene import loads_json

logger = logging.getLogger(__name__)

MESSENGER, INSTAGRAM = "messenger", "instagram"
RESPONSE_WINDOW = 24 * 3600
HUMAN_AGENT_WINDOW = 7 * 24 * 3600
PRIVATE_REPLY_WINDOW = 7 * 24 * 3600
OUTSIDE_WINDOW = 2018278
NO_MATCHING_USER = 2018001
UNAVAILABLE = 1545041
MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG")
SENDER_ACTIONS = ("typing_on", "typing_off", "mark_seen")

# code -> (message without the "(#code) " prefix, default HTTP status); Graph answers 400 for most causes.
ERRORS: dict[int, tuple[str, int]] = {
    1: ("An unknown error occurred", 500),
    2: ("Service temporarily unavailable", 503),
    4: ("Application request limit reached", 400),
    10: ("Application does not have permission for this action", 403),
    17: ("User request limit reached", 400),
    32: ("Page request limit reached", 400),
    100: ("Invalid parameter", 400),
    190: ("Invalid OAuth access token - Cannot parse access token", 401),
    200: ("Permissions error", 403),
    230: ("Permissions disallow message to user", 400),
    368: ("The action attempted has been deemed abusive or is otherwise disallowed", 400),
    551: ("This person isn't available right now.", 400),
    613: ("Calls to this api have exceeded the rate limit.", 400),
    1200: ("Temporary send message failure. Please try again later", 500),
    10900: ("Activity already replied to", 400),
    10903: ("This user can't reply to this activity", 400),
}
OUTSIDE_WINDOW_MESSAGE = ("This message is sent outside of allowed window. Learn more about the new policy here: "
                          "https://developers.facebook.com/docs/messenger-platform/policy-overview")
_TRANSIENT = frozenset({1, 2, 4, 17, 32, 613, 1200})


class GraphError(Exception):
    def __init__(self, code: int, message: str | None = None, *, subcode: int | None = None,
                 http_status: int | None = None) -> None:
        default, default_status = ERRORS.get(code, ("An unknown error occurred", 400))
        self.code = code
        self.message = message or default
        self.subcode = subcode
        self.http_status = http_status or default_status
        super().__init__(f"(#{code}) {self.message}")

    def body(self) -> dict[str, Any]:
        # Graph's session errors (190/463...) are worded without the "(#code)" prefix.
        message = self.message if self.message.startswith("Error validating") else f"(#{self.code}) {self.message}"
        error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.code in _TRANSIENT:
            error["is_transient"] = True
        error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)
        return {"error": error}


def unsupported_object(node_id: str, method: str = "post") -> GraphError:
    return GraphError(100, f"Unsupported {method} request. Object with ID '{node_id[:80]}' does not exist, cannot be "
                           "loaded due to missing permissions, or does not support this operation", subcode=33)


SESSION_EXPIRED = 463
PROFILE_HIDDEN = 2018218
MAX_READS = 10_000
USER_CONSENT_CODE = 230
# Fields of the nodes the "Test connection" reads, and what Graph answers when no `fields` are asked for.
NODE_FIELDS = {
    MESSENGER: (frozenset({"id", "name", "username", "category", "link", "fan_count", "about"}), ("name", "id"),
                "Page"),
    INSTAGRAM: (frozenset({"id", "user_id", "username", "name", "account_type", "profile_picture_url",
                           "followers_count", "media_count"}), ("id",), "User"),
}
# The User Profile API's fields for a customer's node, and what it answers when no `fields` are asked for.
PROFILE_FIELDS = {
    MESSENGER: (frozenset({"id", "name", "first_name", "last_name", "profile_pic", "locale", "timezone", "gender"}),
                ("first_name", "last_name", "profile_pic")),
    INSTAGRAM: (frozenset({"id", "name", "username", "profile_pic", "follower_count", "is_user_follow_business",
                           "is_business_follow_user", "is_verified_user"}), ("name", "profile_pic")),
}
TOKEN_SCOPES = {
    MESSENGER: ("pages_messaging", "pages_show_list", "pages_manage_metadata", "pages_read_engagement",
                "pages_manage_engagement"),
    INSTAGRAM: ("instagram_business_basic", "instagram_business_manage_messages",
                "instagram_business_manage_comments"),
}


def _graph_time(seconds: float) -> str:
    return time.strftime("%A, %d-%b-%y %H:%M:%S UTC", time.gmtime(seconds))


def session_expired(expired_at: float) -> GraphError:
    """What Graph answers a call made with a token past its end (code 190, subcode 463)."""
    error = GraphError(190, subcode=SESSION_EXPIRED)
    error.message = (f"Error validating access token: Session has expired on {_graph_time(expired_at)}. "
                     f"The current time is {_graph_time(time.time())}.")
    return error


@dataclass
class MetaSandboxConfig:
    app_secret: str
    page_id: str
    page_token: str
    instagram_id: str = ""
    instagram_token: str = ""
    webhook_url: str | None = None  # the team server's /webhooks/meta; None = don't post
    # Seconds after accepting a send until its echo, delivery and read webhooks.
    receipt_delays: tuple[float, float, float] = (0.05, 0.4, 1.2)
    echoes: bool = True
    # Messenger's delivery receipt names the messages (`mids`); False sends the watermark alone, as older
    # Messenger clients do.
    delivery_mids: bool = True
    webhook_attempts: int = 6
    webhook_backoff: float = 0.25
    app_id: str = "1543227719081234"
    application: str = "Workstation Sandbox"
    page_name: str = "Workstation Demo"
    instagram_username: str = "workstation_demo"
    # When each token ends (Unix seconds; 0 = never, as a long-lived page token).
    page_token_expires_at: int = 0
    instagram_token_expires_at: int = 0
    post_id: str = ""  # the page post customers comment on (default: one under the page)
    media_id: str = "17895695668004550"  # the Instagram media they comment on


@dataclass
class Comment:
    channel: str
    comment_id: str
    author_id: str
    created: float
    parent: str  # the post or media (or the comment replied to)
    text: str
    private_replied: bool = False


class FaultRequest(BaseModel):
    """The next `count` calls of `edge` ("*": any) answer the Graph error `code` (HTTP `http_status`, or the
    code's usual one); `raw`: a bare 503 page from the load balancer instead of a Graph error."""

    code: int = Field(default=2, ge=1, le=10**7)
    subcode: int | None = Field(default=None, ge=1, le=10**9)
    message: str | None = Field(default=None, max_length=500)
    http_status: int | None = Field(default=None, ge=400, le=599)
    count: int = Field(default=1, ge=1, le=100_000)
    edge: Literal["messages", "comments", "replies", "node", "debug_token", "profile", "*"] = "messages"
    raw: bool = False


class InboundRequest(BaseModel):
    """A customer writes privately (`kind: message`) or comments publicly under the page's post or the
    account's media (`kind: comment`). `timestamp` (Unix seconds) backdates it: a customer who wrote long ago."""

    channel: Literal["messenger", "instagram"] = MESSENGER
    kind: Literal["message", "comment"] = "message"
    sender: str = Field(pattern=r"^[0-9]{5,20}$")
    # The Facebook name (comments, and the User Profile API's on Messenger) or the Instagram username.
    name: str = Field(default="", max_length=256)
    text: str = Field(default="", max_length=8000)
    # What the User Profile API answers for this customer from now on: the name on their profile (Messenger:
    # default `name`; Instagram's display name, next to the username `name`), with no cleaning, so hostile
    # names can be tried; `profile_hidden` true: their privacy settings hide it (100/2018218), false: shown
    # again, absent: unchanged.
    profile_name: str | None = Field(default=None, max_length=1000)
    profile_hidden: bool | None = None
    attachment: Literal["image", "video", "audio", "file", "sticker"] | None = None
    timestamp: float | None = Field(default=None, ge=0)
    reply_to: str | None = Field(default=None, min_length=1, max_length=256)

    @model_validator(mode="after")
    def _something(self) -> InboundRequest:
        if not self.text and self.attachment is None:
            raise ValueError("give `text` or an `attachment`")
        if self.kind == "comment" and self.attachment not in (None, "image", "video"):
            raise ValueError("a comment carries a photo or a video at most")
        return self


@dataclass
class Persona:
    """A customer as the User Profile API knows them."""

    name: str = ""  # Messenger: "First Last"; Instagram: the display name ("" = not set)
    username: str = ""  # Instagram only
    hidden: bool = False
    messaged: bool = False  # wrote privately (Instagram shows a profile only then)


class TokenRequest(BaseModel):
    """When a channel's token ends (Unix seconds; 0 = never); a past moment makes every call fail (190/463)."""

    channel: Literal["messenger", "instagram"] = MESSENGER
    expires_at: int = Field(ge=0, le=2**40)


class BlockRequest(BaseModel):
    channel: Literal["messenger", "instagram"] = MESSENGER
    sender: str = Field(pattern=r"^[0-9]{5,20}$")
    blocked: bool = True


def _mid() -> str:
    # Real mids are opaque base64 blobs ("m_…" on Messenger, "aWdf…" on Instagram).
    return "m_" + base64.urlsafe_b64encode(secrets.token_bytes(48)).decode("ascii").rstrip("=")


def _numeric_id(digits: int = 16) -> str:
    return str(secrets.randbelow(9 * 10 ** (digits - 1)) + 10 ** (digits - 1))


def _json_value(value: Any) -> Any:
    """A form or query parameter: Graph takes structured values JSON-encoded."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(seconds))


class MetaSandbox:
    """The page's and the account's state: who wrote when, the comments, what was sent, faults waiting."""

    def __init__(self, config: MetaSandboxConfig) -> None:
        self.config = config
        self.accounts: dict[str, tuple[str, str]] = {MESSENGER: (config.page_id, config.page_token)}
        if config.instagram_id and config.instagram_token:
            self.accounts[INSTAGRAM] = (config.instagram_id, config.instagram_token)
        self.post_id = config.post_id or f"{config.page_id}_{_numeric_id(15)}"
        self.last_inbound: dict[tuple[str, str], float] = {}  # (channel, customer) -> Unix seconds
        self.comments: dict[str, Comment] = {}
        self.blocked: set[tuple[str, str]] = set()
        self.personas: dict[tuple[str, str], Persona] = {}  # (channel, customer) -> their profile
        self.reads: list[dict[str, Any]] = []  # every Graph GET, refused ones too; never the token
        self.faults: deque[list[Any]] = deque()  # [FaultRequest, left]
        self.sent: list[dict[str, Any]] = []
        self.webhooks = {"acknowledged": 0, "failed_attempts": 0, "given_up": 0}
        # Told (customer id, text) of everything sent to a customer: the traffic generator's customers read it.
        self.on_sent: Callable[[str, str], Awaitable[Any]] | None = None
        # Runs background work (webhooks); the WhatsApp sandbox's, when mounted beside it, so it stops with it.
        self.spawner: Callable[..., Any] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.token_expires_at = {MESSENGER: config.page_token_expires_at, INSTAGRAM: config.instagram_token_expires_at}
        self.token_issued_at = int(time.time())

    # -- background -----------------------------------------------------------------------------------------
    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> None:
        if self.spawner is not None:
            self.spawner(coro, name=name)
            return
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- webhooks -------------------------------------------------------------------------------------------
    async def deliver(self, payload: dict[str, Any]) -> bool:
        """Posts one signed webhook, retrying like Meta does (a few times here, for days there)."""
        url = self.config.webhook_url
        if url is None:
            return False
        # Meta escapes non-ASCII; the signature covers exactly these bytes.
        raw = json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode("ascii")
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(self.config.app_secret, raw)}
        delay = self.config.webhook_backoff
        async with httpx.AsyncClient(timeout=10.0) as client:
            for attempt in range(1, max(1, self.config.webhook_attempts) + 1):
                try:
                    response = await client.post(url, content=raw, headers=headers)
                except httpx.HTTPError as exc:
                    logger.warning("Meta webhook attempt %d to %s failed: %s", attempt, url, type(exc).__name__)
                else:
                    if response.is_success:
                        self.webhooks["acknowledged"] += 1
                        return True
                    logger.warning("Meta webhook attempt %d to %s got HTTP %d", attempt, url, response.status_code)
                self.webhooks["failed_attempts"] += 1
                if attempt < self.config.webhook_attempts:
                    await asyncio.sleep(delay)
                    delay *= 2
        self.webhooks["given_up"] += 1
        return False

    def _entry(self, channel: str, when_ms: int, **content: Any) -> dict[str, Any]:
        account_id = self.accounts[channel][0]
        return {"object": "page" if channel == MESSENGER else "instagram",
                "entry": [{"id": account_id, "time": when_ms, **content}]}

    def _messaging(self, channel: str, event: dict[str, Any]) -> dict[str, Any]:
        return self._entry(channel, int(time.time() * 1000), messaging=[event])

    # -- customers ------------------------------------------------------------------------------------------
    def _account(self, channel: str) -> str:
        if channel not in self.accounts:
            raise LookupError(f"{channel} is not emulated here (no account configured)")
        return self.accounts[channel][0]

    def inbound(self, request: InboundRequest) -> tuple[str, dict[str, Any]]:
        """The id of a customer's new message or comment, and the webhook that announces it."""
        channel, sender = request.channel, request.sender
        account_id = self._account(channel)
        sent_at = time.time() if request.timestamp is None else request.timestamp
        self._remember(request)
        if request.kind == "message":
            mid = _mid()
            message: dict[str, Any] = {"mid": mid}
            if request.text:
                message["text"] = request.text
            if request.attachment is not None:
                kind = "image" if request.attachment == "sticker" else request.attachment
                payload: dict[str, Any] = {"url": f"https://scontent.xx.fbcdn.net/v/{_numeric_id(12)}.jpg"}
                if request.attachment == "sticker":
                    payload["sticker_id"] = 369239263222822
                message["attachments"] = [{"type": kind, "payload": payload}]
            if request.reply_to:
                message["reply_to"] = {"mid": request.reply_to}
            key = (channel, sender)
            self.last_inbound[key] = max(self.last_inbound.get(key, sent_at), sent_at)
            return mid, self._messaging(channel, {"sender": {"id": sender}, "recipient": {"id": account_id},
                                                  "timestamp": int(sent_at * 1000), "message": message})
        if channel == MESSENGER:
            object_id = self.post_id.rpartition("_")[2]
            comment_id = f"{object_id}_{_numeric_id(15)}"
            parent = request.reply_to or self.post_id
            value: dict[str, Any] = {
                "from": {"id": sender, "name": request.name or sender},
                "post": {"status_type": "added_photos", "is_published": True, "updated_time": _iso(sent_at),
                         "permalink_url": f"https://www.facebook.com/{self.config.page_id}/posts/{object_id}",
                         "promotion_status": "inactive", "id": self.post_id},
                "message": request.text, "post_id": self.post_id, "comment_id": comment_id,
                "created_time": int(sent_at), "item": "comment", "parent_id": parent, "verb": "add",
            }
            if request.attachment is not None:
                value[request.attachment if request.attachment == "video" else "photo"] = \
                    f"https://scontent.xx.fbcdn.net/v/{_numeric_id(12)}.jpg"
            self.comments[comment_id] = Comment(channel, comment_id, sender, sent_at, parent, request.text)
            return comment_id, self._entry(channel, int(sent_at), changes=[{"field": "feed", "value": value}])
        comment_id = _numeric_id(17)
        value = {"from": {"id": sender, "username": request.name or f"user{sender[-6:]}"},
                 "media": {"id": self.config.media_id, "media_product_type": "FEED"},
                 "id": comment_id, "text": request.text}
        if request.reply_to:
            value["parent_id"] = request.reply_to
        self.comments[comment_id] = Comment(channel, comment_id, sender, sent_at,
                                            request.reply_to or self.config.media_id, request.text)
        # Instagram's comment value has no time: the entry's (when Meta sent it, i.e. when it was written).
        return comment_id, self._entry(channel, int(sent_at), changes=[{"field": "comments", "value": value}])

    def _remember(self, request: InboundRequest) -> None:
        """What the User Profile API will say of this customer (see InboundRequest)."""
        persona = self.personas.setdefault((request.channel, request.sender), Persona())
        if request.channel == MESSENGER:
            if request.profile_name is not None or request.name:
                persona.name = request.profile_name if request.profile_name is not None else request.name
        else:
            if request.name:
                persona.username = request.name
            elif not persona.username:
                persona.username = f"user{request.sender[-6:]}"  # as the comment webhook names them
            if request.profile_name is not None:
                persona.name = request.profile_name
        if request.profile_hidden is not None:
            persona.hidden = request.profile_hidden
        if request.kind == "message":
            persona.messaged = True

    async def send_inbound(self, channel: str, public: bool, sender: str, name: str, text: str) -> dict[str, Any]:
        """The traffic generator's way in: a customer writes (or comments, `public`) on Messenger or Instagram."""
        # Instagram usernames are ASCII letters, digits, "." and "_": "Marta Gómez" is marta.gomez.
        folded = unicodedata.normalize("NFKD", name.lower().replace(" ", "."))
        username = "".join(c for c in folded if c.isascii() and (c.isalnum() or c in "._"))[:30]
        request = InboundRequest(channel=channel, kind="comment" if public else "message", sender=sender,
                                 name=name if channel == MESSENGER else username, text=text, profile_name=name)
        provider_id, payload = self.inbound(request)
        delivered = await self.deliver(payload)
        return {"id": provider_id} if delivered else {"id": provider_id, "delivered": False}

    # -- the Graph API --------------------------------------------------------------------------------------
    def token_ok(self, channel: str, token: str | None) -> bool:
        expected = self.accounts.get(channel, ("", ""))[1]
        return bool(token and expected) and hmac.compare_digest(token.encode("utf-8"), expected.encode("utf-8"))

    def check_expiry(self, channel: str) -> None:
        expires_at = self.token_expires_at.get(channel, 0)
        if expires_at and expires_at <= time.time():
            raise session_expired(expires_at)

    def _token_channel(self, token: str | None) -> str:
        """The channel whose token this is (after its end: 190/463); any other token is Graph's (#190)."""
        channel = next((c for c in self.accounts if self.token_ok(c, token)), None)
        if channel is None:
            raise GraphError(190)
        self.check_expiry(channel)
        return channel

    def read(self, node_id: str, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        """One Graph GET, routed by id: `debug_token`, the page or Instagram account node (`fields`), a customer
        of the token's channel (the User Profile API), else Graph's unsupported get (100/33)."""
        channel = self._token_channel(token)
        if node_id == "debug_token":
            fault = self._take_fault("debug_token")
            if fault is not None:
                raise _Fault(fault)
            return self._debug_token(params)
        account_id = self.accounts[channel][0]
        if node_id != account_id:
            if (channel, node_id) in self.personas:
                return self._profile(channel, node_id, params)
            raise unsupported_object(node_id, "get")
        known, default, node_type = NODE_FIELDS[channel]
        raw = params.get("fields")
        fields = [f.strip() for f in str(raw).split(",") if f.strip()] if raw else list(default)
        for name in fields:
            if name not in known:
                raise GraphError(100, f"Tried accessing nonexisting field ({name[:60]}) on node type ({node_type})")
        fault = self._take_fault("node")
        if fault is not None:
            raise _Fault(fault)
        if channel == MESSENGER:
            node = {"id": account_id, "name": self.config.page_name, "username": self.config.instagram_username,
                    "category": "Shopping & retail", "link": f"https://www.facebook.com/{account_id}",
                    "fan_count": 1280, "about": ""}
        else:
            node = {"id": account_id, "user_id": account_id, "username": self.config.instagram_username,
                    "name": self.config.page_name, "account_type": "BUSINESS",
                    "profile_picture_url": f"https://scontent.cdninstagram.com/v/{account_id}.jpg",
                    "followers_count": 950, "media_count": 42}
        return {name: node[name] for name in dict.fromkeys(["id", *fields])}

    def _profile(self, channel: str, customer: str, params: dict[str, Any]) -> dict[str, Any]:
        """The User Profile API's answer for a customer of `channel` who wrote (see the module docstring)."""
        known, default = PROFILE_FIELDS[channel]
        raw = params.get("fields")
        fields = [f.strip() for f in str(raw).split(",") if f.strip()] if raw else list(default)
        for name in fields:
            if name not in known:
                raise GraphError(100, f"Tried accessing nonexisting field ({name[:60]}) on node type (User)")
        fault = self._take_fault("profile")
        if fault is not None:
            raise _Fault(fault)
        persona = self.personas[(channel, customer)]
        if (channel, customer) in self.blocked:
            raise unsupported_object(customer, "get")
        if persona.hidden:
            raise GraphError(100, "No profile available for this user", subcode=PROFILE_HIDDEN)
        if channel == INSTAGRAM and not persona.messaged:
            raise GraphError(USER_CONSENT_CODE, "User consent is required to access user profile", http_status=400)
        if channel == MESSENGER:
            first, _, last = persona.name.partition(" ")
            node: dict[str, Any] = {
                "id": customer, "first_name": first, "last_name": last, "name": persona.name,
                "profile_pic": f"https://platform-lookaside.fbsbx.com/platform/profilepic/?psid={customer}"
                               f"&width=1024&ext={int(time.time()) + 3 * 24 * 3600}&hash=AbZ{customer[-6:]}",
                "locale": "es_ES", "timezone": 1, "gender": "",
            }
            if not persona.name:  # a customer the sandbox was given no name for: Graph leaves them out
                for key in ("first_name", "last_name", "name"):
                    node.pop(key)
        else:
            node = {"id": customer, "name": persona.name, "username": persona.username,
                    "profile_pic": f"https://scontent.cdninstagram.com/v/t51.2885-19/{customer}_n.jpg",
                    "follower_count": 120, "is_user_follow_business": True, "is_business_follow_user": False,
                    "is_verified_user": False}
            if not persona.name:
                node.pop("name")  # "can be null if name not set"
        return {name: node[name] for name in dict.fromkeys([*fields, "id"]) if name in node}

    def _debug_token(self, params: dict[str, Any]) -> dict[str, Any]:
        input_token = params.get("input_token")
        if not input_token or not isinstance(input_token, str):
            raise GraphError(100, "The parameter input_token is required")
        channel = next((c for c in self.accounts if self.token_ok(c, input_token)), None)
        if channel is None:
            return {"data": {"error": {"code": 190, "message": "Invalid OAuth access token."}, "is_valid": False,
                             "scopes": []}}
        account_id = self.accounts[channel][0]
        expires_at = int(self.token_expires_at.get(channel, 0))
        scopes = TOKEN_SCOPES[channel]
        data: dict[str, Any] = {"app_id": self.config.app_id, "type": "PAGE" if channel == MESSENGER else "USER",
                                "application": self.config.application, "data_access_expires_at": 0,
                                "expires_at": expires_at, "is_valid": not expires_at or expires_at > time.time(),
                                "issued_at": self.token_issued_at}
        if channel == MESSENGER:
            data["profile_id"] = account_id
        data["scopes"] = list(scopes)
        data["granular_scopes"] = [{"scope": scope, "target_ids": [account_id]} for scope in scopes]
        data["user_id"] = "10160000000000001" if channel == MESSENGER else account_id
        return {"data": data}

    def _take_fault(self, edge: str) -> FaultRequest | None:
        for item in self.faults:
            fault, _left = item
            if fault.edge in ("*", edge):
                item[1] -= 1
                if item[1] <= 0:
                    self.faults.remove(item)
                return fault
        return None

    def call(self, node_id: str, edge: str, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        """One Graph call; raises GraphError (or returns a fault marker) like Graph would answer."""
        if edge == "messages":
            channel = next((c for c, (account, _) in self.accounts.items() if account == node_id), None)
            if channel is None:
                raise unsupported_object(node_id)
        elif edge in ("comments", "replies"):
            comment = self.comments.get(node_id)
            channel = MESSENGER if edge == "comments" else INSTAGRAM
            if node_id == self.post_id and edge == "comments":
                comment = Comment(MESSENGER, node_id, self.config.page_id, time.time(), "", "")
            if comment is None or comment.channel != channel:
                raise unsupported_object(node_id)
        else:
            raise GraphError(100, f"Unknown path components: /{edge[:40]}", subcode=2500)
        if not self.token_ok(channel, token):
            raise GraphError(190)
        self.check_expiry(channel)
        fault = self._take_fault(edge)
        if fault is not None:
            raise _Fault(fault)
        if edge == "messages":
            return self._send(channel, params)
        return self._reply_to_comment(channel, node_id, params)

    def _send(self, channel: str, params: dict[str, Any]) -> dict[str, Any]:
        recipient = _json_value(params.get("recipient"))
        if not isinstance(recipient, dict) or not recipient:
            raise GraphError(100, "param recipient must be non-empty.")
        action = params.get("sender_action")
        if action is not None:
            if str(action).lower() not in SENDER_ACTIONS:
                raise GraphError(100, "Param sender_action must be one of {TYPING_ON, TYPING_OFF, MARK_SEEN}")
            customer = str(recipient.get("id", ""))
            if (channel, customer) not in self.last_inbound:
                raise GraphError(100, "No matching user found", subcode=NO_MATCHING_USER)
            return {"recipient_id": customer}
        message = _json_value(params.get("message"))
        text = message.get("text") if isinstance(message, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise GraphError(100, "Param message[text] must be a non-empty UTF-8 encoded string")
        limit = MAX_TEXT_CHARS[channel]
        if len(text) > limit:
            raise GraphError(100, f"Length of param message[text] must be less than or equal to {limit}")
        messaging_type = params.get("messaging_type")
        if "comment_id" in recipient:
            return self._private_reply(channel, str(recipient["comment_id"]), text, messaging_type)
        customer = recipient.get("id")
        if not isinstance(customer, str) or not customer:
            raise GraphError(100, "param recipient[id] must be a non-empty string.")
        if messaging_type is None:
            raise GraphError(100, "The parameter messaging_type is required")
        if messaging_type not in MESSAGING_TYPES:
            raise GraphError(100, "Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}")
        window = RESPONSE_WINDOW
        if messaging_type == "MESSAGE_TAG":
            if params.get("tag") != HUMAN_AGENT:
                raise GraphError(100, "Param tag must be one of {HUMAN_AGENT} in this sandbox")
            window = HUMAN_AGENT_WINDOW
        last = self.last_inbound.get((channel, customer))
        if last is None:
            raise GraphError(100, "No matching user found", subcode=NO_MATCHING_USER)
        if (channel, customer) in self.blocked:
            raise GraphError(551, subcode=UNAVAILABLE)
        if time.time() - last > window:
            raise GraphError(10, OUTSIDE_WINDOW_MESSAGE, subcode=OUTSIDE_WINDOW, http_status=400)
        mid = _mid()
        self._after_send(channel, customer, mid, text)
        return {"recipient_id": customer, "message_id": mid}

    def _private_reply(self, channel: str, comment_id: str, text: str, messaging_type: Any) -> dict[str, Any]:
        if messaging_type is not None and messaging_type not in MESSAGING_TYPES:
            raise GraphError(100, "Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}")
        comment = self.comments.get(comment_id)
        if comment is None or comment.channel != channel:
            raise GraphError(100, "No matching user found", subcode=NO_MATCHING_USER)
        if comment.author_id == self.accounts[channel][0]:
            raise GraphError(10903)
        if comment.private_replied:
            raise GraphError(10900)
        if time.time() - comment.created > PRIVATE_REPLY_WINDOW:
            raise GraphError(10, OUTSIDE_WINDOW_MESSAGE, subcode=OUTSIDE_WINDOW, http_status=400)
        if (channel, comment.author_id) in self.blocked:
            raise GraphError(551, subcode=UNAVAILABLE)
        comment.private_replied = True
        mid = _mid()
        self._after_send(channel, comment.author_id, mid, text)
        return {"recipient_id": comment.author_id, "message_id": mid}

    def _reply_to_comment(self, channel: str, comment_id: str, params: dict[str, Any]) -> dict[str, Any]:
        text = params.get("message")
        if not isinstance(text, str) or not text.strip():
            raise GraphError(100, "The parameter message is required")
        limit = MAX_COMMENT_CHARS[channel]
        if len(text) > limit:
            raise GraphError(100, f"Length of param message must be less than or equal to {limit}")
        account_id = self.accounts[channel][0]
        now = time.time()
        if channel == MESSENGER:
            reply_id = f"{self.post_id.rpartition('_')[2]}_{_numeric_id(15)}"
            self.comments[reply_id] = Comment(channel, reply_id, account_id, now, comment_id, text)
            # Meta tells the page of its own comment, like of any other on its posts.
            value = {"from": {"id": account_id, "name": "Workstation Demo"}, "message": text,
                     "post_id": self.post_id, "comment_id": reply_id, "created_time": int(now), "item": "comment",
                     "parent_id": comment_id, "verb": "add"}
            self.spawn(self.deliver(self._entry(channel, int(now), changes=[{"field": "feed", "value": value}])),
                       name="meta-sandbox-own-comment")
        else:
            reply_id = _numeric_id(17)
            self.comments[reply_id] = Comment(channel, reply_id, account_id, now, comment_id, text)
        author = self.comments[comment_id].author_id if comment_id in self.comments else ""
        self._customer_reads(author, text)
        return {"id": reply_id}

    def _customer_reads(self, customer: str, text: str) -> None:
        if self.on_sent is not None and customer:
            self.spawn(self.on_sent(customer, text), name="meta-sandbox-customer-reads")

    def _after_send(self, channel: str, customer: str, mid: str, text: str) -> None:
        self._customer_reads(customer, text)
        if self.config.webhook_url is not None:
            self.spawn(self._receipts(channel, customer, mid, text, asyncio.get_running_loop().time()),
                       name=f"meta-sandbox-receipts-{mid[-8:]}")

    async def _receipts(self, channel: str, customer: str, mid: str, text: str, accepted_at: float) -> None:
        """The echo of our message, then (Messenger) its delivery and the customer reading it."""
        loop = asyncio.get_running_loop()
        account_id = self.accounts[channel][0]
        echo_delay, delivery_delay, read_delay = self.config.receipt_delays
        if self.config.echoes:
            await asyncio.sleep(max(0.0, accepted_at + echo_delay - loop.time()))
            await self.deliver(self._messaging(channel, {
                "sender": {"id": account_id}, "recipient": {"id": customer}, "timestamp": int(time.time() * 1000),
                "message": {"mid": mid, "is_echo": True, "app_id": int(self.config.app_id), "text": text}}))
        if channel == MESSENGER:
            await asyncio.sleep(max(0.0, accepted_at + delivery_delay - loop.time()))
            delivery: dict[str, Any] = {"watermark": int(time.time() * 1000)}
            if self.config.delivery_mids:
                delivery = {"mids": [mid], **delivery}
            await self.deliver(self._messaging(channel, {"sender": {"id": customer},
                                                         "recipient": {"id": account_id}, "delivery": delivery}))
        await asyncio.sleep(max(0.0, accepted_at + read_delay - loop.time()))
        now_ms = int(time.time() * 1000)
        read = {"watermark": now_ms} if channel == MESSENGER else {"mid": mid}
        await self.deliver(self._messaging(channel, {"sender": {"id": customer}, "recipient": {"id": account_id},
                                                     "timestamp": now_ms, "read": read}))

    def state(self) -> dict[str, Any]:
        return {
            "accounts": {channel: account for channel, (account, _) in self.accounts.items()},
            "post_id": self.post_id,
            "media_id": self.config.media_id,
            "last_inbound": {f"{c}:{u}": t for (c, u), t in self.last_inbound.items()},
            "comments": {cid: {"channel": c.channel, "author_id": c.author_id, "created": c.created,
                               "private_replied": c.private_replied} for cid, c in self.comments.items()},
            "blocked": sorted(f"{c}:{u}" for c, u in self.blocked),
            "profiles": {f"{c}:{u}": {"name": p.name, "username": p.username, "hidden": p.hidden,
                                      "messaged": p.messaged} for (c, u), p in self.personas.items()},
            "faults": sum(left for _, left in self.faults),
            "webhooks": dict(self.webhooks),
        }


class _Fault(Exception):
    def __init__(self, fault: FaultRequest) -> None:
        super().__init__(fault.code)
        self.fault = fault


async def _params(request: Request) -> tuple[dict[str, Any], Any, str | None]:
    """Graph's parameters (query string, then a JSON or form body), the JSON body as sent, and the token
    (Authorization: Bearer, else access_token)."""
    params: dict[str, Any] = dict(request.query_params)
    raw = await request.body()
    body: Any = None
    if raw:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "application/x-www-form-urlencoded":
            params.update(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
        else:
            try:
                body = loads_json(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise GraphError(100, "The request body could not be parsed as JSON") from None
            if not isinstance(body, dict):
                raise GraphError(100, "The request body must be a JSON object")
            params.update(body)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip() if scheme.lower() in ("bearer", "oauth") else None
    access_token = params.pop("access_token", None)
    return params, body, token or (access_token if isinstance(access_token, str) else None)


def api_router(sandbox: MetaSandbox) -> APIRouter:
    router = APIRouter()

    @router.post("/{version}/{node_id}/{edge}", include_in_schema=False)
    async def graph_call(version: str, node_id: str, edge: str, request: Request) -> Response:
        fault_name = None
        params: dict[str, Any] = {}
        body: Any = None
        token_ok = False
        try:
            params, body, token = await _params(request)
            token_ok = any(sandbox.token_ok(c, token) for c in sandbox.accounts)
            status, answer = 200, sandbox.call(node_id, edge, params, token)
        except GraphError as exc:
            status, answer = exc.http_status, exc.body()
        except _Fault as exc:
            fault = exc.fault
            fault_name = f"{fault.code}" + (f"/{fault.subcode}" if fault.subcode else "")
            if fault.raw:
                status, answer = fault.http_status or 503, "upstream connect error or disconnect/reset before headers"
                fault_name = f"raw {status}"
            else:
                error = GraphError(fault.code, fault.message, subcode=fault.subcode, http_status=fault.http_status)
                status, answer = error.http_status, error.body()
        # Every attempt, refused ones too, so tests can count them; the token itself is never kept.
        sandbox.sent.append({"path": request.url.path, "edge": edge, "node_id": node_id, "token_ok": token_ok,
                             "json": body, "params": params, "status_code": status, "response": answer,
                             "fault": fault_name, "at": time.time()})
        if isinstance(answer, str):
            return PlainTextResponse(answer, status_code=status)
        return JSONResponse(answer, status_code=status)

    @router.get("/{version}/{node_id}", include_in_schema=False)
    async def graph_read(version: str, node_id: str, request: Request) -> Response:
        params: dict[str, Any] = {}
        try:
            params, _body, token = await _params(request)
            status, answer = 200, sandbox.read(node_id, params, token)
        except GraphError as exc:
            status, answer = exc.http_status, exc.body()
        except _Fault as exc:
            fault = exc.fault
            if fault.raw:
                status, answer = fault.http_status or 503, "upstream connect error or disconnect/reset before headers"
            else:
                error = GraphError(fault.code, fault.message, subcode=fault.subcode, http_status=fault.http_status)
                status, answer = error.http_status, error.body()
        # `_params` took access_token out of the parameters: the token is never kept. A long demo keeps the last
        # MAX_READS reads.
        if len(sandbox.reads) >= MAX_READS:
            del sandbox.reads[:len(sandbox.reads) - MAX_READS + 1]
        sandbox.reads.append({"path": request.url.path, "node_id": node_id,
                              "params": {k: v for k, v in params.items() if k != "input_token"},
                              "status_code": status, "at": time.time()})
        if isinstance(answer, str):
            return PlainTextResponse(answer, status_code=status)
        return JSONResponse(answer, status_code=status)

    return router


def control_router(sandbox: MetaSandbox) -> APIRouter:
    router = APIRouter(prefix="/_sandbox/meta")

    @router.post("/inbound")
    async def inbound(payload: InboundRequest) -> Response:
        try:
            provider_id, webhook = sandbox.inbound(payload)
        except LookupError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=404)
        delivered = await sandbox.deliver(webhook)
        return JSONResponse({"id": provider_id} if delivered else {"id": provider_id, "delivered": False})

    @router.get("/sent")
    async def sent() -> list[dict[str, Any]]:
        return sandbox.sent

    @router.get("/reads")
    async def reads() -> list[dict[str, Any]]:
        return sandbox.reads

    @router.post("/faults")
    async def add_fault(fault: FaultRequest) -> dict[str, Any]:
        sandbox.faults.append([fault, fault.count])
        return {"pending": sum(left for _, left in sandbox.faults)}

    @router.delete("/faults")
    async def clear_faults() -> dict[str, Any]:
        sandbox.faults.clear()
        return {"pending": 0}

    @router.post("/block")
    async def block(request: BlockRequest) -> dict[str, Any]:
        key = (request.channel, request.sender)
        (sandbox.blocked.add if request.blocked else sandbox.blocked.discard)(key)
        return {"blocked": sorted(f"{c}:{u}" for c, u in sandbox.blocked)}

    @router.post("/token")
    async def set_token(request: TokenRequest) -> dict[str, Any]:
        sandbox.token_expires_at[request.channel] = request.expires_at
        return {"channel": request.channel, "expires_at": request.expires_at}

    @router.get("/state")
    async def state() -> dict[str, Any]:
        return sandbox.state()

    return router


def create_app(config: MetaSandboxConfig) -> FastAPI:
    """The emulator on its own (tests): the Graph API under /meta, control routes under /_sandbox/meta."""
    sandbox = MetaSandbox(config)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        try:
            yield
        finally:
            await sandbox.stop()

    app = FastAPI(title="Messenger Platform sandbox", lifespan=lifespan)
    app.state.meta = sandbox
    app.include_router(control_router(sandbox))
    app.include_router(api_router(sandbox), prefix="/meta")
    return app


def mount(app: FastAPI, config: MetaSandboxConfig, *, prefix: str = "/meta") -> MetaSandbox:
    """Adds the emulator to the sandbox app: the Graph API under `prefix`, its control routes under
    /_sandbox/meta. Beside the WhatsApp emulator, its background work stops with it and its traffic generator
    has some customers write on Messenger and Instagram (and answer satisfaction surveys there)."""
    sandbox = MetaSandbox(config)
    app.state.meta = sandbox
    app.include_router(control_router(sandbox))
    app.include_router(api_router(sandbox), prefix=prefix)
    whatsapp = getattr(app.state, "sandbox", None)
    if whatsapp is not None:
        sandbox.spawner = whatsapp.spawn
        whatsapp.meta_inbound = sandbox.send_inbound

        async def customer_reads(customer: str, text: str) -> None:
            if whatsapp.traffic is not None:
                await whatsapp.traffic.answer_survey(customer, text)

        sandbox.on_sent = customer_reads
    return sandbox
