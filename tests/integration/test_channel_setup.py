"""Channel setup through the real team server and the sandbox (SQLite and PostgreSQL): an admin connects a
channel from the app; the server tests the settings against the provider's emulator, keeps only settings that
work, seals the secrets, and starts using them at once (polling, sending, webhook signatures); leads see each
channel's health and what to fix; disconnecting falls back to the server's own settings."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid

import httpx
import pytest

from services.teamserver.admin import add_agent
from tests.integration.helpers import kill_server, sign_in, sync_all, wait_for
from tests.support import database_dump
from workstation.demo import DEMO_PAGE_ID, DEMO_PHONE_NUMBER_ID

ADMIN = "admin@channels.workstation.test"
ADMIN_PASSWORD = "admin-password-123"
ANA = "ana@demo.workstation.test"


@pytest.fixture(scope="module")
def admin(stack) -> str:
    add_agent(stack.db_url, email=ADMIN, name="Ada Admin", role="admin", password=ADMIN_PASSWORD)
    stack.passwords[ADMIN] = ADMIN_PASSWORD
    token, _ = sign_in(stack, ADMIN)
    return token


def call(stack, method: str, path: str, token: str | None, **kw) -> httpx.Response:
    headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **kw.pop("headers", {})}
    return httpx.request(method, f"{stack.server_url}{path}", headers=headers, timeout=30, **kw)


def channels(stack, token: str) -> dict[str, dict]:
    r = call(stack, "GET", "/v1/channels", token)
    assert r.status_code == 200, r.text
    return {c["channel"]: c for c in r.json()}


def telegram_settings(stack, token: str | None = None) -> dict:
    return {"settings": {"api_base": stack.sandbox_url + "/telegram"},
            "secrets": {"bot_token": token or stack.secrets["WORKSTATION_TELEGRAM_TOKEN"]}}


def customer_writes_on_telegram(stack, text: str) -> None:
    chat_id = 5_000_000_000 + uuid.uuid4().int % 1_000_000_000
    r = httpx.post(f"{stack.sandbox_url}/_sandbox/telegram/inbound",
                   json={"chat_id": chat_id, "first_name": "Lucía", "text": text}, timeout=10)
    r.raise_for_status()


def test_every_channel_is_listed_with_its_source_health_and_form(stack, admin):
    listed = channels(stack, admin)
    assert list(listed) == ["whatsapp", "messenger", "instagram", "x", "telegram", "email"]
    # The demo's server sets every channel in its environment.
    for name in ("whatsapp", "messenger", "instagram", "x", "telegram", "email"):
        assert listed[name]["connected"] and listed[name]["source"] == "environment", name
    assert listed["whatsapp"]["webhook_path"] == "/webhooks/whatsapp"
    assert listed["messenger"]["webhook_path"] == listed["instagram"]["webhook_path"] == "/webhooks/meta"
    assert listed["telegram"]["webhook_path"] == ""
    # A channel set in the environment shows its ids in the form, and which secrets it has (never their values).
    assert listed["whatsapp"]["settings"]["phone_number_id"] == DEMO_PHONE_NUMBER_ID
    assert listed["whatsapp"]["secrets_set"] == ["access_token", "app_secret", "verify_token"]
    assert listed["telegram"]["secrets_set"] == ["bot_token"]
    fields = {f["name"]: f for f in listed["email"]["fields"]}
    assert fields["imap_password"]["secret"] and fields["imap_password"]["required"]
    assert fields["smtp_tls"]["choices"] == ["starttls", "ssl", "none"]
    # Nothing the server was given in its environment comes back.
    body = json.dumps(listed)
    for name, value in stack.secrets.items():
        if "TOKEN" in name or "SECRET" in name:
            assert value not in body, name


def test_only_admins_change_channels_and_only_leads_see_them(stack, admin):
    lead, _ = sign_in(stack)
    ana, _ = sign_in(stack, ANA)
    assert call(stack, "GET", "/v1/channels", None).status_code == 401
    assert call(stack, "GET", "/v1/channels", ana).status_code == 403
    assert call(stack, "GET", "/v1/channels", lead).status_code == 200
    for token, expected in ((ana, 403), (lead, 403)):
        assert call(stack, "PUT", "/v1/channels/telegram", token, json=telegram_settings(stack)).status_code == expected
        assert call(stack, "POST", "/v1/channels/telegram/check", token).status_code == expected
        assert call(stack, "DELETE", "/v1/channels/telegram", token).status_code == expected
    assert call(stack, "PUT", "/v1/channels/fax", admin, json={}).status_code == 422


def test_settings_the_provider_refuses_are_not_kept(stack, admin):
    wrong = f"{secrets.randbelow(9 * 10**9) + 10**9}:AA{secrets.token_urlsafe(25)}"
    r = call(stack, "PUT", "/v1/channels/telegram", admin, json=telegram_settings(stack, wrong))
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail["kind"] == "auth_expired" and wrong not in r.text
    assert channels(stack, admin)["telegram"]["source"] == "environment"
    assert wrong not in database_dump(stack.db_url)
    # Incomplete settings are refused before any provider is asked, naming the field.
    r = call(stack, "PUT", "/v1/channels/x", admin, json={"settings": {}, "secrets": {"access_token": "t"}})
    assert r.status_code == 422 and r.json()["detail"]["field"] == "user_id"
    r = call(stack, "PUT", "/v1/channels/x", admin, json={"settings": {"user_id": "1", "nonsense": "2"}})
    assert r.status_code == 422 and r.json()["detail"]["field"] == "nonsense"


def test_a_channel_connected_from_the_app_is_tested_sealed_and_used_at_once(stack, admin):
    token = stack.secrets["WORKSTATION_TELEGRAM_TOKEN"]
    r = call(stack, "PUT", "/v1/channels/telegram", admin, json=telegram_settings(stack))
    assert r.status_code == 200, r.text
    connected = r.json()
    assert connected["source"] == "app" and connected["connected"]
    assert connected["account_name"].startswith("@") and connected["account_id"] == token.split(":")[0]
    assert connected["connected_by_name"] == "Ada Admin"
    assert connected["secrets_set"] == ["bot_token"] and "bot_token" not in connected["settings"]
    assert token not in r.text
    # At rest: the token is nowhere in the database, in any form a dump shows.
    dump = database_dump(stack.db_url)
    assert token not in dump and token.split(":")[1] not in dump
    assert "channel_account" in dump and "v1:" in dump
    # The new connector polls: a customer's message arrives, and a reply goes out through it.
    lead, _ = sign_in(stack)
    text = f"hola desde el bot conectado {uuid.uuid4().hex[:6]}"
    customer_writes_on_telegram(stack, text)
    message = wait_for(lambda: next((m for m in sync_all(stack, lead)["messages"] if m["text"] == text), None),
                       timeout=20, what="the message through the app-connected bot")
    reply = f"respuesta {uuid.uuid4().hex[:6]}"
    r = call(stack, "POST", f"/v1/conversations/{message['conversation_id']}/messages", lead,
             json={"text": reply}, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 201, r.text

    def sent() -> bool:
        r = httpx.get(f"{stack.sandbox_url}/_sandbox/telegram/sent", timeout=10)
        return any((s.get("json") or {}).get("text") == reply for s in r.json())

    wait_for(sent, timeout=20, what="the reply reached the Bot API")
    health = wait_for(lambda: (c := channels(stack, admin)["telegram"])["health"]["last_send_at"] and c,
                      timeout=10, what="the send in the channel's health")
    assert health["problems"] == [] and health["health"]["last_ok_at"]


def test_a_left_out_secret_keeps_the_stored_one_and_a_test_again_reports(stack, admin):
    r = call(stack, "PUT", "/v1/channels/telegram", admin,
             json={"settings": {"api_base": stack.sandbox_url + "/telegram"}, "secrets": {}})
    assert r.status_code == 200, r.text
    assert r.json()["secrets_set"] == ["bot_token"]
    r = call(stack, "POST", "/v1/channels/telegram/check", admin)
    assert r.status_code == 200 and r.json()["problems"] == []


def test_a_refused_send_tells_the_admin_what_to_fix(stack, admin):
    lead, _ = sign_in(stack)
    text = f"otra pregunta {uuid.uuid4().hex[:6]}"
    customer_writes_on_telegram(stack, text)
    message = wait_for(lambda: next((m for m in sync_all(stack, lead)["messages"] if m["text"] == text), None),
                       timeout=20, what="the customer's message")
    httpx.post(f"{stack.sandbox_url}/_sandbox/telegram/faults",
               json={"method": "sendMessage", "error_code": 401, "count": 1}, timeout=10).raise_for_status()
    r = call(stack, "POST", f"/v1/conversations/{message['conversation_id']}/messages", lead,
             json={"text": "no saldrá"}, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 201
    channel = wait_for(lambda: (c := channels(stack, admin)["telegram"])["problems"] and c, timeout=20,
                       what="the refusal in the channel's health")
    assert channel["problems"] == ["auth_refused"]
    assert channel["health"]["last_error_kind"] == "auth_expired" and channel["health"]["last_error"]
    # A test that works again clears it.
    assert call(stack, "POST", "/v1/channels/telegram/check", admin).json()["problems"] == []


def _sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_webhooks_are_checked_with_the_app_secret_connected_from_the_app(stack, admin):
    new_secret, verify = secrets.token_hex(16), secrets.token_hex(8)
    page_id = DEMO_PAGE_ID
    r = call(stack, "PUT", "/v1/channels/messenger", admin, json={
        "settings": {"page_id": page_id, "api_base": stack.sandbox_url + "/meta"},
        "secrets": {"access_token": stack.secrets["WORKSTATION_MESSENGER_PAGE_TOKEN"], "app_secret": new_secret,
                    "verify_token": verify}})
    assert r.status_code == 200, r.text
    assert "webhook_waiting" in r.json()["problems"]
    # The subscription check answers with the verify token entered in the app.
    r = call(stack, "GET", "/webhooks/meta", None,
             params={"hub.mode": "subscribe", "hub.verify_token": verify, "hub.challenge": "1158201444"})
    assert r.status_code == 200 and r.text == "1158201444"
    now_ms = int(time.time() * 1000)
    body = json.dumps({"object": "page", "entry": [{"id": page_id, "time": now_ms, "messaging": [{
        "sender": {"id": "6024875123456789"}, "recipient": {"id": page_id}, "timestamp": now_ms,
        "message": {"mid": f"m_{uuid.uuid4().hex}", "text": "hola página"}}]}]}).encode()
    assert call(stack, "POST", "/webhooks/meta", None, content=body,
                headers={"X-Hub-Signature-256": _sign("not-the-secret", body)}).status_code == 403
    r = call(stack, "POST", "/webhooks/meta", None, content=body,
             headers={"X-Hub-Signature-256": _sign(new_secret, body), "Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    channel = channels(stack, admin)["messenger"]
    assert channel["health"]["last_webhook_at"] and "webhook_waiting" not in channel["problems"]
    assert new_secret not in database_dump(stack.db_url)


def test_a_channel_set_in_the_environment_moves_into_the_app_without_retyping_secrets(stack, admin):
    listed = channels(stack, admin)["whatsapp"]
    r = call(stack, "PUT", "/v1/channels/whatsapp", admin, json={"settings": listed["settings"], "secrets": {}})
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["source"] == "app" and moved["secrets_set"] == ["access_token", "app_secret", "verify_token"]
    assert moved["account_name"]  # the emulator's display number, from the live check
    # Webhooks signed with the app secret it kept still go in.
    assert stack.secrets["WORKSTATION_WHATSAPP_TOKEN"] not in database_dump(stack.db_url)
    assert call(stack, "DELETE", "/v1/channels/whatsapp", admin).status_code == 204


def test_a_token_that_ends_soon_is_flagged_with_its_date(stack, admin):
    ends = int(time.time()) + 3 * 86400
    httpx.post(f"{stack.sandbox_url}/_sandbox/meta/token", json={"channel": "instagram", "expires_at": ends},
               timeout=10).raise_for_status()
    try:
        r = call(stack, "PUT", "/v1/channels/instagram", admin, json={
            "settings": channels(stack, admin)["instagram"]["settings"], "secrets": {}})
        assert r.status_code == 200, r.text
        connected = r.json()
        assert connected["token_expires_at"].startswith(
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ends)))
        assert connected["problems"][0] == "token_expires_soon"
        # Once past its end the provider refuses it, and a test says so.
        httpx.post(f"{stack.sandbox_url}/_sandbox/meta/token",
                   json={"channel": "instagram", "expires_at": int(time.time()) - 60}, timeout=10).raise_for_status()
        r = call(stack, "POST", "/v1/channels/instagram/check", admin)
        assert r.status_code == 422 and r.json()["detail"]["kind"] == "auth_expired"
        assert "auth_refused" in channels(stack, admin)["instagram"]["problems"]
    finally:
        httpx.post(f"{stack.sandbox_url}/_sandbox/meta/token", json={"channel": "instagram", "expires_at": 0},
                   timeout=10).raise_for_status()
        call(stack, "DELETE", "/v1/channels/instagram", admin)


def test_x_tokens_refreshed_by_the_server_survive_a_restart(stack, admin):
    """X access tokens end after 2 hours and each refresh rotates the refresh token: the server refreshes by
    itself, seals the new pair before using it, and after a restart uses the newest, not the one it was given."""
    oauth = f"{stack.sandbox_url}/_sandbox/x/oauth"
    first = "R0-" + secrets.token_urlsafe(24)
    httpx.post(oauth, json={"client_id": "workstation-demo", "refresh_token": first,
                            "access_token_lifetime": 3600}, timeout=10).raise_for_status()
    settings = {**channels(stack, admin)["x"]["settings"], "client_id": "workstation-demo"}
    r = call(stack, "PUT", "/v1/channels/x", admin, json={"settings": settings, "secrets": {"refresh_token": first}})
    assert r.status_code == 200, r.text
    assert r.json()["token_expires_at"] is None  # refreshed by the server: nothing for the admin to do
    httpx.post(oauth, json={"expire_access_now": True}, timeout=10).raise_for_status()
    r = call(stack, "POST", "/v1/channels/x/check", admin)
    assert r.status_code == 200, r.text
    state = httpx.get(oauth, timeout=10).json()
    assert state["refreshes"] == 1 and state["refresh_token"] != first
    rotated = state["refresh_token"]
    dump = database_dump(stack.db_url)
    assert "channel_tokens:x" in dump and rotated not in dump and first not in dump
    # A restart: the server must use the rotated refresh token (the first one is dead at X now).
    kill_server(stack)
    stack.start_server()
    httpx.post(oauth, json={"expire_access_now": True}, timeout=10).raise_for_status()
    token = sign_in(stack, ADMIN)[0]
    r = call(stack, "POST", "/v1/channels/x/check", token)
    assert r.status_code == 200, r.text
    state = httpx.get(oauth, timeout=10).json()
    assert state["refreshes"] == 2 and state["refresh_token"] not in (first, rotated)
    assert call(stack, "DELETE", "/v1/channels/x", token).status_code == 204


def test_disconnecting_falls_back_to_the_server_settings(stack, admin):
    assert call(stack, "DELETE", "/v1/channels/telegram", admin).status_code == 204
    listed = channels(stack, admin)["telegram"]
    assert listed["source"] == "environment" and listed["connected"]
    assert call(stack, "DELETE", "/v1/channels/telegram", admin).status_code == 404
    assert call(stack, "DELETE", "/v1/channels/email", admin).status_code == 404
    # The environment's bot still polls.
    lead, _ = sign_in(stack)
    text = f"después de desconectar {uuid.uuid4().hex[:6]}"
    customer_writes_on_telegram(stack, text)
    wait_for(lambda: any(m["text"] == text for m in sync_all(stack, lead)["messages"]), timeout=20,
             what="the message through the environment's bot")
