"""The dashboard: the team's (a lead's) or one's own (an agent's) response times, SLA, CSAT, backlog and cost
for a date range, as cards, charts and tables, with CSV and PDF export.

Everything on it comes from one `KpiReport` (GET /v1/kpis), so a card, a chart and a table row never disagree.
The window reads it through a `load` coroutine it is given, not through the API client, so tests hand it a
report of their own. It reloads every minute while shown; offline it says so and keeps the last figures.
"""

from __future__ import annotations

import asyncio
import logging
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Awaitable, Callable

from pydantic import ValidationError
from PySide6.QtCore import QDate, QLocale, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QFont, QHideEvent, QPalette, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QDateEdit, QDoubleSpinBox, QFileDialog, QFormLayout, QFrame, QGridLayout,
    QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QScrollArea, QSizePolicy, QSpinBox,
    QTableView, QVBoxLayout, QWidget,
)

from ui import crash
from ui.case_types import CASE_TYPES, case_type_label
from ui.dashboard_charts import BAR, HBAR, PIE, ChartSpec, chart_view, fill_chart
from ui.dashboard_model import (
    ALL, PRESETS, CostTableModel, KpiFormat, KpiTableModel, local_zone_name, preset_range,
)
from ui.dashboard_pdf import CardText, DashboardPdf, TableText
from ui.style import CHANNEL_COLOURS, FAILED, channel_name
from ui.team_dialogs import request_error_text
from ui.thread_model import fill
from workstation import protocol
from workstation.errors import AuthError, NetworkError, ServerError

log = logging.getLogger(__name__)

LoadReport = Callable[[datetime, datetime, str, "str | None", "int | None"], Awaitable[protocol.KpiReport]]
SaveCostSettings = Callable[[protocol.CostSettings], Awaitable[protocol.CostSettings]]
LoadAgents = Callable[[], Awaitable[dict[int, str]]]

REFRESH_MS = 60_000
LEAD_ROLES = ("lead", "admin")
SENTIMENTS = ("negative", "neutral", "positive")
SENTIMENT_COLOURS = {"negative": "#C62828", "neutral": "#9CA3AF", "positive": "#2E7D32"}
AGE_BUCKETS = ("<1h", "1-4h", "4-24h", "1-3d", ">3d")
WIDE_CHARTS = {"chart_volume_by_hour"}


@dataclass
class CardData:
    key: str
    title: str
    value: str
    detail: str
    tooltip: str = ""


def empty_report(zone: str = "UTC") -> protocol.KpiReport:
    now = datetime.now(timezone.utc)
    return protocol.KpiReport(start=now, end=now, timezone=zone, totals=protocol.KpiRow(key=ALL, label=""))


def _padded(values: list[int], size: int) -> list[int]:
    return (list(values) + [0] * size)[:size]


class KpiCard(QFrame):
    """One figure: what it is, the figure, and a line of detail."""

    def __init__(self, key: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.setObjectName(f"card_{key}")
        self.setProperty("kpiCard", True)
        self.title = QLabel(self)
        self.value = QLabel(self)
        self.detail = QLabel(self)
        for label in (self.title, self.value, self.detail):
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setWordWrap(True)
        self.title.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.detail.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        font = QFont(self.value.font())
        font.setPointSizeF(font.pointSizeF() * 1.7)
        font.setBold(True)
        self.value.setFont(font)
        self.value.setObjectName("cardValue")
        self.detail.setObjectName("cardDetail")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.value)
        layout.addWidget(self.detail)
        layout.addStretch(1)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)

    def show_data(self, data: CardData) -> None:
        self.title.setText(data.title)
        self.value.setText(data.value)
        self.detail.setText(data.detail)
        self.setToolTip(data.tooltip)
        self.setAccessibleName(f"{data.title}: {data.value}. {data.detail}")


class CostModelEditor(QGroupBox):
    """Leads: the cost model behind the cost figures. Saves through `save` (PUT /v1/kpis/cost-settings)."""

    saved = Signal(object)  # protocol.CostSettings as the server stored them

    def __init__(self, save: SaveCostSettings, fmt: KpiFormat, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("costModelEditor")
        self.setTitle(self.tr("Cost model"))
        self._save = save
        self._task: asyncio.Task | None = None
        self.dirty = False
        self.currency = QLineEdit(self)
        self.currency.setObjectName("costCurrency")
        self.currency.setMaxLength(8)
        self.currency.setMaximumWidth(90)
        self.currency.setToolTip(self.tr("A currency code such as EUR or USD"))
        self.agent_cost = self._spin("costAgentPerHour", 0, 10_000, 2)
        self.handle_minutes = self._spin("costHandleMinutes", 0.1, 600, 1)
        self.handle_minutes.setSuffix(self.tr(" min"))
        self.phone_cost = self._spin("costPhonePerContact", 0, 10_000, 2)
        self.deflection = QSpinBox(self)
        self.deflection.setObjectName("costDeflection")
        self.deflection.setRange(0, 100)
        self.deflection.setSuffix(self.tr(" %"))
        self.deflection.setToolTip(self.tr("Of the resolved conversations, how many would otherwise have been a "
                                           "phone call"))
        for spin in (self.agent_cost, self.handle_minutes, self.phone_cost, self.deflection):
            spin.setLocale(fmt.locale)
            spin.valueChanged.connect(self.on_field_edited)
        self.currency.textEdited.connect(self.on_field_edited)
        form = QFormLayout()
        form.addRow(self.tr("Currency"), self.currency)
        form.addRow(self.tr("Agent cost per hour"), self.agent_cost)
        form.addRow(self.tr("Agent time per reply"), self.handle_minutes)
        form.addRow(self.tr("Cost of a phone contact"), self.phone_cost)
        form.addRow(self.tr("Share that would have called"), self.deflection)
        self.save_button = QPushButton(self.tr("Save cost model"), self)
        self.save_button.setObjectName("saveCostModel")
        self.save_button.clicked.connect(self.submit)
        self.message = QLabel(self)
        self.message.setObjectName("costModelMessage")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.message, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)

    def _spin(self, name: str, low: float, high: float, decimals: int) -> QDoubleSpinBox:
        spin = QDoubleSpinBox(self)
        spin.setObjectName(name)
        spin.setRange(low, high)
        spin.setDecimals(decimals)
        spin.setMinimumWidth(110)
        return spin

    def on_field_edited(self, *_args) -> None:
        self.dirty = True

    def show_settings(self, settings: protocol.CostSettings, *, force: bool = False) -> None:
        """Shows the stored model, unless the lead is in the middle of changing it."""
        if self.dirty and not force:
            return
        for widget in (self.agent_cost, self.handle_minutes, self.phone_cost, self.deflection):
            widget.blockSignals(True)
        self.currency.setText(settings.currency)
        self.agent_cost.setValue(settings.agent_cost_per_hour)
        self.handle_minutes.setValue(settings.handle_minutes_per_reply)
        self.phone_cost.setValue(settings.phone_cost_per_contact)
        self.deflection.setValue(round(settings.call_deflection * 100))
        for widget in (self.agent_cost, self.handle_minutes, self.phone_cost, self.deflection):
            widget.blockSignals(False)
        self.dirty = False

    def settings(self) -> protocol.CostSettings:
        """What the fields say; raises ValidationError."""
        return protocol.CostSettings(
            currency=self.currency.text().strip().upper(),
            agent_cost_per_hour=self.agent_cost.value(),
            handle_minutes_per_reply=self.handle_minutes.value(),
            phone_cost_per_contact=self.phone_cost.value(),
            call_deflection=self.deflection.value() / 100,
        )

    def show_message(self, text: str, *, error: bool) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {FAILED.name()};" if error else "")

    def submit(self) -> None:
        try:
            body = self.settings()
        except ValidationError:
            self.show_message(self.tr("Write a currency code (up to 8 letters)."), error=True)
            return
        if self._task is not None and not self._task.done():
            return
        self.save_button.setEnabled(False)
        self.show_message(self.tr("Saving…"), error=False)
        self._task = asyncio.ensure_future(self._submit(body))
        self._task.add_done_callback(_report_crash)

    async def _submit(self, body: protocol.CostSettings) -> None:
        try:
            stored = await self._save(body)
        except (NetworkError, AuthError, ServerError) as exc:
            self.dirty = True  # still the lead's: a reload must not overwrite it
            self.show_message(request_error_text(exc), error=True)
            return
        finally:
            self.save_button.setEnabled(True)
        self.dirty = False
        self.show_settings(stored, force=True)
        self.show_message(self.tr("Saved. The cost figures now use this model."), error=False)
        self.saved.emit(stored)

    def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()


def _report_crash(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        exc = task.exception()
        crash.report(type(exc), exc, exc.__traceback__, context=f"dashboard task {task.get_name()}")


def _table_view(parent: QWidget, name: str, title: str) -> QTableView:
    view = QTableView(parent)
    view.setObjectName(name)
    view.setAccessibleName(title)
    view.verticalHeader().hide()
    view.setAlternatingRowColors(True)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    view.setSizeAdjustPolicy(QAbstractItemView.SizeAdjustPolicy.AdjustIgnored)
    view.horizontalHeader().setHighlightSections(False)
    view.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return view


class DashboardWindow(QWidget):
    """The dashboard, as a window of its own."""

    report_shown = Signal(object)  # protocol.KpiReport now on screen
    load_failed = Signal(str)  # the sentence shown

    def __init__(self, load: LoadReport, *, is_lead: bool, agents: dict[int, str] | None = None,
                 language: str | None = None, timezone_name: str | None = None,
                 save_cost_settings: SaveCostSettings | None = None, load_agents: LoadAgents | None = None,
                 now: Callable[[], datetime] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("dashboard")
        self.setWindowTitle(self.tr("Dashboard"))
        self._load = load
        self._load_agents = load_agents
        self.is_lead = is_lead
        self.timezone_name = timezone_name or local_zone_name()
        self._now = now or (lambda: datetime.now(timezone.utc))
        self.fmt = KpiFormat(language, self)
        self.report: protocol.KpiReport | None = None
        self.loaded_at: datetime | None = None
        self.closing = False
        self._tasks: dict[str, asyncio.Task] = {}
        self.agents: dict[int, str] = {}
        self.resize(1240, 900)

        # -- controls --------------------------------------------------------------------------------------
        title = QLabel(self.tr("Dashboard"), self)
        title_font = QFont(title.font())
        title_font.setBold(True)
        title_font.setPointSizeF(title_font.pointSizeF() * 1.15)
        title.setFont(title_font)
        self.range_combo = QComboBox(self)
        self.range_combo.setObjectName("rangeCombo")
        self.range_combo.setAccessibleName(self.tr("Date range"))
        names = {"today": self.tr("Today"), "7d": self.tr("Last 7 days"), "30d": self.tr("Last 30 days"),
                 "month": self.tr("This month"), "custom": self.tr("Custom range")}
        for preset in PRESETS:
            self.range_combo.addItem(names[preset], preset)
        self.range_combo.setCurrentIndex(PRESETS.index("7d"))
        today = self._now().astimezone(self._zone()).date()
        self.from_edit = self._date_edit("fromDate", self.tr("From"), today - timedelta(days=6))
        self.to_edit = self._date_edit("toDate", self.tr("To"), today)
        self.channel_combo = QComboBox(self)
        self.channel_combo.setObjectName("channelCombo")
        self.channel_combo.setAccessibleName(self.tr("Channel"))
        self.channel_combo.addItem(self.tr("All channels"), None)
        for channel in CHANNEL_COLOURS:
            self.channel_combo.addItem(channel_name(channel), channel)
        self.agent_combo = QComboBox(self)
        self.agent_combo.setObjectName("agentCombo")
        self.agent_combo.setAccessibleName(self.tr("Agent"))
        self.agent_combo.addItem(self.tr("Everyone"), None)
        self.agent_combo.setMinimumContentsLength(12)
        self.refresh_button = QPushButton(self.tr("Refresh"), self)
        self.refresh_button.setObjectName("refreshButton")
        self.csv_button = QPushButton(self.tr("Export CSV…"), self)
        self.csv_button.setObjectName("exportCsvButton")
        self.csv_button.setToolTip(self.tr("One CSV file per table, in a folder you choose"))
        self.pdf_button = QPushButton(self.tr("Export PDF…"), self)
        self.pdf_button.setObjectName("exportPdfButton")
        self.pdf_button.setToolTip(self.tr("The whole dashboard on A4 pages, to print or send"))
        controls = QHBoxLayout()
        controls.addWidget(title)
        controls.addSpacing(12)
        controls.addWidget(self.range_combo)
        controls.addWidget(self.from_edit)
        controls.addWidget(self.to_edit)
        controls.addWidget(self.channel_combo)
        controls.addWidget(self.agent_combo)
        controls.addStretch(1)
        controls.addWidget(self.refresh_button)
        controls.addWidget(self.csv_button)
        controls.addWidget(self.pdf_button)

        self.status = QLabel(self)  # the range, the zone and when the figures were read
        self.status.setObjectName("dashboardStatus")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.notice = QLabel(self)  # offline, refused, exported…
        self.notice.setObjectName("dashboardNotice")
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setWordWrap(True)
        self.notice.hide()

        # -- the figures -----------------------------------------------------------------------------------
        content = QWidget(self)
        content.setObjectName("dashboardContent")
        self.content = content
        self.cards: dict[str, KpiCard] = {}
        cards_grid = QGridLayout()
        cards_grid.setSpacing(10)
        placeholder = empty_report(self.timezone_name)
        for i, data in enumerate(self.card_data(placeholder)):
            card = KpiCard(data.key, content)
            card.show_data(data)
            self.cards[data.key] = card
            cards_grid.addWidget(card, i // 5, i % 5)
        for column in range(5):
            cards_grid.setColumnStretch(column, 1)

        self.charts = {}
        charts_grid = QGridLayout()
        charts_grid.setSpacing(10)
        slot = 0
        for spec in self.chart_specs(placeholder):
            view = chart_view(spec, content)
            self.charts[spec.name] = view
            if spec.name in WIDE_CHARTS:
                slot += (-slot) % 3
                charts_grid.addWidget(view, slot // 3, 0, 1, 3)
                slot += 3
            else:
                charts_grid.addWidget(view, slot // 3, slot % 3)
                slot += 1
        for column in range(3):
            charts_grid.setColumnStretch(column, 1)

        self.channel_model = KpiTableModel("channel", self.fmt, self)
        self.agent_model = KpiTableModel("agent", self.fmt, self)
        self.cost_model = CostTableModel(self.fmt, self)
        self.channel_title = self._section_title(content, self.tr("By channel"))
        self.channel_view = _table_view(content, "byChannelTable", self.tr("By channel"))
        self.channel_view.setModel(self.channel_model)
        self.agent_title = self._section_title(content, self.tr("By agent"))
        self.agent_view = _table_view(content, "byAgentTable", self.tr("By agent"))
        self.agent_view.setModel(self.agent_model)
        self.cost_title = self._section_title(content, self.tr("Cost per channel"))
        self.cost_view = _table_view(content, "costTable", self.tr("Cost per channel"))
        self.cost_view.setModel(self.cost_model)
        self.cost_note = QLabel(content)
        self.cost_note.setObjectName("costNote")
        self.cost_note.setTextFormat(Qt.TextFormat.PlainText)
        self.cost_note.setWordWrap(True)
        self.cost_note.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.cost_editor = CostModelEditor(save_cost_settings, self.fmt, content) \
            if is_lead and save_cost_settings is not None else None

        body = QVBoxLayout(content)
        body.setContentsMargins(0, 0, 4, 0)
        body.setSpacing(8)
        body.addLayout(cards_grid)
        body.addSpacing(6)
        body.addLayout(charts_grid)
        body.addSpacing(6)
        body.addWidget(self.channel_title)
        body.addWidget(self.channel_view)
        self.agent_gap = QWidget(content)
        self.agent_gap.setFixedHeight(8)
        body.addWidget(self.agent_gap)
        body.addWidget(self.agent_title)
        body.addWidget(self.agent_view)
        body.addSpacing(8)
        body.addWidget(self.cost_title)
        body.addWidget(self.cost_view)
        body.addWidget(self.cost_note)
        if self.cost_editor is not None:
            editor_row = QHBoxLayout()
            editor_row.addWidget(self.cost_editor)
            editor_row.addStretch(1)
            body.addLayout(editor_row)
        body.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setObjectName("dashboardScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        self.scroll = scroll

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.addLayout(controls)
        layout.addWidget(self.status)
        layout.addWidget(self.notice)
        layout.addWidget(scroll, 1)
        self.setStyleSheet(
            "QFrame[kpiCard=\"true\"] { border: 1px solid #D9DEE5; border-radius: 6px; background: palette(base); }")

        for widget in (self.agent_gap, self.agent_title, self.agent_view, self.agent_combo):
            widget.setVisible(is_lead)
        self.set_agents(agents or {})

        self._tick = QTimer(self)
        self._tick.setInterval(REFRESH_MS)
        self._tick.timeout.connect(self.on_tick_timeout)
        self.range_combo.currentIndexChanged.connect(self.on_range_combo_changed)
        self.from_edit.dateChanged.connect(self.on_from_edit_date_changed)
        self.to_edit.dateChanged.connect(self.on_to_edit_date_changed)
        self.channel_combo.currentIndexChanged.connect(self.refresh)
        self.agent_combo.currentIndexChanged.connect(self.refresh)
        self.refresh_button.clicked.connect(self.refresh)
        self.csv_button.clicked.connect(self.choose_csv_folder)
        self.pdf_button.clicked.connect(self.choose_pdf_file)
        if self.cost_editor is not None:
            self.cost_editor.saved.connect(self.on_cost_editor_saved)
        self._show_range_controls()
        self._set_exportable(False)
        self._show_status()
        self._fit_tables()

    # -- building ----------------------------------------------------------------------------------------
    def _date_edit(self, name: str, accessible: str, day: date) -> QDateEdit:
        edit = QDateEdit(QDate(day.year, day.month, day.day), self)
        edit.setObjectName(name)
        edit.setAccessibleName(accessible)
        edit.setCalendarPopup(True)
        edit.setLocale(self.fmt.locale)
        edit.setDisplayFormat(self.fmt.locale.dateFormat(QLocale.FormatType.ShortFormat))
        return edit

    @staticmethod
    def _section_title(parent: QWidget, text: str) -> QLabel:
        label = QLabel(text, parent)
        label.setTextFormat(Qt.TextFormat.PlainText)
        font = QFont(label.font())
        font.setBold(True)
        label.setFont(font)
        return label

    def _zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone_name)

    def set_agents(self, agents: dict[int, str]) -> None:
        """The agents a lead can pick (the selection stays on the same agent)."""
        self.agents.update(agents)
        current = self.agent_combo.currentData()
        self.agent_combo.blockSignals(True)
        while self.agent_combo.count() > 1:
            self.agent_combo.removeItem(1)
        for agent_id, name in sorted(self.agents.items(), key=lambda kv: kv[1].casefold()):
            self.agent_combo.addItem(name, agent_id)
        index = self.agent_combo.findData(current)
        self.agent_combo.setCurrentIndex(max(0, index))
        self.agent_combo.blockSignals(False)

    # -- what the report says, in words -------------------------------------------------------------------
    def _total_cost(self, report: protocol.KpiReport) -> protocol.CostRow | None:
        return next((row for row in report.cost if row.channel == ALL), None)

    def card_data(self, report: protocol.KpiReport) -> list[CardData]:
        f, t, b = self.fmt, report.totals, report.backlog
        currency = report.cost_settings.currency
        cost = self._total_cost(report)
        csat = fill(self.tr("%1 / 5"), f.decimal(t.csat_average)) if t.csat_average is not None else f.decimal(None)
        return [
            CardData("conversations", self.tr("Conversations"), f.count(t.conversations),
                     fill(self.tr("%1 customer messages · %2 replies"), f.count(t.inbound), f.count(t.outbound)),
                     self.tr("Conversations with a customer message in the range")),
            CardData("first_response", self.tr("First response (median)"), f.duration(t.first_response.median),
                     fill(self.tr("90% within %1"), f.duration(t.first_response.p90)),
                     self.tr("Time to the first reply, counted in business hours")),
            CardData("next_response", self.tr("Next response (median)"), f.duration(t.next_response.median),
                     fill(self.tr("90% within %1"), f.duration(t.next_response.p90)),
                     self.tr("Time to answer each later customer message, counted in business hours")),
            CardData("resolution", self.tr("Resolution (median)"), f.duration(t.resolution.median),
                     fill(self.tr("%1 resolved"), f.count(t.resolved)),
                     self.tr("From the first message to resolved, in clock time")),
            CardData("sla", self.tr("SLA compliance"), f.percent(t.sla_compliance),
                     fill(self.tr("%1 of %2 responses on target"), f.count(t.sla_met), f.count(t.sla_total))),
            CardData("csat", self.tr("Customer satisfaction"), csat,
                     fill(self.tr("%1 answers · %2 surveys sent"), f.count(t.csat_count), f.count(t.csat_sent))),
            CardData("reopen", self.tr("Reopen rate"), f.percent(t.reopen_rate),
                     fill(self.tr("%1 of %2 resolved had been reopened"), f.count(t.reopened), f.count(t.resolved))),
            CardData("backlog", self.tr("Backlog now"), fill(self.tr("%1 open"), f.count(b.open)),
                     fill(self.tr("%1 waiting · %2 past target · oldest wait %3"), f.count(b.waiting),
                          f.count(b.breached), f.duration(b.oldest_wait_seconds)),
                     self.tr("Open conversations now, whatever the date range")),
            CardData("cost", self.tr("Cost per resolved conversation"),
                     f.money(cost.cost_per_resolved if cost else None, currency),
                     fill(self.tr("%1 of agent time in all"), f.money(cost.cost if cost else None, currency))),
            CardData("saving", self.tr("Saving vs phone"), f.money(cost.saving if cost else None, currency),
                     fill(self.tr("Phone would have cost %1 · return %2"),
                          f.money(cost.phone_baseline if cost else None, currency),
                          f.percent(cost.roi if cost else None))),
        ]

    def chart_specs(self, report: protocol.KpiReport) -> list[ChartSpec]:
        f = self.fmt
        none = self.tr("no data")

        def shares(names: list[str], values: list[int]) -> list[str]:
            total = sum(values)
            return [fill(self.tr("%1 %2"), n, f.percent(v / total if total else None)) for n, v in zip(names, values)]

        def ordered(counts: dict[str, int], order: tuple[str, ...]) -> list[str]:
            return [k for k in order if k in counts] + sorted(k for k in counts if k not in order)

        weekdays = [f.locale.dayName(day, QLocale.FormatType.ShortFormat) for day in range(1, 8)]
        channels = [row.key for row in report.by_channel]
        channel_values = [row.inbound for row in report.by_channel]
        channel_names = [channel_name(c) for c in channels]
        # Horizontal bars run bottom-up: reversed, the list reads top-down in the usual order.
        case_keys = list(reversed(ordered(report.case_types, CASE_TYPES + ("",))))
        sentiment_keys = ordered(report.sentiment, SENTIMENTS)
        sentiment_names = {"negative": self.tr("Negative"), "neutral": self.tr("Neutral"),
                           "positive": self.tr("Positive")}
        sentiment_labels = [sentiment_names.get(k, k) for k in sentiment_keys]
        sentiment_values = [report.sentiment[k] for k in sentiment_keys]
        age_names = {"<1h": self.tr("< 1 h"), "1-4h": self.tr("1–4 h"), "4-24h": self.tr("4–24 h"),
                     "1-3d": self.tr("1–3 d"), ">3d": self.tr("> 3 d")}
        age_keys = list(AGE_BUCKETS) + sorted(k for k in report.backlog.age if k not in AGE_BUCKETS)
        return [
            ChartSpec("chart_volume_by_hour", fill(self.tr("Customer messages by hour (%1)"), report.timezone),
                      BAR, [str(h) for h in range(24)], _padded(report.volume_by_hour, 24),
                      empty_text=none, value_labels=False),
            ChartSpec("chart_volume_by_weekday", self.tr("Customer messages by weekday"), BAR, weekdays,
                      _padded(report.volume_by_weekday, 7), empty_text=none),
            ChartSpec("chart_volume_by_channel", self.tr("Customer messages by channel"), PIE, channel_names,
                      channel_values, colours=[CHANNEL_COLOURS.get(c, "#888888") for c in channels],
                      slice_labels=shares(channel_names, channel_values),
                      value_texts=[f.count(v) for v in channel_values], empty_text=none),
            ChartSpec("chart_case_types", self.tr("Resolved by case type"), HBAR,
                      [case_type_label(k) or self.tr("No case type") for k in case_keys],
                      [report.case_types[k] for k in case_keys], empty_text=none),
            ChartSpec("chart_sentiment", self.tr("Sentiment of customer messages"), PIE, sentiment_labels,
                      sentiment_values, colours=[SENTIMENT_COLOURS.get(k, "#888888") for k in sentiment_keys],
                      slice_labels=shares(sentiment_labels, sentiment_values),
                      value_texts=[f.count(v) for v in sentiment_values], empty_text=none),
            ChartSpec("chart_csat", self.tr("Satisfaction answers by score"), BAR, [str(s) for s in range(1, 6)],
                      [report.csat_scores.get(str(s), 0) for s in range(1, 6)], empty_text=none),
            ChartSpec("chart_backlog_age", self.tr("Backlog by waiting time (now)"), BAR,
                      [age_names.get(k, k) for k in age_keys], [report.backlog.age.get(k, 0) for k in age_keys],
                      empty_text=self.tr("nobody waiting")),
        ]

    def filters_text(self) -> str:
        parts = [self.channel_combo.currentText()]
        if self.is_lead:
            parts.append(self.agent_combo.currentText())
        return " · ".join(parts)

    # -- range and filters --------------------------------------------------------------------------------
    def current_range(self) -> tuple[datetime, datetime]:
        preset = self.range_combo.currentData()
        custom = (self.from_edit.date().toPython(), self.to_edit.date().toPython())
        return preset_range(preset, self._now(), self.timezone_name, custom)

    def current_channel(self) -> str | None:
        return self.channel_combo.currentData()

    def current_agent(self) -> int | None:
        return self.agent_combo.currentData() if self.is_lead else None

    def _show_range_controls(self) -> None:
        custom = self.range_combo.currentData() == "custom"
        self.from_edit.setVisible(custom)
        self.to_edit.setVisible(custom)

    def on_range_combo_changed(self, _index: int) -> None:
        self._show_range_controls()
        self.refresh()

    def on_from_edit_date_changed(self, day: QDate) -> None:
        if day > self.to_edit.date():
            self.to_edit.setDate(day)  # refreshes through its own signal
        else:
            self.refresh()

    def on_to_edit_date_changed(self, day: QDate) -> None:
        if day < self.from_edit.date():
            self.from_edit.setDate(day)
        else:
            self.refresh()

    # -- life --------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Reads the agents' names (leads) and the figures."""
        if self.is_lead and self._load_agents is not None:
            self._run("agents", self._read_agents())
        self.refresh()

    def refresh(self, *_args) -> None:
        if not self.closing:
            self._run("report", self._read_report())

    def on_tick_timeout(self) -> None:
        if self.isVisible():
            self.refresh()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        self._tick.start()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 (Qt override)
        self._tick.stop()
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        self.closing = True
        self._tick.stop()
        for task in self._tasks.values():
            task.cancel()
        if self.cost_editor is not None:
            self.cost_editor.cancel()
        super().closeEvent(event)

    def _run(self, name: str, coro) -> None:
        old = self._tasks.get(name)
        if old is not None and not old.done():
            old.cancel()
        task = asyncio.ensure_future(coro)
        task.set_name(f"dashboard-{name}")
        self._tasks[name] = task
        task.add_done_callback(_report_crash)

    async def _read_agents(self) -> None:
        try:
            agents = await self._load_agents()
        except Exception as exc:  # the cache is closing: the names from the report are enough
            log.info("agent names not read for the dashboard: %s", exc)
            return
        if not self.closing:
            self.set_agents(agents)

    async def _read_report(self) -> None:
        start, end = self.current_range()
        self._show_status(loading=True)
        try:
            report = await self._load(start, end, self.timezone_name, self.current_channel(), self.current_agent())
        except (NetworkError, AuthError, ServerError) as exc:
            if self.closing:
                return
            self._show_status()
            self.show_failure(exc)
            return
        if self.closing:
            return
        self.show_report(report)

    def show_failure(self, exc: Exception) -> None:
        if isinstance(exc, NetworkError):
            if self.report is not None and self.loaded_at is not None:
                when = self.fmt.locale.toString(self.loaded_at.astimezone(self._zone()).time(),
                                                QLocale.FormatType.ShortFormat)
                text = fill(self.tr("You are offline: these are the figures as of %1."), when)
            else:
                text = self.tr("You are offline: the figures load once you are connected again.")
        else:
            text = request_error_text(exc)
        self.show_notice(text, error=True)
        self.load_failed.emit(text)

    def show_notice(self, text: str, *, error: bool) -> None:
        self.notice.setText(text)
        self.notice.setStyleSheet(f"color: {FAILED.name()};" if error else "")
        self.notice.setVisible(bool(text))

    def _show_status(self, *, loading: bool = False) -> None:
        start, end = self.current_range()
        parts = [self.fmt.range_text(start, end), fill(self.tr("times in %1"), self.timezone_name)]
        if loading:
            parts.append(self.tr("loading…"))
        elif self.loaded_at is not None:
            when = self.fmt.locale.toString(self.loaded_at.astimezone(self._zone()).time(),
                                            QLocale.FormatType.ShortFormat)
            parts.append(fill(self.tr("updated %1"), when))
        if not self.is_lead:
            parts.append(self.tr("your own figures"))
        self.status.setText(" · ".join(parts))

    def _set_exportable(self, exportable: bool) -> None:
        self.csv_button.setEnabled(exportable)
        self.pdf_button.setEnabled(exportable)

    # -- showing -----------------------------------------------------------------------------------------
    def show_report(self, report: protocol.KpiReport) -> None:
        self.report = report
        self.loaded_at = self._now()
        for data in self.card_data(report):
            self.cards[data.key].show_data(data)
        for spec in self.chart_specs(report):
            view = self.charts[spec.name]
            fill_chart(view.chart(), spec)
            view.setAccessibleName(spec.title)
        for model in (self.channel_model, self.agent_model, self.cost_model):
            model.set_report(report)
        if self.is_lead:
            self.set_agents({int(row.key): row.label for row in report.by_agent
                             if row.key.isdigit() and row.label and int(row.key) not in self.agents})
        s = report.cost_settings
        self.cost_note.setText(fill(
            self.tr("Cost model: %1 an agent hour, %2 of agent time per reply, %3 a phone contact; %4 of resolved "
                    "conversations would otherwise have called."),
            self.fmt.money(s.agent_cost_per_hour, s.currency), self.fmt.duration(s.handle_minutes_per_reply * 60),
            self.fmt.money(s.phone_cost_per_contact, s.currency), self.fmt.percent(s.call_deflection)))
        if self.cost_editor is not None:
            self.cost_editor.show_settings(s)
        self._fit_tables()
        self._set_exportable(True)
        self.show_notice("", error=False)
        self._show_status()
        self.report_shown.emit(report)

    def _fit_tables(self) -> None:
        """Tables as big as their cells: the page scrolls, not each table."""
        for view in (self.channel_view, self.agent_view, self.cost_view):
            view.resizeColumnsToContents()
            header = view.horizontalHeader()
            for column in range(header.count()):
                view.setColumnWidth(column, view.columnWidth(column) + 12)
            frame = 2 * view.frameWidth()
            rows = view.model().rowCount()
            height = header.sizeHint().height() + frame
            height += sum(view.rowHeight(r) for r in range(rows)) if rows else view.verticalHeader().defaultSectionSize()
            view.setMaximumWidth(header.length() + frame)
            if header.length() + frame > self.content.width() > 0:
                height += view.horizontalScrollBar().sizeHint().height()
            view.setFixedHeight(height)

    def on_cost_editor_saved(self, _settings: protocol.CostSettings) -> None:
        self.refresh()

    # -- export ------------------------------------------------------------------------------------------
    def tables(self) -> list[tuple[str, str, KpiTableModel | CostTableModel]]:
        """(file name stem, title, model) of every table on show."""
        tables = [("kpis-by-channel", self.tr("By channel"), self.channel_model)]
        if self.is_lead:
            tables.append(("kpis-by-agent", self.tr("By agent"), self.agent_model))
        tables.append(("cost-per-channel", self.tr("Cost per channel"), self.cost_model))
        return tables

    def _file_suffix(self) -> str:
        report = self.report
        zone = self._zone()
        first = report.start.astimezone(zone).date()
        last = (report.end.astimezone(zone) - timedelta(microseconds=1)).date()
        return f"{first.isoformat()}_{max(first, last).isoformat()}"

    def export_csv(self, folder: Path) -> list[Path]:
        """Writes one CSV per table into `folder`; returns the files. Raises OSError."""
        if self.report is None:
            return []
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for stem, _title, model in self.tables():
            path = folder / f"{stem}_{self._file_suffix()}.csv"
            model.write_csv(path)
            written.append(path)
        return written

    def export_pdf(self, path: Path) -> int:
        """Writes the dashboard as an A4 PDF; returns its number of pages. Raises OSError."""
        if self.report is None:
            return 0
        start, end = self.report.start, self.report.end
        subtitle = " · ".join([self.fmt.range_text(start.astimezone(self._zone()), end.astimezone(self._zone())),
                               fill(self.tr("times in %1"), self.report.timezone), self.filters_text()])
        if self.loaded_at is not None:
            local = self.loaded_at.astimezone(self._zone())
            subtitle += " · " + fill(self.tr("figures as of %1"), f"{self.fmt.day(local.date())} "
                                     f"{self.fmt.locale.toString(local.time(), QLocale.FormatType.ShortFormat)}")
        pdf = DashboardPdf(Path(path), title=self.tr("Dashboard"), subtitle=subtitle, parent=self)
        pdf.begin()
        try:
            pdf.cards([CardText(c.key, c.title, c.value, c.detail) for c in self.card_data(self.report)])
            pdf.charts(self.chart_specs(self.report), WIDE_CHARTS)
            for _stem, title, model in self.tables():
                pdf.table(TableText(
                    title, model.headers(), model.table(),
                    [bool(model.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.TextAlignmentRole)
                          & int(Qt.AlignmentFlag.AlignRight)) for c in range(model.columnCount())],
                    bold_last=bool(model.rows()) and model.key_of(model.rows()[-1]) == ALL))
            pdf.text(self.cost_note.text(), 7.5)
        finally:
            pages = pdf.end()
        return pages

    def choose_csv_folder(self) -> QFileDialog:
        dialog = QFileDialog(self, self.tr("Export CSV: choose a folder"))
        dialog.setObjectName("csvFolderDialog")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly)
        dialog.fileSelected.connect(self.on_csv_folder_selected)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()  # not exec: a nested event loop would hold up the asyncio tasks
        return dialog

    def on_csv_folder_selected(self, folder: str) -> None:
        try:
            files = self.export_csv(Path(folder))
        except OSError as exc:
            self.show_notice(fill(self.tr("Could not write the CSV files: %1"), exc.strerror or str(exc)), error=True)
            return
        self.show_notice(fill(self.tr("Saved %1 CSV files in %2."), str(len(files)), folder), error=False)

    def choose_pdf_file(self) -> QFileDialog:
        dialog = QFileDialog(self, self.tr("Export PDF"))
        dialog.setObjectName("pdfFileDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter(self.tr("PDF files (*.pdf)"))
        dialog.setDefaultSuffix("pdf")
        if self.report is not None:
            dialog.selectFile(f"dashboard_{self._file_suffix()}.pdf")
        dialog.fileSelected.connect(self.on_pdf_file_selected)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def on_pdf_file_selected(self, path: str) -> None:
        try:
            pages = self.export_pdf(Path(path))
        except OSError as exc:
            self.show_notice(fill(self.tr("Could not write the PDF: %1"), exc.strerror or str(exc)), error=True)
            return
        self.show_notice(fill(self.tr("Saved the dashboard (%1 pages) as %2."), str(pages), path), error=False)


def open_dashboard(main_window) -> DashboardWindow:
    """Opens (or brings to the front) the dashboard of this main window: a window of its own, closed with it.
    A lead sees the whole team and edits the cost model; an agent sees their own figures."""
    window = next((w for w in main_window.findChildren(DashboardWindow) if not w.closing), None)
    if window is None:
        workspace = main_window.workspace
        api = workspace.api
        is_lead = workspace.agent.role in LEAD_ROLES

        async def load(start: datetime, end: datetime, tz: str, channel: str | None,
                       agent_id: int | None) -> protocol.KpiReport:
            return await api.kpis(start, end, tz=tz, channel=channel, agent_id=agent_id)

        window = DashboardWindow(
            load, is_lead=is_lead, language=getattr(main_window, "language", None),
            timezone_name=local_zone_name(workspace.agent.timezone),
            save_cost_settings=api.set_cost_settings if is_lead else None,
            load_agents=workspace.agent_names if is_lead else None, parent=main_window)
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        main_window.closed.connect(window.close)
        window.start()
    window.show()
    window.raise_()
    window.activateWindow()
    return window
