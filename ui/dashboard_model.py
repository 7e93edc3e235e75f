"""The dashboard's figures in words and tables: number formats, date ranges, the KPI tables and their CSV."""

from __future__ import annotations

import csv
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QAbstractTableModel, QLocale, QModelIndex, QObject, QPersistentModelIndex, Qt, QTimeZone
from PySide6.QtGui import QFont

from ui.style import channel_name
from ui.thread_model import fill
from workstation import protocol

# What a table cell holds for the CSV: plain numbers ("." decimals, durations in minutes, shares in
# percent, no currency sign), so a spreadsheet can add them up; the header names the unit.
CsvRole = Qt.ItemDataRole.UserRole + 1
RowKeyRole = Qt.ItemDataRole.UserRole + 2

PRESETS = ("today", "7d", "30d", "month", "custom")
ALL = "all"
DASH = "–"
CURRENCY_SIGNS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹", "BRL": "R$", "MXN": "MX$"}


def local_zone_name(preferred: str | None = None) -> str:
    """The zone the dashboard's hours and days are in: the agent's own (when one was set: the default is
    "UTC"), else the computer's, else UTC."""
    candidates = [preferred] if preferred and preferred != "UTC" else []
    candidates.append(bytes(QTimeZone.systemTimeZoneId().data()).decode(errors="replace"))
    for name in candidates:
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue
        return name
    return "UTC"


def preset_range(preset: str, now: datetime, zone: str,
                 custom: tuple[date, date] | None = None) -> tuple[datetime, datetime]:
    """[start, end) of a preset in `zone`, as aware datetimes at local midnights: "today", "7d" and "30d"
    (that many calendar days, today included), "month" (the 1st until the end of today), "custom" (the two
    dates, both included)."""
    tz = zoneinfo.ZoneInfo(zone)
    today = now.astimezone(tz).date()

    def midnight(day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=tz)

    tomorrow = midnight(today + timedelta(days=1))
    if preset == "today":
        return midnight(today), tomorrow
    if preset == "7d":
        return midnight(today - timedelta(days=6)), tomorrow
    if preset == "30d":
        return midnight(today - timedelta(days=29)), tomorrow
    if preset == "month":
        return midnight(today.replace(day=1)), tomorrow
    if preset == "custom":
        first, last = custom if custom is not None else (today, today)
        first, last = min(first, last), max(first, last)
        return midnight(first), midnight(last + timedelta(days=1))
    raise ValueError(f"unknown range {preset!r}")


class KpiFormat(QObject):
    """Figures in the user's language: durations ("4 min", "1 h 20 min"), shares, money and counts."""

    def __init__(self, language: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.locale = QLocale(language) if language else QLocale()

    def count(self, value: int | None) -> str:
        return DASH if value is None else self.locale.toString(int(value))

    def decimal(self, value: float | None, digits: int = 1) -> str:
        return DASH if value is None else self.locale.toString(float(value), "f", digits)

    def duration(self, seconds: float | None) -> str:
        if seconds is None:
            return DASH
        seconds = max(0.0, float(seconds))
        if seconds < 59.5:
            return fill(self.tr("%1 s"), str(round(seconds)))
        minutes = round(seconds / 60)
        if minutes < 60:
            return fill(self.tr("%1 min"), str(minutes))
        hours, minutes = divmod(minutes, 60)
        if hours < 24:
            if minutes == 0:
                return fill(self.tr("%1 h"), str(hours))
            return fill(self.tr("%1 h %2 min"), str(hours), str(minutes))
        days, hours = divmod(hours, 24)
        if hours == 0:
            return fill(self.tr("%1 d"), str(days))
        return fill(self.tr("%1 d %2 h"), str(days), str(hours))

    def percent(self, ratio: float | None) -> str:
        if ratio is None:
            return DASH
        return fill(self.tr("%1%"), self.locale.toString(float(ratio) * 100, "f", 1))

    def money(self, value: float | None, currency: str) -> str:
        if value is None:
            return DASH
        return self.locale.toCurrencyString(float(value), CURRENCY_SIGNS.get(currency.upper(), currency), 2)

    def day(self, value: date) -> str:
        # "24 Nov 2026": short, unambiguous in every language (a short format would say "11/24/26").
        return self.locale.toString(value, "d MMM yyyy")

    def range_text(self, start: datetime, end: datetime) -> str:
        """The days of [start, end): "5/1/25" for one day, "5/1/25 – 5/7/25" for several."""
        first, last = start.date(), (end - timedelta(microseconds=1)).date()
        if last <= first:
            return self.day(first)
        return fill(self.tr("%1 – %2"), self.day(first), self.day(last))


def csv_number(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def csv_minutes(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 60:.1f}"


def csv_percent(ratio: float | None) -> str:
    return "" if ratio is None else f"{ratio * 100:.1f}"


@dataclass(frozen=True)
class Column:
    header: str
    csv_header: str
    display: Callable[[object], str]
    csv: Callable[[object], str]
    numeric: bool = True


class _ReportTableModel(QAbstractTableModel):
    """A read-only table of report rows, each column shown formatted and exported as a plain number."""

    def __init__(self, fmt: KpiFormat, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fmt = fmt
        self._rows: list = []
        self._columns: list[Column] = []

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._columns)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self._columns):
            return None
        column = self._columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.header
        if role == CsvRole:
            return column.csv_header
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int((Qt.AlignmentFlag.AlignRight if column.numeric else Qt.AlignmentFlag.AlignLeft)
                       | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row, column = self._rows[index.row()], self._columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.display(row)
        if role == CsvRole:
            return column.csv(row)
        if role == RowKeyRole:
            return self.key_of(row)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int((Qt.AlignmentFlag.AlignRight if column.numeric else Qt.AlignmentFlag.AlignLeft)
                       | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and self.key_of(row) == ALL:
            font = QFont()
            font.setBold(True)
            return font
        return None

    def key_of(self, row) -> str:
        raise NotImplementedError

    def rows(self) -> list:
        return list(self._rows)

    def _set(self, rows: list, columns: list[Column]) -> None:
        self.beginResetModel()
        self._rows, self._columns = list(rows), columns
        self.endResetModel()

    def headers(self, role: int = Qt.ItemDataRole.DisplayRole) -> list[str]:
        return [self.headerData(c, Qt.Orientation.Horizontal, role) for c in range(self.columnCount())]

    def table(self, role: int = Qt.ItemDataRole.DisplayRole) -> list[list[str]]:
        """Every row's cells in `role` (DisplayRole: as shown; CsvRole: as exported)."""
        return [[self.index(r, c).data(role) for c in range(self.columnCount())] for r in range(self.rowCount())]

    def write_csv(self, path: Path) -> None:
        # UTF-8 with a byte-order mark: spreadsheets then read accents and currency signs right.
        with open(path, "w", newline="", encoding="utf-8-sig") as f:
            writer = csv.writer(f)
            writer.writerow(self.headers(CsvRole))
            writer.writerows(self.table(CsvRole))


class KpiTableModel(_ReportTableModel):
    """The report by channel (with the totals row last) or by agent."""

    def __init__(self, kind: str, fmt: KpiFormat, parent: QObject | None = None) -> None:
        super().__init__(fmt, parent)
        self.kind = kind  # "channel" or "agent"

    @staticmethod
    def key_of(row: protocol.KpiRow) -> str:
        return row.key

    def label(self, row: protocol.KpiRow) -> str:
        if row.key == ALL:
            return self.tr("All channels") if self.kind == "channel" else self.tr("Everyone")
        if self.kind == "channel":
            return channel_name(row.key)
        return row.label or fill(self.tr("Agent %1"), row.key)

    def columns(self) -> list[Column]:
        f = self.fmt
        first = self.tr("Channel") if self.kind == "channel" else self.tr("Agent")
        return [
            Column(first, first, self.label, self.label, numeric=False),
            Column(self.tr("Conversations"), self.tr("Conversations"),
                   lambda r: f.count(r.conversations), lambda r: csv_number(r.conversations)),
            Column(self.tr("Customer\nmessages"), self.tr("Customer messages"),
                   lambda r: f.count(r.inbound), lambda r: csv_number(r.inbound)),
            Column(self.tr("Replies"), self.tr("Replies"),
                   lambda r: f.count(r.outbound), lambda r: csv_number(r.outbound)),
            Column(self.tr("Resolved"), self.tr("Resolved"),
                   lambda r: f.count(r.resolved), lambda r: csv_number(r.resolved)),
            Column(self.tr("First response\nmedian"), self.tr("First response median (min)"),
                   lambda r: f.duration(r.first_response.median), lambda r: csv_minutes(r.first_response.median)),
            Column(self.tr("First response\n90th percentile"), self.tr("First response p90 (min)"),
                   lambda r: f.duration(r.first_response.p90), lambda r: csv_minutes(r.first_response.p90)),
            Column(self.tr("Next response\nmedian"), self.tr("Next response median (min)"),
                   lambda r: f.duration(r.next_response.median), lambda r: csv_minutes(r.next_response.median)),
            Column(self.tr("Resolution\nmedian"), self.tr("Resolution median (min)"),
                   lambda r: f.duration(r.resolution.median), lambda r: csv_minutes(r.resolution.median)),
            Column(self.tr("SLA\ncompliance"), self.tr("SLA compliance (%)"),
                   lambda r: f.percent(r.sla_compliance), lambda r: csv_percent(r.sla_compliance)),
            Column(self.tr("CSAT"), self.tr("CSAT average (1-5)"),
                   lambda r: f.decimal(r.csat_average), lambda r: csv_number(r.csat_average, 2)),
            Column(self.tr("CSAT\nanswers"), self.tr("CSAT answers"),
                   lambda r: f.count(r.csat_count), lambda r: csv_number(r.csat_count)),
            Column(self.tr("Reopen\nrate"), self.tr("Reopen rate (%)"),
                   lambda r: f.percent(r.reopen_rate), lambda r: csv_percent(r.reopen_rate)),
        ]

    def set_report(self, report: protocol.KpiReport | None) -> None:
        if report is None:
            rows = []
        elif self.kind == "channel":
            rows = list(report.by_channel) + [report.totals.model_copy(update={"key": ALL})]
        else:
            rows = list(report.by_agent)
        self._set(rows, self.columns())


class CostTableModel(_ReportTableModel):
    """Cost per channel (the report's "all" row last): agent time, its cost, and the phone contacts it saves."""

    def __init__(self, fmt: KpiFormat, parent: QObject | None = None) -> None:
        super().__init__(fmt, parent)
        self.currency = protocol.CostSettings().currency

    @staticmethod
    def key_of(row: protocol.CostRow) -> str:
        return row.channel

    def label(self, row: protocol.CostRow) -> str:
        return self.tr("All channels") if row.channel == ALL else channel_name(row.channel)

    def columns(self) -> list[Column]:
        f, currency = self.fmt, self.currency
        money = lambda v: f.money(v, currency)  # noqa: E731
        return [
            Column(self.tr("Channel"), self.tr("Channel"), self.label, self.label, numeric=False),
            Column(self.tr("Resolved"), self.tr("Resolved"),
                   lambda r: f.count(r.resolved), lambda r: csv_number(r.resolved)),
            Column(self.tr("Replies"), self.tr("Replies"),
                   lambda r: f.count(r.replies), lambda r: csv_number(r.replies)),
            Column(self.tr("Agent\nhours"), self.tr("Agent hours"),
                   lambda r: f.decimal(r.agent_hours), lambda r: csv_number(float(r.agent_hours), 2)),
            Column(self.tr("Cost"), fill(self.tr("Cost (%1)"), currency),
                   lambda r: money(r.cost), lambda r: csv_number(float(r.cost), 2)),
            Column(self.tr("Cost per\nresolved"), fill(self.tr("Cost per resolved (%1)"), currency),
                   lambda r: money(r.cost_per_resolved), lambda r: csv_number(r.cost_per_resolved, 2)),
            Column(self.tr("Phone\nbaseline"), fill(self.tr("Phone baseline (%1)"), currency),
                   lambda r: money(r.phone_baseline), lambda r: csv_number(float(r.phone_baseline), 2)),
            Column(self.tr("Saving vs\nphone"), fill(self.tr("Saving vs phone (%1)"), currency),
                   lambda r: money(r.saving), lambda r: csv_number(float(r.saving), 2)),
            Column(self.tr("Return\non cost"), self.tr("Return on cost (%)"),
                   lambda r: f.percent(r.roi), lambda r: csv_percent(r.roi)),
        ]

    def set_report(self, report: protocol.KpiReport | None) -> None:
        self.currency = report.cost_settings.currency if report is not None else self.currency
        rows = list(report.cost) if report is not None else []
        # The report lists the channels, then "all": keep the totals last whatever the order.
        rows.sort(key=lambda r: r.channel == ALL)
        self._set(rows, self.columns())
