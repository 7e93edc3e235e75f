"""Ctrl+K: every action by name, filtered as you type, run with Enter."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout

from workstation.canned import _fold

ActionRole = Qt.ItemDataRole.UserRole + 1


class CommandPalette(QDialog):
    def __init__(self, actions: list[QAction], parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Command palette"))
        self.setObjectName("commandPalette")
        self.resize(460, 360)
        self._actions = [a for a in actions if a.isEnabled()]
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setObjectName("paletteFilter")
        self.filter_edit.setPlaceholderText(self.tr("Type a command…"))
        self.filter_edit.setAccessibleName(self.tr("Command"))
        self.list = QListWidget(self)
        self.list.setObjectName("paletteList")
        self.list.setAccessibleName(self.tr("Commands"))
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.list)
        self.filter_edit.textChanged.connect(self.on_filter_edit_text_changed)
        self.filter_edit.returnPressed.connect(self.on_run)
        self.list.itemActivated.connect(self.on_run)
        self.on_filter_edit_text_changed("")

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        # Up/Down move through the list while typing in the filter.
        if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up) and self.list.count():
            step = 1 if event.key() == Qt.Key.Key_Down else -1
            self.list.setCurrentRow((self.list.currentRow() + step) % self.list.count())
            return
        super().keyPressEvent(event)

    def on_filter_edit_text_changed(self, text: str) -> None:
        self.list.clear()
        words = _fold(text).split()
        for action in self._actions:
            title = action.text()
            if all(w in _fold(title) for w in words):
                shortcut = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
                item = QListWidgetItem(f"{title}\t{shortcut}" if shortcut else title)
                item.setData(ActionRole, action)
                self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def on_run(self, *_args) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        action = item.data(ActionRole)
        self.accept()
        action.trigger()
