"""Sentiment of a customer's message (negative, neutral or positive) from a small Spanish and English
lexicon, negation-aware like the priority rules, and emoji-aware.

How it reads a message:
- Words and phrases carry a weight ("pésimo" −2, "no funciona" −1.5, "genial" +1.5, "gracias" +0.5). Text is
  normalised as the priority rules do it (case, accents, "n't" → "not"), so "PÉSIMO" is "pesimo". At each
  position the longest phrase wins ("muchas gracias" over "gracias"); a word ending in `*` matches every
  word that starts with it ("decepcion*": decepción, decepcionado, decepcionante).
- Negation: a negation word shortly before a term (same clause, small words not counted) turns it around:
  a negated positive is negative ("no estoy contento", "not happy"); a negated negative is only mildly
  positive ("no está mal", "not bad": not a complaint, not praise). A phrase that holds a negation itself
  ("no funciona", "nadie contesta") is never negated.
- After "pero"/"but" the weights count half again: "el producto es bueno pero el servicio es pésimo" is
  negative. Politeness ("gracias", "please") weighs little, so "gracias, pero sigue sin funcionar" is a
  complaint.
- Emoji: 😡 🤬 👎 😠 😤 😞 😢 😭 🙄 … count −1, 🙏 😊 👍 😍 ❤️ 👏 🙌 … +1 (together at most ±2); so do
  ":(" and ":)".
- The total: ≤ −1 negative, ≥ +1 positive, neutral in between.

Customer text is hostile: `classify` reads the first `MAX_CHARS` characters only and never raises.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from typing import Any, Literal

from services.teamserver.priority import normalize, tokens

log = logging.getLogger(__name__)

Sentiment = Literal["negative", "neutral", "positive"]
MAX_CHARS = 2000
NEGATIVE_AT = -1.0
POSITIVE_AT = 1.0
NEGATION_WINDOW = 3
EMOJI_CAP = 2.0
# A negated negative term ("no está mal") gives this share of its weight back as positive.
NEGATED_NEGATIVE_SHARE = 0.25
AFTER_BUT = 1.5

SPANISH: dict[str, float] = {
    # complaints
    "mal": -1, "malo": -1, "mala": -1, "malos": -1, "malas": -1, "peor": -1.5, "lo peor": -2,
    "pesimo": -2, "pesima": -2, "horrible": -2, "terrible": -2, "fatal": -1.5, "desastre": -2,
    "desastroso": -2, "desastrosa": -2, "verguenza": -2, "vergonzoso": -2, "lamentable": -2,
    "inaceptable": -2, "indignante": -2, "indignad*": -2, "hart*": -1.5, "molest*": -1, "enfadad*": -1.5,
    "cabread*": -2, "furios*": -2, "decepcion*": -1.5, "triste": -1, "preocupad*": -1, "queja": -1,
    "quejarme": -1, "reclamacion": -1, "reclamar": -1, "problema": -1, "problemas": -1, "error": -1,
    "fallo": -1, "averia": -1, "averiad*": -1, "roto": -1, "rota": -1, "estropead*": -1, "estafa": -2,
    "estafad*": -2, "fraude": -2, "timo": -2, "robo": -2, "ladrones": -2, "engano": -1.5, "enganad*": -1.5,
    "mentira": -1.5, "mentiras": -1.5, "mentiros*": -2, "basura": -2, "asco": -2, "asqueroso": -2,
    "ridicul*": -1.5, "tomadura de pelo": -2, "incompetent*": -2, "inutil": -1.5, "inutiles": -1.5,
    "lento": -1, "lentisimo": -1.5, "retraso": -1, "retrasos": -1, "caido": -1, "caida": -1,
    "cobrado dos veces": -1.5, "cobro duplicado": -1.5, "nunca mas": -2, "tercera vez": -1,
    "otra vez": -0.5, "sigue sin": -1, "todavia no": -1, "aun no": -1, "ya no": -1,
    "cansad*": -1, "abandonad*": -1, "dar de baja": -1, "darme de baja": -1,
    # phrases that hold a negation: never negated themselves
    "no funciona": -1.5, "no me funciona": -1.5, "no funcionan": -1.5, "sin servicio": -1.5,
    "sin conexion": -1.5, "sin luz": -1.5, "sin respuesta": -1.5, "sin funcionar": -1.5,
    "nadie me responde": -2, "nadie contesta": -2, "nadie me ayuda": -2, "ni caso": -2,
    "no hay manera": -1.5, "no puedo": -1, "no me deja": -1, "no ha llegado": -1, "no me ha llegado": -1,
    "no reconozco": -1, "no me gusta": -1, "no recomiendo": -2, "no os recomiendo": -2, "no es lo que esperaba": -1,
    # praise
    "bien": 0.5, "muy bien": 1, "bueno": 1, "buena": 1, "genial": 1.5, "excelente": 2, "estupendo": 1.5,
    "estupenda": 1.5, "perfecto": 1.5, "perfecta": 1.5, "maravilla": 1.5, "maravillos*": 1.5,
    "fantastic*": 1.5, "increible": 1, "encantad*": 1.5, "me encanta": 1.5, "me gusta": 1, "gusta": 1,
    "gracias": 0.5, "muchas gracias": 1.5, "mil gracias": 1.5, "agradec*": 1, "feliz": 1, "contento": 1,
    "contenta": 1, "satisfech*": 1, "rapidez": 1, "rapidisimo": 1.5, "amable": 1, "amables": 1,
    "recomend*": 1, "enhorabuena": 1.5, "felicidades": 1.5, "felicitar*": 1.5, "solucionad*": 1,
    "resuelto": 1, "un placer": 1.5, "de lujo": 1.5,
}

ENGLISH: dict[str, float] = {
    # complaints
    "bad": -1, "awful": -2, "terrible": -2, "horrible": -2, "worst": -2, "worse": -1.5, "poor": -1,
    "useless": -1.5, "rubbish": -2, "garbage": -2, "trash": -2, "disgust*": -2, "disappoint*": -1.5,
    "angry": -1.5, "furious": -2, "annoyed": -1, "annoying": -1, "upset": -1, "frustrat*": -1.5,
    "ridiculous": -1.5, "unacceptable": -2, "outrageous": -2, "shameful": -2, "shocking": -1.5,
    "a joke": -1.5, "scam": -2, "scammed": -2, "scammer*": -2, "fraud": -2, "fraudulent": -2, "stolen": -1.5,
    "thieves": -2, "liar": -2, "liars": -2, "lied": -1.5, "broken": -1, "smashed": -1, "damaged": -1,
    "missing": -1, "wrong": -1, "hate": -2, "sucks": -2, "pathetic": -2, "incompetent": -2, "waste": -1,
    "wasted": -1, "delay": -1, "delayed": -1, "delays": -1, "late": -0.5, "complaint": -1, "complain": -1,
    "problem": -1, "problems": -1, "issue": -0.5, "error": -1, "fail*": -1, "outage": -1.5, "is down": -1,
    "stopped working": -1.5, "still waiting": -1.5, "never again": -2, "third time": -1, "fed up": -2,
    "sick of": -2, "tired of": -1.5, "charged twice": -1.5, "double charged": -1.5, "overcharged": -1.5,
    "slow": -1, "disaster": -2, "disastrous": -2,
    # phrases that hold a negation: never negated themselves
    "not working": -1.5, "does not work": -1.5, "do not work": -1.5, "no service": -1.5,
    "no one": -1, "nobody answers": -2, "nobody has": -1, "no answer": -1.5, "no response": -1.5,
    "no reply": -1.5, "can not": -1, "still not": -1, "not arrived": -1, "has not arrived": -1,
    "not happy": -1.5, "do not like": -1, "would not recommend": -2, "not impressed": -1.5,
    "not what i expected": -1, "do not recognise": -1, "do not recognize": -1,
    # praise
    "good": 1, "great": 1.5, "excellent": 2, "amazing": 1.5, "awesome": 1.5, "brilliant": 1.5,
    "fantastic": 1.5, "wonderful": 1.5, "perfect": 1.5, "love": 1.5, "loved": 1.5, "lovely": 1.5,
    "happy": 1, "pleased": 1, "glad": 1, "thanks": 0.5, "thank you": 0.5, "thank you so much": 1.5,
    "thanks a lot": 1.5, "many thanks": 1.5, "appreciate*": 1, "helpful": 1, "friendly": 1, "quick": 0.5,
    "fast": 0.5, "recommend": 1, "kudos": 1.5, "well done": 1.5, "congrat*": 1.5, "solved": 1,
    "resolved": 1, "fixed": 1, "can not wait": 1, "nice": 1, "superb": 2, "impressed": 1.5,
}

NEGATIONS = frozenset(
    "no nunca jamas sin ni tampoco nada nadie ningun ninguno ninguna "
    "not never without nothing none nor neither nobody dont doesnt isnt wasnt didnt arent wont aint".split()
)
# Small words between a negation and its term that do not count towards the window.
_FILLERS = frozenset(
    "me te se lo la le les los las nos os el un una unos unas que mi mis tu tus su sus muy tan para de del al "
    "es esta este eso esto estoy estamos son era fue ha han he "
    "a an the to my your our their it its this that be is am are was were so very too really at all of for "
    "i we you they feel felt".split()
)
_BUT = frozenset("pero sino aunque but although though however".split())

NEGATIVE_EMOJI = "😡🤬👎😠😤😞😢😭🙄😒😩😫☹🙁😣😖💔😔😟🤮💩"
POSITIVE_EMOJI = "🙏😊👍😍❤🥰👏🙌😀😃😄😁🤩💯😘☺🙂💪🎉😇💙💚🤗"
_EMOJI = re.compile("[" + re.escape(NEGATIVE_EMOJI + POSITIVE_EMOJI) + "]")
_NEGATIVE_EMOJI = frozenset(NEGATIVE_EMOJI)
_EMOTICONS = ((":(", -1.0), (":-(", -1.0), (":'(", -1.0), (":)", 1.0), (":-)", 1.0), (":D", 1.0))


@dataclass(frozen=True)
class _Term:
    words: tuple[str, ...]
    weight: float
    negative_phrase: bool  # holds a negation itself: never negated
    wildcard: bool

    def at(self, toks: list[str], i: int) -> bool:
        n = len(self.words)
        if i + n > len(toks):
            return False
        if not self.wildcard:
            return tuple(toks[i:i + n]) == self.words
        for tok, word in zip(toks[i:i + n], self.words):
            if not (tok == word or (word.endswith("*") and tok.startswith(word[:-1]))):
                return False
        return True


@dataclass(frozen=True)
class _Lexicon:
    exact: dict[str, tuple[_Term, ...]]  # by first word, longest first
    prefixed: dict[str, tuple[_Term, ...]]  # first word ends in *, by its first three letters

    def candidates(self, tok: str) -> tuple[_Term, ...]:
        found = self.exact.get(tok, ())
        more = self.prefixed.get(tok[:3]) if self.prefixed else None
        if more:
            found = tuple(sorted(found + more, key=lambda t: -len(t.words)))
        return found


@functools.lru_cache(maxsize=4)
def _lexicon(*tables: tuple[tuple[str, float], ...]) -> _Lexicon:
    exact: dict[str, list[_Term]] = {}
    prefixed: dict[str, list[_Term]] = {}
    for table in tables:
        for phrase, weight in table:
            words = tuple(t for t in tokens(normalize(phrase.rstrip("*"))) if t)
            if phrase.endswith("*"):  # the tokenizer drops the `*`
                words = words[:-1] + (words[-1] + "*",)
            term = _Term(words, float(weight), any(w in NEGATIONS for w in words), any(w.endswith("*") for w in words))
            if words[0].endswith("*"):
                prefixed.setdefault(words[0][:3], []).append(term)
            else:
                exact.setdefault(words[0], []).append(term)
    order = lambda terms: tuple(sorted(terms, key=lambda t: -len(t.words)))  # noqa: E731
    return _Lexicon({k: order(v) for k, v in exact.items()}, {k: order(v) for k, v in prefixed.items()})


@functools.lru_cache(maxsize=1)
def _default_lexicon() -> _Lexicon:
    return _lexicon(tuple(SPANISH.items()), tuple(ENGLISH.items()))


def _negated(toks: list[str], i: int) -> bool:
    counted = 0
    j = i - 1
    while j >= 0 and counted < NEGATION_WINDOW:
        tok = toks[j]
        if not tok or tok in _BUT:
            return False
        if tok in NEGATIONS:
            return True
        if tok not in _FILLERS:
            counted += 1
        j -= 1
    return False


def score(text: Any) -> float:
    """The message's total weight (see the module docstring); 0.0 for anything that is not text."""
    if isinstance(text, bytes):
        text = text[:MAX_CHARS * 4].decode("utf-8", "replace")
    if not isinstance(text, str) or not text:
        return 0.0
    text = text[:MAX_CHARS]
    lexicon = _default_lexicon()
    toks = tokens(normalize(text)[:MAX_CHARS * 4])
    total = 0.0
    factor = 1.0
    i = 0
    while i < len(toks):
        tok = toks[i]
        if not tok:
            i += 1
            continue
        if tok in _BUT:
            factor = AFTER_BUT
        term = next((t for t in lexicon.candidates(tok) if t.at(toks, i)), None)
        if term is None:
            i += 1
            continue
        weight = term.weight
        if not term.negative_phrase and _negated(toks, i):
            weight = -weight * NEGATED_NEGATIVE_SHARE if weight < 0 else -weight
        total += weight * factor
        i += len(term.words)
    if not text.isascii():
        emoji = sum(-1.0 if ch in _NEGATIVE_EMOJI else 1.0 for ch in _EMOJI.findall(text))
        total += max(-EMOJI_CAP, min(EMOJI_CAP, emoji))
    if ":" in text:
        total += max(-EMOJI_CAP, min(EMOJI_CAP, sum(w for face, w in _EMOTICONS if face in text)))
    return total


def classify(text: Any) -> Sentiment:
    """"negative", "neutral" or "positive"; never raises (unreadable text is neutral)."""
    try:
        value = score(text)
    except Exception:  # hostile text must never break ingestion
        log.exception("sentiment: could not read a message's text")
        return "neutral"
    if value <= NEGATIVE_AT:
        return "negative"
    if value >= POSITIVE_AT:
        return "positive"
    return "neutral"


__all__ = ["ENGLISH", "NEGATIVE_EMOJI", "POSITIVE_EMOJI", "SPANISH", "Sentiment", "classify", "score"]
