"""The webhook hot path as plain ASGI, in front of FastAPI.

Providers post webhooks at the rate customers write, so `POST /webhooks/whatsapp` skips FastAPI's routing,
dependency and middleware layers (a measured third of a webhook's cost on the event loop) and runs the same
checks and storage as the route (`routes.webhooks.receive_whatsapp`) with the same answers: 413 over the
body limit, 403 for a bad signature, 400 for a body that is not a webhook, 200 once committed. Every other
request, and the subscription check (GET), goes to the app unchanged.
"""

from __future__ import annotations

import json

from services.teamserver.routes.webhooks import ACK, WebhookRefused, receive_whatsapp

PATH = "/webhooks/whatsapp"
_TEXT = [(b"content-type", b"text/plain; charset=utf-8")]
_JSON = [(b"content-type", b"application/json")]


class WebhookFastPath:
    def __init__(self, app) -> None:
        self.app = app

    def __getattr__(self, name):  # app.state and friends stay reachable through the wrapper
        return getattr(self.app, name)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            return await self.app(scope, receive, send)
        state = self.app.state
        limit = state.settings.max_webhook_bytes
        signature = None
        declared = None
        for name, value in scope["headers"]:
            if name == b"x-hub-signature-256":
                signature = value.decode("latin-1")
            elif name == b"content-length":
                declared = value
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await _answer(send, 413, "request body too large")
        chunks = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the provider hung up: it will deliver again
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return await _answer(send, 413, "request body too large")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        try:
            await receive_whatsapp(state, b"".join(chunks), signature)
        except WebhookRefused as exc:
            return await _answer(send, exc.status_code, exc.detail)
        await send({"type": "http.response.start", "status": 200,
                    "headers": _TEXT + [(b"content-length", str(len(ACK)).encode())]})
        await send({"type": "http.response.body", "body": ACK.encode()})


async def _answer(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": _JSON + [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
