"""Paints one feed row: channel badge, customer name, time, last message snippet and the unread mark."""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from ui import feed_model as fm
from ui.case_types import priority_name
from ui.style import ACCENT, MUTED, paint_channel_badge
from workstation import sla
from workstation.cache import HIGHLIGHT_END, HIGHLIGHT_START

HIGHLIGHT = QColor("#FFE58A")
# The response clock's colours (as in the thread header) and the priority marks.
CLOCK_COLOURS = {"green": QColor("#2E7D32"), "amber": QColor("#B26A00"), "red": QColor("#C62828")}
PRIORITY_COLOURS = {"urgent": QColor("#C62828"), "high": QColor("#E67700")}
FOLLOW_UP = QColor("#6D28D9")
PUBLIC = QColor("#0E7490")

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

        # Priority: a stripe on the row's left edge and a chip; the response clock: a filled chip with the
        # time left (or overdue, with a minus sign). Chips sit right of the name, before the time.
        priority = index.data(fm.PriorityRole)
        chips_left = time_rect.left() - 6
        clock = index.data(fm.ClockRole)
        if clock is not None:
            text = ("−" if clock.seconds_left < 0 else "") + sla.compact(clock.seconds_left)
            chips_left = self._paint_chip(painter, option.font, chips_left, top, line_h, text,
                                          CLOCK_COLOURS[clock.colour], filled=True) - 4
        if priority in PRIORITY_COLOURS:
            colour = PRIORITY_COLOURS[priority]
            painter.fillRect(QRect(rect.left(), rect.top(), 3, rect.height()), colour)
            chips_left = self._paint_chip(painter, option.font, chips_left, top, line_h, priority_name(priority),
                                          colour, filled=False) - 4

        # Customer names and messages are drawn as plain text: QPainter.drawText never parses markup.
        painter.setFont(name_font)
        painter.setPen(text_colour)
        name_w = max(0, chips_left - PAD - left)
        name = fmetrics.elidedText(index.data(fm.CustomerNameRole) or "", Qt.TextElideMode.ElideRight, name_w)
        painter.drawText(QRect(left, top, name_w, line_h), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)

        preview = " ".join((index.data(fm.PreviewRole) or "").split())
        if index.data(fm.DirectionRole) == "out":
            preview = "↩ " + preview
        dot_space = 14 if unread else 0
        preview_right = rect.right() - PAD - dot_space
        if index.data(fm.PublicRole):
            preview_right = self._paint_chip(painter, option.font, preview_right, top + line_h + 4, line_h,
                                             self.tr("Public"), PUBLIC, filled=False) - 6
        if index.data(fm.FollowUpDueRole):
            preview_right = self._paint_chip(painter, option.font, preview_right, top + line_h + 4, line_h,
                                             self.tr("Follow-up due"), FOLLOW_UP, filled=False) - 6
        painter.setFont(option.font)
        painter.setPen(text_colour if unread else muted)
        preview_w = max(0, preview_right - left)
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
    def _paint_chip(painter: QPainter, font: QFont, right: int, top: int, height: int, text: str, colour: QColor,
                    *, filled: bool) -> int:
        """Draws a small rounded label ending at `right`; returns its left edge."""
        small = QFont(font)
        small.setPointSizeF(max(font.pointSizeF() * 0.85, 6.0))
        small.setBold(True)
        metrics = QFontMetrics(small)
        width = metrics.horizontalAdvance(text) + 10
        box = QRectF(right - width, top + 1, width, height - 2)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(colour)
        painter.setBrush(colour if filled else Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(box, 4, 4)
        painter.setFont(small)
        painter.setPen(QColor("white") if filled else colour)
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()
        return int(box.left())

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
