"""The customer beside the conversation: name, channel identities and earlier conversations."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from ui.style import channel_icon, channel_name, short_time, status_name
from workstation.cache import CustomerCard


def plain_label(text: str = "", parent=None) -> QLabel:
    label = QLabel(text, parent)
    # Customer data is plain text, always: a name like "<img src=x>" must show as written.
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class CustomerPane(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.name_label = plain_label(parent=self)
        self.name_label.setObjectName("customerName")
        font = QFont(self.name_label.font())
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.name_label.setFont(font)
        self.identities_label = plain_label(parent=self)
        self.identities_label.setObjectName("customerIdentities")
        self.history_title = QLabel(self.tr("Conversations"), self)
        self.history = QListWidget(self)
        self.history.setObjectName("customerHistory")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.addWidget(self.name_label)
        layout.addWidget(self.identities_label)
        layout.addSpacing(8)
        layout.addWidget(self.history_title)
        layout.addWidget(self.history, 1)
        self.show_card(None)

    def show_card(self, card: CustomerCard | None, current_conversation: int | None = None) -> None:
        self.history.clear()
        if card is None:
            self.name_label.setText(self.tr("No conversation selected"))
            self.identities_label.setText("")
            self.history_title.hide()
            self.history.hide()
            return
        self.name_label.setText(card.display_name)
        lines = []
        for channel, handle, display in card.identities:
            shown = f"+{handle}" if channel == "whatsapp" and handle.isdigit() else handle
            lines.append(f"{channel_name(channel)} · {shown}" + (f" ({display})" if display and display != card.display_name else ""))
        self.identities_label.setText("\n".join(lines))
        self.history_title.show()
        self.history.show()
        for conv_id, channel, status, last_at in card.conversations:
            marker = self.tr(" (this one)") if conv_id == current_conversation else ""
            item = QListWidgetItem(channel_icon(channel, 16), f"#{conv_id} · {status_name(status)} · {short_time(last_at)}{marker}")
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.history.addItem(item)
