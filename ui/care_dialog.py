"""The team lead's editor of the care rules: business hours, response-time targets (SLA), priority keywords and
the out-of-hours reply."""

from __future__ import annotations

import copy
import functools
import re
import zoneinfo
from typing import Any, Awaitable, Callable

from PySide6.QtCore import QDate, QLocale, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QCompleter, QDateEdit, QFormLayout, QGridLayout, QGroupBox,
    QHBoxLayout, QHeaderView, QLabel, QLineEdit, QListWidget, QListWidgetItem, QPlainTextEdit, QPushButton,
    QSpinBox, QStackedWidget, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget,
)

from ui.case_types import priority_name
from ui.style import CHANNEL_COLOURS, channel_name
from ui.team_dialogs import _LoadingDialog, request_error_text
from ui.thread_model import fill
from workstation import protocol
from workstation.board import DASH
from workstation.errors import AuthError, NetworkError, ServerError

LoadCare = Callable[[], Awaitable[protocol.CarePublic]]
SaveCare = Callable[[protocol.CareSettings], Awaitable[protocol.CarePublic]]

ANY = protocol.ANY_CHANNEL
CHANNELS = tuple(CHANNEL_COLOURS)
LANGUAGES = ("es", "en")
PRIORITIES = ("low", "normal", "high", "urgent")
KEYWORD_LISTS = ("urgent", "high", "low", "negations")
# Limits the server checks too (services/teamserver/businesshours.py and priority.py): checked here first so
# the lead gets a sentence about the field instead of the server's refusal.
MAX_INTERVALS_PER_DAY = 12
MAX_TARGET_MINUTES = 366 * 24 * 60
MAX_KEYWORD_CHARS = 100
MAX_KEYWORDS_PER_LIST = 500
# The priority rules' numbers: (minimum, maximum, the server's default when the stored rules leave it out).
# A number is written back only when the lead changes it, so the server's own default stays in force otherwise.
PRIORITY_NUMBERS = {
    "vip_bump": (0, 3, 1),
    "public_bump": (0, 3, 1),
    "repeat_threshold": (0, 1000, 3),
    "repeat_window_minutes": (1, 7 * 24 * 60, 30),
    "negation_window": (0, 8, 3),
}

# "09:00–14:00, 15:00-18:00": intervals separated by commas or semicolons, any dash between start and end.
_SEPARATORS = re.compile(r"[,;]")
_INTERVAL = re.compile(r"^([^-–—]+?)\s*[-–—]\s*([^-–—]+)$")
_CLOCK = re.compile(r"^([0-9]{1,2}):([0-9]{2})$")
# The server's 422 reason is pydantic's error text: its error type, an echo of the input and a help link are
# no use to a lead.
_PYDANTIC_NOISE = (re.compile(r"\s*\[type=.*?input_type=\w+\]", re.DOTALL),
                   re.compile(r"\s*For further information visit \S+"))


class InputError(ValueError):
    """Input the dialog will not send: a sentence for the lead and the widget (and table row) to show."""

    def __init__(self, text: str, widget: QWidget, row: int | None = None) -> None:
        super().__init__(text)
        self.widget = widget
        self.row = row


def clock(text: str) -> str | None:
    """A time of day as "HH:MM" (00:00 to 24:00), or None when `text` is not one."""
    match = _CLOCK.match(text.strip())
    if match is None:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours > 24 or minutes > 59 or (hours == 24 and minutes):
        return None
    return f"{hours:02d}:{minutes:02d}"


def readable_reason(detail: str) -> str:
    """The server's reason for refusing the rules, on one line, without pydantic's machinery."""
    for pattern in _PYDANTIC_NOISE:
        detail = pattern.sub("", detail)
    return "; ".join(line.strip() for line in detail.splitlines() if line.strip())


@functools.cache
def zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def day_name(weekday: int) -> str:
    name = QLocale().dayName(weekday + 1, QLocale.FormatType.LongFormat)
    return name[:1].upper() + name[1:]  # "lunes" heads a line: "Lunes"


def holiday_date(item: Any) -> str:
    """The ISO date of a stored holiday: a bare date, or {date, name}."""
    return str(item.get("date", "")) if isinstance(item, dict) else str(item)


def hint_label(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    return label


def lines_of(text: str) -> list[str]:
    """One entry per line, trimmed; empty lines dropped and repeats kept once."""
    return list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))


# -- business hours ----------------------------------------------------------------------------------------------
class HoursEditor(QWidget):
    """One set of business hours (the team's default, or a channel's own): time zone, always open, the weekly
    intervals and the holidays, with what the server says about them now."""

    def __init__(self, key: str, title: str, raw: dict | None, now: protocol.HoursNow | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.title = title
        self.raw = raw  # as loaded; None: not in the stored settings

        self.state = QLabel(self)
        self.state.setObjectName("hoursNow")
        self.state.setTextFormat(Qt.TextFormat.PlainText)
        self.state.setWordWrap(True)
        self.timezone = QComboBox(self)
        self.timezone.setObjectName("timezone")
        self.timezone.setEditable(True)
        self.timezone.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        zones = sorted(zone_names())
        self.timezone.addItems(zones)
        completer = QCompleter(zones, self.timezone)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.timezone.setCompleter(completer)
        self.timezone.setAccessibleName(self.tr("Time zone"))
        self.always_open = QCheckBox(self.tr("Always open (24 hours, every day, no holidays)"), self)
        self.always_open.setObjectName("alwaysOpen")
        self.always_open.toggled.connect(self.on_always_open_toggled)

        self.weekly = QTableWidget(7, 1, self)
        self.weekly.setObjectName("weekly")
        self.weekly.setHorizontalHeaderLabels([self.tr("Open hours")])
        self.weekly.setVerticalHeaderLabels([day_name(d) for d in range(7)])
        self.weekly.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.weekly.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.weekly.setAccessibleName(self.tr("Weekly hours"))
        for day in range(7):
            self.weekly.setItem(day, 0, QTableWidgetItem())

        self.holidays = QListWidget(self)
        self.holidays.setObjectName("holidays")
        self.holidays.setAccessibleName(self.tr("Holidays"))
        self.holiday_date = QDateEdit(QDate.currentDate(), self)
        self.holiday_date.setObjectName("holidayDate")
        self.holiday_date.setCalendarPopup(True)
        self.holiday_date.setAccessibleName(self.tr("Holiday date"))
        self.add_holiday_button = QPushButton(self.tr("Add holiday"), self)
        self.add_holiday_button.setObjectName("addHoliday")
        self.remove_holiday_button = QPushButton(self.tr("Remove holiday"), self)
        self.remove_holiday_button.setObjectName("removeHoliday")
        self.add_holiday_button.clicked.connect(self.on_add_holiday_button_clicked)
        self.remove_holiday_button.clicked.connect(self.on_remove_holiday_button_clicked)

        form = QFormLayout()
        form.addRow(self.tr("Now"), self.state)
        form.addRow(self.tr("Time zone"), self.timezone)
        form.addRow(self.always_open)
        week_box = QGroupBox(self.tr("Every week"), self)
        week_layout = QVBoxLayout(week_box)
        week_layout.addWidget(self.weekly)
        week_layout.addWidget(hint_label(self.tr(
            "Write a day's open hours as 09:00–14:00, 15:00–18:00; leave the day empty when closed. An interval "
            "that ends before it starts runs past midnight; 00:00–24:00 is the whole day."), self))
        holiday_box = QGroupBox(self.tr("Holidays (closed all day)"), self)
        holiday_row = QHBoxLayout()
        holiday_row.addWidget(self.holiday_date, 1)
        holiday_row.addWidget(self.add_holiday_button)
        holiday_row.addWidget(self.remove_holiday_button)
        holiday_layout = QVBoxLayout(holiday_box)
        holiday_layout.addWidget(self.holidays)
        holiday_layout.addLayout(holiday_row)
        columns = QHBoxLayout()
        columns.addWidget(week_box, 3)
        columns.addWidget(holiday_box, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addLayout(columns)

        self.show_hours(raw or {})
        self.show_now(now)
        self.initial = self.draft()

    # -- showing ----------------------------------------------------------------------------------------------
    def show_hours(self, raw: dict) -> None:
        weekly = raw.get("weekly") or {}
        self.timezone.setCurrentText(str(raw.get("timezone") or "UTC"))
        self.always_open.setChecked(bool(raw.get("always_open", not weekly)))
        for day in range(7):
            intervals = weekly.get(str(day), weekly.get(day)) or []
            self.set_day(day, ", ".join(f"{start}{DASH}{end}" for start, end in intervals))
        self.holidays.clear()
        for item in raw.get("holidays") or []:
            self._add_holiday_item(item)
        self.on_always_open_toggled(self.always_open.isChecked())

    def copy_from(self, other: HoursEditor) -> None:
        """Starts from another set's hours as they are entered (a new channel's own hours from the team's)."""
        self.timezone.setCurrentText(other.timezone.currentText())
        self.always_open.setChecked(other.always_open.isChecked())
        for day in range(7):
            self.set_day(day, other.day_text(day))
        self.holidays.clear()
        for row in range(other.holidays.count()):
            self._add_holiday_item(copy.deepcopy(other.holidays.item(row).data(Qt.ItemDataRole.UserRole)))

    def show_now(self, now: protocol.HoursNow | None) -> None:
        if now is None:
            self.state.setText(self.tr("Not saved yet: the server shows its hours once saved."))
            return
        if now.next_change_at is None:
            state = self.tr("Open now") if now.open else self.tr("Closed now")
        else:
            at = QLocale().toString(now.next_change_at.astimezone(), QLocale.FormatType.ShortFormat)
            state = fill(self.tr("Open now; closes %1") if now.open else self.tr("Closed now; opens %1"), at)
        saved = fill(self.tr("As saved: %1"), now.description)
        self.state.setText(f"{state}\n{saved}")

    def day_text(self, weekday: int) -> str:
        return self.weekly.item(weekday, 0).text()

    def set_day(self, weekday: int, text: str) -> None:
        self.weekly.item(weekday, 0).setText(text)

    def holiday_dates(self) -> list[str]:
        return [holiday_date(self.holidays.item(r).data(Qt.ItemDataRole.UserRole)) for r in range(self.holidays.count())]

    def _add_holiday_item(self, raw: Any) -> None:
        iso = holiday_date(raw)
        day = QDate.fromString(iso, Qt.DateFormat.ISODate)
        text = QLocale().toString(day, QLocale.FormatType.LongFormat) if day.isValid() else iso
        name = raw.get("name") if isinstance(raw, dict) else None
        item = QListWidgetItem(f"{text} · {name}" if name else text)
        item.setData(Qt.ItemDataRole.UserRole, raw)
        row = sum(1 for other in self.holiday_dates() if other < iso)
        self.holidays.insertItem(row, item)

    def add_holiday(self, day: QDate) -> bool:
        """Adds a holiday on `day`; False when it is already there."""
        iso = day.toString(Qt.DateFormat.ISODate)
        if iso in self.holiday_dates():
            return False
        self._add_holiday_item(iso)  # a bare date: a holiday without a name
        return True

    def on_add_holiday_button_clicked(self) -> None:
        self.add_holiday(self.holiday_date.date())

    def on_remove_holiday_button_clicked(self) -> None:
        for item in self.holidays.selectedItems():
            self.holidays.takeItem(self.holidays.row(item))

    def on_always_open_toggled(self, checked: bool) -> None:
        for widget in (self.weekly, self.holidays, self.holiday_date, self.add_holiday_button,
                       self.remove_holiday_button):
            widget.setEnabled(not checked)

    # -- reading ----------------------------------------------------------------------------------------------
    def draft(self) -> tuple:
        """What is entered, to tell whether the lead changed anything."""
        holidays = tuple(repr(self.holidays.item(r).data(Qt.ItemDataRole.UserRole))
                         for r in range(self.holidays.count()))
        return (self.timezone.currentText().strip(), self.always_open.isChecked(),
                tuple(self.day_text(d) for d in range(7)), holidays)

    def changed(self) -> bool:
        return self.draft() != self.initial

    def value(self) -> dict:
        """The hours as the server takes them; raises InputError. Unchanged hours stay exactly as loaded."""
        if self.raw is not None and not self.changed():
            return copy.deepcopy(self.raw)
        zone = self.timezone.currentText().strip()
        if zone not in zone_names() and zone != (self.raw or {}).get("timezone"):
            raise InputError(fill(self.tr("%1: “%2” is not a time zone (for example Europe/Madrid)."),
                                  self.title, zone), self.timezone)
        out = copy.deepcopy(self.raw or {})
        out["timezone"] = zone
        out["always_open"] = self.always_open.isChecked()
        out["weekly"] = {}
        out["holidays"] = []
        if not self.always_open.isChecked():  # the server refuses weekly hours or holidays with always open
            for day in range(7):
                intervals = self._intervals(day)
                if intervals:
                    out["weekly"][str(day)] = intervals
            out["holidays"] = [copy.deepcopy(self.holidays.item(r).data(Qt.ItemDataRole.UserRole))
                               for r in range(self.holidays.count())]
        return out

    def _intervals(self, day: int) -> list[list[str]]:
        intervals = []
        for part in _SEPARATORS.split(self.day_text(day)):
            part = part.strip()
            if not part:
                continue
            match = _INTERVAL.match(part)
            if match is None:
                raise InputError(fill(self.tr("%1, %2: “%3” is not an interval: write it as 09:00–18:00."),
                                      self.title, day_name(day), part), self.weekly, day)
            start, end = clock(match.group(1)), clock(match.group(2))
            if start is None or end is None:
                raise InputError(fill(self.tr("%1, %2: “%3” is not a time of day (00:00 to 24:00)."),
                                      self.title, day_name(day), part), self.weekly, day)
            if start == "24:00":
                raise InputError(fill(self.tr("%1, %2: “%3” starts at 24:00; start the next day at 00:00 "
                                              "instead."), self.title, day_name(day), part), self.weekly, day)
            if start == end:
                raise InputError(fill(self.tr("%1, %2: “%3” starts and ends at the same time; for the whole "
                                              "day write 00:00–24:00."), self.title, day_name(day), part),
                                 self.weekly, day)
            intervals.append([start, end])
        if len(intervals) > MAX_INTERVALS_PER_DAY:
            raise InputError(fill(self.tr("%1, %2: at most %3 intervals a day."), self.title, day_name(day),
                                  str(MAX_INTERVALS_PER_DAY)), self.weekly, day)
        return sorted(intervals)


class HoursTab(QWidget):
    """The team's default hours and the channels with hours of their own."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sets = QListWidget(self)
        self.sets.setObjectName("hoursSets")
        self.sets.setAccessibleName(self.tr("Hours for"))
        self.pages = QStackedWidget(self)
        self.sets.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.sets.currentRowChanged.connect(self.on_sets_current_row_changed)
        self.new_channel = QComboBox(self)
        self.new_channel.setObjectName("newHoursChannel")
        self.new_channel.setAccessibleName(self.tr("Channel"))
        self.add_button = QPushButton(self.tr("Add hours for a channel"), self)
        self.add_button.setObjectName("addChannelHours")
        self.remove_button = QPushButton(self.tr("Remove the channel's hours"), self)
        self.remove_button.setObjectName("removeChannelHours")
        self.add_button.clicked.connect(self.on_add_button_clicked)
        self.remove_button.clicked.connect(self.on_remove_button_clicked)

        side = QVBoxLayout()
        side.addWidget(self.sets, 1)
        side.addWidget(self.new_channel)
        side.addWidget(self.add_button)
        side.addWidget(self.remove_button)
        side.addWidget(hint_label(self.tr("A channel without hours of its own uses the team's."), self))
        layout = QHBoxLayout(self)
        layout.addLayout(side, 1)
        layout.addWidget(self.pages, 4)

    def title(self, key: str) -> str:
        return self.tr("Team (all channels)") if key == ANY else channel_name(key)

    def show_settings(self, hours: dict[str, dict], now: dict[str, protocol.HoursNow]) -> None:
        self.sets.clear()
        while self.pages.count():
            page = self.pages.widget(0)
            self.pages.removeWidget(page)
            page.deleteLater()
        others = sorted(k for k in hours if k != ANY and k not in CHANNELS)
        for key in [ANY] + [c for c in CHANNELS if c in hours] + others:
            self._add(key, hours.get(key), now.get(key))
        self.sets.setCurrentRow(0)
        self._fill_new_channels()

    def _add(self, key: str, raw: dict | None, now: protocol.HoursNow | None) -> HoursEditor:
        editor = HoursEditor(key, self.title(key), copy.deepcopy(raw) if raw is not None else None, now, self)
        editor.setObjectName(f"hours_{key}")
        item = QListWidgetItem(self.title(key))
        item.setData(Qt.ItemDataRole.UserRole, key)
        self.sets.addItem(item)
        self.pages.addWidget(editor)
        return editor

    def _fill_new_channels(self) -> None:
        self.new_channel.clear()
        for channel in CHANNELS:
            if channel not in self.keys():
                self.new_channel.addItem(channel_name(channel), channel)
        self.add_button.setEnabled(self.new_channel.count() > 0)

    def keys(self) -> list[str]:
        return [self.sets.item(r).data(Qt.ItemDataRole.UserRole) for r in range(self.sets.count())]

    def editor(self, key: str) -> HoursEditor | None:
        keys = self.keys()
        return self.pages.widget(keys.index(key)) if key in keys else None

    def select(self, key: str) -> None:
        self.sets.setCurrentRow(self.keys().index(key))

    def add_channel(self, channel: str) -> HoursEditor:
        """Gives `channel` hours of its own, starting from the team's as entered, and shows them."""
        editor = self.editor(channel)
        if editor is None:
            editor = self._add(channel, None, None)
            editor.copy_from(self.editor(ANY))
            self._fill_new_channels()
        self.select(channel)
        return editor

    def remove_channel(self, channel: str) -> None:
        if channel == ANY or channel not in self.keys():
            return
        row = self.keys().index(channel)
        self.sets.takeItem(row)
        page = self.pages.widget(row)
        self.pages.removeWidget(page)
        page.deleteLater()
        self._fill_new_channels()

    def on_add_button_clicked(self) -> None:
        if self.new_channel.currentData():
            self.add_channel(self.new_channel.currentData())

    def on_remove_button_clicked(self) -> None:
        item = self.sets.currentItem()
        if item is not None:
            self.remove_channel(item.data(Qt.ItemDataRole.UserRole))

    def on_sets_current_row_changed(self, row: int) -> None:
        self.remove_button.setEnabled(row > 0)

    def value(self) -> dict[str, dict]:
        out = {}
        for key in self.keys():
            editor = self.editor(key)
            if editor.raw is None and not editor.changed() and key == ANY:
                continue  # no stored team hours and none entered: the server's default (always open) stays
            out[key] = editor.value()
        return out

    def reveal(self, widget: QWidget) -> None:
        for key in self.keys():
            if self.editor(key).isAncestorOf(widget):
                self.select(key)


# -- response times -------------------------------------------------------------------------------------------------
class SlaTab(QWidget):
    """The response-time targets per channel and priority, and whether they count in business hours."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.raw: dict = {}
        self.initial: tuple = ()
        self.table = QTableWidget(0, 4, self)
        self.table.setObjectName("slaTargets")
        self.table.setHorizontalHeaderLabels([self.tr("Channel"), self.tr("Priority"),
                                              self.tr("First response"), self.tr("Next response")])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAccessibleName(self.tr("Response-time targets"))
        self.add_button = QPushButton(self.tr("Add target"), self)
        self.add_button.setObjectName("addTarget")
        self.remove_button = QPushButton(self.tr("Remove target"), self)
        self.remove_button.setObjectName("removeTarget")
        self.add_button.clicked.connect(self.on_add_button_clicked)
        self.remove_button.clicked.connect(self.on_remove_button_clicked)
        self.business_hours = QCheckBox(self.tr("Count the targets in business hours only (closed time does "
                                                "not count)"), self)
        self.business_hours.setObjectName("slaBusinessHours")
        self.built_in = hint_label(self.tr("The team has no targets of its own yet: the server's built-in targets "
                                           "apply. Targets you add here replace all of them."), self)
        self.built_in.setObjectName("slaBuiltIn")
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.built_in)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.business_hours)
        layout.addWidget(hint_label(self.tr(
            "Targets are in minutes; “None” sets no clock of that kind. For a conversation the most specific "
            "row wins: its channel and priority, then all channels with its priority, then its channel with any "
            "priority, then all channels with any priority."), self))

    def show_settings(self, sla: dict) -> None:
        self.raw = copy.deepcopy(sla)
        self.table.setRowCount(0)
        for target in sla.get("targets") or []:
            self.add_target(str(target.get("channel", ANY)), str(target.get("priority", ANY)),
                            target.get("first_response_minutes"), target.get("next_response_minutes"))
        self.business_hours.setChecked(bool(sla.get("business_hours", True)))
        self.built_in.setVisible("targets" not in sla)
        self.initial = self.draft()

    def _combo(self, choices: list[tuple[str, str]], current: str, name: str) -> QComboBox:
        combo = QComboBox(self.table)
        if current not in {key for key, _ in choices}:
            choices = choices + [(current, current)]  # one this version does not know: kept as it is
        for key, label in choices:
            combo.addItem(label, key)
        combo.setCurrentIndex(combo.findData(current))
        combo.setAccessibleName(name)
        return combo

    def _minutes(self, value: Any, name: str) -> QSpinBox:
        spin = QSpinBox(self.table)
        spin.setRange(0, MAX_TARGET_MINUTES)
        spin.setSpecialValueText(self.tr("None"))
        spin.setSuffix(self.tr(" min"))
        spin.setValue(value if isinstance(value, int) else 0)
        spin.setAccessibleName(name)
        return spin

    def add_target(self, channel: str = ANY, priority: str = ANY, first: int | None = None,
                   next_: int | None = None) -> int:
        row = self.table.rowCount()
        self.table.insertRow(row)
        channels = [(ANY, self.tr("All channels"))] + [(c, channel_name(c)) for c in CHANNELS]
        priorities = [(ANY, self.tr("Any priority"))] + [(p, priority_name(p)) for p in PRIORITIES]
        self.table.setCellWidget(row, 0, self._combo(channels, channel, self.tr("Channel")))
        self.table.setCellWidget(row, 1, self._combo(priorities, priority, self.tr("Priority")))
        self.table.setCellWidget(row, 2, self._minutes(first, self.tr("First response")))
        self.table.setCellWidget(row, 3, self._minutes(next_, self.tr("Next response")))
        return row

    def target(self, row: int) -> dict:
        first, next_ = self.table.cellWidget(row, 2).value(), self.table.cellWidget(row, 3).value()
        return {"channel": self.table.cellWidget(row, 0).currentData(),
                "priority": self.table.cellWidget(row, 1).currentData(),
                "first_response_minutes": first or None, "next_response_minutes": next_ or None}

    def targets(self) -> list[dict]:
        return [self.target(row) for row in range(self.table.rowCount())]

    def on_add_button_clicked(self) -> None:
        used = {(t["channel"], t["priority"]) for t in self.targets()}
        free = next(((c, p) for c in (ANY, *CHANNELS) for p in (ANY, *PRIORITIES) if (c, p) not in used), (ANY, ANY))
        row = self.add_target(*free)
        self.table.selectRow(row)

    def on_remove_button_clicked(self) -> None:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()}
                      or {self.table.rowCount() - 1}, reverse=True)
        for row in rows:
            if row >= 0:
                self.table.removeRow(row)

    def draft(self) -> tuple:
        return tuple(tuple(t.values()) for t in self.targets()), self.business_hours.isChecked()

    def value(self) -> dict:
        """The SLA policy as the server takes it; raises InputError. Unchanged, it stays exactly as loaded."""
        if self.draft() == self.initial:
            return copy.deepcopy(self.raw)
        targets = self.targets()
        seen: set[tuple[str, str]] = set()
        for row, target in enumerate(targets):
            key = (target["channel"], target["priority"])
            if key in seen:
                raise InputError(fill(self.tr("Two targets for %1 with %2: keep one."),
                                      self.table.cellWidget(row, 0).currentText(),
                                      self.table.cellWidget(row, 1).currentText()), self.table, row)
            seen.add(key)
        out = copy.deepcopy(self.raw)
        if targets or "targets" in self.raw:
            out["targets"] = targets
        if "business_hours" in self.raw or not self.business_hours.isChecked():
            out["business_hours"] = self.business_hours.isChecked()
        return out


# -- priority -----------------------------------------------------------------------------------------------------
class PriorityTab(QWidget):
    """The keyword lists and negation words per language, and the bumps that raise a priority."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.raw: dict = {}
        self.initial_lists: dict[tuple[str, str], str] = {}
        self.initial_numbers: dict[str, int] = {}
        self.built_in = hint_label(self.tr("The server's built-in keyword lists are in use. Lists you write here "
                                           "replace them, for both languages."), self)
        self.built_in.setObjectName("priorityBuiltIn")
        self.languages = QTabWidget(self)
        self.languages.setObjectName("priorityLanguages")
        self.lists: dict[tuple[str, str], QPlainTextEdit] = {}
        titles = {"urgent": priority_name("urgent"), "high": priority_name("high"), "low": priority_name("low"),
                  "negations": self.tr("Negations (a keyword shortly after one does not count)")}
        names = {"es": self.tr("Spanish"), "en": self.tr("English")}
        for language in LANGUAGES:
            page = QWidget(self.languages)
            grid = QGridLayout(page)
            for index, kind in enumerate(KEYWORD_LISTS):
                edit = QPlainTextEdit(page)
                edit.setObjectName(f"keywords_{language}_{kind}")
                edit.setAccessibleName(f"{titles[kind]} ({names[language]})")
                edit.setTabChangesFocus(True)
                box = QVBoxLayout()
                box.addWidget(QLabel(titles[kind], page))
                box.addWidget(edit)
                grid.addLayout(box, index // 2, index % 2)
                self.lists[(language, kind)] = edit
            self.languages.addTab(page, names[language])

        self.numbers: dict[str, QSpinBox] = {}
        labels = {
            "vip_bump": self.tr("Levels added for a VIP customer"),
            "public_bump": self.tr("Levels added for a public post"),
            "repeat_threshold": self.tr("Unanswered messages from a customer that raise the priority"),
            "repeat_window_minutes": self.tr("… when they come within"),
            "negation_window": self.tr("A negation counts up to this many words before a keyword"),
        }
        form = QFormLayout()
        for key, (low, high, _default) in PRIORITY_NUMBERS.items():
            spin = QSpinBox(self)
            spin.setObjectName(key)
            spin.setRange(low, high)
            form.addRow(labels[key], spin)
            self.numbers[key] = spin
        for key in ("vip_bump", "public_bump"):
            self.numbers[key].setSpecialValueText(self.tr("None"))
        self.numbers["repeat_threshold"].setSpecialValueText(self.tr("Never"))
        self.numbers["repeat_window_minutes"].setSuffix(self.tr(" min"))
        self.numbers["negation_window"].setSuffix(self.tr(" words"))

        layout = QVBoxLayout(self)
        layout.addWidget(self.built_in)
        layout.addWidget(self.languages, 1)
        layout.addWidget(hint_label(self.tr(
            "One keyword or phrase per line; capitals and accents do not matter. A word ending in * matches every "
            "word that starts with it (at least three letters before *). The strongest level found wins."), self))
        layout.addLayout(form)

    def _language_key(self, languages: dict, language: str) -> str:
        """The stored key of `language` (the server reads codes in any case)."""
        return next((k for k in languages if str(k).lower() == language), language)

    def show_settings(self, priority: dict) -> None:
        self.raw = copy.deepcopy(priority)
        languages = priority.get("languages") or {}
        for (language, kind), edit in self.lists.items():
            rules = languages.get(self._language_key(languages, language)) or {}
            edit.setPlainText("\n".join(str(k) for k in rules.get(kind) or []))
        for key, spin in self.numbers.items():
            value = priority.get(key, PRIORITY_NUMBERS[key][2])
            spin.setValue(value if isinstance(value, int) else PRIORITY_NUMBERS[key][2])
        self.built_in.setVisible("languages" not in priority)
        self.initial_lists = {key: edit.toPlainText() for key, edit in self.lists.items()}
        self.initial_numbers = {key: spin.value() for key, spin in self.numbers.items()}

    def keywords(self, language: str, kind: str) -> list[str]:
        return lines_of(self.lists[(language, kind)].toPlainText())

    def value(self) -> dict:
        """The priority rules as the server takes them; raises InputError. Lists and numbers the lead did not
        change stay exactly as loaded."""
        out = copy.deepcopy(self.raw)
        changed = [key for key, edit in self.lists.items() if edit.toPlainText() != self.initial_lists[key]]
        if changed:
            languages = out.setdefault("languages", {})
            for language, kind in changed:
                words = self._checked(language, kind)
                key = self._language_key(languages, language)
                languages[key] = {**(languages.get(key) or {}), kind: words}
        for key, spin in self.numbers.items():
            if spin.value() != self.initial_numbers[key]:
                out[key] = spin.value()
        return out

    def _checked(self, language: str, kind: str) -> list[str]:
        edit = self.lists[(language, kind)]
        words = self.keywords(language, kind)
        for word in words:
            if len(word) > MAX_KEYWORD_CHARS:
                raise InputError(fill(self.tr("%1: “%2…” is longer than %3 characters."), edit.accessibleName(),
                                      word[:30], str(MAX_KEYWORD_CHARS)), edit)
        if len(words) > MAX_KEYWORDS_PER_LIST:
            raise InputError(fill(self.tr("%1: at most %2 lines."), edit.accessibleName(),
                                  str(MAX_KEYWORDS_PER_LIST)), edit)
        return words


# -- out of hours ---------------------------------------------------------------------------------------------------
class AutoReplyTab(QWidget):
    """The out-of-hours reply per language, and how long a resolved conversation can reopen."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.raw = protocol.AutoReply()
        self.enabled = QCheckBox(self.tr("Answer customers who write while the team is closed"), self)
        self.enabled.setObjectName("autoReplyEnabled")
        self.texts: dict[str, QPlainTextEdit] = {}
        self.alternatives: dict[str, QLineEdit] = {}
        self.initial: dict[tuple[str, str], str] = {}
        layout = QVBoxLayout(self)
        layout.addWidget(self.enabled)
        layout.addWidget(hint_label(self.tr(
            "The server puts the business hours of the customer's channel in place of {hours}, and the "
            "alternative below in place of {alternative}. It answers once per conversation each time the "
            "team is closed."), self))
        names = {"es": self.tr("Spanish"), "en": self.tr("English")}
        for language in LANGUAGES:
            box = QGroupBox(names[language], self)
            text = QPlainTextEdit(box)
            text.setObjectName(f"autoReplyText_{language}")
            text.setTabChangesFocus(True)
            text.setAccessibleName(fill(self.tr("Reply (%1)"), names[language]))
            alternative = QLineEdit(box)
            alternative.setObjectName(f"autoReplyAlternative_{language}")
            alternative.setAccessibleName(fill(self.tr("Alternative (%1)"), names[language]))
            alternative.setPlaceholderText(self.tr("For example: call us on 900 123 456 (24 h)"))
            form = QFormLayout(box)
            form.addRow(self.tr("Reply"), text)
            form.addRow(self.tr("Alternative"), alternative)
            layout.addWidget(box, 1)
            self.texts[language] = text
            self.alternatives[language] = alternative
        self.reopen_days = QSpinBox(self)
        self.reopen_days.setObjectName("reopenDays")
        self.reopen_days.setRange(0, 365)
        self.reopen_days.setSuffix(self.tr(" days"))
        self.reopen_days.setSpecialValueText(self.tr("Never: always a new conversation"))
        reopen = QFormLayout()
        reopen.addRow(self.tr("A customer's message reopens a resolved conversation within"), self.reopen_days)
        layout.addLayout(reopen)

    def show_settings(self, auto_reply: protocol.AutoReply, reopen_days: int) -> None:
        self.raw = auto_reply.model_copy(deep=True)
        self.enabled.setChecked(auto_reply.enabled)
        for language in LANGUAGES:
            self.texts[language].setPlainText(auto_reply.text.get(language, ""))
            self.alternatives[language].setText(auto_reply.alternative.get(language, ""))
        self.reopen_days.setValue(reopen_days)
        self.initial = self._draft()

    def _draft(self) -> dict[tuple[str, str], str]:
        draft = {("text", lang): edit.toPlainText() for lang, edit in self.texts.items()}
        draft.update({("alternative", lang): edit.text() for lang, edit in self.alternatives.items()})
        return draft

    def value(self) -> dict:
        """The out-of-hours reply (as JSON); texts the lead did not touch, and other languages', stay as loaded."""
        out = self.raw.model_dump(mode="json")
        out["enabled"] = self.enabled.isChecked()
        for (field, language), text in self._draft().items():
            if text != self.initial[(field, language)]:
                out[field][language] = text
        return out


class CsatTab(QWidget):
    """The satisfaction survey sent when a conversation is resolved: on or off, the question and the thanks per
    language, and how long an answer counts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.raw = protocol.CsatSettings()
        self.enabled = QCheckBox(self.tr("Ask the customer to rate the help when a conversation is resolved"), self)
        self.enabled.setObjectName("csatEnabled")
        self.questions: dict[str, QPlainTextEdit] = {}
        self.thanks: dict[str, QLineEdit] = {}
        self.initial: dict[tuple[str, str], str] = {}
        layout = QVBoxLayout(self)
        layout.addWidget(self.enabled)
        layout.addWidget(hint_label(self.tr(
            "One question on the customer's channel, in their language, only in private conversations and while "
            "the channel lets us write to them. An answer from 1 to 5 is recorded against the conversation and "
            "the agent, thanked, and does not reopen the conversation."), self))
        names = {"es": self.tr("Spanish"), "en": self.tr("English")}
        for language in LANGUAGES:
            box = QGroupBox(names[language], self)
            question = QPlainTextEdit(box)
            question.setObjectName(f"csatQuestion_{language}")
            question.setTabChangesFocus(True)
            question.setAccessibleName(fill(self.tr("Question (%1)"), names[language]))
            thanks = QLineEdit(box)
            thanks.setObjectName(f"csatThanks_{language}")
            thanks.setAccessibleName(fill(self.tr("Thanks (%1)"), names[language]))
            form = QFormLayout(box)
            form.addRow(self.tr("Question"), question)
            form.addRow(self.tr("Thanks"), thanks)
            layout.addWidget(box, 1)
            self.questions[language] = question
            self.thanks[language] = thanks
        self.answer_hours = QSpinBox(self)
        self.answer_hours.setObjectName("csatAnswerHours")
        self.answer_hours.setRange(1, 30 * 24)
        self.answer_hours.setSuffix(self.tr(" h"))
        hours = QFormLayout()
        hours.addRow(self.tr("An answer counts if it comes within"), self.answer_hours)
        layout.addLayout(hours)

    def show_settings(self, csat: protocol.CsatSettings) -> None:
        self.raw = csat.model_copy(deep=True)
        self.enabled.setChecked(csat.enabled)
        for language in LANGUAGES:
            self.questions[language].setPlainText(csat.question.get(language, ""))
            self.thanks[language].setText(csat.thanks.get(language, ""))
        self.answer_hours.setValue(csat.answer_hours)
        self.initial = self._draft()

    def _draft(self) -> dict[tuple[str, str], str]:
        draft = {("question", lang): edit.toPlainText() for lang, edit in self.questions.items()}
        draft.update({("thanks", lang): edit.text() for lang, edit in self.thanks.items()})
        return draft

    def value(self) -> dict:
        """The survey settings (as JSON); texts the lead did not touch, and other languages', stay as loaded."""
        out = self.raw.model_dump(mode="json")
        out["enabled"] = self.enabled.isChecked()
        out["answer_hours"] = self.answer_hours.value()
        for (field, language), text in self._draft().items():
            if text != self.initial[(field, language)]:
                if not text.strip():
                    raise InputError(self.tr("The survey's texts cannot be empty."),
                                     self.questions[language] if field == "question" else self.thanks[language])
                out[field][language] = text
        return out


# -- the dialog -----------------------------------------------------------------------------------------------------
class CareDialog(_LoadingDialog):
    """The team's care rules, in four tabs: business hours, response times (SLA), priority and the out-of-hours
    reply. Loads the current rules, then saves them all at once; what the dialog does not show is sent back as
    it was loaded. Input it can check is checked before sending; the server's refusal (422) shows its reason
    and the dialog stays open."""

    saved = Signal(object)  # protocol.CarePublic as the server stored it

    def __init__(self, load: LoadCare, save: SaveCare, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("careDialog")
        self.setWindowTitle(self.tr("Care rules"))
        self._load, self._save = load, save
        self.loaded: protocol.CarePublic | None = None

        self.hours = HoursTab(self)
        self.sla = SlaTab(self)
        self.priority = PriorityTab(self)
        self.auto_reply = AutoReplyTab(self)
        self.csat = CsatTab(self)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("careTabs")
        self.tabs.addTab(self.hours, self.tr("Business hours"))
        self.tabs.addTab(self.sla, self.tr("Response times"))
        self.tabs.addTab(self.priority, self.tr("Priority"))
        self.tabs.addTab(self.auto_reply, self.tr("Out of hours"))
        self.tabs.addTab(self.csat, self.tr("Satisfaction survey"))
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self._set_editable(False)
        self.resize(940, 680)

    def _set_editable(self, editable: bool) -> None:
        self.tabs.setEnabled(editable)
        self.save_button.setEnabled(editable)

    def show_settings(self, care: protocol.CarePublic) -> None:
        self.loaded = care
        settings = care.settings
        self.hours.show_settings(settings.hours, care.hours_now)
        self.sla.show_settings(settings.sla)
        self.priority.show_settings(settings.priority)
        self.auto_reply.show_settings(settings.auto_reply, settings.reopen_days)
        self.csat.show_settings(settings.csat)

    def value(self) -> protocol.CareSettings:
        """The rules as entered, everything the dialog does not show as loaded; raises InputError."""
        data = self.loaded.settings.model_dump(mode="json")
        data["hours"] = self.hours.value()
        data["sla"] = self.sla.value()
        data["priority"] = self.priority.value()
        data["auto_reply"] = self.auto_reply.value()
        data["reopen_days"] = self.auto_reply.reopen_days.value()
        data["csat"] = self.csat.value()
        return protocol.CareSettings.model_validate(data)

    def reveal(self, widget: QWidget, row: int | None = None) -> None:
        """Brings `widget` into view (its tab, its set of hours, its row) and gives it the focus."""
        child, parent = widget, widget.parentWidget()
        while parent is not None and child is not self:
            owner = parent.parentWidget()
            if isinstance(parent, QStackedWidget) and isinstance(owner, QTabWidget):
                owner.setCurrentWidget(child)
            child, parent = parent, owner
        self.hours.reveal(widget)
        if row is not None and isinstance(widget, QTableWidget):
            widget.setCurrentCell(row, 0)
        widget.setFocus(Qt.FocusReason.OtherFocusReason)

    def submit(self) -> None:
        if self.busy() or self.loaded is None:
            return
        try:
            settings = self.value()
        except InputError as exc:
            self.show_message(str(exc), error=True)
            self.reveal(exc.widget, exc.row)
            return
        self.save_button.setEnabled(False)
        self.show_message(self.tr("Saving…"), error=False)
        self._start(self._write(settings))

    async def _write(self, settings: protocol.CareSettings) -> None:
        try:
            stored = await self._save(settings)
        except (NetworkError, AuthError, ServerError) as exc:
            if isinstance(exc, ServerError) and exc.status_code == 422:
                exc = ServerError(422, readable_reason(exc.detail))
            self.show_message(request_error_text(exc), error=True)
            self.save_button.setEnabled(True)
            return
        self.loaded = stored
        self.saved.emit(stored)
        self.accept()


def open_care_dialog(main_window) -> CareDialog | None:
    """Opens (or brings to the front) the care rules editor of this main window, on its workspace's server and in
    its interface language (the server describes the hours in it). Leads only: None for an agent, whose changes
    the server would refuse."""
    if not main_window.is_lead:
        return None
    dialog = next((d for d in main_window.findChildren(CareDialog) if d.isVisible()), None)
    if dialog is None:
        api, language = main_window.workspace.api, main_window.language
        dialog = CareDialog(lambda: api.care(language), lambda settings: api.set_care(settings, language),
                            main_window)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
    dialog.raise_()
    dialog.activateWindow()
    return dialog
