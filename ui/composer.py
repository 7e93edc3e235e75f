"""The reply composer: Enter sends, Shift+Enter starts a new line, with a live character budget.

Typing `/` and a few letters at the start of a word lists matching canned responses (Up/Down choose, Enter or
Tab inserts, Esc closes). An inserted response's `[[placeholders]]` are selected one after another with Tab,
and a reply cannot be sent while one is left unfilled."""

from __future__ import annotations

import re
from typing import Any, Callable

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent, QPalette, QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPlainTextEdit, QPushButton, QTabBar, QVBoxLayout, QWidget,
)

from workstation.protocol import MAX_REPLY_CHARS
from workstation.textcount import PRIVATE_REPLY_LIMITS, X_MAX_POST_CHARS, reply_length, reply_limit


# Characters a reply may have on each channel; None: no limit of the channel's own (email). X has two: a public
# reply is a post (280, counted as X counts them: see workstation.textcount), a direct message is not (10,000).
# Replies are also capped by the agent API's own MAX_REPLY_CHARS (code points), whichever is smaller.
X_PUBLIC_LIMIT = X_MAX_POST_CHARS

# "/" and the letters typed after it, at the start of the text or after a space or new line.
_SLASH = re.compile(r"(?:^|(?<=\s))/([^\s/]{0,40})$")


class ReplyEdit(QPlainTextEdit):
    submitted = Signal()
    # Keys the composer handles first (the / list, placeholders); the handler returns True when it used the key.
    key_filter: Callable[[QKeyEvent], bool] | None = None

    def event(self, event) -> bool:  # noqa: N802 (Qt override)
        # Tab never reaches keyPressEvent (it moves the focus): placeholders and the / list get it first.
        if event.type() == QEvent.Type.KeyPress and event.key() in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab) \
                and self.key_filter is not None and self.key_filter(event):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.key_filter is not None and self.key_filter(event):
            event.accept()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
            else:
                self.submitted.emit()
            event.accept()
            return
        super().keyPressEvent(event)

    def insertFromMimeData(self, source) -> None:
        # Pasted rich text arrives as plain text: the customer sees exactly what the agent sees.
        self.insertPlainText(source.text())


REPLY, NOTE = 0, 1


class Composer(QWidget):
    reply_submitted = Signal(str)
    note_submitted = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.limit = MAX_REPLY_CHARS
        self.channel: str | None = None
        self.public = False  # a public reply (an X post) counts as its channel counts it: see `used`
        self.counted = True  # False: the channel has no budget of its own; the counter shows only when over
        # Asked before a reply goes: False keeps the text in the composer (the window may ask the agent first,
        # say because a colleague has just replied, and send it later with `submit_now`).
        self.reply_guard: Callable[[str], bool] | None = None
        self.mode_tabs = QTabBar(self)
        self.mode_tabs.setObjectName("composerMode")
        self.mode_tabs.addTab(self.tr("Reply"))
        self.mode_tabs.addTab(self.tr("Internal note"))
        self.mode_tabs.setDrawBase(False)
        self.mode_tabs.setExpanding(False)
        self.edit = ReplyEdit(self)
        self.edit.setObjectName("replyEdit")
        self.edit.setFixedHeight(84)
        self.edit.setTabChangesFocus(True)
        self.counter = QLabel(self)
        self.counter.setObjectName("charCounter")
        self.send_button = QPushButton(self.tr("Send"), self)
        self.send_button.setObjectName("sendButton")
        self.send_button.setDefault(False)
        bar = QHBoxLayout()
        bar.addWidget(self.counter)
        bar.addStretch(1)
        bar.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 8)
        layout.addWidget(self.mode_tabs)
        layout.addWidget(self.edit)
        layout.addLayout(bar)
        self.mode_tabs.currentChanged.connect(self.on_mode_tabs_current_changed)
        self.on_mode_tabs_current_changed(REPLY)
        self.edit.submitted.connect(self.on_edit_submitted)
        self.send_button.clicked.connect(self.on_edit_submitted)
        self.edit.textChanged.connect(self.on_edit_text_changed)
        # The / list: `slash_source(query)` gives (label, payload) pairs; choosing one calls `slash_chosen(payload)`
        # after the "/query" typed is removed (the window inserts the rendered response).
        self.slash_source: Callable[[str], list[tuple[str, Any]]] | None = None
        self.slash_chosen: Callable[[Any], None] | None = None
        self.slash_list = QListWidget(self)
        self.slash_list.setObjectName("slashList")
        self.slash_list.setMaximumHeight(150)
        self.slash_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slash_list.hide()
        self.slash_list.itemClicked.connect(lambda item: self._choose_slash(item))
        layout.insertWidget(1, self.slash_list)
        self.placeholder_hint = QLabel(self)
        self.placeholder_hint.setObjectName("placeholderHint")
        self.placeholder_hint.setTextFormat(Qt.TextFormat.PlainText)
        self.placeholder_hint.setStyleSheet("color: #B26A00;")
        bar.insertWidget(1, self.placeholder_hint)
        # Cursors over the placeholders of inserted responses: Qt keeps them in place while the agent edits.
        self._placeholders: list[QTextCursor] = []
        self.edit.key_filter = self._filter_key
        self.edit.cursorPositionChanged.connect(self._update_slash)
        self.on_edit_text_changed()

    # -- the / list -------------------------------------------------------------------------------------------
    def _slash_query(self) -> str | None:
        cursor = self.edit.textCursor()
        if cursor.hasSelection():
            return None
        block = cursor.block().text()[: cursor.positionInBlock()]
        found = _SLASH.search(block)
        return found.group(1) if found else None

    def _update_slash(self) -> None:
        query = self._slash_query()
        if query is None or self.slash_source is None:
            self.slash_list.hide()
            return
        matches = self.slash_source(query)[:8]
        self.slash_list.clear()
        for label, payload in matches:
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, payload)
            self.slash_list.addItem(item)
        if matches:
            self.slash_list.setCurrentRow(0)
            self.slash_list.show()
        else:
            self.slash_list.hide()

    @property
    def slash_open(self) -> bool:
        return self.slash_list.isVisible() and self.slash_list.count() > 0

    def _choose_slash(self, item: QListWidgetItem | None = None) -> None:
        item = item or self.slash_list.currentItem()
        query = self._slash_query()
        if item is None or query is None:
            return
        cursor = self.edit.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.Left, QTextCursor.MoveMode.KeepAnchor, len(query) + 1)
        cursor.removeSelectedText()
        self.edit.setTextCursor(cursor)
        self.slash_list.hide()
        if self.slash_chosen is not None:
            self.slash_chosen(item.data(Qt.ItemDataRole.UserRole))

    def _filter_key(self, event: QKeyEvent) -> bool:
        key = event.key()
        if self.slash_open:
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                row = self.slash_list.currentRow() + (1 if key == Qt.Key.Key_Down else -1)
                self.slash_list.setCurrentRow(max(0, min(row, self.slash_list.count() - 1)))
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab):
                self._choose_slash()
                return True
            if key == Qt.Key.Key_Escape:
                self.slash_list.hide()
                return True
        if key == Qt.Key.Key_Tab and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            return self.select_next_placeholder()
        if key == Qt.Key.Key_Backtab or (key == Qt.Key.Key_Tab and event.modifiers() & Qt.KeyboardModifier.ShiftModifier):
            return self.select_next_placeholder(backwards=True)
        return False

    # -- placeholders -----------------------------------------------------------------------------------------
    def insert_rendered(self, rendered) -> None:
        """Inserts a rendered canned response (canned.Rendered: text and its placeholder spans) at the cursor
        and selects its first placeholder."""
        cursor = self.edit.textCursor()
        cursor.removeSelectedText()
        start = cursor.position()
        cursor.insertText(rendered.text)
        for span in rendered.placeholders:
            tracked = QTextCursor(self.edit.document())
            tracked.setPosition(start + span.start)
            tracked.setPosition(start + span.end, QTextCursor.MoveMode.KeepAnchor)
            self._placeholders.append(tracked)
        self.edit.setTextCursor(cursor)
        self.edit.setFocus()
        if not self.select_next_placeholder():
            self.on_edit_text_changed()

    def unfilled_placeholders(self) -> list[QTextCursor]:
        """Placeholders still showing their [[label]]; the rest (typed over, deleted) are forgotten."""
        left = []
        for cursor in self._placeholders:
            text = cursor.selectedText()
            if text.startswith("[[") and text.endswith("]]") and len(text) > 4:
                left.append(cursor)
        self._placeholders = left
        return sorted(left, key=lambda c: c.selectionStart())

    def select_next_placeholder(self, backwards: bool = False) -> bool:
        left = self.unfilled_placeholders()
        if not left:
            return False
        here = self.edit.textCursor().selectionStart()
        if backwards:
            before = [c for c in left if c.selectionStart() < here]
            target = before[-1] if before else left[-1]
        else:
            after = [c for c in left if c.selectionStart() > here] or left
            current = self.edit.textCursor()
            # The selected placeholder itself is "here": move past it.
            after = [c for c in after if not (current.hasSelection() and c.selectionStart() == current.selectionStart())] \
                or after
            target = after[0]
        select = QTextCursor(self.edit.document())
        select.setPosition(target.selectionStart())
        select.setPosition(target.selectionEnd(), QTextCursor.MoveMode.KeepAnchor)
        self.edit.setTextCursor(select)
        self.on_edit_text_changed()
        return True

    def set_channel(self, channel: str | None, public: bool = False) -> None:
        """Sets the character budget to the conversation's channel (a public X reply: 280, counted as X counts)."""
        self.channel = channel
        self.public = public
        budget = reply_limit(channel, public) if channel in PRIVATE_REPLY_LIMITS else MAX_REPLY_CHARS
        self.counted = budget is not None
        self.limit = min(budget, MAX_REPLY_CHARS) if budget is not None else MAX_REPLY_CHARS
        self.on_edit_text_changed()

    def used(self, text: str) -> int:
        """How much of the budget `text` takes, counted as the channel counts it (X weighs a public reply)."""
        return reply_length(self.channel, self.public, text)

    def over_budget(self, text: str) -> bool:
        # The channel's own count against its limit, and the agent API's cap on code points whatever the channel
        # (a public X reply's URLs weigh 23 however long they are).
        return self.used(text) > self.limit or len(text) > MAX_REPLY_CHARS

    def on_edit_text_changed(self) -> None:
        text = self.edit.toPlainText()
        used = self.used(text)
        self.counter.setText(self.tr("%1 / %2").replace("%1", str(used)).replace("%2", str(self.limit)))
        over = self.over_budget(text)
        self.counter.setVisible(self.counted or over)
        self.counter.setStyleSheet("color: #C62828;" if over else "")
        self.counter.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        left = self.unfilled_placeholders() if hasattr(self, "_placeholders") else []
        if hasattr(self, "placeholder_hint"):
            self.placeholder_hint.setText(
                self.tr("Fill in %1 (Tab for the next)").replace("%1", left[0].selectedText()) if left else "")
        self.send_button.setEnabled(self.isEnabled() and 0 < len(self.edit.toPlainText().strip()) and not over
                                    and not left)

    def on_mode_tabs_current_changed(self, mode: int) -> None:
        if mode == NOTE:
            self.edit.setPlaceholderText(self.tr("Write an internal note: only your team sees it (Enter saves)"))
            self.edit.setStyleSheet("QPlainTextEdit { background: #FFF8DB; }")
            self.send_button.setText(self.tr("Add note"))
        else:
            self.edit.setPlaceholderText(self.tr("Write a reply… (Enter sends, Shift+Enter adds a line)"))
            self.edit.setStyleSheet("")
            self.send_button.setText(self.tr("Send"))

    @property
    def mode(self) -> int:
        return self.mode_tabs.currentIndex()

    def on_edit_submitted(self) -> None:
        text = self.edit.toPlainText()
        if not text.strip() or self.over_budget(text) or not self.isEnabled():
            return
        left = self.unfilled_placeholders() if self.mode == REPLY else []
        if left:  # never send "[[order number]]" to a customer: show the first one left instead
            select = QTextCursor(self.edit.document())
            select.setPosition(left[0].selectionStart())
            select.setPosition(left[0].selectionEnd(), QTextCursor.MoveMode.KeepAnchor)
            self.edit.setTextCursor(select)
            return
        if self.mode == REPLY and self.reply_guard is not None and not self.reply_guard(text):
            return
        self.submit_now(text)

    def submit_now(self, text: str, mode: int | None = None) -> None:
        """Sends `text` as a reply or note (`mode`, else the current one) without asking the guard again;
        the composer empties if it still holds that text."""
        mode = self.mode if mode is None else mode
        if self.edit.toPlainText() == text:
            self.edit.clear()
            self._placeholders = []
        (self.note_submitted if mode == NOTE else self.reply_submitted).emit(text)

    def restore(self, text: str) -> None:
        """Puts back a text whose sending could not even be queued, so nothing typed is lost."""
        if not self.edit.toPlainText():
            self.edit.setPlainText(text)

    def insert_text(self, text: str) -> None:
        self.edit.insertPlainText(text)
        self.edit.setFocus()

    def setEnabled(self, enabled: bool) -> None:  # noqa: N802 (Qt override)
        super().setEnabled(enabled)
        self.on_edit_text_changed()
