"""Priority rules: keywords in Spanish and English (accents, case, whole words, phrases), negation, the VIP,
public and repeat bumps, rules a lead edits, and hostile text that never raises and stays fast."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.teamserver.priority import (
    DEFAULT_RULES, PRIORITIES, Assessment, LanguageRules, PriorityRules, assess, bump, priority_rank,
)


def level(text: str, **kwargs) -> str:
    return assess(text, **kwargs).priority


# ------------------------------------------------------------------------------------------ keywords


@pytest.mark.parametrize("text, expected", [
    ("Esto es URGENTE, por favor", "urgent"),
    ("Creo que es un fraude", "urgent"),
    ("Sois unos estafadores", "urgent"),
    ("Hablaré con mi abogado", "urgent"),
    ("Voy a poner una denuncia", "urgent"),
    ("Quiero la hoja de reclamaciones", "urgent"),
    ("La app no funciona desde ayer", "high"),
    ("Quiero cancelar mi pedido", "high"),
    ("Quiero poner una reclamación", "high"),
    ("Me gustaría daros una sugerencia", "low"),
    ("Hola, ¿a qué hora abrís?", "normal"),
])
def test_spanish_keywords(text, expected):
    assert level(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("This is urgent!!", "urgent"),
    ("I think this is fraud", "urgent"),
    ("It's a scam", "urgent"),
    ("I will contact my lawyer", "urgent"),
    ("I'm going to sue you", "urgent"),
    ("I filed a chargeback", "urgent"),
    ("The app is not working", "high"),
    ("My card doesn't work", "high"),
    ("Please cancel my order", "high"),
    ("I want a refund", "high"),
    ("Just a small suggestion", "low"),
    ("Hi, when do you open?", "normal"),
])
def test_english_keywords(text, expected):
    assert level(text) == expected


def test_the_strongest_level_wins_and_every_keyword_is_a_reason():
    result = assess("No funciona y además es una estafa. Sugerencia: arregladlo")
    assert result == Assessment(priority="urgent", reasons=["urgent:estafa", "high:no funciona", "low:sugerencia"])


@pytest.mark.parametrize("text", [
    "RECLAMACIÓN", "reclamacion", "Reclamación", "ＵＲＧＥＮＴＥ",  # case, accents, full-width letters
    "ur\u200bgente",  # a zero-width space does not hide a word
    "urge\u0301nte",  # a stray combining accent neither
    "¡¡URGENTE!!", "«urgente»", "#urgente",
])
def test_case_accents_and_disguises_do_not_matter(text):
    assert level(text) in ("high", "urgent")


@pytest.mark.parametrize("text", [
    "Hi, I'm Sue from accounting",  # a name, not a lawsuit
    "I love scampi",  # 'scam' only as a whole word
    "Vacaciones en Cancún",  # not 'cancel'
    "Tengo un fraudómetro",  # not 'fraude'
    "urgentes",  # not 'urgente'
])
def test_whole_words_only(text):
    result = assess(text)
    assert result == Assessment(priority="normal", reasons=[]), result


def test_phrases_match_across_spaces_but_not_across_sentences():
    assert level("La   app\tno   funciona") == "high"
    assert level("Todo bien, no. Funciona perfecto") == "normal"
    assert level("hoja de\nreclamaciones") != "urgent"  # a new line breaks the phrase


# ------------------------------------------------------------------------------------------ negation


@pytest.mark.parametrize("text", [
    "no es urgente", "No es nada urgente", "nada urgente, gracias", "No creo que sea urgente",
    "not urgent", "It's not urgent at all", "This is NOT really urgent",
    "no hace falta cancelar", "No quiero cancelar", "no, no quiero cancelar nada",
    "I don't want to cancel", "I don’t want to cancel", "I dont want to cancel", "I do not want to cancel",
    "I never wanted to cancel", "we didn't cancel",
    "sin fraude", "sin ningún fraude", "No es una estafa", "It is not a scam", "without fraud",
    "no necesito abogado", "no voy a denunciar", "I don't need a lawyer",
])
def test_negated_keywords_do_not_count(text):
    result = assess(text)
    assert result.priority == "normal", result
    assert any(r.startswith("negated:") for r in result.reasons)


@pytest.mark.parametrize("text, expected", [
    # Keywords that contain a negation are never negated by it.
    ("No funciona", "high"), ("Ya no funciona", "high"), ("No, no funciona", "high"),
    ("no me funciona el router", "high"), ("It's not working", "high"), ("Still not working!", "high"),
    ("It doesn't work", "high"), ("Llevo dos días sin servicio", "high"),
    # The clause ends: punctuation, a new line, but/pero.
    ("No. Quiero cancelar", "high"), ("No, quiero cancelar", "high"), ("No\nquiero cancelar", "high"),
    ("No sé qué pasa pero es urgente", "urgent"), ("Not sure why, but it's urgent", "urgent"),
    ("No es broma, es una estafa", "urgent"), ("No worries, but this is fraud", "urgent"),
    # Too far back (more than three words that count).
    ("no entiendo por qué tardan tanto urgente", "urgent"),
    ("I do not understand why it takes so long urgent", "urgent"),
    # Inability is not negation: the customer wants to cancel.
    ("No puedo cancelar la suscripción", "high"), ("no me deja cancelar", "high"),
    ("I can't cancel my plan", "high"), ("I cannot cancel", "high"), ("I'm not able to cancel", "high"),
    ("It won't let me cancel", "high"), ("I haven't yet cancelled anything, it's broken", "high"),
])
def test_negation_is_read_in_context(text, expected):
    assert level(text) == expected


def test_negation_in_one_place_does_not_hide_the_same_keyword_elsewhere():
    result = assess("No es urgente lo del pedido. Lo de la factura sí es urgente")
    assert result.priority == "urgent"
    assert result.reasons == ["urgent:urgente", "negated:urgente"]


def test_the_window_is_editable():
    strict = DEFAULT_RULES.model_copy(update={"negation_window": 0})
    assert level("no es urgente", rules=strict) == "urgent"
    wide = PriorityRules(negation_window=6)
    assert level("no entiendo por qué tardan tanto urgente", rules=wide) == "normal"


# ----------------------------------------------------------------------------------------------- bumps


def test_vip_and_public_bumps():
    assert level("Hola", vip=True) == "high"
    assert level("Hola", public=True) == "high"
    assert level("Hola", vip=True, public=True) == "urgent"
    assert level("Sugerencia: más colores", vip=True) == "normal"  # low + 1
    assert level("No funciona", vip=True) == "urgent"
    assert level("Es una estafa", vip=True, public=True) == "urgent"  # never past the top
    result = assess("No funciona", vip=True, public=True)
    assert result.reasons == ["high:no funciona", "vip", "public"]


def test_bump_ceiling_and_switched_off_bumps():
    capped = PriorityRules(bump_ceiling="high")
    assert level("Hola", vip=True, public=True, rules=capped) == "high"
    assert level("fraude", rules=capped) == "urgent"  # the ceiling limits bumps, not keywords
    off = PriorityRules(vip_bump=0, public_bump=0, repeat_threshold=0)
    assert assess("Hola", vip=True, public=True, unanswered_count=50, rules=off) == Assessment()


def test_repeated_messages_without_an_answer():
    assert level("¿Hola?", unanswered_count=2) == "normal"
    assert level("¿Hola?", unanswered_count=3) == "high"
    now = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
    # Three messages within the 30-minute window (09:35, 09:50, 10:00) bump; spread over two hours not.
    close = [now - timedelta(minutes=25), now - timedelta(minutes=10), now]
    spread = [now - timedelta(minutes=120), now - timedelta(minutes=60), now]
    assert assess("¿Hola?", unanswered_at=close, now=now).reasons == ["repeated"]
    assert level("¿Hola?", unanswered_at=spread, now=now) == "normal"
    assert level("¿Hola?", unanswered_at=close) == "high"  # the window ends at the latest by default
    # Naive or odd items are ignored, not an error.
    assert level("¿Hola?", unanswered_at=[datetime(2026, 3, 2), "x", None, now], now=now) == "normal"
    custom = PriorityRules(repeat_threshold=2, repeat_window_minutes=5)
    assert level("¿Hola?", unanswered_at=close[1:], now=now, rules=custom) == "normal"  # 10 min apart
    assert level("¿Hola?", unanswered_at=[now - timedelta(minutes=4), now], now=now, rules=custom) == "high"


def test_bump_and_rank_helpers():
    assert [priority_rank(p) for p in PRIORITIES] == [0, 1, 2, 3]
    assert priority_rank("whatever") == 1
    assert bump("low", 2) == "high" and bump("high", 5) == "urgent" and bump("urgent", 1, "high") == "urgent"
    assert bump("normal", -3) == "normal"
    assert sorted(["normal", "urgent", "low", "high"], key=priority_rank, reverse=True) == \
        ["urgent", "high", "normal", "low"]


# ------------------------------------------------------------------------------------- editable rules


def test_rules_round_trip_as_json():
    rules = PriorityRules(languages={"es": LanguageRules(urgent=["estaf*", "Hoja de Reclamaciones"],
                                                         negations=["no"])}, vip_bump=2)
    again = PriorityRules.model_validate_json(rules.model_dump_json())
    assert again == rules
    assert DEFAULT_RULES == PriorityRules.model_validate_json(DEFAULT_RULES.model_dump_json())


def test_lead_edited_keywords_with_a_wildcard():
    rules = PriorityRules(languages={"es": LanguageRules(urgent=["estaf*"], high=["retras*"],
                                                         negations=["no"])})
    assert assess("¡Estafadores!", rules=rules).reasons == ["urgent:estaf*"]
    assert level("Me habéis estafado", rules=rules) == "urgent"
    assert level("No me habéis estafado", rules=rules) == "normal"
    assert level("El pedido llega retrasado", rules=rules) == "high"
    assert level("fraude", rules=rules) == "normal"  # only the lead's lists now


@pytest.mark.parametrize("keyword", ["", "   ", "!!!", "ab*", "uno dos tres cuatro cinco seis siete ocho nueve"])
def test_bad_keywords_are_refused(keyword):
    with pytest.raises(ValidationError):
        LanguageRules(urgent=[keyword])


def test_too_many_keywords_are_refused():
    with pytest.raises(ValidationError):
        LanguageRules(high=[f"word{i}" for i in range(501)])


def test_strict_language_narrows_the_lists():
    strict = PriorityRules(strict_language=True)
    assert level("this is fraud", language="es", rules=strict) == "normal"
    assert level("esto es un fraude", language="es-ES", rules=strict) == "urgent"
    assert level("this is fraud", language="pt", rules=strict) == "urgent"  # unknown language: every list
    assert level("this is fraud", language="es") == "urgent"  # by default every list counts


# ---------------------------------------------------------------------------------------- hostile text


def test_ten_megabytes_are_fast_and_only_the_start_is_read():
    text = "hola " * 2_000_000 + "urgente"  # 10 MB, the keyword far past the cap
    t0 = time.perf_counter()
    result = assess(text)
    assert time.perf_counter() - t0 < 0.5
    assert result == Assessment(priority="normal", reasons=["truncated"])
    assert level("urgente " + "x" * 10_000_000) == "urgent"


@pytest.mark.parametrize("text", [
    "\ud800 urgente \udfff",  # lone surrogates
    "\x00urgente\x00",  # NUL
    "\u202eurgente\u202c",  # right-to-left override
    "هذا عاجل urgente مرحبا",  # Arabic around the keyword
    "🔥🔥 urgente 🔥🔥",
    "urgente👍",
    "\ufeffurgente",  # BOM
])
def test_odd_unicode_still_finds_the_keyword(text):
    assert level(text) == "urgent"


@pytest.mark.parametrize("text", [
    "", " ", "\n" * 100_000, "\x00" * 1_000_000, "\ud800" * 100_000, "\u0301" * 1_000_000,
    "\ufdfa" * 100_000,  # one character that decomposes into 18
    "Z̷̢͉a̸l̵g̴o̸" * 50_000, "no " * 1_000_000, "no " * 2000 + "urgente", "'" * 100_000,
    "n't " * 100_000, "👍🏽" * 100_000, "a" * 10_000_000, "\u200f" * 100_000,
])
def test_hostile_text_never_raises_and_stays_fast(text):
    t0 = time.perf_counter()
    result = assess(text, vip=True)
    assert time.perf_counter() - t0 < 0.5
    assert result.priority in PRIORITIES
    assert "vip" in result.reasons


@pytest.mark.parametrize("text", [None, 42, b"urgente", b"\xff\xfe urgente", ["urgente"], object()])
def test_anything_that_is_not_text_is_read_as_empty_or_decoded(text):
    result = assess(text)
    assert result.priority in PRIORITIES
    if isinstance(text, bytes):
        assert result.priority == "urgent"


def test_bad_context_values_do_not_raise():
    assert assess("hola", unanswered_count="many", unanswered_at=[1, 2, 3], now="now", language=5,
                  rules="nonsense").priority == "normal"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=()), max_size=400), st.booleans(), st.booleans(),
       st.integers(min_value=-5, max_value=50))
def test_any_text_gives_a_valid_assessment(text, vip, public, repeats):
    # Any code point, lone surrogates included.
    result = assess(text, vip=vip, public=public, unanswered_count=repeats)
    assert result.priority in PRIORITIES
    assert "error" not in result.reasons
    if vip or public or repeats >= 3:  # a bump lifts even a "low" message to at least "normal"
        assert priority_rank(result.priority) >= 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["no", "not", "urgente", "urgent", "no funciona", "sin", ",", ".", "pero",
                                 "quiero", "cancelar", "can't", "me", "\n", "🙂", "Á", "\ud800"]), max_size=40))
def test_keyword_soup_never_raises(words):
    assert assess(" ".join(words)).priority in PRIORITIES
