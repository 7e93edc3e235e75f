"""Canned responses: the team's protocol answers, loaded from JSON and rendered with {{variables}}.

A response's body (and each channel variant) may hold two kinds of marks:

- `{{dotted.name}}` variables, filled from a context mapping when the response is inserted
  (`customer.first_name`, `agent.first_name`, `conversation.id`, `team.hours`, `customer.<custom field>`…);
  a variable without a value stays visible, so the agent sees the gap.
- `[[label]]` placeholders the agent must fill by hand (`[[order number]]`); the composer selects them one
  after another and blocks sending until none is left.

Rendering is a single pass over the template: text taken from the context is copied as it is and never
scanned again, so a customer called "{{agent.name}}" or "[[x]]" can neither pull in another variable
nor create a placeholder. `render_with_placeholders` therefore returns the placeholder spans of the
template itself; scanning the rendered text again with `placeholders()` would trust customer text.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, NamedTuple

_VARIABLE = re.compile(r"\{\{\s*([a-zA-Z_][\w.]*)\s*\}\}")
# A label is one line of up to 60 characters without brackets or braces (so it cannot hide a variable).
_PLACEHOLDER = re.compile(r"\[\[([^\[\]{}\n]{1,60})\]\]")
_MARK = re.compile(f"(?P<var>{_VARIABLE.pattern})|(?P<ph>{_PLACEHOLDER.pattern})")

CHANNELS = ("whatsapp", "messenger", "instagram", "x", "telegram", "email")
# Variant keys besides the channels: the text for a public post (a reply under a post or a tweet) and
# the text for a private message (the DM that follows a public complaint).
VISIBILITY_KEYS = ("public", "private")
# Public replies on X are limited to 280 characters; a public reply elsewhere is held to the same length.
SHORT_VARIANT_LIMIT = 280
SHORT_VARIANT_KEYS = ("x", "public")
# When a template's length is checked, each variable and placeholder counts as this many characters
# (a first name, a case number, an order number).
NOMINAL_FILL = 20

# The variables the app knows how to fill; `customer.<field>` may name any CRM field of the customer.
KNOWN_VARIABLES = frozenset({
    "customer.first_name", "customer.name", "agent.first_name", "agent.name", "conversation.id",
    "team.name", "team.hours", "team.alternative_channel",
})
CUSTOM_FIELD_PREFIX = "customer."


@dataclass(frozen=True)
class CannedResponse:
    id: str
    title: str
    shortcut: str
    category: str
    language: str
    body: str
    # channel ("x", "email"…) or "public"/"private" → the body to use there instead of `body`
    variants: dict[str, str] = field(default_factory=dict, hash=False)
    # words and short phrases customers use when this response fits (for suggestions), in `language`
    keywords: tuple[str, ...] = ()


class CannedLibraryError(ValueError):
    pass


class Placeholder(NamedTuple):
    start: int
    end: int  # exclusive; text[start:end] is the whole "[[label]]"
    label: str


class Rendered(NamedTuple):
    text: str
    placeholders: list[Placeholder]  # spans in `text` that came from the template, in order
    missing: list[str]  # variables left visible for want of a value, in order of first use


_REQUIRED = ("id", "title", "shortcut", "category", "language", "body")


def _entry(entry: Any, where: str) -> CannedResponse:
    if not isinstance(entry, dict):
        raise CannedLibraryError(f"{where}: not an object")
    try:
        fields = {k: entry[k] for k in _REQUIRED}
    except KeyError as exc:
        raise CannedLibraryError(f"{where}: missing {exc}") from exc
    bad = [k for k, v in fields.items() if not isinstance(v, (str, int, float)) or isinstance(v, bool)]
    if bad:
        raise CannedLibraryError(f"{where}: {bad[0]} must be text")
    fields = {k: str(v) for k, v in fields.items()}
    variants = entry.get("variants", {})
    if not isinstance(variants, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                 for k, v in variants.items()):
        raise CannedLibraryError(f"{where}: variants must map a channel to a text")
    for key, text in variants.items():
        if key not in CHANNELS and key not in VISIBILITY_KEYS:
            raise CannedLibraryError(f"{where}: unknown variant {key!r}")
        if key in SHORT_VARIANT_KEYS and nominal_length(text) > SHORT_VARIANT_LIMIT:
            raise CannedLibraryError(
                f"{where}: the {key!r} variant is {nominal_length(text)} characters, over {SHORT_VARIANT_LIMIT}")
    keywords = entry.get("keywords", [])
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        raise CannedLibraryError(f"{where}: keywords must be a list of texts")
    return CannedResponse(**fields, variants=dict(variants), keywords=tuple(keywords))


def load_library(folder: Path) -> list[CannedResponse]:
    """Reads every *.json file in `folder` (a list of responses each); raises on a malformed entry."""
    responses: list[CannedResponse] = []
    seen: set[str] = set()
    for path in sorted(folder.glob("*.json")):
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CannedLibraryError(f"{path.name}: {exc}") from exc
        if not isinstance(entries, list):
            raise CannedLibraryError(f"{path.name}: expected a list of responses")
        for i, entry in enumerate(entries):
            item = _entry(entry, f"{path.name} entry {i}")
            if item.id in seen:
                raise CannedLibraryError(f"{path.name}: duplicate id {item.id}")
            seen.add(item.id)
            responses.append(item)
    return responses


def body_for(response: CannedResponse, channel: str | None, *, public: bool | None = None) -> str:
    """The text to use on `channel`: for a public post the "public" variant, for a private message the
    "private" one, then the channel's own variant, else the body."""
    keys = []
    if public is True:
        keys.append("public")
    elif public is False:
        keys.append("private")
    if channel:
        keys.append(channel)
    for key in keys:
        text = response.variants.get(key)
        if text:
            return text
    return response.body


def placeholders(text: str) -> list[Placeholder]:
    """The `[[label]]` placeholders of a template, in order. Only for templates: on rendered text use the
    spans `render_with_placeholders` returns, or customer text could add placeholders."""
    return [Placeholder(m.start(), m.end(), m.group(1).strip())
            for m in _PLACEHOLDER.finditer(text) if m.group(1).strip()]


def variables(text: str) -> list[str]:
    """The names of the `{{variables}}` in a template, in order, each once."""
    return list(dict.fromkeys(m.group(1) for m in _VARIABLE.finditer(text)))


def is_known_variable(name: str) -> bool:
    return name in KNOWN_VARIABLES or (name.startswith(CUSTOM_FIELD_PREFIX) and len(name) > len(CUSTOM_FIELD_PREFIX))


def template_problems(text: str) -> list[str]:
    """What is wrong with a template's marks: stray or empty brackets, unknown variables."""
    problems = []
    rest = _MARK.sub(lambda m: " " * len(m.group(0)), text)
    for mark in ("[[", "]]", "{{", "}}"):
        if mark in rest:
            problems.append(f"stray {mark!r} at {rest.index(mark)}")
    for m in _PLACEHOLDER.finditer(text):
        if not m.group(1).strip():
            problems.append(f"empty placeholder at {m.start()}")
    for name in variables(text):
        if not is_known_variable(name):
            problems.append(f"unknown variable {name!r}")
    return problems


def nominal_length(text: str) -> int:
    """The template's length once filled, counting each variable and placeholder as NOMINAL_FILL characters."""
    return len(_MARK.sub("x" * NOMINAL_FILL, text))


def render_with_placeholders(body: str, context: Mapping[str, Any]) -> Rendered:
    """Fills {{dotted.names}} from `context` in one pass: substituted values are never scanned again.
    Returns the text, the spans of the template's own [[placeholders]] in it, and the variables left
    visible because `context` has no value for them (unknown names included)."""
    out: list[str] = []
    spans: list[Placeholder] = []
    missing: dict[str, None] = {}
    length = 0
    pos = 0
    for m in _MARK.finditer(body):
        piece = body[pos:m.start()]
        out.append(piece)
        length += len(piece)
        if m.group("var") is not None:
            name = m.group(2)
            value = context.get(name)
            text = "" if value is None else str(value)
            if text == "":
                text = m.group(0)
                missing[name] = None
        else:
            text = m.group(0)
            label = m.group(4).strip()
            if label:
                spans.append(Placeholder(length, length + len(text), label))
        out.append(text)
        length += len(text)
        pos = m.end()
    out.append(body[pos:])
    return Rendered("".join(out), spans, list(missing))


def render(body: str, context: Mapping[str, str]) -> str:
    """Fills {{dotted.names}} from `context`; unknown names stay visible so the agent sees the gap."""
    return render_with_placeholders(body, context).text


def library_problems(responses: list[CannedResponse], *, languages: tuple[str, ...] = ("es", "en")) -> list[str]:
    """Everything a lead should fix in a library: duplicate ids or shortcuts (per language), malformed
    marks, over-long short variants, and responses missing in one of `languages` (a response
    `<lang>-<key>` is expected in every language as `<other lang>-<key>`)."""
    problems: list[str] = []
    ids: set[str] = set()
    shortcuts: set[tuple[str, str]] = set()
    keys: dict[str, set[str]] = {}
    for r in responses:
        if r.id in ids:
            problems.append(f"{r.id}: duplicate id")
        ids.add(r.id)
        if (r.language, r.shortcut.casefold()) in shortcuts:
            problems.append(f"{r.id}: duplicate shortcut /{r.shortcut} in {r.language}")
        shortcuts.add((r.language, r.shortcut.casefold()))
        if not r.shortcut or any(ch.isspace() for ch in r.shortcut):
            problems.append(f"{r.id}: the shortcut must be one word")
        for where, text in [("body", r.body), *((f"variant {k}", v) for k, v in r.variants.items())]:
            problems.extend(f"{r.id} {where}: {p}" for p in template_problems(text))
        for key, text in r.variants.items():
            if key not in CHANNELS and key not in VISIBILITY_KEYS:
                problems.append(f"{r.id}: unknown variant {key!r}")
            if key in SHORT_VARIANT_KEYS and nominal_length(text) > SHORT_VARIANT_LIMIT:
                problems.append(f"{r.id}: variant {key} over {SHORT_VARIANT_LIMIT} characters")
        if nominal_length(body_for(r, "x")) > SHORT_VARIANT_LIMIT:
            problems.append(f"{r.id}: over {SHORT_VARIANT_LIMIT} characters for X and no short \"x\" variant")
        prefix = f"{r.language}-"
        if r.id.startswith(prefix):
            keys.setdefault(r.id[len(prefix):], set()).add(r.language)
        else:
            problems.append(f"{r.id}: the id should start with {prefix!r}")
    for key, langs in sorted(keys.items()):
        for lang in languages:
            if lang not in langs:
                problems.append(f"{key}: no {lang} version")
    return problems


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def search(responses: list[CannedResponse], query: str, *, language: str | None = None) -> list[CannedResponse]:
    """Responses whose shortcut, title, category, keywords or body contain every word of the query
    (accents and case ignored); shortcut matches first, then the preferred language."""
    words = _fold(query.strip().lstrip("/")).split()
    hits = []
    for r in responses:
        haystack = _fold(" ".join((r.shortcut, r.title, r.category, " ".join(r.keywords), r.body)))
        if all(w in haystack for w in words):
            shortcut_hit = bool(words) and _fold(r.shortcut).startswith(words[0])
            hits.append((not shortcut_hit, language is not None and r.language != language, r.title.casefold(), r))
    hits.sort(key=lambda h: h[:3])
    return [h[3] for h in hits]


def first_name(full_name: str) -> str:
    parts = full_name.split()
    return parts[0] if parts else ""
