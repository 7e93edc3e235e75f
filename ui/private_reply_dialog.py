"""The one private message Messenger and Instagram allow in answer to a customer's public comment: it moves
the case from the public thread to a private conversation with the customer (within 7 days of the comment,
once per comment)."""

from __future__ import annotations

import uuid
from typing import Awaitable, Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout

from ui.team_dialogs import _RequestDialog, request_error_text
from workstation import protocol
from workstation.errors import AuthError, NetworkError, ServerError

SendPrivateReply = Callable[[str, str], Awaitable[protocol.MessagePublic]]
# Messenger allows 2,000 characters in a message, Instagram 1,000.
LIMITS = {"messenger": 2000, "instagram": 1000}


class PrivateReplyDialog(_RequestDialog):
    sent = Signal(object)  # protocol.MessagePublic: the message, in the customer's private conversation

    def __init__(self, send: SendPrivateReply, *, channel: str, first_name: str = "", parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("privateReplyDialog")
        self.setWindowTitle(self.tr("Reply privately"))
        self._send = send
        self._op_id = str(uuid.uuid4())
        self.limit = LIMITS.get(channel, 1000)
        self.save_button.setText(self.tr("Send privately"))
        intro = QLabel(self.tr("One private message to the customer about their comment: the conversation goes on "
                               "in private when they answer. It can be sent once per comment, within 7 days."), self)
        intro.setWordWrap(True)
        self.edit = QPlainTextEdit(self)
        self.edit.setObjectName("privateReplyText")
        self.edit.setPlainText(self.tr("Hi %1, thanks for your comment. So we can look at your case with your "
                                       "details, let's continue here in private.").replace("%1", first_name).replace(
            " ,", ","))
        self.counter = QLabel(self)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.counter)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.edit.textChanged.connect(self.on_edit_text_changed)
        self.on_edit_text_changed()
        self.resize(480, 300)

    def on_edit_text_changed(self) -> None:
        used = len(self.edit.toPlainText())
        self.counter.setText(self.tr("%1 / %2").replace("%1", str(used)).replace("%2", str(self.limit)))
        self.counter.setStyleSheet("color: #C62828;" if used > self.limit else "")
        self.save_button.setEnabled(0 < len(self.edit.toPlainText().strip()) and used <= self.limit
                                    and not self.busy())

    def submit(self) -> None:
        text = self.edit.toPlainText().strip()
        if not text or len(text) > self.limit or self.busy():
            return
        self.save_button.setEnabled(False)
        self.show_message(self.tr("Sending…"), error=False)
        self._start(self._write(text))

    async def _write(self, text: str) -> None:
        try:
            message = await self._send(text, self._op_id)
        except (NetworkError, AuthError, ServerError) as exc:
            self.show_message(request_error_text(exc), error=True)
            self.save_button.setEnabled(True)
            return
        self.sent.emit(message)
        self.accept()


def open_private_reply_dialog(main_window) -> PrivateReplyDialog | None:
    conversation = main_window._shown_conversation()
    if conversation is None or not conversation.public or conversation.channel not in LIMITS:
        return None
    api = main_window.workspace.api
    card = main_window._card
    first_name = (card.display_name.split() or [""])[0] if card is not None else ""

    async def send(text: str, op_id: str) -> protocol.MessagePublic:
        return await api.post_private_reply(conversation.id, text, op_id)

    dialog = PrivateReplyDialog(send, channel=conversation.channel, first_name=first_name, parent=main_window)
    dialog.sent.connect(lambda _message: main_window.workspace.engine.request_pull())
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()
    return dialog
