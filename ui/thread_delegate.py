"""Paints a message as a chat bubble: inbound left, outbound right, with its time and delivery state; and a line
of the assignment trail as one centred system line."""

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

    def _system_line(self, option: QStyleOptionViewItem, index):
        """The trail's sentence and its time, small, centred; wrapped only if the view is very narrow."""
        text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        when = index.data(tm.StatusTextRole) or ""
        line = f"{text} · {when}" if when else text
        width = max(120, self._view.viewport().width() - 2 * MARGIN - 4 * PAD)
        return text_layout(line, self._small(option.font), width, Qt.AlignmentFlag.AlignHCenter)

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        if index.data(tm.DirectionRole) == "assignment":
            _, height, _ = self._system_line(option, index)
            return QSize(self._bubble_width(), int(height + 2 * GAP + MARGIN / 2 + 1))
        (_, body_h, _), (_, status_h, _) = self._layouts(option, index)
        return QSize(self._bubble_width(), int(body_h + status_h + 2 * PAD + GAP + MARGIN + 1))

    def _paint_system_line(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        layout, height, widest = self._system_line(option, index)
        rect = option.rect
        width = max(120, self._view.viewport().width() - 2 * MARGIN - 4 * PAD)
        left = rect.left() + (rect.width() - width) / 2
        top = rect.top() + GAP + MARGIN / 4
        # Hairlines either side of a one-line sentence mark it as the system's, not anyone's message.
        if widest + 4 * PAD < width and layout.lineCount() == 1:
            mid = top + height / 2
            text_left = left + (width - widest) / 2
            painter.setPen(EVENT_BUBBLE.darker(115))
            painter.drawLine(QPointF(rect.left() + MARGIN, mid), QPointF(text_left - PAD, mid))
            painter.drawLine(QPointF(text_left + widest + PAD, mid), QPointF(rect.right() - MARGIN, mid))
        painter.setPen(MUTED)
        layout.draw(painter, QPointF(left, top))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        painter.save()
        if index.data(tm.DirectionRole) == "assignment":
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            self._paint_system_line(painter, option, index)
            painter.restore()
            return
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
