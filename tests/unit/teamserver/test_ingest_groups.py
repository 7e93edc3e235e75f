"""Set-based ingest and group commit, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from services.channels.base import DeliveryStatus, InboundMessage, WebhookBatch
from services.teamserver import changes
from services.teamserver.db import init_db, make_engine
from services.teamserver.events import Broadcaster
from services.teamserver.ingest import ingest_batches
from services.teamserver.ingestor import Ingestor
from services.teamserver.models import Conversation, Customer, Identity, Message, ProviderStatus
from tests.support import DATABASES, team_database

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(params=DATABASES)
def engine(request, tmp_path):
    with team_database(request.param, tmp_path) as url:
        engine = make_engine(url)
        init_db(engine)
        yield engine
        engine.dispose()


def msg(wamid: str, handle: str, text: str, minute: int, name: str = "") -> InboundMessage:
    return InboundMessage(channel="whatsapp", account_id="1", provider_message_id=wamid, sender_handle=handle,
                          sender_name=name, kind="text", text=text, sent_at=T0 + timedelta(minutes=minute))


def store(engine, *batches: WebhookBatch) -> int:
    with Session(engine) as s:
        new = ingest_batches(s, list(batches))
        s.commit()
        return new


def test_a_group_threads_new_senders_once_and_skips_repeats(engine):
    a1, a2 = msg("w1", "34600000001", "hola", 1, "Ana"), msg("w2", "34600000001", "¿sigue ahí?", 3, "Ana R.")
    b1 = msg("w3", "34600000002", "hello", 2)
    assert store(engine, WebhookBatch(messages=[a2, b1]), WebhookBatch(messages=[a1, a1, b1])) == 3
    assert store(engine, WebhookBatch(messages=[a1, b1])) == 0  # redelivered: nothing new
    with Session(engine) as s:
        assert len(s.exec(select(Customer)).all()) == 2
        identities = {i.handle: i for i in s.exec(select(Identity)).all()}
        assert identities["34600000001"].display_name == "Ana R."  # the newest name
        assert identities["34600000002"].display_name == ""
        ana = s.exec(select(Conversation).where(Conversation.identity_id == identities["34600000001"].id)).one()
        assert ana.inbound_count == 2 and ana.last_message_preview == "¿sigue ahí?"
        assert ana.last_message_at == a2.sent_at and ana.last_inbound_at == a2.sent_at
        assert len(s.exec(select(Message)).all()) == 3
        logged = {(c.entity, c.entity_id) for c in s.exec(select(changes.Change)).all()}
    assert ("conversation", ana.id) in logged and ("identity", identities["34600000002"].id) in logged


def test_a_late_older_message_keeps_the_latest_preview_and_a_resolved_case_is_not_reopened(engine):
    store(engine, WebhookBatch(messages=[msg("w1", "34600000003", "second", 5)]))
    store(engine, WebhookBatch(messages=[msg("w0", "34600000003", "first", 1)]))
    with Session(engine) as s:
        conversation = s.exec(select(Conversation)).one()
        assert conversation.last_message_preview == "second" and conversation.inbound_count == 2
        conversation.status = "resolved"
        s.add(conversation)
        s.commit()
    store(engine, WebhookBatch(messages=[msg("w9", "34600000003", "again", 9)]))
    with Session(engine) as s:
        rows = s.exec(select(Conversation).order_by(Conversation.id)).all()
    assert [(c.status, c.last_message_preview) for c in rows] == [("resolved", "second"), ("open", "again")]


def test_statuses_are_recorded_once_and_move_their_message_forward(engine):
    store(engine, WebhookBatch(messages=[msg("w1", "34600000004", "hola", 1)]))
    with Session(engine) as s:
        conversation = s.exec(select(Conversation)).one()
        s.add(Message(conversation_id=conversation.id, channel="whatsapp", direction="out", text="hi",
                      provider_id="out1", delivery_state="accepted"))
        s.commit()

    def status(name: str) -> DeliveryStatus:
        return DeliveryStatus(channel="whatsapp", provider_message_id="out1", status=name, occurred_at=T0,
                              recipient_handle="34600000004")

    assert store(engine, WebhookBatch(statuses=[status("read"), status("delivered"), status("read")])) == 2
    assert store(engine, WebhookBatch(statuses=[status("delivered")])) == 0
    with Session(engine) as s:
        out = s.exec(select(Message).where(Message.provider_id == "out1")).one()
        assert out.delivery_state == "read"
        assert len(s.exec(select(ProviderStatus)).all()) == 2


def test_webhooks_arriving_together_share_one_commit_and_each_waits_for_it(engine):
    async def run() -> tuple[list[int], Ingestor]:
        broadcaster = Broadcaster()
        broadcaster.bind(asyncio.get_running_loop())
        ingestor = Ingestor(engine, broadcaster)
        ingestor.start()
        try:
            results = await asyncio.gather(*(
                ingestor.submit(WebhookBatch(messages=[msg(f"g{i}", f"3460001{i:04d}", f"m{i}", i % 50)]))
                for i in range(300)
            ))
            # Acknowledged means committed: a fresh connection sees every message.
            with Session(engine) as s:
                stored = s.exec(sa.select(sa.func.count()).select_from(Message)).scalar_one()
            assert stored == 300
            await asyncio.sleep(0.05)
            assert broadcaster.latest == _latest(engine)
            return results, ingestor
        finally:
            await asyncio.to_thread(ingestor.stop)

    results, ingestor = asyncio.run(run())
    assert all(r >= 1 for r in results)  # each answer is its commit's count of new records
    assert ingestor.webhooks == 300 and ingestor.commits < 300


def test_one_bad_webhook_in_a_group_fails_alone(engine):
    async def run():
        broadcaster = Broadcaster()
        broadcaster.bind(asyncio.get_running_loop())
        ingestor = Ingestor(engine, broadcaster)
        ingestor.start()
        try:
            good = [WebhookBatch(messages=[msg(f"ok{i}", f"3460002{i:04d}", "fine", 1)]) for i in range(20)]
            # Text NULL violates the table's NOT NULL: the database refuses this one webhook.
            bad = WebhookBatch(messages=[dataclasses.replace(msg("bad", "34600030000", "x", 1), text=None)])
            return await asyncio.gather(*(ingestor.submit(b) for b in good[:10] + [bad] + good[10:]),
                                        return_exceptions=True)
        finally:
            await asyncio.to_thread(ingestor.stop)

    results = asyncio.run(run())
    assert all(isinstance(r, int) and r >= 1 for r in results[:10] + results[11:])
    assert isinstance(results[10], RuntimeError)
    with Session(engine) as s:
        assert len(s.exec(select(Message)).all()) == 20


def _latest(engine) -> int:
    with Session(engine) as s:
        return changes.latest_seq(s)
