"""Picking and sending an approved WhatsApp template: the only message WhatsApp delivers more than 24 hours
after the customer's last message. The agent picks a template (the customer's language first), fills its
parameters (the first one starts as the customer's first name) and sees the exact text the customer will read."""

from __future__ import annotations

import uuid
from typing import Awaitable, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QPlainTextEdit, QVBoxLayout

from ui.team_dialogs import _RequestDialog, request_error_text
from workstation import protocol
from workstation.errors import AuthError, NetworkError, ServerError

LoadTemplates = Callable[[], Awaitable[list[protocol.WhatsAppTemplate]]]
SendTemplate = Callable[[protocol.TemplateSend, str], Awaitable[protocol.MessagePublic]]


class TemplateDialog(_RequestDialog):
    sent = Signal(object)  # protocol.MessagePublic

    def __init__(self, load: LoadTemplates, send: SendTemplate, *, language: str | None, first_name: str = "",
                 parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("templateDialog")
        self.setWindowTitle(self.tr("Send a WhatsApp template"))
        self._load, self._send = load, send
        self._language = language
        self._first_name = first_name
        self._op_id = str(uuid.uuid4())  # one send, even if the agent clicks twice or retries
        self.templates: list[protocol.WhatsAppTemplate] = []
        self.save_button.setText(self.tr("Send"))
        self.save_button.setEnabled(False)
        intro = QLabel(self.tr("More than 24 hours have passed since the customer's last message: WhatsApp only "
                               "delivers a template approved for the team's number. When the customer answers, "
                               "you can write freely again."), self)
        intro.setWordWrap(True)
        self.picker = QComboBox(self)
        self.picker.setObjectName("templatePicker")
        self.fields_form = QFormLayout()
        self.parameters: list[QLineEdit] = []
        self.preview = QPlainTextEdit(self)
        self.preview.setObjectName("templatePreview")
        self.preview.setReadOnly(True)
        self.preview.setMaximumHeight(120)
        form = QFormLayout()
        form.addRow(self.tr("Template"), self.picker)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addLayout(self.fields_form)
        layout.addWidget(QLabel(self.tr("The customer will read:"), self))
        layout.addWidget(self.preview)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.picker.currentIndexChanged.connect(self.on_picker_current_index_changed)
        self.resize(520, 420)

    def open(self) -> None:
        super().open()
        self.show_message(self.tr("Loading…"), error=False)
        self._start(self._read())

    async def _read(self) -> None:
        try:
            templates = await self._load()
        except (NetworkError, AuthError, ServerError) as exc:
            self.show_message(request_error_text(exc), error=True)
            return
        self.show_templates(templates)

    def show_templates(self, templates: list[protocol.WhatsAppTemplate]) -> None:
        # The customer's language first, then the others.
        self.templates = sorted(templates, key=lambda t: (t.language != self._language, t.language, t.title or t.name))
        self.picker.blockSignals(True)
        self.picker.clear()
        for template in self.templates:
            self.picker.addItem(f"{template.title or template.name} ({template.language})")
        self.picker.blockSignals(False)
        if not self.templates:
            self.show_message(self.tr("The team has no approved templates: a lead adds them in the care rules."),
                              error=True)
            return
        self.show_message("", error=False)
        self.on_picker_current_index_changed(0)

    def current(self) -> protocol.WhatsAppTemplate | None:
        index = self.picker.currentIndex()
        return self.templates[index] if 0 <= index < len(self.templates) else None

    def on_picker_current_index_changed(self, _index: int) -> None:
        while self.fields_form.rowCount():
            self.fields_form.removeRow(0)
        self.parameters = []
        template = self.current()
        for n in range(template.parameter_count() if template else 0):
            edit = QLineEdit(self)
            edit.setObjectName(f"templateParameter{n + 1}")
            if n == 0 and self._first_name:
                edit.setText(self._first_name)
            edit.textChanged.connect(self.update_preview)
            self.fields_form.addRow(self.tr("Value %1").replace("%1", str(n + 1)), edit)
            self.parameters.append(edit)
        self.update_preview()

    def values(self) -> list[str]:
        return [" ".join(edit.text().split()) for edit in self.parameters]

    def update_preview(self) -> None:
        template = self.current()
        values = self.values()
        if template is None:
            self.preview.setPlainText("")
            self.save_button.setEnabled(False)
            return
        shown = [v or f"[{n + 1}]" for n, v in enumerate(values)]
        self.preview.setPlainText(template.render(shown))
        self.save_button.setEnabled(all(values) and not self.busy())

    def submit(self) -> None:
        template = self.current()
        if template is None or self.busy():
            return
        values = self.values()
        if not all(values):
            self.show_message(self.tr("Fill in every value first."), error=True)
            return
        self.save_button.setEnabled(False)
        self.show_message(self.tr("Sending…"), error=False)
        self._start(self._write(protocol.TemplateSend(name=template.name, language=template.language,
                                                      parameters=values)))

    async def _write(self, body: protocol.TemplateSend) -> None:
        try:
            message = await self._send(body, self._op_id)
        except (NetworkError, AuthError, ServerError) as exc:
            self.show_message(request_error_text(exc), error=True)
            self.save_button.setEnabled(True)
            return
        self.sent.emit(message)
        self.accept()


def open_template_dialog(main_window) -> TemplateDialog | None:
    """For the open WhatsApp conversation of `main_window`."""
    conversation = main_window._shown_conversation()
    if conversation is None or conversation.channel != "whatsapp":
        return None
    api = main_window.workspace.api
    card = main_window._card
    first_name = (card.display_name.split() or [""])[0] if card is not None else ""
    language = main_window.canned_panel.preferred_language()

    async def load() -> list[protocol.WhatsAppTemplate]:
        return (await api.care(main_window.language)).settings.templates

    async def send(body: protocol.TemplateSend, op_id: str) -> protocol.MessagePublic:
        return await api.post_template(conversation.id, body, op_id)

    dialog = TemplateDialog(load, send, language=language, first_name=first_name, parent=main_window)
    dialog.sent.connect(lambda _message: main_window.workspace.engine.request_pull())
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()
    return dialog
