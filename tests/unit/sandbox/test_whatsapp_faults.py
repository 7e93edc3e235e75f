"""The sandbox's random fault mode (`POST /_sandbox/faults {"rate": ...}`), over real HTTP."""

from __future__ import annotations

import asyncio
import json
import queue
import time
from typing import Any, Callable

import httpx
import pytest

from services.channels.base import ChannelError, ErrorKind, OutboundText
from services.channels.whatsapp import WhatsAppConnector
from services.sandbox.whatsapp_api import SandboxConfig, create_app
from tests.unit.sandbox.test_whatsapp_api import (
    PHONE_ID,
    SECRET,
    TOKEN,
    graph_post,
    inbound,
    run_with_connector,
    send,
    text_body,
)

CUSTOMER = "34600100301"


@pytest.fixture
def sandbox(serve, receiver) -> Callable[..., str]:
    """A sandbox posting its webhooks to the recording receiver; returns a starter taking config overrides."""

    def start(**overrides: Any) -> str:
        options: dict[str, Any] = {"status_delays": (0.02, 0.04, 0.06), **overrides}
        options.setdefault("webhook_url", serve(receiver.app) + receiver.path)
        return serve(create_app(SandboxConfig(app_secret=SECRET, access_token=TOKEN, phone_number_id=PHONE_ID,
                                              **options)))

    return start


def set_rate(base: str, **body: Any) -> dict[str, Any]:
    response = httpx.post(f"{base}/_sandbox/faults", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def sent_log(base: str) -> list[dict[str, Any]]:
    return httpx.get(f"{base}/_sandbox/sent").json()


def status_webhook_ids(receiver, settle: float = 0.3) -> set[str]:
    """Message ids of every status webhook that arrives within `settle` seconds of the last one."""
    ids: set[str] = set()
    while True:
        try:
            delivery = receiver.next(timeout=settle)
        except queue.Empty:
            return ids
        for entry in json.loads(delivery.body)["entry"]:
            for change in entry["changes"]:
                ids |= {s["id"] for s in change["value"].get("statuses", [])}


def test_429_carries_retry_after_and_the_throughput_code(sandbox, receiver):
    base = sandbox()
    inbound(base, CUSTOMER)
    receiver.next()
    assert set_rate(base, rate=1.0, kinds=["429"], retry_after=7) == {"pending": 0, "rate": 1.0, "kinds": ["429"]}

    response = graph_post(base, text_body(CUSTOMER))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.json()["error"]["code"] == 130429

    with pytest.raises(ChannelError) as info:
        send(base, CUSTOMER)
    assert (info.value.kind, info.value.code, info.value.retry_after) == (ErrorKind.RETRYABLE, 130429, 7.0)

    # Marking read is not a send: never faulted.
    assert run_with_connector(base, lambda c: c.mark_read("wamid.customer1")) is None
    log = sent_log(base)
    assert [(r["status_code"], r["fault"]) for r in log] == [(429, "429"), (429, "429"), (200, None)]
    assert all("messages" not in r["response"] for r in log[:2])
    assert status_webhook_ids(receiver) == set()


@pytest.mark.parametrize("kind, status, code", [("500", 500, 131000), ("503raw", 503, None)])
def test_server_errors_are_retryable_and_accept_nothing(sandbox, receiver, kind, status, code):
    base = sandbox()
    inbound(base, CUSTOMER)
    receiver.next()
    set_rate(base, rate=1.0, kinds=[kind])

    with pytest.raises(ChannelError) as info:
        send(base, CUSTOMER)
    assert (info.value.kind, info.value.code, info.value.http_status) == (ErrorKind.RETRYABLE, code, status)

    [record] = sent_log(base)
    assert (record["status_code"], record["fault"]) == (status, kind)
    if kind == "503raw":
        raw = graph_post(base, text_body(CUSTOMER))
        assert raw.status_code == 503 and raw.headers["content-type"].startswith("text/plain")
    assert status_webhook_ids(receiver) == set()


def test_timeout_hangs_then_answers_503_without_accepting(sandbox, receiver):
    base = sandbox()
    inbound(base, CUSTOMER)
    receiver.next()
    set_rate(base, rate=1.0, kinds=["timeout"], hang_seconds=1.0)

    async def impatient_send() -> None:
        # The sender's own timeout (0.2 s) is shorter than the hang: it sees a timeout.
        async with WhatsAppConnector(app_secret=SECRET, access_token=TOKEN, phone_number_id=PHONE_ID,
                                     api_base=base, timeout=0.2) as connector:
            await connector.send(OutboundText(CUSTOMER, "hello"))

    started = time.monotonic()
    with pytest.raises(ChannelError) as info:
        asyncio.run(impatient_send())
    assert time.monotonic() - started < 0.9
    assert (info.value.kind, info.value.title) == (ErrorKind.RETRYABLE, "timeout")
    # The attempt is logged at once, although the sandbox is still hanging on it.
    [record] = sent_log(base)
    assert (record["status_code"], record["fault"]) == (503, "timeout")

    # A patient client gets the 503 (Graph code 2) after the hang.
    started = time.monotonic()
    response = graph_post(base, text_body(CUSTOMER))
    assert time.monotonic() - started >= 0.95
    assert response.status_code == 503 and response.json()["error"]["code"] == 2
    assert status_webhook_ids(receiver) == set()


def test_rate_is_seeded_and_only_accepted_sends_get_a_wamid_and_statuses(sandbox, receiver):
    base = sandbox()
    inbound(base, CUSTOMER)
    receiver.next()

    def run(seed: int) -> list[int]:
        set_rate(base, rate=0.4, kinds=["429", "500", "503raw"], seed=seed)
        return [graph_post(base, text_body(CUSTOMER, f"n{i}")).status_code for i in range(25)]

    first, again, other = run(7), run(7), run(8)
    assert first == again != other
    assert 3 <= sum(code != 200 for code in first) <= 20
    assert set(first) <= {200, 429, 500, 503}

    log = sent_log(base)
    assert len(log) == 75
    accepted = [r["response"]["messages"][0]["id"] for r in log if r["status_code"] == 200]
    assert all(r["fault"] is not None and "messages" not in str(r["response"]) for r in log if r["status_code"] != 200)
    assert status_webhook_ids(receiver, settle=0.5) == set(accepted)


def test_delete_clears_the_rate_and_count_faults_still_come_first(sandbox, receiver):
    base = sandbox()
    inbound(base, CUSTOMER)
    set_rate(base, rate=1.0, kinds=["500"])
    assert set_rate(base, code=131026, count=1) == {"pending": 1, "rate": 1.0, "kinds": ["500"]}

    assert graph_post(base, text_body(CUSTOMER)).json()["error"]["code"] == 131026
    assert graph_post(base, text_body(CUSTOMER)).status_code == 500
    assert httpx.delete(f"{base}/_sandbox/faults").json() == {"pending": 0}
    assert send(base, CUSTOMER).provider_message_id.startswith("wamid.")
    assert [r["fault"] for r in sent_log(base)] == ["code", "500", None]


@pytest.mark.parametrize("body", [
    {},
    {"rate": 1.5},
    {"rate": -0.1},
    {"rate": 0.5, "kinds": []},
    {"rate": 0.5, "kinds": ["teapot"]},
    {"rate": 0.5, "hang_seconds": -1},
])
def test_bad_fault_requests_are_refused(sandbox, body):
    base = sandbox()
    assert httpx.post(f"{base}/_sandbox/faults", json=body).status_code == 422
    assert httpx.delete(f"{base}/_sandbox/faults").json() == {"pending": 0}
