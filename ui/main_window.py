"""The agent's main window: merged feed, conversation thread with composer, customer pane and canned panel."""

from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import QModelIndex, QTimer, Qt, Signal
from PySide6.QtGui import QCloseEvent, QFont
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QLabel, QLineEdit, QListView, QMainWindow, QMenu, QProgressBar, QPushButton,
    QSplitter, QStackedWidget, QTabWidget, QVBoxLayout, QWidget,
)

from ui.canned_panel import CannedPanel
from ui.composer import Composer
from ui.customer_pane import CustomerPane
from ui.feed_delegate import FeedDelegate
from ui.feed_model import ConversationIdRole, FeedModel
from ui.style import channel_name, status_name
from ui.thread_delegate import ThreadDelegate
from ui.thread_model import FailedRole, OpIdRole, ThreadModel
from workstation import canned
from workstation.cache import ChangeSet, FeedRow, SearchHit
from workstation.sync import CONNECTING, OFFLINE, ONLINE, SIGNED_OUT
from workstation.workspace import Workspace

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    closed = Signal()
    feed_loaded = Signal(int)  # rows now in the feed
    thread_loaded = Signal(int, int)  # conversation id, messages shown

    def __init__(self, workspace: Workspace, *, language: str) -> None:
        super().__init__()
        self.workspace = workspace
        self.language = language
        self.current_conversation: int | None = None
        self._tasks: dict[str, asyncio.Task] = {}
        self._background: set[asyncio.Task] = set()
        self._first_feed = True
        agent = workspace.agent
        self.setWindowTitle(self.tr("Workstation — %1").replace("%1", agent.name))
        self.resize(1320, 820)

        self.feed_model = FeedModel(self)
        self.feed_view = QListView(self)
        self.feed_view.setObjectName("feedView")
        self.feed_view.setModel(self.feed_model)
        self.feed_view.setItemDelegate(FeedDelegate(self.feed_view))
        self.feed_view.setMouseTracking(True)
        self.feed_view.setUniformItemSizes(True)
        self.feed_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.feed_view.setMinimumWidth(280)
        feed_title = QLabel(self.tr("Conversations"), self)
        title_font = QFont(feed_title.font())
        title_font.setBold(True)
        title_font.setPointSizeF(title_font.pointSizeF() * 1.15)
        feed_title.setFont(title_font)
        self.search_edit = QLineEdit(self)
        self.search_edit.setObjectName("searchEdit")
        self.search_edit.setPlaceholderText(self.tr("Search messages, customers, numbers…"))
        self.search_edit.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(120)
        feed_box = QWidget(self)
        feed_layout = QVBoxLayout(feed_box)
        feed_layout.setContentsMargins(8, 8, 0, 0)
        feed_layout.addWidget(feed_title)
        feed_layout.addWidget(self.search_edit)
        feed_layout.addWidget(self.feed_view, 1)

        self.thread_header = QLabel(self)
        self.thread_header.setObjectName("threadHeader")
        self.thread_header.setTextFormat(Qt.TextFormat.PlainText)
        self.thread_header.setFont(title_font)
        self.conversation_state = QLabel(self)
        self.conversation_state.setObjectName("conversationState")
        self.conversation_state.setTextFormat(Qt.TextFormat.PlainText)
        self.conversation_state.setStyleSheet("color: #4B5563;")
        self.assign_button = QPushButton(self)
        self.assign_button.setObjectName("assignButton")
        self.status_button = QPushButton(self)
        self.status_button.setObjectName("statusButton")
        header = QWidget(self)
        header_layout = QHBoxLayout(header)
        header_layout.setContentsMargins(12, 8, 8, 4)
        header_layout.addWidget(self.thread_header)
        header_layout.addWidget(self.conversation_state)
        header_layout.addStretch(1)
        header_layout.addWidget(self.assign_button)
        header_layout.addWidget(self.status_button)
        self.header = header
        self.thread_model = ThreadModel(self)
        self.thread_view = QListView(self)
        self.thread_view.setObjectName("threadView")
        self.thread_view.setModel(self.thread_model)
        self.thread_view.setItemDelegate(ThreadDelegate(self.thread_view))
        self.thread_view.setResizeMode(QListView.ResizeMode.Adjust)
        self.thread_view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.thread_view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.thread_view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.thread_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.empty_thread = QLabel(self.tr("Select a conversation in the feed."), self)
        self.empty_thread.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_thread.setStyleSheet("color: #6B7280;")
        self.thread_stack = QStackedWidget(self)
        self.thread_stack.addWidget(self.empty_thread)
        self.thread_stack.addWidget(self.thread_view)
        self.composer = Composer(self)
        self.composer.setEnabled(False)
        center = QWidget(self)
        center_layout = QVBoxLayout(center)
        center_layout.setContentsMargins(0, 0, 0, 0)
        center_layout.setSpacing(0)
        center_layout.addWidget(self.header)
        center_layout.addWidget(self.thread_stack, 1)
        center_layout.addWidget(self.composer)

        self.customer_pane = CustomerPane(self)
        self.canned_panel = CannedPanel(workspace.canned, language, self)
        side = QTabWidget(self)
        side.setObjectName("sideTabs")
        side.addTab(self.customer_pane, self.tr("Customer"))
        side.addTab(self.canned_panel, self.tr("Canned responses"))
        side.setMinimumWidth(280)
        self.side_tabs = side

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(feed_box)
        splitter.addWidget(center)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setStretchFactor(2, 0)
        splitter.setSizes([340, 640, 340])
        splitter.setChildrenCollapsible(False)
        self.setCentralWidget(splitter)

        self.sync_progress = QProgressBar(self)
        self.sync_progress.setObjectName("syncProgress")
        self.sync_progress.setMaximumWidth(220)
        self.sync_progress.setFormat(self.tr("Syncing… %p%"))
        self.sync_progress.hide()
        self.failed_label = QLabel(self)
        self.failed_label.setObjectName("failedLabel")
        self.failed_label.setStyleSheet("color: #C62828; padding: 0 8px;")
        self.failed_label.hide()
        self.connection_label = QLabel(self)
        self.connection_label.setObjectName("connectionLabel")
        self.statusBar().addPermanentWidget(self.sync_progress)
        self.statusBar().addPermanentWidget(self.failed_label)
        self.statusBar().addPermanentWidget(self.connection_label)
        self.on_workspace_state(CONNECTING, 0)
        self._show_thread_header(None)

        self._agent_names: dict[int, str] = {}
        self._conversation = None
        self._show_conversation_state(None)
        self.feed_view.selectionModel().currentChanged.connect(self.on_feed_current_changed)
        self.composer.reply_submitted.connect(self.on_composer_reply_submitted)
        self.composer.note_submitted.connect(self.on_composer_note_submitted)
        self.canned_panel.insert_requested.connect(self.on_canned_insert_requested)
        self.search_edit.textChanged.connect(lambda _text: self._search_timer.start())
        self._search_timer.timeout.connect(self.on_search_timer_timeout)
        self.thread_view.customContextMenuRequested.connect(self.on_thread_context_menu_requested)
        self.assign_button.clicked.connect(self.on_assign_button_clicked)
        self.status_button.clicked.connect(self.on_status_button_clicked)

    # -- core callbacks (called on the loop, which is the Qt thread) --------------------------------------
    def on_workspace_changed(self, cs: ChangeSet) -> None:
        self._run("feed", self._reload_feed())
        self._run("failed", self._show_failed_ops())
        if self.current_conversation is not None and (cs.reset or self.current_conversation in cs.conversation_ids):
            self._run("thread", self._load_conversation(self.current_conversation, scroll=True))

    def on_workspace_progress(self, done: int, total: int) -> None:
        if done >= total:
            self.sync_progress.hide()
            return
        self.sync_progress.setMaximum(total)
        self.sync_progress.setValue(done)
        self.sync_progress.show()

    async def _show_failed_ops(self) -> None:
        failed = await self.workspace.failed_ops()
        self.failed_label.setText(self.tr("%1 not sent").replace("%1", str(failed)))
        self.failed_label.setVisible(failed > 0)

    def on_workspace_state(self, state: str, queued: int) -> None:
        texts = {
            ONLINE: ("#15803D", self.tr("● Online")),
            CONNECTING: ("#B45309", self.tr("● Connecting…")),
            OFFLINE: ("#C62828", self.tr("● Offline — reconnecting")),
            SIGNED_OUT: ("#C62828", self.tr("● Signed out — sign in again")),
        }
        colour, text = texts.get(state, ("#6B7280", state))
        if queued:
            text += " · " + self.tr("%1 queued").replace("%1", str(queued))
        self.connection_label.setText(text)
        self.connection_label.setStyleSheet(f"color: {colour}; padding: 0 8px;")

    # -- tasks --------------------------------------------------------------------------------------------
    def _run(self, name: str, coro) -> None:
        """Runs a named task; a newer task of the same name replaces (cancels) the older one."""
        old = self._tasks.get(name)
        if old is not None and not old.done():
            old.cancel()
        task = asyncio.ensure_future(coro)
        self._tasks[name] = task
        task.add_done_callback(self._task_done)

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("UI task failed", exc_info=task.exception())
            self.statusBar().showMessage(self.tr("Something went wrong; see the log."), 8000)

    def start(self) -> None:
        self._run("feed", self._reload_feed())

    @property
    def searching(self) -> bool:
        return bool(self.search_edit.text().strip())

    def on_search_timer_timeout(self) -> None:
        self._run("feed", self._reload_feed())

    async def _reload_feed(self) -> None:
        if self.searching:
            hits = await self.workspace.search(self.search_edit.text())
            rows = [self._hit_row(h) for h in hits]
        else:
            rows = await self.workspace.feed()
        self._agent_names = await self.workspace.agent_names()
        self.thread_model.agent_names = self._agent_names
        self.feed_model.set_rows(rows)
        if self.current_conversation is not None:
            row = self.feed_model.row_of(self.current_conversation)
            if row >= 0 and self.feed_view.currentIndex().row() != row:
                self.feed_view.selectionModel().blockSignals(True)
                self.feed_view.setCurrentIndex(self.feed_model.index(row))
                self.feed_view.selectionModel().blockSignals(False)
        elif self._first_feed and rows:
            self._first_feed = False
            self.feed_view.setCurrentIndex(self.feed_model.index(0))
        self.feed_loaded.emit(len(rows))

    @staticmethod
    def _hit_row(hit: SearchHit) -> FeedRow:
        return FeedRow(conversation_id=hit.conversation_id, channel=hit.channel, customer_name=hit.customer_name,
                       preview=hit.snippet, last_message_at=hit.at, last_direction=None, status="", unread=False)

    def on_feed_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        conversation_id = current.data(ConversationIdRole) if current.isValid() else None
        if conversation_id == self.current_conversation:
            return
        self.current_conversation = conversation_id
        self.composer.setEnabled(conversation_id is not None)
        if conversation_id is None:
            self.thread_stack.setCurrentWidget(self.empty_thread)
            self._show_thread_header(None)
            self._show_conversation_state(None)
            self.customer_pane.show_card(None)
            return
        self._run("thread", self._load_conversation(conversation_id, scroll=True, mark_read=True))

    async def _load_conversation(self, conversation_id: int, *, scroll: bool, mark_read: bool = False) -> None:
        rows = await self.workspace.thread(conversation_id)
        card = await self.workspace.customer_card(conversation_id)
        conversation = await self.workspace.conversation(conversation_id)
        if conversation_id != self.current_conversation:
            return
        self._show_conversation_state(conversation)
        added = self.thread_model.set_rows(conversation_id, rows)
        self.thread_stack.setCurrentWidget(self.thread_view)
        if added and scroll:
            self.thread_view.scrollToBottom()
        self.customer_pane.show_card(card, conversation_id)
        self._card = card
        self._show_thread_header(card, conversation)
        row = self.feed_model.conversation_at(self.feed_model.row_of(conversation_id))
        # The open conversation counts as read while the agent can see it.
        if mark_read or (row is not None and row.unread and self.isVisible() and not self.isMinimized()):
            self.workspace_changed_locally(await self.workspace.mark_read(conversation_id))
        self.thread_loaded.emit(conversation_id, len(rows))

    def workspace_changed_locally(self, cs: ChangeSet) -> None:
        self._run("feed", self._reload_feed())

    def _show_thread_header(self, card, conversation=None) -> None:
        if card is None or conversation is None:
            self.thread_header.setText("")
            return
        self.thread_header.setText(f"{card.display_name}  ·  {channel_name(conversation.channel)}")

    def _show_conversation_state(self, conversation) -> None:
        self._conversation = conversation
        for widget in (self.conversation_state, self.assign_button, self.status_button):
            widget.setVisible(conversation is not None)
        if conversation is None:
            return
        if conversation.assignee_id is None:
            assignee = self.tr("Unassigned")
        elif conversation.assignee_id == self.workspace.agent.id:
            assignee = self.tr("Assigned to you")
        else:
            name = self._agent_names.get(conversation.assignee_id, f"#{conversation.assignee_id}")
            assignee = self.tr("Assigned to %1").replace("%1", name)
        self.conversation_state.setText(f"{status_name(conversation.status)} · {assignee}")
        mine = conversation.assignee_id == self.workspace.agent.id
        self.assign_button.setText(self.tr("Unassign") if mine else self.tr("Assign to me"))
        resolved = conversation.status == "resolved"
        self.status_button.setText(self.tr("Reopen") if resolved else self.tr("Resolve"))

    # -- user actions -------------------------------------------------------------------------------------
    def on_composer_reply_submitted(self, text: str) -> None:
        if self.current_conversation is not None:
            self._spawn(self._queue_text(self.workspace.send_reply, self.current_conversation, text))

    def on_composer_note_submitted(self, text: str) -> None:
        if self.current_conversation is not None:
            self._spawn(self._queue_text(self.workspace.add_note, self.current_conversation, text))

    async def _queue_text(self, queue, conversation_id: int, text: str) -> None:
        try:
            await queue(conversation_id, text)
        except Exception:
            self.composer.restore(text)  # not even queued: give the agent their words back
            raise

    def on_assign_button_clicked(self) -> None:
        conversation = self._conversation
        if conversation is not None:
            mine = conversation.assignee_id == self.workspace.agent.id
            self._spawn(self.workspace.assign(conversation.id, None if mine else self.workspace.agent.id))

    def on_status_button_clicked(self) -> None:
        conversation = self._conversation
        if conversation is not None:
            new_status = "open" if conversation.status == "resolved" else "resolved"
            self._spawn(self.workspace.set_status(conversation.id, new_status))

    def on_thread_context_menu_requested(self, pos) -> None:
        index = self.thread_view.indexAt(pos)
        op_id = index.data(OpIdRole) if index.isValid() else None
        if op_id is None or not index.data(FailedRole):
            return
        menu = QMenu(self)
        retry = menu.addAction(self.tr("Retry"))
        discard = menu.addAction(self.tr("Discard"))
        chosen = menu.exec(self.thread_view.viewport().mapToGlobal(pos))
        if chosen is retry:
            self.retry_op(op_id)
        elif chosen is discard:
            self.discard_op(op_id)

    def retry_op(self, op_id: str) -> None:
        self._spawn(self.workspace.retry(op_id))

    def discard_op(self, op_id: str) -> None:
        self._spawn(self.workspace.discard(op_id))

    def on_canned_insert_requested(self, response: canned.CannedResponse) -> None:
        context = self.workspace.canned_context(getattr(self, "_card", None), self.current_conversation)
        self.composer.insert_text(canned.render(response.body, context))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        for task in list(self._tasks.values()) + list(self._background):
            task.cancel()
        event.accept()
        self.closed.emit()
