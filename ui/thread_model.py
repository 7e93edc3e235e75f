"""The open conversation: messages, internal notes and pending changes, oldest first, with their state."""

from __future__ import annotations

import re

from PySide6.QtCore import QAbstractListModel, QCoreApplication, QModelIndex, QPersistentModelIndex, Qt

from ui.style import short_time, status_name
from workstation.cache import ThreadRow

DirectionRole = Qt.ItemDataRole.UserRole + 1
StatusTextRole = Qt.ItemDataRole.UserRole + 2
FailedRole = Qt.ItemDataRole.UserRole + 3
KeyRole = Qt.ItemDataRole.UserRole + 4
DeliveryStateRole = Qt.ItemDataRole.UserRole + 5
OpIdRole = Qt.ItemDataRole.UserRole + 6
OpStateRole = Qt.ItemDataRole.UserRole + 7


_PLACEHOLDER = re.compile(r"%(\d)")


def fill(template: str, *args: str) -> str:
    """Puts the arguments in a translated template's %1, %2…, in one pass: a name that itself contains
    "%2" stays as it is."""
    return _PLACEHOLDER.sub(lambda m: args[int(m.group(1)) - 1] if 0 < int(m.group(1)) <= len(args) else m.group(0),
                            template)


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


def _op_text(row: ThreadRow) -> str | None:
    if row.op_state == "failed":
        return (QCoreApplication.translate("ThreadModel", "Not sent: %1").replace("%1", row.op_error or "")
                + " — " + QCoreApplication.translate("ThreadModel", "right-click to retry or discard"))
    if row.op_state == "queued":
        return QCoreApplication.translate("ThreadModel", "Queued — sending when online")
    return None


def event_text(row: ThreadRow, agent_names: dict[int, str]) -> str:
    event = row.event or {}
    parts = []
    if event.get("status"):
        parts.append(QCoreApplication.translate("ThreadModel", "Status → %1").replace("%1", status_name(event["status"])))
    if event.get("set_assignee"):
        assignee = event.get("assignee_id")
        if assignee is None:
            parts.append(QCoreApplication.translate("ThreadModel", "Unassigned"))
        else:
            name = agent_names.get(assignee, f"#{assignee}")
            parts.append(QCoreApplication.translate("ThreadModel", "Assigned to %1").replace("%1", name))
    return " · ".join(parts)


def trail_text(row: ThreadRow) -> str:
    """One line of the assignment trail, e.g. "Lucía moved this from Ana to Ben: customer speaks German".
    Names and the reason are plain text (the delegate never parses markup)."""
    event = row.event or {}
    kind, reason = event.get("kind"), (event.get("reason") or "").strip()
    source, target, actor = event.get("from") or "", event.get("to") or "", event.get("actor") or ""

    if kind == "reclaim":
        # The server took it back: its reason (say "unanswered for 15 min") is the sentence's second half.
        if reason:
            return fill(QCoreApplication.translate("ThreadModel", "Back to the queue: %1"), reason)
        return QCoreApplication.translate("ThreadModel", "Back to the queue")
    if kind == "auto" or (not actor and kind == "manual"):
        if target and source:
            text = fill(QCoreApplication.translate("ThreadModel", "Automatically moved from %1 to %2"), source, target)
        elif target:
            text = fill(QCoreApplication.translate("ThreadModel", "Automatically assigned to %1"), target)
        else:
            text = QCoreApplication.translate("ThreadModel", "Automatically returned to the queue")
    elif kind == "take" or (kind == "manual" and target and actor == target and not source):
        text = fill(QCoreApplication.translate("ThreadModel", "%1 took this"), target or actor)
    elif kind == "release" or (kind == "manual" and not target and actor == source):
        text = fill(QCoreApplication.translate("ThreadModel", "%1 gave this back to the queue"), source or actor)
    elif kind == "handoff":
        if target:
            text = fill(QCoreApplication.translate("ThreadModel", "Handed off by %1 to %2"), source or actor, target)
        else:
            text = fill(QCoreApplication.translate("ThreadModel", "Handed back to the queue by %1"), source or actor)
    elif source and target:
        text = fill(QCoreApplication.translate("ThreadModel", "%1 moved this from %2 to %3"), actor, source, target)
    elif target:
        text = fill(QCoreApplication.translate("ThreadModel", "%1 assigned this to %2"), actor, target)
    elif source:
        text = fill(QCoreApplication.translate("ThreadModel", "%1 moved this from %2 to the queue"), actor, source)
    else:
        text = QCoreApplication.translate("ThreadModel", "Assignment changed")
    # The reason is the agent's own words: shown as given, after the sentence.
    return fill(QCoreApplication.translate("ThreadModel", "%1: %2"), text, reason) if reason else text


def status_text(row: ThreadRow) -> str:
    when = short_time(row.created_at)
    head = f"{row.author} · {when}" if row.author and row.direction in ("out", "note") else when
    if row.direction == "in":
        return when
    if row.direction == "note":
        head = QCoreApplication.translate("ThreadModel", "Internal note") + " · " + head
        return head + (f" · {_op_text(row)}" if _op_text(row) else "")
    if row.direction == "event":
        return _op_text(row) or QCoreApplication.translate("ThreadModel", "Sending…")
    if row.direction == "assignment":
        return when
    op = _op_text(row)
    if op:
        return f"{head} · {op}"
    labels = {
        "pending": QCoreApplication.translate("ThreadModel", "Sending…"),
        "accepted": QCoreApplication.translate("ThreadModel", "✓ Sent"),
        "sent": QCoreApplication.translate("ThreadModel", "✓ Sent"),
        "delivered": QCoreApplication.translate("ThreadModel", "✓✓ Delivered"),
        "read": QCoreApplication.translate("ThreadModel", "✓✓ Read"),
        "failed": QCoreApplication.translate("ThreadModel", "Failed"),
    }
    text = f"{head} · {labels.get(row.delivery_state, row.delivery_state)}"
    if row.delivery_state == "failed":
        text += " — " + error_sentence(row.error_kind, row.error_title)
    return text


WINDOW = 150  # messages shown when a conversation opens; older ones come in as the agent scrolls up


class ThreadModel(QAbstractListModel):
    """Holds the whole thread but shows its newest WINDOW rows at first: a conversation of thousands of
    messages opens as fast as a short one, since the view lays out (measures) only the rows it has.
    `show_older()` brings in the previous ones, a window at a time."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._all: list[ThreadRow] = []
        self._first = 0  # index in _all of the first row shown
        self.conversation_id: int | None = None
        self.agent_names: dict[int, str] = {}

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._all) - self._first

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._all) - self._first:
            return None
        row = self._all[self._first + index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            if row.direction == "event":
                return event_text(row, self.agent_names)
            if row.direction == "assignment":
                return trail_text(row)
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
        if role == OpIdRole:
            return row.op_id
        if role == OpStateRole:
            return row.op_state
        return None

    def set_rows(self, conversation_id: int | None, rows: list[ThreadRow]) -> bool:
        """Returns True when rows were added at the end (the view then scrolls down)."""
        keys_old = [r.key for r in self._all]
        keys_new = [r.key for r in rows]
        if conversation_id == self.conversation_id and keys_new[: len(keys_old)] == keys_old:
            changed = [i for i in range(self._first, len(self._all)) if rows[i] != self._all[i]]
            for i in changed:
                self._all[i] = rows[i]
            if changed:
                self.dataChanged.emit(self.index(changed[0] - self._first), self.index(changed[-1] - self._first))
            # Rows before the window may have changed too; they are read when shown.
            self._all[: self._first] = rows[: self._first]
            if len(rows) > len(self._all):
                shown = len(self._all) - self._first
                self.beginInsertRows(QModelIndex(), shown, len(rows) - self._first - 1)
                self._all = list(rows)
                self.endInsertRows()
                return True
            return False
        self.beginResetModel()
        self.conversation_id = conversation_id
        self._all = list(rows)
        self._first = max(0, len(rows) - WINDOW)
        self.endResetModel()
        return True

    def has_older(self) -> bool:
        return self._first > 0

    def show_older(self, count: int = WINDOW) -> int:
        """Shows up to `count` older rows above the first one shown; returns how many."""
        count = min(count, self._first)
        if count:
            self.beginInsertRows(QModelIndex(), 0, count - 1)
            self._first -= count
            self.endInsertRows()
        return count

    def rows(self) -> list[ThreadRow]:
        """Every row of the thread, shown or not yet."""
        return list(self._all)
