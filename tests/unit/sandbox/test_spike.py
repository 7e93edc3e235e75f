"""The sandbox's crisis on demand: distinct new customers, negative texts about the topic, spread in time, and
its HTTP endpoint posting signed webhooks."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from services.channels.whatsapp import sign
from services.sandbox.spike import MAX_COUNT, TEXTS, compose, send_spike
from services.sandbox.traffic import PERSONAS
from services.sandbox.whatsapp_api import SandboxConfig, create_app
from services.teamserver import crisis
from services.teamserver.sentiment import classify
from workstation import protocol

TOPICS = protocol.CrisisSettings().topics


@pytest.mark.parametrize("topic", list(TEXTS))
@pytest.mark.parametrize("language", ["es", "en", "mixed"])
def test_each_message_is_a_new_customer_complaining_about_the_topic(topic, language):
    messages = compose(topic, 200, language, seed=1)
    assert len({m.wa_id for m in messages}) == 200
    assert not {m.wa_id for m in messages} & {p.wa_id for p in PERSONAS}
    assert all(m.wa_id.isdigit() and 5 <= len(m.wa_id) <= 20 and m.name for m in messages)
    for m in messages:
        assert classify(m.text) == "negative", m.text
        found = [t for t, keywords in TOPICS.items() if crisis.matches(m.text, crisis.variants(tuple(keywords)))]
        assert topic in found, m.text
    if language == "mixed":
        assert {m.language for m in messages} == {"es", "en"}


def test_another_topic_names_itself_and_counts_are_bounded():
    assert all("envíos" in m.text for m in compose("envíos", 5, "es"))
    for bad in (0, MAX_COUNT + 1):
        with pytest.raises(ValueError):
            compose("outage", bad)


def test_sends_are_spread_over_the_seconds_given():
    sent: list[float] = []

    async def send(wa_id: str, name: str, text: str):
        sent.append(asyncio.get_running_loop().time())
        return {"id": "x"} if len(sent) % 5 else {"id": "x", "delivered": False}

    async def run() -> tuple[int, float]:
        start = asyncio.get_running_loop().time()
        delivered = await send_spike(send, compose("outage", 10, seed=2), 0.5)
        return delivered, start

    delivered, start = asyncio.run(run())
    assert delivered == 8  # two were not delivered
    assert len(sent) == 10 and sent[-1] - start >= 0.4 and sent[4] - start >= 0.2


def test_the_endpoint_posts_signed_webhooks_from_distinct_customers(serve, receiver):
    config = SandboxConfig(app_secret="s3cret", access_token="token", phone_number_id="123",
                           webhook_url=serve(receiver.app) + receiver.path)
    url = serve(create_app(config))
    r = httpx.post(f"{url}/_sandbox/spike",
                   json={"topic": "fraud", "count": 6, "seconds": 0.2, "language": "en", "wait": True}, timeout=30)
    assert r.status_code == 200
    assert r.json() == {"topic": "fraud", "count": 6, "seconds": 0.2, "customers": 6, "delivered": 6}
    assert httpx.post(f"{url}/_sandbox/spike", json={"topic": "fraud", "count": 0}).status_code == 422
    deliveries = [receiver.next() for _ in range(6)]
    senders = set()
    for delivery in deliveries:
        assert delivery.headers["x-hub-signature-256"] == sign("s3cret", delivery.body)
        value = json.loads(delivery.body)["entry"][0]["changes"][0]["value"]
        senders.add(value["messages"][0]["from"])
        assert value["messages"][0]["text"]["body"] in TEXTS["fraud"]["en"]
    assert len(senders) == 6
