"""The composer's `/` list and the Tab-through placeholders, in the real window against the real server."""

from __future__ import annotations

import uuid

from PySide6.QtCore import Qt

from tests.integration.helpers import inbound
from tests.ui.test_main_window import feed_names, sandbox_bodies, select_customer, window  # noqa: F401 (fixture)


def open_customer(stack, window, qtbot, text: str) -> str:
    name = f"Marta Gil {uuid.uuid4().hex[:4]}"
    inbound(stack, wa_id="3465" + str(uuid.uuid4().int)[:7], name=name, text=text)
    qtbot.waitUntil(lambda: name in feed_names(window), timeout=10000)
    select_customer(window, qtbot, name)
    return name


def test_slash_a_few_letters_and_enter_answers_a_routine_question(stack, window, qtbot):
    open_customer(stack, window, qtbot, "Hola, ¿me podéis ayudar?")
    edit = window.composer.edit
    edit.setFocus()
    qtbot.keyClicks(edit, "/salu")
    qtbot.waitUntil(window.composer.slash_list.isVisible)
    labels = [window.composer.slash_list.item(i).text() for i in range(window.composer.slash_list.count())]
    assert labels[0].startswith("/saludo"), labels
    qtbot.keyClick(edit, Qt.Key.Key_Return)  # inserts, does not send
    text = edit.toPlainText()
    assert text.startswith("¡Hola, Marta!") and "/salu" not in text and "{{" not in text
    assert not window.composer.slash_list.isVisible()
    qtbot.keyClick(edit, Qt.Key.Key_Return)  # now it sends
    qtbot.waitUntil(lambda: any(b and b.startswith("¡Hola, Marta!") for b in sandbox_bodies(stack)), timeout=15000)


def test_slash_list_is_fuzzy_and_escape_closes_it(stack, window, qtbot):
    open_customer(stack, window, qtbot, "hola")
    edit = window.composer.edit
    edit.setFocus()
    qtbot.keyClicks(edit, "/sldo")  # the letters of "saludo" in order
    qtbot.waitUntil(window.composer.slash_list.isVisible)
    assert any("/saludo" in window.composer.slash_list.item(i).text()
               for i in range(window.composer.slash_list.count()))
    qtbot.keyClick(edit, Qt.Key.Key_Escape)
    assert not window.composer.slash_list.isVisible()
    assert edit.toPlainText() == "/sldo", "Esc leaves what was typed"
    # A slash inside a word (a date, a URL) opens nothing.
    edit.clear()
    qtbot.keyClicks(edit, "el 12/10")
    assert not window.composer.slash_list.isVisible()


def test_placeholders_are_filled_with_tab_and_block_sending(stack, window, qtbot):
    open_customer(stack, window, qtbot, "¿Cuánto cuesta?")
    edit, composer = window.composer.edit, window.composer
    edit.setFocus()
    qtbot.keyClicks(edit, "/precios")
    qtbot.waitUntil(composer.slash_list.isVisible)
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    # The first placeholder is selected at once; typing replaces it.
    assert edit.textCursor().selectedText() == "[[producto]]"
    assert not composer.send_button.isEnabled()
    assert "[[producto]]" in composer.placeholder_hint.text()
    qtbot.keyClicks(edit, "abrigo Nordico")
    qtbot.keyClick(edit, Qt.Key.Key_Tab)
    assert edit.textCursor().selectedText() == "[[precio]]"
    before = len(sandbox_bodies(stack))
    qtbot.keyClick(edit, Qt.Key.Key_Return)  # still a placeholder: nothing is sent
    assert edit.toPlainText() != "" and edit.textCursor().selectedText() == "[[precio]]"
    qtbot.wait(300)
    assert len(sandbox_bodies(stack)) == before
    qtbot.keyClicks(edit, "89,90 EUR")
    qtbot.keyClick(edit, Qt.Key.Key_Tab)
    assert edit.textCursor().selectedText() == "[[enlace del producto]]"
    qtbot.keyClick(edit, Qt.Key.Key_Backtab)  # Shift+Tab goes back… to nothing left before it: stays
    qtbot.keyClicks(edit, "https://example.test/abrigo")
    assert composer.unfilled_placeholders() == [] and composer.send_button.isEnabled()
    text = edit.toPlainText()
    assert "abrigo Nordico" in text and "89,90 EUR" in text and "[[" not in text
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: any(b and "89,90 EUR" in b for b in sandbox_bodies(stack)), timeout=15000)


def test_a_customer_name_that_looks_like_a_placeholder_is_plain_text(stack, window, qtbot):
    name = f"[[pwned]] {{{{agent.first_name}}}} {uuid.uuid4().hex[:4]}"
    inbound(stack, wa_id="3466" + str(uuid.uuid4().int)[:7], name=name, text="hola")
    qtbot.waitUntil(lambda: name in feed_names(window), timeout=10000)
    row = feed_names(window).index(name)
    window.feed_view.setCurrentIndex(window.feed_model.index(row))
    qtbot.waitUntil(lambda: window.thread_model.rowCount() > 0)
    edit, composer = window.composer.edit, window.composer
    edit.setFocus()
    qtbot.keyClicks(edit, "/saludo")
    qtbot.waitUntil(composer.slash_list.isVisible)
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    text = edit.toPlainText()
    assert text.startswith("¡Hola, [[pwned]]!"), text
    assert composer.unfilled_placeholders() == [], "the customer's text is not a placeholder to fill"
    assert composer.send_button.isEnabled()
