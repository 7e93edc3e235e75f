"""The canned library's format: the shipped default library is well formed, and malformed files are refused."""

from __future__ import annotations

import json

import pytest

from workstation import canned
from workstation.paths import resources_dir


@pytest.fixture(scope="module")
def library():
    return canned.load_library(resources_dir() / "canned")


def test_shipped_library_has_no_problems(library):
    assert canned.library_problems(library) == []


def test_every_response_exists_in_spanish_and_english_with_the_same_category(library):
    by_key: dict[str, dict[str, canned.CannedResponse]] = {}
    for r in library:
        by_key.setdefault(r.id.split("-", 1)[1], {})[r.language] = r
    assert len(by_key) >= 25
    for key, versions in by_key.items():
        assert set(versions) == {"es", "en"}, key
        assert versions["es"].category == versions["en"].category, key
        # The same variants, the same variables and as many placeholders in both languages.
        assert set(versions["es"].variants) == set(versions["en"].variants), key
        assert set(canned.variables(versions["es"].body)) == set(canned.variables(versions["en"].body)), key
        assert len(canned.placeholders(versions["es"].body)) == len(canned.placeholders(versions["en"].body)), key


def test_ids_are_unique_and_shortcuts_unique_per_language(library):
    assert len({r.id for r in library}) == len(library)
    assert len({(r.language, r.shortcut) for r in library}) == len(library)


def test_every_text_for_x_fits_in_280_characters(library):
    for r in library:
        text = canned.body_for(r, "x")
        assert canned.nominal_length(text) <= canned.SHORT_VARIANT_LIMIT, r.id
        if "x" in r.variants:
            assert len(r.variants["x"]) < len(r.body), r.id  # a variant only where the body is too long


def test_placeholders_are_well_formed_and_variables_known(library):
    for r in library:
        for text in (r.body, *r.variants.values()):
            assert canned.template_problems(text) == [], r.id
            for span in canned.placeholders(text):
                assert text[span.start:span.end] == f"[[{span.label}]]"


def test_every_response_has_keywords_in_its_language(library):
    for r in library:
        assert r.keywords and all(k.strip() == k and k for k in r.keywords), r.id
        assert len(set(r.keywords)) == len(r.keywords), r.id


def test_protocols_the_issue_asks_for(library):
    ids = {r.id for r in library}
    for key in ("greeting", "thanks", "private", "hours", "warranty", "return", "repair", "tracking", "refund",
                "password", "invoice", "retention", "wait", "escalation", "details", "closing", "followup",
                "crisis", "compliment", "suggestion", "opening", "prices", "stores"):
        assert {f"es-{key}", f"en-{key}"} <= ids, key
    crisis = next(r for r in library if r.id == "en-crisis")
    assert crisis.category == "crisis"
    # Out of hours names the hours and an alternative channel.
    for lang in ("es", "en"):
        hours = next(r for r in library if r.id == f"{lang}-hours")
        assert {"team.hours", "team.alternative_channel"} <= set(canned.variables(hours.body))
    # Post-sale steps carry an order number placeholder for the agent to fill.
    for key, label in (("en-return", "order number"), ("es-return", "número de pedido")):
        body = next(r for r in library if r.id == key).body
        assert label in [p.label for p in canned.placeholders(body)]


def test_public_complaint_has_a_public_reply_and_a_private_message(library):
    r = next(r for r in library if r.id == "en-private")
    public, private = canned.body_for(r, "x", public=True), canned.body_for(r, "x", public=False)
    assert public == r.body and "private message" in public
    assert private == r.variants["private"] and private != public
    assert canned.nominal_length(public) <= canned.SHORT_VARIANT_LIMIT


def test_body_for_picks_the_variant_or_the_body():
    r = canned.CannedResponse("en-x", "T", "t", "general", "en", "long body",
                              variants={"x": "short", "public": "pub", "private": "dm"})
    assert canned.body_for(r, "x") == "short"
    assert canned.body_for(r, "whatsapp") == "long body"
    assert canned.body_for(r, None) == "long body"
    assert canned.body_for(r, "whatsapp", public=True) == "pub"
    assert canned.body_for(r, "x", public=False) == "dm"
    plain = canned.CannedResponse("en-y", "T", "y", "general", "en", "only body")
    assert canned.body_for(plain, "x", public=True) == "only body"
    assert plain.variants == {} and plain.keywords == ()
    hash(plain)  # still usable in sets and as a dict key, variants or not
    hash(r)


def write(tmp_path, entries, name="team.json"):
    (tmp_path / name).write_text(json.dumps(entries), encoding="utf-8")
    return tmp_path


BASE = {"id": "en-a", "title": "A", "shortcut": "a", "category": "general", "language": "en", "body": "Hi"}


def test_old_format_without_variants_or_keywords_still_loads(tmp_path):
    [r] = canned.load_library(write(tmp_path, [BASE]))
    assert r == canned.CannedResponse("en-a", "A", "a", "general", "en", "Hi")


def test_new_fields_load(tmp_path):
    [r] = canned.load_library(write(tmp_path, [{**BASE, "variants": {"x": "short"}, "keywords": ["k1", "k 2"]}]))
    assert r.variants == {"x": "short"} and r.keywords == ("k1", "k 2")


@pytest.mark.parametrize("entry, message", [
    ({**BASE, "variants": {"x": "y" * 281}}, "'x' variant is 281 characters"),
    ({**BASE, "variants": {"public": "{{customer.name}} " + "y" * 260}}, "'public' variant is 281"),
    ({**BASE, "variants": {"fax": "y"}}, "unknown variant 'fax'"),
    ({**BASE, "variants": ["x"]}, "variants must map"),
    ({**BASE, "variants": {"x": 3}}, "variants must map"),
    ({**BASE, "keywords": "a, b"}, "keywords must be a list"),
    ({**BASE, "keywords": [1]}, "keywords must be a list"),
    ({**BASE, "body": None}, "body must be text"),
    ({**BASE, "title": ["A"]}, "title must be text"),
    ("not an object", "not an object"),
])
def test_malformed_entries_are_refused_with_where_and_why(tmp_path, entry, message):
    with pytest.raises(canned.CannedLibraryError, match="team.json entry 0") as info:
        canned.load_library(write(tmp_path, [entry]))
    assert message in str(info.value)


def test_a_file_that_is_not_a_list_or_has_duplicate_ids_is_refused(tmp_path):
    with pytest.raises(canned.CannedLibraryError, match="expected a list"):
        canned.load_library(write(tmp_path, {"id": "x"}))
    with pytest.raises(canned.CannedLibraryError, match="duplicate id en-a"):
        canned.load_library(write(tmp_path, [BASE, BASE]))


def test_library_problems_reports_what_a_lead_must_fix():
    def r(id_, shortcut, body, **kw):
        return canned.CannedResponse(id_, "T", shortcut, "general", id_[:2], body, **kw)

    problems = canned.library_problems([
        r("en-a", "a", "Hi [[order number] and {{customer.first_name}}"),
        r("en-b", "a", "{{nonsense}} and [[ ]] and {{customer.loyalty_tier}}"),
        r("es-a", "a", "Hola"),
        r("en-c", "two words", "x" * 300),
        r("es-c", "c", "ok", variants={"x": "y" * 300}),
        r("xx", "z", "no language prefix"),
    ])
    text = "\n".join(problems)
    assert "en-a body: stray '[['" in text
    assert "en-b: duplicate shortcut /a in en" in text
    assert "unknown variable 'nonsense'" in text and "loyalty_tier" not in text  # custom fields are fine
    assert "empty placeholder" in text
    assert "b: no es version" in text and "a: no" not in text
    assert "en-c: the shortcut must be one word" in text
    assert "en-c: over 280 characters for X" in text
    assert "es-c: variant x over 280" in text
    assert "xx: the id should start with" in text
