"""Leads' team settings: the routing rules, and an agent's time zone, shifts and capacity per channel."""

from __future__ import annotations

import asyncio
import logging
import re
import zoneinfo
from typing import Awaitable, Callable

from pydantic import ValidationError
from PySide6.QtCore import QCoreApplication, QLocale, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QCompleter, QDialog, QDialogButtonBox, QFormLayout, QGroupBox,
    QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton, QSpinBox, QTableWidget, QVBoxLayout,
)

from ui import crash
from ui.style import CHANNEL_COLOURS, channel_name
from ui.thread_model import fill
from workstation import protocol
from workstation.board import DASH, BoardAgent
from workstation.errors import AuthError, NetworkError, ServerError

log = logging.getLogger(__name__)

LoadRouting = Callable[[], Awaitable[protocol.RoutingSettings]]
SaveRouting = Callable[[protocol.RoutingSettings], Awaitable[protocol.RoutingSettings]]
UpdateAgent = Callable[[int, protocol.AgentUpdate], Awaitable[protocol.AgentPublic]]

# "09:00–17:00", "9:00-13:00, 14:00 - 18:00": spans separated by commas or semicolons; any dash.
_SPAN = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-–—]\s*(\d{1,2}:\d{2})\s*$")
_SPAN_SEPARATORS = re.compile(r"[,;]")
MAX_SHIFTS = 50  # what protocol.AgentUpdate accepts


def request_error_text(exc: Exception) -> str:
    """What went wrong with a request, as one sentence in the user's language."""
    if isinstance(exc, NetworkError):
        return QCoreApplication.translate("TeamDialogs", "You are offline; try again when connected.")
    if isinstance(exc, AuthError):
        return QCoreApplication.translate("TeamDialogs", "Your session has ended; sign in again.")
    if isinstance(exc, ServerError) and exc.status_code == 403:
        return fill(QCoreApplication.translate("TeamDialogs", "Not allowed: %1"), exc.detail or "403")
    if isinstance(exc, ServerError):
        return fill(QCoreApplication.translate("TeamDialogs", "The server refused: %1"),
                    exc.detail or str(exc.status_code))
    return str(exc)


def parse_day(weekday: int, text: str) -> list[protocol.Shift]:
    """One weekday's shifts from "09:00–13:00, 14:00–18:00" (empty: a day off). Raises ValueError with a
    sentence for the user."""
    shifts = []
    for part in _SPAN_SEPARATORS.split(text):
        if not part.strip():
            continue
        match = _SPAN.match(part)
        if match is None:
            raise ValueError(fill(QCoreApplication.translate(
                "TeamDialogs", "“%1” is not a shift: write it as 09:00–17:00."), part.strip()))
        try:
            shifts.append(protocol.Shift(weekday=weekday, start=match.group(1), end=match.group(2)))
        except ValidationError:
            raise ValueError(fill(QCoreApplication.translate(
                "TeamDialogs", "“%1” is not a time of day (00:00 to 24:00)."), part.strip())) from None
    return shifts


def day_text(shifts: list[protocol.Shift], weekday: int) -> str:
    return ", ".join(f"{s.start}{DASH}{s.end}" for s in sorted(shifts, key=lambda s: s.start) if s.weekday == weekday)


class _RequestDialog(QDialog):
    """A dialog that runs one request at a time and shows its outcome in a plain-text line."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self._task: asyncio.Task | None = None
        self.message = QLabel(self)
        self.message.setObjectName("dialogMessage")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.message.hide()
        self.buttons = QDialogButtonBox(self)
        self.save_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Save)
        self.save_button.setObjectName("saveButton")
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.save_button.clicked.connect(self.submit)
        self.cancel_button.clicked.connect(self.reject)

    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def _start(self, coro) -> None:
        self._task = asyncio.ensure_future(coro)
        self._task.add_done_callback(self._task_done)

    @staticmethod
    def _task_done(task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            crash.report(type(exc), exc, exc.__traceback__, context="team dialog request")

    def show_message(self, text: str, *, error: bool) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #C62828;" if error else "")
        self.message.setVisible(bool(text))

    def submit(self) -> None:
        raise NotImplementedError

    def done(self, result: int) -> None:  # noqa: D401 (Qt override)
        try:
            current = asyncio.current_task()
        except RuntimeError:  # no loop running
            current = None
        if self.busy() and self._task is not current:  # closed while a request is under way: drop it
            self._task.cancel()
        super().done(result)


class _LoadingDialog(_RequestDialog):
    """A request dialog that first loads what it edits: editing is off until `_load()` (set by the subclass)
    answers, then `show_settings` shows it and `_set_editable(True)` lets the user change it."""

    _load: Callable[[], Awaitable[object]]

    def open(self) -> None:
        super().open()
        self.reload()

    def reload(self) -> None:
        self.show_message(self.tr("Loading…"), error=False)
        self._start(self._read())

    async def _read(self) -> None:
        try:
            loaded = await self._load()
        except (NetworkError, AuthError, ServerError) as exc:
            self.show_message(request_error_text(exc), error=True)
            return
        self.show_settings(loaded)
        self.show_message("", error=False)
        self._set_editable(True)

    def show_settings(self, loaded) -> None:
        raise NotImplementedError

    def _set_editable(self, editable: bool) -> None:
        raise NotImplementedError


class RoutingDialog(_LoadingDialog):
    """Routing settings: automatic distribution, the default capacity, reclaiming unanswered conversations
    and how soon a disconnected agent goes offline. Loads the current rules, then saves them."""

    saved = Signal(object)  # protocol.RoutingSettings as the server stored them

    def __init__(self, load: LoadRouting, save: SaveRouting, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("routingDialog")
        self.setWindowTitle(self.tr("Routing settings"))
        self._load, self._save = load, save
        self.loaded: protocol.RoutingSettings | None = None

        self.auto_assign = QCheckBox(self.tr("Hand out new conversations automatically"), self)
        self.auto_assign.setObjectName("autoAssign")
        self.auto_assign.setToolTip(self.tr("Off: nothing is handed out; agents take conversations from the queue."))
        self.default_capacity = QSpinBox(self)
        self.default_capacity.setObjectName("defaultCapacity")
        self.default_capacity.setRange(0, 1000)
        self.default_capacity.setSuffix(self.tr(" conversations"))
        self.reclaim = QSpinBox(self)
        self.reclaim.setObjectName("reclaimMinutes")
        self.reclaim.setRange(0, 7 * 24 * 60)
        self.reclaim.setSpecialValueText(self.tr("Never"))
        self.reclaim.setSuffix(self.tr(" min"))
        self.grace = QSpinBox(self)
        self.grace.setObjectName("offlineGrace")
        self.grace.setRange(5, 24 * 3600)
        self.grace.setSuffix(self.tr(" s"))
        form = QFormLayout()
        form.addRow(self.auto_assign)
        form.addRow(self.tr("Default capacity per agent"), self.default_capacity)
        form.addRow(self.tr("Take back unanswered after"), self.reclaim)
        form.addRow(self.tr("Set offline after disconnected for"), self.grace)
        hint = QLabel(self.tr("An agent's own capacity, set in Edit agent, replaces the default."), self)
        hint.setWordWrap(True)
        hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self._fields = (self.auto_assign, self.default_capacity, self.reclaim, self.grace)
        self._set_editable(False)
        self.resize(440, self.sizeHint().height())

    def _set_editable(self, editable: bool) -> None:
        for widget in self._fields:
            widget.setEnabled(editable)
        self.save_button.setEnabled(editable)

    def show_settings(self, settings: protocol.RoutingSettings) -> None:
        self.loaded = settings
        self.auto_assign.setChecked(settings.auto_assign)
        self.default_capacity.setValue(settings.default_capacity)
        self.reclaim.setValue(settings.reclaim_minutes)
        self.grace.setValue(settings.offline_grace_seconds)

    def value(self) -> protocol.RoutingSettings:
        return protocol.RoutingSettings(
            auto_assign=self.auto_assign.isChecked(), default_capacity=self.default_capacity.value(),
            reclaim_minutes=self.reclaim.value(), offline_grace_seconds=self.grace.value())

    def submit(self) -> None:
        if self.busy() or self.loaded is None:
            return
        self.save_button.setEnabled(False)
        self.show_message(self.tr("Saving…"), error=False)
        self._start(self._write(self.value()))

    async def _write(self, settings: protocol.RoutingSettings) -> None:
        try:
            stored = await self._save(settings)
        except (NetworkError, AuthError, ServerError) as exc:
            self.show_message(request_error_text(exc), error=True)
            self.save_button.setEnabled(True)
            return
        self.loaded = stored
        self.saved.emit(stored)
        self.accept()


class EditAgentDialog(_RequestDialog):
    """An agent's time zone, weekly shifts (one line per weekday: "09:00–17:00", several with commas, a
    shift ending before it starts runs past midnight) and capacity per channel ("*": every other channel;
    none: the team's default)."""

    saved = Signal(object)  # protocol.AgentPublic as the server stored it

    def __init__(self, agent: BoardAgent, update: UpdateAgent, *, default_capacity: int = 5, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("editAgentDialog")
        self.agent = agent
        self._update = update
        self.setWindowTitle(fill(self.tr("Edit agent: %1"), agent.name))

        name = QLabel(agent.name, self)
        name.setTextFormat(Qt.TextFormat.PlainText)
        self.timezone = QComboBox(self)
        self.timezone.setObjectName("timezone")
        self.timezone.setEditable(True)
        self.timezone.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        zones = sorted(zoneinfo.available_timezones())
        if agent.timezone not in zones:
            zones.insert(0, agent.timezone)
        self.timezone.addItems(zones)
        self.timezone.setCurrentText(agent.timezone)
        completer = QCompleter(zones, self.timezone)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.timezone.setCompleter(completer)
        self.timezone.setAccessibleName(self.tr("Time zone"))
        top = QFormLayout()
        top.addRow(self.tr("Agent"), name)
        top.addRow(self.tr("Time zone"), self.timezone)

        shifts_box = QGroupBox(self.tr("Shifts"), self)
        shifts_form = QFormLayout(shifts_box)
        locale = QLocale()
        self.day_edits: list[QLineEdit] = []
        for weekday in range(7):
            edit = QLineEdit(day_text(list(agent.shifts), weekday), self)
            edit.setObjectName(f"shifts{weekday}")
            edit.setPlaceholderText(self.tr("Day off"))
            day = locale.dayName(weekday + 1, QLocale.FormatType.LongFormat)
            day = day[:1].upper() + day[1:]  # "lunes" heads a line: "Lunes"
            edit.setAccessibleName(day)
            shifts_form.addRow(day, edit)
            self.day_edits.append(edit)
        self.copy_monday = QPushButton(self.tr("Same as Monday, Tuesday to Friday"), self)
        self.copy_monday.setObjectName("copyMonday")
        self.copy_monday.clicked.connect(self.on_copy_monday_clicked)
        shifts_form.addRow(self.copy_monday)
        shifts_hint = QLabel(self.tr("For example 09:00–17:00, or 09:00–13:00, 14:00–18:00. A shift that ends "
                                     "before it starts runs past midnight. No shifts at all: always on shift."), self)
        shifts_hint.setWordWrap(True)
        shifts_hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        shifts_form.addRow(shifts_hint)

        capacity_box = QGroupBox(self.tr("Capacity"), self)
        self.capacity = QTableWidget(0, 2, self)
        self.capacity.setObjectName("capacityTable")
        self.capacity.setHorizontalHeaderLabels([self.tr("Channel"), self.tr("Open conversations")])
        self.capacity.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.capacity.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.capacity.verticalHeader().hide()
        self.capacity.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.capacity.setAccessibleName(self.tr("Capacity per channel"))
        self.capacity.setMinimumHeight(120)
        for key, value in sorted(agent.own_capacity.items(), key=lambda kv: (kv[0] == protocol.ANY_CHANNEL, kv[0])):
            self.add_capacity_row(key, value)
        self.add_capacity = QPushButton(self.tr("Add channel"), self)
        self.add_capacity.setObjectName("addCapacity")
        self.remove_capacity = QPushButton(self.tr("Remove"), self)
        self.remove_capacity.setObjectName("removeCapacity")
        self.add_capacity.clicked.connect(self.on_add_capacity_clicked)
        self.remove_capacity.clicked.connect(self.on_remove_capacity_clicked)
        capacity_hint = QLabel(fill(self.tr("“All other channels” covers every channel without a line of its own. "
                                            "No lines: the team default, %1 conversations for all channels "
                                            "together."), str(default_capacity)), self)
        capacity_hint.setWordWrap(True)
        capacity_hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        buttons_row = QHBoxLayout()
        buttons_row.addWidget(self.add_capacity)
        buttons_row.addWidget(self.remove_capacity)
        buttons_row.addStretch(1)
        capacity_layout = QVBoxLayout(capacity_box)
        capacity_layout.addWidget(self.capacity)
        capacity_layout.addLayout(buttons_row)
        capacity_layout.addWidget(capacity_hint)

        columns = QHBoxLayout()
        columns.addWidget(shifts_box, 1)
        columns.addWidget(capacity_box, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(columns)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.resize(820, self.sizeHint().height())

    # -- capacity rows ----------------------------------------------------------------------------------
    def _channel_choices(self, current: str) -> list[tuple[str, str]]:
        choices = [(protocol.ANY_CHANNEL, self.tr("All other channels"))]
        choices += [(key, channel_name(key)) for key in CHANNEL_COLOURS]
        if current not in {k for k, _ in choices}:
            choices.append((current, current))  # a channel this version does not know: kept as it is
        return choices

    def add_capacity_row(self, key: str | None = None, value: int = 5) -> int:
        used = set(self.capacity_keys())
        if key is None:
            key = next((k for k, _ in self._channel_choices("") if k not in used), protocol.ANY_CHANNEL)
        row = self.capacity.rowCount()
        self.capacity.insertRow(row)
        channel = QComboBox(self.capacity)
        for data, label in self._channel_choices(key):
            channel.addItem(label, data)
        channel.setCurrentIndex(max(0, channel.findData(key)))
        channel.setAccessibleName(self.tr("Channel"))
        number = QSpinBox(self.capacity)
        number.setRange(0, 1000)
        number.setValue(value)
        number.setAccessibleName(self.tr("Open conversations"))
        self.capacity.setCellWidget(row, 0, channel)
        self.capacity.setCellWidget(row, 1, number)
        return row

    def capacity_keys(self) -> list[str]:
        return [self.capacity.cellWidget(r, 0).currentData() for r in range(self.capacity.rowCount())]

    def on_add_capacity_clicked(self) -> None:
        self.add_capacity_row()

    def on_remove_capacity_clicked(self) -> None:
        rows = sorted({i.row() for i in self.capacity.selectedIndexes()} or {self.capacity.rowCount() - 1},
                      reverse=True)
        for row in rows:
            if row >= 0:
                self.capacity.removeRow(row)

    def on_copy_monday_clicked(self) -> None:
        for edit in self.day_edits[1:5]:
            edit.setText(self.day_edits[0].text())

    # -- saving -----------------------------------------------------------------------------------------
    def value(self) -> protocol.AgentUpdate:
        """The update as entered; raises ValueError with a sentence for the user."""
        shifts: list[protocol.Shift] = []
        for weekday, edit in enumerate(self.day_edits):
            shifts += parse_day(weekday, edit.text())
        if len(shifts) > MAX_SHIFTS:
            raise ValueError(fill(self.tr("At most %1 shifts a week."), str(MAX_SHIFTS)))
        capacity: dict[str, int] = {}
        for row in range(self.capacity.rowCount()):
            key = self.capacity.cellWidget(row, 0).currentData()
            if key in capacity:
                raise ValueError(fill(self.tr("%1 is listed twice under capacity."),
                                      self.capacity.cellWidget(row, 0).currentText()))
            capacity[key] = self.capacity.cellWidget(row, 1).value()
        zone = self.timezone.currentText().strip()
        try:
            return protocol.AgentUpdate(timezone=zone, shifts=shifts, capacity=capacity)
        except ValidationError:
            raise ValueError(fill(self.tr("“%1” is not a time zone (for example Europe/Madrid)."), zone)) from None

    def submit(self) -> None:
        if self.busy():
            return
        try:
            update = self.value()
        except ValueError as exc:
            self.show_message(str(exc), error=True)
            return
        self.save_button.setEnabled(False)
        self.show_message(self.tr("Saving…"), error=False)
        self._start(self._write(update))

    async def _write(self, update: protocol.AgentUpdate) -> None:
        try:
            stored = await self._update(self.agent.agent_id, update)
        except (NetworkError, AuthError, ServerError) as exc:
            self.show_message(request_error_text(exc), error=True)
            self.save_button.setEnabled(True)
            return
        self.saved.emit(stored)
        self.accept()

