"""Paints a message as a chat bubble: inbound left, outbound right, with its time and delivery state."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QTextLayout, QTextOption
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem, QWidget

from ui import thread_model as tm
from ui.style import EVENT_BUBBLE, FAILED, INBOUND_BUBBLE, MUTED, NOTE_BUBBLE, OUTBOUND_BUBBLE

MARGIN = 12
PAD = 9
GAP = 4


def text_layout(text: str, font: QFont, width: float, align=Qt.AlignmentFlag.AlignLeft) -> tuple[QTextLayout, float, float]:
    """Lays out plain text (QTextLayout never parses markup) wrapping at words, or anywhere in a long
    word such as a URL; returns the layout, its height and the widest line."""
    # QTextLayout breaks lines only at U+2028, not at "\n".
    layout = QTextLayout(text.replace("\r\n", "\n").replace("\n", "\u2028"), font)
    option = QTextOption(align)
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    layout.setTextOption(option)
    layout.beginLayout()
    height = widest = 0.0
    while True:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        line.setPosition(QPointF(0, height))
        height += line.height()
        widest = max(widest, line.naturalTextWidth())
    layout.endLayout()
    return layout, height, widest


class ThreadDelegate(QStyledItemDelegate):
    def __init__(self, view: QWidget) -> None:
        super().__init__(view)
        self._view = view

    def _bubble_width(self) -> int:
        return max(160, int(self._view.viewport().width() * 0.72))

    @staticmethod
    def _small(font: QFont) -> QFont:
        small = QFont(font)
        small.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        return small

    def _layouts(self, option: QStyleOptionViewItem, index):
        width = self._bubble_width() - 2 * PAD
        body = text_layout(index.data(Qt.ItemDataRole.DisplayRole) or "", option.font, width)
        align = {"out": Qt.AlignmentFlag.AlignRight, "event": Qt.AlignmentFlag.AlignHCenter}.get(
            index.data(tm.DirectionRole), Qt.AlignmentFlag.AlignLeft)
        status = text_layout(index.data(tm.StatusTextRole) or "", self._small(option.font), width, align)
        return body, status

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        (_, body_h, _), (_, status_h, _) = self._layouts(option, index)
        return QSize(self._bubble_width(), int(body_h + status_h + 2 * PAD + GAP + MARGIN + 1))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        (body, body_h, body_w), (status, status_h, status_w) = self._layouts(option, index)
        inner_w = max(body_w, status_w)
        direction = index.data(tm.DirectionRole)
        outbound = direction == "out"
        rect = option.rect
        bubble_w = inner_w + 2 * PAD
        if outbound:
            x = rect.right() - MARGIN - bubble_w
        elif direction == "event":
            x = rect.left() + (rect.width() - bubble_w) / 2
        else:
            x = rect.left() + MARGIN
        bubble = QRectF(x, rect.top() + MARGIN / 2, bubble_w, body_h + status_h + 2 * PAD + GAP)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush({"out": OUTBOUND_BUBBLE, "note": NOTE_BUBBLE, "event": EVENT_BUBBLE}.get(direction, INBOUND_BUBBLE))
        painter.drawRoundedRect(bubble, 10, 10)

        # Bubbles are light in every theme, so their text stays dark even with a dark palette.
        text_colour = option.palette.color(QPalette.ColorRole.Text)
        if option.palette.color(QPalette.ColorRole.Base).lightness() < 128:
            text_colour = QColor("#111111")
        painter.setPen(text_colour)
        origin = QPointF(bubble.left() + PAD, bubble.top() + PAD)
        body.draw(painter, origin)
        painter.setPen(FAILED if index.data(tm.FailedRole) else MUTED)
        # Right-aligned lines are placed within the full layout width; shift so they end at the bubble's edge.
        full = self._bubble_width() - 2 * PAD
        shift = {"out": inner_w - full, "event": (inner_w - full) / 2}.get(direction, 0)
        status.draw(painter, QPointF(origin.x() + shift, origin.y() + body_h + GAP))
        painter.restore()
