"""Keyboard, settings, languages, notifications, window state, accessibility and the crash handler."""

from __future__ import annotations

import asyncio
import gc
import uuid
import xml.etree.ElementTree as ET

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QPalette
from PySide6.QtWidgets import (
    QAbstractButton, QAbstractItemView, QApplication, QLabel, QLineEdit, QPlainTextEdit, QTabBar, QTabWidget, QWidget,
)

from services.teamserver.admin import add_agent
from tests.integration.helpers import inbound, sign_in, sync_all
from tests.ui.test_main_window import feed_names, select_customer
from ui import crash, i18n
from ui.app import open_window
from ui.command_palette import CommandPalette
from ui.shortcut_sheet import ShortcutSheet
from workstation import protocol
from workstation.api import ApiClient
from workstation.paths import resources_dir
from workstation.settings import Settings

ANA = "ana@demo.workstation.test"


@pytest.fixture
def make_window(stack, qloop, qtbot, tmp_path):
    """Opens windows on the real server; the same cache and settings can be reopened (a restart)."""
    opened = []

    def make(language="en", cache="cache.sqlite"):
        token, agent = sign_in(stack)
        i18n.install(QApplication.instance(), language)
        win, workspace = open_window(ApiClient(stack.server_url, token), protocol.AgentPublic.model_validate(agent),
                                     language=language, cache_path=tmp_path / cache,
                                     settings=Settings(tmp_path / "settings.json"))
        qtbot.addWidget(win)
        win.show()
        opened.append((win, workspace))
        return win

    yield make
    for win, workspace in opened:
        host = win._host
        if host.window is not None:
            host.window.close()
        stopping = asyncio.ensure_future(workspace.stop())
        qtbot.waitUntil(stopping.done, timeout=10000)
    gc.collect()
    qtbot.wait(20)
    i18n.install(QApplication.instance(), "en")


def customer(stack, qtbot, win, text="Hola") -> str:
    name = f"Kb {uuid.uuid4().hex[:6]}"
    inbound(stack, wa_id="3468" + str(uuid.uuid4().int)[:7], name=name, text=text)
    qtbot.waitUntil(lambda: name in feed_names(win), timeout=10000)
    return name


def test_keyboard_moves_through_the_feed_and_opens_palette_and_sheet(stack, make_window, qtbot):
    win = make_window()
    customer(stack, qtbot, win)
    customer(stack, qtbot, win)
    qtbot.waitUntil(lambda: win.current_conversation is not None)
    win.feed_view.setFocus()
    win.feed_view.setCurrentIndex(win.feed_model.index(0))
    qtbot.keyClick(win.feed_view, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    assert win.feed_view.currentIndex().row() == 1
    qtbot.keyClick(win.feed_view, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    assert win.feed_view.currentIndex().row() == 0

    # "?" in the feed opens the shortcut sheet; in the composer it is just a character.
    qtbot.keyClick(win.feed_view, Qt.Key.Key_Question, Qt.KeyboardModifier.ShiftModifier, )
    sheet = next(w for w in QApplication.topLevelWidgets() if isinstance(w, ShortcutSheet) and w.isVisible())
    assert sheet.table.rowCount() == len(win.actions_.by_name)
    sheet.close()
    win.composer.edit.setFocus()
    qtbot.keyClicks(win.composer.edit, "why?")
    assert win.composer.edit.toPlainText() == "why?"
    win.composer.edit.clear()

    palette = win.open_command_palette()
    qtbot.keyClicks(palette.filter_edit, "assign")
    assert palette.list.count() == 1 and palette.list.item(0).text().startswith("Assign to me")
    conversation_id = win.current_conversation
    qtbot.keyClick(palette.filter_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: win.conversation_state.text().endswith("Assigned to you"), timeout=5000)
    token, agent = sign_in(stack)
    qtbot.waitUntil(lambda: next(c for c in sync_all(stack, token)["conversations"]
                                 if c["id"] == conversation_id)["assignee_id"] == agent["id"], timeout=10000)


def test_shortcuts_changed_in_settings_take_effect(stack, make_window, qtbot):
    win = make_window()
    dialog = win.open_settings()
    dialog.key_edits["search"].setKeySequence(QKeySequence("Ctrl+Shift+F"))
    dialog.accept()
    assert win.actions_.by_name["search"].shortcut().toString() == "Ctrl+Shift+F"
    assert Settings(win.settings.path).get("shortcuts")["search"] == "Ctrl+Shift+F"
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)
    win.feed_view.setFocus()
    qtbot.keyClick(win.feed_view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert win.focusWidget() is win.search_edit


def test_theme_switches_live(stack, make_window, qtbot):
    win = make_window()
    win.settings.set("theme", "dark")
    assert QApplication.palette().color(QPalette.ColorRole.Base).lightness() < 80
    win.settings.set("theme", "light")
    assert QApplication.palette().color(QPalette.ColorRole.Base).lightness() > 200


def test_language_switches_live_and_keeps_the_open_conversation(stack, make_window, qtbot):
    win = make_window()
    name = customer(stack, qtbot, win)
    select_customer(win, qtbot, name)
    chosen = win.current_conversation
    host = win._host
    win.settings.set("language", "es")
    qtbot.waitUntil(lambda: host.window is not win and host.window is not None, timeout=5000)
    spanish = host.window
    qtbot.waitUntil(lambda: spanish.current_conversation == chosen, timeout=10000)
    assert spanish.side_tabs.tabText(0) == "Cliente"
    assert spanish.composer.send_button.text() == "Enviar"
    win.settings.set("language", "en")
    qtbot.waitUntil(lambda: host.window is not spanish and host.window is not None, timeout=5000)
    assert host.window.side_tabs.tabText(0) == "Customer"


def _visible_texts(root: QWidget) -> list[str]:
    texts = [root.windowTitle()]
    for w in root.findChildren(QWidget):
        if not w.isVisibleTo(root):
            continue
        if isinstance(w, QLabel) and w.textFormat() != Qt.TextFormat.PlainText:
            texts.append(w.text())
        elif isinstance(w, QAbstractButton):
            texts.append(w.text())
        elif isinstance(w, (QLineEdit, QPlainTextEdit)):
            texts.append(w.placeholderText())
        elif isinstance(w, QTabBar):
            texts += [w.tabText(i) for i in range(w.count())]
        elif isinstance(w, QTabWidget):
            texts += [w.tabText(i) for i in range(w.count())]
        if w.accessibleName():
            texts.append(w.accessibleName())
    texts += [a.text() for a in root.actions()]
    return [t for t in texts if t]


def test_spanish_walk_through_shows_no_english_string(stack, make_window, qtbot):
    root = ET.parse(resources_dir() / "i18n" / "workstation_es.ts").getroot()
    english = {m.findtext("source") for m in root.iter("message")
               if m.findtext("translation") and m.findtext("translation") != m.findtext("source")}
    win = make_window(language="es", cache="es.sqlite")
    name = customer(stack, qtbot, win)
    select_customer(win, qtbot, name)
    shown = _visible_texts(win)
    for dialog in (win.open_settings(), win.open_shortcut_sheet(), win.open_command_palette()):
        shown += _visible_texts(dialog)
        dialog.close()
    parts = {p.strip() for t in shown for p in t.replace("—", "·").split("·")}
    leaked = sorted((set(shown) | parts) & english)
    assert leaked == [], f"English strings in the Spanish window: {leaked}"
    assert "Conversaciones" in shown


def test_every_control_has_an_accessible_name_or_text(stack, make_window, qtbot):
    win = make_window()
    customer(stack, qtbot, win)
    unnamed = []
    for w in win.findChildren(QWidget):
        if not w.isVisibleTo(win) or w.focusPolicy() == Qt.FocusPolicy.NoFocus:
            continue
        if isinstance(w, (QAbstractButton, QLineEdit, QPlainTextEdit, QAbstractItemView, QTabBar)):
            text = w.text() if isinstance(w, QAbstractButton) else ""
            if not (w.accessibleName() or text):
                unnamed.append(f"{type(w).__name__} {w.objectName()}")
    assert unnamed == []


def test_drafts_selection_and_search_survive_a_restart(stack, make_window, qtbot):
    win = make_window(cache="restart.sqlite")
    first, second = customer(stack, qtbot, win), customer(stack, qtbot, win)
    select_customer(win, qtbot, first)
    win.composer.edit.setPlainText("half-written answer")
    select_customer(win, qtbot, second)
    assert win.composer.edit.toPlainText() == ""
    win.composer.edit.setPlainText("another draft")
    win.splitter.setSizes([300, 700, 320])
    sizes = win.splitter.sizes()
    win.close()

    again = make_window(cache="restart.sqlite")
    qtbot.waitUntil(lambda: again.customer_pane.name_label.text() == second, timeout=10000)
    assert again.composer.edit.toPlainText() == "another draft"
    assert again.splitter.sizes() == sizes
    select_customer(again, qtbot, first)
    assert again.composer.edit.toPlainText() == "half-written answer"


def _admin_token(stack) -> str:
    """Signs in an admin made for the call (a lead's colleague who hands them work)."""
    email = f"admin-{uuid.uuid4().hex[:8]}@demo.workstation.test"
    add_agent(stack.db_url, email=email, name="Carmen Admin", role="admin", password="admin-password-123")
    r = httpx.post(f"{stack.server_url}/v1/session", json={"email": email, "password": "admin-password-123"})
    r.raise_for_status()
    return r.json()["token"]


def test_notifications_for_assignment_new_messages_and_mentions(stack, make_window, qtbot):
    win = make_window(cache="notify.sqlite")
    name = customer(stack, qtbot, win)
    heard = []
    win.notifier.notified.connect(lambda title, body, cid: heard.append((title, cid)))
    conversation_id = win.feed_model.conversation_at(feed_names(win).index(name)).conversation_id
    ana_token, _ = sign_in(stack, ANA)
    admin_token = _admin_token(stack)  # only leads and admins assign work to someone else
    lead_id = win.workspace.agent.id
    state = next(c for c in sync_all(stack, ana_token)["conversations"] if c["id"] == conversation_id)
    r = httpx.patch(f"{stack.server_url}/v1/conversations/{conversation_id}",
                    json={"set_assignee": True, "assignee_id": lead_id, "expected_version": state["version"]},
                    headers={"Authorization": f"Bearer {admin_token}", "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 200
    qtbot.waitUntil(lambda: ("Assigned to you", conversation_id) in heard, timeout=10000)
    assert win.windowTitle().startswith("(")  # the waiting count is in the title

    httpx.post(f"{stack.server_url}/v1/conversations/{conversation_id}/notes", json={"text": "@Lucía can you check?"},
               headers={"Authorization": f"Bearer {ana_token}", "Idempotency-Key": str(uuid.uuid4())})
    qtbot.waitUntil(lambda: ("Ana Gómez mentioned you", conversation_id) in heard, timeout=10000)

    win.settings.set("do_not_disturb", True)
    count = len(heard)
    wa = sync_all(stack, ana_token)
    handle = next(i["handle"] for i in wa["identities"] if i["display_name"] == name)
    inbound(stack, wa_id=handle, name=name, text="¿Hola?")
    qtbot.waitUntil(lambda: win.feed_model.index(0).data() == name, timeout=10000)
    qtbot.wait(200)
    assert len(heard) == count  # do-not-disturb: silence
    win.settings.set("do_not_disturb", False)
    inbound(stack, wa_id=handle, name=name, text="¿Sigue ahí alguien?")
    qtbot.waitUntil(lambda: any(t.startswith("New message from") for t, _ in heard[count:]), timeout=10000)


def test_uncaught_error_is_logged_and_shown_and_the_app_goes_on(stack, make_window, qtbot):
    win = make_window()
    path = crash.crash_log_path()
    before = path.read_text(encoding="utf-8") if path.exists() else ""
    try:
        raise RuntimeError("boom in a slot")
    except RuntimeError as exc:
        crash.report(type(exc), exc, exc.__traceback__, context="test")
    logged = path.read_text(encoding="utf-8")[len(before):]
    assert "RuntimeError: boom in a slot" in logged and "context: test" in logged
    dialog = QApplication.instance()._crash_dialog
    assert dialog.isVisible() and str(path) in dialog.text()
    dialog.close()
    customer(stack, qtbot, win)  # still working


def test_first_sign_in_does_not_replay_old_work_as_notifications(stack, make_window, qtbot):
    ana_token, _ = sign_in(stack, ANA)
    lead_token, lead = sign_in(stack)
    name = f"Old {uuid.uuid4().hex[:6]}"
    inbound(stack, wa_id="3460" + str(uuid.uuid4().int)[:7], name=name, text="from before")
    conversation = next(c for c in sync_all(stack, lead_token)["conversations"]
                        if c["last_message_preview"] == "from before")
    for call in (
        lambda: httpx.patch(f"{stack.server_url}/v1/conversations/{conversation['id']}",
                            json={"set_assignee": True, "assignee_id": lead["id"],
                                  "expected_version": conversation["version"]},
                            headers={"Authorization": f"Bearer {_admin_token(stack)}",
                                     "Idempotency-Key": str(uuid.uuid4())}),
        lambda: httpx.post(f"{stack.server_url}/v1/conversations/{conversation['id']}/notes",
                           json={"text": "@Lucía old news"},
                           headers={"Authorization": f"Bearer {ana_token}", "Idempotency-Key": str(uuid.uuid4())}),
    ):
        assert call().status_code in (200, 201)
    heard = []
    win = make_window(cache=f"fresh-{uuid.uuid4().hex[:4]}.sqlite")
    win.notifier.notified.connect(lambda title, body, cid: heard.append(title))
    qtbot.waitUntil(lambda: win.workspace.engine.synced_once and name in feed_names(win), timeout=10000)
    qtbot.wait(300)
    assert heard == []


def test_a_replaced_window_no_longer_answers_the_tray(stack, make_window, qtbot):
    win = make_window()
    host = win._host
    win.settings.set("language", "es")
    qtbot.waitUntil(lambda: host.window is not win and host.window is not None, timeout=5000)
    win.notifier.show_requested.emit()
    qtbot.wait(50)
    assert not win.isVisible() and host.window.isVisible()
    win.settings.set("language", "en")
    qtbot.waitUntil(lambda: host.window is not None and host.window.side_tabs.tabText(0) == "Customer", timeout=5000)
