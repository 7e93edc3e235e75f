"""The merged feed: every conversation from every channel, newest first, as a list model."""

from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from ui.style import channel_name, short_time
from workstation.cache import FeedRow

ConversationIdRole = Qt.ItemDataRole.UserRole + 1
ChannelRole = Qt.ItemDataRole.UserRole + 2
CustomerNameRole = Qt.ItemDataRole.UserRole + 3
PreviewRole = Qt.ItemDataRole.UserRole + 4
TimeTextRole = Qt.ItemDataRole.UserRole + 5
UnreadRole = Qt.ItemDataRole.UserRole + 6
DirectionRole = Qt.ItemDataRole.UserRole + 7


class FeedModel(QAbstractListModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[FeedRow] = []

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.customer_name
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{row.customer_name} · {channel_name(row.channel)}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{row.customer_name}, {channel_name(row.channel)}: {row.preview}"
        if role == ConversationIdRole:
            return row.conversation_id
        if role == ChannelRole:
            return row.channel
        if role == CustomerNameRole:
            return row.customer_name
        if role == PreviewRole:
            return row.preview
        if role == TimeTextRole:
            return short_time(row.last_message_at)
        if role == UnreadRole:
            return row.unread
        if role == DirectionRole:
            return row.last_direction
        return None

    def set_rows(self, rows: list[FeedRow]) -> None:
        """Replaces the rows; an unchanged order only repaints, so selection and scroll stay put."""
        same_order = [r.conversation_id for r in rows] == [r.conversation_id for r in self._rows]
        if same_order:
            changed = [i for i, (a, b) in enumerate(zip(rows, self._rows)) if a != b]
            self._rows = rows
            if changed:
                self.dataChanged.emit(self.index(changed[0]), self.index(changed[-1]))
            return
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def row_of(self, conversation_id: int) -> int:
        for i, row in enumerate(self._rows):
            if row.conversation_id == conversation_id:
                return i
        return -1

    def conversation_at(self, row: int) -> FeedRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None
