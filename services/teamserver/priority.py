"""Priority rules: how urgent a customer's message is, from its words (Spanish and English, negation-aware),
the customer (VIP), the place (a public post) and the customer's unanswered repeats.

How the rules read, as a lead edits them (`PriorityRules`):
- Keyword lists per language for the levels "urgent", "high" and "low". The strongest level whose keyword
  appears wins ("urgent" over "high" over "low"); no keyword: "normal". Matching ignores case and accents
  ("RECLAMACIÓN" matches "reclamacion"), works on whole words, and a keyword may be a phrase
  ("hoja de reclamaciones"). A word ending in `*` matches every word that starts with it ("estaf*":
  estafa, estafado, estafadores); the part before `*` has at least three letters.
- Negation: a keyword does not count when a negation word comes shortly before it in the same clause
  ("no es urgente", "not urgent", "sin fraude", "no hace falta cancelar", "I don't want to cancel").
  The window is `negation_window` words; small words (articles, pronouns such as "me", "to", "my",
  "que") are not counted, and punctuation, a new line or "but"/"pero" ends the clause. A keyword that is
  itself negative ("no funciona", "not working", "sin servicio") is never negated. Inability is not
  negation: "no puedo cancelar", "I can't cancel", "it won't let me cancel" still count.
- Bumps: a VIP customer, a public post, and `repeat_threshold` customer messages without an answer
  within `repeat_window_minutes` each raise the level by their bump, up to `bump_ceiling`.

Customer text is hostile: `assess` looks at the first `max_chars` characters only, handles any Unicode
(lone surrogates, NUL, right-to-left text, emoji) and never raises.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

log = logging.getLogger(__name__)

Priority = Literal["low", "normal", "high", "urgent"]
# Lowest first: `PRIORITIES.index(p)` ranks a priority for sorting.
PRIORITIES: tuple[Priority, ...] = ("low", "normal", "high", "urgent")
KEYWORD_LEVELS: tuple[Literal["urgent", "high", "low"], ...] = ("urgent", "high", "low")
MAX_KEYWORDS_PER_LIST = 500
MAX_REASONS = 20


def priority_rank(priority: str) -> int:
    """0 for "low" … 3 for "urgent" (1, "normal", for anything else): sort the feed by it."""
    return PRIORITIES.index(priority) if priority in PRIORITIES else 1


def bump(priority: Priority, levels: int, ceiling: Priority = "urgent") -> Priority:
    """`priority` raised by `levels`, but not past `ceiling` (and never lowered)."""
    rank = priority_rank(priority)
    return PRIORITIES[max(rank, min(rank + max(levels, 0), priority_rank(ceiling)))]


# ----------------------------------------------------------------------------------- normalising text

# Word tokens (with inner apostrophes: "it's"), clause breaks, and a keyword's trailing `*`.
_TOKEN = re.compile(r"\w+(?:'\w+)*|[\n.,;:!?¡¿…()\[\]{}|]")
_KEYWORD_TOKEN = re.compile(r"\w+(?:'\w+)*\*?")
_CONTRACTIONS = (
    (re.compile(r"\bcan't\b"), "can not"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bshan't\b"), "shall not"),
    (re.compile(r"\bain't\b"), "is not"),
    (re.compile(r"(\w)n't\b"), r"\1 not"),
)
BREAK = ""  # a clause break in a token list


class _Fold(dict):
    """`str.translate` table filled on first sight of each character: accents (after NFKD), zero-width
    and direction marks go; surrogates, private-use, unassigned and control characters but the new line
    become spaces; typographic apostrophes become plain. Repeated characters then cost a C lookup."""

    def __missing__(self, code: int) -> int | str | None:
        if len(self) > 50_000:  # hostile text may show us every code point: stay small
            self.clear()
        ch = chr(code)
        cat = unicodedata.category(ch)
        if cat in ("Mn", "Me", "Cf"):
            value: int | str | None = None
        elif cat in ("Cs", "Co", "Cn") or (cat == "Cc" and ch != "\n"):
            value = " "
        elif ch in "\u2019\u2018\u02bc\u00b4`\u2032":
            value = "'"
        else:
            value = code
        self[code] = value
        return value


_FOLD = _Fold()


def normalize(text: str) -> str:
    """Case-folded, accents and invisible format characters removed, compatibility forms unified
    (full-width letters), typographic apostrophes made plain and English "n't" spelt "not"."""
    text = text.casefold()
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
    text = text.translate(_FOLD)
    if "'" in text:
        for pattern, repl in _CONTRACTIONS:
            text = pattern.sub(repl, text)
    return text


def tokens(text: str) -> list[str]:
    """Word tokens of normalised text, with `BREAK` for every clause break."""
    return [t if t[0].isalnum() or t[0] == "_" else BREAK for t in _TOKEN.findall(text)]


# ---------------------------------------------------------------------------------------- the rules


def _clean_keywords(values: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        words = _KEYWORD_TOKEN.findall(normalize(value))
        if not words:
            raise ValueError(f"keyword {value!r} has no words")
        if len(words) > 8:
            raise ValueError(f"keyword {value!r} has more than 8 words")
        for word in words:
            if word.endswith("*") and len(word) < 4:
                raise ValueError(f"keyword {value!r}: at least three letters before *")
        value = value.strip()
        if value not in out:
            out.append(value)
    return out


Keywords = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=100)]],
    Field(max_length=MAX_KEYWORDS_PER_LIST),
    AfterValidator(_clean_keywords),
]


class LanguageRules(BaseModel):
    """One language's keyword lists and negation words."""

    urgent: Keywords = []
    high: Keywords = []
    low: Keywords = []
    negations: Keywords = []


SPANISH = LanguageRules(
    urgent=[
        "urgente", "urgentemente", "urgencia", "emergencia", "fraude", "fraudulento", "estafa", "estafado",
        "estafada", "estafadores", "timo", "abogado", "abogados", "abogada", "denuncia", "denunciar",
        "denunciaré", "denunciaremos", "demandar*", "hoja de reclamaciones", "libro de reclamaciones",
        "suplantación de identidad", "cargo no autorizado", "cargos no autorizados", "me han robado",
        "ocu", "facua",
    ],
    high=[
        "no funciona", "no me funciona", "no funcionan", "ha dejado de funcionar", "sin servicio",
        "sin conexión", "sin luz", "avería", "averiado", "averiada", "roto", "rota", "cancelar",
        "cancelación", "cancelado", "cancelada", "dar de baja", "darme de baja", "darse de baja",
        "reclamación", "reclamaciones", "reclamar", "queja", "quejarme", "reembolso", "devolución",
        "devolver el dinero", "cobro duplicado", "cobrado dos veces", "cobrado de más", "inaceptable",
        "vergüenza", "indignado", "indignada", "harto", "harta",
    ],
    low=["sugerencia", "sugerir", "felicitar", "felicitaros", "felicidades", "enhorabuena"],
    negations=[
        "no", "nunca", "jamás", "sin", "ni", "tampoco", "nada", "nadie", "ningún", "ninguno", "ninguna",
    ],
)
ENGLISH = LanguageRules(
    urgent=[
        "urgent", "urgently", "emergency", "asap", "fraud", "fraudulent", "scam", "scammed", "scammer*",
        "lawyer", "lawyers", "attorney", "sue you", "sue your", "sue them", "sue the", "will sue",
        "going to sue", "suing", "lawsuit", "legal action", "chargeback", "unauthorized charge",
        "unauthorised charge", "identity theft", "stolen",
    ],
    high=[
        "not working", "doesn't work", "don't work", "isn't working", "stopped working", "no service",
        "broken", "outage", "cancel", "cancelled", "canceled", "cancellation", "unsubscribe", "complaint",
        "refund", "charged twice", "double charged", "overcharged", "unacceptable",
        "disgusted", "furious",
    ],
    low=["suggestion", "suggest", "compliment", "kudos", "well done", "congratulations"],
    negations=[
        "not", "no", "never", "without", "nothing", "none", "nor", "neither", "nobody", "dont", "doesnt",
        "isnt", "wasnt", "didnt", "arent", "wont", "aint",
    ],
)


class PriorityRules(BaseModel):
    """The team's priority rules (a lead edits them); see the module docstring for how they read."""

    languages: dict[Annotated[str, Field(min_length=2, max_length=16)], LanguageRules] = Field(
        default_factory=lambda: {"es": SPANISH.model_copy(), "en": ENGLISH.model_copy()}, max_length=20)
    # With a `language` given to `assess`, use only that language's lists (else every language's).
    strict_language: bool = False
    negation_window: int = Field(default=3, ge=0, le=8)
    vip_bump: int = Field(default=1, ge=0, le=3)
    public_bump: int = Field(default=1, ge=0, le=3)
    # This many customer messages without an answer within the window raise the level (0: never).
    repeat_threshold: int = Field(default=3, ge=0, le=1000)
    repeat_window_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    repeat_bump: int = Field(default=1, ge=0, le=3)
    bump_ceiling: Priority = "urgent"
    max_chars: int = Field(default=5000, ge=100, le=100_000)

    @model_validator(mode="after")
    def _lower_language_codes(self) -> PriorityRules:
        self.languages = {code.lower(): rules for code, rules in self.languages.items()}
        return self

    def matcher(self, language: str | None) -> _Matcher:
        """The compiled keyword matcher for a message in `language` (cached by the rules' content)."""
        code = _language(language)
        chosen = [self.languages[code]] if self.strict_language and code in self.languages else list(
            self.languages.values())
        lists = tuple((tuple(r.urgent), tuple(r.high), tuple(r.low), tuple(r.negations)) for r in chosen)
        return _matcher(lists, self.negation_window)


@functools.lru_cache(maxsize=64)
def _matcher(lists: tuple[tuple[tuple[str, ...], ...], ...], window: int) -> _Matcher:
    return _Matcher.build(lists, window)


def _language(language: str | None) -> str | None:
    if not isinstance(language, str) or not language:
        return None
    return language.replace("_", "-").split("-")[0].lower() or None


DEFAULT_RULES = PriorityRules()


# ------------------------------------------------------------------------------------------ matching

# Words that sit between a negation and its keyword without counting towards the window.
_FILLERS = frozenset(
    "me te se lo la le les los las nos os el un una unos unas que mi mis tu tus su sus muy tan para de del "
    "al es esta este eso esto "
    "a an the to my your our their it its this that be is so very too really at all of for".split()
)
# A negation right before these words says the customer cannot do something, not that they do not want to.
_INABILITY_AFTER = frozenset(
    "puedo puede pueden podemos podia pude consigo consigue logro deja dejan permite permiten "
    "able let lets allow allows".split()
)
_INABILITY_BEFORE_NOT = frozenset("can could".split())
_CLAUSE_WORDS = frozenset("pero sino aunque but although though however".split())


@dataclass(frozen=True)
class _Phrase:
    words: list[str]
    level: str
    keyword: str
    negative: bool  # contains a negation itself ("no funciona"): never negated
    wildcard: bool  # a word ends in *

    def at(self, toks: list[str], i: int) -> bool:
        n = len(self.words)
        if not self.wildcard:
            return toks[i:i + n] == self.words
        if i + n > len(toks):
            return False
        for tok, word in zip(toks[i:i + n], self.words):
            if not (tok == word or (word.endswith("*") and tok.startswith(word[:-1]))):
                return False
        return True


@dataclass(frozen=True)
class _Matcher:
    exact: dict[str, tuple[_Phrase, ...]]  # by first word
    prefixed: dict[str, tuple[_Phrase, ...]]  # first word ends in *, by its first three letters
    negations: frozenset[str]
    window: int

    @classmethod
    def build(cls, languages: tuple[tuple[tuple[str, ...], ...], ...], window: int) -> _Matcher:
        """From each language's (urgent, high, low, negations) lists."""
        negations = frozenset(
            w for lists in languages for n in lists[3] for w in _KEYWORD_TOKEN.findall(normalize(n))
        )
        exact: dict[str, list[_Phrase]] = {}
        prefixed: dict[str, list[_Phrase]] = {}
        for lists in languages:
            for level, keywords in zip(KEYWORD_LEVELS, lists):
                for keyword in keywords:
                    words = tuple(_KEYWORD_TOKEN.findall(normalize(keyword)))
                    if not words:
                        continue
                    phrase = _Phrase(list(words), level, " ".join(words), any(w in negations for w in words),
                                     any(w.endswith("*") for w in words))
                    first = words[0]
                    if first.endswith("*"):
                        prefixed.setdefault(first[:3], []).append(phrase)
                    else:
                        exact.setdefault(first, []).append(phrase)
        return cls({k: tuple(v) for k, v in exact.items()}, {k: tuple(v) for k, v in prefixed.items()},
                   negations, window)

    def matches(self, toks: list[str]) -> tuple[list[_Phrase], list[_Phrase]]:
        """The phrases found in `toks`, split into counted and negated ones."""
        found: list[_Phrase] = []
        negated: list[_Phrase] = []
        exact, prefixed = self.exact, self.prefixed
        for i, tok in enumerate(toks):
            candidates = exact.get(tok)
            if prefixed and tok[:3] in prefixed:
                candidates = (candidates or ()) + prefixed[tok[:3]]
            if not candidates:
                continue
            for phrase in candidates:
                if phrase.at(toks, i):
                    if not phrase.negative and self._negated(toks, i):
                        negated.append(phrase)
                    else:
                        found.append(phrase)
        return found, negated

    def _negated(self, toks: list[str], i: int) -> bool:
        counted = 0
        j = i - 1
        floor = max(-1, i - 1 - 3 * (self.window + 1))
        while j > floor and counted < self.window:
            tok = toks[j]
            if not tok or tok in _CLAUSE_WORDS:
                return False
            if tok in self.negations:
                after = next((t for t in toks[j + 1:i] if t not in _FILLERS), "")
                before = toks[j - 1] if j > 0 else ""
                if after not in _INABILITY_AFTER and not (tok == "not" and before in _INABILITY_BEFORE_NOT):
                    return True
            if tok not in _FILLERS:
                counted += 1
            j -= 1
        return False


# ---------------------------------------------------------------------------------------- assessing


class Assessment(BaseModel):
    """A message's priority and the codes of why:
    "urgent:<keyword>", "high:<keyword>", "low:<keyword>" — a keyword found (as normalised);
    "negated:<keyword>" — a keyword found but negated, so not counted;
    "vip", "public", "repeated" — a bump applied; "truncated" — only the start of the text was read;
    "error" — the text could not be read (the bumps still apply)."""

    priority: Priority = "normal"
    reasons: list[str] = []


def _count_recent(times: Sequence[datetime], now: datetime | None, minutes: int) -> int:
    stamps = [t for t in times if isinstance(t, datetime) and t.tzinfo is not None]
    if not stamps:
        return 0
    end = now if isinstance(now, datetime) and now.tzinfo is not None else max(stamps)
    start = end - timedelta(minutes=minutes)
    return sum(1 for t in stamps if start <= t <= end)


def assess(
    text: Any,
    *,
    rules: PriorityRules | None = None,
    language: str | None = None,
    vip: bool = False,
    public: bool = False,
    unanswered_count: int = 0,
    unanswered_at: Sequence[datetime] | None = None,
    now: datetime | None = None,
) -> Assessment:
    """How urgent a customer's message is.

    `text`: the message (anything else is read as empty). `language`: the customer's language if known
    (only narrows the lists when the rules are `strict_language`). `vip`, `public`: the customer has the
    VIP tag, the message is a public post. Repeats: either `unanswered_count`, the customer's messages
    without an answer within the rules' window as the caller counted them, or `unanswered_at`, their
    times (aware), counted here within the window that ends at `now` (default: the latest of them).
    Never raises."""
    rules = rules if isinstance(rules, PriorityRules) else DEFAULT_RULES
    reasons: list[str] = []
    level: Priority = "normal"
    try:
        level, reasons = _read_text(text, rules, language)
    except Exception:  # hostile text must never break ingestion
        log.exception("priority: could not read a message's text")
        level, reasons = "normal", ["error"]

    levels = 0
    try:
        if vip and rules.vip_bump:
            levels += rules.vip_bump
            reasons.append("vip")
        if public and rules.public_bump:
            levels += rules.public_bump
            reasons.append("public")
        count = unanswered_count if isinstance(unanswered_count, int) else 0
        if unanswered_at:
            count = max(count, _count_recent(list(unanswered_at), now, rules.repeat_window_minutes))
        if rules.repeat_threshold and rules.repeat_bump and count >= rules.repeat_threshold:
            levels += rules.repeat_bump
            reasons.append("repeated")
    except Exception:
        log.exception("priority: could not read a message's context")
    return Assessment(priority=bump(level, levels, rules.bump_ceiling), reasons=reasons[:MAX_REASONS])


def _read_text(text: Any, rules: PriorityRules, language: str | None) -> tuple[Priority, list[str]]:
    if isinstance(text, bytes):
        text = text[: rules.max_chars * 4].decode("utf-8", "replace")
    if not isinstance(text, str):
        return "normal", []
    reasons: list[str] = []
    if len(text) > rules.max_chars:
        text = text[: rules.max_chars]
        reasons.append("truncated")
    # Compatibility forms can expand a character many times over (U+FDFA is 18 letters): cap again.
    normal = normalize(text)[: rules.max_chars * 4]
    found, negated = rules.matcher(language).matches(tokens(normal))
    level: Priority = "normal"
    for wanted in KEYWORD_LEVELS:
        if any(p.level == wanted for p in found):
            level = wanted
            break
    seen: set[str] = set()
    for phrase in sorted(found, key=lambda p: KEYWORD_LEVELS.index(p.level)):
        code = f"{phrase.level}:{phrase.keyword}"
        if code not in seen:
            seen.add(code)
            reasons.append(code)
    for phrase in negated:
        code = f"negated:{phrase.keyword}"
        if code not in seen:
            seen.add(code)
            reasons.append(code)
    return level, reasons


__all__ = [
    "DEFAULT_RULES", "ENGLISH", "KEYWORD_LEVELS", "PRIORITIES", "SPANISH", "Assessment", "LanguageRules",
    "Priority", "PriorityRules", "assess", "bump", "normalize", "priority_rank", "tokens",
]
