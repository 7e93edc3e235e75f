"""Canned responses: the team's protocol answers, loaded from JSON and rendered with {{variables}}."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

_VARIABLE = re.compile(r"\{\{\s*([a-zA-Z_][\w.]*)\s*\}\}")


@dataclass(frozen=True)
class CannedResponse:
    id: str
    title: str
    shortcut: str
    category: str
    language: str
    body: str


class CannedLibraryError(ValueError):
    pass


def load_library(folder: Path) -> list[CannedResponse]:
    """Reads every *.json file in `folder` (a list of responses each); raises on a malformed entry."""
    responses: list[CannedResponse] = []
    seen: set[str] = set()
    for path in sorted(folder.glob("*.json")):
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CannedLibraryError(f"{path.name}: {exc}") from exc
        for i, entry in enumerate(entries):
            try:
                item = CannedResponse(**{k: str(entry[k]) for k in CannedResponse.__dataclass_fields__})
            except (KeyError, TypeError) as exc:
                raise CannedLibraryError(f"{path.name} entry {i}: missing {exc}") from exc
            if item.id in seen:
                raise CannedLibraryError(f"{path.name}: duplicate id {item.id}")
            seen.add(item.id)
            responses.append(item)
    return responses


def render(body: str, context: Mapping[str, str]) -> str:
    """Fills {{dotted.names}} from `context`; unknown names stay visible so the agent sees the gap."""

    def fill(match: re.Match) -> str:
        value = context.get(match.group(1))
        return match.group(0) if value is None or value == "" else value

    return _VARIABLE.sub(fill, body)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def search(responses: list[CannedResponse], query: str, *, language: str | None = None) -> list[CannedResponse]:
    """Responses whose shortcut, title, category or body contain every word of the query (accents and
    case ignored); shortcut matches first, then the preferred language."""
    words = _fold(query.strip().lstrip("/")).split()
    hits = []
    for r in responses:
        haystack = _fold(" ".join((r.shortcut, r.title, r.category, r.body)))
        if all(w in haystack for w in words):
            shortcut_hit = bool(words) and _fold(r.shortcut).startswith(words[0])
            hits.append((not shortcut_hit, language is not None and r.language != language, r.title.casefold(), r))
    hits.sort(key=lambda h: h[:3])
    return [h[3] for h in hits]


def first_name(full_name: str) -> str:
    parts = full_name.split()
    return parts[0] if parts else ""
