"""Status and assignment writes from two agents: stale writes are refused with who changed what."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from tests.integration.helpers import inbound, sign_in, sync_all
from workstation.api import ApiClient
from workstation.cache import Cache
from workstation.sync import DbWorker, SyncEngine

ANA = "ana@demo.workstation.test"


def _patch(stack, token, conversation_id, body, key=None):
    return httpx.patch(f"{stack.server_url}/v1/conversations/{conversation_id}", json=body,
                       headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key or str(uuid.uuid4())})


def _new_conversation(stack, token) -> dict:
    wa_id = "3467" + str(uuid.uuid4().int)[:7]
    inbound(stack, wa_id=wa_id, name="Conflict", text="hola " + wa_id)
    state = sync_all(stack, token)
    message = next(m for m in state["messages"] if m["text"] == "hola " + wa_id)
    return next(c for c in state["conversations"] if c["id"] == message["conversation_id"])


def test_stale_write_gets_409_with_the_current_state_and_who_changed_it(stack):
    lead_token, lead = sign_in(stack)
    ana_token, ana = sign_in(stack, ANA)
    conversation = _new_conversation(stack, lead_token)
    version = conversation["version"]
    ok = _patch(stack, ana_token, conversation["id"],
                {"status": "resolved", "case_type": "information.query", "expected_version": version})
    assert ok.status_code == 200 and ok.json()["version"] == version + 1
    assert ok.json()["updated_by_agent_id"] == ana["id"]
    stale = _patch(stack, lead_token, conversation["id"],
                   {"set_assignee": True, "assignee_id": lead["id"], "expected_version": version})
    assert stale.status_code == 409
    assert stale.json()["changed_by"] == "Ana Gómez" and stale.json()["conversation"]["status"] == "resolved"
    # A messages' arrival does not move the version: only status and assignment conflict.
    inbound(stack, wa_id="3467" + str(uuid.uuid4().int)[:7], name="Other", text="x")
    fresh = _patch(stack, lead_token, conversation["id"],
                   {"set_assignee": True, "assignee_id": lead["id"], "expected_version": version + 1})
    assert fresh.status_code == 200 and fresh.json()["assignee_id"] == lead["id"]


def test_repeated_key_replays_the_change_once(stack):
    token, _ = sign_in(stack)
    conversation = _new_conversation(stack, token)
    key = str(uuid.uuid4())
    body = {"status": "pending", "expected_version": conversation["version"]}
    first, second = _patch(stack, token, conversation["id"], body, key), _patch(stack, token, conversation["id"], body, key)
    assert first.status_code == second.status_code == 200 and first.json() == second.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.json()["version"] == conversation["version"] + 1


def test_desktop_shows_a_refused_change_as_failed_then_retry_succeeds(stack, tmp_path):
    lead_token, lead = sign_in(stack)
    ana_token, _ = sign_in(stack, ANA)
    conversation = _new_conversation(stack, lead_token)

    async def run():
        cache = Cache(tmp_path / "cache.sqlite")
        engine = SyncEngine(ApiClient(stack.server_url, lead_token), DbWorker(cache))
        await engine.pull()
        # Ana resolves it while our app has not heard yet; we assign it to ourselves on the old version.
        assert _patch(stack, ana_token, conversation["id"],
                      {"status": "resolved", "case_type": "incident.claim", "expected_version": conversation["version"]}).status_code == 200
        op_id, _ = cache.enqueue_update(conversation["id"], assignee=(True, lead["id"]))
        assert cache.conversation(conversation["id"]).assignee_id == lead["id"]  # shown at once
        engine.start()
        try:
            for _ in range(200):
                rows = [r for r in cache.thread(conversation["id"]) if r.op_id == op_id]
                if rows and rows[0].op_state == "failed" and cache.conversation(conversation["id"]).status == "resolved":
                    break
                await asyncio.sleep(0.05)
            assert rows[0].op_error == "changed by Ana Gómez"
            assert cache.conversation(conversation["id"]).assignee_id is None  # our change was undone locally
            await engine.retry(op_id)
            for _ in range(200):
                if cache.pending_ops() == 0 and cache.failed_ops() == 0:
                    break
                await asyncio.sleep(0.05)
            assert cache.failed_ops() == 0
        finally:
            await engine.stop()
            engine.db.shutdown()

    asyncio.run(run())
    server = next(c for c in sync_all(stack, lead_token)["conversations"] if c["id"] == conversation["id"])
    assert server["assignee_id"] == lead["id"] and server["status"] == "resolved"
