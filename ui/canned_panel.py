"""The team's canned responses beside the conversation: suggestions for the customer's last message, the
searchable library (the team's and the agent's own), a preview of the channel's variant, and insertion into
the composer with variables filled; New…, Edit… and Delete open the editor."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from ui import crash
from ui.canned_editor import CannedEditor, category_name, request_error_text, variant_name
from ui.thread_model import fill
from workstation import canned
from workstation.errors import AuthError, NetworkError, ServerError
from workstation.library import CannedLibrary, CannedStore, LibraryEntry, variant_key_for, variant_limit
from workstation.suggest import detect_language

log = logging.getLogger(__name__)

ResponseRole = Qt.ItemDataRole.UserRole + 1  # the CannedResponse of a row (None on a group header)
EntryRole = Qt.ItemDataRole.UserRole + 2  # its LibraryEntry
KindRole = Qt.ItemDataRole.UserRole + 3  # HEADER or RESPONSE
MetaRole = Qt.ItemDataRole.UserRole + 4  # "/shortcut · Category · ES", drawn muted under the title
UsageRole = Qt.ItemDataRole.UserRole + 5  # "12×" (empty when unused), drawn muted at the right

HEADER, RESPONSE = "header", "response"
ERROR_STYLE = "color: #C62828;"


class CannedItemDelegate(QStyledItemDelegate):
    """A response as its title over a muted line (shortcut, category, language) with its usage count at the
    right; a group header as a small bold caption. Every text is drawn as plain text."""

    PAD = 6

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        height = option.fontMetrics.height()
        if index.data(KindRole) == HEADER:
            return QSize(100, height + self.PAD + 4)
        return QSize(100, 2 * height + 2 * self.PAD)

    def paint(self, painter, option: QStyleOptionViewItem, index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette = option.palette
        main = palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        muted = main if selected else palette.color(QPalette.ColorRole.PlaceholderText)
        rect = option.rect.adjusted(self.PAD + 2, self.PAD // 2, -(self.PAD + 2), -(self.PAD // 2))
        painter.save()
        if index.data(KindRole) == HEADER:
            font = QFont(option.font)
            font.setBold(True)
            font.setPointSizeF(max(font.pointSizeF() * 0.9, 7.0))
            painter.setFont(font)
            painter.setPen(muted)
            painter.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
                             painter.fontMetrics().elidedText(index.data() or "", Qt.TextElideMode.ElideRight,
                                                              rect.width()))
            painter.restore()
            return
        response: canned.CannedResponse = index.data(ResponseRole)
        metrics = option.fontMetrics
        line = metrics.height()
        title_rect = rect.adjusted(0, 0, 0, -(rect.height() - line))
        painter.setFont(option.font)
        painter.setPen(main)
        painter.drawText(title_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         metrics.elidedText(response.title, Qt.TextElideMode.ElideRight, title_rect.width()))
        meta_rect = rect.adjusted(0, line, 0, 0)
        usage = index.data(UsageRole) or ""
        usage_width = metrics.horizontalAdvance(usage) + (8 if usage else 0)
        painter.setPen(muted)
        if usage:
            painter.drawText(meta_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, usage)
        painter.drawText(meta_rect.adjusted(0, 0, -usage_width, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         metrics.elidedText(index.data(MetaRole) or "", Qt.TextElideMode.ElideRight,
                                            max(0, meta_rect.width() - usage_width)))
        painter.restore()


def _meta(response: canned.CannedResponse) -> str:
    return f"/{response.shortcut} · {category_name(response.category)} · {response.language.upper()}"


def _usage(count: int) -> str:
    return fill(QCoreApplication.translate("CannedPanel", "%1×"), str(count)) if count > 0 else ""


class CannedPanel(QWidget):
    """Built with a plain list of responses (the bundled library) it works on its own; `attach` a
    `CannedStore` to follow the team's synced library and to create, edit and delete responses. Tell it the
    conversation at hand with `set_context`, and forward the workspace's change sets to `apply_changes`."""

    # The CannedResponse chosen, its body already the text for the conversation's channel (the short X
    # variant on X, the private one after a public complaint…), variables not yet filled.
    insert_requested = Signal(object)
    # The same text as canned.Rendered: variables filled from the context given to `set_context`, with the
    # spans of the [[placeholders]] the agent must fill. Emitted right after insert_requested.
    insert_rendered = Signal(object)
    # A response was saved (protocol.CannedPublic) or deleted (its key), after the library showed it.
    library_edited = Signal()

    def __init__(self, responses: list[canned.CannedResponse] | CannedStore, language: str, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("cannedPanel")
        self._language = language  # the interface's: preferred while the customer's is unknown
        self.store: CannedStore | None = None
        self.library = CannedLibrary.from_responses(responses if isinstance(responses, list) else [])
        self._customer_text = ""
        self._customer_language: str | None = None
        self._channel: str | None = None
        self._public: bool | None = None
        self._variables: dict[str, str] = {}
        # Responses shown first among the suggestions (a due follow-up's check-in, crisis mode's statements).
        self._pinned: tuple[str, ...] = ()
        self._selected: LibraryEntry | None = None
        self._syncing = False
        self._tasks: set[asyncio.Task] = set()
        self.editor: CannedEditor | None = None
        self.delete_box: QMessageBox | None = None

        self.suggested_label = QLabel(self.tr("Suggested"), self)
        self.suggested_label.setObjectName("cannedSuggestedLabel")
        font = self.suggested_label.font()
        font.setBold(True)
        self.suggested_label.setFont(font)
        self.suggested_list = self._make_list("cannedSuggested")
        self.suggested_list.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.suggested_empty = QLabel(self)
        self.suggested_empty.setObjectName("cannedSuggestedEmpty")
        self.suggested_empty.setTextFormat(Qt.TextFormat.PlainText)
        self.suggested_empty.setWordWrap(True)
        self.suggested_empty.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        self.search_edit = QLineEdit(self)
        self.search_edit.setObjectName("cannedSearch")
        self.search_edit.setPlaceholderText(self.tr("Search canned responses"))
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.installEventFilter(self)
        self.list = self._make_list("cannedList")

        self.variant_box = QComboBox(self)
        self.variant_box.setObjectName("cannedVariant")
        self.variant_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.preview = QLabel(self)
        self.preview.setObjectName("cannedPreview")
        self.preview.setTextFormat(Qt.TextFormat.PlainText)
        self.preview.setWordWrap(True)
        self.preview.setForegroundRole(QPalette.ColorRole.PlaceholderText)  # muted in either theme
        self.preview.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.preview_info = QLabel(self)
        self.preview_info.setObjectName("cannedPreviewInfo")
        self.preview_info.setTextFormat(Qt.TextFormat.PlainText)
        self.preview_info.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        self.new_button = QPushButton(self.tr("New…"), self)
        self.new_button.setObjectName("cannedNew")
        self.edit_button = QPushButton(self.tr("Edit…"), self)
        self.edit_button.setObjectName("cannedEdit")
        self.delete_button = QPushButton(self.tr("Delete"), self)
        self.delete_button.setObjectName("cannedDelete")
        self.insert_button = QPushButton(self.tr("Insert"), self)
        self.insert_button.setObjectName("cannedInsert")
        self.insert_button.setDefault(True)
        self.message = QLabel(self)
        self.message.setObjectName("cannedMessage")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.message.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.addWidget(self.suggested_label)
        layout.addWidget(self.suggested_list)
        layout.addWidget(self.suggested_empty)
        layout.addSpacing(4)
        layout.addWidget(self.search_edit)
        layout.addWidget(self.list, 1)
        preview_header = QHBoxLayout()
        preview_label = QLabel(self.tr("Preview"), self)
        preview_label.setFont(font)
        preview_header.addWidget(preview_label, 1)
        preview_header.addWidget(self.variant_box)
        layout.addLayout(preview_header)
        layout.addWidget(self.preview)
        layout.addWidget(self.preview_info)
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.edit_button)
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        buttons.addWidget(self.insert_button)
        layout.addLayout(buttons)
        layout.addWidget(self.message)

        self.search_edit.textChanged.connect(self.on_search_edit_text_changed)
        self.search_edit.returnPressed.connect(self.on_insert_clicked)
        self.list.currentItemChanged.connect(self.on_list_current_item_changed)
        self.list.itemActivated.connect(self.on_insert_clicked)
        self.suggested_list.currentItemChanged.connect(self.on_suggested_list_current_item_changed)
        self.suggested_list.itemActivated.connect(self.on_insert_clicked)
        self.variant_box.currentIndexChanged.connect(self.on_variant_box_current_index_changed)
        self.insert_button.clicked.connect(self.on_insert_clicked)
        self.new_button.clicked.connect(self.on_new_button_clicked)
        self.edit_button.clicked.connect(self.on_edit_button_clicked)
        self.delete_button.clicked.connect(self.on_delete_button_clicked)
        if isinstance(responses, CannedStore):
            self.attach(responses)
        self.redraw()

    def _make_list(self, name: str) -> QListWidget:
        view = QListWidget(self)
        view.setObjectName(name)
        view.setItemDelegate(CannedItemDelegate(view))
        view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setUniformItemSizes(False)
        return view

    # -- what the main window calls ---------------------------------------------------------------------------
    def attach(self, store: CannedStore) -> None:
        """Follows the team's synced library from now on (reads it from the cache in the background) and
        enables New…, Edit… and Delete as the agent's role allows."""
        self.store = store
        self._spawn(self._load(store), "load canned library")
        self._update_buttons()

    async def _load(self, store: CannedStore) -> None:
        await store.refresh()
        if self.store is store:
            self.library = store.library
            self.redraw()

    def apply_changes(self, changes) -> None:
        """A workspace change set (workstation.cache.ChangeSet): reloads the library when it touched it."""
        if self.store is not None and self.store.library.handles(changes):
            self._spawn(self._load(self.store), "reload canned library")

    def set_context(self, last_customer_text: str | None, language: str | None = None, channel: str | None = None,
                    *, public: bool | None = None, variables: Mapping[str, Any] | None = None) -> None:
        """The conversation at hand: the customer's last message (suggestions are ranked for it), the customer's
        language (None: guessed from the message), the channel and whether the conversation is a public post
        (they pick the variant: the short one on X…), and the values of the {{variables}} (see
        Workspace.canned_context). Call it when a conversation opens and when its customer writes again;
        None for no conversation."""
        text = last_customer_text or ""
        variables = {k: str(v) for k, v in (variables or {}).items() if v is not None}
        if (text, language, channel, public, variables) == (
                self._customer_text, self._customer_language, self._channel, self._public, self._variables):
            return
        new_message = text != self._customer_text
        self._customer_text, self._customer_language = text, language
        self._channel, self._public, self._variables = channel, public, variables
        # A new message: the best suggestion is selected, so Insert (or Enter in the search box) takes it.
        self.redraw(keep_selection=not new_message or bool(self.search_edit.text().strip()))

    def set_pinned(self, keys) -> None:
        """Responses to show first among the suggestions, whatever the message says: the check-in of a due
        follow-up, the crisis statements while crisis mode is on. A key in another language than the
        customer's is swapped for the customer's one when the library has it ("es-followup" → "en-followup")."""
        keys = tuple(dict.fromkeys(k for k in keys if k))
        if keys != self._pinned:
            self._pinned = keys
            self.redraw(keep_selection=False)

    def pinned_keys(self) -> list[str]:
        return list(self._pinned)

    def _pinned_entries(self) -> list:
        language = self.preferred_language()
        entries = []
        for key in self._pinned:
            prefix, dash, rest = key.partition("-")
            own = f"{language}-{rest}" if dash and len(prefix) == 2 and prefix != language else None
            entry = (self.library.entry(own) if own else None) or self.library.entry(key)
            if entry is not None and entry not in entries:
                entries.append(entry)
        return entries

    def preferred_language(self) -> str:
        """The customer's language, else the one their last message is in, else the interface's."""
        return self._customer_language or (detect_language(self._customer_text) if self._customer_text else None) \
            or self._language

    def current_response(self) -> canned.CannedResponse | None:
        return self._selected.response if self._selected else None

    def suggestions(self) -> list[canned.CannedResponse]:
        """The suggested responses shown, best first."""
        return [self.suggested_list.item(i).data(ResponseRole) for i in range(self.suggested_list.count())]

    def listed(self) -> list[canned.CannedResponse]:
        """The responses of the searchable list, in order (group headers left out)."""
        return [self.list.item(i).data(ResponseRole) for i in range(self.list.count())
                if self.list.item(i).data(KindRole) == RESPONSE]

    # -- drawing -------------------------------------------------------------------------------------------------
    def redraw(self, *, keep_selection: bool = True) -> None:
        """Fills the suggestions and the list again, keeping the selection where it can."""
        keep = self._selected.key if self._selected and keep_selection else None
        in_suggested = self.suggested_list.currentItem() is not None
        self._fill_suggestions()
        self._fill_list(self.search_edit.text())
        if not (keep and self._select_key(keep, prefer_suggested=in_suggested)):
            self._select_default()
        self._update_buttons()
        if self.store is not None and self.library.fallback:
            self._show_message(self.tr("Not synced with the team yet: showing the default library."), error=False)

    def _item(self, entry: LibraryEntry) -> QListWidgetItem:
        r = entry.response
        item = QListWidgetItem(f"{r.title}\n{_meta(r)}")
        item.setData(ResponseRole, r)
        item.setData(EntryRole, entry)
        item.setData(KindRole, RESPONSE)
        item.setData(MetaRole, _meta(r))
        item.setData(UsageRole, _usage(entry.usage_count))
        item.setToolTip(fill(self.tr("Used %1 times"), str(entry.usage_count)) if entry.usage_count else "")
        return item

    def _header(self, text: str) -> QListWidgetItem:
        item = QListWidgetItem(text)
        item.setData(KindRole, HEADER)
        item.setFlags(Qt.ItemFlag.NoItemFlags)
        return item

    def _fill_suggestions(self) -> None:
        self._syncing = True
        try:
            self.suggested_list.clear()
            language = self._customer_language or None
            pinned = self._pinned_entries()
            for entry in pinned:
                self.suggested_list.addItem(self._item(entry))
            shown = {e.response.id for e in pinned}
            for suggestion in self.library.suggestions(self._customer_text, language):
                entry = self.library.entry(suggestion.response.id)
                if entry is not None and entry.response.id not in shown:
                    self.suggested_list.addItem(self._item(entry))
        finally:
            self._syncing = False
        count = self.suggested_list.count()
        self.suggested_list.setVisible(count > 0)
        if count:
            frame = 2 * self.suggested_list.frameWidth()
            self.suggested_list.setFixedHeight(sum(self.suggested_list.sizeHintForRow(i) for i in range(count)) + frame)
        self.suggested_empty.setText(
            self.tr("Open a conversation to see the responses that fit its last message.")
            if not self._customer_text.strip() else self.tr("No suggestion for the customer's last message."))
        self.suggested_empty.setVisible(count == 0)

    def _fill_list(self, text: str) -> None:
        self._syncing = True
        try:
            self.list.clear()
            language = self.preferred_language()
            # Shortcut matches first, then the customer's language, then the library's order (use, title).
            hits = self.library.search(text, language=language)
            team = [e for e in hits if e.team]
            mine = [e for e in hits if not e.team]
            for title, group in ((self.tr("Team"), team), (self.tr("Mine"), mine)):
                if group:
                    self.list.addItem(self._header(f"{title} · {len(group)}"))
                    for entry in group:
                        self.list.addItem(self._item(entry))
            self.list.scrollToTop()
        finally:
            self._syncing = False

    def _rows(self) -> list[tuple[QListWidget, int]]:
        """Every selectable row, suggestions first, in the order Up and Down go through them."""
        rows = [(self.suggested_list, i) for i in range(self.suggested_list.count())]
        rows += [(self.list, i) for i in range(self.list.count()) if self.list.item(i).data(KindRole) == RESPONSE]
        return rows

    def _select_row(self, view: QListWidget, row: int) -> None:
        view.setCurrentRow(row)
        view.scrollToItem(view.item(row))

    def _select_key(self, key: str, *, prefer_suggested: bool) -> bool:
        views = (self.suggested_list, self.list) if prefer_suggested else (self.list, self.suggested_list)
        for view in views:
            for i in range(view.count()):
                if view.item(i).data(KindRole) == RESPONSE and view.item(i).data(ResponseRole).id == key:
                    self._select_row(view, i)
                    return True
        return False

    def _select_default(self) -> None:
        """While not searching the best suggestion, else the first match."""
        rows = self._rows()
        if self.search_edit.text().strip():
            rows = [r for r in rows if r[0] is self.list]
        if rows:
            self._select_row(*rows[0])
        else:
            self._show_entry(None)

    def move_selection(self, step: int) -> None:
        rows = self._rows()
        if not rows:
            return
        current = next((n for n, (view, i) in enumerate(rows)
                        if view.currentRow() == i and view.currentItem() is not None and view.currentItem().isSelected()),
                       -1)
        target = 0 if current < 0 else min(max(current + step, 0), len(rows) - 1)
        self._select_row(*rows[target])

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.search_edit and event.type() == QEvent.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                self.move_selection(1 if event.key() == Qt.Key.Key_Down else -1)
                return True
        return super().eventFilter(watched, event)

    # -- selection and preview -------------------------------------------------------------------------------------
    def on_search_edit_text_changed(self, text: str) -> None:
        self._fill_list(text)
        self._select_default()
        self.insert_button.setEnabled(self._selected is not None)

    def on_list_current_item_changed(self, current: QListWidgetItem | None, _previous=None) -> None:
        self._current_changed(self.list, current)

    def on_suggested_list_current_item_changed(self, current: QListWidgetItem | None, _previous=None) -> None:
        self._current_changed(self.suggested_list, current)

    def _current_changed(self, view: QListWidget, current: QListWidgetItem | None) -> None:
        if self._syncing or current is None or current.data(KindRole) != RESPONSE:
            return
        other = self.list if view is self.suggested_list else self.suggested_list
        self._syncing = True
        try:
            other.selectionModel().clearCurrentIndex()
            other.clearSelection()
        finally:
            self._syncing = False
        current.setSelected(True)
        self._show_entry(current.data(EntryRole))

    def _show_entry(self, entry: LibraryEntry | None) -> None:
        self._selected = entry
        self._syncing = True
        try:
            self.variant_box.clear()
            if entry is not None:
                self.variant_box.addItem(self.tr("Text"), None)
                for key in canned.CHANNELS + canned.VISIBILITY_KEYS:
                    if entry.response.variants.get(key):
                        self.variant_box.addItem(variant_name(key), key)
                wanted = variant_key_for(entry.response, self._channel, public=self._public)
                self.variant_box.setCurrentIndex(max(0, self.variant_box.findData(wanted)))
        finally:
            self._syncing = False
        self.variant_box.setEnabled(self.variant_box.count() > 1)
        self._show_preview()
        self.insert_button.setEnabled(entry is not None)
        self._update_buttons()

    def on_variant_box_current_index_changed(self, _index: int) -> None:
        if not self._syncing:
            self._show_preview()

    def chosen_template(self) -> str | None:
        """The text that Insert puts in: the variant chosen for the preview, or the response's text."""
        if self._selected is None:
            return None
        response = self._selected.response
        key = self.variant_box.currentData()
        return (response.variants.get(key) if key else None) or response.body

    def _show_preview(self) -> None:
        template = self.chosen_template()
        if template is None:
            self.preview.setText(self.tr("No canned response matches."))
            self.preview_info.setText("")
            return
        self.preview.setText(canned.render(template, self._variables))
        key = self.variant_box.currentData()
        limit = variant_limit(key) if key else None
        length = canned.nominal_length(template)
        where = variant_name(key) if key else self.tr("Text")
        if limit is not None:
            self.preview_info.setText(fill(self.tr("%1 · %2 / %3 characters"), where, str(length), str(limit)))
        else:
            self.preview_info.setText(fill(self.tr("%1 · %2 characters"), where, str(length)))
        over = self._channel in canned.SHORT_VARIANT_KEYS or self._public is True
        self.preview_info.setStyleSheet(ERROR_STYLE if over and length > canned.SHORT_VARIANT_LIMIT else "")

    # -- inserting ---------------------------------------------------------------------------------------------
    def on_insert_clicked(self, *_args) -> None:
        template = self.chosen_template()
        if template is None:
            return
        entry = self._selected
        self.insert_requested.emit(dataclasses.replace(entry.response, body=template))
        self.insert_rendered.emit(canned.render_with_placeholders(template, self._variables))
        if self.store is not None:
            self._spawn(self.store.count_use(entry.key), "count canned use")

    # -- editing -----------------------------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        store = self.store
        editable = store is not None and store.can_edit(self._selected)
        self.new_button.setEnabled(store is not None)
        self.edit_button.setEnabled(editable)
        self.delete_button.setEnabled(editable)
        if store is None:
            why = self.tr("Sign in to the team server to change the library.")
        elif self._selected is None or editable:
            why = ""
        elif self._selected.server_id is None:
            why = self.tr("The default library can be changed once it has synced with the team.")
        elif self._selected.team:
            why = self.tr("Only leads and admins change the team's responses.")
        else:
            why = self.tr("This response is another agent's.")
        self.edit_button.setToolTip(why)
        self.delete_button.setToolTip(why)

    def _open_editor(self, editor: CannedEditor) -> None:
        if self.editor is not None:
            self.editor.close()
        self.editor = editor
        editor.saved.connect(self.on_editor_saved)
        editor.finished.connect(editor.deleteLater)
        editor.open()

    def on_new_button_clicked(self) -> None:
        if self.store is None:
            return
        self._open_editor(CannedEditor(self.store.save, can_edit_team=self.store.can_edit_team,
                                       library=self.library, language=self.preferred_language(), parent=self))

    def on_edit_button_clicked(self) -> None:
        entry, store = self._selected, self.store
        if store is None or not store.can_edit(entry):
            return
        server_id = entry.server_id

        async def save(body):
            return await store.save(body, server_id)

        self._open_editor(CannedEditor(save, response=entry.response, team=entry.team,
                                       can_edit_team=store.can_edit_team, library=self.library, parent=self))

    def on_editor_saved(self, item) -> None:
        self._show_message("", error=False)
        self.redraw()
        self._select_key(item.key, prefer_suggested=False)
        self.library_edited.emit()

    def on_delete_button_clicked(self) -> None:
        entry, store = self._selected, self.store
        if store is None or not store.can_edit(entry):
            return
        box = QMessageBox(QMessageBox.Icon.Question, self.tr("Delete canned response"),
                          fill(self.tr("Delete “%1”?"), entry.response.title), parent=self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setInformativeText(self.tr("The whole team loses this response.") if entry.team else
                               self.tr("This response of yours goes away."))
        delete = box.addButton(self.tr("Delete"), QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setWindowModality(Qt.WindowModality.WindowModal)

        def on_finished(_result: int) -> None:
            if box.clickedButton() is delete:
                self._spawn(self._delete(store, entry), "delete canned response")
            box.deleteLater()
            self.delete_box = None

        box.finished.connect(on_finished)
        self.delete_box = box
        box.open()

    async def _delete(self, store: CannedStore, entry: LibraryEntry) -> None:
        try:
            await store.delete(entry)
        except (NetworkError, AuthError, ServerError) as exc:
            self._show_message(fill(self.tr("Not deleted: %1"), request_error_text(exc)), error=True)
            return
        self._show_message("", error=False)
        self.redraw()
        self.library_edited.emit()

    def _show_message(self, text: str, *, error: bool) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_STYLE if error else "")
        self.message.setForegroundRole(QPalette.ColorRole.WindowText if error else QPalette.ColorRole.PlaceholderText)
        self.message.setVisible(bool(text))

    # -- background work -----------------------------------------------------------------------------------------
    def _spawn(self, coro, what: str) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                exc = t.exception()
                crash.report(type(exc), exc, exc.__traceback__, context=f"canned panel: {what}")

        task.add_done_callback(done)
        return task
