"""The merged feed: every conversation from every channel, newest first, as a lazy list model.

The model holds the ordered conversation ids of the feed (a few hundred kilobytes for 100,000
conversations) and only the rows around what the view shows: a bounded cache, filled a page at a time
by primary-key reads when a row is first painted. A refresh (a sync, a local write) swaps in the new
ids and the freshly read rows the view is showing, with one structural signal, never one per row.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from ui.case_types import priority_name
from ui.style import channel_name, short_time
from workstation import sla
from workstation.cache import FeedRow

ConversationIdRole = Qt.ItemDataRole.UserRole + 1
ChannelRole = Qt.ItemDataRole.UserRole + 2
CustomerNameRole = Qt.ItemDataRole.UserRole + 3
PreviewRole = Qt.ItemDataRole.UserRole + 4
TimeTextRole = Qt.ItemDataRole.UserRole + 5
UnreadRole = Qt.ItemDataRole.UserRole + 6
DirectionRole = Qt.ItemDataRole.UserRole + 7
PriorityRole = Qt.ItemDataRole.UserRole + 8
ClockRole = Qt.ItemDataRole.UserRole + 9  # workstation.sla.Clock or None, as of now
FollowUpDueRole = Qt.ItemDataRole.UserRole + 10  # a check-in is due now
CaseTypeRole = Qt.ItemDataRole.UserRole + 11
PublicRole = Qt.ItemDataRole.UserRole + 12  # a public conversation (mentions, comments)

PAGE = 64  # rows read together when the view reaches rows not yet in memory
MAX_ROWS = 1024  # rows kept in memory at most (a few screenfuls around the view)

Fetch = Callable[[list[int]], list[FeedRow]]


class FeedModel(QAbstractListModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._ids: list[int] = []
        self._cache: dict[int, FeedRow] = {}  # conversation id -> row; insertion order = age
        self._fetch: Fetch | None = None

    # -- Qt ------------------------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._ids)

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.conversation_at(index.row())
        if row is None:
            return None
        if role == ConversationIdRole:
            return row.conversation_id
        if role == Qt.ItemDataRole.DisplayRole:
            return row.customer_name
        if role == Qt.ItemDataRole.ToolTipRole:
            parts = [row.customer_name, channel_name(row.channel)]
            if row.priority in ("high", "urgent"):
                parts.append(priority_name(row.priority))
            return " · ".join(parts)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{row.customer_name}, {channel_name(row.channel)}: {row.preview}"
        if role == PriorityRole:
            return row.priority
        if role == ClockRole:
            return sla.of(row)
        if role == FollowUpDueRole:
            return row.follow_up_due_at is not None and row.follow_up_due_at <= datetime.now(timezone.utc)
        if role == CaseTypeRole:
            return row.case_type
        if role == PublicRole:
            return row.public
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

    # -- reading -------------------------------------------------------------------------------------------
    def conversation_at(self, row: int) -> FeedRow | None:
        if not 0 <= row < len(self._ids):
            return None
        found = self._cache.get(self._ids[row])
        if found is None and self._fetch is not None:
            self._load_page(row)
            found = self._cache.get(self._ids[row])
        return found

    def _load_page(self, row: int) -> None:
        start = row - row % PAGE
        wanted = [i for i in self._ids[start:start + PAGE] if i not in self._cache]
        for fetched in self._fetch(wanted):
            self._cache[fetched.conversation_id] = fetched
        if len(self._cache) > MAX_ROWS:
            # Forget the rows read longest ago (a full scroll never holds more than MAX_ROWS).
            for key in list(self._cache)[: len(self._cache) - MAX_ROWS]:
                del self._cache[key]

    def row_of(self, conversation_id: int | None) -> int:
        try:
            return self._ids.index(conversation_id)
        except ValueError:
            return -1

    def ids(self) -> list[int]:
        return list(self._ids)

    def cached_rows(self) -> int:
        return len(self._cache)

    # -- updating ------------------------------------------------------------------------------------------
    def set_rows(self, rows: list[FeedRow]) -> None:
        """Shows exactly these rows (search results)."""
        self.set_feed([r.conversation_id for r in rows], rows, None)

    def set_feed(self, ids: list[int], rows: list[FeedRow], fetch: Fetch | None) -> None:
        """Shows the feed `ids`, with `rows` freshly read for some of them (those in view) and `fetch`
        to read the others when they are painted. An unchanged order only repaints the rows that changed;
        a new order is one layout change that keeps the selection on its conversation; rows that came or
        went are one insert at the top and one removal per run of removed rows."""
        old_ids, old_cache = self._ids, self._cache
        self._fetch = fetch
        fresh = {r.conversation_id: r for r in rows}
        if ids == old_ids:
            # Rows not read again may be stale: keep only the ones that were just read.
            self._cache = fresh
            changed = [self._ids.index(cid) for cid, row in fresh.items() if old_cache.get(cid) != row]
            if changed:
                self.dataChanged.emit(self.index(min(changed)), self.index(max(changed)))
            return
        if not old_ids or not ids:
            self.beginResetModel()
            self._ids, self._cache = list(ids), fresh
            self.endResetModel()
            return
        new_set, old_set = set(ids), set(old_ids)
        removed_rows = [i for i, cid in enumerate(old_ids) if cid not in new_set]
        added = [cid for cid in ids if cid not in old_set]
        runs = _runs(removed_rows)
        if len(runs) > 64:
            # Too scattered for removals to be cheap signals: one layout change does it all.
            self._relayout(ids, fresh)
            return
        # While the structure changes, rows come only from what is kept: nothing is read midway.
        self._cache = {**{k: v for k, v in old_cache.items() if k in new_set}, **fresh}
        for first, last in reversed(runs):
            self.beginRemoveRows(QModelIndex(), first, last)
            del self._ids[first:last + 1]
            self.endRemoveRows()
        if added:
            self.beginInsertRows(QModelIndex(), 0, len(added) - 1)
            self._ids = added + self._ids
            self.endInsertRows()
        if self._ids != ids:
            self._relayout(ids, self._cache)
        self._cache = fresh

    def _relayout(self, ids: list[int], cache: dict[int, FeedRow]) -> None:
        self.layoutAboutToBeChanged.emit()
        old_ids = self._ids
        persistent = self.persistentIndexList()
        self._ids, self._cache = list(ids), cache
        if persistent:
            position = {cid: i for i, cid in enumerate(self._ids)} if len(persistent) > 8 else None
            targets = []
            for index in persistent:
                cid = old_ids[index.row()] if 0 <= index.row() < len(old_ids) else None
                row = (position.get(cid, -1) if position is not None else self.row_of(cid)) if cid is not None else -1
                targets.append(self.index(row, index.column()) if row >= 0 else QModelIndex())
            self.changePersistentIndexList(persistent, targets)
        self.layoutChanged.emit()


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for r in rows:
        if runs and runs[-1][1] == r - 1:
            runs[-1] = (runs[-1][0], r)
        else:
            runs.append((r, r))
    return runs
