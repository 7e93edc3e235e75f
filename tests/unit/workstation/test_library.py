"""The canned library on a real cache fed with sync pages: filtering, order, server ids, the bundled fallback,
suggestions in both languages, the suggester rebuilt only when the text changes, and the store's writes."""

from __future__ import annotations

import asyncio

import pytest

from workstation import canned, protocol
from workstation.cache import Cache, ChangeSet
from workstation.errors import NetworkError, ServerError
from workstation.library import (
    CannedLibrary,
    CannedStore,
    LibraryEntry,
    TemplateIssue,
    bundled_library,
    template_issues,
    variant_key_for,
    write_from,
)

ME, OTHER = 7, 8


def public(id_: int, key: str, title: str, *, owner: int | None = None, usage: int = 0, deleted: bool = False,
           language: str = "es", body: str = "Hola {{customer.first_name}}", variants=None, keywords=(),
           shortcut: str | None = None, category: str = "general") -> protocol.CannedPublic:
    return protocol.CannedPublic(
        id=id_, key=key, title=title, shortcut=shortcut or key.split("-", 1)[-1], category=category,
        language=language, body=body, variants=variants or {}, keywords=list(keywords), owner_agent_id=owner,
        usage_count=usage, deleted=deleted)


def page(*canned_items: protocol.CannedPublic, after: int = 1) -> protocol.SyncPage:
    return protocol.SyncPage(canned=list(canned_items), next_after=after, has_more=False, epoch="db-1")


@pytest.fixture
def cache(tmp_path):
    c = Cache(tmp_path / "cache.sqlite")
    yield c
    c.close()


@pytest.fixture(scope="module")
def seeded_page() -> protocol.SyncPage:
    """The bundled library as the team server seeds and syncs it (server ids from 100)."""
    return page(*(public(100 + i, r.id, r.title, language=r.language, body=r.body, variants=r.variants,
                         keywords=r.keywords, shortcut=r.shortcut, category=r.category)
                  for i, r in enumerate(bundled_library())))


def test_deleted_responses_and_other_agents_personal_ones_are_hidden(cache):
    cache.apply_page(page(
        public(1, "es-team", "Del equipo"),
        public(2, "es-mine", "Mía", owner=ME),
        public(3, "es-theirs", "De otro", owner=OTHER),
        public(4, "es-gone", "Borrada", deleted=True),
        public(5, "es-mine-gone", "Mía borrada", owner=ME, deleted=True),
    ))
    library = CannedLibrary(ME)
    assert library.load(cache)
    assert sorted(r.id for r in library.responses) == ["es-mine", "es-team"]
    assert library.entry("es-mine").team is False and library.entry("es-team").team is True
    assert library.entry("es-theirs") is None and library.server_id("es-gone") is None
    assert library.fallback is False

    # Another agent sees their own and the team's, never mine.
    theirs = CannedLibrary(OTHER)
    theirs.load(cache)
    assert sorted(r.id for r in theirs.responses) == ["es-team", "es-theirs"]


def test_order_is_usage_then_title_and_server_ids_are_kept(cache):
    cache.apply_page(page(
        public(10, "es-b", "beta", usage=2), public(11, "es-a", "Alfa", usage=2),
        public(12, "es-c", "Gamma", usage=9), public(13, "es-d", "Delta")))
    library = CannedLibrary(ME)
    library.load(cache)
    assert [r.title for r in library.responses] == ["Gamma", "Alfa", "beta", "Delta"]
    assert [library.server_id(k) for k in ("es-c", "es-a", "es-b", "es-d")] == [12, 11, 10, 13]
    assert all(isinstance(r, canned.CannedResponse) for r in library.responses)


def test_the_bundled_library_serves_until_anything_is_synced(cache):
    library = CannedLibrary(ME)
    library.load(cache)
    assert library.fallback
    ids = {r.id for r in library.responses}
    assert {"es-greeting", "en-greeting", "es-return", "en-crisis"} <= ids
    assert library.server_id("es-greeting") is None  # nothing to count or edit
    assert library.suggestions("I forgot my password and can't log in", "en")[0].response.id == "en-password"

    cache.apply_page(page(public(1, "es-only", "Solo esta")))
    assert library.load(cache)
    assert [r.id for r in library.responses] == ["es-only"] and not library.fallback

    # A team that deleted everything has an empty library, not the bundled one.
    cache.apply_page(page(public(1, "es-only", "Solo esta", deleted=True), after=2))
    library.load(cache)
    assert library.responses == [] and not library.fallback
    assert library.suggestions("hola") == []


@pytest.mark.parametrize("message,language,expected", [
    ("Me habéis cobrado dos veces el mismo pedido", "es", "es-charge"),
    ("He olvidado mi contraseña y no puedo entrar", "es", "es-password"),
    ("Mi pedido no ha llegado todavía, ¿dónde está?", None, "es-late"),
    ("You charged me twice for the same order", "en", "en-charge"),
    ("I forgot my password and can't log in", "en", "en-password"),
    ("Where is my parcel? It still hasn't arrived", None, "en-late"),
])
def test_suggestions_put_the_right_response_first(cache, seeded_page, message, language, expected):
    cache.apply_page(seeded_page)
    library = CannedLibrary(ME)
    library.load(cache)
    suggestions = library.suggestions(message, language)
    assert 1 <= len(suggestions) <= 3
    assert suggestions[0].response.id == expected
    assert library.server_id(expected) is not None


def test_suggestions_change_with_the_message_and_prefer_the_customers_language(cache, seeded_page):
    cache.apply_page(seeded_page)
    library = CannedLibrary(ME)
    library.load(cache)
    first = [s.response.id for s in library.suggestions("Quiero devolver unas botas", "es")]
    second = [s.response.id for s in library.suggestions("¿A qué hora abrís mañana?", "es")]
    assert first != second and "es-return" in first and second[0] == "es-opening"
    assert all(i.startswith("es-") for i in first + second)
    assert library.suggestions("", "es") == [] and library.suggestions("   ") == []


def test_the_suggester_is_rebuilt_only_when_the_text_changes(cache, seeded_page):
    cache.apply_page(seeded_page)
    library = CannedLibrary(ME)
    library.load(cache)
    suggester = library._state.suggester
    version = library.version
    assert library.load(cache) is False and library.version == version  # nothing changed

    greeting = next(c for c in seeded_page.canned if c.key == "es-greeting")
    changes = cache.apply_page(page(greeting.model_copy(update={"usage_count": 40}), after=2))
    assert CannedLibrary.handles(changes)
    assert library.load(cache) is True
    assert library.responses[0].id == "es-greeting"  # most used first
    assert library._state.suggester is suggester  # only the order changed

    changes = cache.apply_page(page(greeting.model_copy(update={"keywords": ["zanahoria"], "usage_count": 40}),
                                    after=3))
    assert library.load(cache) is True
    assert library._state.suggester is not suggester
    assert library.suggestions("zanahoria", "es")[0].response.id == "es-greeting"


def test_change_sets_that_touch_the_library():
    assert CannedLibrary.handles(ChangeSet(canned_changed=True))
    assert CannedLibrary.handles(ChangeSet(reset=True))
    assert not CannedLibrary.handles(ChangeSet(conversation_ids={1}, agents_changed=True))


def test_a_write_shows_at_once_and_the_sync_agrees(cache):
    cache.apply_page(page(public(1, "es-team", "Del equipo")))
    library = CannedLibrary(ME)
    library.load(cache)
    mine = public(2, "es-abc", "Nueva mía", owner=ME)
    assert library.apply_public(mine)
    assert library.server_id("es-abc") == 2 and not library.entry("es-abc").team
    assert library.apply_public(public(3, "es-x", "De otro", owner=OTHER)) is False  # never shown
    assert library.entry("es-x") is None
    library.forget(2)
    assert library.entry("es-abc") is None
    cache.apply_page(page(mine, after=2))
    library.load(cache)
    assert library.server_id("es-abc") == 2


def test_search_matches_every_word_shortcut_first_then_language(cache):
    cache.apply_page(page(
        public(1, "en-refund", "Refund", language="en", shortcut="refund", body="Your money back"),
        public(2, "es-refund", "Reembolso", language="es", shortcut="reembolso", body="Tu dinero, refund"),
        public(3, "en-money", "Money", language="en", shortcut="money", body="refund policy", usage=5)))
    library = CannedLibrary(ME)
    library.load(cache)
    assert [e.key for e in library.search("/refund", language="es")] == ["en-refund", "es-refund", "en-money"]
    assert [e.key for e in library.search("refund policy")] == ["en-money"]
    assert [e.key for e in library.search("", language="en")] == ["en-money", "en-refund", "es-refund"]
    assert library.shortcut_owner("/Refund", "en").key == "en-refund"
    assert library.shortcut_owner("refund", "en", besides="en-refund") is None
    assert library.shortcut_owner("refund", "es") is None


def test_malformed_json_columns_read_as_empty(cache):
    cache.apply_page(page(public(1, "es-a", "A")))
    with cache.engine.begin() as c:
        c.exec_driver_sql("UPDATE canned SET variants = 'not json', keywords = '{\"a\": 1}'")
    library = CannedLibrary(ME)
    library.load(cache)
    assert library.responses[0].variants == {} and library.responses[0].keywords == ()


def test_template_issues_word_every_problem():
    assert template_issues("Hola {{customer.first_name}}, [[pedido]]") == []
    assert template_issues("Hola {{nope}} [[ ]] ]]") == [
        TemplateIssue("stray", "]]", 20), TemplateIssue("empty_placeholder", "", 14),
        TemplateIssue("unknown_variable", "nope")]
    assert all(i.kind != "other" for i in template_issues("{{ [[ }} ]] {{a.b}} [[]]"))


def test_variant_key_follows_body_for():
    r = canned.CannedResponse("es-a", "A", "a", "general", "es", "cuerpo", {"x": "corto", "private": "privado"})
    for channel, public_ in [("x", None), ("x", False), ("whatsapp", None), ("email", True), (None, None)]:
        key = variant_key_for(r, channel, public=public_)
        assert (r.variants[key] if key else r.body) == canned.body_for(r, channel, public=public_)


class FakeApi:
    def __init__(self, fail: Exception | None = None):
        self.calls: list[tuple] = []
        self.fail = fail
        self.next_id = 500

    async def create_canned(self, body):
        self.calls.append(("create", body))
        if self.fail:
            raise self.fail
        self.next_id += 1
        return protocol.CannedPublic(id=self.next_id, key=f"{body.language}-new{self.next_id}", title=body.title,
                                     shortcut=body.shortcut, category=body.category, language=body.language,
                                     body=body.body, variants=body.variants, keywords=body.keywords,
                                     owner_agent_id=None if body.team else ME)

    async def update_canned(self, canned_id, body):
        self.calls.append(("update", canned_id, body))
        return protocol.CannedPublic(id=canned_id, key="es-team", title=body.title, shortcut=body.shortcut,
                                     language=body.language, category=body.category, body=body.body)

    async def delete_canned(self, canned_id):
        self.calls.append(("delete", canned_id))

    async def count_canned_use(self, canned_id):
        self.calls.append(("use", canned_id))
        if self.fail:
            raise self.fail


def test_store_writes_show_at_once_and_uses_are_counted_best_effort(cache):
    cache.apply_page(page(public(1, "es-team", "Del equipo"), public(2, "es-mine", "Mía", owner=ME)))
    pulls = []
    api = FakeApi()
    agent = protocol.AgentPublic(id=ME, email="a@t.test", name="Ana", role="agent")
    store = CannedStore(CannedLibrary(ME), api=api, agent=agent, cache=cache, request_pull=lambda: pulls.append(1))

    async def scenario():
        assert await store.refresh()
        assert not store.can_edit_team
        assert not store.can_edit(store.library.entry("es-team")) and store.can_edit(store.library.entry("es-mine"))
        created = await store.save(write_from(store.library.entry("es-mine").response, team=False))
        assert store.library.entry(created.key).server_id == created.id
        await store.delete(store.library.entry("es-mine"))
        assert store.library.entry("es-mine") is None
        assert await store.count_use("es-team") is True
        assert await store.count_use("es-unknown") is False
        api.fail = NetworkError("offline")
        assert await store.count_use("es-team") is False  # offline: not counted, nothing raised
        api.fail = ServerError(404, "no such canned response")
        assert await store.count_use("es-team") is False
        with pytest.raises(ServerError):
            await store.save(write_from(store.library.entry("es-team").response, team=True))
        assert await store.apply_changes(ChangeSet(conversation_ids={1})) is False

    asyncio.run(scenario())
    assert [c[0] for c in api.calls] == ["create", "delete", "use", "use", "use", "create"]
    assert ("use", 1) in api.calls and len(pulls) == 2
    lead = CannedStore(CannedLibrary(ME), api=api, agent=agent.model_copy(update={"role": "lead"}), cache=cache)
    asyncio.run(lead.refresh())
    assert lead.can_edit_team and lead.can_edit(lead.library.entry("es-team"))
    assert not lead.can_edit(LibraryEntry(canned.CannedResponse("es-z", "Z", "z", "general", "es", "z"), 9, OTHER))
    assert not lead.can_edit(LibraryEntry(canned.CannedResponse("es-z", "Z", "z", "general", "es", "z")))
