"""Paints one feed row: channel badge, customer name, time, last message snippet and the unread mark."""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from ui import feed_model as fm
from ui.style import ACCENT, MUTED, paint_channel_badge
from workstation.cache import HIGHLIGHT_END, HIGHLIGHT_START

HIGHLIGHT = QColor("#FFE58A")

PAD = 10
BADGE = 28


class FeedDelegate(QStyledItemDelegate):
    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        fm_ = QFontMetrics(option.font)
        return QSize(200, PAD * 2 + fm_.height() * 2 + 4)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        painter.save()
        rect = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette = option.palette
        if selected:
            painter.fillRect(rect, palette.color(QPalette.ColorRole.Highlight))
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(rect, palette.color(QPalette.ColorRole.AlternateBase))
        text_colour = palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        muted = text_colour if selected else MUTED

        badge = QRectF(rect.left() + PAD, rect.top() + PAD, BADGE, BADGE)
        paint_channel_badge(painter, badge, index.data(fm.ChannelRole) or "")

        unread = bool(index.data(fm.UnreadRole))
        name_font = QFont(option.font)
        name_font.setBold(unread)
        fmetrics = QFontMetrics(name_font)
        left = int(badge.right()) + PAD
        time_text = index.data(fm.TimeTextRole) or ""
        time_w = QFontMetrics(option.font).horizontalAdvance(time_text)
        top = rect.top() + PAD
        line_h = fmetrics.height()

        painter.setFont(option.font)
        painter.setPen(muted)
        time_rect = QRect(rect.right() - PAD - time_w, top, time_w, line_h)
        painter.drawText(time_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, time_text)

        # Customer names and messages are drawn as plain text: QPainter.drawText never parses markup.
        painter.setFont(name_font)
        painter.setPen(text_colour)
        name_w = time_rect.left() - PAD - left
        name = fmetrics.elidedText(index.data(fm.CustomerNameRole) or "", Qt.TextElideMode.ElideRight, name_w)
        painter.drawText(QRect(left, top, name_w, line_h), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)

        painter.setFont(option.font)
        painter.setPen(text_colour if unread else muted)
        preview = " ".join((index.data(fm.PreviewRole) or "").split())
        if index.data(fm.DirectionRole) == "out":
            preview = "↩ " + preview
        dot_space = 14 if unread else 0
        preview_w = rect.right() - PAD - left - dot_space
        preview_rect = QRect(left, top + line_h + 4, preview_w, line_h)
        if HIGHLIGHT_START in preview:
            self._paint_highlighted(painter, preview_rect, preview, option.font, selected)
        else:
            preview = QFontMetrics(option.font).elidedText(preview, Qt.TextElideMode.ElideRight, preview_w)
            painter.drawText(preview_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, preview)
        if unread:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(text_colour if selected else ACCENT)
            painter.drawEllipse(QRectF(rect.right() - PAD - 8, top + line_h + 4 + line_h / 2 - 4, 8, 8))
        painter.restore()

    @staticmethod
    def _paint_highlighted(painter: QPainter, rect: QRect, text: str, font: QFont, selected: bool) -> None:
        """Draws a search snippet: the matched words bold on a highlight, the rest as is, elided at the end."""
        metrics = QFontMetrics(font)
        bold = QFont(font)
        bold.setBold(True)
        bold_metrics = QFontMetrics(bold)
        x, right = rect.left(), rect.right()
        pen = painter.pen()
        for i, chunk in enumerate(text.replace(HIGHLIGHT_END, HIGHLIGHT_START).split(HIGHLIGHT_START)):
            if not chunk:
                continue
            matched = i % 2 == 1
            fmetrics = bold_metrics if matched else metrics
            room = right - x
            if room <= fmetrics.horizontalAdvance("…"):
                break
            shown = fmetrics.elidedText(chunk, Qt.TextElideMode.ElideRight, room)
            width = fmetrics.horizontalAdvance(shown)
            box = QRect(x, rect.top(), width, rect.height())
            if matched:
                if not selected:
                    painter.fillRect(box, HIGHLIGHT)
                painter.setFont(bold)
            else:
                painter.setFont(font)
            painter.setPen(pen)
            painter.drawText(box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, shown)
            x += width
            if shown != chunk:
                break
        painter.setFont(font)
