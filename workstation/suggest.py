"""Suggested responses: ranks the canned library for a customer's message, locally and offline.

BM25 over an in-memory SQLite FTS5 table of the responses (title, keywords, body and category, each
with its own weight). Both the responses and the message go through the same light normalisation:
case and accents folded, Spanish and English stop words dropped, and every word cut to a short stem
(common suffixes removed, then at most STEM_LENGTH letters), so "devolver", "devolución" and
"devolverlo" meet on "devol", and "charged" and "charges" on "charg". The message's stems are
OR-ed, each quoted, so nothing the customer writes is FTS5 syntax. Responses in the customer's
language (given, or guessed from the message) are preferred: the others' scores are multiplied by
`other_language_factor`.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from dataclasses import dataclass
from typing import Iterable, Sequence

from workstation.canned import CannedResponse, _fold

log = logging.getLogger(__name__)

# A message longer than this is cut (its beginning says what it is about); so is the number of terms.
MAX_MESSAGE_CHARS = 4000
MAX_TERMS = 64
STEM_LENGTH = 5

# bm25() weights per column, in the table's column order.
DEFAULT_WEIGHTS = {"title": 2.0, "keywords": 4.0, "body": 0.5, "category": 0.5}
OTHER_LANGUAGE_FACTOR = 0.5

_WORD = re.compile(r"[^\W_]+")
_MARK = re.compile(r"\{\{[^{}]*\}\}")

STOP_WORDS = {
    "es": frozenset("""
        a al algo algun alguna algunas alguno algunos ante antes aqui asi aun aunque bien cada como con
        contra cual cuales cuando de del desde donde dos el ella ellas ello ellos en entre era eran eres es
        esa esas ese eso esos esta estaba estaban estado estamos estan estar estas este esto estos estoy
        fue fueron ha habeis haber habia habian han has hasta hay he la las le les lo los me mi mis mucho
        muy nada ni nos nosotros o os otra otro otros para pero poco por porque pues que quien se sea ser
        si sin sobre solo son soy su sus tambien tan tanto te teneis tener tengo ti tiene tienen todo
        todos tu tus un una unas uno unos usted ustedes vosotros ya yo mas vuestro vuestra vuestros
        vuestras mio mia puede puedo quiero queria hace hacer hecho va vais voy vamos
    """.split()),
    "en": frozenset("""
        a about above after again all am an and any are as at be been before being below between both
        but by can could did do does doing down during each few for from further had has have having he
        her here hers him his how i if in into is it its itself just me more most my myself no nor not
        now of off on once only or other our ours out over own same she should so some such than that the
        their theirs them then there these they this those through to too under until up very was we
        were what when where which while who whom why will with would you your yours yourself yourselves
        im ive id dont didnt doesnt cant couldnt wont isnt arent wasnt weve youre theyre thats its
        also get got would could please pls plz hi hello
        won don didn doesn isn aren wasn weren haven hasn hadn couldn shouldn wouldn ll ve re
        thing things one let see say said know want wanted need like
    """.split()),
}
# Greetings point to the greeting response and negations to claims ("no ha llegado", "not working"):
# kept although the lists above hold them.
_KEEP = frozenset({"hi", "hello", "hola", "no", "not"})
_ALL_STOP = (STOP_WORDS["es"] | STOP_WORDS["en"]) - _KEEP

# Words that tell the two languages apart (folded); stop words are the best signal in a short text.
_LANGUAGE_MARKERS = {
    "es": frozenset("""
        el la los las de del que y en un una por para con mi me es esta estoy pero hola gracias no se
        su al lo como mas muy ya tengo pedido quiero hace dias todavia porque cuando donde vuestro
        vuestra buenas buenos necesito puedo podeis
    """.split()),
    "en": frozenset("""
        the and of to is it my i you for on with this that was have has not be are your me we
        hello hi thanks thank please order can could would what when where why still just dont im
        its got been will
    """.split()),
}

# Suffixes removed before a word is cut to STEM_LENGTH letters, longest first (folded spellings).
_SUFFIXES = sorted(set("""
    amientos imientos amiento imiento aciones uciones iciones acion ucion icion ciones cion mente
    idades idad ables ibles able ible ando iendo ados idos adas idas ado ido ada ida aron ieron amos
    emos imos ais eis aba ian ias ar er ir as es os an en a e o s
    ations ation ments ment ness ings ing edly ed ies ly ers er y
""".split()), key=len, reverse=True)


def stem(word: str) -> str:
    """A crude stem good enough for matching: suffix off, then the first STEM_LENGTH letters."""
    if len(word) <= 3:
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:STEM_LENGTH]


def _words(text: str) -> list[str]:
    return _WORD.findall(_fold(text.replace("\x00", " ")))


def analyse(text: str) -> list[str]:
    """The stems of `text` that count for matching, in order (stop words and numbers left out)."""
    return [stem(w) for w in _words(text) if w not in _ALL_STOP and not w.isdigit() and len(w) > 1]


def detect_language(text: str) -> str | None:
    """"es" or "en" from the words of `text`, or None when it cannot tell."""
    text = text[:MAX_MESSAGE_CHARS]
    words = _words(text)
    es = sum(w in _LANGUAGE_MARKERS["es"] for w in words) + sum(ch in "ñ¿¡" for ch in text.casefold())
    es += sum(ch in "áéíóú" for ch in text.casefold()) * 0.5
    en = sum(w in _LANGUAGE_MARKERS["en"] for w in words)
    if es == en:
        return None
    return "es" if es > en else "en"


def fts_query(terms: Iterable[str]) -> str | None:
    """An FTS5 query matching any of `terms`, each quoted: no input can be read as FTS5 syntax."""
    quoted = ['"' + t.replace('"', '""') + '"' for t in dict.fromkeys(terms) if t]
    return " OR ".join(quoted[:MAX_TERMS]) or None


@dataclass(frozen=True)
class Suggestion:
    response: CannedResponse
    score: float  # higher is better; comparable within one call only


class Suggester:
    """An index of one library; build it once and ask it for every message. Thread-safe."""

    def __init__(self, responses: Sequence[CannedResponse], *, weights: dict[str, float] | None = None,
                 other_language_factor: float = OTHER_LANGUAGE_FACTOR) -> None:
        self.responses = list(responses)
        self.weights = {**DEFAULT_WEIGHTS, **(weights or {})}
        self.other_language_factor = other_language_factor
        self._lock = threading.Lock()
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute("CREATE VIRTUAL TABLE canned USING fts5(title, keywords, body, category, "
                         "tokenize='unicode61 remove_diacritics 2')")
        self._db.executemany(
            "INSERT INTO canned(rowid, title, keywords, body, category) VALUES (?, ?, ?, ?, ?)",
            [(i, _indexed(r.title), _indexed(" ".join(r.keywords)),
              _indexed(" ".join([r.body, *r.variants.values()])), _indexed(r.category.replace("-", " ")))
             for i, r in enumerate(self.responses)],
        )
        cols = ("title", "keywords", "body", "category")
        self._sql = ("SELECT rowid, bm25(canned, {}) FROM canned WHERE canned MATCH ?"
                     .format(", ".join(str(float(self.weights[c])) for c in cols)))

    def suggest(self, message: str, *, language: str | None = None, k: int = 3) -> list[Suggestion]:
        """The `k` responses that fit `message` best, best first (fewer when few share a word with it).
        `language` is the customer's ("es", "en"); None guesses it from the message."""
        if not isinstance(message, str) or k <= 0:
            return []
        message = message[:MAX_MESSAGE_CHARS]
        if not language:
            language = detect_language(message)
        query = fts_query(analyse(message))
        if query is None:
            return []
        try:
            with self._lock:
                rows = self._db.execute(self._sql, (query,)).fetchall()
        except sqlite3.OperationalError:  # not expected: every term is quoted; an odd text must not break the panel
            log.warning("suggestion query failed", exc_info=True)
            return []
        scored = []
        for rowid, rank in rows:
            response = self.responses[rowid]
            score = -rank  # bm25() is lower for a better match
            if language is not None and response.language != language:
                score *= self.other_language_factor
            scored.append(Suggestion(response, score))
        scored.sort(key=lambda s: (-s.score, s.response.id))
        return scored[:k]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _indexed(text: str) -> str:
    # Variables are the same in every response ("customer", "first_name"): they would only add noise.
    return " ".join(analyse(_MARK.sub(" ", text)))


def suggest(responses: Sequence[CannedResponse], message: str, *, language: str | None = None,
            k: int = 3) -> list[Suggestion]:
    """One-off ranking; build a Suggester to rank many messages against the same library."""
    suggester = Suggester(responses)
    try:
        return suggester.suggest(message, language=language, k=k)
    finally:
        suggester.close()
