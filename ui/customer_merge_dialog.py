"""Choosing the customer to merge with the one in the customer pane: search the local data by name or handle,
pick one, confirm."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QLabel, QLineEdit, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout,
)

from ui import crash
from ui.customer_pane import handle_text, plain_label
from ui.style import channel_icon, channel_name
from ui.thread_model import fill
from workstation.identities import CustomerMatch

MatchRole = Qt.ItemDataRole.UserRole + 1


class CustomerMergeDialog(QDialog):
    """`search(text)` finds customers (workstation.identities.search); `merge_chosen` names the one picked
    when the agent confirms."""

    merge_chosen = Signal(int)
    # A search finished and its results are listed (tests wait on it).
    results_shown = Signal()

    def __init__(self, customer_name: str, search: Callable[[str], Awaitable[list[CustomerMatch]]],
                 parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Merge customers"))
        self.setObjectName("customerMergeDialog")
        self.resize(460, 420)
        self._customer_name = customer_name
        self._search = search
        self._task: asyncio.Task | None = None
        self.intro_label = plain_label(
            fill(self.tr("Find the customer who is the same person as “%1”: by name, phone, user name or address."),
                 customer_name), self)
        self.search_edit = QLineEdit(self)
        self.search_edit.setPlaceholderText(self.tr("Name or handle…"))
        self.search_edit.setAccessibleName(self.tr("Search customers"))
        self.results = QListWidget(self)
        self.results.setObjectName("mergeResults")
        self.results.setAccessibleName(self.tr("Customers found"))
        self.results.setWordWrap(True)
        self.empty_label = QLabel(self.tr("No other customer matches."), self)
        self.empty_label.hide()
        self.confirm_label = plain_label(parent=self)
        self.confirm_label.setObjectName("mergeConfirm")
        self.confirm_label.hide()
        self.buttons = QDialogButtonBox(self)
        self.merge_button = QPushButton(self.tr("Merge"), self)
        self.merge_button.setEnabled(False)
        self.buttons.addButton(self.merge_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.on_merge_button_clicked)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro_label)
        layout.addWidget(self.search_edit)
        layout.addWidget(self.results, 1)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.confirm_label)
        layout.addWidget(self.buttons)
        self.search_edit.textChanged.connect(self.on_search_edit_text_changed)
        self.results.currentItemChanged.connect(self.on_results_current_item_changed)
        self.results.itemActivated.connect(lambda _item: self.on_merge_button_clicked())

    def chosen(self) -> CustomerMatch | None:
        item = self.results.currentItem()
        return item.data(MatchRole) if item is not None else None

    def on_search_edit_text_changed(self, text: str) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = asyncio.ensure_future(self._run_search(text))
        self._task.add_done_callback(self._search_done)

    async def _run_search(self, text: str) -> None:
        matches = await self._search(text) if text.strip() else []
        if shiboken6.isValid(self):
            self.show_matches(matches, searched=bool(text.strip()))

    @staticmethod
    def _search_done(task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            crash.report(type(exc), exc, exc.__traceback__, context="customer merge search")

    def show_matches(self, matches: list[CustomerMatch], *, searched: bool = True) -> None:
        self.results.clear()
        for match in matches:
            channels = ", ".join(f"{channel_name(channel)} · {handle_text(channel, handle)}"
                                 for channel, handle in match.identities)
            item = QListWidgetItem(f"{match.display_name}\n{channels}")  # list items are plain text
            item.setIcon(channel_icon(match.identities[0][0], 16))
            item.setData(MatchRole, match)
            self.results.addItem(item)
        self.empty_label.setVisible(searched and not matches)
        if matches:
            self.results.setCurrentRow(0)
        else:
            self.on_results_current_item_changed(None, None)
        self.results_shown.emit()

    def on_results_current_item_changed(self, current, _previous) -> None:
        match = current.data(MatchRole) if current is not None else None
        self.merge_button.setEnabled(match is not None)
        self.confirm_label.setVisible(match is not None)
        if match is not None:
            self.confirm_label.setText(fill(
                self.tr("“%1” joins “%2”: their channels, conversations and follow-ups move to “%2”, their tags, "
                        "data and notes are added to its profile (where data differs, this customer's stays and "
                        "theirs is written into the notes)."), match.display_name, self._customer_name))

    def on_merge_button_clicked(self) -> None:
        match = self.chosen()
        if match is None:
            return
        self.accept()
        self.merge_chosen.emit(match.customer_id)
