"""X API v2 connector: the brand's mentions (public) and direct messages (private) polled, answers posted as public
replies or DMs, the rate-limit headers obeyed, and X's problem documents mapped to our error kinds.

Inbound:
- Mentions come from `GET /2/users/:id/mentions` with `since_id` = the newest mention already stored. With more new
  mentions than a page holds, X answers the newest page and a `next_token`; the older pages are walked (one per
  poll) with the same `since_id` before `since_id` moves. The very first poll (no cursor) takes only the newest page
  and does not walk: agents answer what customers say now, not the account's history.
- DMs come from `GET /2/dm_events`, which has no `since_id` and lists newest first: pages are followed with
  `pagination_token` until an event already seen (ids are time-ordered snowflakes). The first poll takes only the
  newest page too. Events the brand sent itself (its replies) and the brand's own posts are skipped.
- A mention is `public=True` (it joins the customer's public X conversation; the answer is a public reply to their
  newest post); a DM is private. Provider ids: a post's id, "dm:" + the DM event's id.

The cursor is this connector's own JSON text: {"mentions_since", "mentions_next", "mentions_newest", "dm_since",
"dm_next", "dm_newest"} (absent keys are null): `*_since` the newest id stored, `*_next` the pagination token while
walking older pages, `*_newest` the newest id of the walk in progress (it becomes `*_since` when the walk ends).

Never hammering X: every answer's x-rate-limit-remaining / x-rate-limit-reset are kept per endpoint. Requests are
spaced so the rest of a window lasts until its reset; an exhausted window (remaining 0, or a 429) is not asked again
before its reset (plus a second, as the reset is in whole seconds and clocks drift). A poll returns the wait until
the next endpoint is due; a failed poll raises the error with that wait as `retry_after`, so the poller waits exactly
that. A send while the window is exhausted fails as retryable with the wait, without reaching X.

Posts are limited to 280 characters counted as X counts them (twitter-text v3: text NFC-normalized; code points in
U+0000-U+10FF, U+2000-U+200D, U+2010-U+201F and U+2032-U+2037 weigh 1, all others 2; an emoji sequence (modifiers,
ZWJ sequences, flags, keycaps) weighs 2 as a whole; a URL with a scheme weighs 23). Bare domains are not recognised
as URLs here, so such a post may count shorter than X counts it: X then refuses it, which maps to BAD_REQUEST too.

The token travels in the Authorization header only. httpx's exceptions carry the request (and so the header): they
are never chained or kept, errors are raised outside the handler, and logs name endpoints, never headers.

Refreshing (OAuth 2.0 with offline.access): X's user access tokens end after two hours (`expires_in` 7200) and its
refresh tokens rotate (each refresh answers a new one and the old one stops working). With a refresh token and the
app's client id the connector refreshes at `POST /2/oauth2/token` (form: grant_type=refresh_token, refresh_token,
client_id; a confidential client also authenticates with HTTP Basic client_id:client_secret): before a call when
the access token is known to end within a minute, and once after a call's 401 (that call is then retried once,
never more). Refreshes are serialized: callers that waited for one use its token. The new tokens go to `on_tokens`
(the server stores them) before anything uses them, so a rotated refresh token survives a restart. A refresh X
refuses is AUTH_EXPIRED "X refused the refresh token: <error>". The refresh token and client secret travel in the
request body and header only, under the same rules as the access token.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Awaitable, Callable, Mapping

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
# Counting as X does lives in the desktop core, shared with the composer's live budget.
from workstation.textcount import X_MAX_POST_CHARS as MAX_POST_CHARS, reply_limit
from workstation.textcount import x_post_length as post_length

logger = logging.getLogger(__name__)

CHANNEL = "x"
DEFAULT_API_BASE = "https://api.x.com"
MAX_DM_CHARS = reply_limit("x")
# X's page size limits: mentions 5-100, dm_events 1-100.
PAGE_SIZE = 100
DEFAULT_POLL_INTERVAL = 15.0
# A second past X's reset, which is given in whole seconds.
RESET_MARGIN = 1.0
MAX_BACKOFF = 300.0
MAX_NAME_CHARS = 256
DM_PREFIX = "dm:"

# Endpoint keys: each has its own rate-limit window at X.
MENTIONS, DM_EVENTS, POSTS, DM_SEND = "mentions", "dm_events", "posts", "dm_send"
POLLED = (MENTIONS, DM_EVENTS)
ME = "users_me"  # GET /2/users/me: the credentials check
TOKEN_PATH = "/2/oauth2/token"  # the OAuth 2.0 token endpoint (refresh_token grant)
# An access token known to end within this many seconds is refreshed before it is used.
REFRESH_AHEAD = 60.0
_OAUTH_ERROR = re.compile(r"[a-z_]{1,40}")

TWEET_FIELDS = "created_at,author_id,conversation_id"
DM_EVENT_FIELDS = "id,text,event_type,dm_conversation_id,created_at,sender_id"
USER_FIELDS = "username,name"

# X ids are snowflakes: up to 19 ASCII digits.
_ID = re.compile(r"[0-9]{1,19}")
_CURSOR_KEYS = ("mentions_since", "mentions_next", "mentions_newest", "dm_since", "dm_next", "dm_newest")
# X's epoch for snowflake ids (ms), to date an event that came without created_at.
_SNOWFLAKE_EPOCH_MS = 1288834974657


# -- small readers ---------------------------------------------------------------------------------------------

def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _id(value: Any) -> str | None:
    return value if isinstance(value, str) and _ID.fullmatch(value) else None


def _id_key(value: str) -> int:
    return int(value)


def newer(a: str | None, b: str | None) -> str | None:
    """The newer (greater) of two ids; None counts as older than any id."""
    if a is None:
        return b
    if b is None:
        return a
    return a if _id_key(a) >= _id_key(b) else b


def _unescape_post(text: str) -> str:
    # X HTML-escapes exactly these three in a post's text; anything else is what the customer typed.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _sent_at(created_at: Any, item_id: str) -> datetime | None:
    if isinstance(created_at, str) and created_at:
        try:
            when = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
        except ValueError:
            when = None
        if when is not None:
            return when if when.tzinfo else when.replace(tzinfo=UTC)
    try:
        ms = (int(item_id) >> 22) + _SNOWFLAKE_EPOCH_MS
        return datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _users(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {u["id"]: u for u in _list(_dict(payload.get("includes")).get("users"))
            if isinstance(u, dict) and isinstance(u.get("id"), str)}


def sender_name(user: dict[str, Any] | None, user_id: str) -> str:
    """"Name (@username)", or what of it X gave (a user it could not return is only their id)."""
    user = user or {}
    name, username = _str(user.get("name")).strip(), _str(user.get("username")).strip()
    if name and username:
        label = f"{name} (@{username})"
    else:
        label = name or (f"@{username}" if username else user_id)
    return clean_text(label)[:MAX_NAME_CHARS]


def _partial_errors(payload: dict[str, Any], what: str) -> list[dict[str, Any]]:
    errors = [e for e in _list(payload.get("errors")) if isinstance(e, dict)]
    for error in errors[:5]:
        logger.info("X %s came with a partial error: %s %s (%s)", what, _str(error.get("title"))[:80],
                    _str(error.get("resource_type"))[:20], _str(error.get("resource_id") or error.get("value"))[:40])
    return errors


# -- parsing pages ---------------------------------------------------------------------------------------------

def parse_mentions(payload: Any, *, account_id: str) -> list[InboundMessage]:
    """The customers' posts in a mentions page (the brand's own posts are skipped), oldest first."""
    payload = _dict(payload)
    users = _users(payload)
    _partial_errors(payload, "mentions page")
    messages = []
    for post in _list(payload.get("data")):
        post = _dict(post)
        post_id, author = _id(post.get("id")), _id(post.get("author_id"))
        if post_id is None or author is None:
            logger.warning("skipping an X mention without a post id or author id")
            continue
        if author == account_id:
            continue  # the brand's own post (a thread of ours that names the account)
        sent_at = _sent_at(post.get("created_at"), post_id)
        if sent_at is None:
            logger.warning("skipping X mention %s: no usable created_at", post_id)
            continue
        messages.append(InboundMessage(
            channel=CHANNEL, account_id=account_id, provider_message_id=post_id, sender_handle=author,
            sender_name=sender_name(users.get(author), author), kind="mention",
            text=clean_text(_unescape_post(_str(post.get("text")))), sent_at=sent_at, public=True,
        ))
    return sorted(messages, key=lambda m: m.sent_at)


def dm_events(payload: Any) -> list[dict[str, Any]]:
    """The page's events with a usable id, as X lists them (newest first)."""
    return [e for e in (_dict(e) for e in _list(_dict(payload).get("data"))) if _id(e.get("id"))]


def parse_dm_event(event: dict[str, Any], users: dict[str, dict[str, Any]], *,
                   account_id: str) -> InboundMessage | None:
    """A customer's DM, or None for what is not one (the brand's own, other event types), logged why."""
    event_id = event["id"]
    if event.get("event_type", "MessageCreate") != "MessageCreate":
        return None
    sender = _id(event.get("sender_id"))
    if sender is None:
        logger.warning("skipping X DM event %s without sender_id", event_id)
        return None
    if sender == account_id:
        return None  # what the brand sent: our own replies
    sent_at = _sent_at(event.get("created_at"), event_id)
    if sent_at is None:
        logger.warning("skipping X DM event %s: no usable created_at", event_id)
        return None
    return InboundMessage(
        channel=CHANNEL, account_id=account_id, provider_message_id=DM_PREFIX + event_id, sender_handle=sender,
        sender_name=sender_name(users.get(sender), sender), kind="text", text=clean_text(_str(event.get("text"))),
        sent_at=sent_at, public=False,
    )


# -- the cursor -----------------------------------------------------------------------------------------------

@dataclass
class Cursor:
    mentions_since: str | None = None
    mentions_next: str | None = None
    mentions_newest: str | None = None
    dm_since: str | None = None
    dm_next: str | None = None
    dm_newest: str | None = None

    @classmethod
    def load(cls, text: str | None) -> Cursor:
        if not text:
            return cls()
        try:
            raw = json.loads(text)
        except ValueError:
            raw = None
        if not isinstance(raw, dict):
            logger.warning("ignoring an X cursor that is not this connector's JSON: %r", text[:60])
            return cls()
        values = {}
        for key in _CURSOR_KEYS:
            value = raw.get(key)
            if key.endswith("_next"):
                values[key] = value if isinstance(value, str) and 0 < len(value) <= 512 else None
            else:
                values[key] = _id(value)
        return cls(**values)

    def dump(self) -> str:
        return json.dumps({k: getattr(self, k) for k in _CURSOR_KEYS if getattr(self, k) is not None},
                          sort_keys=True, separators=(",", ":"))


# -- errors ---------------------------------------------------------------------------------------------------

_UNDELIVERABLE_DM = ("send dms to this user", "send a dm to this user", "send messages to this user",
                     "send direct messages to this user", "cannot send messages", "not allowed to send dm",
                     "not accepting direct messages", "message requests")
_LEGACY_DM_REFUSALS = {150, 151, 349, 476}


def _problem(body: Any) -> tuple[str, str, list[str], set[int]]:
    """(title, detail, the messages of its errors[], legacy codes) of a problem document, whatever its form."""
    body = _dict(body)
    errors = [_dict(e) for e in _list(body.get("errors"))]
    title = _str(body.get("title")) or next((_str(e.get("title")) for e in errors if _str(e.get("title"))), "")
    detail = _str(body.get("detail")) or next((_str(e.get("detail")) for e in errors if _str(e.get("detail"))), "")
    messages = [m for e in errors for m in (_str(e.get("message")), _str(e.get("detail"))) if m]
    codes = {e["code"] for e in errors if isinstance(e.get("code"), int) and not isinstance(e.get("code"), bool)}
    return title, detail, messages, codes


def error_for(http_status: int, body: Any, *, endpoint: str, retry_after: float | None = None) -> ChannelError:
    """Our error for an X refusal: a problem document {title, detail, type, status} or {errors: [...], title,
    detail, type} (or no readable body at all, such as a proxy's page)."""
    title, detail, messages, codes = _problem(body)
    text = " ".join([title, detail, *messages]).lower()
    details = "; ".join(dict.fromkeys(m for m in (detail, *messages) if m))[:500]

    def error(kind: ErrorKind, our_title: str) -> ChannelError:
        return ChannelError(kind, our_title, code=http_status, details=details, http_status=http_status,
                            retry_after=retry_after if kind == ErrorKind.RETRYABLE else None)

    if http_status == 429:
        wait = f"; next try in {retry_after:.0f} s" if retry_after is not None else ""
        return error(ErrorKind.RETRYABLE, "X rate limit" + wait)
    if http_status >= 500:
        return error(ErrorKind.RETRYABLE, "X server error")
    if http_status == 401:
        return error(ErrorKind.AUTH_EXPIRED, "The X token was refused")
    if http_status == 403:
        if "duplicate" in text or 187 in codes:
            return error(ErrorKind.BAD_REQUEST, "X refuses to post the same text twice")
        if endpoint == DM_SEND and (any(p in text for p in _UNDELIVERABLE_DM) or codes & _LEGACY_DM_REFUSALS):
            return error(ErrorKind.UNDELIVERABLE, "The customer does not accept DMs from us")
        if "deleted or not visible" in text or 385 in codes:
            return error(ErrorKind.UNDELIVERABLE, "The post to reply to was deleted or is not visible")
        return error(ErrorKind.PERMISSION, "X refused: " + (detail or title or "forbidden")[:200])
    if http_status == 400:
        if "too long" in text or 186 in codes:
            return error(ErrorKind.BAD_REQUEST, "Post too long" if endpoint == POSTS else "Message too long")
        return error(ErrorKind.BAD_REQUEST, (messages[0] if messages else detail or title or "Bad request")[:200])
    if http_status == 404 and endpoint in (POSTS, DM_SEND):
        return error(ErrorKind.UNDELIVERABLE, "X does not know the recipient or the post")
    return error(ErrorKind.UNKNOWN, (detail or title or f"HTTP {http_status}")[:200])


# -- rate limits ----------------------------------------------------------------------------------------------

@dataclass
class Window:
    """What X last said about one endpoint's rate-limit window, and when we may ask it again."""

    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None  # epoch seconds
    not_before: float = 0.0  # epoch seconds
    failures: int = 0

    def exhausted_until(self, now: float, margin: float) -> float | None:
        """When the window opens again, if it is exhausted now."""
        if self.remaining == 0 and self.reset is not None and self.reset + margin > now:
            return self.reset + margin
        return None


def _header_number(headers: httpx.Headers, name: str) -> float | None:
    raw = (headers.get(name) or "").strip()
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value >= 0 and value == value and value != float("inf") else None


# -- OAuth 2.0 tokens -----------------------------------------------------------------------------------------

@dataclass(frozen=True, repr=False)
class XTokens:
    """The brand's OAuth 2.0 user tokens: the access token, the refresh token that gets the next one (None: not
    refreshable), and when the access token ends (None: unknown). Its repr hides both tokens."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime | None = None

    def __repr__(self) -> str:
        refresh = "'[REDACTED]'" if self.refresh_token else "None"
        when = self.expires_at.isoformat(timespec="seconds") if self.expires_at else None
        return f"XTokens(access_token='[REDACTED]', refresh_token={refresh}, expires_at={when!r})"

    __str__ = __repr__


def _aware(when: datetime | None) -> datetime | None:
    """A naive datetime is taken as UTC."""
    if when is None:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _retrieve(future: asyncio.Future[None]) -> None:
    """Marks a refresh's outcome as seen (its caller may have been cancelled; the error reached the others)."""
    if not future.cancelled():
        future.exception()


# -- the connector --------------------------------------------------------------------------------------------

class XConnector:
    """Talks to X API v2 (or the sandbox) as the brand account: polls its mentions and DMs, sends its answers."""

    channel = CHANNEL

    def __init__(
        self,
        *,
        token: str,
        user_id: str,
        api_base: str = DEFAULT_API_BASE,
        client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        page_size: int = PAGE_SIZE,
        reset_margin: float = RESET_MARGIN,
        max_backoff: float = MAX_BACKOFF,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        refresh_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        token_expires_at: datetime | None = None,
        on_tokens: Callable[[XTokens], Awaitable[None]] | None = None,
    ) -> None:
        if not token:
            raise ValueError("a user-context token is needed")
        if not _id(user_id):
            raise ValueError("the brand account's X user id must be digits")
        self._token = token
        self._refresh_token = refresh_token or None
        self._client_id = client_id or None
        self._client_secret = client_secret or None
        self._expires_at = _aware(token_expires_at)
        # Awaited with the new tokens after each refresh, before they are used (the server stores them).
        self.on_tokens = on_tokens
        self._refresh_lock = asyncio.Lock()
        self._refreshing: asyncio.Future[None] | None = None
        self._refused_refresh: tuple[str, str] | None = None  # (refresh token, X's error): not offered again
        if self._refresh_token and not self._client_id:
            logger.warning("X: a refresh token without the app's client id cannot be used; the access token will "
                           "not be refreshed")
        self.account_id = user_id
        self.api_base = api_base.rstrip("/")
        self._timeout = timeout
        self.poll_interval = max(0.0, poll_interval)
        self.page_size = min(max(page_size, 5), 100)
        self.reset_margin = reset_margin
        self.max_backoff = max_backoff
        self._clock = clock
        self._rng = rng or random.Random()
        self.windows: dict[str, Window] = {key: Window() for key in (MENTIONS, DM_EVENTS, POSTS, DM_SEND, ME)}
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=timeout)

    def __repr__(self) -> str:
        return f"XConnector(account={self.account_id!r}, api_base={self.api_base!r})"

    # -- tokens ---------------------------------------------------------------------------------------------

    @property
    def token_expires_at(self) -> datetime | None:
        """When the access token ends, if known (from a refresh's expires_in, or as given)."""
        return self._expires_at

    @property
    def can_refresh(self) -> bool:
        return bool(self._refresh_token and self._client_id)

    def set_tokens(self, tokens: XTokens) -> None:
        """Installs tokens stored earlier (the server's copy of the last refresh). A None refresh token keeps the
        current one."""
        if not tokens.access_token:
            raise ValueError("an access token is needed")
        self._token = tokens.access_token
        if tokens.refresh_token:
            self._refresh_token = tokens.refresh_token
        self._expires_at = _aware(tokens.expires_at)

    def _ending(self) -> bool:
        return self._expires_at is not None and self._expires_at.timestamp() - self._clock() < REFRESH_AHEAD

    async def _current_token(self) -> tuple[str, bool]:
        """The access token to use now, and whether it was just refreshed: one known to end within a minute is
        refreshed first (when it can be)."""
        token = self._token
        if not (self._ending() and self.can_refresh):
            return token, False
        try:
            return await self._refresh(token, ahead=True), True
        except ChannelError as exc:
            assert self._expires_at is not None
            if self._expires_at.timestamp() <= self._clock():
                raise
            failure = exc
        # Not ended yet: the call may still go through with the current token.
        logger.warning("X: refreshing ahead failed (%s); using the access token while it lasts", failure.kind)
        return self._token, False

    async def _refresh(self, stale: str, *, ahead: bool = False) -> str:
        """The access token after `stale`: refreshed here, or by whoever held the lock before us."""
        async with self._refresh_lock:
            if self._refreshing is not None and not self._refreshing.done():
                # A caller cancelled while refreshing left its exchange running: wait for its tokens (its failure
                # was that caller's; what it changed is looked at below).
                try:
                    await asyncio.shield(self._refreshing)
                except ChannelError:
                    pass
            if self._token != stale and not (ahead and self._ending()):
                return self._token  # refreshed (or installed) while we waited
            if ahead and not self._ending():
                return self._token
            # Shielded: once X has rotated the refresh token, the new one must reach on_tokens and this
            # connector even if the caller is cancelled.
            self._refreshing = asyncio.ensure_future(self._exchange())
            self._refreshing.add_done_callback(_retrieve)
            await asyncio.shield(self._refreshing)
            return self._token

    async def _exchange(self) -> None:
        """One refresh_token grant at X; on success the new tokens go to on_tokens, then into use."""
        refresh_token, client_id = self._refresh_token, self._client_id
        if not refresh_token or not client_id:
            raise ChannelError(ErrorKind.AUTH_EXPIRED, "The X token ended and cannot be refreshed")
        if self._refused_refresh is not None and self._refused_refresh[0] == refresh_token:
            # X said no to this refresh token already: asking again cannot help (new settings bring a new one).
            raise ChannelError(ErrorKind.AUTH_EXPIRED, f"X refused the refresh token: {self._refused_refresh[1]}")
        secrets = [s for s in (self._token, refresh_token, self._client_secret) if s]
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        if self._client_secret:
            basic = base64.b64encode(f"{client_id}:{self._client_secret}".encode("utf-8")).decode("ascii")
            headers["Authorization"] = f"Basic {basic}"
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
        started = self._clock()
        failure: ChannelError | None = None
        response: httpx.Response | None = None
        # As in _call: httpx's exceptions carry the request (its body holds the refresh token), never kept.
        try:
            response = await self._client.post(self.api_base + TOKEN_PATH, data=form, headers=headers,
                                               timeout=self._timeout)
        except httpx.TimeoutException as exc:
            logger.warning("X token refresh timed out (%s)", type(exc).__name__)
            failure = ChannelError(ErrorKind.RETRYABLE, "X did not answer the token refresh in time")
        except httpx.HTTPError as exc:
            logger.warning("X token refresh failed: %s", type(exc).__name__)
            failure = ChannelError(ErrorKind.RETRYABLE, "Connection to X failed (token refresh)")
        except httpx.InvalidURL:
            failure = ChannelError(ErrorKind.PERMISSION, "The X API address is not valid")
        if failure is not None:
            raise failure
        assert response is not None
        try:
            payload = loads_json(response.content)
        except (ValueError, JsonTooDeep, RecursionError):
            payload = None
        body = _dict(payload)
        status = response.status_code
        if not response.is_success:
            raise self._refresh_error(status, body, refresh_token, secrets)
        access, rotated = _str(body.get("access_token")), _str(body.get("refresh_token"))
        if not access or _str(body.get("token_type")).lower() not in ("bearer", ""):
            logger.warning("X token refresh: an answer without a bearer access token (http=%s)", status)
            raise ChannelError(ErrorKind.UNKNOWN, "Unexpected answer from X to the token refresh", http_status=status)
        expires_in = body.get("expires_in")
        expires_at = None
        if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool) and 0 <= expires_in < 10**9:
            expires_at = datetime.fromtimestamp(started + expires_in, tz=UTC)
        tokens = XTokens(access_token=access, refresh_token=rotated or refresh_token, expires_at=expires_at)
        logger.info("X refreshed the access token%s%s",
                    f"; it ends at {expires_at.isoformat(timespec='seconds')}" if expires_at else "",
                    "" if rotated else " (X kept the refresh token)")
        if self.on_tokens is not None:
            try:
                await self.on_tokens(tokens)
            except Exception as exc:  # noqa: BLE001 - storing failed; the tokens still work in this process
                logger.error("X: storing the refreshed tokens failed (%s); they are used anyway",
                             type(exc).__name__)
        self._token, self._refresh_token, self._expires_at = tokens.access_token, tokens.refresh_token, expires_at

    def _refresh_error(self, status: int, body: dict[str, Any], refresh_token: str,
                       secrets: list[str]) -> ChannelError:
        code = _str(body.get("error"))
        code = code if _OAUTH_ERROR.fullmatch(code) else ""
        description = _str(body.get("error_description"))[:200]
        for secret in secrets:
            description = description.replace(secret, "[REDACTED]")
        logger.warning("X refused the token refresh: http=%s error=%s", status, code or "-")
        if status == 429 or status >= 500:
            return ChannelError(ErrorKind.RETRYABLE, f"X could not refresh the token (HTTP {status})", code=status,
                                details=description, http_status=status)
        if status in (400, 401, 403):
            self._refused_refresh = (refresh_token, code or "refused")
            return ChannelError(ErrorKind.AUTH_EXPIRED, f"X refused the refresh token: {code or 'refused'}",
                                code=status, details=description, http_status=status)
        return ChannelError(ErrorKind.UNKNOWN, f"Unexpected answer from X to the token refresh (HTTP {status})",
                            code=status, details=description, http_status=status)

    # The shape every connector shares. X's Account Activity webhooks are not used: this connector polls.
    def verify_signature(self, raw_body: bytes, headers: Mapping[str, str]) -> bool:
        return False

    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> WebhookBatch:
        raise WebhookError(404, "X is polled; there is no X webhook here")

    # -- polling --------------------------------------------------------------------------------------------

    async def poll(self, cursor: str | None) -> PollResult:
        """One round: each endpoint that is due (its pacing and rate-limit window allow it) is asked for one page."""
        state = Cursor.load(cursor)
        before = state.dump()
        batch = WebhookBatch()
        errors: list[ChannelError] = []
        steps: dict[str, Callable[[Cursor, WebhookBatch], Awaitable[bool]]] = {
            MENTIONS: self._poll_mentions, DM_EVENTS: self._poll_dms}
        for endpoint in POLLED:
            if self.windows[endpoint].not_before > self._clock():
                continue
            try:
                more = await steps[endpoint](state, batch)
            except ChannelError as exc:
                self._failed(endpoint, exc)
                errors.append(exc)
            else:
                self._succeeded(endpoint, more)
        new_cursor = state.dump()
        wait = max(0.0, min(self.windows[e].not_before for e in POLLED) - self._clock())
        if errors and not batch.messages and new_cursor == before:
            # Nothing to store: the poller records the error, and waits what this connector computed.
            worst = next((e for e in errors if e.kind != ErrorKind.RETRYABLE), errors[0])
            raise ChannelError(worst.kind, worst.title, code=worst.code, details=worst.details,
                               http_status=worst.http_status, retry_after=wait)
        for exc in errors:
            logger.warning("X: one endpoint failed (%s: %s) while the other had news; it is retried later",
                           exc.kind, exc.title)
        batch.messages.sort(key=lambda m: m.sent_at)
        return PollResult(batch, cursor=new_cursor, wait=wait, errors=tuple(errors))

    async def _poll_mentions(self, state: Cursor, batch: WebhookBatch) -> bool:
        params: dict[str, Any] = {"max_results": self.page_size, "tweet.fields": TWEET_FIELDS,
                                  "expansions": "author_id", "user.fields": USER_FIELDS}
        if state.mentions_since:
            params["since_id"] = state.mentions_since
        walking = state.mentions_next is not None and state.mentions_since is not None
        if walking:
            params["pagination_token"] = state.mentions_next
        try:
            payload = await self._call(MENTIONS, "GET", f"/2/users/{self.account_id}/mentions", params=params)
        except ChannelError as exc:
            if walking and exc.kind == ErrorKind.BAD_REQUEST:
                # A pagination token X no longer takes: walk again from the newest page (stored ones are skipped).
                logger.warning("X mentions: the pagination token was refused; walking again from the newest page")
                state.mentions_next = state.mentions_newest = None
                return True
            raise
        self._check_account(payload)
        batch.messages.extend(parse_mentions(payload, account_id=self.account_id))
        meta = _dict(payload.get("meta"))
        page_newest = _id(meta.get("newest_id")) or max(
            (p["id"] for p in (_dict(p) for p in _list(payload.get("data"))) if _id(p.get("id"))),
            key=_id_key, default=None)
        next_token = _str(meta.get("next_token")) or None
        if state.mentions_since is None:
            # First run: only the newest page.
            state.mentions_since, state.mentions_next, state.mentions_newest = page_newest, None, None
            return False
        walk_newest = newer(state.mentions_newest, page_newest) if walking else page_newest
        if next_token:
            state.mentions_next, state.mentions_newest = next_token, walk_newest
            return True
        state.mentions_since = newer(state.mentions_since, walk_newest)
        state.mentions_next = state.mentions_newest = None
        return False

    async def _poll_dms(self, state: Cursor, batch: WebhookBatch) -> bool:
        params: dict[str, Any] = {"dm_event.fields": DM_EVENT_FIELDS, "event_types": "MessageCreate",
                                  "expansions": "sender_id", "user.fields": USER_FIELDS,
                                  "max_results": self.page_size}
        walking = state.dm_next is not None and state.dm_since is not None
        if walking:
            params["pagination_token"] = state.dm_next
        try:
            payload = await self._call(DM_EVENTS, "GET", "/2/dm_events", params=params)
        except ChannelError as exc:
            if walking and exc.kind == ErrorKind.BAD_REQUEST:
                logger.warning("X DMs: the pagination token was refused; walking again from the newest page")
                state.dm_next = state.dm_newest = None
                return True
            raise
        _partial_errors(payload, "DM page")
        users = _users(payload)
        events = dm_events(payload)
        since = state.dm_since
        reached_seen = False
        page_newest: str | None = None
        for event in events:
            page_newest = newer(page_newest, event["id"])
            if since is not None and _id_key(event["id"]) <= _id_key(since):
                reached_seen = True
                continue
            message = parse_dm_event(event, users, account_id=self.account_id)
            if message is not None:
                batch.messages.append(message)
        next_token = _str(_dict(payload.get("meta")).get("next_token")) or None
        if since is None:
            # First run: only the newest page. With no DM at all, every later one is new ("0").
            state.dm_since, state.dm_next, state.dm_newest = page_newest or "0", None, None
            return False
        walk_newest = newer(state.dm_newest, page_newest) if walking else page_newest
        if next_token and not reached_seen:
            state.dm_next, state.dm_newest = next_token, walk_newest
            return True
        state.dm_since = newer(since, walk_newest)
        state.dm_next = state.dm_newest = None
        return False

    def _check_account(self, payload: dict[str, Any]) -> None:
        """A 200 without data whose errors say the brand account itself is unknown is a setup error."""
        if "data" in payload:
            return
        for error in _list(payload.get("errors")):
            error = _dict(error)
            if error.get("resource_type") == "user" and self.account_id in (error.get("resource_id"),
                                                                              error.get("value")):
                raise ChannelError(ErrorKind.PERMISSION, "X does not know the configured account",
                                   details=_str(error.get("detail"))[:200], http_status=200)

    def _succeeded(self, endpoint: str, more: bool) -> None:
        window = self.windows[endpoint]
        window.failures = 0
        now = self._clock()
        gap = 0.0 if more else self.poll_interval
        window.not_before = max(now + max(gap, self._pace(window, now)), window.not_before)

    def _failed(self, endpoint: str, exc: ChannelError) -> None:
        window = self.windows[endpoint]
        now = self._clock()
        if exc.retry_after is not None:
            window.not_before = max(window.not_before, now + exc.retry_after)
            return
        window.failures += 1
        delay = min(self.max_backoff, max(self.poll_interval, 1.0) * 2 ** min(window.failures - 1, 16))
        window.not_before = max(window.not_before, now + delay * self._rng.uniform(0.5, 1.0))

    def _pace(self, window: Window, now: float) -> float:
        """The gap that makes the rest of the window last until its reset (X forgives nothing before it)."""
        if window.remaining is None or window.reset is None:
            return 0.0
        until_reset = window.reset + self.reset_margin - now
        if until_reset <= 0:
            return 0.0
        if window.remaining == 0:
            return until_reset
        return until_reset / window.remaining

    # -- the credentials check ------------------------------------------------------------------------------

    async def check(self) -> AccountCheck:
        """A live credentials check ("Test connection"): GET /2/users/me with the user token (refreshed as any
        call's). A refused token is AUTH_EXPIRED; a token of another account than the configured user id is
        BAD_REQUEST. The access token's end is reported when known (a refresh's expires_in, or as given); X does
        not say it otherwise."""
        payload = await self._call(ME, "GET", "/2/users/me", params={"user.fields": USER_FIELDS})
        user = _dict(payload.get("data"))
        user_id = _id(user.get("id"))
        if user_id is None:
            raise ChannelError(ErrorKind.UNKNOWN, "Unexpected answer from X users/me", http_status=200)
        username = clean_text(_str(user.get("username")))[:MAX_NAME_CHARS]
        if user_id != self.account_id:
            raise ChannelError(ErrorKind.BAD_REQUEST,
                               f"the token belongs to another X account (@{username or user_id}), "
                               f"not user {self.account_id}", http_status=200)
        return AccountCheck(account_id=user_id, name=f"@{username}" if username else user_id,
                            token_expires_at=self._expires_at)

    # -- sending --------------------------------------------------------------------------------------------

    async def send(self, outbound: OutboundText) -> SendResult:
        text = outbound.text
        if not text.strip():
            raise ChannelError(ErrorKind.BAD_REQUEST, "Empty message")
        if outbound.public:
            return await self._reply_publicly(outbound)
        if len(text) > MAX_DM_CHARS:
            raise ChannelError(ErrorKind.BAD_REQUEST, "Message too long",
                               details=f"{len(text)} characters; X allows {MAX_DM_CHARS} in a DM")
        recipient = outbound.recipient_handle
        if not _id(recipient):
            raise ChannelError(ErrorKind.BAD_REQUEST, "Not an X user id", details=(recipient or "")[:40])
        if recipient == self.account_id:
            raise ChannelError(ErrorKind.BAD_REQUEST, "The brand cannot DM itself")
        payload = await self._call(DM_SEND, "POST", f"/2/dm_conversations/with/{recipient}/messages",
                                   json_body={"text": text})
        event_id = _id(_dict(payload.get("data")).get("dm_event_id"))
        if event_id is None:
            # X took it but the answer is unreadable: not retryable, a retry could send it twice.
            raise ChannelError(ErrorKind.UNKNOWN, "Unexpected answer to a DM", http_status=201)
        return SendResult(provider_message_id=DM_PREFIX + event_id, recipient_handle=recipient)

    async def _reply_publicly(self, outbound: OutboundText) -> SendResult:
        length = post_length(outbound.text)
        if length > MAX_POST_CHARS:
            raise ChannelError(ErrorKind.BAD_REQUEST, "Post too long",
                               details=f"{length} characters as X counts them; X allows {MAX_POST_CHARS}")
        reply_to = outbound.reply_to_provider_id
        if not reply_to or not _id(reply_to):
            raise ChannelError(ErrorKind.BAD_REQUEST, "nothing to reply to",
                               details="a public answer replies to the customer's newest post")
        payload = await self._call(POSTS, "POST", "/2/tweets",
                                   json_body={"text": outbound.text, "reply": {"in_reply_to_tweet_id": reply_to}})
        post_id = _id(_dict(payload.get("data")).get("id"))
        if post_id is None:
            raise ChannelError(ErrorKind.UNKNOWN, "Unexpected answer to a post", http_status=201)
        return SendResult(provider_message_id=post_id, recipient_handle=outbound.recipient_handle)

    # -- HTTP -----------------------------------------------------------------------------------------------

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> XConnector:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _redact(self, text: str, token: str | None = None) -> str:
        for secret in (token, self._token, self._refresh_token, self._client_secret):
            if secret and secret in text:
                text = text.replace(secret, "[REDACTED]")
        return text

    async def _call(self, endpoint: str, method: str, path: str, *, params: dict[str, Any] | None = None,
                    json_body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One API call with a fresh access token: refreshed ahead when it ends within a minute; after a 401 (with
        a refresh token) refreshed once and the call retried once."""
        token, refreshed = await self._current_token()
        try:
            return await self._request(endpoint, method, path, token, params=params, json_body=json_body)
        except ChannelError as exc:
            if exc.http_status != 401 or refreshed or not self.can_refresh:
                raise
        # Raised outside the handler above: a failed refresh does not chain the 401.
        logger.info("X %s: the access token was refused; refreshing it and trying once more", endpoint)
        token = await self._refresh(token)
        return await self._request(endpoint, method, path, token, params=params, json_body=json_body)

    async def _request(self, endpoint: str, method: str, path: str, token: str, *,
                       params: dict[str, Any] | None = None,
                       json_body: dict[str, Any] | None = None) -> dict[str, Any]:
        window = self.windows[endpoint]
        opens = window.exhausted_until(self._clock(), self.reset_margin)
        if opens is not None:
            wait = opens - self._clock()
            raise ChannelError(ErrorKind.RETRYABLE, f"X rate limit; next try in {wait:.0f} s", retry_after=wait)
        failure: ChannelError | None = None
        response: httpx.Response | None = None
        # httpx's exceptions carry the request, Authorization header included: the error is raised outside the
        # handler, so it neither chains nor keeps them.
        try:
            response = await self._client.request(
                method, self.api_base + path, params=params, json=json_body, timeout=self._timeout,
                headers={"Authorization": f"Bearer {token}"})
        except httpx.TimeoutException as exc:
            logger.warning("X %s timed out (%s)", endpoint, type(exc).__name__)
            failure = ChannelError(ErrorKind.RETRYABLE, "X did not answer in time")
        except httpx.HTTPError as exc:
            logger.warning("X %s failed: %s", endpoint, type(exc).__name__)
            failure = ChannelError(ErrorKind.RETRYABLE, "Connection to X failed")
        except httpx.InvalidURL:
            logger.warning("X %s: the API address does not make a valid URL", endpoint)
            failure = ChannelError(ErrorKind.PERMISSION, "The X API address is not valid")
        if failure is not None:
            raise failure
        assert response is not None
        now = self._clock()
        self._note_window(window, response.headers)
        try:
            payload = loads_json(response.content)
        except (ValueError, JsonTooDeep, RecursionError):
            payload = None
        if response.is_success:
            if not isinstance(payload, dict):
                raise ChannelError(ErrorKind.UNKNOWN, f"Unexpected answer from X {endpoint}",
                                   http_status=response.status_code)
            return payload
        retry_after = None
        if response.status_code == 429:
            window.remaining = 0
            if window.reset is not None and window.reset > now - 1:
                retry_after = max(0.0, window.reset + self.reset_margin - now)
        error = error_for(response.status_code, payload, endpoint=endpoint, retry_after=retry_after)
        title, details = self._redact(error.title, token), self._redact(error.details, token)
        if (title, details) != (error.title, error.details):  # never seen; never let it through
            error = ChannelError(error.kind, title, code=error.code, details=details, http_status=error.http_status,
                                 retry_after=error.retry_after)
        logger.warning("X refused %s: http=%s kind=%s title=%r", endpoint, response.status_code, error.kind,
                       error.title[:120])
        raise error

    def _note_window(self, window: Window, headers: httpx.Headers) -> None:
        limit = _header_number(headers, "x-rate-limit-limit")
        remaining = _header_number(headers, "x-rate-limit-remaining")
        reset = _header_number(headers, "x-rate-limit-reset")
        if remaining is None or reset is None:
            return
        window.limit = int(limit) if limit is not None else window.limit
        window.remaining, window.reset = int(remaining), reset
        if window.remaining == 0:
            logger.info("X rate-limit window used up; the next request waits until %s",
                        datetime.fromtimestamp(reset, tz=UTC).isoformat(timespec="seconds"))


def from_env(env: Mapping[str, str], client: httpx.AsyncClient) -> XConnector | None:
    """The connector for WORKSTATION_X_TOKEN (a user-context OAuth 2.0 bearer token of the brand account) and
    WORKSTATION_X_USER_ID (that account's user id), else None. WORKSTATION_X_API_BASE (default api.x.com),
    WORKSTATION_X_POLL_INTERVAL (seconds between polls of each endpoint, default 15) and WORKSTATION_X_TIMEOUT
    (seconds per request, default 10) tune it. WORKSTATION_X_REFRESH_TOKEN (offline.access) with
    WORKSTATION_X_CLIENT_ID (the app's OAuth 2.0 client id), and WORKSTATION_X_CLIENT_SECRET for a confidential
    client, let it refresh the access token (the server installs the latest stored tokens with `set_tokens` and
    stores new ones through `on_tokens`)."""
    token = (env.get("WORKSTATION_X_TOKEN") or "").strip()
    user_id = (env.get("WORKSTATION_X_USER_ID") or "").strip()
    if not token or not user_id:
        return None
    if not _id(user_id):
        raise ValueError("WORKSTATION_X_USER_ID must be the brand account's numeric X user id")
    return XConnector(
        token=token,
        user_id=user_id,
        api_base=(env.get("WORKSTATION_X_API_BASE") or "").strip() or DEFAULT_API_BASE,
        client=client,
        poll_interval=_setting(env, "WORKSTATION_X_POLL_INTERVAL", DEFAULT_POLL_INTERVAL),
        timeout=_setting(env, "WORKSTATION_X_TIMEOUT", 10.0),
        refresh_token=(env.get("WORKSTATION_X_REFRESH_TOKEN") or "").strip() or None,
        client_id=(env.get("WORKSTATION_X_CLIENT_ID") or "").strip() or None,
        client_secret=(env.get("WORKSTATION_X_CLIENT_SECRET") or "").strip() or None,
    )


def _setting(env: Mapping[str, str], name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {raw[:20]!r}") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"{name} must be a non-negative number of seconds")
    return value
