"""Resolve (with its case type, required, and an optional follow-up) and snooze choices."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QSpinBox, QVBoxLayout,
)

from ui.case_types import CASE_TYPES, case_group_name, case_type_label


class ResolveDialog(QDialog):
    """Asks for the case type (required) and an optional follow-up check-in in N days. `care()` gives the
    fields for the update (protocol.ConversationUpdate names)."""

    def __init__(self, current_case_type: str | None = None, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("resolveDialog")
        self.setWindowTitle(self.tr("Resolve conversation"))
        self.case_type = QComboBox(self)
        self.case_type.setObjectName("caseTypeCombo")
        self.case_type.addItem(self.tr("Choose a case type…"), None)
        for code in CASE_TYPES:
            group = code.split(".")[0]
            self.case_type.addItem(f"{case_group_name(group)} · {case_type_label(code)}", code)
        if current_case_type in CASE_TYPES:
            self.case_type.setCurrentIndex(self.case_type.findData(current_case_type))
        self.follow_up = QCheckBox(self.tr("Check in with the customer later"), self)
        self.follow_up.setObjectName("followUpCheck")
        self.days = QSpinBox(self)
        self.days.setRange(1, 365)
        self.days.setValue(3)
        self.days.setSuffix(self.tr(" days"))
        self.days.setEnabled(False)
        self.note = QLineEdit(self)
        self.note.setPlaceholderText(self.tr("What to check (optional)"))
        self.note.setMaxLength(500)
        self.note.setEnabled(False)
        self.follow_up.toggled.connect(self.days.setEnabled)
        self.follow_up.toggled.connect(self.note.setEnabled)
        form = QFormLayout()
        form.addRow(self.tr("Case type"), self.case_type)
        form.addRow(self.follow_up)
        form.addRow(self.tr("In"), self.days)
        form.addRow(self.tr("Note"), self.note)
        self.hint = QLabel(self.tr("The case type is required: it is counted in the reports."), self)
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        self.hint.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Resolve"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.case_type.currentIndexChanged.connect(self._update_ok)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.hint)
        layout.addWidget(self.buttons)
        self._update_ok()
        self.case_type.setFocus()

    def _update_ok(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(self.case_type.currentData() is not None)

    def care(self) -> dict:
        fields: dict = {"case_type": self.case_type.currentData()}
        if self.follow_up.isChecked():
            fields["follow_up_days"] = self.days.value()
            fields["follow_up_note"] = self.note.text().strip()
        return fields


def snooze_choices(now: datetime) -> list[tuple[str, dict]]:
    """(label, update fields) for the snooze menu: later today, tomorrow morning, next week, until the customer
    writes. Times are the agent's local time."""
    from PySide6.QtCore import QCoreApplication

    local = now.astimezone()
    tomorrow = datetime.combine(local.date() + timedelta(days=1), time(9, 0), tzinfo=local.tzinfo)
    monday = datetime.combine(local.date() + timedelta(days=7 - local.weekday()), time(9, 0), tzinfo=local.tzinfo)

    def at(moment: datetime) -> dict:
        return {"snoozed_until": moment.astimezone(timezone.utc).isoformat()}

    return [
        (QCoreApplication.translate("snooze", "For 1 hour"), at(now + timedelta(hours=1))),
        (QCoreApplication.translate("snooze", "For 4 hours"), at(now + timedelta(hours=4))),
        (QCoreApplication.translate("snooze", "Until tomorrow 09:00"), at(tomorrow)),
        (QCoreApplication.translate("snooze", "Until Monday 09:00"), at(monday)),
        (QCoreApplication.translate("snooze", "Until the customer writes"), {"snooze_until_reply": True}),
    ]
