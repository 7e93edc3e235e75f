"""The canned panel on a real cache fed with sync pages (the server's canned API is a recording double):
suggestions for the customer's message, the team/mine list, the channel's variant, inserting with variables
filled, usage counts, and New/Edit/Delete as the agent's role allows."""

from __future__ import annotations

import asyncio
import gc
import socket

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from ui.canned_panel import HEADER, CannedPanel, KindRole, MetaRole, ResponseRole, UsageRole
from workstation import canned, protocol
from workstation.api import ApiClient
from workstation.cache import Cache
from workstation.errors import ServerError
from workstation.library import CannedLibrary, CannedStore, bundled_library
from workstation.sync import DbWorker

ME, OTHER = 7, 8


def dead_url() -> str:
    """A loopback address nothing listens on: every request fails at once, as offline."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def seeded(*extra: protocol.CannedPublic, after: int = 1) -> protocol.SyncPage:
    """The bundled library as the server seeds it (ids from 100), plus `extra`."""
    items = [protocol.CannedPublic(id=100 + i, key=r.id, title=r.title, shortcut=r.shortcut, category=r.category,
                                   language=r.language, body=r.body, variants=r.variants, keywords=list(r.keywords))
             for i, r in enumerate(bundled_library())]
    return protocol.SyncPage(canned=items + list(extra), next_after=after, has_more=False, epoch="db-1")


def personal(id_: int, key: str, title: str, owner: int, **kw) -> protocol.CannedPublic:
    values = dict(shortcut=key.split("-", 1)[1], category="general", language="es", body="Texto de " + title)
    values.update(kw)
    return protocol.CannedPublic(id=id_, key=key, title=title, owner_agent_id=owner, **values)


class FakeApi:
    """The canned part of ApiClient, recording what it was asked."""

    def __init__(self):
        self.calls: list[tuple] = []
        self.refuse: Exception | None = None
        self.next_id = 900

    async def create_canned(self, body):
        self.calls.append(("create", body))
        if self.refuse:
            raise self.refuse
        self.next_id += 1
        return protocol.CannedPublic(id=self.next_id, key=f"{body.language}-n{self.next_id}", title=body.title,
                                     shortcut=body.shortcut, category=body.category, language=body.language,
                                     body=body.body, variants=body.variants, keywords=body.keywords,
                                     owner_agent_id=None if body.team else ME)

    async def update_canned(self, canned_id, body):
        self.calls.append(("update", canned_id, body))
        if self.refuse:
            raise self.refuse
        return protocol.CannedPublic(id=canned_id, key=body.language + "-edited", title=body.title,
                                     shortcut=body.shortcut, category=body.category, language=body.language,
                                     body=body.body, variants=body.variants, keywords=body.keywords,
                                     owner_agent_id=ME)

    async def delete_canned(self, canned_id):
        self.calls.append(("delete", canned_id))
        if self.refuse:
            raise self.refuse

    async def count_canned_use(self, canned_id):
        self.calls.append(("use", canned_id))


@pytest.fixture
def make_panel(qloop, qtbot, tmp_path):
    workers = []

    def make(role: str = "agent", *, page: protocol.SyncPage | None = None, api=None):
        cache = Cache(tmp_path / f"cache-{len(workers)}.sqlite")
        db = DbWorker(cache)
        workers.append(db)
        cache.apply_page(page or seeded(personal(50, "es-mine", "Mi despedida", ME, usage_count=3),
                                        personal(51, "es-theirs", "La de Ben", OTHER),
                                        personal(52, "es-old", "Borrada", ME, deleted=True)))
        agent = protocol.AgentPublic(id=ME, email="ana@t.test", name="Ana Gómez", role=role)
        store = CannedStore(CannedLibrary(ME), api=api or FakeApi(), agent=agent, cache=cache, run=db.run)
        panel = CannedPanel(bundled_library(), "en")
        qtbot.addWidget(panel)
        panel.resize(360, 800)
        panel.show()
        panel.attach(store)
        qtbot.waitUntil(lambda: panel.library is store.library and not panel.library.fallback, timeout=5000)
        return panel

    yield make
    for db in workers:
        db.shutdown()
    gc.collect()


def ids(responses) -> list[str]:
    return [r.id for r in responses]


def select(panel: CannedPanel, key: str) -> None:
    panel.search_edit.clear()
    for i in range(panel.list.count()):
        item = panel.list.item(i)
        if item.data(KindRole) != HEADER and item.data(ResponseRole).id == key:
            panel.list.setCurrentRow(i)
            assert panel.current_response().id == key
            return
    raise AssertionError(f"{key} is not listed")


def test_suggestions_follow_the_customers_last_message_in_either_language(make_panel, qtbot):
    panel = make_panel()
    assert panel.suggestions() == [] and panel.suggested_empty.isVisible()
    assert panel.suggested_empty.text() == "Open a conversation to see the responses that fit its last message."

    panel.set_context("Me habéis cobrado dos veces el mismo pedido", "es", "whatsapp")
    assert ids(panel.suggestions())[0] == "es-charge" and len(panel.suggestions()) <= 3
    assert panel.current_response().id == "es-charge"  # Insert (or Enter) takes the best one
    assert panel.suggested_list.isVisible() and not panel.suggested_empty.isVisible()

    panel.set_context("He olvidado mi contraseña y no puedo entrar", "es", "whatsapp")
    assert ids(panel.suggestions())[0] == "es-password"
    panel.set_context("Where is my parcel? It still hasn't arrived", None, "whatsapp")  # language guessed
    assert ids(panel.suggestions())[0] == "en-late"
    panel.set_context("You charged me twice for the same order", "en", "whatsapp")
    assert ids(panel.suggestions())[0] == "en-charge"
    assert all(i.startswith("en-") for i in ids(panel.suggestions()))
    # The list puts the customer's language first.
    assert panel.listed()[0].language == "en"

    panel.set_context("zzz qqq", "en", "whatsapp")
    assert panel.suggestions() == [] and panel.suggested_empty.text() == "No suggestion for the customer's last message."


def test_insert_emits_the_rendered_body_and_counts_the_use(make_panel, qtbot):
    panel = make_panel()
    panel.set_context("Hola, buenas", "es", "whatsapp",
                      variables={"customer.first_name": "Sofía", "agent.first_name": "Lucía", "conversation.id": "42"})
    select(panel, "es-greeting")
    greeting = next(r for r in bundled_library() if r.id == "es-greeting")
    with qtbot.waitSignal(panel.insert_requested) as requested, qtbot.waitSignal(panel.insert_rendered) as shown:
        panel.insert_button.click()
    chosen, rendered = requested.args[0], shown.args[0]
    assert chosen.id == "es-greeting" and chosen.body == greeting.body
    assert rendered == canned.render_with_placeholders(greeting.body, {
        "customer.first_name": "Sofía", "agent.first_name": "Lucía", "conversation.id": "42"})
    assert rendered.text.startswith("¡Hola, Sofía!") and "Lucía" in rendered.text and "{{" not in rendered.text
    assert panel.preview.text() == rendered.text
    api = panel.store.api
    qtbot.waitUntil(lambda: ("use", panel.library.server_id("es-greeting")) in api.calls)


def test_the_short_x_variant_is_previewed_and_inserted_on_x(make_panel, qtbot):
    panel = make_panel()
    ret = next(r for r in bundled_library() if r.id == "es-return")
    panel.set_context("Quiero devolver unas botas", "es", "x", public=None,
                      variables={"customer.first_name": "Sofía"})
    select(panel, "es-return")
    assert panel.variant_box.currentData() == "x" and panel.variant_box.currentText() == "X (short)"
    assert panel.preview_info.text() == f"X (short) · {canned.nominal_length(ret.variants['x'])} / 280 characters"
    with qtbot.waitSignal(panel.insert_rendered) as rendered, qtbot.waitSignal(panel.insert_requested) as chosen:
        panel.on_insert_clicked()
    assert chosen.args[0].body == ret.variants["x"]
    assert rendered.args[0].text == canned.render(ret.variants["x"], {"customer.first_name": "Sofía"})
    # The agent may pick the full text instead.
    panel.variant_box.setCurrentIndex(panel.variant_box.findData(None))
    assert panel.preview_info.text().startswith("Text · ")
    with qtbot.waitSignal(panel.insert_requested) as chosen:
        panel.on_insert_clicked()
    assert chosen.args[0].body == ret.body
    # On WhatsApp the body is the default.
    panel.set_context("Quiero devolver unas botas", "es", "whatsapp")
    assert panel.variant_box.currentData() is None


def test_customer_data_is_plain_text_and_never_a_template(make_panel, qtbot):
    panel = make_panel()
    name = '{{agent.name}} [[x]] <b>Eve</b>'
    panel.set_context("<img src=x onerror=alert(1)> hola", "es", "whatsapp", variables={"customer.first_name": name})
    select(panel, "es-greeting")
    assert panel.preview.textFormat() == Qt.TextFormat.PlainText and name in panel.preview.text()
    with qtbot.waitSignal(panel.insert_rendered) as rendered:
        panel.insert_button.click()
    assert name in rendered.args[0].text
    assert all(rendered.args[0].text[p.start:p.end] != "[[x]]" for p in rendered.args[0].placeholders)


def test_the_list_groups_team_and_mine_and_hides_deleted_and_others(make_panel, qtbot):
    panel = make_panel()
    headers = [panel.list.item(i).text() for i in range(panel.list.count()) if panel.list.item(i).data(KindRole) == HEADER]
    assert headers == ["Team · 70", "Mine · 1"]
    listed = ids(panel.listed())
    assert "es-mine" in listed and "es-theirs" not in listed and "es-old" not in listed
    assert listed[-1] == "es-mine"
    mine = next(panel.list.item(i) for i in range(panel.list.count())
                if panel.list.item(i).data(KindRole) != HEADER and panel.list.item(i).data(ResponseRole).id == "es-mine")
    assert mine.data(UsageRole) == "3×" and mine.data(MetaRole) == "/mine · General · ES"
    panel.search_edit.setText("devol")
    assert ids(panel.listed())[0] in ("en-return", "es-return") and "es-greeting" not in ids(panel.listed())
    panel.search_edit.setText("nothing matches this")
    assert panel.listed() == [] and panel.preview.text() == "No canned response matches."
    assert not panel.insert_button.isEnabled()


def test_keyboard_moves_through_suggestions_then_the_list_and_enter_inserts(make_panel, qtbot):
    panel = make_panel()
    panel.set_context("He olvidado mi contraseña", "es", "whatsapp")
    suggested = ids(panel.suggestions())
    panel.search_edit.setFocus()
    assert panel.current_response().id == suggested[0]
    qtbot.keyClick(panel.search_edit, Qt.Key.Key_Down)
    assert panel.current_response().id == suggested[1]
    for _ in suggested:
        qtbot.keyClick(panel.search_edit, Qt.Key.Key_Down)
    assert panel.current_response().id == panel.listed()[1].id
    assert panel.suggested_list.currentItem() is None  # one selection across both lists
    expected = panel.current_response().id
    with qtbot.waitSignal(panel.insert_requested) as chosen:
        qtbot.keyClick(panel.search_edit, Qt.Key.Key_Return)
    assert chosen.args[0].id == expected
    qtbot.keyClicks(panel.search_edit, "saludo")
    assert panel.current_response().id == "es-greeting"


@pytest.mark.parametrize("role,team_editable", [("agent", False), ("lead", True), ("admin", True)])
def test_edit_and_delete_follow_the_role(make_panel, qtbot, role, team_editable):
    panel = make_panel(role)
    assert panel.new_button.isEnabled()
    select(panel, "es-greeting")
    assert panel.edit_button.isEnabled() is team_editable and panel.delete_button.isEnabled() is team_editable
    if not team_editable:
        assert panel.edit_button.toolTip() == "Only leads and admins change the team's responses."
    select(panel, "es-mine")
    assert panel.edit_button.isEnabled() and panel.delete_button.isEnabled()


def test_new_response_is_saved_and_listed_under_mine(make_panel, qtbot):
    panel = make_panel()
    panel.new_button.click()
    editor = panel.editor
    qtbot.waitUntil(editor.isVisible)
    assert not editor.team_box.isEnabled()  # an agent's responses are their own
    editor.title_edit.setText("Cambio de talla")
    editor.shortcut_edit.setText("talla")
    editor.body_edit.setPlainText("Hola {{customer.first_name}}, cambiamos la talla del pedido [[número de pedido]].")
    editor.variant_edits["x"].setPlainText("Cambiamos la talla: escríbenos por DM.")
    editor.keywords_edit.setText("talla, cambiar talla, pequeño")
    with qtbot.waitSignal(panel.library_edited, timeout=5000):
        editor.save_button.click()
    [(kind, body)] = panel.store.api.calls
    assert kind == "create" and body.team is False and body.variants == {"x": "Cambiamos la talla: escríbenos por DM."}
    assert body.keywords == ["talla", "cambiar talla", "pequeño"]
    assert panel.current_response().title == "Cambio de talla"
    assert "Cambio de talla" in [r.title for r in panel.listed()[-2:]]
    headers = [panel.list.item(i).text() for i in range(panel.list.count()) if panel.list.item(i).data(KindRole) == HEADER]
    assert headers[-1] == "Mine · 2"
    # It is suggested at once for a message with its keywords.
    panel.set_context("La talla me queda pequeña, ¿podéis cambiar la talla?", "es", "whatsapp")
    assert "Cambio de talla" in [r.title for r in panel.suggestions()]


def test_editing_sends_the_server_id_and_a_refusal_stays_in_the_editor(make_panel, qtbot):
    panel = make_panel()
    select(panel, "es-mine")
    panel.edit_button.click()
    editor = panel.editor
    assert editor.title_edit.text() == "Mi despedida" and not editor.team_box.isChecked()
    panel.store.api.refuse = ServerError(403, "this canned response is another agent's")
    editor.title_edit.setText("Mi despedida corta")
    editor.save_button.click()
    qtbot.waitUntil(lambda: editor.message.text() == "Not allowed: this canned response is another agent's")
    assert editor.isVisible() and editor.save_button.isEnabled()
    panel.store.api.refuse = None
    with qtbot.waitSignal(editor.saved, timeout=5000):
        editor.save_button.click()
    assert panel.store.api.calls[-1][:2] == ("update", 50)


def test_delete_asks_first_and_shows_a_refusal(make_panel, qtbot):
    panel = make_panel()
    select(panel, "es-mine")
    panel.store.api.refuse = ServerError(403, "this canned response is another agent's")
    panel.delete_button.click()
    box = panel.delete_box
    assert box.text() == "Delete “Mi despedida”?" and box.textFormat() == Qt.TextFormat.PlainText
    delete = next(b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.DestructiveRole)
    delete.click()
    qtbot.waitUntil(lambda: panel.message.text() == "Not deleted: Not allowed: this canned response is another agent's")
    assert "es-mine" in ids(panel.listed())

    panel.store.api.refuse = None
    select(panel, "es-mine")
    panel.delete_button.click()
    panel.delete_box.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.wait(20)
    assert [c[0] for c in panel.store.api.calls] == ["delete"]
    panel.delete_button.click()
    box = panel.delete_box
    with qtbot.waitSignal(panel.library_edited, timeout=5000):
        next(b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.DestructiveRole).click()
    assert panel.store.api.calls[-1] == ("delete", 50)
    assert "es-mine" not in ids(panel.listed()) and not panel.message.isVisible()


def test_a_synced_change_reloads_the_list(make_panel, qtbot):
    panel = make_panel()
    cache = panel.store.cache
    changes = cache.apply_page(protocol.SyncPage(
        canned=[personal(60, "es-nueva", "Recién llegada", ME, usage_count=1),
                personal(50, "es-mine", "Mi despedida", ME, deleted=True)],
        next_after=2, has_more=False, epoch="db-1"))
    panel.apply_changes(changes)
    qtbot.waitUntil(lambda: "es-nueva" in ids(panel.listed()), timeout=5000)
    assert "es-mine" not in ids(panel.listed())
    version = panel.library.version
    panel.apply_changes(type(changes)(conversation_ids={1}))  # nothing about the library: no reload
    qtbot.wait(50)
    assert panel.library.version == version


def test_built_from_a_plain_list_it_searches_and_inserts_without_a_store(qloop, qtbot):
    panel = CannedPanel(bundled_library(), "es")
    qtbot.addWidget(panel)
    assert not panel.new_button.isEnabled() and not panel.edit_button.isEnabled()
    panel.search_edit.setText("saludo")
    assert panel.list.count() >= 1
    with qtbot.waitSignal(panel.insert_requested) as chosen:
        panel.insert_button.click()
    assert chosen.args[0].id == "es-greeting"
    panel.set_context("Me habéis cobrado dos veces", "es", "whatsapp")
    assert ids(panel.suggestions())[0] == "es-charge"


def test_counting_a_use_offline_never_gets_in_the_way(make_panel, qtbot):
    api = ApiClient(dead_url(), "token")
    panel = make_panel(api=api)
    select(panel, "es-greeting")
    with qtbot.waitSignal(panel.insert_requested):
        panel.insert_button.click()
    qtbot.waitUntil(lambda: not panel._tasks, timeout=10000)
    assert not panel.message.isVisible()
    closing = asyncio.ensure_future(api.aclose())
    qtbot.waitUntil(closing.done)
