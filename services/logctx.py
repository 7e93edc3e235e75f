"""Server logs: one JSON object per line (ts, level, logger, msg, request fields), scrubbed of secrets.

`configure()` installs it on the root logger (uvicorn's loggers propagate there, see services/serve.py);
`RequestLog` wraps an ASGI app so every record logged while a request runs carries its id, method, path
and client, and writes one access line per request. A `RedactFilter` on the handler rewrites every
record's message, arguments and traceback before formatting: bearer tokens, Authorization values,
`access_token=`/`hub.verify_token=`-style parameters, token/password/secret JSON fields and the
configured secrets themselves become `[REDACTED]`.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import secrets as _secrets
import sys
import time
from datetime import datetime, timezone
from typing import Iterable

REDACTED = "[REDACTED]"

_request: contextvars.ContextVar[dict | None] = contextvars.ContextVar("workstation_request", default=None)

_PATTERNS = [
    # Authorization: Bearer abc / Basic abc, as a header line, a dict or a tuple of bytes.
    (re.compile(r"(?i)(authorization['\"]?\s*[:=,]\s*(?:b?['\"])?)(?:(bearer|basic|token)\s+)?[^\s'\",;)}\]]+"),
     lambda m: f"{m.group(1)}{m.group(2) + ' ' if m.group(2) else ''}{REDACTED}"),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}"), lambda m: f"{m.group(1)} {REDACTED}"),
    # Query strings and forms: access_token=..., hub.verify_token=..., password=..., app_secret=...
    (re.compile(r"(?i)\b([\w.]*(?:token|password|passwd|secret|signature|api_key|apikey)[\w.]*)=([^&\s'\",;]+)"),
     lambda m: f"{m.group(1)}={REDACTED}"),
    # JSON and repr fields: "token": "...", 'password': '...'
    (re.compile(r"(?i)(['\"][\w.]*(?:token|password|secret)[\w.]*['\"]\s*:\s*)(['\"])(.*?)(?<!\\)\2"),
     lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}{m.group(2)}"),
]


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


class RedactFilter(logging.Filter):
    """Formats each record's message now and scrubs it (and its traceback) of secrets."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Short values would scrub ordinary words; real secrets are long random strings.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is rather than lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = redact(message, self.secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
            record.exc_info = None  # formatted and scrubbed above; never formatted again
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,
        }
        request = getattr(record, "request", None) or _request.get()
        if request:
            entry.update(request)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(secrets: Iterable[str] = (), default_level: str = "INFO", stream=None) -> logging.Handler:
    """Replaces the root logger's handlers with one JSON-lines handler that redacts `secrets` and tokens."""
    level = os.environ.get("WORKSTATION_LOG_LEVEL", default_level).upper()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactFilter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level, logging.INFO))
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    return handler


def annotate(**fields) -> None:
    """Adds fields (say, agent_id) to the current request's log records and its access line."""
    request = _request.get()
    if request is not None:
        request.update(fields)


class RequestLog:
    """ASGI wrapper: request fields for every record logged during a request, and one access line.

    The path is logged without its query string (webhook verification carries the verify token there).
    """

    def __init__(self, app, logger: str = "workstation.access") -> None:
        self.app = app
        self.log = logging.getLogger(logger)

    def __getattr__(self, name):  # app.state and friends stay reachable through the wrapper
        return getattr(self.app, name)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        client = scope.get("client")
        fields = {"request_id": _secrets.token_hex(6), "method": scope.get("method"), "path": scope.get("path"),
                  "client": client[0] if client else None}
        token = _request.set(fields)
        started = time.perf_counter()
        status = {"code": 500}

        async def send_status(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            fields["status"] = status["code"]
            fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
            # Webhooks arrive at the rate customers write: their acknowledgements are DEBUG lines; their
            # refusals, the subscription check and everything else are INFO.
            quiet = (status["code"] < 400 and fields["method"] == "POST"
                     and fields["path"].startswith("/webhooks/"))
            level = logging.DEBUG if quiet else logging.INFO
            if self.log.isEnabledFor(level):
                self.log.log(level, "%s %s %s", fields["method"], fields["path"], status["code"])
            _request.reset(token)
