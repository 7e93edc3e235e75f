"""The lead board: every agent's status, shift, load and longest wait, the unassigned queue, and the
selected agent's conversations; leads move conversations by dragging them onto an agent (or back onto the
queue) or through the context menu.

Every move is an ordinary assignment through the outbox (`Workspace.assign`), so it shows at once, survives
a restart and, if the server refuses it (409: someone changed it first; 403), stays on the conversation's
thread with the reason. The board reads the cache only (workstation/board.py); it refreshes when the main
window has taken in a change and every 30 seconds (waiting times, shifts starting and ending).

Drag and drop is Qt's own item-view machinery: the conversation lists' model exports the selected ids
(`mimeData`), and the agents' and lists' models take them (`canDropMimeData`/`dropMimeData`) and ask the
board to move them (`moves_requested`).
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
from datetime import datetime
from typing import Callable

from PySide6.QtCore import (
    QAbstractTableModel, QByteArray, QCoreApplication, QItemSelectionModel, QMimeData, QModelIndex,
    QPersistentModelIndex, Qt, QTimer, Signal,
)
from PySide6.QtGui import QBrush, QCloseEvent, QFont, QIcon, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMenu, QPushButton, QSplitter, QTableView,
    QVBoxLayout, QWidget,
)

from ui import crash
from ui.agent_status import agent_status_icon, agent_status_name
from ui.style import FAILED, MUTED, channel_icon, channel_name, short_time, title_font
from ui.team_dialogs import EditAgentDialog, RoutingDialog
from ui.thread_model import fill
from workstation import protocol
from workstation.board import BoardAgent, BoardConversation, BoardSnapshot, board_snapshot

log = logging.getLogger(__name__)

MIME_TYPE = "application/x-workstation-conversation-ids"
REFRESH_MS = 30_000  # waiting times, shifts and statuses are read again this often
CHANGE_DELAY_MS = 150  # a burst of changes (a sync of many pages) is one refresh
LEAD_ROLES = ("lead", "admin")
DEFAULT_CAPACITY = protocol.RoutingSettings().default_capacity  # until the team's rules have been read
MAX_REASON = 500

AgentIdRole = Qt.ItemDataRole.UserRole + 1
ConversationIdRole = Qt.ItemDataRole.UserRole + 2


def wait_text(since: datetime | None, now: datetime) -> str:
    """How long someone has waited: "<1 min", "12 min", "1 h 5 min", "2 d 3 h"."""
    if since is None:
        return ""
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 1:
        return QCoreApplication.translate("LeadBoard", "<1 min")
    if minutes < 60:
        return fill(QCoreApplication.translate("LeadBoard", "%1 min"), str(minutes))
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        if minutes == 0:
            return fill(QCoreApplication.translate("LeadBoard", "%1 h"), str(hours))
        return fill(QCoreApplication.translate("LeadBoard", "%1 h %2 min"), str(hours), str(minutes))
    days, hours = divmod(hours, 24)
    if hours == 0:
        return fill(QCoreApplication.translate("LeadBoard", "%1 d"), str(days))
    return fill(QCoreApplication.translate("LeadBoard", "%1 d %2 h"), str(days), str(hours))


def plain_tooltip(text: str) -> str:
    """A tooltip that shows `text` exactly as written: Qt would take "<b>…" in a tooltip for rich text."""
    return "<p style='white-space:pre-wrap'>" + html.escape(text) + "</p>"


def menu_text(text: str) -> str:
    """Text for a menu entry as written ("&" would otherwise mark a shortcut letter)."""
    return text.replace("&", "&&")


def encode_ids(ids: list[int]) -> QMimeData:
    mime = QMimeData()
    mime.setData(MIME_TYPE, QByteArray(json.dumps(list(ids)).encode()))
    return mime


def decode_ids(mime: QMimeData | None) -> list[int]:
    if mime is None or not mime.hasFormat(MIME_TYPE):
        return []
    try:
        ids = json.loads(bytes(mime.data(MIME_TYPE)).decode())
    except (ValueError, UnicodeDecodeError):
        return []
    if not isinstance(ids, list):
        return []
    return [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for r in rows:
        if runs and runs[-1][1] == r - 1:
            runs[-1] = (runs[-1][0], r)
        else:
            runs.append((r, r))
    return runs


class _KeyedRowsModel(QAbstractTableModel):
    """Rows with a stable key (an id). A refresh removes, inserts and reorders rows by key, so selections
    (several conversations picked for a drag) and the current row survive it."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list = []
        self._keys: list[int] = []

    @staticmethod
    def key_of(row) -> int:
        raise NotImplementedError

    def headers(self) -> list[str]:
        raise NotImplementedError

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.headers())

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            headers = self.headers()
            return headers[section] if 0 <= section < len(headers) else None
        return None

    def row_at(self, row: int):
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rows(self) -> list:
        return list(self._rows)

    def row_of(self, key: int | None) -> int:
        try:
            return self._keys.index(key)
        except ValueError:
            return -1

    def set_rows(self, rows: list) -> None:
        keys = [self.key_of(r) for r in rows]
        if keys == self._keys:
            self._rows = list(rows)
        else:
            by_key = dict(zip(keys, rows))
            wanted = set(keys)
            for first, last in reversed(_runs([i for i, k in enumerate(self._keys) if k not in wanted])):
                self.beginRemoveRows(QModelIndex(), first, last)
                del self._keys[first:last + 1]
                del self._rows[first:last + 1]
                self.endRemoveRows()
            self._rows = [by_key[k] for k in self._keys]
            kept = set(self._keys)
            added = [k for k in keys if k not in kept]
            if added:
                start = len(self._keys)
                self.beginInsertRows(QModelIndex(), start, start + len(added) - 1)
                self._keys += added
                self._rows += [by_key[k] for k in added]
                self.endInsertRows()
            if self._keys != keys:
                self.layoutAboutToBeChanged.emit()
                persistent = self.persistentIndexList()
                old = list(self._keys)
                self._keys, self._rows = list(keys), list(rows)
                position = {k: i for i, k in enumerate(keys)}
                self.changePersistentIndexList(
                    persistent, [self.index(position[old[p.row()]], p.column()) for p in persistent])
                self.layoutChanged.emit()
        if self._rows:
            # Times and counts may have changed in any row; the tables are small.
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, self.columnCount() - 1))


class BoardAgentsModel(_KeyedRowsModel):
    """The agents table. Leads drop conversations onto an agent's row to give them to that agent."""

    NAME, STATUS, SHIFT, LOAD, WAIT = range(5)
    moves_requested = Signal(list, object)  # conversation ids, agent id

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.now: datetime | None = None
        self.editable = False
        self._icons: dict[str, QIcon] = {}

    @staticmethod
    def key_of(row: BoardAgent) -> int:
        return row.agent_id

    def headers(self) -> list[str]:
        return [self.tr("Agent"), self.tr("Status"), self.tr("Shift today"), self.tr("Load"), self.tr("Longest wait")]

    def agent_at(self, row: int) -> BoardAgent | None:
        return self.row_at(row)

    def _icon(self, status: str) -> QIcon:
        if status not in self._icons:
            self._icons[status] = agent_status_icon(status)
        return self._icons[status]

    def shift_text(self, agent: BoardAgent) -> str:
        if not agent.has_schedule:
            return self.tr("Any time")
        return agent.shift_text or self.tr("Off today")

    def load_details(self, agent: BoardAgent) -> str:
        """"WhatsApp 2/3 · Other channels 1/5"; "All channels 3/5" for the team default."""
        if set(agent.capacities) == {protocol.ANY_CHANNEL}:
            return fill(self.tr("All channels %1/%2"), str(agent.load), str(agent.capacity))
        parts = []
        for key, cap in sorted(agent.capacities.items(), key=lambda kv: (kv[0] == protocol.ANY_CHANNEL, kv[0])):
            name = self.tr("Other channels") if key == protocol.ANY_CHANNEL else channel_name(key)
            parts.append(f"{name} {agent.key_loads.get(key, 0)}/{cap}")
        return " · ".join(parts)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        agent = self.agent_at(index.row()) if index.isValid() else None
        if agent is None:
            return None
        column = index.column()
        if role == AgentIdRole:
            return agent.agent_id
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return fill(self.tr("%1, %2, %3, load %4 of %5"), agent.name, agent_status_name(agent.status),
                        self.shift_text(agent), str(agent.load), str(agent.capacity))
        if column == self.NAME:
            if role == Qt.ItemDataRole.DisplayRole:
                return agent.name
            if role == Qt.ItemDataRole.DecorationRole:
                return self._icon(agent.status)
            if role == Qt.ItemDataRole.ToolTipRole:
                return plain_tooltip(f"{agent.name} · {self.role_name(agent.role)} · {agent_status_name(agent.status)}")
        elif column == self.STATUS:
            if role == Qt.ItemDataRole.DisplayRole:
                return agent_status_name(agent.status)
            if role == Qt.ItemDataRole.ToolTipRole and agent.status_changed_at is not None:
                return fill(self.tr("Since %1"), short_time(agent.status_changed_at, self.now))
        elif column == self.SHIFT:
            if role == Qt.ItemDataRole.DisplayRole:
                return self.shift_text(agent)
            if role == Qt.ItemDataRole.ForegroundRole and not agent.on_shift:
                return QBrush(MUTED)
            if role == Qt.ItemDataRole.ToolTipRole:
                state = self.tr("On shift now") if agent.on_shift else self.tr("Not on shift now")
                return plain_tooltip(fill(self.tr("%1 · times in %2"), state, agent.timezone))
        elif column == self.LOAD:
            if role == Qt.ItemDataRole.DisplayRole:
                return f"{agent.load}/{agent.capacity}"
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(Qt.AlignmentFlag.AlignCenter)
            if role == Qt.ItemDataRole.ForegroundRole and agent.load > agent.capacity:
                return QBrush(FAILED)
            if role == Qt.ItemDataRole.ToolTipRole:
                return plain_tooltip(self.load_details(agent))
        elif column == self.WAIT:
            if role == Qt.ItemDataRole.DisplayRole:
                return wait_text(agent.oldest_waiting_since, self.now) if self.now else ""
            if role == Qt.ItemDataRole.ToolTipRole and agent.oldest_waiting_since is not None:
                return fill(self.tr("A customer has waited for an answer since %1"),
                            short_time(agent.oldest_waiting_since, self.now))
        return None

    def role_name(self, role: str) -> str:
        return {"agent": self.tr("Agent"), "lead": self.tr("Lead"), "admin": self.tr("Admin")}.get(role, role)

    # -- drops ----------------------------------------------------------------------------------------------
    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        agent = self.agent_at(index.row())
        if self.editable and agent is not None and agent.known:
            flags |= Qt.ItemFlag.ItemIsDropEnabled
        return flags

    def mimeTypes(self) -> list[str]:  # noqa: N802 (Qt override)
        return [MIME_TYPE]

    def supportedDropActions(self) -> Qt.DropAction:  # noqa: N802 (Qt override)
        # A plain drag is a move; a drop made without a drag of ours in progress (another app) says "copy".
        return Qt.DropAction.MoveAction | Qt.DropAction.CopyAction

    def _target(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> BoardAgent | None:
        agent = self.agent_at(parent.row() if parent.isValid() else row)
        return agent if agent is not None and agent.known else None

    def canDropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,  # noqa: N802
                        parent: QModelIndex | QPersistentModelIndex) -> bool:
        return self.editable and bool(decode_ids(data)) and self._target(row, parent) is not None

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,  # noqa: N802
                     parent: QModelIndex | QPersistentModelIndex) -> bool:
        if not self.canDropMimeData(data, action, row, column, parent):
            return False
        self.moves_requested.emit(decode_ids(data), self._target(row, parent).agent_id)
        return True


class BoardConversationsModel(_KeyedRowsModel):
    """The unassigned queue, or one agent's conversations. Leads drag rows out of it, and drop rows onto it:
    onto the queue to unassign them, onto an agent's list to give them to that agent."""

    CUSTOMER, CHANNEL, WAITING, MESSAGE = range(4)
    moves_requested = Signal(list, object)  # conversation ids, agent id (None: the queue)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.now: datetime | None = None
        self.editable = False
        # Where a drop here sends conversations: None, the queue; an agent id; False: nowhere (no drops).
        self.drop_target: int | None | bool = False
        self.failed: dict[int, str] = {}
        self._icons: dict[str, QIcon] = {}

    @staticmethod
    def key_of(row: BoardConversation) -> int:
        return row.conversation_id

    def headers(self) -> list[str]:
        return [self.tr("Customer"), self.tr("Channel"), self.tr("Waiting"), self.tr("Last message")]

    def conversation_at(self, row: int) -> BoardConversation | None:
        return self.row_at(row)

    def _icon(self, channel: str) -> QIcon:
        if channel not in self._icons:
            self._icons[channel] = channel_icon(channel, 16)
        return self._icons[channel]

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        conversation = self.conversation_at(index.row()) if index.isValid() else None
        if conversation is None:
            return None
        column = index.column()
        failed = self.failed.get(conversation.conversation_id)
        waited = wait_text(conversation.waiting_since, self.now) if self.now and conversation.waiting_since else ""
        if role == ConversationIdRole:
            return conversation.conversation_id
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return fill(self.tr("%1, %2, waiting %3: %4"), conversation.customer_name,
                        channel_name(conversation.channel), waited or "-", conversation.preview)
        if role == Qt.ItemDataRole.ForegroundRole and failed is not None:
            return QBrush(FAILED)
        if role == Qt.ItemDataRole.ToolTipRole and failed is not None:
            return plain_tooltip(fill(self.tr("Not moved: %1"), failed or self.tr("refused by the server")))
        if column == self.CUSTOMER:
            if role == Qt.ItemDataRole.DisplayRole:
                return conversation.customer_name
            if role == Qt.ItemDataRole.DecorationRole:
                return self._icon(conversation.channel)
            if role == Qt.ItemDataRole.ToolTipRole:
                return plain_tooltip(conversation.customer_name)
        elif column == self.CHANNEL:
            if role == Qt.ItemDataRole.DisplayRole:
                return channel_name(conversation.channel)
        elif column == self.WAITING:
            if role == Qt.ItemDataRole.DisplayRole:
                return waited
            if role == Qt.ItemDataRole.ToolTipRole and conversation.waiting_since is not None:
                text = self.tr("Waiting for an answer since %1") if conversation.waiting else self.tr("Since %1")
                return fill(text, short_time(conversation.waiting_since, self.now))
        elif column == self.MESSAGE:
            if role == Qt.ItemDataRole.DisplayRole:
                return " ".join(conversation.preview.split())
            if role == Qt.ItemDataRole.ToolTipRole:
                return plain_tooltip(conversation.preview)
        return None

    # -- drags and drops ------------------------------------------------------------------------------------
    @property
    def accepts_drops(self) -> bool:
        return self.editable and self.drop_target is not False

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.ItemIsDropEnabled if self.accepts_drops else Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if self.editable:
            flags |= Qt.ItemFlag.ItemIsDragEnabled
        if self.accepts_drops:
            flags |= Qt.ItemFlag.ItemIsDropEnabled
        return flags

    def mimeTypes(self) -> list[str]:  # noqa: N802 (Qt override)
        return [MIME_TYPE]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData | None:  # noqa: N802 (Qt override)
        ids = []
        for index in sorted(indexes, key=lambda i: i.row()):
            conversation = self.conversation_at(index.row()) if index.isValid() else None
            if conversation is not None and conversation.conversation_id not in ids:
                ids.append(conversation.conversation_id)
        return encode_ids(ids) if ids and self.editable else None

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802 (Qt override)
        return Qt.DropAction.MoveAction

    def supportedDropActions(self) -> Qt.DropAction:  # noqa: N802 (Qt override)
        return Qt.DropAction.MoveAction | Qt.DropAction.CopyAction

    def canDropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,  # noqa: N802
                        parent: QModelIndex | QPersistentModelIndex) -> bool:
        return self.accepts_drops and bool(decode_ids(data))

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,  # noqa: N802
                     parent: QModelIndex | QPersistentModelIndex) -> bool:
        if not self.canDropMimeData(data, action, row, column, parent):
            return False
        self.moves_requested.emit(decode_ids(data), self.drop_target)
        return True

    # The rows stay where they are until the move shows in the cache: never removed by the drag itself.
    def removeRows(self, row: int, count: int,  # noqa: N802 (Qt override)
                   parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:
        return False

    def setItemData(self, index, roles) -> bool:  # noqa: N802 (Qt override: a table view "clears" moved cells)
        return False


def _table(parent: QWidget, name: str, accessible: str) -> QTableView:
    view = QTableView(parent)
    view.setObjectName(name)
    view.setAccessibleName(accessible)
    view.verticalHeader().hide()
    view.setShowGrid(False)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    view.setDragDropOverwriteMode(True)  # a drop lands on a row, never between rows
    view.setDefaultDropAction(Qt.DropAction.MoveAction)
    view.horizontalHeader().setHighlightSections(False)
    view.horizontalHeader().setStretchLastSection(True)
    return view


class LeadBoard(QWidget):
    """The board, as a window of its own. Leads and admins move conversations; agents see it read-only."""

    refreshed = Signal()
    moves_queued = Signal(list, object)  # conversation ids now in the outbox, agent id (None: the queue)

    def __init__(self, workspace, parent: QWidget | None = None, *,
                 open_conversation: Callable[[int], None] | None = None,
                 open_care_settings: Callable[[], object] | None = None,
                 open_channels: Callable[[], object] | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("leadBoard")
        self.setWindowTitle(self.tr("Team board"))
        self.workspace = workspace
        self._open_conversation = open_conversation
        self.snapshot: BoardSnapshot | None = None
        self.routing: protocol.RoutingSettings | None = None
        self.editable = False
        self._role_applied = False
        self.closing = False
        self._tasks: dict[str, asyncio.Task] = {}
        self._background: set[asyncio.Task] = set()
        self.context_menu: QMenu | None = None
        self.routing_dialog: RoutingDialog | None = None
        self.edit_agent_dialog: EditAgentDialog | None = None
        self.resize(1180, 720)

        title = QLabel(self.tr("Team board"), self)
        title.setFont(title_font(title.font()))
        self.reason_edit = QLineEdit(self)
        self.reason_edit.setObjectName("moveReason")
        self.reason_edit.setMaxLength(MAX_REASON)
        self.reason_edit.setClearButtonEnabled(True)
        self.reason_edit.setPlaceholderText(self.tr("Reason (optional)"))
        self.reason_edit.setAccessibleName(self.tr("Reason for the next move"))
        self.reason_edit.setToolTip(self.tr("Kept with the next conversations you move, in their history"))
        self.reason_edit.setMinimumWidth(260)
        self.routing_button = QPushButton(self.tr("Routing settings…"), self)
        self.routing_button.setObjectName("routingButton")
        # Business hours, response targets, priority rules and the out-of-hours reply (ui/care_dialog.py).
        self.care_button = QPushButton(self.tr("Hours and SLA…"), self)
        self.care_button.setObjectName("careButton")
        self._open_care_settings = open_care_settings
        # Each channel's health, and connecting channels for admins (ui/channels_dialog.py).
        self.channels_button = QPushButton(self.tr("Channels…"), self)
        self.channels_button.setObjectName("channelsButton")
        self._open_channels = open_channels
        self.edit_agent_button = QPushButton(self.tr("Edit agent…"), self)
        self.edit_agent_button.setObjectName("editAgentButton")
        self.read_only_label = QLabel(self.tr("Read only: only leads move conversations."), self)
        self.read_only_label.setObjectName("readOnlyLabel")
        self.read_only_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        top = QHBoxLayout()
        top.addWidget(title)
        top.addSpacing(16)
        top.addWidget(self.reason_edit, 1)
        top.addWidget(self.read_only_label, 1)
        top.addWidget(self.routing_button)
        top.addWidget(self.care_button)
        top.addWidget(self.channels_button)
        top.addWidget(self.edit_agent_button)

        bold = QFont(self.font())
        bold.setBold(True)
        self.agents_model = BoardAgentsModel(self)
        self.agents_view = _table(self, "boardAgents", self.tr("Agents"))
        self.agents_view.setModel(self.agents_model)
        self.agents_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.agents_view.horizontalHeader()
        header.setSectionResizeMode(BoardAgentsModel.NAME, QHeaderView.ResizeMode.Stretch)
        for column in (BoardAgentsModel.STATUS, BoardAgentsModel.SHIFT, BoardAgentsModel.LOAD):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(BoardAgentsModel.WAIT, QHeaderView.ResizeMode.ResizeToContents)
        agents_title = QLabel(self.tr("Agents"), self)
        agents_title.setFont(bold)

        self.agent_conversations_model = BoardConversationsModel(self)
        self.agent_conversations_view = _table(self, "boardAgentConversations", self.tr("The agent's conversations"))
        self.agent_conversations_view.setModel(self.agent_conversations_model)
        self.agent_conversations_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.agent_conversations_title = QLabel(self)
        self.agent_conversations_title.setObjectName("agentConversationsTitle")
        self.agent_conversations_title.setTextFormat(Qt.TextFormat.PlainText)
        self.agent_conversations_title.setFont(bold)

        self.queue_model = BoardConversationsModel(self)
        self.queue_model.drop_target = None
        self.queue_view = _table(self, "boardQueue", self.tr("Unassigned queue"))
        self.queue_view.setModel(self.queue_model)
        self.queue_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.queue_title = QLabel(self)
        self.queue_title.setObjectName("queueTitle")
        self.queue_title.setTextFormat(Qt.TextFormat.PlainText)
        self.queue_title.setFont(bold)
        for view in (self.queue_view, self.agent_conversations_view):
            view.horizontalHeader().setSectionResizeMode(BoardConversationsModel.CUSTOMER,
                                                         QHeaderView.ResizeMode.Interactive)
            view.setColumnWidth(BoardConversationsModel.CUSTOMER, 180)
            view.setColumnWidth(BoardConversationsModel.CHANNEL, 90)
            view.setColumnWidth(BoardConversationsModel.WAITING, 90)

        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(agents_title)
        left_layout.addWidget(self.agents_view, 3)
        left_layout.addWidget(self.agent_conversations_title)
        left_layout.addWidget(self.agent_conversations_view, 2)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.queue_title)
        right_layout.addWidget(self.queue_view, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([620, 560])

        self.notice = QLabel(self)  # our moves the server refused, or still queued
        self.notice.setObjectName("boardNotice")
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setWordWrap(True)
        self.notice.hide()
        self.message = QLabel(self)  # what the last action did
        self.message.setObjectName("boardMessage")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        hint = QLabel(self.tr("Drag conversations onto an agent, or onto the queue to unassign them; "
                              "right-click for more."), self)
        hint.setObjectName("boardHint")
        hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.hint = hint

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.notice)
        layout.addWidget(self.message)
        layout.addWidget(hint)

        self._tick = QTimer(self)
        self._tick.setInterval(REFRESH_MS)
        self._tick.timeout.connect(self.refresh)
        self._change_timer = QTimer(self)
        self._change_timer.setSingleShot(True)
        self._change_timer.setInterval(CHANGE_DELAY_MS)
        self._change_timer.timeout.connect(self.refresh)

        self.agents_model.moves_requested.connect(self.on_moves_requested)
        self.queue_model.moves_requested.connect(self.on_moves_requested)
        self.agent_conversations_model.moves_requested.connect(self.on_moves_requested)
        self.agents_view.selectionModel().currentRowChanged.connect(self.on_agents_current_row_changed)
        self.agents_view.customContextMenuRequested.connect(self.on_agents_view_context_menu_requested)
        self.queue_view.customContextMenuRequested.connect(
            lambda pos: self.show_conversation_menu(self.queue_view, pos))
        self.agent_conversations_view.customContextMenuRequested.connect(
            lambda pos: self.show_conversation_menu(self.agent_conversations_view, pos))
        self.queue_view.doubleClicked.connect(self.on_conversation_double_clicked)
        self.agent_conversations_view.doubleClicked.connect(self.on_conversation_double_clicked)
        self.routing_button.clicked.connect(self.open_routing)
        self.care_button.clicked.connect(self.on_care_button_clicked)
        self.channels_button.clicked.connect(self.on_channels_button_clicked)
        self.edit_agent_button.clicked.connect(lambda: self.open_edit_agent())
        self._apply_role(workspace.agent.role)
        self._show_titles()

    # -- life --------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Reads the team's routing rules (for the default capacity) and the board, and keeps it current."""
        self._tick.start()
        self.refresh()
        self._run("routing", self._load_routing())

    def request_refresh(self, *_args) -> None:
        """Something changed (the main window took in a sync or a local write): refresh shortly. A stream of
        changes (a long sync) refreshes every CHANGE_DELAY_MS, not only once it has ended."""
        if not self.closing and not self._change_timer.isActive():
            self._change_timer.start()

    def refresh(self) -> None:
        if not self.closing:
            self._run("refresh", self._refresh())

    async def _refresh(self) -> None:
        self.show_snapshot(await board_snapshot(self.workspace, default_capacity=self.default_capacity))

    async def _load_routing(self) -> None:
        try:
            self.routing = await self.workspace.api.routing()
        except Exception as exc:  # offline, signed out, refused: the default capacity stays as it is
            log.info("routing rules not read for the board: %s", exc)
            return
        self.refresh()

    @property
    def default_capacity(self) -> int:
        return self.routing.default_capacity if self.routing is not None else DEFAULT_CAPACITY

    def _run(self, name: str, coro) -> None:
        old = self._tasks.get(name)
        if old is not None and not old.done():
            old.cancel()
        task = asyncio.ensure_future(coro)
        self._tasks[name] = task
        task.add_done_callback(self._task_done)

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            crash.report(type(exc), exc, exc.__traceback__, context=f"lead board task {task.get_name()}")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        self.closing = True
        self._tick.stop()
        self._change_timer.stop()
        for task in list(self._tasks.values()) + list(self._background):
            task.cancel()
        super().closeEvent(event)

    # -- showing -----------------------------------------------------------------------------------------
    def show_snapshot(self, snapshot: BoardSnapshot) -> None:
        self.snapshot = snapshot
        me = snapshot.agent(self.workspace.agent.id)
        # Our role as synced (an admin may have changed it); the server decides in the end anyway.
        self._apply_role(me.role if me is not None and me.known else self.workspace.agent.role)
        self.agents_model.now = snapshot.now
        self.agents_model.set_rows(snapshot.agents)
        for model in (self.queue_model, self.agent_conversations_model):
            model.now = snapshot.now
            model.failed = snapshot.failed_moves
        self.queue_model.set_rows(snapshot.queue)
        if not self.agents_view.currentIndex().isValid() and self.agents_model.rowCount():
            self.agents_view.setCurrentIndex(self.agents_model.index(0, 0))
        self._show_agent_conversations()
        self._show_titles()
        self._show_notice(snapshot)
        self.refreshed.emit()

    def selected_agent(self) -> BoardAgent | None:
        index = self.agents_view.currentIndex()
        return self.agents_model.agent_at(index.row()) if index.isValid() else None

    def on_agents_current_row_changed(self, _current: QModelIndex, _previous: QModelIndex) -> None:
        self._show_agent_conversations()
        self._show_titles()

    def _show_agent_conversations(self) -> None:
        agent = self.selected_agent()
        model = self.agent_conversations_model
        model.drop_target = agent.agent_id if agent is not None and agent.known else False
        rows = self.snapshot.conversations.get(agent.agent_id, []) if agent and self.snapshot else []
        if rows and model.rowCount() and model.row_at(0).assignee_id != agent.agent_id:
            model.set_rows([])  # another agent's list: start afresh, with no selection carried over
        model.set_rows(rows)
        self.edit_agent_button.setEnabled(agent is not None and agent.known)

    def _show_titles(self) -> None:
        agent = self.selected_agent()
        self.agent_conversations_title.setText(
            fill(self.tr("Conversations of %1"), agent.name) if agent is not None else self.tr("Conversations"))
        snapshot = self.snapshot
        if snapshot is None:
            self.queue_title.setText(self.tr("Unassigned queue"))
            return
        count = snapshot.queue_total
        if count == 0:
            self.queue_title.setText(self.tr("Unassigned queue · nobody waiting"))
        else:
            longest = wait_text(snapshot.queue[0].waiting_since, snapshot.now) if snapshot.queue else ""
            text = self.tr("Unassigned queue · 1 conversation") if count == 1 else \
                fill(self.tr("Unassigned queue · %1 conversations"), str(count))
            if longest:
                text += " · " + fill(self.tr("longest %1"), longest)
            self.queue_title.setText(text)

    def _show_notice(self, snapshot: BoardSnapshot) -> None:
        parts = []
        failed = len(snapshot.failed_moves)
        if failed == 1:
            parts.append(self.tr("1 move was refused (in red): open the conversation to see why, retry or discard it."))
        elif failed:
            parts.append(fill(self.tr("%1 moves were refused (in red): open a conversation to see why, retry or "
                                      "discard it."), str(failed)))
        if snapshot.queued_moves == 1:
            parts.append(self.tr("1 move waiting to be sent."))
        elif snapshot.queued_moves:
            parts.append(fill(self.tr("%1 moves waiting to be sent."), str(snapshot.queued_moves)))
        self.notice.setText(" ".join(parts))
        self.notice.setStyleSheet("color: #C62828;" if failed else "")
        self.notice.setVisible(bool(parts))

    def _apply_role(self, role: str) -> None:
        editable = role in LEAD_ROLES
        if editable == self.editable and self._role_applied:
            return
        self._role_applied = True
        self.editable = editable
        for model in (self.agents_model, self.queue_model, self.agent_conversations_model):
            model.editable = editable
        drag_drop = QAbstractItemView.DragDropMode.DragDrop if editable else QAbstractItemView.DragDropMode.NoDragDrop
        self.queue_view.setDragDropMode(drag_drop)
        self.agent_conversations_view.setDragDropMode(drag_drop)
        self.agents_view.setDragDropMode(
            QAbstractItemView.DragDropMode.DropOnly if editable else QAbstractItemView.DragDropMode.NoDragDrop)
        for view in (self.queue_view, self.agent_conversations_view, self.agents_view):
            view.setDropIndicatorShown(editable)
        for widget in (self.reason_edit, self.routing_button, self.edit_agent_button, self.hint):
            widget.setVisible(editable)
        self.care_button.setVisible(editable and self._open_care_settings is not None)
        self.channels_button.setVisible(editable and self._open_channels is not None)
        self.read_only_label.setVisible(not editable)
        if not editable and self.context_menu is not None:
            self.context_menu.close()

    # -- moving ------------------------------------------------------------------------------------------
    def on_moves_requested(self, ids: list, agent_id) -> None:
        self.move_conversations(list(ids), agent_id)

    def move_conversations(self, ids: list[int], agent_id: int | None) -> int:
        """Queues the moves (with the reason typed above, which is then cleared); returns how many. Leads
        only: on an agent's board nothing moves (and the server would refuse it)."""
        if not self.editable or self.snapshot is None:
            return 0
        todo = []
        for conversation_id in dict.fromkeys(ids):
            row = self.snapshot.conversation(conversation_id)
            if row is None or row.assignee_id != agent_id:
                todo.append(conversation_id)
        if not todo:
            self.message.setText(self.tr("Already there: nothing to move."))
            return 0
        reason = self.reason_edit.text().strip()[:MAX_REASON]
        self.reason_edit.clear()
        self._spawn(self._move(todo, agent_id, reason))
        return len(todo)

    async def _move(self, ids: list[int], agent_id: int | None, reason: str) -> None:
        moved = []
        for conversation_id in ids:
            try:
                await self.workspace.assign(conversation_id, agent_id, reason)
            except KeyError:  # no longer in the cache (the server's database was replaced meanwhile)
                log.info("conversation %s is gone; not moved", conversation_id)
                continue
            moved.append(conversation_id)
        if self.closing:
            return
        agent = self.snapshot.agent(agent_id) if self.snapshot is not None and agent_id is not None else None
        if agent_id is None:
            text = self.tr("Moved 1 conversation to the unassigned queue.") if len(moved) == 1 else \
                fill(self.tr("Moved %1 conversations to the unassigned queue."), str(len(moved)))
        else:
            name = agent.name if agent is not None else f"#{agent_id}"
            text = fill(self.tr("Moved 1 conversation to %1."), name) if len(moved) == 1 else \
                fill(self.tr("Moved %1 conversations to %2."), str(len(moved)), name)
        self.message.setText(text)
        self.moves_queued.emit(moved, agent_id)
        self.refresh()

    def selected_ids(self, view: QTableView) -> list[int]:
        rows = sorted({index.row() for index in view.selectionModel().selectedRows()})
        model = view.model()
        return [model.conversation_at(r).conversation_id for r in rows if model.conversation_at(r) is not None]

    def conversation_menu(self, view: QTableView, pos) -> QMenu | None:
        """The context menu of a conversation list at `pos` (view coordinates): Assign to ▸ each agent, or
        the unassigned queue; None on an agent's (read-only) board."""
        index = view.indexAt(pos)
        selection = view.selectionModel()
        if index.isValid() and not selection.isRowSelected(index.row(), QModelIndex()):
            view.setCurrentIndex(index)
            selection.select(index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                             | QItemSelectionModel.SelectionFlag.Rows)
        ids = self.selected_ids(view)
        if not ids or self.snapshot is None:
            return None
        menu = QMenu(self)
        menu.setObjectName("boardConversationMenu")
        if self.editable:
            assignees = {self.snapshot.conversation(i).assignee_id if self.snapshot.conversation(i) else -1
                         for i in ids}
            assign = menu.addMenu(self.tr("Assign to"))
            assign.setObjectName("assignToMenu")
            for agent in self.snapshot.agents:
                if not agent.known:
                    continue
                action = assign.addAction(agent_status_icon(agent.status),
                                          menu_text(f"{agent.name} · {agent.load}/{agent.capacity}"))
                action.setObjectName(f"assignTo{agent.agent_id}")
                action.setEnabled(assignees != {agent.agent_id})
                action.triggered.connect(lambda _checked=False, a=agent.agent_id, c=ids: self.move_conversations(c, a))
            assign.addSeparator()
            queue = assign.addAction(self.tr("Unassigned queue"))
            queue.setObjectName("assignToQueue")
            queue.setEnabled(assignees != {None})
            queue.triggered.connect(lambda _checked=False, c=ids: self.move_conversations(c, None))
        if self._open_conversation is not None and len(ids) == 1:
            if self.editable:
                menu.addSeparator()
            open_action = menu.addAction(self.tr("Open conversation"))
            open_action.setObjectName("openConversation")
            open_action.triggered.connect(lambda _checked=False, c=ids[0]: self._open_conversation(c))
        if menu.isEmpty():
            menu.deleteLater()
            return None
        return menu

    def show_conversation_menu(self, view: QTableView, pos) -> QMenu | None:
        if not self.editable:
            return None  # agents: no menu (open a conversation with a double click)
        return self._popup(self.conversation_menu(view, pos), view, pos)

    def agent_menu(self, pos) -> QMenu | None:
        index = self.agents_view.indexAt(pos)
        if not self.editable or not index.isValid():
            return None
        self.agents_view.setCurrentIndex(index)
        agent = self.agents_model.agent_at(index.row())
        menu = QMenu(self)
        menu.setObjectName("boardAgentMenu")
        edit = menu.addAction(self.tr("Edit agent…"))
        edit.setObjectName("editAgent")
        edit.setEnabled(agent is not None and agent.known)
        edit.triggered.connect(lambda _checked=False, a=agent: self.open_edit_agent(a))
        routing = menu.addAction(self.tr("Routing settings…"))
        routing.setObjectName("routingSettings")
        routing.triggered.connect(self.open_routing)
        return menu

    def on_agents_view_context_menu_requested(self, pos) -> None:
        self._popup(self.agent_menu(pos), self.agents_view, pos)

    def _popup(self, menu: QMenu | None, view: QTableView, pos) -> QMenu | None:
        if self.context_menu is not None:
            self.context_menu.deleteLater()
        self.context_menu = menu
        if menu is not None:
            # popup, not exec: a nested event loop would hold up the sync while the menu is open.
            menu.popup(view.viewport().mapToGlobal(pos))
        return menu

    def on_conversation_double_clicked(self, index: QModelIndex) -> None:
        conversation_id = index.data(ConversationIdRole)
        if conversation_id is not None and self._open_conversation is not None:
            self._open_conversation(conversation_id)

    # -- team settings -----------------------------------------------------------------------------------
    def open_routing(self) -> RoutingDialog | None:
        if not self.editable:
            return None
        dialog = RoutingDialog(self.workspace.api.routing, self.workspace.api.set_routing, self)
        dialog.saved.connect(self.on_routing_saved)
        dialog.finished.connect(dialog.deleteLater)
        self.routing_dialog = dialog
        dialog.open()
        return dialog

    def on_channels_button_clicked(self) -> None:
        if self.editable and self._open_channels is not None:
            self._open_channels()

    def on_care_button_clicked(self) -> None:
        if self.editable and self._open_care_settings is not None:
            self._open_care_settings()

    def on_routing_saved(self, settings: protocol.RoutingSettings) -> None:
        self.routing = settings
        self.message.setText(self.tr("Routing settings saved."))
        self.refresh()

    def open_edit_agent(self, agent: BoardAgent | None = None) -> EditAgentDialog | None:
        agent = agent or self.selected_agent()
        if not self.editable or agent is None or not agent.known:
            return None
        dialog = EditAgentDialog(agent, self.workspace.api.update_agent, default_capacity=self.default_capacity,
                                 parent=self)
        dialog.saved.connect(self.on_agent_saved)
        dialog.finished.connect(dialog.deleteLater)
        self.edit_agent_dialog = dialog
        dialog.open()
        return dialog

    def on_agent_saved(self, agent: protocol.AgentPublic) -> None:
        self.message.setText(fill(self.tr("Saved %1's time zone, shifts and capacity."), agent.name))
        self.workspace.engine.request_pull()  # the board shows it once synced


def open_lead_board(main_window) -> LeadBoard:
    """Opens (or brings to the front) the team board of this main window: a window of its own, refreshed
    whenever the main window takes in a change, closed with it. Leads move conversations on it; agents
    see it read-only."""
    board = next((b for b in main_window.findChildren(LeadBoard) if not b.closing), None)
    if board is None:
        board = LeadBoard(main_window.workspace, main_window, open_conversation=main_window.open_conversation,
                          open_care_settings=main_window.open_care_settings,
                          open_channels=main_window.open_channels)
        board.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        # The main window reloads its feed after every change the core reports (a sync page, a local write,
        # a refused write): the board follows the same beat without a hook of its own.
        main_window.feed_loaded.connect(board.request_refresh)
        main_window.closed.connect(board.close)
        board.start()
    board.show()
    board.raise_()
    board.activateWindow()
    return board
