"""Server log lines: JSON objects with request fields, and nothing that looks like a token or a secret."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

from services import logctx

SECRET = "s3cr3t-app-secret-value"


@pytest.fixture
def captured():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    logctx.configure(secrets=[SECRET, "", "abc"], stream=stream)
    yield stream
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize("text, leaked", [
    ("Authorization: Bearer tok_abcdefgh12345", "tok_abcdefgh12345"),
    ("headers [(b'authorization', b'Bearer QWERTYUIOP1234')]", "QWERTYUIOP1234"),
    ('{"Authorization": "Basic dXNlcjpwYXNzd29yZA=="}', "dXNlcjpwYXNzd29yZA=="),
    ("GET /webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=vt-12345&hub.challenge=1", "vt-12345"),
    ("POST https://graph.example/v21.0/1/messages?access_token=EAAGzzzzzz", "EAAGzzzzzz"),
    ('response {"token": "opaque-session-token", "agent": {"id": 1}}', "opaque-session-token"),
    ("login body {'email': 'a@b.c', 'password': 'hunter2hunter2'}", "hunter2hunter2"),
    (f"config says {SECRET} here", SECRET),
])
def test_secrets_are_redacted_from_messages(captured, text, leaked):
    logging.getLogger("t").warning(text)
    [line] = _lines(captured)
    assert leaked not in line["msg"] and logctx.REDACTED in line["msg"]


def test_arguments_and_tracebacks_are_redacted_too(captured):
    log = logging.getLogger("t")
    log.info("sending with %s to %s", {"Authorization": "Bearer abcdefghijkl"}, "x?access_token=EAAGsecret1")
    try:
        raise RuntimeError(f"provider said no to {SECRET}")
    except RuntimeError:
        log.exception("send failed")
    first, second = _lines(captured)
    assert "abcdefghijkl" not in first["msg"] and "EAAGsecret1" not in first["msg"]
    assert "RuntimeError" in second["exc"] and SECRET not in second["exc"]
    assert SECRET not in captured.getvalue()


def test_ordinary_text_and_short_values_are_left_alone(captured):
    logging.getLogger("t").info("authorization header missing; abc tokens are counted; bearer token missing")
    [line] = _lines(captured)
    assert line["msg"] == "authorization header missing; abc tokens are counted; bearer token missing"


def test_lines_are_json_with_the_fixed_fields(captured):
    logging.getLogger("services.x").info("agent %s signed in", 7)
    [line] = _lines(captured)
    assert {"ts", "level", "logger", "msg", "pid"} <= set(line)
    assert (line["level"], line["logger"], line["msg"]) == ("INFO", "services.x", "agent 7 signed in")
    assert line["ts"].endswith("+00:00")


def test_request_fields_ride_along_and_an_access_line_ends_each_request(captured):
    async def app(scope, receive, send):
        logctx.annotate(agent_id=3)
        logging.getLogger("inner").info("handling")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/webhooks/whatsapp",
             "query_string": b"hub.verify_token=vt-999999", "client": ("10.0.0.5", 5555)}
    asyncio.run(logctx.RequestLog(app)(scope, None, send))
    inner, access = _lines(captured)
    assert inner["method"] == "GET" and inner["path"] == "/webhooks/whatsapp" and inner["agent_id"] == 3
    assert inner["request_id"] == access["request_id"] and inner["client"] == "10.0.0.5"
    assert access["logger"] == "workstation.access" and access["status"] == 204 and "duration_ms" in access
    assert "vt-999999" not in captured.getvalue()


def test_acknowledged_webhook_posts_are_debug_lines_and_refusals_info(captured):
    def app_answering(code):
        async def app(scope, receive, send):
            await send({"type": "http.response.start", "status": code, "headers": []})
            await send({"type": "http.response.body", "body": b""})
        return app

    async def send(message):
        pass

    scope = {"type": "http", "method": "POST", "path": "/webhooks/whatsapp", "client": ("10.0.0.5", 5555)}
    asyncio.run(logctx.RequestLog(app_answering(200))(scope, None, send))
    asyncio.run(logctx.RequestLog(app_answering(403))(scope, None, send))
    [line] = _lines(captured)  # the logger is at INFO: only the refusal is written
    assert line["status"] == 403 and line["level"] == "INFO"
