"""Emulator of the X API v2 endpoints a brand's care team uses: mentions, DM events, replies, DMs, rate limits, faults.

Served beside the WhatsApp emulator under `/x` (a connector's API base is `<sandbox>/x`). What it reproduces:

- `GET /2/users/:id/mentions`: the brand's mentions newest first; `since_id` (only newer), `max_results` (5-100,
  default 10), `pagination_token` (older pages, `next_token` while more remain), `tweet.fields`, `expansions=
  author_id` with `user.fields`. A post's default fields are id, text and edit_history_tweet_ids; its text comes
  HTML-escaped (&amp; &lt; &gt;) as X sends it. An author X cannot return (suspended) leaves a partial `errors[]` in
  the 200; an unknown user id answers 200 with only `errors[]`; an empty page is `{"meta": {"result_count": 0}}`.
- `GET /2/dm_events`: the brand's DM events newest first (its own sends included); `max_results` (1-100, default
  100), `pagination_token`, `event_types`, `dm_event.fields` (default id, event_type, text), `expansions=sender_id`.
  One-to-one conversation ids are `{smaller}-{larger}` user ids.
- `POST /2/tweets` `{text, reply: {in_reply_to_tweet_id}}` → 201 `{data: {id, text}}`; more than 280 characters as
  X counts them → 400 invalid-request "Your Tweet text is too long..."; the same text again to the same author → 403
  duplicate content; a reply to a post it does not know → 403 "deleted or not visible".
- `POST /2/dm_conversations/with/:participant_id/messages` `{text}` (1-10,000 characters) → 201
  `{data: {dm_conversation_id, dm_event_id}}`; a user who never wrote to the brand, or who closed their DMs
  (`/_sandbox/x/dm_closed`), → 403.
- `GET /2/users/me` → `{data: {id, name, username, ...user.fields}}`: the account the token acts for.
- Every answer carries x-rate-limit-limit / -remaining / -reset (epoch seconds) for its endpoint's window (fixed
  windows, X's per-user limits by default: mentions 300, dm_events 300, posts 100, DM sends 200, users/me 75 per
  15 minutes, changeable through `/_sandbox/x/limits`); past the limit → 429 `{title: "Too Many Requests", type:
  "about:blank", status: 429, detail: "Too Many Requests"}` until the reset. A missing, wrong or expired bearer token
  → 401 `{title: "Unauthorized", type: "about:blank", status: 401, detail: "Unauthorized"}`.
- `POST /2/oauth2/token` (form-encoded) `grant_type=refresh_token&refresh_token=...&client_id=...` → 200 `{token_type:
  "bearer", expires_in, access_token, scope, refresh_token}`. Issued access tokens end after `access_token_lifetime`
  (7200 s as X's); refresh tokens rotate: the one used is revoked, and using it again → 400 `{error:
  "invalid_request", error_description: "Value passed for the token was invalid."}`. The client authenticates: a
  confidential one (a `client_secret` is configured) with HTTP Basic client_id:client_secret, a public one with
  `client_id` in the form; a wrong or missing client → 401 `{error: "unauthorized_client", error_description}`. The
  configured token (WORKSTATION_X_TOKEN) stays valid until `/_sandbox/x/oauth` says `expire_access_now`.

Sandbox-only routes under `/_sandbox/x`: `mention` and `dm` (a customer posts or writes), `sent` (every post and DM
attempt), `requests` (every API request: endpoint, status, time), `faults` (the next requests fail: a status with
its problem document, a 429 that uses up the window until `reset_in`, a hang), `limits`, `dm_closed`, `state`, and
`oauth` (POST: the app's client id and secret, the current refresh token, the access-token lifetime, and
`expire_access_now` to end every access token issued so far; GET: that state, the current refresh token included,
for tests). Tokens are never recorded or logged.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import math
import re
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from services.channels.x import MAX_DM_CHARS, MAX_POST_CHARS, post_length
from services.teamserver.hygiene import loads_json

logger = logging.getLogger(__name__)

ENDPOINTS: tuple[str, ...] = ("mentions", "dm_events", "posts", "dm_send", "users_me")
TOKEN_ENDPOINT = "oauth2_token"  # POST /2/oauth2/token: no rate-limit window here
ACCESS_TOKEN_LIFETIME = 7200.0  # X's user access tokens end after two hours
SCOPE = "tweet.read tweet.write users.read dm.read dm.write offline.access"
INVALID_TOKEN = "Value passed for the token was invalid."
BAD_CLIENT = "Missing valid authorization header"
# X's per-user limits (requests per 15 minutes) on these endpoints.
DEFAULT_LIMITS: dict[str, tuple[int, float]] = {
    "mentions": (300, 900.0), "dm_events": (300, 900.0), "posts": (100, 900.0), "dm_send": (200, 900.0),
    "users_me": (75, 900.0)}

_TWEPOCH_MS = 1288834974657
_ID = re.compile(r"[0-9]{1,19}")
TWEET_FIELDS = frozenset({"attachments", "author_id", "context_annotations", "conversation_id", "created_at",
                          "edit_controls", "edit_history_tweet_ids", "entities", "geo", "id", "in_reply_to_user_id",
                          "lang", "public_metrics", "possibly_sensitive", "referenced_tweets", "reply_settings",
                          "source", "text", "withheld", "note_tweet"})
DM_EVENT_FIELDS = frozenset({"id", "text", "event_type", "created_at", "dm_conversation_id", "sender_id",
                             "participant_ids", "referenced_tweets", "attachments"})
USER_FIELDS = frozenset({"created_at", "description", "entities", "id", "location", "name", "pinned_tweet_id",
                         "profile_image_url", "protected", "public_metrics", "url", "username", "verified",
                         "verified_type", "withheld"})
DM_EVENT_TYPES = frozenset({"MessageCreate", "ParticipantsJoin", "ParticipantsLeave"})

INVALID_REQUEST = "https://api.twitter.com/2/problems/invalid-request"
NOT_FOUND = "https://api.twitter.com/2/problems/resource-not-found"
TOO_LONG = ("Your Tweet text is too long. For more information on how Twitter determines text length see "
            "https://github.com/twitter/twitter-text.")
DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
NOT_VISIBLE = "You attempted to reply to a Tweet that is deleted or not visible to you."
DM_REFUSED = "You are not allowed to send DMs to this user."
GENERIC_FORBIDDEN = "You are not permitted to perform this action."
RAW_503 = "upstream connect error or disconnect/reset before headers. reset reason: connection termination"
STATUS_TITLES = {400: "Invalid Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found Error",
                 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
                 503: "Service Unavailable", 504: "Gateway Timeout"}


class XApiError(Exception):
    """An answer other than success: its HTTP status and problem document (or raw text)."""

    def __init__(self, status: int, body: dict[str, Any] | str) -> None:
        super().__init__(f"{status}")
        self.status = status
        self.body = body


def problem(status: int, detail: str | None = None, *, title: str | None = None) -> XApiError:
    """The plain problem document X answers most refusals with."""
    title = title or STATUS_TITLES.get(status, "Error")
    return XApiError(status, {"title": title, "detail": detail or title, "type": "about:blank", "status": status})


def invalid_request(message: str, parameters: dict[str, list[str]] | None = None) -> XApiError:
    """X's 400 for parameters it refuses: errors[] with the reasons, then title, detail and type."""
    return XApiError(400, {"errors": [{"parameters": parameters or {}, "message": message}],
                           "title": "Invalid Request",
                           "detail": "One or more parameters to your request was invalid.",
                           "type": INVALID_REQUEST})


def escape_post(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ts * 1000) % 1000:03d}Z"


def user_id_for(username: str) -> str:
    """A stable user id for a username, so a customer keeps their id across sandbox restarts."""
    digest = hashlib.sha256(username.lower().encode("utf-8")).digest()
    return str(10**15 + int.from_bytes(digest[:6], "big"))


def conversation_id(a: str, b: str) -> str:
    low, high = sorted((a, b), key=int)
    return f"{low}-{high}"


def encode_token(kind: str, oldest_id: str) -> str:
    raw = base64.b32encode(f"{kind}:{oldest_id}".encode("ascii")).decode("ascii").rstrip("=")
    return raw.lower()


def decode_token(kind: str, token: str) -> int | None:
    try:
        padded = token.upper() + "=" * (-len(token) % 8)
        text = base64.b32decode(padded.encode("ascii")).decode("ascii")
    except (ValueError, UnicodeError):
        return None
    got, _, oldest = text.partition(":")
    return int(oldest) if got == kind and _ID.fullmatch(oldest) else None


@dataclass
class Window:
    """One endpoint's fixed rate-limit window."""

    limit: int
    seconds: float
    used: int = 0
    reset: int = 0  # epoch seconds; 0: no window open

    def _roll(self, now: float) -> None:
        if now >= self.reset:
            self.used, self.reset = 0, int(math.ceil(now + self.seconds))

    def take(self, now: float) -> bool:
        self._roll(now)
        if self.used >= self.limit:
            return False
        self.used += 1
        return True

    def exhaust(self, now: float, seconds: float) -> None:
        self.used, self.reset = self.limit, int(math.ceil(now + seconds))

    def headers(self, now: float) -> dict[str, str]:
        if now >= self.reset:
            remaining, reset = self.limit, int(math.ceil(now + self.seconds))
        else:
            remaining, reset = max(0, self.limit - self.used), self.reset
        return {"x-rate-limit-limit": str(self.limit), "x-rate-limit-remaining": str(remaining),
                "x-rate-limit-reset": str(reset)}


@dataclass
class XSandboxConfig:
    token: str
    user_id: str = "1580000000000000001"
    username: str = "workstation_demo"
    name: str = "Workstation Demo"
    limits: dict[str, tuple[int, float]] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    # OAuth 2.0 refresh: the app's client id (None: no app, every refresh is refused), its secret (None: a public
    # client), the refresh token issued with `token` (None: one is made up when a client id is set), and how long
    # issued access tokens last. `token` itself never ends unless told (/_sandbox/x/oauth expire_access_now).
    client_id: str | None = None
    client_secret: str | None = None
    refresh_token: str | None = None
    access_token_lifetime: float = ACCESS_TOKEN_LIFETIME


class FaultRequest(BaseModel):
    """The next `count` requests to `endpoint` ("*": any) fail with `status`: its problem document (`detail` to
    word it), or raw text (`raw`, as a proxy's 5xx). A 429 uses up the endpoint's window until `reset_in` seconds
    from now, so every request before that reset is refused too, as X does. `hang_seconds` delays the answer."""

    endpoint: Literal["mentions", "dm_events", "posts", "dm_send", "users_me", "oauth2_token", "*"] = "*"
    status: int = Field(ge=400, le=599)
    count: int = Field(default=1, ge=1, le=100_000)
    detail: str | None = Field(default=None, max_length=500)
    reset_in: float = Field(default=2.0, ge=0.0, le=3600.0)
    raw: bool = False
    hang_seconds: float = Field(default=0.0, ge=0.0, le=120.0)


@dataclass
class Fault:
    request: FaultRequest
    left: int


class MentionRequest(BaseModel):
    """A customer mentions the brand publicly (the brand's @username is put first when the text lacks it)."""

    username: str = Field(pattern=r"^[A-Za-z0-9_]{1,15}$")
    name: str = Field(min_length=1, max_length=50)
    text: str = Field(min_length=1, max_length=1000)
    user_id: str | None = Field(default=None, pattern=r"^[0-9]{1,19}$")
    suspended: bool = False  # X cannot return the author: a partial error instead of their user


class DmRequest(BaseModel):
    """A customer writes a DM to the brand."""

    username: str = Field(pattern=r"^[A-Za-z0-9_]{1,15}$")
    name: str = Field(min_length=1, max_length=50)
    text: str = Field(min_length=1, max_length=MAX_DM_CHARS)
    user_id: str | None = Field(default=None, pattern=r"^[0-9]{1,19}$")


class LimitRequest(BaseModel):
    endpoint: Literal["mentions", "dm_events", "posts", "dm_send", "users_me"]
    limit: int = Field(ge=1, le=1_000_000)
    window_seconds: float = Field(gt=0, le=24 * 3600)


class DmClosedRequest(BaseModel):
    user_id: str = Field(pattern=r"^[0-9]{1,19}$")
    closed: bool = True


class OAuthRequest(BaseModel):
    """Sets up the token endpoint: fields left out keep their value (`client_secret: null` makes the client
    public). A new `client_id` without a `refresh_token` gets a made-up refresh token if none is current;
    `refresh_token` replaces the current one (revoking it). `expire_access_now` ends every access token so far,
    the configured one included."""

    client_id: str | None = Field(default=None, min_length=1, max_length=200)
    client_secret: str | None = Field(default=None, min_length=1, max_length=200)
    refresh_token: str | None = Field(default=None, min_length=1, max_length=500)
    access_token_lifetime: float | None = Field(default=None, gt=0, le=30 * 24 * 3600)
    expire_access_now: bool = False


def oauth_error(status: int, error: str, description: str) -> XApiError:
    """The token endpoint's refusals: an OAuth 2.0 error document, not a problem document."""
    return XApiError(status, {"error": error, "error_description": description})


def new_token(size: int = 48) -> str:
    """Opaque as X's: url-safe base64 text."""
    return base64.urlsafe_b64encode(secrets.token_bytes(size)).decode("ascii").rstrip("=")


class XSandbox:
    """The brand account's world: its mentions, DM events, posts, windows, and the faults waiting to happen."""

    def __init__(self, config: XSandboxConfig) -> None:
        self.config = config
        self.users: dict[str, dict[str, str]] = {
            config.user_id: {"id": config.user_id, "name": config.name, "username": config.username}}
        self.suspended: set[str] = set()
        self.posts: dict[str, dict[str, Any]] = {}  # every post it knows: mentions and the brand's own
        self.mentions: list[str] = []  # ids of posts mentioning the brand, oldest first
        self.dm_events: list[dict[str, Any]] = []  # oldest first
        self.dm_closed: set[str] = set()
        self.windows = {name: Window(*config.limits.get(name, DEFAULT_LIMITS[name])) for name in ENDPOINTS}
        self.faults: deque[Fault] = deque()
        self.sent: list[dict[str, Any]] = []
        self.requests: deque[dict[str, Any]] = deque(maxlen=20_000)
        self._last_ms = 0
        self._seq = 0
        # OAuth 2.0: every access token known, with when it ends (None: never); the one refresh token that works.
        self.access_tokens: dict[str, float | None] = {config.token: None}
        self.client_id, self.client_secret = config.client_id, config.client_secret
        self.refresh_token: str | None = config.refresh_token or (new_token() if config.client_id else None)
        self.access_token_lifetime = config.access_token_lifetime
        self.refreshes = 0  # refresh tokens used (and so revoked)

    # -- ids and people -------------------------------------------------------------------------------------
    def new_id(self) -> str:
        """A snowflake: milliseconds since X's epoch, then a sequence; always increasing."""
        ms = int(time.time() * 1000)
        if ms <= self._last_ms:
            self._seq += 1
            if self._seq >= 4096:
                self._last_ms, self._seq = self._last_ms + 1, 0
            ms = self._last_ms
        else:
            self._seq = 0
        self._last_ms = ms
        return str(((ms - _TWEPOCH_MS) << 22) | (1 << 12) | self._seq)

    @staticmethod
    def time_of(item_id: str) -> float:
        return ((int(item_id) >> 22) + _TWEPOCH_MS) / 1000

    def user(self, username: str, name: str, user_id: str | None = None) -> dict[str, str]:
        uid = user_id or user_id_for(username)
        self.users[uid] = {"id": uid, "name": name, "username": username}
        return self.users[uid]

    # -- customers ------------------------------------------------------------------------------------------
    def add_mention(self, request: MentionRequest) -> dict[str, Any]:
        author = self.user(request.username, request.name, request.user_id)
        (self.suspended.add if request.suspended else self.suspended.discard)(author["id"])
        text = request.text
        if f"@{self.config.username}".lower() not in text.lower():
            text = f"@{self.config.username} {text}"
        post_id = self.new_id()
        self.posts[post_id] = {"id": post_id, "text": text, "author_id": author["id"], "conversation_id": post_id,
                               "created_at": iso(self.time_of(post_id)), "edit_history_tweet_ids": [post_id]}
        self.mentions.append(post_id)
        return {"id": post_id, "author_id": author["id"], "text": text}

    def add_dm(self, request: DmRequest) -> dict[str, Any]:
        sender = self.user(request.username, request.name, request.user_id)
        return self._dm_event(sender["id"], sender["id"], request.text)

    def _dm_event(self, sender_id: str, customer_id: str, text: str) -> dict[str, Any]:
        event_id = self.new_id()
        event = {"id": event_id, "text": text, "event_type": "MessageCreate",
                 "dm_conversation_id": conversation_id(customer_id, self.config.user_id),
                 "created_at": iso(self.time_of(event_id)), "sender_id": sender_id}
        self.dm_events.append(event)
        return {"dm_event_id": event_id, "dm_conversation_id": event["dm_conversation_id"], "sender_id": sender_id}

    async def send_mention(self, username: str, name: str, text: str) -> dict[str, Any]:
        """The traffic generator's public way in: the customer @`username` mentions the brand."""
        return self.add_mention(MentionRequest(username=username, name=name[:50], text=text))

    async def send_dm(self, username: str, name: str, text: str) -> dict[str, Any]:
        """The traffic generator's private way in: the customer @`username` writes the brand a DM."""
        return self.add_dm(DmRequest(username=username, name=name[:50], text=text))

    # -- reading --------------------------------------------------------------------------------------------
    def me(self, params: dict[str, str]) -> dict[str, Any]:
        """`GET /2/users/me`: the user the token acts for (id, name, username and the `user.fields` asked)."""
        user_fields = self._fields(params, "user.fields", USER_FIELDS)
        self._fields(params, "expansions", frozenset({"pinned_tweet_id", "most_recent_tweet_id"}))
        self._fields(params, "tweet.fields", TWEET_FIELDS)
        brand = self.config.user_id
        user: dict[str, Any] = dict(self.users[brand])
        extra = {"created_at": "2019-03-12T09:41:07.000Z", "description": "", "protected": False, "verified": False,
                 "verified_type": "none", "location": "", "url": "",
                 "profile_image_url": "https://pbs.twimg.com/profile_images/0/default_normal.png",
                 "public_metrics": {"followers_count": 1523, "following_count": 87, "tweet_count": 4410,
                                    "listed_count": 12, "like_count": 310}}
        user.update({k: v for k, v in extra.items() if k in user_fields})
        return {"data": user}

    @staticmethod
    def _fields(params: dict[str, str], name: str, allowed: frozenset[str]) -> set[str]:
        raw = params.get(name)
        if raw is None:
            return set()
        values = [v for v in raw.split(",")]
        bad = [v for v in values if v not in allowed]
        if bad or not raw:
            raise invalid_request(f"The `{name}` query parameter value [{bad[0] if bad else ''}] is not one of "
                                  f"[{','.join(sorted(allowed))}]", {name: [raw]})
        return set(values)

    @staticmethod
    def _max_results(params: dict[str, str], low: int, high: int, default: int) -> int:
        raw = params.get("max_results")
        if raw is None:
            return default
        if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
            raise invalid_request(f"The `max_results` query parameter value [{raw}] is not between {low} and "
                                  f"{high}", {"max_results": [raw]})
        return int(raw)

    @staticmethod
    def _id_param(params: dict[str, str], name: str) -> int | None:
        raw = params.get(name)
        if raw is None:
            return None
        if not _ID.fullmatch(raw):
            raise invalid_request(f"The `{name}` query parameter value [{raw}] does not match ^[0-9]{{1,19}}$",
                                  {name: [raw]})
        return int(raw)

    @staticmethod
    def _token(params: dict[str, str], kind: str) -> int | None:
        raw = params.get("pagination_token")
        if raw is None:
            return None
        oldest = decode_token(kind, raw)
        if oldest is None:
            raise invalid_request(f"The `pagination_token` query parameter value [{raw}] is not valid",
                                  {"pagination_token": [raw]})
        return oldest

    def _includes(self, user_ids: list[str], user_fields: set[str], parameter: str
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        users, errors = [], []
        for uid in dict.fromkeys(user_ids):
            if uid in self.suspended or uid not in self.users:
                errors.append({"value": uid, "detail": f"Could not find user with {parameter}: [{uid}].",
                               "title": "Not Found Error", "resource_type": "user", "parameter": parameter,
                               "resource_id": uid, "type": NOT_FOUND})
                continue
            user = self.users[uid]
            users.append({k: v for k, v in user.items() if k in {"id", "name", "username"} | user_fields})
        return users, errors

    def mentions_page(self, user_id: str, params: dict[str, str]) -> dict[str, Any]:
        page_size = self._max_results(params, 5, 100, 10)
        since = self._id_param(params, "since_id")
        until = self._id_param(params, "until_id")
        older_than = self._token(params, "m")
        tweet_fields = self._fields(params, "tweet.fields", TWEET_FIELDS)
        expansions = self._fields(params, "expansions", frozenset({"author_id", "referenced_tweets.id",
                                                                   "in_reply_to_user_id", "attachments.media_keys"}))
        user_fields = self._fields(params, "user.fields", USER_FIELDS)
        if user_id not in self.users or user_id != self.config.user_id:
            return {"errors": [{"value": user_id, "detail": f"Could not find user with id: [{user_id}].",
                                "title": "Not Found Error", "resource_type": "user", "parameter": "id",
                                "resource_id": user_id, "type": NOT_FOUND}]}
        matching = [pid for pid in reversed(self.mentions)
                    if (since is None or int(pid) > since) and (until is None or int(pid) < until)
                    and (older_than is None or int(pid) < older_than)]
        page = matching[:page_size]
        if not page:
            return {"meta": {"result_count": 0}}
        data = []
        for pid in page:
            post = self.posts[pid]
            item = {"id": pid, "text": escape_post(post["text"]), "edit_history_tweet_ids": [pid]}
            item.update({k: post[k] for k in ("author_id", "conversation_id", "created_at") if k in tweet_fields})
            data.append(item)
        answer: dict[str, Any] = {"data": data}
        if "author_id" in expansions:
            users, errors = self._includes([self.posts[p]["author_id"] for p in page], user_fields, "author_id")
            if users:
                answer["includes"] = {"users": users}
            if errors:
                answer["errors"] = errors
        meta: dict[str, Any] = {"result_count": len(page), "newest_id": page[0], "oldest_id": page[-1]}
        if len(matching) > len(page):
            meta["next_token"] = encode_token("m", page[-1])
        if older_than is not None:
            meta["previous_token"] = encode_token("n", page[0])
        answer["meta"] = meta
        return answer

    def dm_events_page(self, params: dict[str, str]) -> dict[str, Any]:
        page_size = self._max_results(params, 1, 100, 100)
        older_than = self._token(params, "d")
        fields = self._fields(params, "dm_event.fields", DM_EVENT_FIELDS)
        expansions = self._fields(params, "expansions", frozenset({"sender_id", "participant_ids",
                                                                   "referenced_tweets.id", "attachments.media_keys"}))
        user_fields = self._fields(params, "user.fields", USER_FIELDS)
        types = self._fields(params, "event_types", DM_EVENT_TYPES) or set(DM_EVENT_TYPES)
        matching = [e for e in reversed(self.dm_events)
                    if e["event_type"] in types and (older_than is None or int(e["id"]) < older_than)]
        page = matching[:page_size]
        if not page:
            return {"meta": {"result_count": 0}}
        data = [{k: v for k, v in e.items() if k in {"id", "event_type", "text"} | fields} for e in page]
        answer: dict[str, Any] = {"data": data}
        if "sender_id" in expansions:
            users, errors = self._includes([e["sender_id"] for e in page], user_fields, "sender_id")
            if users:
                answer["includes"] = {"users": users}
            if errors:
                answer["errors"] = errors
        meta: dict[str, Any] = {"result_count": len(page)}
        if len(matching) > len(page):
            meta["next_token"] = encode_token("d", page[-1]["id"])
        meta["previous_token"] = encode_token("e", page[0]["id"])
        answer["meta"] = meta
        return answer

    # -- writing --------------------------------------------------------------------------------------------
    def create_post(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid_request("The request body is not a JSON object")
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise invalid_request("Post text must be a non-empty string", {"text": [str(text)[:40]]})
        if post_length(text) > MAX_POST_CHARS:
            raise invalid_request(TOO_LONG, {"text": [text[:40]]})
        reply_author = None
        if "reply" in body:
            reply = body["reply"]
            target = reply.get("in_reply_to_tweet_id") if isinstance(reply, dict) else None
            if not isinstance(target, str) or not _ID.fullmatch(target):
                raise invalid_request("$.reply.in_reply_to_tweet_id: does not match ^[0-9]{1,19}$",
                                      {"reply.in_reply_to_tweet_id": [str(target)[:40]]})
            if target not in self.posts:
                raise problem(403, NOT_VISIBLE)
            reply_author = self.posts[target]["author_id"]
        brand = self.config.user_id
        # X refuses the same text twice from one account; a reply's text starts with the @name it answers.
        if any(p["author_id"] == brand and p["text"] == text and p.get("in_reply_to_user_id") == reply_author
               for p in self.posts.values()):
            raise problem(403, DUPLICATE)
        post_id = self.new_id()
        post = {"id": post_id, "text": text, "author_id": brand, "created_at": iso(self.time_of(post_id)),
                "edit_history_tweet_ids": [post_id], "in_reply_to_user_id": reply_author,
                "conversation_id": self.posts[body["reply"]["in_reply_to_tweet_id"]]["conversation_id"]
                if reply_author else post_id}
        self.posts[post_id] = post
        return {"data": {"id": post_id, "text": text}}

    def send_dm_message(self, participant_id: str, body: Any) -> dict[str, Any]:
        if not _ID.fullmatch(participant_id):
            raise invalid_request(f"The `participant_id` path parameter value [{participant_id}] does not match "
                                  "^[0-9]{1,19}$", {"participant_id": [participant_id]})
        if not isinstance(body, dict):
            raise invalid_request("The request body is not a JSON object")
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise invalid_request("text or attachments must be provided", {"text": [str(text)[:40]]})
        if len(text) > MAX_DM_CHARS:
            raise invalid_request(f"text: size must be between 0 and {MAX_DM_CHARS}", {"text": [text[:40]]})
        if participant_id == self.config.user_id:
            raise invalid_request("You cannot send a Direct Message to yourself", {"participant_id": [participant_id]})
        conversation = conversation_id(participant_id, self.config.user_id)
        wrote_first = any(e["dm_conversation_id"] == conversation and e["sender_id"] == participant_id
                          for e in self.dm_events)
        if participant_id in self.dm_closed or not wrote_first:
            raise problem(403, DM_REFUSED)
        event = self._dm_event(self.config.user_id, participant_id, text)
        return {"data": {"dm_conversation_id": event["dm_conversation_id"], "dm_event_id": event["dm_event_id"]}}

    # -- OAuth 2.0 tokens -----------------------------------------------------------------------------------
    def setup_oauth(self, request: OAuthRequest) -> None:
        given = request.model_fields_set
        if "client_id" in given:
            self.client_id = request.client_id
        if "client_secret" in given:
            self.client_secret = request.client_secret
        if request.access_token_lifetime is not None:
            self.access_token_lifetime = request.access_token_lifetime
        if request.refresh_token is not None:
            self.refresh_token = request.refresh_token
        elif self.client_id and self.refresh_token is None:
            self.refresh_token = new_token()
        if request.expire_access_now:
            now = time.time()
            for token, ends in self.access_tokens.items():
                self.access_tokens[token] = now if ends is None else min(ends, now)

    def oauth_state(self) -> dict[str, Any]:
        now = time.time()
        return {"client_id": self.client_id, "confidential": self.client_secret is not None,
                "refresh_token": self.refresh_token, "access_token_lifetime": self.access_token_lifetime,
                "access_tokens_valid": sum(1 for ends in self.access_tokens.values() if ends is None or ends > now),
                "refreshes": self.refreshes}

    def _client_ok(self, authorization: str | None, form: dict[str, str]) -> bool:
        """A confidential client proves itself with HTTP Basic client_id:client_secret; a public one names its
        client_id in the form. Either way a client_id in the form must be the app's."""
        if not self.client_id:
            return False
        form_id = form.get("client_id")
        if form_id is not None and not hmac.compare_digest(form_id.encode("utf-8"), self.client_id.encode("utf-8")):
            return False
        scheme, _, credentials = (authorization or "").partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
            except (ValueError, UnicodeError):
                return False
            user, sep, password = decoded.partition(":")
            if not sep or self.client_secret is None:
                return False
            return (hmac.compare_digest(user.encode("utf-8"), self.client_id.encode("utf-8"))
                    and hmac.compare_digest(password.encode("utf-8"), self.client_secret.encode("utf-8")))
        return self.client_secret is None and form_id is not None

    def token_grant(self, authorization: str | None, content_type: str, raw: bytes) -> tuple[bool, dict[str, Any]]:
        """`POST /2/oauth2/token`: (whether the client authenticated, the new tokens); refusals raise."""
        form: dict[str, str] = {}
        if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        if not self._client_ok(authorization, form):
            raise oauth_error(401, "unauthorized_client", BAD_CLIENT)
        grant = form.get("grant_type")
        if not grant:
            raise oauth_error(400, "invalid_request", "Missing required parameter [grant_type].")
        if grant == "authorization_code":
            raise oauth_error(400, "invalid_request", "Value passed for the authorization code was invalid.")
        if grant != "refresh_token":
            raise oauth_error(400, "unsupported_grant_type", "Grant type is not supported.")
        presented = form.get("refresh_token")
        if not presented:
            raise oauth_error(400, "invalid_request", "Missing required parameter [refresh_token].")
        if self.refresh_token is None or not hmac.compare_digest(presented.encode("utf-8"),
                                                                 self.refresh_token.encode("utf-8")):
            raise oauth_error(400, "invalid_request", INVALID_TOKEN)
        # Rotation: the refresh token just used is revoked; the new one is the only one that works.
        now = time.time()
        self.refreshes += 1
        self.refresh_token = new_token()
        access = new_token()
        self.access_tokens = {t: ends for t, ends in self.access_tokens.items() if ends is None or ends > now}
        while len(self.access_tokens) >= 1000:
            del self.access_tokens[next(t for t in self.access_tokens if self.access_tokens[t] is not None)]
        self.access_tokens[access] = now + self.access_token_lifetime
        return True, {"token_type": "bearer", "expires_in": int(math.ceil(self.access_token_lifetime)),
                      "access_token": access, "scope": SCOPE, "refresh_token": self.refresh_token}

    async def handle_token(self, request: Request) -> Response:
        now = time.time()
        raw = await request.body()
        client_ok = False
        hang = 0.0
        try:
            fault = self._take_fault(TOKEN_ENDPOINT, explicit=True)
            if fault is not None:
                hang = fault.request.hang_seconds
                if fault.request.raw:
                    raise XApiError(fault.request.status, RAW_503)
                raise problem(fault.request.status, fault.request.detail)
            client_ok, answer = self.token_grant(request.headers.get("authorization"),
                                                 request.headers.get("content-type", ""), raw)
            status = 200
        except XApiError as exc:
            status, answer = exc.status, exc.body
        self.requests.append({"endpoint": TOKEN_ENDPOINT, "method": request.method, "path": request.url.path,
                              "query": {}, "status_code": status, "token_ok": client_ok, "at": now})
        if hang:
            await asyncio.sleep(hang)
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        if isinstance(answer, str):
            return PlainTextResponse(answer, status_code=status, headers=headers)
        return JSONResponse(answer, status_code=status, headers=headers)

    # -- the gate every API request passes ------------------------------------------------------------------
    def token_ok(self, header: str | None) -> bool:
        """A known bearer token that has not ended."""
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        presented = token.strip().encode("utf-8")
        now = time.time()
        for known, ends in self.access_tokens.items():
            if hmac.compare_digest(presented, known.encode("utf-8")):
                return ends is None or now < ends
        return False

    def _take_fault(self, endpoint: str, *, explicit: bool = False) -> Fault | None:
        """The next fault for `endpoint` ("*" ones too, unless `explicit`: the token endpoint takes only its own)."""
        for fault in self.faults:
            if fault.request.endpoint == endpoint or (fault.request.endpoint == "*" and not explicit):
                fault.left -= 1
                if fault.left <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    async def handle(self, endpoint: str, request: Request, work) -> Response:
        """Auth, rate limit, faults, then `work()`; logs the request; every answer carries the window's headers."""
        now = time.time()
        window = self.windows[endpoint]
        token_ok = self.token_ok(request.headers.get("authorization"))
        hang = 0.0
        try:
            if not token_ok:
                raise problem(401)
            fault = self._take_fault(endpoint)
            if fault is not None and fault.request.status == 429:
                window.exhaust(now, fault.request.reset_in)
                fault = None
            if not window.take(now):
                raise problem(429)
            if fault is not None:
                hang = fault.request.hang_seconds
                status = fault.request.status
                if fault.request.raw:
                    raise XApiError(status, RAW_503)
                raise problem(status, fault.request.detail or (GENERIC_FORBIDDEN if status == 403 else None))
            status, answer = await work()
        except XApiError as exc:
            status, answer = exc.status, exc.body
        headers = window.headers(now)
        self.requests.append({"endpoint": endpoint, "method": request.method, "path": request.url.path,
                              "query": dict(request.query_params), "status_code": status, "token_ok": token_ok,
                              "at": now, "remaining": int(headers["x-rate-limit-remaining"]),
                              "reset": int(headers["x-rate-limit-reset"])})
        if endpoint in ("posts", "dm_send"):
            self.sent.append({"endpoint": endpoint, "path": request.url.path, "json": getattr(request.state, "json",
                              None), "status_code": status, "response": answer, "token_ok": token_ok, "at": now})
        if hang:
            await asyncio.sleep(hang)
        if isinstance(answer, str):
            return PlainTextResponse(answer, status_code=status, headers=headers)
        return JSONResponse(answer, status_code=status, headers=headers)


async def _json_body(request: Request) -> Any:
    try:
        body = loads_json(await request.body())
    except ValueError:
        body = None
    request.state.json = body
    return body


def api_router(sandbox: XSandbox) -> APIRouter:
    """The X API itself: `/2/...`."""
    router = APIRouter()

    @router.get("/2/users/{user_id}/mentions", include_in_schema=False)
    async def mentions(user_id: str, request: Request) -> Response:
        async def work() -> tuple[int, Any]:
            return 200, sandbox.mentions_page(user_id, dict(request.query_params))
        return await sandbox.handle("mentions", request, work)

    @router.get("/2/users/me", include_in_schema=False)
    async def users_me(request: Request) -> Response:
        async def work() -> tuple[int, Any]:
            return 200, sandbox.me(dict(request.query_params))
        return await sandbox.handle("users_me", request, work)

    @router.get("/2/dm_events", include_in_schema=False)
    async def dm_events(request: Request) -> Response:
        async def work() -> tuple[int, Any]:
            return 200, sandbox.dm_events_page(dict(request.query_params))
        return await sandbox.handle("dm_events", request, work)

    @router.post("/2/tweets", include_in_schema=False)
    async def tweets(request: Request) -> Response:
        body = await _json_body(request)

        async def work() -> tuple[int, Any]:
            return 201, sandbox.create_post(body)
        return await sandbox.handle("posts", request, work)

    @router.post("/2/oauth2/token", include_in_schema=False)
    async def oauth2_token(request: Request) -> Response:
        return await sandbox.handle_token(request)

    @router.post("/2/dm_conversations/with/{participant_id}/messages", include_in_schema=False)
    async def dm_send(participant_id: str, request: Request) -> Response:
        body = await _json_body(request)

        async def work() -> tuple[int, Any]:
            return 201, sandbox.send_dm_message(participant_id, body)
        return await sandbox.handle("dm_send", request, work)

    return router


def control_router(sandbox: XSandbox) -> APIRouter:
    """Sandbox-only routes: customers posting and writing, what the brand sent, faults and limits."""
    router = APIRouter(prefix="/_sandbox/x")

    @router.post("/mention")
    async def mention(payload: MentionRequest) -> dict[str, Any]:
        return sandbox.add_mention(payload)

    @router.post("/dm")
    async def dm(payload: DmRequest) -> dict[str, Any]:
        return sandbox.add_dm(payload)

    @router.get("/sent")
    async def sent() -> list[dict[str, Any]]:
        return sandbox.sent

    @router.get("/requests")
    async def requests() -> list[dict[str, Any]]:
        return list(sandbox.requests)

    @router.post("/faults")
    async def add_fault(fault: FaultRequest) -> dict[str, Any]:
        sandbox.faults.append(Fault(fault, fault.count))
        return {"pending": sum(f.left for f in sandbox.faults)}

    @router.delete("/faults")
    async def clear_faults() -> dict[str, Any]:
        """Clears the faults and closes every window (the next request opens a fresh one)."""
        sandbox.faults.clear()
        for window in sandbox.windows.values():
            window.used, window.reset = 0, 0
        return {"pending": 0}

    @router.post("/limits")
    async def limits(request: LimitRequest) -> dict[str, Any]:
        window = sandbox.windows[request.endpoint]
        window.limit, window.seconds = request.limit, request.window_seconds
        window.used, window.reset = 0, 0
        return {"endpoint": request.endpoint, "limit": window.limit, "window_seconds": window.seconds}

    @router.post("/dm_closed")
    async def dm_closed(request: DmClosedRequest) -> dict[str, Any]:
        (sandbox.dm_closed.add if request.closed else sandbox.dm_closed.discard)(request.user_id)
        return {"dm_closed": sorted(sandbox.dm_closed)}

    @router.post("/oauth")
    async def oauth(request: OAuthRequest) -> dict[str, Any]:
        sandbox.setup_oauth(request)
        return sandbox.oauth_state()

    @router.get("/oauth")
    async def oauth_state() -> dict[str, Any]:
        return sandbox.oauth_state()

    @router.get("/state")
    async def state() -> dict[str, Any]:
        now = time.time()
        return {"user_id": sandbox.config.user_id, "username": sandbox.config.username,
                "mentions": len(sandbox.mentions), "dm_events": len(sandbox.dm_events),
                "faults": sum(f.left for f in sandbox.faults),
                "windows": {name: {"limit": w.limit, "window_seconds": w.seconds, **w.headers(now)}
                            for name, w in sandbox.windows.items()}}

    return router


def create_app(config: XSandboxConfig) -> FastAPI:
    """The emulator on its own (the X API at the root): tests use it beside a connector."""
    app = FastAPI(title="X API v2 sandbox")
    sandbox = XSandbox(config)
    app.state.x = sandbox
    app.include_router(api_router(sandbox))
    app.include_router(control_router(sandbox))
    return app


def mount(app: FastAPI, config: XSandboxConfig, *, prefix: str = "/x") -> XSandbox:
    """Adds the emulator to the sandbox app: the X API under `prefix`, its control routes under /_sandbox/x. The
    WhatsApp sandbox's traffic generator then has some customers mention the brand or write it DMs here."""
    sandbox = XSandbox(config)
    app.state.x = sandbox
    app.include_router(api_router(sandbox), prefix=prefix)
    app.include_router(control_router(sandbox))
    whatsapp = getattr(app.state, "sandbox", None)
    if whatsapp is not None:
        whatsapp.x_mention = sandbox.send_mention
        whatsapp.x_dm = sandbox.send_dm
    return sandbox
