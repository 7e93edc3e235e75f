"""End shift…: hand my open conversations back to the queue or to a colleague, and (by default) go offline."""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QPushButton,
    QRadioButton, QVBoxLayout,
)

from ui.agent_status import agent_status_icon, agent_status_name
from workstation import protocol
from workstation.cache import CAgent
from workstation.errors import AuthError, NetworkError, ServerError

log = logging.getLogger(__name__)

Handoff = Callable[[int | None, str, bool], Awaitable[protocol.HandoffResult]]


class EndShiftDialog(QDialog):
    """Non-modal to the event loop (opened with `open()`): the sync keeps running while it is shown. Calls
    `handoff(to_agent_id, reason, go_offline)` and reports how many conversations moved, or why not."""

    finished_handoff = Signal(object)  # the HandoffResult

    def __init__(self, colleagues: list[CAgent], handoff: Handoff, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("endShiftDialog")
        self.setWindowTitle(self.tr("End shift"))
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self._handoff = handoff
        self._task: asyncio.Task | None = None
        self.result: protocol.HandoffResult | None = None

        intro = QLabel(self.tr("Your open conversations go to:"), self)
        self.to_queue = QRadioButton(self.tr("The unassigned queue"), self)
        self.to_queue.setObjectName("toQueue")
        self.to_colleague = QRadioButton(self.tr("A colleague:"), self)
        self.to_colleague.setObjectName("toColleague")
        group = QButtonGroup(self)
        group.addButton(self.to_queue)
        group.addButton(self.to_colleague)
        self.to_queue.setChecked(True)
        self.colleague = QComboBox(self)
        self.colleague.setObjectName("colleague")
        self.colleague.setAccessibleName(self.tr("Colleague"))
        for agent in colleagues:
            self.colleague.addItem(agent_status_icon(agent.status),
                                   f"{agent.name} · {agent_status_name(agent.status)}", agent.id)
        self.to_colleague.setEnabled(bool(colleagues))
        self.colleague.setEnabled(False)
        self.to_colleague.toggled.connect(self.colleague.setEnabled)
        self.reason = QLineEdit(self)
        self.reason.setObjectName("handoffReason")
        self.reason.setMaxLength(500)
        self.reason.setPlaceholderText(self.tr("Optional: a word for whoever takes over"))
        self.reason.setAccessibleName(self.tr("Reason"))
        self.go_offline = QCheckBox(self.tr("Go offline"), self)
        self.go_offline.setObjectName("goOffline")
        self.go_offline.setChecked(True)
        self.message = QLabel(self)
        self.message.setObjectName("endShiftMessage")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.message.hide()

        self.buttons = QDialogButtonBox(self)
        self.end_button = QPushButton(self.tr("End shift"), self)
        self.end_button.setObjectName("endShiftButton")
        self.end_button.setDefault(True)
        self.buttons.addButton(self.end_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.close_button.setText(self.tr("Cancel"))
        self.end_button.clicked.connect(self.submit)
        self.close_button.clicked.connect(self.reject)

        form = QFormLayout()
        form.addRow(self.tr("Reason"), self.reason)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.to_queue)
        layout.addWidget(self.to_colleague)
        layout.addWidget(self.colleague)
        layout.addLayout(form)
        layout.addWidget(self.go_offline)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.resize(420, self.sizeHint().height())

    def target(self) -> int | None:
        return self.colleague.currentData() if self.to_colleague.isChecked() else None

    def submit(self) -> None:
        if self._task is not None and not self._task.done():
            return
        self.end_button.setEnabled(False)
        self._show(self.tr("Handing over…"), error=False)
        self._task = asyncio.ensure_future(self._run(self.target(), self.reason.text().strip(),
                                                     self.go_offline.isChecked()))

    async def _run(self, to_agent_id: int | None, reason: str, go_offline: bool) -> None:
        try:
            result = await self._handoff(to_agent_id, reason, go_offline)
        except NetworkError:
            self._failed(self.tr("You are offline; try again when connected."))
            return
        except AuthError:
            self._failed(self.tr("Your session has ended; sign in again."))
            return
        except ServerError as exc:
            self._failed(self.tr("The server refused: %1").replace("%1", exc.detail or str(exc.status_code)))
            return
        self.result = result
        moved = len(result.moved)
        if moved == 0:
            text = self.tr("You had no open conversations to hand over.")
        elif moved == 1:
            text = self.tr("1 conversation handed over.")
        else:
            text = self.tr("%1 conversations handed over.").replace("%1", str(moved))
        self._show(text, error=False)
        self.end_button.hide()
        self.close_button.setText(self.tr("Close"))
        self.finished_handoff.emit(result)

    def _failed(self, text: str) -> None:
        self._show(text, error=True)
        self.end_button.setEnabled(True)

    def _show(self, text: str, *, error: bool) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #C62828;" if error else "")
        self.message.show()

    def done(self, result: int) -> None:  # noqa: D401 (Qt override)
        if self._task is not None and not self._task.done():
            self._task.cancel()
        super().done(result)
