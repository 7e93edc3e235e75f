"""Emulator of the Telegram Bot API (getUpdates long polling, sendMessage, webhooks on or off) with faults.

Served beside the WhatsApp emulator under `/telegram` (a connector's API base is `<sandbox>/telegram`), so a
method is `POST <sandbox>/telegram/bot<token>/<method>`. What it reproduces:

- every answer is `{ok: true, result}` or `{ok: false, error_code, description, parameters?}` with the HTTP
  status equal to error_code; a wrong token is 401 "Unauthorized", an unparsable one or an unknown method 404;
- parameters come in the query string, a form or a JSON body; method names ignore case, as Telegram's do;
- getUpdates returns unconfirmed updates oldest first; asking with an offset forgets every update below it
  (a negative offset keeps only the last ones; an offset past every id given out, left from an earlier id
  sequence, forgets nothing); with a timeout it waits for the next update; a second
  getUpdates ends a waiting one with 409 "terminated by other getUpdates request"; a webhook set makes it 409;
- getMe answers the bot's User (id, is_bot, first_name, username and the bot-only flags);
- sendMessage checks chat_id, text (1-4096 characters), parse_mode and reply_parameters, and answers the sent
  Message; a chat the bot never heard from is "chat not found", a customer who blocked the bot gets 403.

Sandbox-only routes under `/_sandbox/telegram`: `inbound` (a customer writes), `sent` (every sendMessage
attempt), `polls` (every getUpdates), `faults` (the next calls fail: 429 with retry_after, 401, 403, 500...),
`block` (a customer blocks the bot) and `state`. The token never appears in what they record.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import random
import re
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field, model_validator

from services.channels.telegram import MAX_TEXT_CHARS
from services.teamserver.hygiene import loads_json

logger = logging.getLogger(__name__)

MAX_POLL_TIMEOUT = 50.0
_TOKEN_SHAPE = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{20,}")
_INTEGER = re.compile(r"-?[0-9]{1,20}")

UNAUTHORIZED = "Unauthorized"
NOT_FOUND = "Not Found"
TERMINATED = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
WEBHOOK_ACTIVE = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the " \
                 "webhook first"
# What an injected fault answers when it names no description.
DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: UNAUTHORIZED,
    403: "Forbidden: bot was blocked by the user",
    404: NOT_FOUND,
    409: TERMINATED,
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
# nginx's own page, which Telegram's front end answers when the Bot API behind it is down.
BAD_GATEWAY_PAGE = ("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway"
                    "</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n")


class BotApiError(Exception):
    def __init__(self, error_code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(f"{error_code} {description}")
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass
class TelegramSandboxConfig:
    token: str
    bot_first_name: str = "Workstation Demo"
    bot_username: str = "workstation_demo_bot"
    first_update_id: int | None = None  # None: a random one, as Telegram's ids start anywhere
    max_poll_timeout: float = MAX_POLL_TIMEOUT

    @property
    def bot_id(self) -> int:
        head = self.token.partition(":")[0]
        return int(head) if head.isascii() and head.isdigit() else 1


class FaultRequest(BaseModel):
    """The next `count` calls of `method` ("*": any) fail with `error_code`; `chat_id` narrows a sendMessage
    fault to one chat, `min_offset` a getUpdates fault to calls that would confirm updates from there on."""

    method: Literal["sendMessage", "getUpdates", "getMe", "*"] = "sendMessage"
    error_code: int = Field(ge=400, le=599)
    count: int = Field(default=1, ge=1, le=100_000)
    description: str | None = Field(default=None, max_length=500)
    retry_after: int | None = Field(default=None, ge=0, le=3600)
    chat_id: int | None = None
    min_offset: int | None = None
    html: bool = False  # answer the proxy's HTML page instead of a Bot API body (a 502 from nginx)


@dataclass
class Fault:
    request: FaultRequest
    left: int

    def matches(self, method: str, params: dict[str, Any]) -> bool:
        r = self.request
        if r.method != "*" and r.method.lower() != method.lower():
            return False
        if r.chat_id is not None and _as_int(params.get("chat_id")) != r.chat_id:
            return False
        if r.min_offset is not None and (_as_int(params.get("offset")) or 0) < r.min_offset:
            return False
        return True

    def error(self) -> BotApiError:
        r = self.request
        retry_after = r.retry_after if r.retry_after is not None else (1 if r.error_code == 429 else None)
        description = r.description or DESCRIPTIONS.get(r.error_code, "Internal Server Error")
        return BotApiError(r.error_code, description.format(retry_after=retry_after), retry_after=retry_after)


class InboundRequest(BaseModel):
    """A customer writes to the bot (or edits what they wrote: `edit_message_id`)."""

    chat_id: int = Field(ge=1, le=2**52)
    first_name: str = Field(min_length=1, max_length=64)
    last_name: str | None = Field(default=None, max_length=64)
    username: str | None = Field(default=None, max_length=32)
    language_code: str | None = Field(default=None, max_length=10)
    text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    kind: Literal["text", "photo", "sticker", "document", "voice", "location"] = "text"
    caption: str | None = Field(default=None, max_length=1024)
    emoji: str | None = Field(default=None, max_length=16)
    chat_type: Literal["private", "group", "supergroup"] = "private"
    is_bot: bool = False
    date: int | None = Field(default=None, ge=0)
    edit_message_id: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _text_for_text(self) -> InboundRequest:
        if self.kind == "text" and not self.text:
            raise ValueError("a text message needs `text`")
        return self


class BlockRequest(BaseModel):
    chat_id: int
    blocked: bool = True


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    return None


def _json_field(value: Any) -> Any:
    """A structured parameter (allowed_updates, reply_parameters) as JSON or as a JSON-serialized string."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class TelegramSandbox:
    """The bot's state: its update queue, chats, what it sent, and the faults waiting to happen."""

    def __init__(self, config: TelegramSandboxConfig) -> None:
        self.config = config
        self.updates: list[dict[str, Any]] = []  # unconfirmed, oldest first
        self.next_update_id = config.first_update_id or random.randint(10**8, 9 * 10**8)
        self.chats: dict[int, dict[str, Any]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.messages: dict[int, dict[int, dict[str, Any]]] = {}  # chat -> message id -> message
        self._next_message_id: dict[int, int] = {}
        self.blocked: set[int] = set()
        self.faults: deque[Fault] = deque()
        self.sent: list[dict[str, Any]] = []
        self.polls: list[dict[str, Any]] = []
        self.allowed_updates: list[str] | None = None
        self.webhook_url: str = ""
        # Told (chat id, text) of every message the bot sent: the traffic generator's customers read them.
        self.on_sent: Callable[[int, str], Awaitable[Any]] | None = None
        self._generation = 0
        self._changed: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def bot_user(self) -> dict[str, Any]:
        return {"id": self.config.bot_id, "is_bot": True, "first_name": self.config.bot_first_name,
                "username": self.config.bot_username}

    @property
    def me(self) -> dict[str, Any]:
        """getMe's User: the bot, with the fields only getMe returns."""
        return {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False, "can_connect_to_business": False, "has_main_web_app": False}

    # -- customers ------------------------------------------------------------------------------------------
    def _message_id(self, chat_id: int) -> int:
        self._next_message_id[chat_id] = self._next_message_id.get(chat_id, 0) + 1
        return self._next_message_id[chat_id]

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
        self._changed = None

    def _queue(self, kind: str, message: dict[str, Any]) -> dict[str, Any] | None:
        if self.allowed_updates and kind not in self.allowed_updates:
            return None  # Telegram does not keep updates the bot said it does not want
        update = {"update_id": self.next_update_id, kind: message}
        self.next_update_id += 1
        self.updates.append(update)
        self._notify()
        return update

    def queue_message(self, request: InboundRequest) -> dict[str, Any]:
        """A customer's message (or edit) as an update; returns {update_id, message_id, chat_id}."""
        user: dict[str, Any] = {"id": request.chat_id, "is_bot": request.is_bot, "first_name": request.first_name}
        chat: dict[str, Any] = {"id": request.chat_id, "first_name": request.first_name}
        for key in ("last_name", "username"):
            value = getattr(request, key)
            if value:
                user[key] = chat[key] = value
        if request.language_code:
            user["language_code"] = request.language_code
        if request.chat_type != "private":
            # A group has its own (negative) id and a title; the customer is only its member.
            chat = {"id": -request.chat_id, "title": f"{request.first_name}'s group", "type": request.chat_type}
        else:
            chat["type"] = "private"
            self.chats[request.chat_id] = chat
            self.users[request.chat_id] = user
        now = int(time.time()) if request.date is None else request.date
        chat_id = chat["id"]
        if request.edit_message_id is not None:
            original = self.messages.get(chat_id, {}).get(request.edit_message_id)
            if original is None:
                raise BotApiError(400, "Bad Request: message to edit not found")
            # A text's edit changes the text; a photo's or a document's, its caption.
            message = {**original, "edit_date": now}
            message["text" if "text" in original else "caption"] = request.text or request.caption or ""
            self.messages[chat_id][request.edit_message_id] = message
            update = self._queue("edited_message", message)
            return {"update_id": update["update_id"] if update else None, "message_id": request.edit_message_id,
                    "chat_id": chat_id}
        message = {"message_id": self._message_id(chat_id), "from": user, "chat": chat, "date": now}
        if request.kind == "text":
            message["text"] = request.text
            if request.text.startswith("/"):
                command = request.text.split()[0]
                message["entities"] = [{"offset": 0, "length": len(command), "type": "bot_command"}]
        elif request.kind == "photo":
            message["photo"] = [
                {"file_id": f"AgACAgQAAxkBAAI{chat_id}{message['message_id']}s", "file_unique_id": "AQADs",
                 "file_size": 1523, "width": 90, "height": 67},
                {"file_id": f"AgACAgQAAxkBAAI{chat_id}{message['message_id']}m", "file_unique_id": "AQADm",
                 "file_size": 20487, "width": 320, "height": 240},
            ]
        elif request.kind == "sticker":
            message["sticker"] = {"file_id": "CAACAgIAAxkBAAI", "file_unique_id": "AgAD", "type": "regular",
                                  "width": 512, "height": 512, "is_animated": False, "is_video": False,
                                  "emoji": request.emoji or "👍"}
        elif request.kind == "document":
            message["document"] = {"file_id": "BQACAgQAAxkBAAI", "file_unique_id": "AgADd",
                                   "file_name": request.text or "invoice.pdf", "mime_type": "application/pdf"}
        elif request.kind == "voice":
            message["voice"] = {"file_id": "AwACAgQAAxkBAAI", "file_unique_id": "AgADv", "duration": 4,
                                "mime_type": "audio/ogg"}
        elif request.kind == "location":
            message["location"] = {"latitude": 40.416775, "longitude": -3.70379}
        if request.caption and request.kind in ("photo", "document", "voice"):
            message["caption"] = request.caption
        self.messages.setdefault(chat_id, {})[message["message_id"]] = message
        update = self._queue("message", message)
        return {"update_id": update["update_id"] if update else None, "message_id": message["message_id"],
                "chat_id": chat_id}

    async def send_inbound(self, chat_id: str, name: str, text: str) -> dict[str, Any]:
        """The traffic generator's way in: a customer called `name` writes `text` from chat `chat_id`."""
        first, _, last = name.partition(" ")
        return self.queue_message(InboundRequest(chat_id=int(chat_id), first_name=first or name,
                                                 last_name=last or None, text=text))

    # -- getUpdates -----------------------------------------------------------------------------------------
    def _confirm(self, offset: int | None) -> None:
        if offset is None or offset == 0:
            return
        if offset > self.next_update_id:
            # An offset past every id handed out comes from an earlier id sequence (Telegram picks a random
            # next id after a week without updates; a sandbox restarts): it confirms nothing, and the new,
            # lower ids are delivered until the bot confirms them with their own offset.
            return
        if offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        else:
            self.updates = self.updates[offset:]

    async def get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset, limit, timeout = (params.get(k) for k in ("offset", "limit", "timeout"))
        offset = None if offset is None else _as_int(offset)
        if params.get("offset") is not None and offset is None:
            raise BotApiError(400, "Bad Request: wrong parameter offset specified")
        limit_value = 100 if limit is None else _as_int(limit)
        timeout_value = 0 if timeout is None else _as_int(timeout)
        if limit_value is None or timeout_value is None:
            raise BotApiError(400, "Bad Request: wrong parameter limit or timeout specified")
        if self.webhook_url:
            raise BotApiError(409, WEBHOOK_ACTIVE)
        allowed = _json_field(params.get("allowed_updates"))
        if allowed is not None:
            if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
                raise BotApiError(400, "Bad Request: can't parse allowed updates")
            self.allowed_updates = list(allowed) or None  # an empty list: every kind again
        self._confirm(offset)
        limit_value = min(max(limit_value, 1), 100)
        wait = min(max(float(timeout_value), 0.0), self.config.max_poll_timeout)
        self._generation += 1
        mine = self._generation
        self._notify()  # a poll still waiting learns it was superseded
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            if self.updates:
                return [json.loads(json.dumps(u)) for u in self.updates[:limit_value]]
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            if self._changed is None:
                self._changed = asyncio.Event()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass
            if self._generation != mine:
                raise BotApiError(409, TERMINATED)

    # -- sendMessage ----------------------------------------------------------------------------------------
    def send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        raw_chat = params.get("chat_id")
        if raw_chat is None or raw_chat == "":
            raise BotApiError(400, "Bad Request: chat_id is empty")
        chat_id = _as_int(raw_chat)
        if chat_id is None or chat_id not in self.chats:
            raise BotApiError(400, "Bad Request: chat not found")
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise BotApiError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT_CHARS:
            raise BotApiError(400, "Bad Request: message is too long")
        parse_mode = params.get("parse_mode")
        if parse_mode not in (None, "", "HTML", "Markdown", "MarkdownV2"):
            raise BotApiError(400, f"Bad Request: unsupported parse_mode {parse_mode}")
        reply_to = None
        reply = _json_field(params.get("reply_parameters"))
        if reply is not None:
            if not isinstance(reply, dict) or _as_int(reply.get("message_id")) is None:
                raise BotApiError(400, "Bad Request: can't parse reply parameters JSON object")
            reply_to = self.messages.get(chat_id, {}).get(_as_int(reply["message_id"]))
            if reply_to is None and reply.get("allow_sending_without_reply") is not True:
                raise BotApiError(400, "Bad Request: message to be replied not found")
        if chat_id in self.blocked:
            raise BotApiError(403, "Forbidden: bot was blocked by the user")
        message: dict[str, Any] = {"message_id": self._message_id(chat_id), "from": self.bot_user,
                                   "chat": self.chats[chat_id], "date": int(time.time()), "text": text}
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        self.messages.setdefault(chat_id, {})[message["message_id"]] = message
        if self.on_sent is not None:
            task = asyncio.get_running_loop().create_task(self.on_sent(chat_id, text))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return message

    # -- dispatch -------------------------------------------------------------------------------------------
    def token_ok(self, token: str) -> bool:
        return hmac.compare_digest(token.encode("utf-8"), self.config.token.encode("utf-8"))

    def _take_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, params):
                fault.left -= 1
                if fault.left <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def refuse_token(self, token: str) -> BotApiError | None:
        if not _TOKEN_SHAPE.fullmatch(token):
            return BotApiError(404, NOT_FOUND)  # Telegram cannot even tell which bot is meant
        if not self.token_ok(token):
            return BotApiError(401, UNAUTHORIZED)
        return None

    async def call(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, Any]:
        """(HTTP status, answer) for one Bot API request; the answer is a str for a proxy's HTML page."""
        refused = self.refuse_token(token)
        if refused is not None:
            return refused.error_code, refused.body()
        name = method.lower()
        handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getme": lambda p: self.me,
            "getupdates": self.get_updates,
            "sendmessage": self.send_message,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": lambda p: {"url": self.webhook_url, "has_custom_certificate": False,
                                         "pending_update_count": len(self.updates)},
        }
        handler = handlers.get(name)
        if handler is None:
            return 404, BotApiError(404, NOT_FOUND).body()
        fault = self._take_fault(method, params)
        try:
            if fault is not None:
                if fault.request.html:
                    return fault.request.error_code, BAD_GATEWAY_PAGE
                raise fault.error()
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        except BotApiError as exc:
            return exc.error_code, exc.body()
        return 200, {"ok": True, "result": result}

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = params.get("url")
        if not isinstance(url, str):
            raise BotApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        if url and not url.startswith("https://"):
            raise BotApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook_url = url
        self._notify()
        return True

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates") in (True, "true", "True", "1"):
            self.updates = []
        return True


async def _params(request: Request) -> tuple[dict[str, Any], Any]:
    """Telegram takes parameters in the query string, a urlencoded form or a JSON object, merged; also
    returns the JSON body as sent (None when there was none)."""
    params: dict[str, Any] = dict(request.query_params)
    raw = await request.body()
    if not raw:
        return params, None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            body = loads_json(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise BotApiError(400, "Bad Request: can't parse JSON object") from None
        if not isinstance(body, dict):
            raise BotApiError(400, "Bad Request: can't parse JSON object")
        params.update(body)
        return params, body
    if content_type == "application/x-www-form-urlencoded":
        params.update(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
        return params, None
    raise BotApiError(400, f"Bad Request: unsupported content type {content_type or 'none'}")


def api_router(sandbox: TelegramSandbox) -> APIRouter:
    """The Bot API itself: `/bot<token>/<method>`."""
    router = APIRouter()

    @router.api_route("/bot{token}/{method}", methods=["GET", "POST"], include_in_schema=False)
    async def bot_method(token: str, method: str, request: Request) -> Response:
        try:
            params, json_body = await _params(request)
        except BotApiError as exc:
            exc = sandbox.refuse_token(token) or exc
            status, answer = exc.error_code, exc.body()
            params, json_body = {}, None
        else:
            status, answer = await sandbox.call(token, method, params)
        when = time.time()
        if method.lower() == "sendmessage":
            # Every attempt, refused ones too, so tests can count them; the token itself is never kept.
            sandbox.sent.append({"method": method, "token_ok": sandbox.token_ok(token), "json": json_body,
                                 "params": params, "status_code": status, "response": answer, "at": when})
        elif method.lower() == "getupdates":
            ids = [u["update_id"] for u in answer["result"]] if status == 200 else []
            sandbox.polls.append({"offset": _as_int(params.get("offset")), "timeout": params.get("timeout"),
                                  "status_code": status, "update_ids": ids,
                                  "description": answer.get("description") if isinstance(answer, dict) else None,
                                  "at": when})
        if isinstance(answer, str):
            return HTMLResponse(answer, status_code=status)
        return JSONResponse(answer, status_code=status)

    return router


def control_router(sandbox: TelegramSandbox) -> APIRouter:
    """Sandbox-only routes: customers writing, what the bot sent, faults to inject."""
    router = APIRouter(prefix="/_sandbox/telegram")

    @router.post("/inbound")
    async def inbound(payload: InboundRequest) -> Response:
        try:
            return JSONResponse(sandbox.queue_message(payload))
        except BotApiError as exc:
            return JSONResponse({"detail": exc.description}, status_code=404)

    @router.get("/sent")
    async def sent() -> list[dict[str, Any]]:
        return sandbox.sent

    @router.get("/polls")
    async def polls() -> list[dict[str, Any]]:
        return sandbox.polls

    @router.post("/faults")
    async def add_fault(fault: FaultRequest) -> dict[str, Any]:
        sandbox.faults.append(Fault(fault, fault.count))
        return {"pending": sum(f.left for f in sandbox.faults)}

    @router.delete("/faults")
    async def clear_faults() -> dict[str, Any]:
        sandbox.faults.clear()
        return {"pending": 0}

    @router.post("/block")
    async def block(request: BlockRequest) -> dict[str, Any]:
        (sandbox.blocked.add if request.blocked else sandbox.blocked.discard)(request.chat_id)
        return {"blocked": sorted(sandbox.blocked)}

    @router.get("/state")
    async def state() -> dict[str, Any]:
        return {"pending_update_ids": [u["update_id"] for u in sandbox.updates],
                "next_update_id": sandbox.next_update_id, "allowed_updates": sandbox.allowed_updates,
                "webhook_url": sandbox.webhook_url, "blocked": sorted(sandbox.blocked),
                "faults": sum(f.left for f in sandbox.faults)}

    return router


def create_app(config: TelegramSandboxConfig) -> FastAPI:
    """The emulator on its own (the Bot API at the root): tests use it beside a connector."""
    app = FastAPI(title="Telegram Bot API sandbox")
    sandbox = TelegramSandbox(config)
    app.state.telegram = sandbox
    app.include_router(api_router(sandbox))
    app.include_router(control_router(sandbox))
    return app


def mount(app: FastAPI, config: TelegramSandboxConfig, *, prefix: str = "/telegram") -> TelegramSandbox:
    """Adds the emulator to the sandbox app: the Bot API under `prefix`, its control routes under
    /_sandbox/telegram. The WhatsApp sandbox's traffic generator then has some customers write here."""
    sandbox = TelegramSandbox(config)
    app.state.telegram = sandbox
    app.include_router(api_router(sandbox), prefix=prefix)
    app.include_router(control_router(sandbox))
    whatsapp = getattr(app.state, "sandbox", None)
    if whatsapp is not None:
        whatsapp.telegram_inbound = sandbox.send_inbound

        async def customer_reads(chat_id: int, text: str) -> None:
            if whatsapp.traffic is not None:  # a satisfaction survey gets answered, sometimes
                await whatsapp.traffic.answer_survey(str(chat_id), text)

        sandbox.on_sent = customer_reads
    return sandbox
