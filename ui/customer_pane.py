"""The customer beside the conversation: profile (tags, CRM fields, internal notes), channel identities, every
conversation on any channel, and open follow-ups; agents edit tags, fields and notes here."""

from __future__ import annotations

import asyncio
import html
from datetime import datetime, timezone

import shiboken6
from PySide6.QtCore import QDate, QDateTime, QLocale, QPoint, QRect, QSize, Qt, QTime, QTimer, Signal
from PySide6.QtGui import QFont, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QFrame, QHBoxLayout, QHeaderView, QLabel, QLayout, QLineEdit, QMenu, QMessageBox,
    QPlainTextEdit, QPushButton, QScrollArea, QSizePolicy, QTableWidget, QTableWidgetItem, QToolButton, QTreeWidget,
    QTreeWidgetItem, QVBoxLayout, QWidget,
)

from ui import crash
from ui.case_types import case_type_name, priority_name
from ui.style import FAILED, MUTED, channel_icon, channel_name, short_time, status_name
from ui.thread_model import fill
from workstation import history as hist
from workstation import identities as idents
from workstation import protocol
from workstation.cache import ChangeSet, CustomerCard
from workstation.errors import AuthError, NetworkError, RateLimitedError, ServerError
from workstation.history import CustomerHistory, HistoryConversation, HistoryFollowUp, Problem

ConversationRole = Qt.ItemDataRole.UserRole + 1
# How much of a preview or note a history entry shows (the rest is in the conversation).
PREVIEW_CHARS = 140


def plain_label(text: str = "", parent=None) -> QLabel:
    label = QLabel(text, parent)
    # Customer data is plain text, always: a name like "<img src=x>" must show as written.
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def plain_tooltip(text: str) -> str:
    """A tooltip that shows `text` as written: Qt guesses whether a tooltip is rich text, so customer text
    goes in escaped, inside markup of our own."""
    return "<p style='white-space:pre-wrap'>" + html.escape(text) + "</p>"


def one_line(text: str, limit: int = PREVIEW_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def handle_text(channel: str, handle: str) -> str:
    return f"+{handle}" if channel == "whatsapp" and handle.isdigit() else handle


def _local(when: datetime) -> datetime:
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).astimezone()


def date_text(when: datetime | None) -> str:
    if when is None:
        return ""
    local = _local(when)
    return QLocale().toString(QDate(local.year, local.month, local.day), QLocale.FormatType.ShortFormat)


def date_time_text(when: datetime | None) -> str:
    if when is None:
        return ""
    local = _local(when)
    moment = QDateTime(QDate(local.year, local.month, local.day), QTime(local.hour, local.minute))
    return QLocale().toString(moment, QLocale.FormatType.ShortFormat)


def section_title(text: str, parent=None) -> QLabel:
    label = QLabel(text, parent)
    font = QFont(label.font())
    font.setBold(True)
    label.setFont(font)
    return label


def hint_label(text: str, parent=None) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    return label


class FlowLayout(QLayout):
    """Lays its items out left to right and wraps them onto new lines, like words (the tag chips)."""

    def __init__(self, parent=None, spacing: int = 4) -> None:
        super().__init__(parent)
        self._items = []
        self.setContentsMargins(0, 0, 0, 0)
        self.setSpacing(spacing)

    def addItem(self, item) -> None:  # noqa: N802 (Qt override)
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int):  # noqa: N802 (Qt override)
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int):  # noqa: N802 (Qt override)
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self):  # noqa: N802 (Qt override)
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt override)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt override)
        return self._place(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802 (Qt override)
        super().setGeometry(rect)
        self._place(rect, move=True)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return self.minimumSize()

    def minimumSize(self) -> QSize:  # noqa: N802 (Qt override)
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _place(self, rect: QRect, *, move: bool) -> int:
        x, y, line = rect.x(), rect.y(), 0
        gap = self.spacing()
        for item in self._items:
            hint = item.sizeHint()
            if x + hint.width() > rect.right() + 1 and line > 0:
                x, y, line = rect.x(), y + line + gap, 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + gap
            line = max(line, hint.height())
        return y + line - rect.y()


class TagChip(QFrame):
    """One tag: its text (plain) and a button that removes it. VIP stands out."""

    remove_requested = Signal(str)

    def __init__(self, tag: str, parent=None) -> None:
        super().__init__(parent)
        self.tag = tag
        self.vip = hist.is_vip([tag])
        self.setObjectName("vipTag" if self.vip else "tagChip")
        self.label = plain_label(tag, self)
        self.label.setWordWrap(False)
        self.remove_button = QToolButton(self)
        self.remove_button.setText("×")
        self.remove_button.setAutoRaise(True)
        self.remove_button.setToolTip(self.tr("Remove this tag"))
        self.remove_button.setAccessibleName(self.tr("Remove tag %1").replace("%1", tag))
        self.remove_button.clicked.connect(lambda: self.remove_requested.emit(self.tag))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 1, 2, 1)
        layout.setSpacing(2)
        layout.addWidget(self.label)
        layout.addWidget(self.remove_button)
        if self.vip:
            font = QFont(self.label.font())
            font.setBold(True)
            self.label.setFont(font)
            self.setStyleSheet("QFrame#vipTag { background: #F59E0B; border-radius: 10px; }"
                               "QFrame#vipTag QLabel, QFrame#vipTag QToolButton { color: #1F2937; }")
        else:
            self.setStyleSheet("QFrame#tagChip { background: palette(midlight); border-radius: 10px; }")


class FollowUpRow(QFrame):
    """One open follow-up: when it is due, its note, and a button that marks it done."""

    done_requested = Signal(int)

    def __init__(self, follow_up: HistoryFollowUp, parent=None) -> None:
        super().__init__(parent)
        self.follow_up = follow_up
        overdue = follow_up.due_at <= datetime.now(timezone.utc)
        when = date_text(follow_up.due_at)
        due = (self.tr("Overdue since %1") if overdue else self.tr("Due %1")).replace("%1", when)
        parts = [due, f"#{follow_up.conversation_id}"]
        if follow_up.channel:
            parts.append(channel_name(follow_up.channel))
        if follow_up.agent:
            parts.append(follow_up.agent)
        self.due_label = plain_label(" · ".join(parts), self)
        if overdue:
            self.due_label.setStyleSheet(f"color: {FAILED.name()};")
        self.note_label = plain_label(follow_up.note, self)
        self.note_label.setVisible(bool(follow_up.note))
        self.done_button = QPushButton(self.tr("Done"), self)
        self.done_button.setToolTip(self.tr("Mark this follow-up as done"))
        self.done_button.setAccessibleName(self.tr("Mark follow-up %1 as done").replace("%1", when))
        self.done_button.clicked.connect(lambda: self.done_requested.emit(self.follow_up.follow_up_id))
        text = QVBoxLayout()
        text.setSpacing(0)
        text.addWidget(self.due_label)
        text.addWidget(self.note_label)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.addLayout(text, 1)
        layout.addWidget(self.done_button, 0, Qt.AlignmentFlag.AlignTop)


class CustomerPane(QWidget):
    """Shows one customer. With a workspace it loads the whole history from the cache and saves edits through
    the team server; without one it shows what a CustomerCard holds."""

    # Double-click or Enter on an earlier conversation: the window opens it.
    open_requested = Signal(int)
    # The history of this customer id is on screen (after every load).
    history_shown = Signal(int)
    # An edit reached the team server: what ("tags", "fields", "notes", "language", "follow_up", "merge", "split").
    saved = Signal(str)
    # An edit was refused or could not be sent: the sentence shown in the pane.
    save_failed = Signal(str)

    def __init__(self, parent=None, workspace=None) -> None:
        super().__init__(parent)
        # The window that holds the pane has the workspace; one given here wins.
        self.workspace = workspace if workspace is not None else getattr(parent, "workspace", None)
        self._history: CustomerHistory | None = None
        self._customer_id: int | None = None
        self._current_conversation: int | None = None
        # What the server answered to our last profile edit, shown until the cache has caught up with it.
        self._confirmed: protocol.CustomerPublic | None = None
        # Unsaved notes and CRM fields per customer: (what the server had when editing began, the draft).
        self._notes_drafts: dict[int, tuple[str, str]] = {}
        self._fields_drafts: dict[int, tuple[dict[str, str], list[tuple[str, str]]]] = {}
        self._load_task: asyncio.Task | None = None
        # Changes that arrived while a read was on its way.
        self._pending_changes = ChangeSet()
        self._tasks: set[asyncio.Task] = set()
        self._busy: set[str] = set()
        self._filling = False
        self._shown_current: int | None = None
        self._partial = False
        self._build()
        self.show_card(None)

    # -- layout --------------------------------------------------------------------------------------------
    def _build(self) -> None:
        body = QWidget(self)
        body.setObjectName("customerBody")
        self.name_label = plain_label(parent=body)
        self.name_label.setObjectName("customerName")
        font = QFont(self.name_label.font())
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.name_label.setFont(font)
        self.vip_badge = QLabel(self.tr("VIP"), body)
        self.vip_badge.setObjectName("vipBadge")
        self.vip_badge.setStyleSheet("QLabel#vipBadge { background: #F59E0B; color: #1F2937; font-weight: bold;"
                                     " border-radius: 8px; padding: 1px 8px; }")
        self.vip_badge.setToolTip(self.tr("A VIP customer: their conversations get a higher priority"))
        self.vip_badge.hide()
        header = QHBoxLayout()
        header.addWidget(self.name_label, 1)
        header.addWidget(self.vip_badge, 0, Qt.AlignmentFlag.AlignTop)

        self.language_combo = QComboBox(body)
        self.language_combo.addItem(self.tr("Not known"), None)
        self.language_combo.addItem(self.tr("Spanish"), "es")
        self.language_combo.addItem(self.tr("English"), "en")
        self.language_combo.setAccessibleName(self.tr("Customer's language"))
        self.language_combo.activated.connect(self.on_language_combo_activated)
        self.language_row = QWidget(body)
        language_layout = QHBoxLayout(self.language_row)
        language_layout.setContentsMargins(0, 0, 0, 0)
        language_layout.addWidget(QLabel(self.tr("Language:"), self.language_row))
        language_layout.addWidget(self.language_combo)
        language_layout.addStretch(1)

        self.error_label = plain_label(parent=body)
        self.error_label.setObjectName("customerError")
        self.error_label.setStyleSheet(f"color: {FAILED.name()};")
        self.error_label.hide()

        self.identities_title = section_title(self.tr("Channels"), body)
        self.identities_label = plain_label(parent=body)
        self.identities_label.setObjectName("customerIdentities")
        # One person on several channels: merge another customer in, or split a channel off (full history only).
        self.merge_button = QPushButton(self.tr("Merge with another customer…"), body)
        self.merge_button.setObjectName("mergeCustomerButton")
        self.merge_button.setToolTip(self.tr("The same person wrote from another channel or number: bring their "
                                             "conversations here"))
        self.merge_button.clicked.connect(self.open_merge_dialog)
        self.split_button = QToolButton(body)
        self.split_button.setObjectName("splitIdentityButton")
        self.split_button.setText(self.tr("Split into a separate customer"))
        self.split_button.setToolTip(self.tr("One of these channels is someone else: make it a customer of its own"))
        self.split_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.split_menu = QMenu(self.split_button)
        self.split_button.setMenu(self.split_menu)
        self.identity_actions = QWidget(body)
        identity_row = QHBoxLayout(self.identity_actions)
        identity_row.setContentsMargins(0, 0, 0, 0)
        identity_row.addWidget(self.merge_button)
        identity_row.addWidget(self.split_button)
        identity_row.addStretch(1)
        self.merge_dialog = None
        self.split_box: QMessageBox | None = None

        # Tags: chips that wrap, and a line to add one.
        self.tags_title = section_title(self.tr("Tags"), body)
        self.tags_box = QWidget(body)
        self.tags_flow = FlowLayout(self.tags_box)
        self.no_tags_label = hint_label(self.tr("No tags yet."), body)
        self.tag_edit = QLineEdit(body)
        self.tag_edit.setPlaceholderText(self.tr("Add a tag (VIP, loyal…)"))
        self.tag_edit.setAccessibleName(self.tr("New tag"))
        self.tag_edit.setMaxLength(hist.MAX_TAG_CHARS)
        self.tag_edit.returnPressed.connect(self.add_tag_from_edit)
        self.add_tag_button = QPushButton(self.tr("Add"), body)
        self.add_tag_button.setAccessibleName(self.tr("Add tag"))
        self.add_tag_button.clicked.connect(self.add_tag_from_edit)
        tag_row = QHBoxLayout()
        tag_row.addWidget(self.tag_edit, 1)
        tag_row.addWidget(self.add_tag_button)

        # CRM fields: a name/value table, saved explicitly.
        self.fields_title = section_title(self.tr("Customer data"), body)
        self.fields_table = QTableWidget(0, 2, body)
        self.fields_table.setObjectName("customerFields")
        self.fields_table.setHorizontalHeaderLabels([self.tr("Field"), self.tr("Value")])
        self.fields_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.fields_table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.fields_table.verticalHeader().hide()
        self.fields_table.setWordWrap(True)
        self.fields_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.fields_table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                          | QAbstractItemView.EditTrigger.EditKeyPressed
                                          | QAbstractItemView.EditTrigger.AnyKeyPressed)
        self.fields_table.setAccessibleName(self.tr("Customer data fields"))
        self.fields_table.itemChanged.connect(self.on_fields_table_item_changed)
        self.fields_table.itemSelectionChanged.connect(self._update_field_buttons)
        self.no_fields_label = hint_label(self.tr("No data yet. Add fields such as plan, city or order count."), body)
        self.add_field_button = QPushButton(self.tr("Add field"), body)
        self.add_field_button.clicked.connect(self.add_field_row)
        self.remove_field_button = QPushButton(self.tr("Remove field"), body)
        self.remove_field_button.clicked.connect(self.remove_selected_field)
        self.save_fields_button = QPushButton(self.tr("Save data"), body)
        self.save_fields_button.clicked.connect(self.save_fields)
        self.discard_fields_button = QPushButton(self.tr("Discard"), body)
        self.discard_fields_button.setAccessibleName(self.tr("Discard changes to the customer data"))
        self.discard_fields_button.clicked.connect(self.discard_fields)
        self.fields_conflict_label = hint_label(
            self.tr("A colleague changed these fields meanwhile; saving keeps your version."), body)
        self.fields_conflict_label.hide()
        field_buttons = QHBoxLayout()
        for button in (self.add_field_button, self.remove_field_button):
            field_buttons.addWidget(button)
        field_buttons.addStretch(1)
        for button in (self.discard_fields_button, self.save_fields_button):
            field_buttons.addWidget(button)

        # Internal notes about the customer, saved explicitly.
        self.notes_title = section_title(self.tr("Internal notes"), body)
        self.notes_hint = hint_label(self.tr("Seen by your team only, never sent to the customer."), body)
        self.notes_edit = QPlainTextEdit(body)
        self.notes_edit.setObjectName("customerNotes")
        self.notes_edit.setPlaceholderText(self.tr("What the team should know about this customer…"))
        self.notes_edit.setAccessibleName(self.tr("Internal notes about the customer"))
        self.notes_edit.setTabChangesFocus(True)
        self.notes_edit.setMinimumHeight(70)
        self.notes_edit.setMaximumHeight(140)
        self.notes_edit.textChanged.connect(self.on_notes_edit_text_changed)
        save_shortcut = QShortcut(QKeySequence("Ctrl+Return"), self.notes_edit)
        save_shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
        save_shortcut.activated.connect(self.save_notes)
        self.save_notes_button = QPushButton(self.tr("Save notes"), body)
        self.save_notes_button.setToolTip(self.tr("Save the notes (Ctrl+Enter)"))
        self.save_notes_button.clicked.connect(self.save_notes)
        self.discard_notes_button = QPushButton(self.tr("Discard"), body)
        self.discard_notes_button.setAccessibleName(self.tr("Discard changes to the notes"))
        self.discard_notes_button.clicked.connect(self.discard_notes)
        self.notes_conflict_label = hint_label(
            self.tr("A colleague changed these notes meanwhile; saving keeps your version."), body)
        self.notes_conflict_label.hide()
        note_buttons = QHBoxLayout()
        note_buttons.addStretch(1)
        note_buttons.addWidget(self.discard_notes_button)
        note_buttons.addWidget(self.save_notes_button)

        # Open follow-ups.
        self.follow_ups_title = section_title(self.tr("Open follow-ups"), body)
        self.follow_ups_box = QWidget(body)
        self.follow_ups_layout = QVBoxLayout(self.follow_ups_box)
        self.follow_ups_layout.setContentsMargins(0, 0, 0, 0)
        self.follow_ups_layout.setSpacing(2)
        self.no_follow_ups_label = hint_label(self.tr("No open follow-ups."), body)

        # Every conversation on any channel; notes of each below it. (`history`: the window names it for
        # screen readers.)
        self.history_title = section_title(self.tr("Conversations"), body)
        self.history = QTreeWidget(body)
        self.history.setObjectName("customerHistory")
        self.history.setHeaderHidden(True)
        self.history.setColumnCount(1)
        self.history.setUniformRowHeights(False)
        self.history.setWordWrap(False)
        self.history.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.history.setRootIsDecorated(True)
        self.history.setExpandsOnDoubleClick(False)  # a double-click opens the conversation
        self.history.setMinimumHeight(160)
        self.history.setToolTip(self.tr("Double-click a conversation to open it"))
        self.history.itemActivated.connect(self.on_history_item_activated)

        # The editable profile, shown once the full history is loaded (and with a workspace to save through).
        self.editor = QWidget(body)
        self.editor.setObjectName("customerEditor")
        editor = QVBoxLayout(self.editor)
        editor.setContentsMargins(0, 0, 0, 0)
        editor.addWidget(self.language_row)
        editor.addSpacing(4)
        editor.addWidget(self.tags_title)
        editor.addWidget(self.tags_box)
        editor.addWidget(self.no_tags_label)
        editor.addLayout(tag_row)
        editor.addSpacing(6)
        editor.addWidget(self.fields_title)
        editor.addWidget(self.no_fields_label)
        editor.addWidget(self.fields_table)
        editor.addWidget(self.fields_conflict_label)
        editor.addLayout(field_buttons)
        editor.addSpacing(6)
        editor.addWidget(self.notes_title)
        editor.addWidget(self.notes_hint)
        editor.addWidget(self.notes_edit)
        editor.addWidget(self.notes_conflict_label)
        editor.addLayout(note_buttons)
        editor.addSpacing(6)
        editor.addWidget(self.follow_ups_title)
        editor.addWidget(self.follow_ups_box)
        editor.addWidget(self.no_follow_ups_label)

        layout = QVBoxLayout(body)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.addLayout(header)
        layout.addWidget(self.error_label)
        layout.addSpacing(4)
        layout.addWidget(self.identities_title)
        layout.addWidget(self.identities_label)
        layout.addWidget(self.identity_actions)
        layout.addSpacing(6)
        layout.addWidget(self.editor)
        layout.addSpacing(6)
        layout.addWidget(self.history_title)
        layout.addWidget(self.history, 1)

        scroll = QScrollArea(self)
        scroll.setObjectName("customerScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.scroll = scroll
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)

    # -- what to show ----------------------------------------------------------------------------------------
    @property
    def customer_id(self) -> int | None:
        return self._customer_id

    @property
    def shown_history(self) -> CustomerHistory | None:
        return self._history

    def set_workspace(self, workspace) -> None:
        self.workspace = workspace

    def clear(self) -> None:
        """Nothing selected."""
        self.show_card(None)

    def show_card(self, card: CustomerCard | None, current_conversation: int | None = None) -> None:
        """The customer of the open conversation (what the window calls when a conversation opens or changes).
        With a workspace the whole history follows from the cache; the card's basics show at once."""
        self._current_conversation = current_conversation
        if card is None:
            self._cancel_load()
            self._customer_id = None
            self._history = None
            self._confirmed = None
            self._show_empty()
            return
        if card.customer_id != self._customer_id or self._history is None:
            self._switch_customer(card.customer_id)
            self.set_history(CustomerHistory(
                customer_id=card.customer_id, display_name=card.display_name,
                identities=tuple(hist.HistoryIdentity(*i) for i in card.identities),
                conversations=tuple(HistoryConversation(
                    conversation_id=cid, channel=channel, status=status, case_type=None, priority="normal",
                    last_message_at=at, preview="", message_count=0, public=False, resolved_at=None,
                    assignee_id=None) for cid, channel, status, at in card.conversations),
            ), current_conversation, partial=self.workspace is not None)
        elif current_conversation is not None:
            self._mark_current()
        if self.workspace is not None:
            self.reload()

    def show_customer(self, customer_id: int | None, current_conversation: int | None = None) -> None:
        """Loads and shows one customer's history from the cache (needs a workspace)."""
        self._current_conversation = current_conversation
        if customer_id is None:
            self.show_card(None)
            return
        if customer_id != self._customer_id:
            self._switch_customer(customer_id)
        self.reload()

    def show_conversation_customer(self, conversation_id: int | None) -> None:
        """The customer of a conversation, loaded from the cache (needs a workspace)."""
        if conversation_id is None:
            self.show_card(None)
            return
        self._current_conversation = conversation_id
        workspace = self.workspace
        self._load(lambda: hist.load_history_for_conversation(workspace, conversation_id), conversation_id)

    def reload(self) -> None:
        """Reads the shown customer's history again from the cache."""
        if self.workspace is None or self._customer_id is None:
            return
        workspace, customer_id = self.workspace, self._customer_id
        self._load(lambda: hist.load_history(workspace, customer_id), self._current_conversation, customer_id)

    def on_workspace_changed(self, cs: ChangeSet) -> None:
        """What sync or a local write changed: the pane reads the customer again when it is concerned."""
        if self.workspace is None or self._customer_id is None:
            return
        if self._confirmed is not None and self._customer_id in cs.customer_ids:
            # Synced after our edit was saved: the cache now has it, or something newer.
            self._confirmed = None
        if cs.reset or self._history is None or self._partial:
            self.reload()
            return
        if not (cs.customer_ids or cs.conversation_ids or cs.follow_ups_changed):
            return
        if self._load_task is not None and not self._load_task.done():
            # A read on its way may have been made before this change: look again once it is through.
            self._pending_changes.merge(cs)
            return
        history = self._history
        current = self._current_conversation

        async def check() -> None:
            fresh = await hist.history_if_changed(
                self.workspace, history, customer_ids=set(cs.customer_ids),
                conversation_ids=set(cs.conversation_ids), follow_ups_changed=cs.follow_ups_changed)
            if not self._alive():
                return
            if fresh is not None and fresh.customer_id == self._customer_id:
                self.set_history(fresh, current)
                if not fresh.identities and current is not None:
                    # Merged into another customer meanwhile: follow the open conversation there (after this
                    # read is through, as that load replaces it).
                    QTimer.singleShot(0, self, lambda: self.show_conversation_customer(current))
            self._after_read()
        self._load_task = self._start(check(), "customer history check")

    def _after_read(self) -> None:
        """A load or check is through: changes that came meanwhile are looked at now."""
        if self._pending_changes:
            pending, self._pending_changes = self._pending_changes, ChangeSet()
            self._load_task = None
            self.on_workspace_changed(pending)

    def _switch_customer(self, customer_id: int) -> None:
        self._stash_drafts()
        self._pending_changes = ChangeSet()
        self._customer_id = customer_id
        self._history = None
        self._confirmed = None
        self.error_label.hide()
        self.tag_edit.clear()

    def _load(self, read, current_conversation: int | None, customer_id: int | None = None) -> None:
        """Runs one history load (a newer load cancels it): `read()` makes the coroutine (made inside the task,
        so a load cancelled before it starts leaves none unawaited). `customer_id`: the customer meant; None
        when only the conversation is known."""
        self._cancel_load()

        async def load() -> None:
            history = await read()
            if not self._alive():
                return
            try:
                if history is None:
                    if self._history is None:
                        self._show_empty(self.tr("This customer is not in the local data yet."))
                    return
                if customer_id is not None and history.customer_id != customer_id:
                    return
                self.set_history(history, current_conversation)
            finally:
                self._after_read()
        self._load_task = self._start(load(), "customer history")

    def _cancel_load(self) -> None:
        if self._load_task is not None and not self._load_task.done():
            self._load_task.cancel()
        self._load_task = None

    def set_history(self, history: CustomerHistory, current_conversation: int | None = None, *,
                    partial: bool = False, force: bool = False) -> None:
        """Shows a customer's history (read by workstation.history). Unsaved notes and fields stay as typed.
        `partial`: only the basics are known yet (the editing sections wait for the full history)."""
        if history.customer_id != self._customer_id:
            self._switch_customer(history.customer_id)
        if self._confirmed is not None:
            if self._profile_matches(history, self._confirmed):
                self._confirmed = None  # the cache has caught up
            else:
                history = history.with_profile(self._confirmed)
        if current_conversation is not None:
            self._current_conversation = current_conversation
        if (not partial and not force and history == self._history
                and self._shown_current == self._current_conversation):
            self.history_shown.emit(history.customer_id)
            return
        self._history = history
        self._shown_current = self._current_conversation
        self._partial = partial
        self.name_label.setText(history.display_name)
        self.vip_badge.setVisible(history.vip)
        self._show_identities(history)
        self._show_conversations(history.conversations)
        self.history_title.show()
        self.history.show()
        editing = not partial and self.workspace is not None
        self.editor.setVisible(editing)
        self.identity_actions.setVisible(editing)
        if editing:
            self._show_language(history.language)
            self._show_tags(history.tags)
            self._show_fields(history.fields)
            self._show_notes(history.notes)
            self._show_follow_ups(history.follow_ups)
            self._update_busy()
            self.history_shown.emit(history.customer_id)

    @staticmethod
    def _profile_matches(history: CustomerHistory, customer: protocol.CustomerPublic) -> bool:
        return (list(history.tags) == customer.tags and history.fields == customer.fields
                and history.notes == customer.notes and history.language == customer.language)

    def _show_empty(self, text: str | None = None) -> None:
        self.name_label.setText(text or self.tr("No conversation selected"))
        self.vip_badge.hide()
        self.error_label.hide()
        for widget in (self.identities_title, self.identities_label, self.identity_actions, self.editor,
                       self.history_title, self.history):
            widget.hide()
        self.history.clear()

    def _show_identities(self, history: CustomerHistory) -> None:
        lines = []
        for identity in history.identities:
            line = f"{channel_name(identity.channel)} · {handle_text(identity.channel, identity.handle)}"
            if identity.display_name and identity.display_name != history.display_name:
                line += f" ({identity.display_name})"
            lines.append(line)
        self.identities_label.setText("\n".join(lines))
        self.identities_title.setVisible(bool(lines))
        self.identities_label.setVisible(bool(lines))
        self.split_menu.clear()
        for identity in history.identities:
            text = f"{channel_name(identity.channel)} · {handle_text(identity.channel, identity.handle)}"
            action = self.split_menu.addAction(text.replace("&", "&&"))  # a plain "&", not a mnemonic
            action.triggered.connect(lambda _checked=False, i=identity: self.confirm_split(i))
        self.split_button.setVisible(len(history.identities) > 1)

    def _show_language(self, language: str | None) -> None:
        index = self.language_combo.findData(language)
        self.language_combo.setCurrentIndex(max(0, index))
        self.language_combo.setEnabled("language" not in self._busy)

    def _show_tags(self, tags) -> None:
        while self.tags_flow.count():
            item = self.tags_flow.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()
                item.widget().deleteLater()
        # VIP first: it is the tag that matters most at a glance.
        for tag in sorted(tags, key=lambda t: not hist.is_vip([t])):
            chip = TagChip(tag, self.tags_box)
            chip.remove_requested.connect(self.remove_tag)
            chip.remove_button.setEnabled("tags" not in self._busy)
            self.tags_flow.addWidget(chip)
            chip.show()  # (a layout shows a new child only on the next turn of the event loop)
        self.tags_box.setVisible(bool(tags))
        self.no_tags_label.setVisible(not tags)
        self.tags_flow.invalidate()

    def tag_chips(self) -> list[TagChip]:
        return [self.tags_flow.itemAt(i).widget() for i in range(self.tags_flow.count())]

    # -- CRM fields --------------------------------------------------------------------------------------------
    def _show_fields(self, fields: dict[str, str]) -> None:
        customer_id = self._customer_id
        draft = self._fields_drafts.get(customer_id)
        if draft is not None:
            base, rows = draft
            self.fields_conflict_label.setVisible(base != fields)
        else:
            rows = sorted(fields.items(), key=lambda kv: kv[0].casefold())
            self.fields_conflict_label.hide()
        self._fill_fields(rows)

    def _fill_fields(self, rows: list[tuple[str, str]]) -> None:
        self._filling = True
        try:
            self.fields_table.setRowCount(0)
            for name, value in rows:
                self._append_field(name, value)
        finally:
            self._filling = False
        self._fit_fields_table()

    def _fit_fields_table(self) -> None:
        """As tall as its rows (the pane scrolls, not the table), up to a point."""
        table = self.fields_table
        table.resizeRowsToContents()
        height = table.horizontalHeader().height() + 2 * table.frameWidth()
        height += sum(table.rowHeight(row) for row in range(table.rowCount()))
        table.setFixedHeight(min(max(height, 60), 320))
        table.setVisible(table.rowCount() > 0)
        self.no_fields_label.setVisible(table.rowCount() == 0)

    def _append_field(self, name: str, value: str) -> int:
        row = self.fields_table.rowCount()
        self.fields_table.insertRow(row)
        self.fields_table.setItem(row, 0, QTableWidgetItem(name))
        self.fields_table.setItem(row, 1, QTableWidgetItem(value))
        return row

    def field_rows(self) -> list[tuple[str, str]]:
        """The fields as the table shows them now (possibly unsaved)."""
        rows = []
        for row in range(self.fields_table.rowCount()):
            name, value = self.fields_table.item(row, 0), self.fields_table.item(row, 1)
            rows.append((name.text() if name else "", value.text() if value else ""))
        return rows

    def fields_dirty(self) -> bool:
        return self._customer_id in self._fields_drafts

    def on_fields_table_item_changed(self, _item: QTableWidgetItem) -> None:
        if self._filling:
            return
        self._note_fields_edit()

    def _note_fields_edit(self) -> None:
        if self._history is None:
            return
        rows = self.field_rows()
        base = self._fields_drafts.get(self._customer_id, (self._history.fields, None))[0]
        if hist.clean_fields(dict(rows)) == base and len(rows) == len(base):
            self._fields_drafts.pop(self._customer_id, None)
            self.fields_conflict_label.hide()
        else:
            self._fields_drafts[self._customer_id] = (base, rows)
        self._update_field_buttons()

    def add_field_row(self) -> None:
        self._filling = True
        try:
            row = self._append_field("", "")
        finally:
            self._filling = False
        self._fit_fields_table()
        self._note_fields_edit()
        self.fields_table.setCurrentCell(row, 0)
        self.fields_table.editItem(self.fields_table.item(row, 0))

    def remove_selected_field(self) -> None:
        rows = sorted({index.row() for index in self.fields_table.selectedIndexes()}, reverse=True)
        if not rows and self.fields_table.currentRow() >= 0:
            rows = [self.fields_table.currentRow()]
        for row in rows:
            self.fields_table.removeRow(row)
        if rows:
            self._fit_fields_table()
            self._note_fields_edit()

    def discard_fields(self) -> None:
        self._fields_drafts.pop(self._customer_id, None)
        self.fields_conflict_label.hide()
        if self._history is not None:
            self._show_fields(self._history.fields)
        self._update_field_buttons()

    def _update_field_buttons(self) -> None:
        dirty, busy = self.fields_dirty(), "fields" in self._busy
        self.save_fields_button.setEnabled(dirty and not busy)
        self.discard_fields_button.setEnabled(dirty and not busy)
        self.save_fields_button.setDefault(dirty)
        self.remove_field_button.setEnabled(not busy and self.fields_table.currentRow() >= 0)
        self.add_field_button.setEnabled(not busy)
        self.fields_table.setEnabled(not busy)

    def save_fields(self) -> None:
        if self._history is None or not self.fields_dirty() or "fields" in self._busy:
            return
        rows = self.field_rows()
        problem = hist.check_fields(rows)
        if problem is not None:
            self._show_error(self.problem_text(problem))
            return
        fields = hist.clean_fields(dict(rows))
        self._save("fields", protocol.CustomerUpdate(fields=fields))

    # -- notes -------------------------------------------------------------------------------------------------
    def _show_notes(self, notes: str) -> None:
        draft = self._notes_drafts.get(self._customer_id)
        text = draft[1] if draft is not None else notes
        self.notes_conflict_label.setVisible(draft is not None and draft[0] != notes)
        if self.notes_edit.toPlainText() != text:
            self._filling = True
            try:
                self.notes_edit.setPlainText(text)
            finally:
                self._filling = False

    def notes_dirty(self) -> bool:
        return self._customer_id in self._notes_drafts

    def on_notes_edit_text_changed(self) -> None:
        if self._filling or self._history is None:
            return
        text = self.notes_edit.toPlainText()
        base = self._notes_drafts.get(self._customer_id, (self._history.notes, ""))[0]
        if text == base:
            self._notes_drafts.pop(self._customer_id, None)
            self.notes_conflict_label.hide()
        else:
            self._notes_drafts[self._customer_id] = (base, text)
        self._update_note_buttons()

    def discard_notes(self) -> None:
        self._notes_drafts.pop(self._customer_id, None)
        self.notes_conflict_label.hide()
        if self._history is not None:
            self._show_notes(self._history.notes)
        self._update_note_buttons()

    def _update_note_buttons(self) -> None:
        dirty, busy = self.notes_dirty(), "notes" in self._busy
        self.save_notes_button.setEnabled(dirty and not busy)
        self.discard_notes_button.setEnabled(dirty and not busy)
        self.notes_edit.setReadOnly(busy)

    def save_notes(self) -> None:
        if self._history is None or not self.notes_dirty() or "notes" in self._busy:
            return
        notes = self.notes_edit.toPlainText()
        problem = hist.check_notes(notes)
        if problem is not None:
            self._show_error(self.problem_text(problem))
            return
        self._save("notes", protocol.CustomerUpdate(notes=notes))

    def _stash_drafts(self) -> None:
        """Drafts are kept as they are typed; nothing to do but forget drafts equal to what is saved."""
        customer_id = self._customer_id
        if customer_id is None or self._history is None:
            return
        draft = self._notes_drafts.get(customer_id)
        if draft is not None and draft[1] == self._history.notes:
            del self._notes_drafts[customer_id]

    # -- tags and language ---------------------------------------------------------------------------------------
    def add_tag_from_edit(self) -> None:
        text = hist.normal_tag(self.tag_edit.text())
        if not text or self._history is None or "tags" in self._busy:
            return
        tags = hist.with_tag(self._history.tags, text)
        if tags == list(self._history.tags):
            self.tag_edit.clear()  # already there
            return
        self.set_tags(tags, clear_edit=True)

    def remove_tag(self, tag: str) -> None:
        if self._history is None or "tags" in self._busy:
            return
        self.set_tags(hist.without_tag(self._history.tags, tag))

    def set_tags(self, tags: list[str], *, clear_edit: bool = False) -> None:
        problem = hist.check_tags(tags)
        if problem is not None:
            self._show_error(self.problem_text(problem))
            return
        self._save("tags", protocol.CustomerUpdate(tags=tags), shown_tags=tags, clear_edit=clear_edit)

    def on_language_combo_activated(self, index: int) -> None:
        if self._history is None:
            return
        language = self.language_combo.itemData(index)
        if language == self._history.language:
            return
        self._save("language", protocol.CustomerUpdate(language=language))

    # -- saving ------------------------------------------------------------------------------------------------
    def _save(self, what: str, update: protocol.CustomerUpdate, *, shown_tags: list[str] | None = None,
              clear_edit: bool = False) -> None:
        if self.workspace is None or self._customer_id is None or self._partial:
            return
        customer_id = self._customer_id
        self._busy.add(what)
        self.error_label.hide()
        before = self._history
        if shown_tags is not None:
            self._show_tags(shown_tags)  # at once; put back if the server refuses
        self._update_busy()

        async def save() -> None:
            try:
                customer = await hist.update_customer(self.workspace, customer_id, update)
            except (NetworkError, AuthError, ServerError) as exc:
                if not self._alive():
                    return
                self._busy.discard(what)
                if customer_id == self._customer_id:
                    if shown_tags is not None and self._history is not None:
                        self._show_tags(self._history.tags)
                    if what == "language" and self._history is not None:
                        self._show_language(self._history.language)
                    self._show_error(self.error_text(exc))
                self._update_busy()
                self.save_failed.emit(self.error_text(exc))
                return
            if not self._alive():
                return
            self._busy.discard(what)
            if what == "notes":
                draft = self._notes_drafts.get(customer_id)
                if draft is not None and draft[1] == update.notes:
                    del self._notes_drafts[customer_id]
            if what == "fields":
                self._fields_drafts.pop(customer_id, None)
            if customer_id == self._customer_id:
                if clear_edit:
                    self.tag_edit.clear()
                self._confirmed = customer
                base = self._history or before
                if base is not None:
                    # Forced: a sync during the save may have shown this profile already, under the draft.
                    self.set_history(base.with_profile(customer), self._current_conversation, force=True)
                self.reload()
            self._update_busy()
            self.saved.emit(what)
        self._start(save(), f"save customer {what}")

    def _update_busy(self) -> None:
        tags_busy = "tags" in self._busy
        self.tag_edit.setReadOnly(tags_busy)
        self.add_tag_button.setEnabled(not tags_busy)
        for chip in self.tag_chips():
            chip.remove_button.setEnabled(not tags_busy)
        self.language_combo.setEnabled("language" not in self._busy)
        self.merge_button.setEnabled("identities" not in self._busy)
        self.split_button.setEnabled("identities" not in self._busy)
        self._update_field_buttons()
        self._update_note_buttons()

    # -- follow-ups --------------------------------------------------------------------------------------------
    def _show_follow_ups(self, follow_ups) -> None:
        while self.follow_ups_layout.count():
            item = self.follow_ups_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()
                item.widget().deleteLater()
        for follow_up in follow_ups:
            row = FollowUpRow(follow_up, self.follow_ups_box)
            row.done_requested.connect(self.mark_follow_up_done)
            row.done_button.setEnabled(f"follow_up:{follow_up.follow_up_id}" not in self._busy)
            self.follow_ups_layout.addWidget(row)
            row.show()
        self.follow_ups_box.setVisible(bool(follow_ups))
        self.no_follow_ups_label.setVisible(not follow_ups)

    def follow_up_rows(self) -> list[FollowUpRow]:
        rows = []
        for i in range(self.follow_ups_layout.count()):
            widget = self.follow_ups_layout.itemAt(i).widget()
            if isinstance(widget, FollowUpRow):
                rows.append(widget)
        return rows

    def mark_follow_up_done(self, follow_up_id: int) -> None:
        key = f"follow_up:{follow_up_id}"
        if self.workspace is None or key in self._busy:
            return
        self._busy.add(key)
        self.error_label.hide()
        for row in self.follow_up_rows():
            if row.follow_up.follow_up_id == follow_up_id:
                row.done_button.setEnabled(False)
        customer_id = self._customer_id

        async def done() -> None:
            try:
                await hist.follow_up_done(self.workspace, follow_up_id)
            except (NetworkError, AuthError, ServerError) as exc:
                if not self._alive():
                    return
                self._busy.discard(key)
                for row in self.follow_up_rows():
                    if row.follow_up.follow_up_id == follow_up_id:
                        row.done_button.setEnabled(True)
                if customer_id == self._customer_id:
                    self._show_error(self.error_text(exc))
                self.save_failed.emit(self.error_text(exc))
                return
            if not self._alive():
                return
            self._busy.discard(key)
            if customer_id == self._customer_id and self._history is not None:
                self.set_history(self._history.without_follow_up(follow_up_id), self._current_conversation)
                self.reload()
            self.saved.emit("follow_up")
        self._start(done(), "follow-up done")

    # -- one customer across channels -------------------------------------------------------------------------
    def open_merge_dialog(self) -> None:
        """Asks which customer is the same person as this one (found in the local data) and merges them."""
        if self.workspace is None or self._history is None or self._partial or "identities" in self._busy:
            return
        from ui.customer_merge_dialog import CustomerMergeDialog  # (it imports this module)

        workspace, customer_id = self.workspace, self._customer_id
        dialog = CustomerMergeDialog(self._history.display_name,
                                     lambda text: idents.search(workspace, text, exclude=customer_id), self)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.merge_chosen.connect(lambda other_id: self.merge_with(other_id, customer_id))

        def on_finished(_result: int) -> None:
            dialog.deleteLater()
            if self.merge_dialog is dialog:
                self.merge_dialog = None
        dialog.finished.connect(on_finished)
        self.merge_dialog = dialog
        dialog.open()  # not exec: a nested event loop would hold up the asyncio tasks

    def merge_with(self, other_customer_id: int, customer_id: int | None = None) -> None:
        """The other customer's channels and conversations join this customer on the team server."""
        customer_id = customer_id if customer_id is not None else self._customer_id
        self._change_identities(
            "merge", customer_id, lambda: idents.merge_customers(self.workspace, customer_id, other_customer_id))

    def confirm_split(self, identity: hist.HistoryIdentity) -> None:
        """Asks before one channel identity (and its conversations) becomes a customer of its own."""
        if self.workspace is None or self._history is None or "identities" in self._busy:
            return
        customer_id, name = self._customer_id, self._history.display_name
        shown = f"{channel_name(identity.channel)} · {handle_text(identity.channel, identity.handle)}"
        box = QMessageBox(QMessageBox.Icon.Question, self.tr("Split into a separate customer"),
                          fill(self.tr("Make %1 a separate customer? It leaves “%2” with its conversations."),
                               shown, name), parent=self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        split = box.addButton(self.tr("Split"), QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setWindowModality(Qt.WindowModality.WindowModal)

        def on_finished(_result: int) -> None:
            if box.clickedButton() is split:
                self.split_identity(identity, customer_id)
            box.deleteLater()
            if self.split_box is box:
                self.split_box = None
        box.finished.connect(on_finished)
        self.split_box = box
        box.open()

    def split_identity(self, identity: hist.HistoryIdentity, customer_id: int | None = None) -> None:
        customer_id = customer_id if customer_id is not None else self._customer_id
        self._change_identities("split", customer_id, lambda: idents.split_identity(
            self.workspace, customer_id, identity.channel, identity.handle))

    def _change_identities(self, what: str, customer_id: int | None, request) -> None:
        """Runs a merge or split (`request()` makes the coroutine); the pane then shows the history as moved."""
        if self.workspace is None or customer_id is None or "identities" in self._busy:
            return
        self._busy.add("identities")
        self.error_label.hide()
        self._update_busy()

        async def change() -> None:
            try:
                await request()
            except (NetworkError, AuthError, ServerError, LookupError) as exc:
                if not self._alive():
                    return
                self._busy.discard("identities")
                text = self.identity_error_text(exc)
                if customer_id == self._customer_id:
                    self._show_error(text)
                self._update_busy()
                self.save_failed.emit(text)
                return
            if not self._alive():
                return
            self._busy.discard("identities")
            self._update_busy()
            if customer_id == self._customer_id:
                self.reload()
            self.saved.emit(what)
        self._start(change(), f"{what} customers")

    def identity_error_text(self, exc: Exception) -> str:
        if isinstance(exc, LookupError):
            return self.tr("This channel is no longer this customer's; nothing was changed.")
        if isinstance(exc, ServerError) and exc.status_code == 409:
            return self.tr("Not done: %1").replace("%1", exc.detail)
        return self.error_text(exc)

    # -- the conversations -------------------------------------------------------------------------------------
    def _show_conversations(self, conversations) -> None:
        selected = self.history.currentItem()
        selected_id = selected.data(0, ConversationRole) if selected is not None else None
        expanded = {self.history.topLevelItem(i).data(0, ConversationRole)
                    for i in range(self.history.topLevelItemCount()) if self.history.topLevelItem(i).isExpanded()}
        scroll = self.history.verticalScrollBar().value()
        self.history.clear()
        for conversation in conversations:
            item = self._conversation_item(conversation)
            self.history.addTopLevelItem(item)
            if conversation.conversation_id in expanded:
                item.setExpanded(True)
            if conversation.conversation_id == selected_id:
                self.history.setCurrentItem(item)
        self.history.verticalScrollBar().setValue(scroll)
        count = len(conversations)
        self.history_title.setText(self.tr("Conversations (%1)").replace("%1", str(count)) if count
                                   else self.tr("Conversations"))

    def _conversation_item(self, conversation: HistoryConversation) -> QTreeWidgetItem:
        # Short lines, never wrapped (a wrapped item in a tree is measured wrongly); the view elides the rest.
        when = conversation.last_message_at or conversation.resolved_at
        first = channel_name(conversation.channel)
        if when is not None:
            first += " · " + short_time(when)
        if conversation.conversation_id == self._current_conversation:
            first += self.tr(" (this one)")
        outcome = [status_name(conversation.status)]
        if conversation.case_type:
            outcome.append(case_type_name(conversation.case_type))
        elif conversation.status == "resolved":
            outcome.append(self.tr("no case type"))
        lines = [first, " · ".join(outcome)]
        if conversation.preview:
            lines.append(one_line(conversation.preview))
        facts = [f"#{conversation.conversation_id}",
                 self.tr("Public post") if conversation.public else self.tr("Private")]
        if conversation.message_count:
            facts.append(self.tr("Messages: %1").replace("%1", str(conversation.message_count)))
        lines.append(" · ".join(facts))
        more = []
        if conversation.priority != "normal":
            more.append(self.tr("Priority: %1").replace("%1", priority_name(conversation.priority)))
        if conversation.notes:
            more.append(self.tr("Internal notes: %1").replace("%1", str(len(conversation.notes))))
        if more:
            lines.append(" · ".join(more))
        item = QTreeWidgetItem(["\n".join(lines)])
        item.setIcon(0, channel_icon(conversation.channel, 16))
        item.setData(0, ConversationRole, conversation.conversation_id)
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
        if conversation.preview:
            item.setToolTip(0, plain_tooltip(conversation.preview))
        if conversation.conversation_id == self._current_conversation:
            font = QFont(item.font(0))
            font.setBold(True)
            item.setFont(0, font)
        for note in conversation.notes:
            child = QTreeWidgetItem([self._note_text(note)])
            child.setData(0, ConversationRole, conversation.conversation_id)
            child.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            child.setToolTip(0, plain_tooltip(note.text))
            child.setForeground(0, MUTED)
            item.addChild(child)
        return item

    def _note_text(self, note: hist.HistoryNote) -> str:
        author = note.author or self.tr("Unknown agent")
        head = self.tr("Internal note · %1 · %2").replace("%1", author).replace("%2", date_time_text(note.created_at))
        return head + "\n" + one_line(note.text, 400)

    def _mark_current(self) -> None:
        if self._history is not None and self._shown_current != self._current_conversation:
            self._shown_current = self._current_conversation
            self._show_conversations(self._history.conversations)

    def history_item(self, conversation_id: int) -> QTreeWidgetItem | None:
        for i in range(self.history.topLevelItemCount()):
            item = self.history.topLevelItem(i)
            if item.data(0, ConversationRole) == conversation_id:
                return item
        return None

    def on_history_item_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        conversation_id = item.data(0, ConversationRole)
        if conversation_id is not None:
            self.open_requested.emit(int(conversation_id))

    # -- errors ------------------------------------------------------------------------------------------------
    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.show()
        self.scroll.ensureWidgetVisible(self.error_label)

    def error_text(self, exc: Exception) -> str:
        if isinstance(exc, AuthError):
            return self.tr("Your session has ended: sign in again to save changes.")
        if isinstance(exc, NetworkError):
            return self.tr("Offline: the change was not saved. Try again when the connection is back.")
        if isinstance(exc, RateLimitedError):
            return self.tr("The team server is busy: try again in a moment.")
        if isinstance(exc, ServerError):
            if exc.status_code == 403:
                return self.tr("Not allowed: %1").replace("%1", exc.detail)
            if exc.status_code == 404:
                return self.tr("The team server no longer has this (%1).").replace("%1", exc.detail)
            if exc.status_code == 422:
                return self.tr("The team server did not accept these values: %1").replace("%1", exc.detail)
            return self.tr("The team server could not save the change (error %1); try again.").replace(
                "%1", str(exc.status_code))
        return str(exc)

    def problem_text(self, problem: Problem) -> str:
        limit, subject = str(problem.limit), problem.subject
        texts = {
            "too_many_tags": self.tr("Not saved: a customer can have at most %1 tags.").replace("%1", limit),
            "tag_too_long": self.tr("Not saved: a tag can be at most %1 characters long.").replace("%1", limit),
            "too_many_fields": self.tr("Not saved: a customer can have at most %1 fields.").replace("%1", limit),
            "duplicate_field": self.tr("Not saved: the field “%1” appears twice.").replace("%1", subject),
            "field_name_too_long": self.tr("Not saved: a field name can be at most %1 characters long.")
            .replace("%1", limit),
            "field_value_too_long": self.tr("Not saved: the value of “%1” is longer than %2 characters.")
            .replace("%2", limit).replace("%1", subject),
            "notes_too_long": self.tr("Not saved: the notes can be at most %1 characters long.").replace("%1", limit),
        }
        return texts.get(problem.code, problem.code)

    # -- tasks -------------------------------------------------------------------------------------------------
    def _alive(self) -> bool:
        return shiboken6.isValid(self)

    def _start(self, coro, name: str) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            crash.report(type(exc), exc, exc.__traceback__, context=f"customer pane: {task.get_name()}")
