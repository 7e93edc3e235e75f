"""The customer pane against the real team server: edits of tags, CRM fields, notes and language reach the server
with the right CustomerUpdate, follow-ups are marked done (or refused, with the reason), a colleague's change
arrives by sync, and the real window shows the pane's history and editor."""

from __future__ import annotations

import asyncio
import gc
import uuid

import httpx
import pytest
from PySide6.QtCore import Qt

from tests.integration.helpers import inbound, sign_in
from tests.ui.test_main_window import feed_names, select_customer
from ui.app import open_window
from ui.customer_pane import CustomerPane
from workstation import protocol
from workstation.api import ApiClient
from workstation.settings import Settings
from workstation.workspace import Workspace

ANA = "ana@demo.workstation.test"


def server(stack, token: str) -> dict[str, dict[int, dict]]:
    """Customers, conversations and follow-ups as the server has them now."""
    merged: dict[str, dict[int, dict]] = {"customers": {}, "conversations": {}, "follow_ups": {}}
    after = 0
    while True:
        r = httpx.get(f"{stack.server_url}/v1/sync", params={"after": after, "limit": 200},
                      headers={"Authorization": f"Bearer {token}"})
        r.raise_for_status()
        page = r.json()
        for key, rows in merged.items():
            for row in page[key]:
                rows[row["id"]] = row
        after = page["next_after"]
        if not page["has_more"]:
            return merged


def patch(stack, token: str, path: str, body: dict) -> dict:
    r = httpx.patch(f"{stack.server_url}{path}", json=body, headers={"Authorization": f"Bearer {token}"})
    r.raise_for_status()
    return r.json()


class Recorder:
    """Wraps an ApiClient method: records each call and makes it."""

    def __init__(self, method) -> None:
        self.method = method
        self.calls: list[tuple] = []

    async def __call__(self, *args):
        self.calls.append(args)
        return await self.method(*args)


@pytest.fixture
def ana_pane(stack, qloop, qtbot, tmp_path):
    """Ana's workspace (syncing with the server) and a customer pane that follows its changes."""
    token, agent = sign_in(stack, ANA)
    holder: dict[str, CustomerPane] = {}
    workspace = Workspace(ApiClient(stack.server_url, token), protocol.AgentPublic.model_validate(agent),
                          cache_path=tmp_path / "ana.sqlite",
                          on_change=lambda cs: "pane" in holder and holder["pane"].on_workspace_changed(cs))
    workspace.api.update_customer = Recorder(workspace.api.update_customer)
    workspace.api.set_follow_up_done = Recorder(workspace.api.set_follow_up_done)
    pane = CustomerPane(workspace=workspace)
    holder["pane"] = pane
    qtbot.addWidget(pane)
    pane.resize(380, 1000)
    pane.show()
    workspace.start()
    yield pane
    stopping = asyncio.ensure_future(workspace.stop())
    qtbot.waitUntil(stopping.done, timeout=10000)
    gc.collect()
    qtbot.wait(20)


def new_customer(stack, pane, qtbot, name: str) -> tuple[int, int]:
    """A customer writes on WhatsApp; returns (customer id, conversation id) once Ana's cache has them."""
    inbound(stack, wa_id="3467" + str(uuid.uuid4().int)[:7], name=name, text="Se me rompió la batidora")
    cache = pane.workspace.cache
    qtbot.waitUntil(lambda: any(r.customer_name == name for r in cache.feed()), timeout=10000)
    conversation_id = next(r.conversation_id for r in cache.feed() if r.customer_name == name)
    return cache.conversation(conversation_id).customer_id, conversation_id


def shown(pane, qtbot, customer_id: int) -> None:
    with qtbot.waitSignal(pane.history_shown, timeout=5000, check_params_cb=lambda cid: cid == customer_id):
        pane.show_customer(customer_id)


def saved(pane, qtbot, what: str):
    return qtbot.waitSignal(pane.saved, timeout=10000, check_params_cb=lambda w: w == what)


def test_tags_fields_notes_and_language_reach_the_server(stack, ana_pane, qtbot):
    pane = ana_pane
    name = f"<b>Rosa</b> <img src=x> {uuid.uuid4().hex[:6]}"
    customer_id, _ = new_customer(stack, pane, qtbot, name)
    shown(pane, qtbot, customer_id)
    assert pane.name_label.text() == name and pane.name_label.textFormat() == Qt.TextFormat.PlainText
    calls = pane.workspace.api.update_customer.calls
    lead_token, _ = sign_in(stack)

    def on_server() -> dict:
        return server(stack, lead_token)["customers"][customer_id]

    # Tags: typed and Enter; the server's answer shows at once.
    pane.tag_edit.setFocus()
    qtbot.keyClicks(pane.tag_edit, "vip")
    with saved(pane, qtbot, "tags"):
        qtbot.keyClick(pane.tag_edit, Qt.Key.Key_Return)
    assert calls[-1] == (customer_id, protocol.CustomerUpdate(tags=["vip"]))
    assert on_server()["tags"] == ["vip"]
    assert [(c.tag, c.objectName()) for c in pane.tag_chips()] == [("vip", "vipTag")]
    assert pane.vip_badge.isVisible() and pane.tag_edit.text() == "" and not pane.error_label.isVisible()
    pane.tag_edit.setText("loyal")
    with saved(pane, qtbot, "tags"):
        pane.add_tag_button.click()
    with saved(pane, qtbot, "tags"):
        pane.tag_chips()[0].remove_button.click()
    assert calls[-1] == (customer_id, protocol.CustomerUpdate(tags=["loyal"]))
    assert on_server()["tags"] == ["loyal"]
    assert [c.tag for c in pane.tag_chips()] == ["loyal"] and not pane.vip_badge.isVisible()
    # CRM fields: added in the table, saved together.
    pane.add_field_row()
    pane.fields_table.item(0, 0).setText("plan")
    pane.fields_table.item(0, 1).setText("Gold")
    pane.add_field_row()
    pane.fields_table.item(1, 0).setText(" city ")
    pane.fields_table.item(1, 1).setText("Sevilla")
    with saved(pane, qtbot, "fields"):
        pane.save_fields_button.click()
    assert calls[-1] == (customer_id, protocol.CustomerUpdate(fields={"plan": "Gold", "city": "Sevilla"}))
    assert on_server()["fields"] == {"city": "Sevilla", "plan": "Gold"}
    assert not pane.fields_dirty() and not pane.save_fields_button.isEnabled()
    assert pane.field_rows() == [("city", "Sevilla"), ("plan", "Gold")]
    pane.fields_table.selectRow(0)
    pane.remove_field_button.click()
    with saved(pane, qtbot, "fields"):
        pane.save_fields_button.click()
    assert on_server()["fields"] == {"plan": "Gold"}
    # Notes: explicit save (Ctrl+Enter in the box).
    pane.notes_edit.setFocus()
    pane.notes_edit.setPlainText("Prefers WhatsApp.\nNever call before 10:00 <b>please</b>")
    with saved(pane, qtbot, "notes"):
        qtbot.keyClick(pane.notes_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert calls[-1] == (customer_id, protocol.CustomerUpdate(notes="Prefers WhatsApp.\nNever call before 10:00 <b>please</b>"))
    assert on_server()["notes"] == "Prefers WhatsApp.\nNever call before 10:00 <b>please</b>"
    assert not pane.notes_dirty() and not pane.save_notes_button.isEnabled()
    # Language.
    with saved(pane, qtbot, "language"):
        pane.language_combo.setCurrentIndex(pane.language_combo.findData("en"))
        pane.language_combo.activated.emit(pane.language_combo.currentIndex())
    assert calls[-1] == (customer_id, protocol.CustomerUpdate(language="en"))
    assert on_server()["language"] == "en"
    # The cache caught up with every edit.
    history = pane.shown_history
    assert (history.tags, history.fields, history.language) == (("loyal",), {"plan": "Gold"}, "en")
    assert pane._confirmed is None
    cached = pane.workspace.cache.customer(customer_id)
    assert cached.notes.startswith("Prefers WhatsApp.") and cached.language == "en"


def test_follow_ups_are_marked_done_and_anothers_is_refused(stack, ana_pane, qtbot):
    pane = ana_pane
    customer_id, conversation_id = new_customer(stack, pane, qtbot, f"Tomás {uuid.uuid4().hex[:6]}")
    lead_token, _ = sign_in(stack)
    ana_token, ana = sign_in(stack, ANA)
    path = f"/v1/conversations/{conversation_id}"
    version = server(stack, lead_token)["conversations"][conversation_id]["version"]
    # The lead resolves it with a check-in (the lead's), Ana reopens and resolves it with one of her own.
    patch(stack, lead_token, path, {"status": "resolved", "case_type": "postsale.warranty", "follow_up_days": 3,
                                    "follow_up_note": "Lead's check", "expected_version": version})
    patch(stack, ana_token, path, {"status": "open", "expected_version": version + 1})
    patch(stack, ana_token, path, {"status": "resolved", "follow_up_days": 5, "follow_up_note": "Ana's check",
                                   "expected_version": version + 2})
    qtbot.waitUntil(lambda: pane.workspace.cache.conversation(conversation_id).version == version + 3,
                    timeout=10000)
    shown(pane, qtbot, customer_id)
    qtbot.waitUntil(lambda: len(pane.follow_up_rows()) == 2, timeout=5000)
    entry = pane.history.topLevelItem(0).text(0)
    assert entry.startswith("WhatsApp · ") and entry.split("\n")[1] == "Resolved · Post-sale: warranty"
    leads, anas = pane.follow_up_rows()
    assert (leads.note_label.text(), anas.note_label.text()) == ("Lead's check", "Ana's check")
    assert "Lucía" in leads.due_label.text() and ana["name"] in anas.due_label.text()
    # Not hers: the server refuses (403) and the pane says why.
    with qtbot.waitSignal(pane.save_failed, timeout=10000) as failed:
        leads.done_button.click()
    assert failed.args[0] == "Not allowed: this follow-up is another agent's"
    assert pane.error_label.isVisible() and pane.error_label.text() == failed.args[0]
    assert len(pane.follow_up_rows()) == 2 and pane.follow_up_rows()[0].done_button.isEnabled()
    # Hers: done on the server, gone from the pane.
    lead_fu, ana_fu = leads.follow_up.follow_up_id, anas.follow_up.follow_up_id
    with saved(pane, qtbot, "follow_up"):
        anas.done_button.click()
    assert pane.workspace.api.set_follow_up_done.calls[-1] == (ana_fu, True)
    follow_ups = server(stack, lead_token)["follow_ups"]
    assert follow_ups[ana_fu]["done_at"] is not None and follow_ups[lead_fu]["done_at"] is None
    assert [r.follow_up.follow_up_id for r in pane.follow_up_rows()] == [lead_fu]
    assert not pane.error_label.isVisible()


def test_a_colleagues_edit_arrives_by_sync(stack, ana_pane, qtbot):
    pane = ana_pane
    customer_id, _ = new_customer(stack, pane, qtbot, f"Inés {uuid.uuid4().hex[:6]}")
    shown(pane, qtbot, customer_id)
    assert pane.tag_chips() == []
    lead_token, _ = sign_in(stack)
    patch(stack, lead_token, f"/v1/customers/{customer_id}",
          {"tags": ["VIP"], "fields": {"plan": "Gold"}, "notes": "From the lead"})
    qtbot.waitUntil(lambda: [c.tag for c in pane.tag_chips()] == ["VIP"], timeout=10000)
    assert pane.field_rows() == [("plan", "Gold")] and pane.notes_edit.toPlainText() == "From the lead"
    assert pane.vip_badge.isVisible()


def test_the_window_shows_the_history_and_the_editor(stack, qloop, qtbot, tmp_path):
    token, agent = sign_in(stack)
    win, workspace = open_window(ApiClient(stack.server_url, token), protocol.AgentPublic.model_validate(agent),
                                 language="en", cache_path=tmp_path / "cache.sqlite",
                                 settings=Settings(tmp_path / "settings.json"))
    qtbot.addWidget(win)
    win.show()
    try:
        name = f"Pilar {uuid.uuid4().hex[:6]}"
        inbound(stack, wa_id="3468" + str(uuid.uuid4().int)[:7], name=name, text="Hola")
        qtbot.waitUntil(lambda: name in feed_names(win), timeout=10000)
        select_customer(win, qtbot, name)
        pane = win.customer_pane
        assert pane.workspace is workspace
        qtbot.waitUntil(lambda: pane.editor.isVisible() and pane.history.topLevelItemCount() == 1, timeout=5000)
        assert "(this one)" in pane.history.topLevelItem(0).text(0)
        pane.tag_edit.setText("loyal")
        with saved(pane, qtbot, "tags"):
            pane.add_tag_button.click()
        assert [c.tag for c in pane.tag_chips()] == ["loyal"]
    finally:
        win.close()
        stopping = asyncio.ensure_future(workspace.stop())
        qtbot.waitUntil(stopping.done, timeout=10000)
        gc.collect()
        qtbot.wait(20)
