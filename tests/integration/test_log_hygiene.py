"""No token, password or channel secret is ever written down: a real server and sandbox, logging at DEBUG,
go through sign-ins (good and bad), sync, webhook verification, inbound messages and a delivered reply;
then every log line must be a JSON object and no file they wrote (logs, SQLite database, WAL) may hold
any of those values."""

from __future__ import annotations

import json
import uuid

import httpx

from tests.integration.helpers import inbound, sign_in, sync_all, wait_for
from workstation.demo import start_demo_stack


def test_logs_are_json_and_no_secret_is_written_anywhere(tmp_path):
    stack = start_demo_stack(data_dir=tmp_path, traffic=False, extra_env={"WORKSTATION_LOG_LEVEL": "DEBUG"})
    try:
        url = stack.server_url
        token, _ = sign_in(stack)
        auth = {"Authorization": f"Bearer {token}"}
        wrong = "wrong-" + uuid.uuid4().hex
        assert httpx.post(f"{url}/v1/session", json={"email": stack.lead_email, "password": wrong}).status_code == 401
        # A password typed into the email field is not kept either (failures are stored by email hash).
        assert httpx.post(f"{url}/v1/session", json={"email": stack.lead_password, "password": wrong}).status_code == 401
        assert httpx.get(f"{url}/v1/sync", headers=auth).status_code == 200
        assert httpx.get(f"{url}/v1/sync", headers={"Authorization": "Bearer forged-" + wrong}).status_code == 401
        verify = stack.secrets["WORKSTATION_META_VERIFY_TOKEN"]
        ok = httpx.get(f"{url}/webhooks/whatsapp",
                       params={"hub.mode": "subscribe", "hub.verify_token": verify, "hub.challenge": "42"})
        assert ok.status_code == 200 and ok.text == "42"
        assert httpx.get(f"{url}/webhooks/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": "x" + verify,
                                                             "hub.challenge": "1"}).status_code == 403
        wa_id = "3460" + str(uuid.uuid4().int)[:8]
        inbound(stack, wa_id=wa_id, name="Lena", text="hola " + wa_id)
        conversation_id = next(m for m in sync_all(stack, token)["messages"]
                               if m["text"] == "hola " + wa_id)["conversation_id"]
        reply = httpx.post(f"{url}/v1/conversations/{conversation_id}/messages", json={"text": "Buenas, Lena"},
                           headers={**auth, "Idempotency-Key": str(uuid.uuid4())})
        assert reply.status_code == 201

        def read_state():
            message = next(m for m in sync_all(stack, token)["messages"] if m["id"] == reply.json()["id"])
            return message["delivery_state"] == "read"

        wait_for(read_state, timeout=20, what="the reply was sent and read")
        with httpx.stream("GET", f"{url}/v1/events", headers=auth, timeout=10) as r:
            assert next(r.iter_lines()).startswith("retry:")
        assert httpx.delete(f"{url}/v1/session", headers=auth).status_code == 204
    finally:
        stack.stop()

    written = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    log_path = tmp_path / "children.log"
    assert log_path in written and any(p.name.startswith("team.sqlite") for p in written)
    lines = [line for line in written[log_path].decode().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line, of both children, is one JSON object
    assert all({"ts", "level", "logger", "msg", "pid"} <= set(e) for e in entries)
    assert any(e["msg"].startswith("agent ") and "signed in" in e["msg"] for e in entries)
    assert any(e["logger"] == "workstation.access" and e["path"] == "/webhooks/whatsapp" for e in entries)
    assert any(e.get("level") == "DEBUG" for e in entries) or len(entries) > 20

    never = {"session token": token, "refused password": wrong,
             **{f"password of {email}": pw for email, pw in stack.passwords.items()},
             **{name: value for name, value in stack.secrets.items() if name != "WORKSTATION_WHATSAPP_PHONE_NUMBER_ID"
                and name != "WORKSTATION_WHATSAPP_API_BASE"}}
    leaks = [(what, path.name) for what, value in never.items() for path, data in written.items()
             if value.encode() in data]
    assert leaks == []
