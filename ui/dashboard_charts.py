"""The dashboard's charts: what each shows (a ChartSpec, plain data) and the QtCharts chart drawn from it, the
same on screen and in the PDF."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

from PySide6.QtCharts import (
    QBarCategoryAxis, QBarSeries, QBarSet, QChart, QChartView, QHorizontalBarSeries, QPieSeries, QPieSlice, QValueAxis,
)
from PySide6.QtCore import QMargins, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QGraphicsScene, QWidget

from ui.style import ACCENT, MUTED

BAR, HBAR, PIE = "bar", "hbar", "pie"


@dataclass
class ChartSpec:
    name: str  # object name of the chart's view: "chart_volume_by_hour", …
    title: str
    kind: str  # BAR, HBAR (categories down the side) or PIE
    categories: list[str]
    values: list[int]
    colours: list[str] = field(default_factory=list)  # per category (pies); bars are one colour
    slice_labels: list[str] = field(default_factory=list)  # pies: legend entries ("WhatsApp 40.0%")
    value_texts: list[str] = field(default_factory=list)  # pies: the count on each slice, in the user's locale
    empty_text: str = ""  # shown in the title when every value is 0
    value_labels: bool = True  # the count above each bar

    @property
    def total(self) -> int:
        return sum(self.values)


def nice_axis(largest: float) -> tuple[int, int]:
    """The top of a count axis and its number of ticks, so that every tick is a whole number."""
    if largest <= 5:
        top = max(1, math.ceil(largest))
        return top, top + 1
    magnitude = 10 ** math.floor(math.log10(largest / 5))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if largest / (m * magnitude) <= 5
                and float(m * magnitude).is_integer())
    top = int(math.ceil(largest / step) * step)
    return top, int(round(top / step)) + 1


def _title_font(base: QFont | None = None) -> QFont:
    font = QFont(base) if base is not None else QFont()
    font.setBold(True)
    return font


def fill_chart(chart: QChart, spec: ChartSpec) -> None:
    """Makes `chart` show `spec` (dropping what it showed before)."""
    chart.removeAllSeries()
    for axis in chart.axes():
        chart.removeAxis(axis)
    chart.setTitle(spec.title if spec.total or not spec.empty_text else f"{spec.title} · {spec.empty_text}")
    chart.setTitleFont(_title_font(chart.titleFont()))
    chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
    chart.setMargins(QMargins(4, 4, 4, 4))
    chart.setBackgroundRoundness(4)
    if spec.kind == PIE:
        series = QPieSeries()
        series.setPieSize(0.82)
        total = spec.total
        counts = spec.value_texts or [str(v) for v in spec.values]
        legend_texts = []
        for label, value, count, colour in zip(spec.slice_labels or spec.categories, spec.values, counts,
                                               spec.colours or [ACCENT.name()] * len(spec.values)):
            if value <= 0:
                continue
            # A slice's label is its count, drawn on it where it has room; the legend says what and what share.
            piece = series.append(count, value)
            piece.setColor(QColor(colour))
            piece.setBorderColor(QColor("white"))
            piece.setLabelPosition(QPieSlice.LabelPosition.LabelInsideHorizontal)
            piece.setLabelColor(QColor("white"))
            piece.setLabelFont(_title_font(piece.labelFont()))
            piece.setLabelVisible(value / total >= 0.08)
            legend_texts.append(label)
        chart.addSeries(series)
        legend = chart.legend()
        for marker, text in zip(legend.markers(series), legend_texts):
            marker.setLabel(text)
        legend.setVisible(True)
        legend.setAlignment(Qt.AlignmentFlag.AlignRight)
        return
    bars = QBarSet(spec.title)
    bars.append([float(v) for v in spec.values])
    bars.setColor(ACCENT)
    bars.setBorderColor(ACCENT)
    bars.setLabelColor(MUTED)
    series = QHorizontalBarSeries() if spec.kind == HBAR else QBarSeries()
    series.append(bars)
    series.setBarWidth(0.7)
    if spec.value_labels:
        series.setLabelsVisible(True)
        series.setLabelsPosition(QBarSeries.LabelsPosition.LabelsOutsideEnd)
        series.setLabelsFormat("@value")
        series.setLabelsPrecision(12)
    chart.addSeries(series)
    categories = QBarCategoryAxis()
    categories.append([html.escape(c) for c in spec.categories])  # axis labels are rich text: "< 1 h" stays
    categories.setGridLineVisible(False)
    counts = QValueAxis()
    top, ticks = nice_axis(max(spec.values, default=0) * (1.12 if spec.value_labels else 1))
    counts.setRange(0, top)
    counts.setTickCount(ticks)
    counts.setLabelFormat("%d")
    small = QFont(categories.labelsFont())
    small.setPointSizeF(max(6.0, small.pointSizeF() * 0.85))
    categories.setLabelsFont(small)
    counts.setLabelsFont(small)
    if spec.kind == HBAR:
        chart.addAxis(categories, Qt.AlignmentFlag.AlignLeft)
        chart.addAxis(counts, Qt.AlignmentFlag.AlignBottom)
    else:
        chart.addAxis(categories, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(counts, Qt.AlignmentFlag.AlignLeft)
    series.attachAxis(categories)
    series.attachAxis(counts)
    chart.legend().setVisible(False)


def make_chart(spec: ChartSpec) -> QChart:
    chart = QChart()
    fill_chart(chart, spec)
    return chart


def chart_view(spec: ChartSpec, parent: QWidget | None = None) -> QChartView:
    view = QChartView(make_chart(spec), parent)
    view.setObjectName(spec.name)
    view.setAccessibleName(spec.title)
    view.setRenderHint(QPainter.RenderHint.Antialiasing)
    view.setMinimumHeight(240)
    return view


def paint_chart(painter: QPainter, target: QRectF, spec: ChartSpec, size: QSizeF = QSizeF(520, 300)) -> None:
    """Draws the chart of `spec` into `target` of any paint device (a PDF page): laid out at `size` (screen
    pixels, so fonts keep their proportions) and scaled, as vectors."""
    scene = QGraphicsScene()
    chart = make_chart(spec)
    scene.addItem(chart)
    chart.resize(size)
    scene.render(painter, target, QRectF(0, 0, size.width(), size.height()),
                 Qt.AspectRatioMode.KeepAspectRatio)
    scene.removeItem(chart)
    del chart


def bar_values(view: QChartView) -> list[float]:
    """The values a bar chart's view shows (for checks; [] for a pie)."""
    series = view.chart().series()
    if not series or not hasattr(series[0], "barSets"):
        return []
    return [series[0].barSets()[0].at(i) for i in range(series[0].barSets()[0].count())]
