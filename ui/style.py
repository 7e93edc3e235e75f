"""Colours, channel badges and formatting shared by the views."""

from __future__ import annotations

from datetime import datetime, timezone

from PySide6.QtCore import QCoreApplication, QLocale, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap

CHANNEL_COLOURS = {
    "whatsapp": "#25D366",
    "messenger": "#0084FF",
    "instagram": "#C13584",
    "x": "#111111",
    "telegram": "#229ED9",
    "email": "#7A5CFA",
}
CHANNEL_LETTERS = {"whatsapp": "W", "messenger": "M", "instagram": "I", "x": "X", "telegram": "T", "email": "@"}

ACCENT = QColor("#2563EB")
MUTED = QColor("#6B7280")
INBOUND_BUBBLE = QColor("#F1F3F5")
OUTBOUND_BUBBLE = QColor("#DCEBFF")
FAILED = QColor("#C62828")


def title_font(base: QFont) -> QFont:
    """The font of a view's title: bold and a little larger than `base`."""
    font = QFont(base)
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 1.15)
    return font


def channel_name(channel: str) -> str:
    names = {
        "whatsapp": QCoreApplication.translate("channel", "WhatsApp"),
        "messenger": QCoreApplication.translate("channel", "Messenger"),
        "instagram": QCoreApplication.translate("channel", "Instagram"),
        "x": QCoreApplication.translate("channel", "X"),
        "telegram": QCoreApplication.translate("channel", "Telegram"),
        "email": QCoreApplication.translate("channel", "Email"),
    }
    return names.get(channel, channel)


def status_name(status: str) -> str:
    names = {
        "open": QCoreApplication.translate("status", "Open"),
        "pending": QCoreApplication.translate("status", "Pending"),
        "snoozed": QCoreApplication.translate("status", "Snoozed"),
        "resolved": QCoreApplication.translate("status", "Resolved"),
    }
    return names.get(status, status)


NOTE_BUBBLE = QColor("#FFF4C2")
EVENT_BUBBLE = QColor("#EEF0F3")


def paint_channel_badge(painter: QPainter, rect: QRectF, channel: str) -> None:
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(CHANNEL_COLOURS.get(channel, "#888888")))
    painter.drawEllipse(rect)
    font = QFont(painter.font())
    font.setBold(True)
    font.setPixelSize(max(8, int(rect.height() * 0.5)))
    painter.setFont(font)
    painter.setPen(QColor("white"))
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, CHANNEL_LETTERS.get(channel, "?"))
    painter.restore()


def channel_icon(channel: str, size: int = 32) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    paint_channel_badge(painter, QRectF(0, 0, size, size), channel)
    painter.end()
    return QIcon(pixmap)


def short_time(when: datetime | None, now: datetime | None = None) -> str:
    """Time today, weekday this week, date before that; in the user's locale and time zone."""
    if when is None:
        return ""
    now = now or datetime.now(timezone.utc)
    local, local_now = when.astimezone(), now.astimezone()
    locale = QLocale()
    if local.date() == local_now.date():
        return locale.toString(local.time(), QLocale.FormatType.ShortFormat)
    if (local_now.date() - local.date()).days < 7:
        return locale.dayName(local.isoweekday(), QLocale.FormatType.ShortFormat)
    return locale.toString(local.date(), QLocale.FormatType.ShortFormat)


def app_icon(size: int = 64) -> QIcon:
    """The app's icon, drawn: a blue rounded square with a white speech bubble."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("#2563EB"))
    painter.drawRoundedRect(QRectF(0, 0, size, size), size * 0.22, size * 0.22)
    painter.setBrush(QColor("white"))
    painter.drawRoundedRect(QRectF(size * 0.2, size * 0.24, size * 0.6, size * 0.4), size * 0.1, size * 0.1)
    painter.drawPolygon([QPointF(size * 0.32, size * 0.6), QPointF(size * 0.46, size * 0.6),
                         QPointF(size * 0.3, size * 0.78)])
    painter.end()
    return QIcon(pixmap)
