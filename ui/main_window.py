"""The agent's main window: merged feed, conversation thread with composer, customer pane and canned panel."""

from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QCloseEvent, QFont
from PySide6.QtWidgets import (
    QAbstractItemView, QLabel, QListView, QMainWindow, QSplitter, QStackedWidget, QTabWidget, QVBoxLayout, QWidget,
)

from ui.canned_panel import CannedPanel
from ui.composer import Composer
from ui.customer_pane import CustomerPane
from ui.feed_delegate import FeedDelegate
from ui.feed_model import ConversationIdRole, FeedModel
from ui.style import channel_name
from ui.thread_delegate import ThreadDelegate
from ui.thread_model import ThreadModel
from workstation import canned
from workstation.cache import ChangeSet
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
        feed_box = QWidget(self)
        feed_layout = QVBoxLayout(feed_box)
        feed_layout.setContentsMargins(8, 8, 0, 0)
        feed_layout.addWidget(feed_title)
        feed_layout.addWidget(self.feed_view, 1)

        self.thread_header = QLabel(self)
        self.thread_header.setObjectName("threadHeader")
        self.thread_header.setTextFormat(Qt.TextFormat.PlainText)
        self.thread_header.setFont(title_font)
        self.thread_header.setContentsMargins(12, 8, 12, 4)
        self.thread_model = ThreadModel(self)
        self.thread_view = QListView(self)
        self.thread_view.setObjectName("threadView")
        self.thread_view.setModel(self.thread_model)
        self.thread_view.setItemDelegate(ThreadDelegate(self.thread_view))
        self.thread_view.setResizeMode(QListView.ResizeMode.Adjust)
        self.thread_view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.thread_view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.thread_view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
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
        center_layout.addWidget(self.thread_header)
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

        self.connection_label = QLabel(self)
        self.connection_label.setObjectName("connectionLabel")
        self.statusBar().addPermanentWidget(self.connection_label)
        self.on_workspace_state(CONNECTING, 0)
        self._show_thread_header(None)

        self.feed_view.selectionModel().currentChanged.connect(self.on_feed_current_changed)
        self.composer.reply_submitted.connect(self.on_composer_reply_submitted)
        self.canned_panel.insert_requested.connect(self.on_canned_insert_requested)

    # -- core callbacks (called on the loop, which is the Qt thread) --------------------------------------
    def on_workspace_changed(self, cs: ChangeSet) -> None:
        self._run("feed", self._reload_feed())
        if self.current_conversation is not None and (cs.reset or self.current_conversation in cs.conversation_ids):
            self._run("thread", self._load_conversation(self.current_conversation, scroll=True))

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

    async def _reload_feed(self) -> None:
        rows = await self.workspace.feed()
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

    def on_feed_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        conversation_id = current.data(ConversationIdRole) if current.isValid() else None
        if conversation_id == self.current_conversation:
            return
        self.current_conversation = conversation_id
        self.composer.setEnabled(conversation_id is not None)
        if conversation_id is None:
            self.thread_stack.setCurrentWidget(self.empty_thread)
            self._show_thread_header(None)
            self.customer_pane.show_card(None)
            return
        self._run("thread", self._load_conversation(conversation_id, scroll=True, mark_read=True))

    async def _load_conversation(self, conversation_id: int, *, scroll: bool, mark_read: bool = False) -> None:
        rows = await self.workspace.thread(conversation_id)
        card = await self.workspace.customer_card(conversation_id)
        if conversation_id != self.current_conversation:
            return
        added = self.thread_model.set_rows(conversation_id, rows)
        self.thread_stack.setCurrentWidget(self.thread_view)
        if added and scroll:
            self.thread_view.scrollToBottom()
        self.customer_pane.show_card(card, conversation_id)
        self._card = card
        row = self.feed_model.conversation_at(self.feed_model.row_of(conversation_id))
        self._show_thread_header(row)
        # The open conversation counts as read while the agent can see it.
        if mark_read or (row is not None and row.unread and self.isVisible() and not self.isMinimized()):
            self.workspace_changed_locally(await self.workspace.mark_read(conversation_id))
        self.thread_loaded.emit(conversation_id, len(rows))

    def workspace_changed_locally(self, cs: ChangeSet) -> None:
        self._run("feed", self._reload_feed())

    def _show_thread_header(self, row) -> None:
        if row is None:
            self.thread_header.setText("")
            return
        self.thread_header.setText(f"{row.customer_name}  ·  {channel_name(row.channel)}")

    # -- user actions -------------------------------------------------------------------------------------
    def on_composer_reply_submitted(self, text: str) -> None:
        if self.current_conversation is None:
            return
        self._spawn(self.workspace.send_reply(self.current_conversation, text))

    def on_canned_insert_requested(self, response: canned.CannedResponse) -> None:
        context = self.workspace.canned_context(getattr(self, "_card", None), self.current_conversation)
        self.composer.insert_text(canned.render(response.body, context))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        for task in list(self._tasks.values()) + list(self._background):
            task.cancel()
        event.accept()
        self.closed.emit()
