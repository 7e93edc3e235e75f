"""The satisfaction survey: reading answers (Spanish, English, emoji), and sending and recording on a real team
database (SQLite and PostgreSQL) through the ingest path."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from services.channels.base import InboundMessage, WebhookBatch
from services.teamserver import care, csat
from services.teamserver.db import init_db, make_engine
from services.teamserver.ingest import ingest_batches
from services.teamserver.models import Agent, Conversation, CsatSurvey, Customer, Identity, Message
from tests.support import DATABASES, team_database
from workstation import protocol

NOW = datetime.now(timezone.utc).replace(microsecond=0)


# -- reading answers -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, score", [
    ("4", 4), (" 5 ", 5), ("1", 1), ("3.", 3), ("¡5!", 5), ("4 🙂", 4), ("«2»", 2),
    ("5 estrellas", 5), ("1 estrella", 1), ("4 stars", 4), ("1 star", 1), ("4 out of 5 stars", 4),
    ("4/5", 4), ("5 / 5", 5), ("3 de 5", 3), ("4 sobre 5", 4), ("un 4", 4), ("Le doy un 5", 5), ("I'd give a 4", 4),
    ("uno", 1), ("Dos", 2), ("TRES", 3), ("cuatro", 4), ("cinco", 5), ("una estrella", 1), ("cinco estrellas", 5),
    ("one", 1), ("two", 2), ("Three", 3), ("four", 4), ("five stars", 5),
    ("5, gracias!", 5), ("5 muchas gracias", 5), ("4 thanks", 4),
    ("⭐", 1), ("⭐⭐⭐", 3), ("⭐ ⭐ ⭐ ⭐ ⭐", 5), ("⭐️⭐️⭐️⭐️", 4), ("★★", 2), ("🌟🌟🌟🌟🌟", 5),
    ("1️⃣", 1), ("3️⃣", 3), ("5️⃣", 5), ("4\u20e3", 4), ("５", 5),
])
def test_an_answer_gives_its_score(text, score):
    assert csat.parse_answer(text) == score


@pytest.mark.parametrize("text", [
    "", "   ", "0", "6", "10", "45", "4.5", "4,5", "1-5", "3/10", "0️⃣", "6️⃣", "⭐⭐⭐⭐⭐⭐", "👍", "😡",
    "hola", "gracias", "seis", "six", "mi pedido 5", "5 minutos", "tengo 3 preguntas", "order 4",
    "Todavía no me ha llegado el pedido", "2 unidades por favor", "5 estrellas pero el pedido sigue sin llegar " * 2,
])
def test_anything_else_is_not_an_answer(text):
    assert csat.parse_answer(text) is None


def test_texts_are_picked_in_the_customers_language_else_spanish_else_any():
    texts = {"es": "hola", "en": "hello"}
    assert csat.localized(texts, "en") == "hello"
    assert csat.localized(texts, "fr") == "hola"
    assert csat.localized(texts, None) == "hola"
    assert csat.localized({"en": "hello", "es": " "}, "es") == "hello"
    assert csat.localized({}, "es") == ""


def _message(text: str, at: datetime, kind: str = "text", handle: str = "h", key: str | None = None) -> InboundMessage:
    return InboundMessage(channel="whatsapp", account_id="1", provider_message_id=key or f"{handle}-{text}-{at}",
                          sender_handle=handle, sender_name="", kind=kind, text=text, sent_at=at)


def test_only_the_first_message_after_the_survey_can_answer_it():
    window = timedelta(hours=72)

    def pending():
        return {7: {"id": 1, "sent_at": NOW, "window": window}}

    surveys = pending()
    assert csat.take_answer(surveys, 7, _message("4", NOW + timedelta(minutes=1))) == (
        {"id": 1, "sent_at": NOW, "window": window}, 4)
    assert surveys == {}  # used up: a second "5" is a normal message
    surveys = pending()
    assert csat.take_answer(surveys, 7, _message("hola", NOW + timedelta(minutes=1))) is None
    assert surveys == {}  # a normal message reopens: a "5" after it is part of the conversation
    assert csat.take_answer(pending(), 8, _message("4", NOW)) is None  # another conversation's survey
    # Within the window only; a provider's whole-second clock may put a quick answer a moment before the survey.
    assert csat.take_answer(pending(), 7, _message("4", NOW + window)) is not None
    assert csat.take_answer(pending(), 7, _message("4", NOW + window + timedelta(seconds=1))) is None
    assert csat.take_answer(pending(), 7, _message("4", NOW - timedelta(seconds=1))) is not None
    assert csat.take_answer(pending(), 7, _message("4", NOW - timedelta(minutes=5))) is None
    # A reaction or a photo caption is not an answer.
    assert csat.take_answer(pending(), 7, _message("⭐", NOW + timedelta(minutes=1), kind="reaction")) is None
    assert csat.take_answer(pending(), 7, _message("5", NOW + timedelta(minutes=1), kind="image")) is None
    assert csat.take_answer(pending(), 7, _message("5", NOW + timedelta(minutes=1), kind="interactive")) is not None


# -- on a real team database -----------------------------------------------------------------------------------
@pytest.fixture(params=DATABASES)
def engine(request, tmp_path):
    with team_database(request.param, tmp_path) as url:
        engine = make_engine(url)
        init_db(engine)
        yield engine
        engine.dispose()


def write(engine, handle: str, *texts: str, at: datetime | None = None) -> list[tuple[int, int]]:
    """Stores the customer's messages in one group; returns the replies the server queued meanwhile."""
    at = at or utc_now()
    messages = [_message(text, at + timedelta(milliseconds=i), handle=handle, key=f"{handle}-{at}-{i}")
                for i, text in enumerate(texts)]
    with Session(engine) as s:
        ingest_batches(s, [WebhookBatch(messages=messages)])
        s.commit()
        return csat.take_queued(s)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def conversation_of(engine, handle: str) -> Conversation:
    with Session(engine) as s:
        conv = s.exec(select(Conversation).join(Identity, Identity.id == Conversation.identity_id)
                      .where(Identity.handle == handle).order_by(Conversation.id.desc())).first()
        s.expunge(conv)
        return conv


def set_csat(engine, **values) -> None:
    with Session(engine) as s:
        care.save(s, protocol.CareSettings(csat=protocol.CsatSettings(**values)))
        s.commit()


@pytest.fixture
def agent_id(engine) -> int:
    with Session(engine) as s:
        agent = Agent(email="ana@example.test", name="Ana", password_hash="x")
        s.add(agent)
        s.commit()
        return agent.id


def resolve(engine, handle: str, agent_id: int | None, *, now: datetime | None = None, **values) -> int | None:
    """Answers and resolves the customer's conversation as the routes do; returns the survey message id, if any."""
    now = now or utc_now()
    with Session(engine) as s:
        conv = s.get(Conversation, conversation_of(engine, handle).id)
        care.answered(conv, now)
        for key, value in values.items():
            setattr(conv, key, value)
        conv.status, conv.resolved_at, conv.assignee_id = "resolved", now, agent_id
        message_id = csat.send_survey(s, conv, agent_id=None, now=now)
        s.add(conv)
        s.commit()
        queued = csat.take_queued(s)
        assert queued == ([(message_id, conv.id)] if message_id else [])
        return message_id


def surveys(engine, handle: str) -> list[CsatSurvey]:
    with Session(engine) as s:
        rows = s.exec(select(CsatSurvey).where(CsatSurvey.conversation_id == conversation_of(engine, handle).id)
                      .order_by(CsatSurvey.id)).all()
        for row in rows:
            s.expunge(row)
        return rows


def messages(engine, handle: str) -> list[Message]:
    with Session(engine) as s:
        rows = s.exec(select(Message).where(Message.conversation_id == conversation_of(engine, handle).id)
                      .order_by(Message.id)).all()
        for row in rows:
            s.expunge(row)
        return rows


def test_an_answer_is_recorded_thanked_and_leaves_the_conversation_resolved(engine, agent_id):
    set_csat(engine, enabled=True)
    write(engine, "a1", "¿Dónde está mi pedido?")
    survey_message = resolve(engine, "a1", agent_id)
    assert survey_message is not None
    queued = write(engine, "a1", "4 ⭐")
    conv = conversation_of(engine, "a1")
    assert conv.status == "resolved" and conv.reopened_count == 0 and conv.resolved_at is not None
    assert conv.waiting_since is None and conv.sla_kind is None and conv.unanswered_count == 0
    assert conv.last_message_preview == "4 ⭐" and conv.inbound_count == 2
    [survey] = surveys(engine, "a1")
    assert (survey.score, survey.agent_id, survey.message_id, survey.channel) == (4, agent_id, survey_message,
                                                                                 "whatsapp")
    assert survey.answered_at is not None and survey.customer_id == conv.customer_id
    thread = messages(engine, "a1")
    assert [(m.direction, m.kind) for m in thread] == [
        ("in", "text"), ("out", csat.SURVEY_KIND), ("in", csat.ANSWER_KIND), ("out", csat.THANKS_KIND)]
    thanks = thread[-1]
    assert thanks.text == protocol.CsatSettings().thanks["es"] and thanks.delivery_state == "pending"
    assert thanks.author_agent_id is None
    assert queued == [(thanks.id, conv.id)]
    # Used up: another score is a normal message, and reopens.
    assert write(engine, "a1", "5") == []
    conv = conversation_of(engine, "a1")
    assert conv.status == "open" and conv.reopened_count == 1 and conv.waiting_since is not None
    assert surveys(engine, "a1")[0].score == 4


def test_a_normal_message_reopens_and_the_survey_stays_unanswered(engine, agent_id):
    set_csat(engine, enabled=True)
    write(engine, "b1", "hola")
    resolve(engine, "b1", agent_id)
    assert write(engine, "b1", "Una cosa más: ¿hacéis envíos a Canarias?") == []
    conv = conversation_of(engine, "b1")
    assert conv.status == "open" and conv.reopened_count == 1
    assert surveys(engine, "b1")[0].score is None
    assert messages(engine, "b1")[-1].kind == "text"


def test_in_one_group_the_first_message_after_the_survey_decides(engine, agent_id):
    set_csat(engine, enabled=True)
    write(engine, "c1", "hola")
    resolve(engine, "c1", agent_id)
    write(engine, "c1", "5", "y otra pregunta")  # answered, then reopened by the question
    conv = conversation_of(engine, "c1")
    assert surveys(engine, "c1")[0].score == 5 and conv.status == "open" and conv.unanswered_count == 1
    assert [m.kind for m in messages(engine, "c1") if m.direction == "in"] == ["text", csat.ANSWER_KIND, "text"]
    write(engine, "c2", "hola")
    resolve(engine, "c2", agent_id)
    write(engine, "c2", "una pregunta", "5")  # reopened first: the "5" is part of the conversation
    assert surveys(engine, "c2")[0].score is None and conversation_of(engine, "c2").status == "open"
    assert csat.ANSWER_KIND not in [m.kind for m in messages(engine, "c2")]


def test_an_answer_after_the_window_is_a_normal_message(engine, agent_id):
    set_csat(engine, enabled=True, answer_hours=2)
    write(engine, "d1", "hola", at=utc_now() - timedelta(hours=3))
    resolve(engine, "d1", agent_id, now=utc_now() - timedelta(hours=3) + timedelta(minutes=1))
    write(engine, "d1", "5")
    assert surveys(engine, "d1")[0].score is None and conversation_of(engine, "d1").status == "open"


def test_the_survey_goes_out_only_when_enabled_private_and_the_window_open(engine, agent_id):
    write(engine, "e1", "hola")
    assert resolve(engine, "e1", agent_id) is None  # off by default
    set_csat(engine, enabled=True)
    write(engine, "e2", "hola")
    assert resolve(engine, "e2", agent_id, public=True) is None
    write(engine, "e3", "hola", at=utc_now() - timedelta(hours=24))
    assert resolve(engine, "e3", agent_id) is None  # WhatsApp would refuse free text now
    write(engine, "e4", "hola", at=utc_now() - timedelta(hours=23, minutes=57))
    assert resolve(engine, "e4", agent_id) is None  # closing before the survey could get there
    write(engine, "e5", "hola", at=utc_now() - timedelta(hours=23))
    assert resolve(engine, "e5", None) is not None
    assert all(not surveys(engine, h) for h in ("e1", "e2", "e3", "e4"))
    with Session(engine) as s:  # a channel without a reply window gets it whenever
        conv = s.get(Conversation, conversation_of(engine, "e1").id)
        conv.channel, conv.last_inbound_at = "email", utc_now() - timedelta(days=5)
        assert csat.send_survey(s, conv, agent_id=agent_id, now=utc_now()) is not None
        s.rollback()


def test_one_survey_per_answer_window_in_the_customers_language(engine, agent_id):
    set_csat(engine, enabled=True, question={"es": "¿Del 1 al 5?", "en": "From 1 to 5?"})
    write(engine, "f1", "hi")
    with Session(engine) as s:
        customer = s.get(Customer, conversation_of(engine, "f1").customer_id)
        customer.language = "en"
        s.add(customer)
        s.commit()
    first = resolve(engine, "f1", agent_id)
    write(engine, "f1", "one more thing")  # reopens
    assert resolve(engine, "f1", agent_id) is None  # asked already, and not answered: not again
    assert [m.text for m in messages(engine, "f1") if m.kind == csat.SURVEY_KIND] == ["From 1 to 5?"]
    [survey] = surveys(engine, "f1")
    assert survey.message_id == first
    # Once the window has passed, a new resolution gets a new survey.
    later = utc_now() + timedelta(hours=73)
    with Session(engine) as s:
        conv = s.get(Conversation, conversation_of(engine, "f1").id)
        conv.last_inbound_at = later
        assert csat.send_survey(s, conv, agent_id=agent_id, now=later) is not None
        s.rollback()


def test_messages_to_conversations_that_are_not_resolved_never_look_for_a_survey(engine, agent_id):
    set_csat(engine, enabled=True)
    write(engine, "g1", "hola")
    resolve(engine, "g1", agent_id)
    write(engine, "g2", "hola")
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        write(engine, "g2", "5")  # an open conversation: a normal message, no lookup
        assert statements and not any("csat_survey" in s for s in statements)
        assert conversation_of(engine, "g2").unanswered_count == 2
        write(engine, "g1", "5")  # resolved: one lookup, then the answer is recorded
        assert sum("FROM csat_survey" in s for s in statements) == 1
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert surveys(engine, "g1")[0].score == 5


def test_an_email_answer_is_read_from_its_body_not_its_subject():
    window = timedelta(hours=72)
    mail = InboundMessage(channel="email", account_id="support@x.test", provider_message_id="<a@x>",
                          sender_handle="ana@example.test", sender_name="Ana", kind="text",
                          text="Re: ¿Qué tal te atendimos? Responde del 1 al 5\n\n4", sent_at=NOW)
    assert csat.take_answer({7: {"id": 1, "sent_at": NOW, "window": window}}, 7, mail)[1] == 4
    # The subject's own numbers are not the answer: a body that is not a score is no answer.
    chat = InboundMessage(**{**mail.__dict__, "text": "Re: Responde del 1 al 5\n\ngracias, todo bien"})
    assert csat.take_answer({7: {"id": 1, "sent_at": NOW, "window": window}}, 7, chat) is None
