"""The messages of the open conversation, oldest first, with delivery state."""

from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QCoreApplication, QModelIndex, QPersistentModelIndex, Qt

from ui.style import short_time
from workstation.cache import ThreadRow

DirectionRole = Qt.ItemDataRole.UserRole + 1
StatusTextRole = Qt.ItemDataRole.UserRole + 2
FailedRole = Qt.ItemDataRole.UserRole + 3
KeyRole = Qt.ItemDataRole.UserRole + 4
DeliveryStateRole = Qt.ItemDataRole.UserRole + 5





def error_sentence(kind: str | None, title: str | None) -> str:
    sentences = {
        "window_closed": QCoreApplication.translate("ThreadModel", "The 24-hour reply window is closed: send an approved template."),
        "auth_expired": QCoreApplication.translate("ThreadModel", "The channel's access token has expired: ask an admin to reconnect it."),
        "undeliverable": QCoreApplication.translate("ThreadModel", "The customer cannot receive this message."),
        "retryable": QCoreApplication.translate("ThreadModel", "The channel is busy or unreachable; sending was given up after several tries."),
        "bad_request": QCoreApplication.translate("ThreadModel", "The channel refused this message."),
        "permission": QCoreApplication.translate("ThreadModel", "This channel is not set up for sending."),
    }
    sentence = sentences.get(kind or "", QCoreApplication.translate("ThreadModel", "Not delivered."))
    return f"{sentence} ({title})" if title else sentence


def status_text(row: ThreadRow) -> str:
    when = short_time(row.created_at)
    if row.direction == "in":
        return when
    if row.op_state == "failed":
        return f"{when} · " + QCoreApplication.translate("ThreadModel", "Not sent: %1").replace("%1", row.op_error or "")
    if row.op_state == "queued":
        return f"{when} · " + QCoreApplication.translate("ThreadModel", "Queued — sending when online")
    labels = {
        "pending": QCoreApplication.translate("ThreadModel", "Sending…"),
        "accepted": QCoreApplication.translate("ThreadModel", "✓ Sent"),
        "sent": QCoreApplication.translate("ThreadModel", "✓ Sent"),
        "delivered": QCoreApplication.translate("ThreadModel", "✓✓ Delivered"),
        "read": QCoreApplication.translate("ThreadModel", "✓✓ Read"),
        "failed": QCoreApplication.translate("ThreadModel", "Failed"),
    }
    text = f"{when} · {labels.get(row.delivery_state, row.delivery_state)}"
    if row.delivery_state == "failed":
        text += " — " + error_sentence(row.error_kind, row.error_title)
    return text


class ThreadModel(QAbstractListModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[ThreadRow] = []
        self.conversation_id: int | None = None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return row.text
        if role == DirectionRole:
            return row.direction
        if role == StatusTextRole:
            return status_text(row)
        if role == FailedRole:
            return row.delivery_state == "failed" or row.op_state == "failed"
        if role == KeyRole:
            return row.key
        if role == DeliveryStateRole:
            return row.delivery_state
        return None

    def set_rows(self, conversation_id: int | None, rows: list[ThreadRow]) -> bool:
        """Returns True when rows were added at the end (the view then scrolls down)."""
        keys_old = [r.key for r in self._rows]
        keys_new = [r.key for r in rows]
        if conversation_id == self.conversation_id and keys_new[: len(keys_old)] == keys_old:
            for i, (a, b) in enumerate(zip(rows, self._rows)):
                if a != b:
                    self._rows[i] = a
                    self.dataChanged.emit(self.index(i), self.index(i))
            if len(rows) > len(self._rows):
                self.beginInsertRows(QModelIndex(), len(self._rows), len(rows) - 1)
                self._rows = list(rows)
                self.endInsertRows()
                return True
            return False
        self.beginResetModel()
        self.conversation_id = conversation_id
        self._rows = list(rows)
        self.endResetModel()
        return True

    def rows(self) -> list[ThreadRow]:
        return list(self._rows)
