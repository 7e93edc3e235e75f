"""Canned responses: the shipped library, rendering variables and searching."""

from __future__ import annotations

import json

import pytest

from workstation import canned
from workstation.paths import resources_dir

# The case types of the customer-service department (information, incident, post-sale) and the rest.
CATEGORIES = ("general", "information", "incident", "post-sale", "crisis", "follow-up")


@pytest.fixture(scope="module")
def library():
    return canned.load_library(resources_dir() / "canned")


def test_shipped_library_has_every_protocol_in_both_languages(library):
    by_lang = {lang: {r.id.split("-", 1)[1] for r in library if r.language == lang} for lang in ("es", "en")}
    expected = {"greeting", "thanks", "private", "hours", "warranty", "return", "repair", "crisis", "followup"}
    assert by_lang["es"] >= expected and by_lang["en"] >= expected
    categories = {lang: {r.category for r in library if r.language == lang} for lang in ("es", "en")}
    assert categories["es"] == categories["en"] == set(CATEGORIES)
    assert len({(r.language, r.shortcut) for r in library}) == len(library)


def test_render_fills_known_variables_and_leaves_unknown_ones_visible():
    body = "Hola {{customer.first_name}}, soy {{ agent.first_name }}. Caso {{conversation.id}}. {{order.number}}"
    out = canned.render(body, {"customer.first_name": "Núria", "agent.first_name": "Ana", "conversation.id": "42"})
    assert out == "Hola Núria, soy Ana. Caso 42. {{order.number}}"


def test_render_does_not_reinterpret_values():
    # A customer named like a variable must not be expanded again.
    out = canned.render("Hi {{customer.first_name}}", {"customer.first_name": "{{agent.name}}", "agent.name": "X"})
    assert out == "Hi {{agent.name}}"


def test_search_ignores_accents_and_case_and_ranks_shortcut_matches_first(library):
    hits = canned.search(library, "DEVOLUCION", language="es")
    assert hits and hits[0].id == "es-return"
    hits = canned.search(library, "/warranty", language="en")
    assert hits[0].shortcut == "warranty"
    assert canned.search(library, "zzzz-no-such-thing") == []


def test_search_prefers_the_given_language(library):
    hits = canned.search(library, "crisis", language="en")
    assert [h.language for h in hits[:2]] == ["en", "es"]


def test_malformed_library_is_a_clear_error(tmp_path):
    (tmp_path / "bad.json").write_text(json.dumps([{"id": "x", "title": "t"}]), encoding="utf-8")
    with pytest.raises(canned.CannedLibraryError, match="bad.json entry 0"):
        canned.load_library(tmp_path)


def test_first_name():
    assert canned.first_name("  Lucía  Fernández ") == "Lucía"
    assert canned.first_name("") == ""
