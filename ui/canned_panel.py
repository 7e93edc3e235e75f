"""The team's canned responses: search, preview, and insert into the composer with variables filled."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QLineEdit, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from workstation import canned

ResponseRole = Qt.ItemDataRole.UserRole + 1


class CannedPanel(QWidget):
    insert_requested = Signal(object)  # the CannedResponse chosen

    def __init__(self, responses: list[canned.CannedResponse], language: str, parent=None) -> None:
        super().__init__(parent)
        self._responses = responses
        self._language = language
        self.search_edit = QLineEdit(self)
        self.search_edit.setObjectName("cannedSearch")
        self.search_edit.setPlaceholderText(self.tr("Search canned responses"))
        self.search_edit.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.list.setObjectName("cannedList")
        self.list.setSpacing(3)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.preview = QLabel(self)
        self.preview.setObjectName("cannedPreview")
        self.preview.setTextFormat(Qt.TextFormat.PlainText)
        self.preview.setWordWrap(True)
        self.preview.setForegroundRole(QPalette.ColorRole.PlaceholderText)  # muted in either theme
        self.insert_button = QPushButton(self.tr("Insert"), self)
        self.insert_button.setObjectName("cannedInsert")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.addWidget(self.search_edit)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.preview)
        layout.addWidget(self.insert_button)
        self.search_edit.textChanged.connect(self.on_search_edit_text_changed)
        self.search_edit.returnPressed.connect(self.on_insert_clicked)
        self.list.currentItemChanged.connect(self.on_list_current_item_changed)
        self.list.itemActivated.connect(self.on_insert_clicked)
        self.insert_button.clicked.connect(self.on_insert_clicked)
        self.on_search_edit_text_changed("")

    def on_search_edit_text_changed(self, text: str) -> None:
        self.list.clear()
        for response in canned.search(self._responses, text, language=self._language):
            item = QListWidgetItem(f"{response.title}\n/{response.shortcut} · {response.language.upper()}")
            item.setData(ResponseRole, response)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)
        else:
            self.preview.setText(self.tr("No canned response matches."))
        self.insert_button.setEnabled(self.list.count() > 0)

    def on_list_current_item_changed(self, current: QListWidgetItem | None, _previous=None) -> None:
        if current is not None:
            self.preview.setText(current.data(ResponseRole).body)

    def on_insert_clicked(self, *_args) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.insert_requested.emit(item.data(ResponseRole))
