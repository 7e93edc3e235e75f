"""Hostile-input hygiene: a nesting limit for every JSON body, and text that every database can store.

Python's JSON decoder recurses once per nesting level, so a body of ten thousand `[` (a few KB, well
within any size limit) raises RecursionError instead of a clean refusal, and structures a few hundred
levels deep go on to recurse in validation, error reporting and serialisation. Nothing we take is more
than about ten levels deep (a WhatsApp webhook with an interactive reply), so bodies nested deeper than
`MAX_JSON_DEPTH` are refused with 400 before anything parses them:

- `JsonDepthLimit`, an ASGI middleware, checks the agent API's JSON bodies before FastAPI reads them;
- `loads_json` is `json.loads` behind the same check, for parsers that take raw bytes (webhooks, whose
  routes verify the signature first and so are left to their parser by the middleware).

The scan is linear in the body, allocates nothing per level, ignores brackets inside strings and never
needs the body to be valid JSON or valid UTF-8 (whatever it cannot judge, the parser refuses later).

`install` also answers refused request bodies (422) in ASCII JSON: FastAPI's own answer echoes the
offending input and cannot encode an unpaired surrogate, so `{"text": "\\ud800"}` became a 500.

`clean_text` makes decoded text storable anywhere: JSON may carry NUL (`\\u0000`, refused by PostgreSQL
text columns) and unpaired UTF-16 surrogates (`\\ud800`, which no UTF-8 database driver can encode).
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

MAX_JSON_DEPTH = 32

_OPEN = frozenset(b"[{")
_STRUCTURE = re.compile(rb'[\[\]{}"]')
# The rest of a string after its opening quote, through the closing quote; possessive, so it never
# backtracks: an unterminated string costs one pass over the rest of the body.
_STRING_REST = re.compile(rb'[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonTooDeep(ValueError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"JSON nested deeper than {limit} levels")
        self.limit = limit


def json_depth_exceeds(raw: bytes | bytearray | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when arrays/objects in `raw` nest deeper than `limit` (brackets in strings don't count)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    pos = 0
    search = _STRUCTURE.search
    while (m := search(raw, pos)) is not None:
        char = raw[m.start()]
        pos = m.end()
        if char == 0x22:  # '"': skip the string
            end = _STRING_REST.match(raw, pos)
            if end is None:
                return False  # unterminated: not JSON, the parser says so
            pos = end.end()
        elif char in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif depth > 0:
            depth -= 1
    return False


def check_json_depth(raw: bytes | bytearray | str, limit: int = MAX_JSON_DEPTH) -> None:
    if json_depth_exceeds(raw, limit):
        raise JsonTooDeep(limit)


def loads_json(text: str | bytes, limit: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads` that raises JsonTooDeep (a ValueError) instead of recursing past `limit`."""
    check_json_depth(text, limit)
    try:
        return json.loads(text)
    except RecursionError:  # not reachable within the limit; a last line of defence
        raise JsonTooDeep(limit) from None


def clean_text(value: str) -> str:
    """`value` without NUL characters and with unpaired surrogates replaced by U+FFFD."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = _SURROGATE.sub("\ufffd", value)
    return value


def _is_json(headers: list[tuple[bytes, bytes]]) -> bool:
    """FastAPI parses a body as JSON when it has no content type or a JSON one (`application/*json`)."""
    for name, value in headers:
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media.startswith(b"application/") and (media == b"application/json" or media.endswith(b"+json"))
    return True


class JsonDepthLimit:
    """Refuses JSON request bodies nested deeper than `max_depth` with 400 before the app reads them.

    Add it inside the body-size limit (before it, with `add_middleware`) so the body it buffers is
    already bounded. Paths under `skip_prefixes` (webhooks) pass untouched: their parsers check."""

    def __init__(self, app, *, max_depth: int = MAX_JSON_DEPTH, skip_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_depth = max_depth
        self.skip_prefixes = tuple(skip_prefixes)

    async def __call__(self, scope, receive, send):
        if (scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS")
                or scope["path"].startswith(self.skip_prefixes) or not _is_json(scope.get("headers") or [])):
            return await self.app(scope, receive, send)
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending the whole body: nobody to answer
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if json_depth_exceeds(body, self.max_depth):
            detail = json.dumps({"detail": str(JsonTooDeep(self.max_depth))}).encode()
            await send({"type": "http.response.start", "status": 400,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(detail)).encode())]})
            await send({"type": "http.response.body", "body": detail})
            return
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class AsciiJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped: encodes any str, unpaired surrogates included."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    return AsciiJSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)


def install(app: FastAPI, *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """The depth limit on agent API bodies (webhook parsers check their own) and 422s that always encode.
    Call it before adding the body-size limit, so that limit wraps this one."""
    app.add_middleware(JsonDepthLimit, max_depth=max_depth, skip_prefixes=("/webhooks/",))
    app.add_exception_handler(RequestValidationError, _validation_error)
