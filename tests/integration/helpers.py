"""Small HTTP helpers for tests that talk to the real team server and sandbox."""

from __future__ import annotations

import json
import time
from typing import Any, Callable

import httpx

from services.channels.whatsapp import sign
from services.sandbox.whatsapp_api import text_message_webhook


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition",
             interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(interval)


def sign_in(stack, email: str | None = None) -> tuple[str, dict]:
    email = email or stack.lead_email
    r = httpx.post(f"{stack.server_url}/v1/session", json={"email": email, "password": stack.passwords[email]})
    r.raise_for_status()
    return r.json()["token"], r.json()["agent"]


def sync_all(stack, token: str, after: int = 0) -> dict:
    """Every page from `after` on, merged by entity id (later pages win)."""
    kinds = ("agents", "customers", "identities", "conversations", "messages", "notes")
    merged: dict[str, dict[int, dict]] = {k: {} for k in kinds}
    while True:
        r = httpx.get(f"{stack.server_url}/v1/sync", params={"after": after, "limit": 50},
                      headers={"Authorization": f"Bearer {token}"})
        r.raise_for_status()
        page = r.json()
        for key in merged:
            for item in page[key]:
                merged[key][item["id"]] = item
        after = page["next_after"]
        if not page["has_more"]:
            return {"next_after": after, **{k: list(v.values()) for k, v in merged.items()}}


def inbound(stack, *, wa_id: str, name: str, text: str, timestamp: int | None = None) -> str:
    body = {"from": wa_id, "name": name, "text": text}
    if timestamp is not None:
        body["timestamp"] = timestamp
    r = httpx.post(f"{stack.sandbox_url}/_sandbox/inbound", json=body, timeout=30)
    r.raise_for_status()
    assert r.json().get("delivered", True) is not False
    return r.json()["id"]


def post_signed(stack, payload: dict | bytes, *, secret: str | None = None, signature: str | None = None,
                headers: dict | None = None) -> httpx.Response:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=True).encode()
    secret = secret if secret is not None else stack.secrets["WORKSTATION_META_APP_SECRET"]
    h = {"Content-Type": "application/json", "X-Hub-Signature-256": signature or sign(secret, raw)}
    h.update(headers or {})
    return httpx.post(f"{stack.server_url}/webhooks/whatsapp", content=raw, headers=h)


# Tests build inbound webhooks exactly as the WhatsApp emulator does.
text_webhook = text_message_webhook


# -- the sandbox's webhook redelivery (Meta retries every unacknowledged webhook) and crashing the server ---
def sandbox_redelivery(stack, *, retry_for: float | None, backoff: float | None = None,
                       max_backoff: float | None = None) -> dict:
    """Sets how the sandbox retries webhooks not answered with a success: `retry_for` seconds after the
    first attempt (Meta: 7 days), or None for its fixed number of attempts. Returns its webhook counters."""
    body: dict = {"retry_for": retry_for}
    if backoff is not None:
        body["backoff"] = backoff
    if max_backoff is not None:
        body["max_backoff"] = max_backoff
    r = httpx.post(f"{stack.sandbox_url}/_sandbox/redelivery", json=body, timeout=30)
    r.raise_for_status()
    return r.json()


def sandbox_post_webhooks(stack, webhooks: list[list[dict]], *, rate: float | None = None) -> list[list[str]]:
    """Has the sandbox post these signed webhooks in the background (each a list of messages
    `{from, name, text, id?, timestamp?}`), redelivering as configured; returns each webhook's wamids."""
    r = httpx.post(f"{stack.sandbox_url}/_sandbox/webhooks", json={"webhooks": webhooks, "rate": rate}, timeout=60)
    r.raise_for_status()
    return r.json()["ids"]


def sandbox_webhook_state(stack) -> dict:
    """The sandbox's webhook counters: queued, acknowledged, given_up, attempts, failed_attempts."""
    r = httpx.get(f"{stack.sandbox_url}/_sandbox/webhooks", timeout=30)
    r.raise_for_status()
    return r.json()


def kill_server(stack) -> None:
    """SIGKILL of the team server (no shutdown of any kind); `stack.start_server()` brings it back."""
    server = stack.children[0]
    server.kill()
    server.wait()
    if server.stdin and not server.stdin.closed:
        try:
            server.stdin.close()
        except OSError:
            pass
