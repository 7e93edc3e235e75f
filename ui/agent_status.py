"""Agents' status (available, away, offline) as names and coloured dots, and who is in a conversation now."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

from ui.thread_model import fill
from workstation import canned

AGENT_STATUSES = ("available", "away", "offline")
STATUS_COLOURS = {"available": "#16A34A", "away": "#D97706", "offline": "#9CA3AF"}


def agent_status_name(status: str) -> str:
    names = {
        "available": QCoreApplication.translate("agent_status", "Available"),
        "away": QCoreApplication.translate("agent_status", "Away"),
        "offline": QCoreApplication.translate("agent_status", "Offline"),
    }
    return names.get(status, status)


def agent_status_icon(status: str, size: int = 12) -> QIcon:
    """A coloured dot: green available, amber away, grey offline."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(STATUS_COLOURS.get(status, "#9CA3AF")))
    painter.drawEllipse(QRectF(1, 1, size - 2, size - 2))
    painter.end()
    return QIcon(pixmap)


def _names(names: list[str]) -> str:
    """"Ana and Ben", "Ana, Ben and Carla", "Ana, Ben and 2 others"."""
    if len(names) == 2:
        return fill(QCoreApplication.translate("presence", "%1 and %2"), *names)
    if len(names) == 3:
        return fill(QCoreApplication.translate("presence", "%1, %2 and %3"), *names)
    return fill(QCoreApplication.translate("presence", "%1, %2 and %3 others"), names[0], names[1], str(len(names) - 2))


def presence_text(entries: list[tuple[str, str]]) -> str:
    """The header's line for colleagues in the conversation: "Ana is viewing", "Ana is typing…", "Ana and
    Ben are viewing", "Ana is typing… · Ben is viewing". `entries`: (name, "typing" | "viewing"). First names
    keep it short; the tooltip has the full names. Plain text."""
    typing = [canned.first_name(n) or n for n, state in entries if state == "typing"]
    viewing = [canned.first_name(n) or n for n, state in entries if state == "viewing"]
    parts = []
    if len(typing) == 1:
        parts.append(fill(QCoreApplication.translate("presence", "%1 is typing…"), typing[0]))
    elif typing:
        parts.append(fill(QCoreApplication.translate("presence", "%1 are typing…"), _names(typing)))
    if len(viewing) == 1:
        parts.append(fill(QCoreApplication.translate("presence", "%1 is viewing"), viewing[0]))
    elif viewing:
        parts.append(fill(QCoreApplication.translate("presence", "%1 are viewing"), _names(viewing)))
    return " · ".join(parts)
