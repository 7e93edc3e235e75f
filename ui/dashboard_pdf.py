"""The dashboard on paper: an A4 PDF with the cards, the charts and every table, drawn as vectors and laid out
over as many pages as it takes (a table that goes on repeats its header)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QMarginsF, QObject, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPageLayout, QPageSize, QPainter, QPdfWriter, QPen

from ui.dashboard_charts import ChartSpec, paint_chart
from ui.style import MUTED
from ui.thread_model import fill

RESOLUTION = 300
SCREEN_DPI = 96
LINE = QColor("#D9DEE5")
SHADE = QColor("#F3F5F8")
INK = QColor("#111827")


@dataclass
class CardText:
    key: str
    title: str
    value: str
    detail: str


@dataclass
class TableText:
    title: str
    headers: list[str]
    rows: list[list[str]]
    numeric: list[bool]  # per column: right-aligned
    bold_last: bool = False  # the totals row


class DashboardPdf(QObject):
    """Writes one PDF. Sizes are given in screen pixels (1/96 inch) and scaled to the writer's resolution."""

    def __init__(self, path: Path, *, title: str, subtitle: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self.title, self.subtitle = title, subtitle
        self.writer: QPdfWriter | None = None
        self.painter: QPainter | None = None
        self.pages = 0
        self.y = 0.0

    # -- the page ------------------------------------------------------------------------------------------
    def u(self, screen_px: float) -> float:
        return screen_px * RESOLUTION / SCREEN_DPI

    @property
    def width(self) -> float:
        return float(self.painter.viewport().width())

    @property
    def bottom(self) -> float:
        return self.painter.viewport().height() - self.u(22)  # room for the footer

    def font(self, points: float, *, bold: bool = False) -> QFont:
        font = QFont()
        font.setPointSizeF(points)
        font.setBold(bold)
        return font

    def begin(self) -> None:
        writer = QPdfWriter(str(self.path))
        writer.setResolution(RESOLUTION)
        writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                         QMarginsF(12, 12, 12, 12), QPageLayout.Unit.Millimeter))
        writer.setTitle(self.title)
        writer.setCreator("Workstation")
        painter = QPainter()
        if not painter.begin(writer):
            raise OSError(f"cannot write {self.path}")
        self.writer, self.painter = writer, painter
        self.pages = 1
        self.y = 0.0
        self._header()

    def end(self) -> int:
        self._footer()
        self.painter.end()
        self.painter = None
        self.writer = None
        return self.pages

    def new_page(self) -> None:
        self._footer()
        self.writer.newPage()
        self.pages += 1
        self.y = 0.0

    def room(self, height: float) -> None:
        """Starts a new page unless `height` more fits on this one (a block never straddles two pages)."""
        if self.y > 0 and self.y + height > self.bottom:
            self.new_page()

    def _header(self) -> None:
        p = self.painter
        p.setFont(self.font(16, bold=True))
        p.setPen(INK)
        height = QFontMetricsF(p.font(), self.writer).height()
        p.drawText(QRectF(0, self.y, self.width, height), Qt.AlignmentFlag.AlignLeft, self.title)
        self.y += height + self.u(2)
        self.text(self.subtitle, 9, colour=MUTED)
        self.y += self.u(10)

    def _footer(self) -> None:
        p = self.painter
        p.setFont(self.font(7))
        p.setPen(MUTED)
        bottom = self.painter.viewport().height()
        p.drawText(QRectF(0, bottom - self.u(14), self.width, self.u(14)),
                   Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom,
                   fill(self.tr("%1 · page %2"), self.title, str(self.pages)))

    def text(self, text: str, points: float, *, bold: bool = False, colour: QColor | None = None) -> None:
        p = self.painter
        p.setFont(self.font(points, bold=bold))
        p.setPen(colour if colour is not None else INK)
        flags = int(Qt.AlignmentFlag.AlignLeft) | int(Qt.TextFlag.TextWordWrap)
        rect = p.boundingRect(QRectF(0, 0, self.width, 10_000), flags, text)
        self.room(rect.height())
        p.drawText(QRectF(0, self.y, self.width, rect.height()), flags, text)
        self.y += rect.height()

    # -- blocks --------------------------------------------------------------------------------------------
    def cards(self, cards: list[CardText], columns: int = 5) -> None:
        p = self.painter
        gap, pad = self.u(8), self.u(7)
        width = (self.width - gap * (columns - 1)) / columns
        inner = width - 2 * pad
        fonts = (self.font(7.5), self.font(14, bold=True), self.font(7))
        wrap = int(Qt.AlignmentFlag.AlignLeft) | int(Qt.TextFlag.TextWordWrap)

        def heights(card: CardText) -> list[float]:
            out = []
            for font, text in zip(fonts, (card.title, card.value, card.detail)):
                p.setFont(font)
                out.append(p.boundingRect(QRectF(0, 0, inner, 10_000), wrap, text).height() if text else 0.0)
            return out

        for first in range(0, len(cards), columns):
            row = cards[first:first + columns]
            measured = [heights(c) for c in row]
            height = max(sum(h) for h in measured) + 2 * pad + self.u(4)
            self.room(height)
            for i, (card, parts) in enumerate(zip(row, measured)):
                box = QRectF(i * (width + gap), self.y, width, height)
                p.setPen(QPen(LINE, self.u(1)))
                p.setBrush(QColor("white"))
                p.drawRoundedRect(box, self.u(5), self.u(5))
                y = box.top() + pad
                for font, text, h, colour in zip(fonts, (card.title, card.value, card.detail), parts,
                                                 (MUTED, INK, MUTED)):
                    p.setFont(font)
                    p.setPen(colour)
                    p.drawText(QRectF(box.left() + pad, y, inner, h), wrap, text)
                    y += h + self.u(2)
            self.y += height + gap
        p.setBrush(Qt.BrushStyle.NoBrush)
        self.y += self.u(4)

    def charts(self, specs: list[ChartSpec], wide: set[str]) -> None:
        """Two charts a row; those named in `wide` take a row of their own."""
        gap = self.u(10)
        half = (self.width - gap) / 2
        height = self.u(215)
        pending: list[ChartSpec] = []

        def flush() -> None:
            if not pending:
                return
            self.room(height)
            for i, spec in enumerate(pending):
                paint_chart(self.painter, QRectF(i * (half + gap), self.y, half, height), spec, QSizeF(400, 250))
            self.y += height + gap
            pending.clear()

        for spec in specs:
            if spec.name in wide:
                flush()
                self.room(height)
                paint_chart(self.painter, QRectF(0, self.y, self.width, height), spec, QSizeF(820, 250))
                self.y += height + gap
            else:
                pending.append(spec)
                if len(pending) == 2:
                    flush()
        flush()

    def table(self, table: TableText) -> None:
        p = self.painter
        pad = self.u(3)
        wrap = int(Qt.TextFlag.TextWordWrap)
        columns = len(table.headers)
        last = len(table.rows) - 1

        def advance(font: QFont, text: str) -> float:
            # Measured by the painter that draws it: the PDF engine's metrics, not the screen's.
            p.setFont(font)
            return p.boundingRect(QRectF(0, 0, 1e6, 1e6), 0, text).width()

        def wanted_widths(points: float) -> list[float]:
            """Each column's widest cell (and its header's longest word: headers wrap between words)."""
            body, head = self.font(points), self.font(points, bold=True)
            wanted = []
            for c in range(columns):
                cells = [advance(head if table.bold_last and i == last else body, r[c])
                         for i, r in enumerate(table.rows)] or [0.0]
                words = [advance(head, w) for w in table.headers[c].split()] or [0.0]
                wanted.append(max(max(cells), max(words)) + 2 * pad)
            return wanted

        # A wide table gets a smaller type rather than columns too narrow for their figures.
        points = 7.5
        wanted = wanted_widths(points)
        for _ in range(3):
            if sum(wanted) <= self.width or points <= 5:
                break
            points = max(5.0, points * self.width / sum(wanted) * 0.97)
            wanted = wanted_widths(points)
        body, head = self.font(points), self.font(points, bold=True)
        scale = self.width / sum(wanted)
        widths = [w * scale for w in wanted]
        p.setFont(head)
        head_height = max(p.boundingRect(QRectF(0, 0, w - 2 * pad, 10_000), wrap, h).height()
                          for w, h in zip(widths, table.headers)) + 2 * pad
        p.setFont(body)
        row_height = p.boundingRect(QRectF(0, 0, 1e6, 1e6), 0, "0").height() + 2 * pad

        def draw_header() -> None:
            p.setFont(self.font(10, bold=True))
            p.setPen(INK)
            title_height = QFontMetricsF(p.font(), self.writer).height()
            p.drawText(QRectF(0, self.y, self.width, title_height), Qt.AlignmentFlag.AlignLeft, table.title)
            self.y += title_height + self.u(3)
            p.fillRect(QRectF(0, self.y, self.width, head_height), SHADE)
            p.setFont(head)
            x = 0.0
            for w, h, numeric in zip(widths, table.headers, table.numeric):
                align = Qt.AlignmentFlag.AlignRight if numeric else Qt.AlignmentFlag.AlignLeft
                p.drawText(QRectF(x + pad, self.y + pad, w - 2 * pad, head_height - 2 * pad),
                           int(align) | int(Qt.AlignmentFlag.AlignBottom) | wrap, h)
                x += w
            self.y += head_height

        title_height = QFontMetricsF(self.font(10, bold=True), self.writer).height() + self.u(3)
        self.room(title_height + head_height + row_height * min(3, max(1, len(table.rows))))
        draw_header()
        if not table.rows:
            p.setFont(body)
            p.setPen(MUTED)
            p.drawText(QRectF(pad, self.y, self.width - 2 * pad, row_height), int(Qt.AlignmentFlag.AlignVCenter),
                       self.tr("Nothing in this range."))
            self.y += row_height
        for i, row in enumerate(table.rows):
            if self.y + row_height > self.bottom:
                self.new_page()
                draw_header()
            if i % 2:
                p.fillRect(QRectF(0, self.y, self.width, row_height), SHADE)
            p.setFont(head if table.bold_last and i == len(table.rows) - 1 else body)
            p.setPen(INK)
            x = 0.0
            for w, cell, numeric in zip(widths, row, table.numeric):
                align = Qt.AlignmentFlag.AlignRight if numeric else Qt.AlignmentFlag.AlignLeft
                p.drawText(QRectF(x + pad, self.y, w - 2 * pad, row_height),
                           int(align) | int(Qt.AlignmentFlag.AlignVCenter), cell)
                x += w
            self.y += row_height
        p.setPen(QPen(LINE, self.u(1)))
        p.drawLine(0, int(self.y), int(self.width), int(self.y))
        self.y += self.u(16)
