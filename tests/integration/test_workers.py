"""Several team-server workers on one PostgreSQL database: live events from any worker reach every
stream, each reply goes to the channel exactly once and in order, and losing a worker loses nothing."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.integration.helpers import inbound, sign_in, sync_all, wait_for
from tests.support import team_database
from workstation.demo import start_demo_stack


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    folder = tmp_path_factory.mktemp("workers")
    with team_database("postgresql", folder) as url:
        s = start_demo_stack(data_dir=folder, traffic=False, db_url=url, workers=2,
                             extra_env={"WORKSTATION_SEND_RETRY_BASE": "0.05"})
        yield s
        s.stop()


def workers_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def sent_texts(pool) -> list[str]:
    return [s["json"].get("text", {}).get("body") for s in httpx.get(f"{pool.sandbox_url}/_sandbox/sent").json()]


def reply(pool, token: str, conversation_id: int, text: str, key: str | None = None) -> None:
    # A new connection each time: the kernel hands connections to either worker.
    r = httpx.post(f"{pool.server_url}/v1/conversations/{conversation_id}/messages", json={"text": text},
                   headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key or str(uuid.uuid4())},
                   timeout=30)
    assert r.status_code == 201, r.text


def test_the_supervisor_runs_two_workers(pool):
    assert len(workers_of(pool.children[0].pid)) == 2


def test_changes_committed_by_any_worker_reach_an_event_stream(pool):
    token, _ = sign_in(pool)
    seen: list[int] = []
    done = threading.Event()

    def listen():
        try:
            with httpx.Client(timeout=httpx.Timeout(5.0, read=20.0)) as client:
                with client.stream("GET", f"{pool.server_url}/v1/events",
                                   headers={"Authorization": f"Bearer {token}"}) as r:
                    for line in r.iter_lines():
                        if line.startswith("data:"):
                            seen.append(json.loads(line[5:])["seq"])
                        if done.is_set():
                            return
        except httpx.HTTPError:
            if not done.is_set():  # ended before the test had its answer: the wait below fails
                raise

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    wait_for(lambda: seen, what="first event")
    for i in range(12):
        inbound(pool, wa_id=f"3461{uuid.uuid4().int % 10**8:08d}", name=f"W{i}", text=f"worker test {i}")
    newest = sync_all(pool, token)["next_after"]
    wait_for(lambda: seen and seen[-1] >= newest, timeout=10, what="an event for the newest change")
    done.set()


def test_each_reply_is_sent_once_and_in_order_whichever_worker_took_it(pool):
    token, _ = sign_in(pool)
    inbound(pool, wa_id="34619990001", name="Orden", text="necesito ayuda")
    conversation_id = wait_for(lambda: next((c["id"] for c in sync_all(pool, token)["conversations"]
                                             if c["last_message_preview"] == "necesito ayuda"), None))
    texts = [f"paso {i} {uuid.uuid4().hex[:6]}" for i in range(15)]
    for text in texts:
        reply(pool, token, conversation_id, text)
    wait_for(lambda: all(t in sent_texts(pool) for t in texts), timeout=20, what="every reply sent")
    sent = [t for t in sent_texts(pool) if t in texts]
    assert sent == texts  # once each, in the order they were written


def _meta_webhook(pool, secret: str) -> int:
    import hashlib
    import hmac

    from workstation.demo import DEMO_PAGE_ID

    now_ms = int(time.time() * 1000)
    body = json.dumps({"object": "page", "entry": [{"id": DEMO_PAGE_ID, "time": now_ms, "messaging": [{
        "sender": {"id": "6024875123456789"}, "recipient": {"id": DEMO_PAGE_ID}, "timestamp": now_ms,
        "message": {"mid": f"m_{uuid.uuid4().hex}", "text": "hola"}}]}]}).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    # A new connection each time: the kernel hands connections to either worker.
    return httpx.post(f"{pool.server_url}/webhooks/meta", content=body, timeout=30,
                      headers={"X-Hub-Signature-256": signature, "Content-Type": "application/json"}).status_code


def test_a_channel_connected_through_one_worker_is_used_by_every_worker(pool):
    from services.teamserver.admin import add_agent

    add_agent(pool.db_url, email="admin@workers.workstation.test", name="Ada", role="admin",
              password="admin-password-123")
    pool.passwords["admin@workers.workstation.test"] = "admin-password-123"
    token, _ = sign_in(pool, "admin@workers.workstation.test")
    secret = uuid.uuid4().hex
    from workstation.demo import DEMO_PAGE_ID

    r = httpx.put(f"{pool.server_url}/v1/channels/messenger", headers={"Authorization": f"Bearer {token}"},
                  json={"settings": {"page_id": DEMO_PAGE_ID, "api_base": pool.sandbox_url + "/meta"},
                        "secrets": {"access_token": pool.secrets["WORKSTATION_MESSENGER_PAGE_TOKEN"],
                                    "app_secret": secret, "verify_token": "v"}}, timeout=30)
    assert r.status_code == 200, r.text
    # The other worker reloads on the NOTIFY: soon every connection, on either worker, takes the new secret.
    # (A NOTIFY takes milliseconds; a worker that missed it would refuse about half of 40 connections.)
    time.sleep(1.0)
    assert [_meta_webhook(pool, secret) for _ in range(40)] == [200] * 40
    r = httpx.delete(f"{pool.server_url}/v1/channels/messenger", headers={"Authorization": f"Bearer {token}"},
                     timeout=30)
    assert r.status_code == 204
    time.sleep(1.0)
    assert [_meta_webhook(pool, secret) for _ in range(40)] == [403] * 40


def test_replies_still_go_out_after_a_worker_is_killed(pool):
    """Each worker is killed in turn, so the one that sends replies is killed too: another takes over,
    the supervisor starts a new worker, and nothing is lost or sent twice."""
    token, _ = sign_in(pool)
    inbound(pool, wa_id="34619990002", name="Caída", text="¿hay alguien?")
    conversation_id = wait_for(lambda: next((c["id"] for c in sync_all(pool, token)["conversations"]
                                             if c["last_message_preview"] == "¿hay alguien?"), None))
    supervisor = pool.children[0].pid
    texts = []
    for round_ in range(2):
        victim = workers_of(supervisor)[0]
        os.kill(victim, signal.SIGKILL)
        text = f"después de la caída {round_} {uuid.uuid4().hex[:6]}"
        texts.append(text)
        deadline = time.monotonic() + 15
        key = str(uuid.uuid4())  # retried with the same key, as the desktop's outbox does
        while True:  # the dead worker's connections fail; the live one answers
            try:
                reply(pool, token, conversation_id, text, key)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        wait_for(lambda: text in sent_texts(pool), timeout=20, what="reply sent after a worker died")
        wait_for(lambda: len(workers_of(supervisor)) == 2 and victim not in workers_of(supervisor),
                 timeout=20, what="the supervisor replaced the worker")
    sent = [t for t in sent_texts(pool) if t in texts]
    assert sent == texts
