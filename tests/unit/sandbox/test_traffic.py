"""Tests for the sandbox's customer traffic generator."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest

from services.sandbox.traffic import MESSAGES, PERSONAS, TrafficGenerator

LANGUAGE_OF = {p.wa_id: p.language for p in PERSONAS}
NAME_OF = {p.wa_id: p.name for p in PERSONAS}


def template_patterns(language: str) -> list[re.Pattern[str]]:
    templates = [t for by_language in MESSAGES.values() for group in by_language[language] for t in group]
    return [re.compile(".+?".join(_contractible(re.escape(part)) for part in re.split(r"\{\w+\}", t)))
            for t in templates]


def _contractible(escaped: str) -> str:
    # "de {product}" with "el reloj" reads "del reloj" (and "a el" reads "al").
    return re.sub(r"(\bde|\ba)\\ $", r"\1(?:\\ |l\\ )", escaped)


PATTERNS = {language: template_patterns(language) for language in ("es", "en")}


def written_in(text: str, language: str) -> bool:
    return any(p.fullmatch(text) for p in PATTERNS[language])


class Collector:
    """The send callback the sandbox would pass in; records what the generator writes."""

    def __init__(self, fail_first: int = 0) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.fail_first = fail_first
        self.attempts = 0

    async def __call__(self, wa_id: str, name: str, text: str) -> dict[str, str]:
        self.attempts += 1
        if self.attempts <= self.fail_first:
            raise ConnectionError("team server down")
        self.calls.append((wa_id, name, text))
        return {"id": f"wamid.{len(self.calls)}"}


def generate(seed: int, turns: int) -> tuple[Collector, list[list[str]]]:
    collector = Collector()
    generator = TrafficGenerator(collector, seed=seed, initial_conversations=len(PERSONAS), burst_gap=(0, 0))

    async def scenario() -> list[list[str]]:
        await generator.initial_burst()
        return [await generator.send_turn() for _ in range(turns)]

    return collector, asyncio.run(scenario())


def test_messages_come_from_personas_in_their_own_language():
    collector, turns = generate(seed=42, turns=60)

    assert {wa_id for wa_id, _, _ in collector.calls} == set(LANGUAGE_OF)
    for wa_id, name, text in collector.calls:
        assert NAME_OF[wa_id] == name
        language = LANGUAGE_OF[wa_id]
        other = "en" if language == "es" else "es"
        assert written_in(text, language), text
        assert not written_in(text, other), text
    assert {LANGUAGE_OF[wa_id] for wa_id, _, _ in collector.calls} == {"es", "en"}
    assert any(not text.isascii() for _, _, text in collector.calls)
    assert any(ch in "ñáéíóú¿¡" for _, _, text in collector.calls for ch in text)


def test_initial_burst_writes_to_distinct_customers_and_some_write_several_in_a_row():
    collector = Collector()
    generator = TrafficGenerator(collector, seed=7, initial_conversations=8, burst_gap=(0, 0))
    asyncio.run(generator.initial_burst())
    first_senders = list(dict.fromkeys(wa_id for wa_id, _, _ in collector.calls))
    assert len(first_senders) == 8

    _, turns = generate(seed=7, turns=80)
    assert {len(turn) for turn in turns} == {1, 2, 3}


def test_same_seed_same_traffic():
    assert generate(seed=3, turns=20)[0].calls == generate(seed=3, turns=20)[0].calls
    assert generate(seed=3, turns=20)[0].calls != generate(seed=4, turns=20)[0].calls


def test_run_survives_failing_sends(caplog: pytest.LogCaptureFixture):
    collector = Collector(fail_first=3)
    generator = TrafficGenerator(collector, seed=1, interval=(0, 0), initial_conversations=2, burst_gap=(0, 0))

    async def scenario() -> None:
        task = asyncio.create_task(generator.run())
        while len(collector.calls) < 5:
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with caplog.at_level(logging.ERROR, logger="services.sandbox.traffic"):
        asyncio.run(asyncio.wait_for(scenario(), timeout=5))

    assert len(collector.calls) >= 5
    assert caplog.text.count("team server down") >= 1
    assert "failed" in caplog.text


# -- satisfaction surveys -------------------------------------------------------------------------------------
SURVEY_ES = ("¿Cómo valorarías la atención que has recibido? Responde con un número del 1 (muy mal) al 5 "
             "(excelente).")
SURVEY_EN = "How would you rate the help you received? Reply with a number from 1 (very poor) to 5 (excellent)."


def test_customers_answer_a_survey_with_a_score_the_team_server_reads():
    from services.teamserver.csat import parse_answer

    collector = Collector()
    generator = TrafficGenerator(collector, seed=3, survey_answer_rate=1.0, survey_delay=(0, 0))

    async def scenario() -> list[str | None]:
        return [await generator.answer_survey(p.wa_id, SURVEY_ES if p.language == "es" else SURVEY_EN)
                for p in PERSONAS for _ in range(10)]

    answers = asyncio.run(scenario())
    assert len(collector.calls) == len(answers) == 10 * len(PERSONAS)
    assert [text for _, _, text in collector.calls] == answers
    assert all(NAME_OF[wa_id] == name for wa_id, name, _ in collector.calls)
    scores = [parse_answer(text) for text in answers]
    assert all(score in range(1, 6) for score in scores), answers
    assert set(scores) == {1, 2, 3, 4, 5}
    assert sum(score >= 4 for score in scores) > len(scores) / 2  # mostly satisfied
    assert len({text for text in answers if not text.isdigit()}) > 5  # stars and words too, not only digits


def test_customers_answer_only_surveys_sent_to_them_and_only_sometimes():
    collector = Collector()
    generator = TrafficGenerator(collector, seed=4, survey_answer_rate=0.5, survey_delay=(0, 0))
    persona = PERSONAS[0]

    async def scenario() -> tuple[list[str | None], str | None, str | None]:
        answered = [await generator.answer_survey(persona.wa_id, SURVEY_ES) for _ in range(200)]
        not_a_survey = await generator.answer_survey(persona.wa_id, "Tu pedido sale hoy, llegará en 2 días")
        stranger = await generator.answer_survey("34999999999", SURVEY_ES)
        return answered, not_a_survey, stranger

    answered, not_a_survey, stranger = asyncio.run(scenario())
    assert 60 < sum(a is not None for a in answered) < 140
    assert not_a_survey is None and stranger is None
    assert len(collector.calls) == sum(a is not None for a in answered)
