"""The canned response editor: live checks of the text and the variants (the X one within 280 characters), what
it refuses before sending, the team checkbox by role, and the server's refusals and offline shown in place."""

from __future__ import annotations

import asyncio
import socket

import pytest
from PySide6.QtWidgets import QDialog

from ui.canned_editor import CannedEditor, validation_detail
from workstation import canned, protocol
from workstation.api import ApiClient
from workstation.errors import ServerError
from workstation.library import CannedLibrary, bundled_library


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class Recorder:
    def __init__(self, refuse: Exception | None = None):
        self.sent: list[protocol.CannedWrite] = []
        self.refuse = refuse

    async def __call__(self, body: protocol.CannedWrite) -> protocol.CannedPublic:
        self.sent.append(body)
        if self.refuse:
            raise self.refuse
        return protocol.CannedPublic(id=1, key=f"{body.language}-abc", title=body.title, shortcut=body.shortcut,
                                     category=body.category, language=body.language, body=body.body,
                                     variants=body.variants, keywords=body.keywords)


def editor_for(qtbot, save, **kw) -> CannedEditor:
    dialog = CannedEditor(save, **kw)
    qtbot.addWidget(dialog)
    dialog.open()
    return dialog


def fill_valid(dialog: CannedEditor) -> None:
    dialog.title_edit.setText("Cambio de talla")
    dialog.shortcut_edit.setText("/talla")
    dialog.body_edit.setPlainText("Hola {{customer.first_name}}, cambiamos la talla de [[número de pedido]].")


def test_the_x_variant_over_280_characters_is_counted_live_and_refused(qloop, qtbot):
    save = Recorder()
    dialog = editor_for(qtbot, save)
    fill_valid(dialog)
    counter = dialog.variant_counters["x"]
    assert counter.text() == f"Empty: the text above is used ({canned.nominal_length(dialog.body_edit.toPlainText())} / 280 characters)."
    dialog.variant_edits["x"].setPlainText("a" * 270)
    assert counter.text() == "270 / 280 characters" and counter.styleSheet() == ""
    dialog.variant_edits["x"].setPlainText("a" * 270 + " {{customer.first_name}}")  # a variable counts as 20
    assert counter.text() == "291 / 280 characters" and "C62828" in counter.styleSheet()
    assert dialog.variant_tabs.tabText(0) == "X (short) !"
    dialog.save_button.click()
    assert dialog.message.text() == ("The X (short) variant is 291 characters; it must fit in 280 (each variable "
                                     "and placeholder counts as 20).")
    assert dialog.message.isVisible() and save.sent == [] and dialog.isVisible()
    dialog.variant_edits["x"].setPlainText("Cambiamos la talla, {{customer.first_name}}: escríbenos por DM.")
    assert dialog.variant_tabs.tabText(0) == "X (short) •"
    with qtbot.waitSignal(dialog.saved, timeout=5000):
        dialog.save_button.click()
    [body] = save.sent
    assert body.variants == {"x": "Cambiamos la talla, {{customer.first_name}}: escríbenos por DM."}
    assert body.shortcut == "talla" and body.language == "es" and body.category == "general" and body.team is False
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_a_long_body_without_a_short_variant_is_flagged_on_the_x_tab(qloop, qtbot):
    dialog = editor_for(qtbot, Recorder())
    dialog.body_edit.setPlainText("palabra " * 50)
    assert dialog.variant_counters["x"].text().startswith("Empty: the text above is used, and at 400 characters")
    assert "C62828" in dialog.variant_counters["x"].styleSheet()
    assert dialog.variant_counters["email"].text() == "Empty: the text above is used on this channel."


@pytest.mark.parametrize("role_can_edit_team", [False, True])
def test_the_team_checkbox_is_only_for_leads(qloop, qtbot, role_can_edit_team):
    save = Recorder()
    dialog = editor_for(qtbot, save, can_edit_team=role_can_edit_team)
    assert dialog.team_box.isEnabled() is role_can_edit_team and not dialog.team_box.isChecked()
    if role_can_edit_team:
        fill_valid(dialog)
        dialog.team_box.setChecked(True)
        with qtbot.waitSignal(dialog.saved, timeout=5000):
            dialog.save_button.click()
        assert save.sent[0].team is True


def test_editing_keeps_the_owner_and_fills_every_field(qloop, qtbot):
    ret = next(r for r in bundled_library() if r.id == "es-return")
    save = Recorder()
    dialog = editor_for(qtbot, save, response=ret, team=True, can_edit_team=True)
    assert dialog.windowTitle() == "Edit canned response"
    assert dialog.team_box.isChecked() and not dialog.team_box.isEnabled()
    assert (dialog.title_edit.text(), dialog.shortcut_edit.text(), dialog.category_box.currentData(),
            dialog.language_box.currentData()) == (ret.title, ret.shortcut, "post-sale", "es")
    assert dialog.variant_edits["x"].toPlainText() == ret.variants["x"]
    with qtbot.waitSignal(dialog.saved, timeout=5000):
        dialog.save_button.click()
    [body] = save.sent
    assert (body.body, body.variants, body.keywords, body.category) == (ret.body, ret.variants, list(ret.keywords),
                                                                        ret.category)


def test_variables_and_placeholders_are_checked_live(qloop, qtbot):
    dialog = editor_for(qtbot, Recorder())
    dialog.body_edit.setPlainText("Hola {{customer.first_name}}, tu pedido [[número]] llega {{cuando}}")
    assert dialog.body_check.text() == ("Unknown variable {{cuando}}: use one from “Insert variable” or "
                                        "customer.<field>.")
    dialog.body_edit.setPlainText("Hola {{customer.first_name}}, tu pedido [[número]] llega [[ ]] ]]")
    assert dialog.body_check.text().splitlines() == [
        "“]]” without its pair at character 64: variables are {{name}}, placeholders [[label]].",
        "An empty placeholder [[ ]] at character 58."]
    dialog.title_edit.setText("Pedido")
    dialog.shortcut_edit.setText("pedido")
    dialog.save_button.click()
    assert dialog.message.text().startswith("Fix the text first: “]]” without its pair")
    dialog.body_edit.setPlainText("Hola {{customer.first_name}}, tu pedido [[número]] llega")
    assert dialog.body_check.text() == ("✓ Variables: {{customer.first_name}} · To fill in by hand: [[número]]")
    assert "C62828" not in dialog.body_check.styleSheet()
    dialog.body_edit.setFocus()
    dialog.insert_variable("agent.first_name")
    assert "{{agent.first_name}}" in dialog.body_edit.toPlainText()
    dialog.variant_edits["private"].setPlainText("Hola {{customer.vip}} [[x")
    assert "“[[” without its pair" in dialog.variant_counters["private"].text()


@pytest.mark.parametrize("change,expected", [
    ({"title": ""}, "Give the response a title."),
    ({"shortcut": "dos palabras"}, "The shortcut is one word without spaces, for example “greeting”."),
    ({"shortcut": "saludo"}, "/saludo already opens “Saludo” in this language: choose another shortcut."),
    ({"body": "   "}, "Write the text of the response."),
    ({"keywords": "x" * 61}, "The keyword “xxxxxxxxxxxxxxxxxxxx…” is over 60 characters."),
])
def test_what_cannot_be_saved_is_refused_before_sending(qloop, qtbot, change, expected):
    save = Recorder()
    library = CannedLibrary.from_responses(bundled_library())
    dialog = editor_for(qtbot, save, library=library)
    fill_valid(dialog)
    if "title" in change:
        dialog.title_edit.setText(change["title"])
    if "shortcut" in change:
        dialog.shortcut_edit.setText(change["shortcut"])
    if "body" in change:
        dialog.body_edit.setPlainText(change["body"])
    if "keywords" in change:
        dialog.keywords_edit.setText(change["keywords"])
    dialog.save_button.click()
    assert dialog.message.text() == expected
    qtbot.wait(20)
    assert save.sent == [] and dialog.isVisible()


@pytest.mark.parametrize("refusal,expected", [
    (ServerError(403, "only a lead can add to the team's canned responses"),
     "Not allowed: only a lead can add to the team's canned responses"),
    (ServerError(422, '[{"type": "string_too_long", "loc": ["body", "title"], "msg": "String should have at most 200 '
                      'characters"}]'),
     "The server refused these values: title: String should have at most 200 characters"),
    (ServerError(404, "no such canned response"), "This response no longer exists: someone deleted it."),
])
def test_the_servers_refusal_is_shown_and_the_dialog_stays_open(qloop, qtbot, refusal, expected):
    save = Recorder(refuse=refusal)
    dialog = editor_for(qtbot, save)
    fill_valid(dialog)
    dialog.save_button.click()
    qtbot.waitUntil(lambda: dialog.message.text() == expected)
    assert dialog.isVisible() and dialog.save_button.isEnabled() and len(save.sent) == 1


def test_offline_is_said_in_the_dialog(qloop, qtbot):
    api = ApiClient(dead_url(), "token")
    dialog = editor_for(qtbot, api.create_canned)
    fill_valid(dialog)
    dialog.save_button.click()
    qtbot.waitUntil(lambda: "offline" in dialog.message.text(), timeout=10000)
    assert dialog.message.text() == "You are offline: nothing was saved. Try again when connected."
    assert dialog.isVisible() and dialog.save_button.isEnabled()
    closing = asyncio.ensure_future(api.aclose())
    qtbot.waitUntil(closing.done)


def test_validation_detail_reads_fastapis_errors():
    assert validation_detail('[{"loc": ["body", "variants"], "msg": "too many"}, {"msg": "bad"}]') == \
        "variants: too many; bad"
    assert validation_detail("plain words") == "plain words"
    assert validation_detail('{"a": 1}') == '{"a": 1}'
