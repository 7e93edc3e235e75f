"""The customer pane on a real workspace and cache fed with sync pages, no server (every write fails as offline):
the whole history across channels, case types in words, customer text as plain text, opening an earlier
conversation, drafts kept, errors shown, refreshing when sync brings changes."""

from __future__ import annotations

import asyncio
import gc
import socket
from datetime import datetime, timedelta, timezone

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication, QLabel

from tests.unit.workstation.test_history import (
    ANA, IG_NEW, LU, OTHER, OTHERS, T0, WA_OLD, conversation, first_page, follow_up, message, note,
)
from ui import i18n
from ui.case_types import CASE_TYPES, case_type_choices, case_type_label, case_type_name, priority_name
from ui.customer_pane import CustomerPane
from workstation import protocol
from workstation.api import ApiClient
from workstation.cache import CustomerCard
from workstation.workspace import Workspace

HOSTILE = "<img src=x onerror=alert(1)><b>Eve</b> &amp; R&D"
HOSTILE_ID = 12
HOSTILE_CONV = 300


def dead_url() -> str:
    """A loopback address nothing listens on: every request fails at once, as offline."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def hostile_page() -> protocol.SyncPage:
    at = T0 + timedelta(days=6)
    return protocol.SyncPage(
        next_after=11, has_more=False, epoch="e",
        customers=[protocol.CustomerPublic(
            id=HOSTILE_ID, display_name=HOSTILE, tags=["<b>bold</b>", "R&D"], fields={"<i>k</i>": "<a href=x>v</a>"},
            notes="<script>alert(1)</script>")],
        identities=[protocol.IdentityPublic(id=9, customer_id=HOSTILE_ID, channel="telegram", handle="<u>eve</u>",
                                            display_name="<s>Eve</s>")],
        conversations=[conversation(HOSTILE_CONV, HOSTILE_ID, "telegram", at=at, preview="<h1>big</h1>")],
        messages=[message(50, HOSTILE_CONV, "<h1>big</h1>", at=at)],
        notes=[note(50, HOSTILE_CONV, "<table><tr><td>x", at=at)],
        follow_ups=[follow_up(9, HOSTILE_CONV, due=at + timedelta(days=3), note="<b>call</b>", customer=HOSTILE_ID)],
    )


class Recorder:
    """Wraps an ApiClient method: records each call, then makes it (it fails here: nobody listens)."""

    def __init__(self, method) -> None:
        self.method = method
        self.calls: list[tuple] = []

    async def __call__(self, *args):
        self.calls.append(args)
        return await self.method(*args)


@pytest.fixture
def workspace(qloop, qtbot, tmp_path):
    me = protocol.AgentPublic(id=ANA, email="a@x.test", name="Ana", role="agent", status="available")
    ws = Workspace(ApiClient(dead_url(), "token"), me, cache_path=tmp_path / "cache.sqlite")
    ws.cache.apply_page(first_page())
    ws.cache.apply_page(hostile_page())
    ws.api.update_customer = Recorder(ws.api.update_customer)
    ws.api.set_follow_up_done = Recorder(ws.api.set_follow_up_done)
    yield ws
    stopping = asyncio.ensure_future(ws.stop())
    qtbot.waitUntil(stopping.done, timeout=10000)
    gc.collect()
    qtbot.wait(20)


@pytest.fixture
def pane(workspace, qtbot):
    p = CustomerPane(workspace=workspace)
    qtbot.addWidget(p)
    p.resize(380, 900)
    p.show()
    qtbot.waitExposed(p)
    return p


def show(pane, qtbot, customer_id: int, current: int | None = None) -> None:
    with qtbot.waitSignal(pane.history_shown, timeout=5000,
                          check_params_cb=lambda cid: cid == customer_id and not pane._partial):
        pane.show_customer(customer_id, current)


def entries(pane) -> list[str]:
    return [pane.history.topLevelItem(i).text(0) for i in range(pane.history.topLevelItemCount())]


def test_every_conversation_on_every_channel_with_outcome_and_notes(pane, qtbot):
    show(pane, qtbot, LU, current=IG_NEW)
    assert pane.name_label.text() == "Lu <b>Díaz</b>"
    assert pane.vip_badge.isVisible()
    assert pane.identities_label.text() == "WhatsApp · +34600111222 (Lu)\nInstagram · lu.diaz (Lu D.)"
    assert pane.history_title.text() == "Conversations (2)"
    ig, wa = entries(pane)
    ig_lines, wa_lines = ig.split("\n"), wa.split("\n")
    assert ig_lines[0].startswith("Instagram · ") and ig_lines[0].endswith(" (this one)")
    assert ig_lines[1:] == ["Resolved · Incident: complaint", "Terrible service!", "#101 · Public post · Messages: 1",
                            "Priority: High · Internal notes: 2"]
    assert wa_lines[0].startswith("WhatsApp · ") and "(this one)" not in wa
    assert wa_lines[1:] == ["Resolved · Post-sale: warranty", "My blender broke", "#100 · Private · Messages: 3",
                            "Internal notes: 1"]
    # The conversation's internal notes sit under it, with author and text.
    item = pane.history.topLevelItem(0)
    notes = [item.child(i).text(0) for i in range(item.childCount())]
    assert notes[0].startswith("Internal note · Lucía · ") and notes[0].endswith("\nMoved to DM as per protocol")
    assert notes[1].startswith("Internal note · Ana · ") and notes[1].endswith("\nCustomer calmed down")
    assert item.font(0).bold() and not pane.history.topLevelItem(1).font(0).bold()
    # The profile, editable: VIP first and highlighted, fields, notes with the never-sent hint.
    chips = pane.tag_chips()
    assert [(c.tag, c.objectName()) for c in chips] == [("VIP", "vipTag"), ("loyal", "tagChip")]
    assert pane.field_rows() == [("city", "Sevilla"), ("plan", "Gold")]
    assert pane.notes_edit.toPlainText() == "Prefers mornings."
    assert pane.notes_hint.isVisible() and "never sent to the customer" in pane.notes_hint.text()
    assert pane.language_combo.currentData() == "es"
    assert not pane.save_notes_button.isEnabled() and not pane.save_fields_button.isEnabled()
    # Open follow-ups, soonest first, each with a Done button.
    rows = pane.follow_up_rows()
    assert [r.follow_up.follow_up_id for r in rows] == [2, 1]
    assert "Did the replacement arrive?" == rows[0].note_label.text()
    assert "#100" in rows[0].due_label.text() and "WhatsApp" in rows[0].due_label.text()
    assert rows[0].done_button.isVisible()


def test_double_click_or_enter_on_an_earlier_conversation_asks_to_open_it(pane, qtbot):
    show(pane, qtbot, LU)
    view = pane.history
    item = view.topLevelItem(1)
    rect = view.visualItemRect(item)
    with qtbot.waitSignal(pane.open_requested, timeout=2000) as opened:
        # What the window system sends for a double-click: a click, then the double-click.
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert opened.args == [WA_OLD]
    assert not item.isExpanded()  # a double-click opens; it does not fold the notes in and out
    # A note opens its conversation too; and the keyboard works.
    view.setFocus()
    view.setCurrentItem(view.topLevelItem(0).child(0))
    with qtbot.waitSignal(pane.open_requested, timeout=2000) as opened:
        qtbot.keyClick(view, Qt.Key.Key_Return)
    assert opened.args == [IG_NEW]


def test_hostile_customer_text_stays_plain_text(pane, qtbot):
    show(pane, qtbot, HOSTILE_ID)
    assert pane.name_label.text() == HOSTILE
    hostile_bits = ("<img", "<b>", "<u>", "<s>", "<i>", "<a ", "<script", "<h1", "<table", "R&D")
    labels = [w for w in pane.findChildren(QLabel) if any(bit in w.text() for bit in hostile_bits)]
    # Name, identity, two chips, the follow-up's note: all shown as written, never as rich text.
    assert len(labels) >= 5
    for label in labels:
        assert label.textFormat() == Qt.TextFormat.PlainText, label.text()
    assert {c.label.text() for c in pane.tag_chips()} == {"<b>bold</b>", "R&D"}
    assert pane.identities_label.text() == "Telegram · <u>eve</u> (<s>Eve</s>)"
    assert pane.field_rows() == [("<i>k</i>", "<a href=x>v</a>")]
    assert pane.notes_edit.toPlainText() == "<script>alert(1)</script>"
    entry = pane.history.topLevelItem(0)
    assert "<h1>big</h1>" in entry.text(0)
    # Tooltips are guessed to be rich text by Qt: customer text goes in escaped.
    assert "&lt;h1&gt;big&lt;/h1&gt;" in entry.toolTip(0) and "<h1>" not in entry.toolTip(0)
    assert "&lt;table&gt;" in entry.child(0).toolTip(0)
    assert pane.follow_up_rows()[0].note_label.text() == "<b>call</b>"
    # Chip buttons: the accessible name carries the tag as text (a "&" is no mnemonic there).
    assert pane.tag_chips()[1].remove_button.text() == "×"


def test_edits_offline_show_why_and_keep_what_was_typed(pane, workspace, qtbot):
    show(pane, qtbot, LU)
    calls = workspace.api.update_customer.calls
    # A tag: sent with the whole new list, refused (offline): the chips go back, the text stays.
    pane.tag_edit.setText("  gold   member ")
    with qtbot.waitSignal(pane.save_failed, timeout=5000) as failed:
        qtbot.keyClick(pane.tag_edit, Qt.Key.Key_Return)
    assert calls[-1] == (LU, protocol.CustomerUpdate(tags=["VIP", "loyal", "gold member"]))
    assert failed.args[0].startswith("Offline: the change was not saved.")
    assert pane.error_label.isVisible() and pane.error_label.text() == failed.args[0]
    assert [c.tag for c in pane.tag_chips()] == ["VIP", "loyal"]
    assert pane.tag_edit.text() == "  gold   member " and not pane.tag_edit.isReadOnly()
    # Removing one.
    with qtbot.waitSignal(pane.save_failed, timeout=5000):
        pane.tag_chips()[0].remove_button.click()
    assert calls[-1] == (LU, protocol.CustomerUpdate(tags=["loyal"]))
    assert [c.tag for c in pane.tag_chips()] == ["VIP", "loyal"]
    # Notes: saved explicitly; refused, the draft stays and can be saved again.
    pane.notes_edit.setPlainText("Prefers mornings.\nAllergic to <b>nuts</b>")
    assert pane.save_notes_button.isEnabled()
    with qtbot.waitSignal(pane.save_failed, timeout=5000):
        pane.save_notes_button.click()
    assert calls[-1] == (LU, protocol.CustomerUpdate(notes="Prefers mornings.\nAllergic to <b>nuts</b>"))
    assert pane.notes_edit.toPlainText().endswith("<b>nuts</b>") and pane.save_notes_button.isEnabled()
    # Fields: a new row and a changed value, saved together.
    pane.add_field_row()
    row = pane.fields_table.rowCount() - 1
    pane.fields_table.item(row, 0).setText(" orders ")
    pane.fields_table.item(row, 1).setText("7")
    pane.fields_table.item(1, 1).setText("Platinum")
    with qtbot.waitSignal(pane.save_failed, timeout=5000):
        pane.save_fields_button.click()
    assert calls[-1] == (LU, protocol.CustomerUpdate(fields={"city": "Sevilla", "plan": "Platinum", "orders": "7"}))
    assert pane.fields_dirty() and pane.save_fields_button.isEnabled()
    # Language.
    with qtbot.waitSignal(pane.save_failed, timeout=5000):
        pane.language_combo.setCurrentIndex(pane.language_combo.findData("en"))
        pane.language_combo.activated.emit(pane.language_combo.currentIndex())
    assert calls[-1] == (LU, protocol.CustomerUpdate(language="en"))
    assert pane.language_combo.currentData() == "es"
    # A follow-up.
    with qtbot.waitSignal(pane.save_failed, timeout=5000):
        pane.follow_up_rows()[0].done_button.click()
    assert workspace.api.set_follow_up_done.calls == [(2, True)]
    assert [r.follow_up.follow_up_id for r in pane.follow_up_rows()] == [2, 1]
    assert pane.follow_up_rows()[0].done_button.isEnabled()


def test_what_the_server_would_refuse_is_explained_before_sending(pane, workspace, qtbot):
    show(pane, qtbot, LU)
    pane.add_field_row()
    row = pane.fields_table.rowCount() - 1
    pane.fields_table.item(row, 0).setText("plan ")
    pane.fields_table.item(row, 1).setText("Silver")
    pane.save_fields_button.click()
    assert pane.error_label.text() == "Not saved: the field “plan” appears twice."
    pane.tag_edit.setText("x" * 40)
    pane.set_tags(list(pane.shown_history.tags) + [f"t{i}" for i in range(29)])
    assert pane.error_label.text() == "Not saved: a customer can have at most 30 tags."
    pane.notes_edit.setPlainText("n" * (protocol.MAX_REPLY_CHARS + 1))
    pane.save_notes()
    assert pane.error_label.text() == "Not saved: the notes can be at most 4096 characters long."
    qtbot.wait(50)
    assert workspace.api.update_customer.calls == []
    # A tag already there (in any case) is not sent again.
    pane.tag_edit.setText("vip")
    pane.add_tag_from_edit()
    assert pane.tag_edit.text() == "" and workspace.api.update_customer.calls == []


def test_unsaved_notes_and_fields_survive_moving_to_another_customer(pane, qtbot):
    show(pane, qtbot, LU)
    pane.notes_edit.setPlainText("draft about Lu")
    pane.fields_table.item(0, 1).setText("Madrid")
    show(pane, qtbot, OTHER)
    assert pane.notes_edit.toPlainText() == "" and not pane.save_notes_button.isEnabled()
    assert pane.field_rows() == []
    show(pane, qtbot, LU)
    assert pane.notes_edit.toPlainText() == "draft about Lu" and pane.save_notes_button.isEnabled()
    assert pane.field_rows()[0] == ("city", "Madrid") and pane.save_fields_button.isEnabled()
    pane.discard_notes()
    pane.discard_fields()
    assert pane.notes_edit.toPlainText() == "Prefers mornings." and pane.field_rows()[0] == ("city", "Sevilla")
    assert not pane.notes_dirty() and not pane.fields_dirty()


def test_the_pane_follows_what_sync_brings(pane, workspace, qtbot):
    show(pane, qtbot, LU)
    pane.notes_edit.setPlainText("my draft")
    later = T0 + timedelta(days=30)
    # A colleague tags the customer and rewrites the notes; a new Instagram conversation arrives.
    cs = workspace.cache.apply_page(protocol.SyncPage(
        next_after=30, has_more=False, epoch="e",
        customers=[protocol.CustomerPublic(id=LU, display_name="Lu <b>Díaz</b>", tags=["VIP", "loyal", "press"],
                                           fields={"plan": "Gold", "city": "Sevilla"}, notes="Their version",
                                           language="es")],
        conversations=[conversation(400, LU, "instagram", at=later, preview="Me again",
                                    case_type="information.query")],
        messages=[message(60, 400, "Me again", at=later)],
    ))
    with qtbot.waitSignal(pane.history_shown, timeout=5000):
        pane.on_workspace_changed(cs)
    assert [c.tag for c in pane.tag_chips()] == ["VIP", "loyal", "press"]
    assert entries(pane)[0].split("\n")[1] == "Open · Information: query"
    assert pane.history_title.text() == "Conversations (3)"
    # The agent's draft is kept, with word that a colleague changed the notes meanwhile.
    assert pane.notes_edit.toPlainText() == "my draft" and pane.notes_conflict_label.isVisible()
    # A change elsewhere is not this customer's: nothing is read again.
    cs = workspace.cache.apply_page(protocol.SyncPage(
        next_after=31, has_more=False, epoch="e",
        messages=[message(61, OTHERS, "hola otra vez", at=later)]))
    with qtbot.assertNotEmitted(pane.history_shown, wait=300):
        pane.on_workspace_changed(cs)
    # A follow-up done elsewhere disappears.
    cs = workspace.cache.apply_page(protocol.SyncPage(
        next_after=32, has_more=False, epoch="e",
        follow_ups=[follow_up(2, WA_OLD, due=T0 + timedelta(days=7), done_at=later)]))
    with qtbot.waitSignal(pane.history_shown, timeout=5000):
        pane.on_workspace_changed(cs)
    assert [r.follow_up.follow_up_id for r in pane.follow_up_rows()] == [1]


def test_show_card_as_the_window_calls_it(pane, workspace, qtbot):
    card = workspace.cache.customer_card(WA_OLD)
    with qtbot.waitSignal(pane.history_shown, timeout=5000, check_params_cb=lambda cid: not pane._partial):
        pane.show_card(card, WA_OLD)
    # The card's basics at once, then the full history from the cache.
    assert pane.name_label.text() == "Lu <b>Díaz</b>" and pane.editor.isVisible()
    assert len(entries(pane)) == 2 and "(this one)" in entries(pane)[1]
    pane.show_card(None)
    assert pane.name_label.text() == "No conversation selected"
    assert not pane.editor.isVisible() and not pane.history.isVisible()


def test_without_a_workspace_the_pane_shows_a_card(qtbot):
    pane = CustomerPane()
    qtbot.addWidget(pane)
    pane.show()
    card = CustomerCard(customer_id=5, display_name="<b>Ana</b>", identities=[("whatsapp", "3460", "Ana")],
                        conversations=[(7, "whatsapp", "open", datetime.now(timezone.utc))])
    pane.show_card(card, 7)
    assert pane.name_label.text() == "<b>Ana</b>" and pane.name_label.textFormat() == Qt.TextFormat.PlainText
    assert pane.identities_label.text() == "WhatsApp · +3460 (Ana)"
    assert not pane.editor.isVisible()
    assert entries(pane)[0].startswith("WhatsApp · ") and "(this one)" in entries(pane)[0]
    assert entries(pane)[0].split("\n")[1:] == ["Open", "#7 · Private"]


def test_case_types_in_words_in_both_languages(qapp):
    assert len(CASE_TYPES) == 9
    assert [case_type_name(ct) for ct in CASE_TYPES] == [
        "Information: query", "Information: request", "Incident: claim", "Incident: complaint",
        "Incident: suggestion", "Incident: compliment", "Post-sale: warranty", "Post-sale: return",
        "Post-sale: repair"]
    assert case_type_label("postsale.return") == "Return" and case_type_name(None) == ""
    assert case_type_name("future.kind") == "future.kind"
    assert [group for group, _ in case_type_choices()] == ["Information", "Incident", "Post-sale"]
    assert [ct for _, items in case_type_choices() for ct, _label in items] == list(CASE_TYPES)
    assert priority_name("urgent") == "Urgent"
    try:
        i18n.install(QApplication.instance(), "es")
        assert [case_type_name(ct) for ct in CASE_TYPES] == [
            "Información: consulta", "Información: solicitud", "Incidencia: reclamación", "Incidencia: queja",
            "Incidencia: sugerencia", "Incidencia: felicitación", "Posventa: garantía", "Posventa: devolución",
            "Posventa: reparación"]
        assert priority_name("urgent") == "Urgente"
        assert QCoreApplication.translate("CustomerPane", "Internal notes") == "Notas internas"
    finally:
        i18n.install(QApplication.instance(), "en")
