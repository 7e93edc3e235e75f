"""A customer's public posts (mentions, comments) and private messages on one channel are two conversations,
and an answer in a public one replies to the customer's newest public post."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from services.channels.base import InboundMessage, WebhookBatch
from services.teamserver.db import init_db, make_engine
from services.teamserver.dispatcher import Dispatcher
from services.teamserver.events import Broadcaster
from services.teamserver.ingest import ingest_batches
from services.teamserver.models import Conversation, Message
from tests.support import DATABASES, team_database

T = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)


@pytest.fixture(params=DATABASES)
def engine(request, tmp_path):
    with team_database(request.param, tmp_path) as url:
        engine = make_engine(url)
        init_db(engine)
        yield engine
        engine.dispose()


def post(engine, pid: str, text: str, *, public: bool, at: datetime, handle: str = "u1") -> None:
    message = InboundMessage(channel="x", account_id="brand", provider_message_id=pid, sender_handle=handle,
                             sender_name="Lu", kind="text", text=text, sent_at=at, public=public)
    with Session(engine) as s:
        ingest_batches(s, [WebhookBatch(messages=[message])])
        s.commit()


def conversations(engine) -> list[tuple[bool, list[str]]]:
    with Session(engine) as s:
        out = []
        for conv in s.exec(select(Conversation).order_by(Conversation.id)).all():
            texts = s.exec(select(Message.text).where(Message.conversation_id == conv.id)
                           .order_by(Message.id)).all()
            out.append((conv.public, list(texts)))
        return out


def test_public_posts_and_private_messages_of_one_customer_are_two_conversations(engine):
    post(engine, "t1", "@brand my order never came", public=True, at=T)
    post(engine, "d1", "order 123, can you check?", public=False, at=T + timedelta(minutes=1))
    post(engine, "t2", "@brand still waiting", public=True, at=T + timedelta(minutes=2))
    post(engine, "d2", "thanks", public=False, at=T + timedelta(minutes=3))
    post(engine, "t3", "@brand hello", public=True, at=T + timedelta(minutes=4), handle="u2")
    assert conversations(engine) == [
        (True, ["@brand my order never came", "@brand still waiting"]),
        (False, ["order 123, can you check?", "thanks"]),
        (True, ["@brand hello"]),
    ]


def test_a_public_answer_replies_to_the_newest_public_post_and_a_private_one_to_nobody(engine):
    post(engine, "t1", "@brand broken", public=True, at=T)
    post(engine, "t2", "@brand hello??", public=True, at=T + timedelta(minutes=2))
    post(engine, "d1", "details", public=False, at=T + timedelta(minutes=3))
    with Session(engine) as s:
        public, private = s.exec(select(Conversation).order_by(Conversation.id)).all()
        for conv, text in ((public, "We're on it"), (private, "Thanks, checking")):
            s.add(Message(conversation_id=conv.id, channel="x", direction="out", text=text, author_agent_id=None,
                          delivery_state="pending"))
        s.commit()
        public_id, private_id = public.id, private.id
    dispatcher = Dispatcher(engine, Broadcaster(0), {})
    message, outbound = dispatcher._oldest_pending(public_id)
    assert (outbound.text, outbound.public, outbound.reply_to_provider_id, outbound.recipient_handle) == \
        ("We're on it", True, "t2", "u1")
    message, outbound = dispatcher._oldest_pending(private_id)
    assert (outbound.public, outbound.reply_to_provider_id) == (False, None)
