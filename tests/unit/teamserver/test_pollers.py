"""The polling loop on a real team database and the real ingest writer, with a scripted provider: the
cursor moves only after what came with it is stored, a provider's retry-after is waited exactly, other
errors back off with jitter, polling the same items again stores nothing twice, and health is recorded."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest
from sqlmodel import Session, select

from services.channels.base import ChannelError, ErrorKind, InboundMessage, WebhookBatch
from services.teamserver import pollers
from services.teamserver.db import init_db, make_engine
from services.teamserver.events import Broadcaster
from services.teamserver.ingestor import Ingestor
from services.teamserver.models import Message
from tests.support import DATABASES, team_database

T = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def message(n: int) -> InboundMessage:
    return InboundMessage(channel="telegram", account_id="bot", provider_message_id=f"42:{n}", sender_handle="42",
                          sender_name="Lu", kind="text", text=f"hola {n}", sent_at=T)


class ScriptedProvider:
    """Answers each poll with the next scripted step (a PollResult, or a ChannelError to raise) and notes the
    cursor it was asked with."""

    channel = "telegram"

    def __init__(self, *steps) -> None:
        self.steps = list(steps)
        self.asked: list[str | None] = []

    async def poll(self, cursor):
        self.asked.append(cursor)
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


@pytest.fixture(params=DATABASES)
def engine(request, tmp_path):
    with team_database(request.param, tmp_path) as url:
        engine = make_engine(url)
        init_db(engine)
        yield engine
        engine.dispose()


def run(engine, provider, steps: int, *, fail_store: bool = False):
    async def main():
        ingestor = Ingestor(engine, Broadcaster(0))
        ingestor.start()
        try:
            async def store(batch):
                if fail_store:
                    raise RuntimeError("database gone")
                return await ingestor.submit(batch)

            poller = pollers.Poller(engine, provider, store, base_backoff=2.0, max_backoff=60.0)
            waits = []
            for _ in range(steps):
                try:
                    waits.append(await poller.poll_once())
                except RuntimeError:
                    waits.append(None)
            return poller, waits
        finally:
            await asyncio.to_thread(ingestor.stop)

    return asyncio.run(main())


def stored(engine) -> list[str]:
    with Session(engine) as s:
        return sorted(s.exec(select(Message.provider_id).where(Message.direction == "in")).all())


def test_the_cursor_moves_only_after_the_batch_is_stored_and_repeats_store_nothing_twice(engine):
    page = pollers.PollResult(WebhookBatch(messages=[message(1), message(2)]), cursor="101", wait=0.0)
    provider = ScriptedProvider(page)
    run(engine, provider, 1, fail_store=True)
    # Storing failed: the cursor did not move, so the next poll asks for the same items again.
    assert pollers.load_cursor(engine, "telegram") is None and stored(engine) == []
    provider = ScriptedProvider(page, page, pollers.PollResult(WebhookBatch(), cursor=None, wait=5.0))
    poller, waits = run(engine, provider, 3)
    assert provider.asked == [None, "101", "101"]
    assert stored(engine) == ["42:1", "42:2"]  # the repeat stored nothing new
    assert pollers.load_cursor(engine, "telegram") == "101"
    assert waits == [0.0, 0.0, 5.0] and poller.stored == 2
    assert "last_ok_at" in pollers.read_health(engine, "telegram")


def test_retry_after_is_waited_exactly_and_other_errors_back_off_with_jitter(engine):
    limited = ChannelError(ErrorKind.RETRYABLE, "Too Many Requests: retry after 17", code=429, retry_after=17)
    down = ChannelError(ErrorKind.RETRYABLE, "Bad Gateway", code=502)
    ok = pollers.PollResult(WebhookBatch(), cursor="7", wait=0.0)
    poller, waits = run(engine, ScriptedProvider(limited, down, down, down, ok, down), 6)
    assert waits[0] == 17
    # 2 s, 4 s, 8 s before jitter (each in [half, full]), reset after a success.
    assert 1.0 <= waits[1] <= 2.0 and 2.0 <= waits[2] <= 4.0 and 4.0 <= waits[3] <= 8.0
    assert waits[4] == 0.0 and 1.0 <= waits[5] <= 2.0
    health = pollers.read_health(engine, "telegram")
    assert health["last_error"] == "Bad Gateway" and health["last_error_kind"] == "retryable"
    assert health["last_error_code"] == 502 and "last_ok_at" in health


def test_the_loop_keeps_polling_after_a_crash_and_stops_when_asked(engine):
    class Crashing(ScriptedProvider):
        async def poll(self, cursor):
            self.asked.append(cursor)
            if len(self.asked) == 1:
                raise KeyError("a bug in the connector")
            return pollers.PollResult(WebhookBatch(), cursor=None, wait=0.01)

    async def main():
        provider = Crashing()
        waits = []

        async def sleep(seconds):
            waits.append(seconds)
            await asyncio.sleep(0)

        async def store(batch):
            return 0

        poller = pollers.Poller(engine, provider, store, base_backoff=3.0, sleep=sleep)
        poller.start()
        while len(provider.asked) < 3:
            await asyncio.sleep(0.01)
        await poller.stop()
        return provider, waits

    provider, waits = asyncio.run(main())
    assert waits[0] == 3.0 and waits[1:3] == [0.01, 0.01]


def test_a_poll_with_news_and_a_failed_endpoint_shows_the_failure_until_a_clean_poll(engine):
    from services.teamserver.channel_setup import problems

    refused = ChannelError(ErrorKind.AUTH_EXPIRED, "Unauthorized", code=401)
    provider = ScriptedProvider(
        pollers.PollResult(WebhookBatch(messages=[message(7)]), cursor="7", errors=(refused,)))
    run(engine, provider, 1)
    assert stored(engine) == ["42:7"]  # the news is kept
    health = pollers.read_health(engine, "telegram")
    assert health["last_error_kind"] == "auth_expired"
    assert problems("telegram", connected=True, unreadable=False, health=health, token_expires_at=None,
                    connected_at=None) == ["auth_refused"]
    run(engine, ScriptedProvider(pollers.PollResult(WebhookBatch(), cursor=None)), 1)
    health = pollers.read_health(engine, "telegram")
    assert problems("telegram", connected=True, unreadable=False, health=health, token_expires_at=None,
                    connected_at=None) == []
