"""Paints a message as a chat bubble: inbound left, outbound right, with its time and delivery state."""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem, QWidget

from ui import thread_model as tm
from ui.style import FAILED, INBOUND_BUBBLE, MUTED, OUTBOUND_BUBBLE

MARGIN = 12
PAD = 9
FLAGS = Qt.TextFlag.TextWordWrap | Qt.TextFlag.TextWrapAnywhere


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

    def _layout(self, option: QStyleOptionViewItem, index) -> tuple[QRect, QRect, int]:
        width = self._bubble_width() - 2 * PAD
        text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        text_rect = QFontMetrics(option.font).boundingRect(QRect(0, 0, width, 100000), FLAGS, text)
        status = index.data(tm.StatusTextRole) or ""
        status_rect = QFontMetrics(self._small(option.font)).boundingRect(QRect(0, 0, width, 1000), FLAGS, status)
        inner_w = max(text_rect.width(), status_rect.width())
        return text_rect, status_rect, inner_w

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        text_rect, status_rect, _ = self._layout(option, index)
        return QSize(self._bubble_width(), text_rect.height() + status_rect.height() + 2 * PAD + 4 + MARGIN)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text_rect, status_rect, inner_w = self._layout(option, index)
        outbound = index.data(tm.DirectionRole) == "out"
        bubble_w = inner_w + 2 * PAD
        bubble_h = text_rect.height() + status_rect.height() + 2 * PAD + 4
        rect = option.rect
        x = rect.right() - MARGIN - bubble_w if outbound else rect.left() + MARGIN
        bubble = QRectF(x, rect.top() + MARGIN / 2, bubble_w, bubble_h)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(OUTBOUND_BUBBLE if outbound else INBOUND_BUBBLE)
        painter.drawRoundedRect(bubble, 10, 10)

        # Plain text only: drawText shows "<b>" as the characters it is.
        painter.setPen(option.palette.color(QPalette.ColorRole.Text) if not self._is_dark(option) else Qt.GlobalColor.black)
        painter.setFont(option.font)
        body = QRect(int(bubble.left()) + PAD, int(bubble.top()) + PAD, inner_w, text_rect.height())
        painter.drawText(body, FLAGS, index.data(Qt.ItemDataRole.DisplayRole) or "")

        painter.setFont(self._small(option.font))
        painter.setPen(FAILED if index.data(tm.FailedRole) else MUTED)
        status = QRect(body.left(), body.bottom() + 4, inner_w, status_rect.height())
        align = Qt.AlignmentFlag.AlignRight if outbound else Qt.AlignmentFlag.AlignLeft
        painter.drawText(status, FLAGS | align, index.data(tm.StatusTextRole) or "")
        painter.restore()

    @staticmethod
    def _is_dark(option: QStyleOptionViewItem) -> bool:
        # Bubbles are light in every theme, so their text stays dark even when the palette is dark.
        return option.palette.color(QPalette.ColorRole.Base).lightness() < 128
