"""The reply composer: Enter sends, Shift+Enter starts a new line, with a live character budget."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QTabBar, QVBoxLayout, QWidget

from workstation.protocol import MAX_REPLY_CHARS


class ReplyEdit(QPlainTextEdit):
    submitted = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
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
        self.on_edit_text_changed()

    def on_edit_text_changed(self) -> None:
        used = len(self.edit.toPlainText())
        self.counter.setText(self.tr("%1 / %2").replace("%1", str(used)).replace("%2", str(self.limit)))
        over = used > self.limit
        self.counter.setStyleSheet("color: #C62828;" if over else "")
        self.counter.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.send_button.setEnabled(self.isEnabled() and 0 < len(self.edit.toPlainText().strip()) and not over)

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
        if not text.strip() or len(text) > self.limit or not self.isEnabled():
            return
        self.edit.clear()
        (self.note_submitted if self.mode == NOTE else self.reply_submitted).emit(text)

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
