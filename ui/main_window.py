"""The agent's main window: merged feed, conversation thread with composer, customer pane and canned panel."""

from __future__ import annotations

import asyncio
import logging
import time

import base64
import json
from datetime import datetime, timezone

from PySide6.QtCore import QByteArray, QEvent, QLocale, QModelIndex, QObject, QPoint, QTimer, Qt, Signal
from PySide6.QtGui import QCloseEvent, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView, QAbstractSpinBox, QApplication, QComboBox, QDialog, QHBoxLayout, QInputDialog, QKeySequenceEdit,
    QLabel,
    QLineEdit, QListView, QMainWindow, QMenu, QMessageBox, QPlainTextEdit, QProgressBar, QPushButton, QSizePolicy,
    QSplitter, QStackedWidget, QTabWidget, QTextEdit, QToolButton, QVBoxLayout, QWidget,
)

from ui import crash
from ui.actions import Actions
from ui.agent_status import AGENT_STATUSES, agent_status_icon, agent_status_name, presence_text
from ui.canned_panel import CannedPanel
from ui.case_types import CASE_TYPES, case_type_name, priority_name
from ui.command_palette import CommandPalette
from ui.composer import NOTE, REPLY, Composer
from ui.crisis_banner import CrisisBanner
from ui.customer_pane import CustomerPane
from ui.end_shift import EndShiftDialog
from ui.feed_delegate import FeedDelegate
from ui.feed_model import ConversationIdRole, FeedModel
from ui.notifier import Notifier
from ui.resolve_dialog import ResolveDialog, snooze_choices
from ui.settings_dialog import SettingsDialog
from ui.shortcut_sheet import ShortcutSheet
from ui.style import app_icon, channel_name, status_name, title_font
from ui.thread_delegate import ThreadDelegate
from ui.thread_model import FailedRole, OpIdRole, ThreadModel, fill
from workstation import canned, channels, protocol, sla
from workstation.cache import FEED_VIEWS, CAgent, ChangeSet, FeedRow, SearchHit
from workstation.errors import AuthError, NetworkError, ServerError
from workstation.library import CannedStore
from workstation.settings import Settings
from workstation.sync import CONNECTING, OFFLINE, ONLINE, SIGNED_OUT

TEXT_INPUTS = (QLineEdit, QPlainTextEdit, QTextEdit, QKeySequenceEdit, QAbstractSpinBox, QComboBox)
from workstation.workspace import Workspace

log = logging.getLogger(__name__)

# Presence: "viewing" is repeated this often while a conversation is open (the server keeps it 45 s), and
# "typing" is sent at most this often while the composer's text changes (kept 8 s).
VIEWING_REPEAT_MS = 20_000
TYPING_EVERY_S = 4.0
LEAD_ROLES = ("lead", "admin")
CLOCK_REPAINT_MS = 30_000
HOURS_REFRESH_S = 300
CLOCK_STYLES = {
    "green": "background: #2E7D32; color: white; border-radius: 4px; padding: 1px 6px;",
    "amber": "background: #B26A00; color: white; border-radius: 4px; padding: 1px 6px;",
    "red": "background: #C62828; color: white; border-radius: 4px; padding: 1px 6px;",
}
WINDOW_STYLES = {
    "green": "color: #2E7D32;",
    "amber": "color: #B26A00; font-weight: bold;",
    "red": "color: #C62828; font-weight: bold;",
}
PUBLIC_STYLE = "color: #0E7490; border: 1px solid #0E7490; border-radius: 4px; padding: 0 5px;"
PRIVATE_STYLE = "color: #6B7280; border: 1px solid #9CA3AF; border-radius: 4px; padding: 0 5px;"
PRIORITY_STYLES = {
    "urgent": "color: #C62828; border: 1px solid #C62828; border-radius: 4px; padding: 0 5px; font-weight: bold;",
    "high": "color: #E67700; border: 1px solid #E67700; border-radius: 4px; padding: 0 5px; font-weight: bold;",
}


class MainWindow(QMainWindow):
    closed = Signal()
    feed_loaded = Signal(int)  # rows now in the feed
    thread_loaded = Signal(int, int)  # conversation id, messages shown

    def __init__(self, workspace: Workspace, *, language: str, settings: Settings | None = None,
                 notifier: Notifier | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.language = language
        self.settings = settings or Settings()
        self.notifier = notifier or Notifier(self.settings, workspace.agent.id, app_icon(), self)
        self.setWindowIcon(app_icon())
        self.current_conversation: int | None = None
        self._tasks: dict[str, asyncio.Task] = {}
        self._background: set[asyncio.Task] = set()
        self._first_feed = True
        agent = workspace.agent
        self._title = self.tr("Workstation — %1").replace("%1", agent.name)
        self.setWindowTitle(self._title)
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
        heading = title_font(feed_title.font())
        feed_title.setFont(heading)
        self.search_edit = QLineEdit(self)
        self.search_edit.setObjectName("searchEdit")
        self.search_edit.setPlaceholderText(self.tr("Search messages, customers, numbers…"))
        self.search_edit.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(120)
        # The feed's views; each is one index scan of the cache (see Cache.feed_ids).
        self.feed_filter = QComboBox(self)
        self.feed_filter.setObjectName("feedFilter")
        view_names = {"all": self.tr("All conversations"), "mine": self.tr("Assigned to me"),
                      "unassigned": self.tr("Unassigned"), "unread": self.tr("Unread"),
                      "resolved": self.tr("Resolved"), "follow_ups": self.tr("Follow-ups due")}
        for view in FEED_VIEWS:
            self.feed_filter.addItem(view_names[view], view)
        # The feed's order and the case-type filter.
        self.feed_order = QComboBox(self)
        self.feed_order.setObjectName("feedOrder")
        self.feed_order.setToolTip(self.tr("Order of the feed"))
        for order, name in (("recent", self.tr("Newest first")), ("priority", self.tr("Priority first")),
                            ("sla", self.tr("Least time left first"))):
            self.feed_order.addItem(name, order)
        self.feed_case = QComboBox(self)
        self.feed_case.setObjectName("feedCaseType")
        self.feed_case.setToolTip(self.tr("Only conversations of this case type"))
        self.feed_case.addItem(self.tr("Any case type"), None)
        for case_type in CASE_TYPES:
            self.feed_case.addItem(case_type_name(case_type), case_type)
        self._feed_view_shown: tuple | None = None
        feed_box = QWidget(self)
        feed_layout = QVBoxLayout(feed_box)
        feed_layout.setContentsMargins(8, 8, 0, 0)
        feed_layout.addWidget(feed_title)
        feed_layout.addWidget(self.search_edit)
        feed_layout.addWidget(self.feed_filter)
        feed_options = QHBoxLayout()
        feed_options.setContentsMargins(0, 0, 0, 0)
        feed_options.addWidget(self.feed_order, 1)
        feed_options.addWidget(self.feed_case, 1)
        feed_layout.addLayout(feed_options)
        feed_layout.addWidget(self.feed_view, 1)

        self.thread_header = QLabel(self)
        self.thread_header.setObjectName("threadHeader")
        self.thread_header.setTextFormat(Qt.TextFormat.PlainText)
        self.thread_header.setFont(heading)
        self.conversation_state = QLabel(self)
        self.conversation_state.setObjectName("conversationState")
        self.conversation_state.setTextFormat(Qt.TextFormat.PlainText)
        self.conversation_state.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        # The response clock of the open conversation (green / amber / red), and its priority.
        self.sla_label = QLabel(self)
        self.sla_label.setObjectName("slaClock")
        self.sla_label.setTextFormat(Qt.TextFormat.PlainText)
        self.sla_label.hide()
        self.priority_label = QLabel(self)
        self.priority_label.setObjectName("priorityLabel")
        self.priority_label.setTextFormat(Qt.TextFormat.PlainText)
        self.priority_label.hide()
        # Public (mentions, comments) or private; and the channel's reply window (WhatsApp, Messenger, Instagram).
        self.public_label = QLabel(self)
        self.public_label.setObjectName("publicLabel")
        self.public_label.setTextFormat(Qt.TextFormat.PlainText)
        self.window_label = QLabel(self)
        self.window_label.setObjectName("replyWindow")
        self.window_label.setTextFormat(Qt.TextFormat.PlainText)
        self.window_label.hide()
        self.template_button = QPushButton(self.tr("Send a template…"), self)
        self.template_button.setObjectName("templateButton")
        self.template_button.setToolTip(self.tr("WhatsApp delivers only approved templates more than 24 hours "
                                                "after the customer's last message"))
        self.template_button.hide()
        self.template_dialog = None
        # A public comment on Messenger or Instagram: the one private message that moves the case to private.
        self.private_reply_button = QPushButton(self.tr("Reply privately…"), self)
        self.private_reply_button.setObjectName("privateReplyButton")
        self.private_reply_button.setToolTip(self.tr("Send the customer one private message about their comment"))
        self.private_reply_button.hide()
        self.private_reply_dialog = None
        self.presence_label = QLabel(self)
        self.presence_label.setObjectName("presenceLabel")
        self.presence_label.setTextFormat(Qt.TextFormat.PlainText)
        self.presence_label.setStyleSheet("color: #B45309;")
        self.presence_label.hide()
        # A long list of names never widens the window (the tooltip has every name).
        self.presence_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        # Agents: "Assign to me" / "Unassign". Leads also get a menu on its arrow: anyone, or the queue.
        self.assign_button = QToolButton(self)
        self.assign_button.setObjectName("assignButton")
        self.assign_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.assign_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.assign_menu = QMenu(self)
        self.assign_menu.setObjectName("assignMenu")
        self.assign_menu.aboutToShow.connect(self.fill_assign_menu)
        self.status_button = QPushButton(self)
        self.status_button.setObjectName("statusButton")
        header = QWidget(self)
        header_layout = QHBoxLayout()
        header_layout.setContentsMargins(0, 0, 0, 0)
        header_layout.addWidget(self.thread_header)
        header_layout.addWidget(self.conversation_state)
        header_layout.addStretch(1)
        header_layout.addWidget(self.assign_button)
        header_layout.addWidget(self.status_button)
        # Who else is here goes under the title: the title row has no room to spare in a narrow window.
        header_rows = QVBoxLayout(header)
        header_rows.setContentsMargins(12, 8, 8, 4)
        header_rows.setSpacing(2)
        header_rows.addLayout(header_layout)
        # Second line: the priority, the response clock, and who else is looking at the conversation.
        care_line = QHBoxLayout()
        care_line.setContentsMargins(0, 0, 0, 0)
        care_line.setSpacing(6)
        care_line.addWidget(self.priority_label)
        care_line.addWidget(self.sla_label)
        care_line.addWidget(self.public_label)
        care_line.addWidget(self.window_label)
        care_line.addWidget(self.template_button)
        care_line.addWidget(self.private_reply_button)
        care_line.addWidget(self.presence_label, 1)
        for label in (self.priority_label, self.sla_label, self.public_label, self.window_label):
            # As wide as their text: the rest of the line is the presence note's.
            label.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
        care_line.addStretch(1)
        header_rows.addLayout(care_line)
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
        self.empty_thread.setForegroundRole(QPalette.ColorRole.PlaceholderText)
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
        # The team's synced library (and our own responses) replaces the bundled one once it is in the cache.
        self.canned_panel.attach(CannedStore.from_workspace(workspace))
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
        # A possible crisis (leads) and crisis mode (everyone), above everything (ui/crisis_banner.py).
        self.crisis_banner = CrisisBanner(workspace.api, role=workspace.agent.role, lang=language, parent=self)
        central = QWidget(self)
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(4)
        central_layout.addWidget(self.crisis_banner)
        central_layout.addWidget(splitter, 1)
        self.setCentralWidget(central)
        self.splitter = splitter

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
        # My status, as the server has it (a lead or the server may change it too).
        self.my_status = QComboBox(self)
        self.my_status.setObjectName("myStatus")
        for status in AGENT_STATUSES:
            self.my_status.addItem(agent_status_icon(status), agent_status_name(status), status)
        self.my_status.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._status_request: asyncio.Task | None = None
        self._status_shown = workspace.agent.status
        self._show_my_status(workspace.agent.status)
        # The team's business hours, as the server has them ("Open · closes at 18:00").
        self.hours_label = QLabel(self)
        self.hours_label.setObjectName("hoursLabel")
        self.hours_label.setTextFormat(Qt.TextFormat.PlainText)
        self.hours_label.hide()
        self._hours: dict[str, protocol.HoursNow] = {}
        # Leads: a channel that stopped working (or soon will), from the channels' health; opens the dialog.
        self.channel_alert = QToolButton(self)
        self.channel_alert.setObjectName("channelAlert")
        self.channel_alert.setAutoRaise(True)
        self.channel_alert.hide()
        self.channel_alert.clicked.connect(self.open_channels)
        self.statusBar().addPermanentWidget(self.channel_alert)
        self.statusBar().addPermanentWidget(self.hours_label)
        self.statusBar().addPermanentWidget(self.sync_progress)
        self.statusBar().addPermanentWidget(self.failed_label)
        self.statusBar().addPermanentWidget(self.my_status)
        self.statusBar().addPermanentWidget(self.connection_label)
        self.on_workspace_state(CONNECTING, 0)
        self._show_thread_header(None)

        self._agent_names: dict[int, str] = {}
        self._agents: list[CAgent] = []
        self._conversation = None
        # Presence: the conversation we told the team we are viewing, and when we last said "typing".
        self._presence_shown: int | None = None
        self._typing_sent: tuple[int | None, float] = (None, 0.0)
        self._viewing_timer = QTimer(self)
        self._viewing_timer.setInterval(VIEWING_REPEAT_MS)
        self._viewing_timer.timeout.connect(self.on_viewing_timer_timeout)
        # Collisions: per open conversation, the newest colleague's reply seen when the draft began (or the
        # conversation opened); a newer one makes Send ask first.
        self._reply_baseline: dict[int, int] = {}
        self._composer_had_text = False
        self.collision_box: QMessageBox | None = None
        self.reason_dialog: QInputDialog | None = None
        self.end_shift_dialog: EndShiftDialog | None = None
        self.composer.reply_guard = self.reply_guard
        self._show_conversation_state(None)
        self.feed_view.selectionModel().currentChanged.connect(self.on_feed_current_changed)
        self.composer.reply_submitted.connect(self.on_composer_reply_submitted)
        self.composer.note_submitted.connect(self.on_composer_note_submitted)
        self.canned_panel.insert_rendered.connect(self.composer.insert_rendered)
        self.customer_pane.open_requested.connect(self.open_conversation)
        self.composer.slash_source = self._slash_matches
        self.composer.slash_chosen = self._slash_insert
        self.search_edit.textChanged.connect(lambda _text: self._search_timer.start())
        self._search_timer.timeout.connect(self.on_search_timer_timeout)
        self.feed_filter.currentIndexChanged.connect(self.on_feed_filter_current_index_changed)
        self.feed_order.currentIndexChanged.connect(self.on_feed_filter_current_index_changed)
        self.feed_case.currentIndexChanged.connect(self.on_feed_filter_current_index_changed)
        self.thread_view.customContextMenuRequested.connect(self.on_thread_context_menu_requested)
        self.thread_view.verticalScrollBar().valueChanged.connect(self.on_thread_scrolled)
        self.assign_button.clicked.connect(self.on_assign_button_clicked)
        self.template_button.clicked.connect(self.open_template_dialog)
        self.private_reply_button.clicked.connect(self.open_private_reply_dialog)
        self.status_button.clicked.connect(self.on_status_button_clicked)
        self.my_status.activated.connect(self.on_my_status_activated)

        self.actions_ = Actions(self, {
            "next_conversation": lambda: self.move_selection(1),
            "previous_conversation": lambda: self.move_selection(-1),
            "reply": lambda: self.focus_composer(REPLY),
            "note": lambda: self.focus_composer(NOTE),
            "canned": self.focus_canned,
            "resolve_and_next": self.resolve_and_next,
            "assign_to_me": self.assign_to_me,
            "snooze": self.open_snooze_menu,
            "search": self.focus_search,
            "command_palette": self.open_command_palette,
            "shortcut_sheet": self.open_shortcut_sheet,
            "settings": self.open_settings,
            "end_shift": self.open_end_shift,
            "lead_board": self.open_lead_board,
            "dashboard": self.open_dashboard,
            "care_settings": self.open_care_settings,
            "channels": self.open_channels,
        }, self.settings.get("shortcuts"))
        self.settings.subscribe("shortcuts", self.actions_.apply_shortcuts)
        self.notifier.open_requested.connect(self.open_conversation)
        self.notifier.show_requested.connect(self.bring_to_front)
        self.crisis_banner.alert_raised.connect(self.on_crisis_alert_raised)
        self.crisis_banner.pinned_changed.connect(self.on_crisis_pinned_changed)
        # The banner also polls on its own; after changes it looks again, at most every 2 s.
        self._crisis_timer = QTimer(self)
        self._crisis_timer.setSingleShot(True)
        self._crisis_timer.setInterval(2000)
        self._crisis_timer.timeout.connect(self.crisis_banner.refresh)
        self._last_note_id: int | None = None
        self._baseline_pending = True
        self._drafts, self._restore_conversation = workspace.load_ui_state()
        # Response clocks count down: the feed's chips and the header are repainted every half minute, and
        # every minute the feed is read again (its order by time left, follow-ups that came due, breaches).
        self._clock_timer = QTimer(self)
        self._clock_timer.setInterval(CLOCK_REPAINT_MS)
        self._clock_timer.timeout.connect(self.on_clock_timer_timeout)
        self._clock_timer.start()
        self._clock_ticks = 0
        self._hours_loaded_at = 0.0
        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(800)
        self._draft_timer.timeout.connect(self._save_drafts)
        self.composer.edit.textChanged.connect(self.on_composer_text_changed)
        self._name_accessibly()
        self._restore_window_state()
        QApplication.instance().installEventFilter(self)

    # -- core callbacks (called on the loop, which is the Qt thread) --------------------------------------
    def on_workspace_changed(self, cs: ChangeSet) -> None:
        self.canned_panel.apply_changes(cs)
        self.customer_pane.on_workspace_changed(cs)
        if cs.reset:
            self._baseline_pending = True
        if cs.agents_changed or cs.reset:
            self._run("agents", self._refresh_agents())
        self._run("feed", self._reload_feed())
        if not self._crisis_timer.isActive():
            self._crisis_timer.start()
        if self.current_conversation is not None and (cs.reset or self.current_conversation in cs.conversation_ids):
            self._run("thread", self._load_conversation(self.current_conversation, scroll=True))

    def on_workspace_progress(self, done: int, total: int) -> None:
        if done >= total:
            self.sync_progress.hide()
            return
        self.sync_progress.setMaximum(total)
        self.sync_progress.setValue(done)
        self.sync_progress.show()

    def on_workspace_state(self, state: str, queued: int) -> None:
        texts = {
            ONLINE: ("#15803D", self.tr("● Online")),
            CONNECTING: ("#B45309", self.tr("● Connecting…")),
            OFFLINE: ("#C62828", self.tr("● Offline — reconnecting")),
            SIGNED_OUT: ("#C62828", self.tr("● Session expired — sign in again")),
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
            exc = task.exception()
            crash.report(type(exc), exc, exc.__traceback__, context=f"UI task {task.get_name()}")

    def start(self) -> None:
        self._run("feed", self._reload_feed())
        self._run("agents", self._refresh_agents())
        self._run("hours", self._refresh_hours())
        if self.is_lead:
            self._run("channels", self._refresh_channels())

    def on_clock_timer_timeout(self) -> None:
        self._clock_ticks += 1
        self.feed_view.viewport().update()
        self._show_clock(self._conversation)
        if self._clock_ticks % 2 == 0:
            self._run("feed", self._reload_feed())
            if self.is_lead:
                self._run("channels", self._refresh_channels())
        change = min((h.next_change_at for h in self._hours.values() if h.next_change_at), default=None)
        if time.monotonic() - self._hours_loaded_at > HOURS_REFRESH_S or (
                change is not None and change <= datetime.now(timezone.utc)):
            self._run("hours", self._refresh_hours())

    async def _refresh_hours(self) -> None:
        """Business hours for the status bar (they change when a lead edits them, or when the team opens
        or closes). Offline: the last ones stay shown."""
        self._hours_loaded_at = time.monotonic()
        try:
            care = await self.workspace.api.care(self.language)
        except (NetworkError, ServerError, AuthError) as exc:
            log.info("business hours not loaded: %s", type(exc).__name__)
            return
        self._hours = dict(care.hours_now)
        self._show_hours()

    def on_channels_changed(self, _channel) -> None:
        self._run("channels", self._refresh_channels())

    async def _refresh_channels(self) -> None:
        """The channels' health for the status bar's alert (leads). Offline: the last alert stays."""
        try:
            found = await self.workspace.api.channels()
        except (NetworkError, ServerError, AuthError) as exc:
            log.info("channel health not loaded: %s", type(exc).__name__)
            return
        self.show_channel_alert(found)

    def show_channel_alert(self, found: list[protocol.ChannelPublic]) -> None:
        """Shows the channels that stopped working or need the admin soon; setup steps (not connected, no
        webhook yet) are the dialog's business, not an alert."""
        from ui.channels_dialog import BAD, STATE_COLOURS, WARN, problem_text

        alerting = []
        for channel in found:
            problems = [p for p in channel.problems if p not in ("not_connected", "webhook_waiting")]
            if problems:
                alerting.append((channel, problems))
        if not alerting:
            self.channel_alert.hide()
            return
        blocking = any(p in ("credentials_unreadable", "token_expired", "auth_refused", "permission_missing")
                       for _, problems in alerting for p in problems)
        if len(alerting) == 1:
            text = fill(self.tr("%1 needs attention"), channel_name(alerting[0][0].channel))
        else:
            text = fill(self.tr("%1 channels need attention"), str(len(alerting)))
        self.channel_alert.setText("⚠ " + text)
        self.channel_alert.setStyleSheet(f"color: {STATE_COLOURS[BAD if blocking else WARN]}; font-weight: bold;")
        self.channel_alert.setToolTip("\n".join(
            f"{channel_name(c.channel)}: {problem_text(problems[0], c, self.workspace.api.base_url)}"
            for c, problems in alerting))
        self.channel_alert.show()

    def _show_hours(self) -> None:
        team = self._hours.get("*")
        if team is None:
            self.hours_label.hide()
            return
        if team.next_change_at is None:
            text = self.tr("Open") if team.open else self.tr("Closed")
        else:
            at = QLocale().toString(team.next_change_at.astimezone(), QLocale.FormatType.ShortFormat)
            text = (self.tr("Open · closes %1") if team.open else self.tr("Closed · opens %1")).replace("%1", at)
        self.hours_label.setText(text)
        self.hours_label.setStyleSheet("color: #2E7D32; padding: 0 8px;" if team.open else
                                       "color: #B26A00; padding: 0 8px;")
        lines = [self.tr("Business hours: %1").replace("%1", team.description)]
        for channel, hours in sorted(self._hours.items()):
            if channel != "*":
                state = self.tr("open") if hours.open else self.tr("closed")
                lines.append(f"{channel_name(channel)} ({state}): {hours.description}")
        self.hours_label.setToolTip("\n".join(lines))
        self.hours_label.show()

    @property
    def searching(self) -> bool:
        return bool(self.search_edit.text().strip())

    def on_search_timer_timeout(self) -> None:
        self._run("feed", self._reload_feed())

    @property
    def feed_view_name(self) -> str:
        return self.feed_filter.currentData() or "all"

    @property
    def feed_key(self) -> tuple[str, str, str | None]:
        """What the feed lists: the view, the order and the case type."""
        return self.feed_view_name, self.feed_order.currentData() or "recent", self.feed_case.currentData()

    def set_feed_order(self, order: str) -> None:
        self.feed_order.setCurrentIndex(max(0, self.feed_order.findData(order)))

    def set_feed_case_type(self, case_type: str | None) -> None:
        self.feed_case.setCurrentIndex(max(0, self.feed_case.findData(case_type)))

    def set_feed_filter(self, view: str) -> None:
        self.feed_filter.setCurrentIndex(max(0, self.feed_filter.findData(view)))

    def on_feed_filter_current_index_changed(self, _index: int) -> None:
        self._run("feed", self._reload_feed(watch=False))

    def _feed_window(self, *, from_top: bool) -> tuple[int, int]:
        """The rows to read with the feed: those the view shows now (after a refresh the view keeps its
        scroll position), with a margin; from the top when the list is about to be replaced."""
        viewport = self.feed_view.viewport()
        top = 0 if from_top else max(0, self.feed_view.indexAt(QPoint(1, 1)).row())
        row_h = self.feed_view.sizeHintForRow(0) if self.feed_model.rowCount() else 0
        visible = viewport.height() // max(row_h or 56, 1) + 2
        return max(0, top - 8), top + visible + 16

    async def _reload_feed(self, *, watch: bool = True) -> None:
        """`watch=False`: only what the feed shows changed (another view), not the data: the notifications'
        rows are not read again."""
        searching = self.searching
        watch = watch and not searching
        view = self.feed_key
        replace = searching or view != self._feed_view_shown
        # Until the first pull is through (or again after a reset) the feed is the starting state,
        # not news: an initial sync must not notify every conversation and old mention at once.
        baseline = not self.workspace.engine.synced_once or self._baseline_pending
        if self.workspace.engine.synced_once:
            self._baseline_pending = False
        snapshot = await self.workspace.feed_snapshot(
            search=self.search_edit.text() if searching else None,
            mentions_after=None if baseline else self._last_note_id,
            view=view[0], order=view[1], case_type=view[2], window=self._feed_window(from_top=replace), watch=watch)
        self._agent_names = snapshot.agent_names
        self.thread_model.agent_names = self._agent_names
        self.failed_label.setText(self.tr("%1 not sent").replace("%1", str(snapshot.failed_ops)))
        self.failed_label.setVisible(snapshot.failed_ops > 0)
        if searching:
            self._feed_view_shown = None
            self.feed_model.set_rows([self._hit_row(h) for h in snapshot.rows])
        else:
            ids = snapshot.ids
            if view == self._feed_view_shown and self.current_conversation is not None \
                    and self.current_conversation not in ids and self.feed_model.row_of(self.current_conversation) >= 0:
                # The open conversation left this view (read, resolved, reassigned): it stays in the list,
                # where it was, until the agent moves on, so the selection never jumps by itself.
                ids = _keep(ids, self.feed_model.ids(), self.current_conversation)
            if replace:
                self.feed_model.set_feed([], [], None)  # another list: a reset, not a diff
            self._feed_view_shown = view
            self.feed_model.set_feed(ids, snapshot.rows, self.workspace.feed_rows_now)
        if self.current_conversation is not None:
            row = self.feed_model.row_of(self.current_conversation)
            if row >= 0 and self.feed_view.currentIndex().row() != row:
                self.feed_view.selectionModel().blockSignals(True)
                self.feed_view.setCurrentIndex(self.feed_model.index(row))
                self.feed_view.selectionModel().blockSignals(False)
                self.feed_view.viewport().update()
        elif self._first_feed and self.feed_model.rowCount():
            self._first_feed = False
            restore = self.feed_model.row_of(self._restore_conversation) if self._restore_conversation else -1
            self.feed_view.setCurrentIndex(self.feed_model.index(max(restore, 0)))
        if watch:
            self.notifier.update_feed(snapshot.watched, baseline=baseline)
            self._update_title()
        for _local_id, conversation_id, text, author in snapshot.mentions:
            self.notifier.mentioned(conversation_id, author, text)
        self._last_note_id = snapshot.last_note_id
        self.feed_loaded.emit(self.feed_model.rowCount())

    def _update_title(self) -> None:
        waiting = self.notifier.waiting
        self.setWindowTitle(f"({waiting}) {self._title}" if waiting else self._title)

    @staticmethod
    def _hit_row(hit: SearchHit) -> FeedRow:
        return FeedRow(conversation_id=hit.conversation_id, channel=hit.channel, customer_name=hit.customer_name,
                       preview=hit.snippet, last_message_at=hit.at, last_direction=None, status="", unread=False)

    def on_feed_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        conversation_id = current.data(ConversationIdRole) if current.isValid() else None
        if conversation_id == self.current_conversation:
            return
        self._stash_draft()
        self._announce_presence(conversation_id)
        self.current_conversation = conversation_id
        self._show_presence()
        # Colleagues' replies count as seen when the conversation opens (the baseline is taken when its
        # thread has loaded) or when a new draft begins.
        self._reply_baseline.clear()
        self.composer.edit.blockSignals(True)
        self.composer.edit.setPlainText(self._drafts.get(str(conversation_id), "") if conversation_id else "")
        self.composer.edit.blockSignals(False)
        self._composer_had_text = bool(self.composer.edit.toPlainText().strip())
        self.composer.on_edit_text_changed()
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
        follow_up_canned = await self.workspace.due_follow_up_canned(conversation_id)
        if conversation_id != self.current_conversation:
            return
        self._show_conversation_state(conversation)
        added = self.thread_model.set_rows(conversation_id, rows)
        if conversation_id not in self._reply_baseline:
            self._reply_baseline[conversation_id] = self._newest_colleague_reply()[0]
        self.thread_stack.setCurrentWidget(self.thread_view)
        if added and scroll:
            self.thread_view.scrollToBottom()
        self.customer_pane.show_card(card, conversation_id)
        self._card = card
        last_in = next((r.text for r in reversed(rows) if r.direction == "in"), None)
        # A check-in that is due: its canned response comes first among the suggestions.
        self.canned_panel.set_pinned(self._crisis_pinned() + follow_up_canned)
        self.canned_panel.set_context(
            last_in, None, conversation.channel if conversation else None,
            public=bool(conversation and conversation.public),
            variables=self.workspace.canned_context(card, conversation_id))
        self.composer.set_channel(conversation.channel if conversation else None,
                                  public=bool(conversation and conversation.public))
        self._show_thread_header(card, conversation)
        row = self.feed_model.conversation_at(self.feed_model.row_of(conversation_id))
        # The open conversation counts as read while the agent can see it.
        if mark_read or (row is not None and row.unread and self.isVisible() and not self.isMinimized()):
            self.workspace_changed_locally(await self.workspace.mark_read(conversation_id))
        self.thread_loaded.emit(conversation_id, len(rows))

    def on_thread_scrolled(self, value: int) -> None:
        """At the top of a long thread, the older messages come in above, and what the agent was reading
        stays where it was."""
        bar = self.thread_view.verticalScrollBar()
        if value > bar.minimum() or bar.maximum() <= 0 or not self.thread_model.has_older():
            return
        from_bottom = bar.maximum() - value
        if self.thread_model.show_older():
            self.thread_view.doItemsLayout()
            bar.setValue(bar.maximum() - from_bottom)

    def workspace_changed_locally(self, cs: ChangeSet) -> None:
        self._run("feed", self._reload_feed())

    def _show_thread_header(self, card, conversation=None) -> None:
        if card is None or conversation is None:
            self.thread_header.setText("")
            return
        self.thread_header.setText(f"{card.display_name}  ·  {channel_name(conversation.channel)}")

    def _show_window(self, conversation) -> None:
        """Public or private, and how long the channel still lets us answer."""
        self.public_label.setVisible(conversation is not None)
        self.template_button.hide()
        self.private_reply_button.setVisible(conversation is not None and bool(conversation.public)
                                             and conversation.channel in ("messenger", "instagram"))
        if conversation is None:
            self.window_label.hide()
            return
        public = bool(conversation.public)
        self.public_label.setText(self.tr("Public") if public else self.tr("Private"))
        self.public_label.setToolTip(self.tr("Everyone can see the answers in this conversation") if public else
                                     self.tr("Only the customer sees the answers in this conversation"))
        self.public_label.setStyleSheet(PUBLIC_STYLE if public else PRIVATE_STYLE)
        window = channels.reply_window(conversation.channel, conversation.last_inbound_at, public=public)
        self.window_label.setVisible(window is not None)
        if window is None:
            return
        left = _duration_words(window.seconds_left, self.tr("%1 h %2 min"), self.tr("%1 min"))
        if window.seconds_left >= 48 * 3600:
            left = self.tr("%1 days").replace("%1", str(int(window.seconds_left // 86400)))
        if window.state == "open":
            text = self.tr("Reply window: %1 left").replace("%1", left)
            tip = self.tr("The channel lets us answer freely for 24 hours after the customer's last message.")
        elif window.state == "human_agent":
            text = self.tr("Human agent window: %1 left").replace("%1", left)
            tip = self.tr("More than 24 hours since the customer's last message: a person may still answer for "
                          "up to 7 days.")
        elif conversation.channel == "whatsapp":
            self.template_button.show()
            text = self.tr("Reply window closed: templates only")
            tip = self.tr("More than 24 hours since the customer's last message: WhatsApp only delivers "
                          "approved templates until the customer writes again.")
        else:
            text = self.tr("Reply window closed")
            tip = self.tr("The channel no longer lets us answer until the customer writes again.")
        self.window_label.setText(text)
        self.window_label.setToolTip(tip)
        colour = "red" if window.state == "closed" else "amber" if window.closing_soon or \
            window.state == "human_agent" else "green"
        self.window_label.setStyleSheet(WINDOW_STYLES[colour])

    def _show_clock(self, conversation) -> None:
        """The response clock in the header: "First response due in 12 min" on green, amber or red."""
        self._show_window(conversation)
        clock = sla.of(conversation) if conversation is not None else None
        priority = conversation.priority if conversation is not None else "normal"
        self.priority_label.setVisible(priority in PRIORITY_STYLES)
        if priority in PRIORITY_STYLES:
            self.priority_label.setText(priority_name(priority))
            self.priority_label.setStyleSheet(PRIORITY_STYLES[priority])
        self.sla_label.setVisible(clock is not None)
        if clock is None:
            return
        left = _duration_words(clock.seconds_left, self.tr("%1 h %2 min"), self.tr("%1 min"))
        if clock.seconds_left > 0:
            text = (self.tr("First response due in %1") if clock.kind == "first"
                    else self.tr("Next response due in %1")).replace("%1", left)
        else:
            text = (self.tr("First response overdue by %1") if clock.kind == "first"
                    else self.tr("Next response overdue by %1")).replace("%1", left)
        self.sla_label.setText(text)
        self.sla_label.setStyleSheet(CLOCK_STYLES[clock.colour])
        if conversation.sla_due_at is not None:
            self.sla_label.setToolTip(self.tr("Due at %1").replace(
                "%1", QLocale().toString(conversation.sla_due_at.astimezone(), QLocale.FormatType.ShortFormat)))

    def _show_conversation_state(self, conversation) -> None:
        self._conversation = conversation
        for widget in (self.conversation_state, self.assign_button, self.status_button):
            widget.setVisible(conversation is not None)
        self._show_clock(conversation)
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
        self._apply_assign_rules(conversation)
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
        self._drafts.pop(str(conversation_id), None)
        try:
            await queue(conversation_id, text)
        except Exception:
            self.composer.restore(text)  # not even queued: give the agent their words back
            raise

    def on_assign_button_clicked(self) -> None:
        conversation = self._shown_conversation()
        if conversation is not None:
            mine = conversation.assignee_id == self.workspace.agent.id
            self._spawn(self.workspace.assign(conversation.id, None if mine else self.workspace.agent.id))

    @property
    def is_lead(self) -> bool:
        return self.workspace.agent.role in LEAD_ROLES

    def _apply_assign_rules(self, conversation) -> None:
        """Leads get the assign menu; an agent cannot take a colleague's conversation (the server would
        refuse it), so the button says why instead."""
        if self.is_lead:
            if self.assign_button.menu() is not self.assign_menu:
                self.assign_button.setMenu(self.assign_menu)
                self.assign_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
            self.assign_button.setEnabled(True)
            self.assign_button.setToolTip(self.tr("Assign to me; the arrow assigns to a colleague or the queue"))
            return
        if self.assign_button.menu() is not None:
            self.assign_button.setMenu(None)
            self.assign_button.setPopupMode(QToolButton.ToolButtonPopupMode.DelayedPopup)
        others = conversation.assignee_id not in (None, self.workspace.agent.id)
        self.assign_button.setEnabled(not others)
        self.assign_button.setToolTip(self.tr("Assigned to a colleague: ask a lead to move it") if others else "")

    def fill_assign_menu(self) -> None:
        """The lead's menu: me, each colleague with their status, the unassigned queue."""
        self.assign_menu.clear()
        conversation = self._shown_conversation()
        if conversation is None:
            return
        me = self.workspace.agent.id
        take = self.assign_menu.addAction(self.tr("Assign to me"))
        take.setObjectName("assignToMe")
        take.setEnabled(conversation.assignee_id != me)
        take.triggered.connect(lambda: self.assign_to(me, ask_reason=False))
        self.assign_menu.addSeparator()
        for agent in self._agents:
            if agent.id == me:
                continue
            action = self.assign_menu.addAction(agent_status_icon(agent.status),
                                                f"{agent.name} · {agent_status_name(agent.status)}")
            action.setObjectName(f"assignTo{agent.id}")
            action.setData(agent.id)
            action.setEnabled(conversation.assignee_id != agent.id)
            action.triggered.connect(lambda _checked=False, agent_id=agent.id: self.assign_to(agent_id))
        self.assign_menu.addSeparator()
        queue = self.assign_menu.addAction(self.tr("Unassigned queue"))
        queue.setObjectName("assignToQueue")
        queue.setEnabled(conversation.assignee_id is not None)
        queue.triggered.connect(lambda: self.assign_to(None))

    def assign_to(self, agent_id: int | None, *, ask_reason: bool = True) -> None:
        """Assigns the shown conversation; a lead moving it is asked for an optional reason first."""
        conversation = self._shown_conversation()
        if conversation is None:
            return
        if not ask_reason:
            self._spawn(self.workspace.assign(conversation.id, agent_id))
            return
        dialog = QInputDialog(self)
        dialog.setObjectName("reasonDialog")
        dialog.setWindowTitle(self.tr("Move conversation"))
        dialog.setLabelText(self.tr("Reason (optional):"))
        dialog.setTextValue("")
        dialog.setOkButtonText(self.tr("Move"))
        dialog.setCancelButtonText(self.tr("Cancel"))
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        conversation_id = conversation.id

        def on_accepted() -> None:
            reason = dialog.textValue().strip()[:500]
            self._spawn(self.workspace.assign(conversation_id, agent_id, reason))

        dialog.accepted.connect(on_accepted)
        dialog.finished.connect(dialog.deleteLater)
        self.reason_dialog = dialog
        dialog.open()

    def on_status_button_clicked(self) -> None:
        conversation = self._shown_conversation()
        if conversation is None:
            return
        if conversation.status in ("resolved", "snoozed"):
            self._set_status("open")
        else:
            self.resolve_current()

    def resolve_current(self, *, then_next: bool = False) -> ResolveDialog | None:
        """Asks for the case type (and an optional follow-up), then resolves; opened window-modal, not blocking
        the event loop (sync keeps running). Returns the dialog (tests answer it)."""
        conversation = self._shown_conversation()
        if conversation is None or conversation.status == "resolved":
            return None
        dialog = ResolveDialog(conversation.case_type, self)
        conversation_id = conversation.id

        def done(result: int) -> None:
            if result == QDialog.DialogCode.Accepted:
                self._spawn(self.workspace.set_status(conversation_id, "resolved", dialog.care()))
                if then_next:
                    self.move_selection(1)
            dialog.deleteLater()

        dialog.finished.connect(done)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.open()
        self.resolve_dialog = dialog
        return dialog

    def on_crisis_alert_raised(self, text: str) -> None:
        alerts = self.crisis_banner.open_alerts()
        sample = next((s for a in alerts for s in a.sample), None)
        self.notifier.notify(self.tr("Possible crisis"), text, sample.conversation_id if sample else -1)

    def on_crisis_pinned_changed(self, _keys: list) -> None:
        follow_up = [k for k in self.canned_panel.pinned_keys() if k.endswith("-followup")]
        self.canned_panel.set_pinned(self._crisis_pinned() + follow_up)

    def _crisis_pinned(self) -> list[str]:
        banner = getattr(self, "crisis_banner", None)
        return list(banner.pinned_canned_keys()) if banner is not None else []

    def open_private_reply_dialog(self):
        from ui.private_reply_dialog import open_private_reply_dialog

        self.private_reply_dialog = open_private_reply_dialog(self)
        return self.private_reply_dialog

    def open_template_dialog(self):
        from ui.template_dialog import open_template_dialog

        self.template_dialog = open_template_dialog(self)
        return self.template_dialog

    def open_dashboard(self):
        from ui.dashboard import open_dashboard

        return open_dashboard(self)

    def open_care_settings(self):
        if not self.is_lead:
            return None
        from ui.care_dialog import open_care_dialog

        dialog = open_care_dialog(self)
        self.care_dialog = dialog
        if dialog is not None:
            dialog.saved.connect(self.on_care_saved, Qt.ConnectionType.UniqueConnection)
        return dialog

    def open_channels(self):
        from ui.channels_dialog import open_channels_dialog

        self.channels_dialog = open_channels_dialog(self)
        if self.channels_dialog is not None:
            self.channels_dialog.changed.connect(self.on_channels_changed, Qt.ConnectionType.UniqueConnection)
        return self.channels_dialog

    def on_care_saved(self, care: protocol.CarePublic) -> None:
        self._hours = dict(care.hours_now)
        self._show_hours()

    def open_lead_board(self):
        from ui.lead_board import open_lead_board

        return open_lead_board(self)

    def snooze_menu(self) -> QMenu:
        """Snooze choices for the open conversation (the header button and the Snooze action show it)."""
        menu = QMenu(self)
        menu.setObjectName("snoozeMenu")
        for label, fields in snooze_choices(datetime.now(timezone.utc)):
            action = menu.addAction(label)
            action.triggered.connect(lambda _=False, f=fields: self._snooze(f))
        return menu

    def _snooze(self, fields: dict) -> None:
        if self.current_conversation is not None:
            self._spawn(self.workspace.set_status(self.current_conversation, "snoozed", fields))

    def open_snooze_menu(self) -> None:
        menu = self.snooze_menu()
        menu.popup(self.status_button.mapToGlobal(self.status_button.rect().bottomLeft()))

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
        self.composer.insert_rendered(canned.render_with_placeholders(response.body, context))

    def _slash_matches(self, query: str) -> list[tuple[str, object]]:
        """The composer's / list: canned responses matching what follows the slash, shortcut matches first."""
        entries = self.canned_panel.library.search(query)
        if not entries and query:
            # Fuzzy: the letters typed, in order, within the shortcut or title ("grt" finds "greeting").
            folded = canned._fold(query)
            entries = [e for e in self.canned_panel.library.entries
                       if _subsequence(folded, canned._fold(e.response.shortcut))
                       or _subsequence(folded, canned._fold(e.response.title))]
        return [(f"/{e.response.shortcut}  ·  {e.response.title}", e) for e in entries[:8]]

    def _slash_insert(self, entry) -> None:
        conversation = self._shown_conversation()
        channel = conversation.channel if conversation is not None else None
        template = canned.body_for(entry.response, channel, public=bool(conversation and conversation.public)) \
            if channel else entry.response.body
        context = self.workspace.canned_context(getattr(self, "_card", None), self.current_conversation)
        self.composer.insert_rendered(canned.render_with_placeholders(template, context))
        store = getattr(self.canned_panel, "store", None)
        if store is not None:
            self._spawn(store.count_use(entry.key))

    # -- keyboard commands -----------------------------------------------------------------------------
    def move_selection(self, step: int) -> None:
        rows = self.feed_model.rowCount()
        if rows:
            current = self.feed_view.currentIndex().row()
            target = 0 if current < 0 else min(max(current + step, 0), rows - 1)
            self.feed_view.setCurrentIndex(self.feed_model.index(target))

    def focus_composer(self, mode: int) -> None:
        self.composer.mode_tabs.setCurrentIndex(mode)
        self.composer.edit.setFocus()

    def focus_canned(self) -> None:
        self.side_tabs.setCurrentWidget(self.canned_panel)
        self.canned_panel.search_edit.setFocus()
        self.canned_panel.search_edit.selectAll()

    def focus_search(self) -> None:
        self.search_edit.setFocus()
        self.search_edit.selectAll()

    # Commands act on the selected conversation, which may be newer than the one whose details have
    # finished loading (self._conversation); the header's buttons act only when the two agree.
    def _set_status(self, status: str) -> None:
        if self.current_conversation is not None:
            self._spawn(self.workspace.set_status(self.current_conversation, status))

    def resolve_and_next(self) -> None:
        self.resolve_current(then_next=True)

    def assign_to_me(self) -> None:
        if self.current_conversation is not None:
            self._spawn(self.workspace.assign(self.current_conversation, self.workspace.agent.id))

    def _shown_conversation(self):
        shown = self._conversation
        return shown if shown is not None and shown.id == self.current_conversation else None

    def open_conversation(self, conversation_id: int) -> None:
        self.bring_to_front()
        if conversation_id < 0:
            return  # a notification about no conversation in particular (a crisis with no sample yet)
        if self.searching:
            self.search_edit.clear()
        row = self.feed_model.row_of(conversation_id)
        if row >= 0:
            self.feed_view.setCurrentIndex(self.feed_model.index(row))
        else:
            self._restore_conversation, self._first_feed = conversation_id, True
            if self.feed_view_name != "all":
                self.set_feed_filter("all")  # it is not in this view: show it in the whole feed

    def bring_to_front(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def open_command_palette(self) -> CommandPalette:
        palette = CommandPalette([a for _, a in self.actions_.items() if _ != "command_palette"], self)
        palette.open()
        return palette

    def open_shortcut_sheet(self) -> ShortcutSheet:
        sheet = ShortcutSheet([a for _, a in self.actions_.items()], self)
        sheet.open()
        return sheet

    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.settings, self)
        dialog.open()
        return dialog

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        # "?" opens the shortcut sheet, except while typing (where it is just a question mark).
        if event.type() == QEvent.Type.KeyPress and event.text() == "?" and self.isActiveWindow():
            focus = QApplication.focusWidget()
            if not isinstance(focus, TEXT_INPUTS) and QApplication.activeModalWidget() is None:
                self.open_shortcut_sheet()
                return True
        return False

    # -- window state ----------------------------------------------------------------------------------
    def _name_accessibly(self) -> None:
        names = {
            self.feed_view: self.tr("Conversations"),
            self.search_edit: self.tr("Search"),
            self.feed_filter: self.tr("Feed view"),
            self.thread_view: self.tr("Messages"),
            self.composer.edit: self.tr("Reply text"),
            self.composer.send_button: self.composer.send_button.text(),
            self.composer.mode_tabs: self.tr("Reply or internal note"),
            self.assign_button: self.tr("Assignment"),
            self.my_status: self.tr("My status"),
            self.status_button: self.tr("Status"),
            self.customer_pane.history: self.tr("Customer's conversations"),
            self.canned_panel.search_edit: self.tr("Search canned responses"),
            self.canned_panel.list: self.tr("Canned responses"),
            self.canned_panel.insert_button: self.canned_panel.insert_button.text(),
            self.side_tabs: self.tr("Customer and canned responses"),
            self.side_tabs.tabBar(): self.tr("Customer and canned responses"),
        }
        for widget, name in names.items():
            widget.setAccessibleName(name)
        self.setTabOrder(self.search_edit, self.feed_view)
        self.setTabOrder(self.feed_view, self.composer.edit)
        self.setTabOrder(self.composer.edit, self.composer.send_button)

    def _restore_window_state(self) -> None:
        try:
            self._restore_saved_layout()
        except (ValueError, TypeError):
            log.warning("saved window layout unusable; starting from the default")

    def _restore_saved_layout(self) -> None:
        geometry = self.settings.get("window.geometry")
        if geometry:
            self.restoreGeometry(QByteArray(base64.b64decode(geometry)))
        splitter = self.settings.get("window.splitter")
        if splitter:
            self.splitter.restoreState(QByteArray(base64.b64decode(splitter)))
        search = self.settings.get("window.search")
        if search:
            self.search_edit.setText(search)

    def on_composer_text_changed(self) -> None:
        self._draft_timer.start()
        has_text = bool(self.composer.edit.toPlainText().strip())
        conversation_id = self.current_conversation
        if has_text and not self._composer_had_text and conversation_id is not None \
                and self.thread_model.conversation_id == conversation_id:
            # A new draft begins: colleagues' replies already in the thread have been seen.
            self._reply_baseline[conversation_id] = self._newest_colleague_reply()[0]
        self._composer_had_text = has_text
        if has_text and conversation_id is not None:
            last_id, last_at = self._typing_sent
            now = time.monotonic()
            if last_id != conversation_id or now - last_at >= TYPING_EVERY_S:
                self._typing_sent = (conversation_id, now)
                self.workspace.announce_presence(conversation_id, "typing")

    # -- presence ---------------------------------------------------------------------------------------
    def _announce_presence(self, conversation_id: int | None) -> None:
        """Tells the team we left the conversation shown so far and are viewing the new one."""
        previous = self._presence_shown
        if previous is not None and previous != conversation_id:
            self.workspace.announce_presence(previous, "left")
        self._presence_shown = conversation_id
        self._typing_sent = (None, 0.0)
        if conversation_id is None:
            self._viewing_timer.stop()
            return
        self.workspace.announce_presence(conversation_id, "viewing")
        self._viewing_timer.start()

    def on_viewing_timer_timeout(self) -> None:
        if self._presence_shown is not None:
            self.workspace.announce_presence(self._presence_shown, "viewing")

    def on_presence(self, conversation_id: int) -> None:
        """The core heard colleagues come, type or go somewhere; only the open conversation is shown."""
        if conversation_id == self.current_conversation:
            self._show_presence()

    def _show_presence(self) -> None:
        entries = self.workspace.presence(self.current_conversation) if self.current_conversation else []
        text = presence_text(entries)
        self.presence_label.setText(text)
        self.presence_label.setToolTip(", ".join(name for name, _state in entries))
        self.presence_label.setVisible(bool(text))

    # -- replies that cross a colleague's ---------------------------------------------------------------
    def _newest_colleague_reply(self) -> tuple[int, str]:
        """The newest reply by another agent in the open thread: (server id, author), or (0, "")."""
        me = self.workspace.agent.id
        newest, author = 0, ""
        for row in self.thread_model.rows():
            if row.direction == "out" and row.author_id not in (None, me) and row.key.startswith("s"):
                server_id = int(row.key[1:])
                if server_id > newest:
                    newest, author = server_id, row.author or ""
        return newest, author

    def reply_collision(self) -> str | None:
        """The colleague who replied in the open conversation after this draft began (or the conversation
        was opened), or None."""
        conversation_id = self.current_conversation
        if conversation_id is None or self.thread_model.conversation_id != conversation_id:
            return None
        newest, author = self._newest_colleague_reply()
        if newest > self._reply_baseline.get(conversation_id, newest):
            return author or self.tr("A colleague")
        return None

    def reply_guard(self, text: str) -> bool:
        """Asked by the composer before a reply goes: False while we ask the agent first."""
        colleague = self.reply_collision()
        if colleague is None:
            return True
        self.ask_send_anyway(colleague, text)
        return False

    def ask_send_anyway(self, colleague: str, text: str) -> QMessageBox:
        """"Ben replied while you were writing. Send anyway?" — window-modal but not a nested event loop
        (the sync keeps running); the answer arrives through `finished`."""
        conversation_id = self.current_conversation
        box = QMessageBox(QMessageBox.Icon.Question, self.tr("A colleague replied"),
                          fill(self.tr("%1 replied while you were writing. Send anyway?"),
                               canned.first_name(colleague) or colleague),
                          QMessageBox.StandardButton.NoButton, self)
        box.setObjectName("collisionBox")
        box.setTextFormat(Qt.TextFormat.PlainText)
        send = box.addButton(self.tr("Send anyway"), QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton(self.tr("Don't send"), QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.setWindowModality(Qt.WindowModality.WindowModal)

        def on_finished(_result: int) -> None:
            self.collision_box = None
            # Either way the agent has now seen the colleague's reply.
            if conversation_id == self.current_conversation:
                self._reply_baseline[conversation_id] = self._newest_colleague_reply()[0]
            if box.clickedButton() is send and conversation_id == self.current_conversation:
                self.composer.submit_now(text, REPLY)
            box.deleteLater()

        box.finished.connect(on_finished)
        self.collision_box = box
        box.open()
        return box

    # -- my status ------------------------------------------------------------------------------------
    def _show_my_status(self, status: str) -> None:
        self._status_shown = status
        index = self.my_status.findData(status)
        if index >= 0:
            self.my_status.setCurrentIndex(index)
        self.my_status.setToolTip(fill(self.tr("Your status: %1"), agent_status_name(status)))

    def on_my_status_activated(self, index: int) -> None:
        status = self.my_status.itemData(index)
        if status:
            self.choose_my_status(status)

    def choose_my_status(self, status: str) -> None:
        """The agent picked a status: shown at once, then as the server answers."""
        previous = self._status_shown
        self._show_my_status(status)
        if self._status_request is not None and not self._status_request.done():
            self._status_request.cancel()
        self._status_request = asyncio.ensure_future(self._set_my_status(status, previous))
        self._status_request.add_done_callback(self._task_done)

    async def _set_my_status(self, status: str, previous: str) -> None:
        try:
            agent = await self.workspace.set_my_status(status)
        except NetworkError:
            self.statusBar().showMessage(self.tr("You are offline; your status will be set when you reconnect."), 10000)
            return
        except (ServerError, AuthError) as exc:
            self._show_my_status(previous)
            detail = exc.detail if isinstance(exc, ServerError) else str(exc)
            self.statusBar().showMessage(fill(self.tr("Your status was not changed: %1"), detail), 10000)
            return
        self._show_my_status(agent.status)

    def on_agent_status(self, agent: protocol.AgentPublic | None, error: Exception | None) -> None:
        """The core set our status again by itself (after reconnecting), or could not."""
        if agent is not None and (self._status_request is None or self._status_request.done()):
            self._show_my_status(agent.status)

    async def _refresh_agents(self) -> None:
        """The team's agents (for the assign menu and the end-shift dialog) and our own status and role as
        synced: a lead or the server may have changed them."""
        agents = await self.workspace.agents()
        self._agents = agents
        me = next((a for a in agents if a.id == self.workspace.agent.id), None)
        if me is None:
            return
        if me.role != self.workspace.agent.role:
            self.workspace.agent = self.workspace.agent.model_copy(update={"role": me.role})
            if self._shown_conversation() is not None:
                self._apply_assign_rules(self._conversation)
        if self._status_request is None or self._status_request.done():
            self._show_my_status(me.status)

    # -- end of shift ---------------------------------------------------------------------------------
    def open_end_shift(self) -> EndShiftDialog:
        colleagues = [a for a in self._agents if a.id != self.workspace.agent.id]
        dialog = EndShiftDialog(colleagues, self.workspace.handoff, self)
        dialog.finished_handoff.connect(self.on_handoff_done)
        dialog.finished.connect(dialog.deleteLater)
        self.end_shift_dialog = dialog
        dialog.open()
        return dialog

    def on_handoff_done(self, result: protocol.HandoffResult) -> None:
        self._show_my_status(result.agent.status)
        moved = len(result.moved)
        self.statusBar().showMessage(
            self.tr("Shift ended: 1 conversation handed over.") if moved == 1 else
            fill(self.tr("Shift ended: %1 conversations handed over."), str(moved)), 15000)

    def _stash_draft(self) -> None:
        if self.current_conversation is None:
            return
        text = self.composer.edit.toPlainText()
        key = str(self.current_conversation)
        if text.strip():
            self._drafts[key] = text
        else:
            self._drafts.pop(key, None)

    def _save_drafts(self) -> None:
        self._stash_draft()
        self._spawn(self.workspace.save_ui_state(dict(self._drafts), self.current_conversation))

    def save_window_state(self) -> None:
        """Geometry, splitters and search go to the user's settings; drafts and the open conversation to
        this server's cache (written synchronously: the window may be closing)."""
        self._stash_draft()
        self.workspace.cache.set_value("drafts", json.dumps(self._drafts))
        self.workspace.cache.set_value("conversation", str(self.current_conversation or ""))
        self.settings.set("window.geometry", base64.b64encode(bytes(self.saveGeometry())).decode(), save=False)
        self.settings.set("window.splitter", base64.b64encode(bytes(self.splitter.saveState())).decode(), save=False)
        self.settings.set("window.search", self.search_edit.text(), save=False)
        self.settings.save()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        try:
            self.save_window_state()
        except Exception:
            log.exception("window state not saved")  # closing must not fail because of it
        finally:
            # A closed window (also one replaced by a language switch) hears nothing more.
            QApplication.instance().removeEventFilter(self)
            self.settings.unsubscribe("shortcuts", self.actions_.apply_shortcuts)
            for signal, slot in ((self.notifier.open_requested, self.open_conversation),
                                 (self.notifier.show_requested, self.bring_to_front)):
                try:
                    signal.disconnect(slot)
                except (RuntimeError, TypeError):
                    pass
            self._draft_timer.stop()
            self._search_timer.stop()
            self._crisis_timer.stop()
            self._clock_timer.stop()
            self.crisis_banner.stop()
            self._viewing_timer.stop()
            for task in list(self._tasks.values()) + list(self._background):
                task.cancel()
            event.accept()
            self.closed.emit()


def _subsequence(needle: str, haystack: str) -> bool:
    letters = iter(haystack)
    return all(ch in letters for ch in needle)


def _duration_words(seconds: float, hours_minutes: str, minutes_only: str) -> str:
    """ "1 h 20 min" / "12 min" (at least 1 min), from translated patterns with %1 and %2."""
    minutes = max(1, int(abs(seconds) // 60))
    if minutes >= 60:
        return hours_minutes.replace("%1", str(minutes // 60)).replace("%2", str(minutes % 60))
    return minutes_only.replace("%1", str(minutes))


def _keep(ids: list[int], shown: list[int], keep: int) -> list[int]:
    """`ids` with `keep` put back after the conversation it follows in the list shown now."""
    at = shown.index(keep)
    before = set(shown[:at])
    for i in range(len(ids) - 1, -1, -1):
        if ids[i] in before:
            return ids[:i + 1] + [keep] + ids[i + 1:]
    return [keep] + ids
