"""Sentiment of customer messages: Spanish and English lexicons, negation, "but", emoji, the spike texts of the
sandbox, hostile text that never raises and stays fast, and sentiment and urgency stored at ingest."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from services.channels.base import InboundMessage, WebhookBatch
from services.sandbox.spike import TEXTS
from services.sandbox.traffic import MESSAGES
from services.teamserver.db import init_db, make_engine
from services.teamserver.ingest import ingest_batches
from services.teamserver.models import Message
from services.teamserver.sentiment import classify, score
from tests.support import DATABASES, team_database


@pytest.mark.parametrize("text, expected", [
    ("La app no funciona desde ayer y nadie contesta", "negative"),
    ("Es una vergüenza, llevo tres días esperando", "negative"),
    ("ESTO ES UNA VERGÜENZA", "negative"),  # case and accents
    ("Pésimo servicio", "negative"),
    ("Estoy muy decepcionada con el pedido", "negative"),  # decepcion*
    ("No es bueno", "negative"),  # a negated positive
    ("No estoy contento con la reparación", "negative"),
    ("Gracias, pero sigue sin funcionar", "negative"),  # politeness weighs less than the complaint after "pero"
    ("El producto es bueno pero la atención es pésima", "negative"),
    ("¡Muchas gracias! Sois geniales, me encanta", "positive"),
    ("Todo perfecto, enhorabuena al equipo", "positive"),
    ("Hola, ¿a qué hora abrís el sábado?", "neutral"),
    ("Quiero cambiar la dirección de envío", "neutral"),
])
def test_spanish(text, expected):
    assert classify(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("The app is not working and nobody answers", "negative"),
    ("Worst service ever, I'm furious", "negative"),
    ("I'm not happy with the repair", "negative"),
    ("It's not good enough", "negative"),
    ("Thanks, but it still doesn't work", "negative"),
    ("Really disappointed, the box arrived smashed", "negative"),
    ("Thank you so much, great help!", "positive"),
    ("Brilliant, it arrived early. Well done", "positive"),
    ("I can't wait to try it!", "positive"),  # "can not wait" outweighs "can not"
    ("What time do you open on Saturday?", "neutral"),
    ("Please send me the invoice", "neutral"),
])
def test_english(text, expected):
    assert classify(text) == expected


@pytest.mark.parametrize("text", [
    "no está mal", "No está nada mal, la verdad", "no hay ningún problema", "sin problema, cuando podáis",
    "not bad", "not bad at all", "no problem, take your time", "never had an issue with you",
])
def test_a_negated_complaint_is_not_negative(text):
    assert classify(text) != "negative"
    assert score(text) > 0, "a negated complaint leans positive"


@pytest.mark.parametrize("text", ["no me gusta nada", "no es lo que esperaba", "not what I expected", "not happy"])
def test_a_negated_liking_is_negative(text):
    assert classify(text) == "negative"


def test_negation_stops_at_the_clause():
    # "no" belongs to the first clause; "mal" in the second is not negated.
    assert classify("No lo sé, pero esto va fatal") == "negative"
    assert classify("No, the service is terrible") == "negative"


@pytest.mark.parametrize("text, expected", [
    ("😡", "negative"), ("👎👎", "negative"), ("🙏", "positive"), ("😊", "positive"), ("👍", "positive"),
    ("Pedido #A12345 😡", "negative"), ("Order arrived 👍", "positive"), ("Recibido 🙏😊", "positive"),
    ("ok :(", "negative"), ("ok :)", "positive"), ("❤️", "positive"),
])
def test_emoji(text, expected):
    assert classify(text) == expected


def test_emoji_are_capped_so_words_still_count():
    # Three happy faces cannot outweigh a strong complaint.
    assert classify("Esto es una estafa y una vergüenza 😊😊😊") == "negative"
    assert score("😡😡😡😡😡😡") == -2


def test_every_sandbox_spike_text_is_negative():
    texts = [t for by_language in TEXTS.values() for group in by_language.values() for t in group]
    assert texts and [t for t in texts if classify(t) != "negative"] == []


def test_the_demo_traffic_reads_as_expected():
    """Complaints in the sandbox's everyday traffic are negative, compliments positive, questions neutral."""
    def openers(category: str) -> list[str]:
        return [t.format(product="el altavoz", order="#A1", days=3, months=2)
                for language in ("es", "en") for t in MESSAGES[category][language][0]]

    assert [t for t in openers("compliment") if classify(t) != "positive"] == []
    assert sum(classify(t) == "negative" for t in openers("complaint")) >= 4
    assert [t for t in openers("hours") + openers("shipping") if classify(t) == "negative"] == []


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_any_text_classifies_without_raising(text):
    assert classify(text) in ("negative", "neutral", "positive")


@pytest.mark.parametrize("value", [None, 42, b"\xff\xfe pesimo", "\ud800 mal", "\x00" * 10, "‮ terrible"])
def test_hostile_values(value):
    assert classify(value) in ("negative", "neutral", "positive")


def test_it_is_fast_and_reads_only_the_start_of_a_huge_text():
    text = "No funciona. " * 200_000  # 2.6 MB
    started = time.perf_counter()
    assert classify(text) == "negative"
    assert time.perf_counter() - started < 0.5
    typical = "Hola, llevo tres días sin servicio y nadie me contesta, es una vergüenza 😡"
    started = time.perf_counter()
    for _ in range(2000):
        classify(typical)
    per_message = (time.perf_counter() - started) / 2000
    assert per_message < 200e-6, f"{per_message * 1e6:.0f} µs per message"


# -- stored at ingest ---------------------------------------------------------------------------------------
@pytest.fixture(params=DATABASES)
def engine(request, tmp_path):
    with team_database(request.param, tmp_path) as url:
        engine = make_engine(url)
        init_db(engine)
        yield engine
        engine.dispose()


def test_ingest_stores_each_messages_own_sentiment_and_urgency(engine):
    t0 = datetime(2026, 11, 20, 10, tzinfo=timezone.utc)
    texts = ["Hola, buenos días", "Esto es un fraude, me han cobrado dos veces 😡", "¡Muchas gracias! 🙏",
             "The app is not working"]
    messages = [InboundMessage(channel="whatsapp", account_id="1", provider_message_id=f"s{i}",
                               sender_handle="34600000001" if i < 3 else "34600000002", sender_name="",
                               kind="text", text=text, sent_at=t0 + timedelta(seconds=i))
                for i, text in enumerate(texts)]
    with Session(engine) as s:
        # One group, two conversations, three messages in one of them: each row gets its own reading.
        assert ingest_batches(s, [WebhookBatch(messages=list(reversed(messages)))]) == 4
        s.commit()
    with Session(engine) as s:
        stored = {m.text: (m.sentiment, m.urgency) for m in s.exec(select(Message)).all()}
    assert stored == {
        "Hola, buenos días": ("neutral", "normal"),
        "Esto es un fraude, me han cobrado dos veces 😡": ("negative", "urgent"),
        "¡Muchas gracias! 🙏": ("positive", "normal"),
        "The app is not working": ("negative", "high"),
    }
