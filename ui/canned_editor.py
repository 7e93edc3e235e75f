"""The canned response editor: title, shortcut, category, language, text with a live check of its variables and
placeholders, per-channel variants (the short X one counted against its 280 characters) and keywords."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from pydantic import ValidationError
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui import crash
from ui.thread_model import fill
from workstation import canned, protocol
from workstation.errors import AuthError, NetworkError, ServerError
from workstation.library import CATEGORIES, LANGUAGES, CannedLibrary, TemplateIssue, template_issues, variant_limit

log = logging.getLogger(__name__)

SaveCanned = Callable[[protocol.CannedWrite], Awaitable[protocol.CannedPublic]]

# The variants the editor offers, the short ones first: X, a public post, the private message that follows a
# public complaint, then each channel.
VARIANT_KEYS = ("x", "public", "private", "whatsapp", "messenger", "instagram", "telegram", "email")
MAX_KEYWORDS = 40
MAX_KEYWORD_CHARS = 60
ERROR_STYLE = "color: #C62828;"
OK_MARK = "✓"


def category_name(category: str) -> str:
    names = {
        "general": QCoreApplication.translate("CannedEditor", "General"),
        "information": QCoreApplication.translate("CannedEditor", "Information"),
        "incident": QCoreApplication.translate("CannedEditor", "Incident"),
        "post-sale": QCoreApplication.translate("CannedEditor", "Post-sale"),
        "crisis": QCoreApplication.translate("CannedEditor", "Crisis"),
        "follow-up": QCoreApplication.translate("CannedEditor", "Follow-up"),
    }
    return names.get(category, category)


def language_name(language: str) -> str:
    names = {
        "es": QCoreApplication.translate("CannedEditor", "Spanish"),
        "en": QCoreApplication.translate("CannedEditor", "English"),
    }
    return names.get(language, language)


def variant_name(key: str) -> str:
    names = {
        "x": QCoreApplication.translate("CannedEditor", "X (short)"),
        "public": QCoreApplication.translate("CannedEditor", "Public post"),
        "private": QCoreApplication.translate("CannedEditor", "Private message"),
        "whatsapp": QCoreApplication.translate("CannedEditor", "WhatsApp"),
        "messenger": QCoreApplication.translate("CannedEditor", "Messenger"),
        "instagram": QCoreApplication.translate("CannedEditor", "Instagram"),
        "telegram": QCoreApplication.translate("CannedEditor", "Telegram"),
        "email": QCoreApplication.translate("CannedEditor", "Email"),
    }
    return names.get(key, key)


def issue_text(issue: TemplateIssue) -> str:
    if issue.kind == "stray":
        return fill(QCoreApplication.translate(
            "CannedEditor", "“%1” without its pair at character %2: variables are {{name}}, placeholders [[label]]."),
            issue.detail, str((issue.position or 0) + 1))
    if issue.kind == "empty_placeholder":
        return fill(QCoreApplication.translate("CannedEditor", "An empty placeholder [[ ]] at character %1."),
                    str((issue.position or 0) + 1))
    if issue.kind == "unknown_variable":
        return fill(QCoreApplication.translate(
            "CannedEditor", "Unknown variable {{%1}}: use one from “Insert variable” or customer.<field>."),
            issue.detail)
    return issue.detail


def request_error_text(exc: Exception) -> str:
    """What went wrong with a request to the team server, as one sentence in the user's language."""
    if isinstance(exc, NetworkError):
        return QCoreApplication.translate(
            "CannedEditor", "You are offline: nothing was saved. Try again when connected.")
    if isinstance(exc, AuthError):
        return QCoreApplication.translate("CannedEditor", "Your session has ended; sign in again.")
    if isinstance(exc, ServerError) and exc.status_code == 403:
        return fill(QCoreApplication.translate("CannedEditor", "Not allowed: %1"), exc.detail or "403")
    if isinstance(exc, ServerError) and exc.status_code == 404:
        return QCoreApplication.translate("CannedEditor", "This response no longer exists: someone deleted it.")
    if isinstance(exc, ServerError) and exc.status_code == 422:
        return fill(QCoreApplication.translate("CannedEditor", "The server refused these values: %1"),
                    validation_detail(exc.detail))
    if isinstance(exc, ServerError):
        return fill(QCoreApplication.translate("CannedEditor", "The server refused: %1"),
                    exc.detail or str(exc.status_code))
    return str(exc)


def validation_detail(detail: str) -> str:
    """FastAPI's 422 detail (a JSON list of errors) as "field: message; …"; other text as it is."""
    try:
        errors = json.loads(detail)
    except (TypeError, ValueError):
        return detail
    if not isinstance(errors, list):
        return detail
    parts = []
    for error in errors:
        if isinstance(error, dict):
            where = ".".join(str(p) for p in error.get("loc", []) if p != "body")
            parts.append(f"{where}: {error.get('msg', '')}" if where else str(error.get("msg", "")))
    return "; ".join(parts) or detail


def parse_keywords(text: str) -> list[str]:
    """Keywords from "refund, money back; charged twice": separated by commas or semicolons, each once."""
    words = (w.strip() for w in text.replace(";", ",").split(","))
    return list(dict.fromkeys(w for w in words if w))


class CannedEditor(QDialog):
    """Creates a canned response (no `response`) or edits one. Saving calls `save` with a CannedWrite; the
    dialog stays open with the server's refusal (403, 422) or the offline notice, and closes on success."""

    saved = Signal(object)  # protocol.CannedPublic as the server stored it

    def __init__(self, save: SaveCanned, *, response: canned.CannedResponse | None = None, team: bool = False,
                 can_edit_team: bool = False, library: CannedLibrary | None = None,
                 language: str = "es", parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("cannedEditor")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setWindowTitle(self.tr("Edit canned response") if response else self.tr("New canned response"))
        self._save = save
        self._response = response
        self._library = library
        self._task: asyncio.Task | None = None
        self.resize(620, 640)

        self.title_edit = QLineEdit(self)
        self.title_edit.setObjectName("cannedTitle")
        self.title_edit.setMaxLength(200)
        self.shortcut_edit = QLineEdit(self)
        self.shortcut_edit.setObjectName("cannedShortcut")
        self.shortcut_edit.setMaxLength(40)
        self.shortcut_edit.setPlaceholderText(self.tr("one word, typed after / in the composer"))
        self.category_box = QComboBox(self)
        self.category_box.setObjectName("cannedCategory")
        for category in CATEGORIES:
            self.category_box.addItem(category_name(category), category)
        self.language_box = QComboBox(self)
        self.language_box.setObjectName("cannedLanguage")
        for code in LANGUAGES:
            self.language_box.addItem(language_name(code), code)
        self.team_box = QCheckBox(self.tr("Team response"), self)
        self.team_box.setObjectName("cannedTeam")

        self.body_edit = QPlainTextEdit(self)
        self.body_edit.setObjectName("cannedBody")
        self.body_edit.setTabChangesFocus(True)
        self.body_edit.setPlaceholderText(self.tr("Hello {{customer.first_name}}, … [[order number]] …"))
        self.body_check = self._muted_label("cannedBodyCheck")
        self.variable_button = QToolButton(self)
        self.variable_button.setObjectName("cannedInsertVariable")
        self.variable_button.setText(self.tr("Insert variable"))
        self.variable_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        variables = QMenu(self.variable_button)
        for name in sorted(canned.KNOWN_VARIABLES):
            action = QAction("{{" + name + "}}", variables)
            action.triggered.connect(lambda _checked=False, n=name: self.insert_variable(n))
            variables.addAction(action)
        self.variable_button.setMenu(variables)

        self.variant_tabs = QTabWidget(self)
        self.variant_tabs.setObjectName("cannedVariants")
        self.variant_edits: dict[str, QPlainTextEdit] = {}
        self.variant_counters: dict[str, QLabel] = {}
        for key in VARIANT_KEYS:
            page = QWidget(self.variant_tabs)
            edit = QPlainTextEdit(page)
            edit.setObjectName(f"cannedVariant_{key}")
            edit.setTabChangesFocus(True)
            edit.setPlaceholderText(self.tr("Empty: the text above is used."))
            counter = self._muted_label(f"cannedCounter_{key}", page)
            box = QVBoxLayout(page)
            box.setContentsMargins(6, 6, 6, 6)
            box.addWidget(edit, 1)
            box.addWidget(counter)
            self.variant_tabs.addTab(page, variant_name(key))
            self.variant_edits[key] = edit
            self.variant_counters[key] = counter
            edit.textChanged.connect(self.update_checks)

        self.keywords_edit = QLineEdit(self)
        self.keywords_edit.setObjectName("cannedKeywords")
        self.keywords_edit.setPlaceholderText(self.tr("words customers use, separated by commas (for suggestions)"))

        self.message = QLabel(self)
        self.message.setObjectName("dialogMessage")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.message.hide()
        self.buttons = QDialogButtonBox(self)
        self.save_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Save)
        self.save_button.setObjectName("saveButton")
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)

        form = QFormLayout()
        form.addRow(self.tr("Title"), self.title_edit)
        form.addRow(self.tr("Shortcut"), self.shortcut_edit)
        row = QHBoxLayout()
        row.addWidget(self.category_box, 1)
        row.addWidget(QLabel(self.tr("Language"), self))
        row.addWidget(self.language_box)
        form.addRow(self.tr("Category"), row)
        form.addRow("", self.team_box)
        body_header = QHBoxLayout()
        body_header.addWidget(QLabel(self.tr("Text"), self), 1)
        body_header.addWidget(self.variable_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(body_header)
        layout.addWidget(self.body_edit, 2)
        layout.addWidget(self.body_check)
        layout.addWidget(QLabel(self.tr("Variants per channel"), self))
        layout.addWidget(self.variant_tabs, 1)
        keywords = QFormLayout()
        keywords.addRow(self.tr("Keywords"), self.keywords_edit)
        layout.addLayout(keywords)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

        self._fill(response, team=team, can_edit_team=can_edit_team, language=language)
        self._last_edit: QPlainTextEdit = self.body_edit
        for edit in (self.body_edit, *self.variant_edits.values()):
            edit.installEventFilter(self)
        self.body_edit.textChanged.connect(self.update_checks)
        self.save_button.clicked.connect(self.submit)
        self.cancel_button.clicked.connect(self.reject)
        self.update_checks()

    def _muted_label(self, name: str, parent=None) -> QLabel:
        label = QLabel(parent or self)
        label.setObjectName(name)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        return label

    def _fill(self, response: canned.CannedResponse | None, *, team: bool, can_edit_team: bool, language: str) -> None:
        if response is None:
            self._select(self.language_box, language if language in LANGUAGES else LANGUAGES[0])
            self.team_box.setChecked(False)
            self.team_box.setEnabled(can_edit_team)
            self.team_box.setToolTip(
                self.tr("The whole team uses a team response; leads edit it.") if can_edit_team else
                self.tr("Only leads and admins add team responses; this one will be yours."))
            return
        self.title_edit.setText(response.title)
        self.shortcut_edit.setText(response.shortcut)
        if self.category_box.findData(response.category) < 0:
            self.category_box.addItem(category_name(response.category), response.category)
        self._select(self.category_box, response.category)
        self._select(self.language_box, response.language)
        self.body_edit.setPlainText(response.body)
        for key, text in response.variants.items():
            if key in self.variant_edits:
                self.variant_edits[key].setPlainText(text)
        self.keywords_edit.setText(", ".join(response.keywords))
        # A response stays the team's or its author's: the server keeps the owner it was created with.
        self.team_box.setChecked(team)
        self.team_box.setEnabled(False)
        self.team_box.setToolTip(self.tr("A response stays the team's or its author's once created."))

    @staticmethod
    def _select(box: QComboBox, value: str) -> None:
        index = box.findData(value)
        if index >= 0:
            box.setCurrentIndex(index)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FocusIn and isinstance(watched, QPlainTextEdit):
            self._last_edit = watched
        return super().eventFilter(watched, event)

    def insert_variable(self, name: str) -> None:
        """Puts {{name}} at the cursor of the text or variant last written in."""
        edit = self._last_edit
        edit.insertPlainText("{{" + name + "}}")
        edit.setFocus()

    # -- live checks -------------------------------------------------------------------------------------------
    def variants(self) -> dict[str, str]:
        return {key: edit.toPlainText().strip() for key, edit in self.variant_edits.items()
                if edit.toPlainText().strip()}

    def update_checks(self) -> None:
        body = self.body_edit.toPlainText()
        self._show_check(self.body_check, body)
        for key, counter in self.variant_counters.items():
            self._show_counter(key, counter, body)
        for index, key in enumerate(VARIANT_KEYS):
            name = variant_name(key)
            filled = bool(self.variant_edits[key].toPlainText().strip())
            over = self._over_limit(key, self.variant_edits[key].toPlainText())
            self.variant_tabs.setTabText(index, f"{name} •" if filled and not over else f"{name} !" if over else name)

    def _show_check(self, label: QLabel, text: str) -> None:
        issues = template_issues(text)
        if issues:
            label.setText("\n".join(issue_text(i) for i in issues))
            label.setStyleSheet(ERROR_STYLE)
            return
        label.setStyleSheet("")
        parts = []
        names = canned.variables(text)
        if names:
            parts.append(fill(self.tr("Variables: %1"), ", ".join("{{" + n + "}}" for n in names)))
        marks = [p.label for p in canned.placeholders(text)]
        if marks:
            parts.append(fill(self.tr("To fill in by hand: %1"), ", ".join("[[" + m + "]]" for m in marks)))
        label.setText(f"{OK_MARK} " + (" · ".join(parts) if parts else self.tr("No variables or placeholders.")))

    @staticmethod
    def _over_limit(key: str, text: str) -> bool:
        limit = variant_limit(key)
        return limit is not None and bool(text.strip()) and canned.nominal_length(text.strip()) > limit

    def _show_counter(self, key: str, counter: QLabel, body: str) -> None:
        text = self.variant_edits[key].toPlainText().strip()
        limit = variant_limit(key)
        issues = template_issues(text) if text else []
        lines = [issue_text(i) for i in issues]
        error = bool(issues)
        if limit is None:
            lines.insert(0, fill(self.tr("%1 characters"), str(len(text))) if text else
                         self.tr("Empty: the text above is used on this channel."))
        elif text:
            length = canned.nominal_length(text)
            error |= length > limit
            lines.insert(0, fill(self.tr("%1 / %2 characters"), str(length), str(limit)))
        else:
            length = canned.nominal_length(body)
            if length > limit:
                lines.insert(0, fill(self.tr("Empty: the text above is used, and at %1 characters it is over %2: "
                                             "write a short variant."), str(length), str(limit)))
                error = True
            else:
                lines.insert(0, fill(self.tr("Empty: the text above is used (%1 / %2 characters)."),
                                     str(length), str(limit)))
        counter.setText("\n".join(lines))
        counter.setStyleSheet(ERROR_STYLE if error else "")
        counter.setToolTip(self.tr("Each variable and placeholder counts as 20 characters.") if limit else "")

    # -- saving -----------------------------------------------------------------------------------------------
    def problem(self) -> str | None:
        """The first thing that stops saving, as a sentence; None when the response can be saved."""
        title = self.title_edit.text().strip()
        shortcut = self.shortcut_edit.text().strip().lstrip("/")
        body = self.body_edit.toPlainText().strip()
        language = self.language_box.currentData()
        if not title:
            return self.tr("Give the response a title.")
        if not shortcut or any(ch.isspace() for ch in shortcut):
            return self.tr("The shortcut is one word without spaces, for example “greeting”.")
        if self._library is not None:
            owner = self._library.shortcut_owner(shortcut, language,
                                                 besides=self._response.id if self._response else None)
            if owner is not None:
                return fill(self.tr("/%1 already opens “%2” in this language: choose another shortcut."),
                            shortcut, owner.response.title)
        if not body:
            return self.tr("Write the text of the response.")
        if len(body) > protocol.MAX_REPLY_CHARS:
            return fill(self.tr("The text is %1 characters; a reply holds at most %2."),
                        str(len(body)), str(protocol.MAX_REPLY_CHARS))
        issues = template_issues(body)
        if issues:
            return fill(self.tr("Fix the text first: %1"), issue_text(issues[0]))
        for key, text in self.variants().items():
            issues = template_issues(text)
            if issues:
                return fill(self.tr("Fix the %1 variant first: %2"), variant_name(key), issue_text(issues[0]))
            limit = variant_limit(key)
            if limit is not None and canned.nominal_length(text) > limit:
                return fill(self.tr("The %1 variant is %2 characters; it must fit in %3 (each variable and "
                                    "placeholder counts as 20)."),
                            variant_name(key), str(canned.nominal_length(text)), str(limit))
            if len(text) > protocol.MAX_REPLY_CHARS:
                return fill(self.tr("The %1 variant is over %2 characters."), variant_name(key),
                            str(protocol.MAX_REPLY_CHARS))
        keywords = parse_keywords(self.keywords_edit.text())
        if len(keywords) > MAX_KEYWORDS:
            return fill(self.tr("At most %1 keywords."), str(MAX_KEYWORDS))
        too_long = next((k for k in keywords if len(k) > MAX_KEYWORD_CHARS), None)
        if too_long is not None:
            return fill(self.tr("The keyword “%1” is over %2 characters."), too_long[:20] + "…", str(MAX_KEYWORD_CHARS))
        return None

    def write(self) -> protocol.CannedWrite:
        """The response as the dialog holds it (call `problem` first)."""
        return protocol.CannedWrite(
            title=self.title_edit.text().strip(), shortcut=self.shortcut_edit.text().strip().lstrip("/"),
            category=self.category_box.currentData(), language=self.language_box.currentData(),
            body=self.body_edit.toPlainText().strip(), variants=self.variants(),
            keywords=parse_keywords(self.keywords_edit.text()), team=self.team_box.isChecked())

    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def submit(self) -> None:
        if self.busy():
            return
        problem = self.problem()
        if problem is not None:
            self.show_message(problem)
            return
        try:
            body = self.write()
        except ValidationError as exc:
            self.show_message(fill(self.tr("These values cannot be saved: %1"), validation_detail(
                json.dumps([{"loc": e["loc"], "msg": e["msg"]} for e in exc.errors()]))))
            return
        self.show_message("")
        self.save_button.setEnabled(False)
        self._task = asyncio.ensure_future(self._run_save(body))
        self._task.add_done_callback(self._task_done)

    async def _run_save(self, body: protocol.CannedWrite) -> None:
        try:
            result = await self._save(body)
        except (NetworkError, AuthError, ServerError) as exc:
            self.save_button.setEnabled(True)
            self.show_message(request_error_text(exc))
            return
        self.saved.emit(result)
        self.accept()

    @staticmethod
    def _task_done(task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            crash.report(type(exc), exc, exc.__traceback__, context="canned response editor")

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_STYLE if text else "")
        self.message.setVisible(bool(text))

    def done(self, result: int) -> None:
        try:
            current = asyncio.current_task()
        except RuntimeError:  # no loop running
            current = None
        if self.busy() and self._task is not current:  # closed while saving: the answer is not awaited
            self._task.cancel()
        super().done(result)
