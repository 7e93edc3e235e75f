"""Settings: language, theme, notifications, server address and shortcuts, stored per user."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QKeySequenceEdit, QLabel, QLineEdit, QScrollArea,
    QTabWidget, QVBoxLayout, QWidget,
)

from ui.actions import action_titles
from workstation.settings import DEFAULT_SHORTCUTS, Settings


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle(self.tr("Settings"))
        self.settings = settings
        self.resize(520, 480)

        self.language = QComboBox(self)
        self.language.setObjectName("languageCombo")
        for value, label in (("system", self.tr("Follow the system")), ("en", "English"), ("es", "Español")):
            self.language.addItem(label, value)
        self.theme = QComboBox(self)
        self.theme.setObjectName("themeCombo")
        for value, label in (("system", self.tr("Follow the system")), ("light", self.tr("Light")),
                             ("dark", self.tr("Dark"))):
            self.theme.addItem(label, value)
        self.server = QLineEdit(self)
        self.server.setObjectName("serverUrlEdit")
        self.server.setPlaceholderText("https://team.example.com")
        general = QWidget(self)
        form = QFormLayout(general)
        form.addRow(self.tr("Language"), self.language)
        form.addRow(self.tr("Theme"), self.theme)
        form.addRow(self.tr("Team server"), self.server)

        self.notifications = QCheckBox(self.tr("Show desktop notifications for new assignments and mentions"), self)
        self.notifications.setObjectName("notificationsCheck")
        self.sound = QCheckBox(self.tr("Play a sound"), self)
        self.sound.setObjectName("soundCheck")
        self.dnd = QCheckBox(self.tr("Do not disturb"), self)
        self.dnd.setObjectName("dndCheck")
        notify = QWidget(self)
        notify_layout = QVBoxLayout(notify)
        for widget in (self.notifications, self.sound, self.dnd):
            notify_layout.addWidget(widget)
        notify_layout.addStretch(1)

        self.key_edits: dict[str, QKeySequenceEdit] = {}
        keys = QWidget(self)
        keys_form = QFormLayout(keys)
        for name, title in action_titles().items():
            edit = QKeySequenceEdit(self)
            edit.setObjectName(f"keys_{name}")
            edit.setAccessibleName(title)
            edit.setClearButtonEnabled(True)
            self.key_edits[name] = edit
            keys_form.addRow(QLabel(title, self), edit)
        scroll = QScrollArea(self)
        scroll.setWidget(keys)
        scroll.setWidgetResizable(True)

        tabs = QTabWidget(self)
        tabs.addTab(general, self.tr("General"))
        tabs.addTab(notify, self.tr("Notifications"))
        tabs.addTab(scroll, self.tr("Shortcuts"))
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self.on_restore_defaults)
        self.buttons = buttons
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(buttons)
        self._load()

    def _load(self) -> None:
        s = self.settings
        self.language.setCurrentIndex(max(0, self.language.findData(s.get("language"))))
        self.theme.setCurrentIndex(max(0, self.theme.findData(s.get("theme"))))
        self.server.setText(s.get("server_url"))
        self.notifications.setChecked(s.get("notifications"))
        self.sound.setChecked(s.get("sound"))
        self.dnd.setChecked(s.get("do_not_disturb"))
        shortcuts = s.get("shortcuts")
        for name, edit in self.key_edits.items():
            edit.setKeySequence(QKeySequence(shortcuts.get(name, "")))

    def on_restore_defaults(self) -> None:
        for name, edit in self.key_edits.items():
            edit.setKeySequence(QKeySequence(DEFAULT_SHORTCUTS[name]))

    def accept(self) -> None:  # noqa: D401 (Qt override)
        s = self.settings
        s.set("shortcuts", {name: edit.keySequence().toString(QKeySequence.SequenceFormat.PortableText)
                            for name, edit in self.key_edits.items()})
        s.set("notifications", self.notifications.isChecked())
        s.set("sound", self.sound.isChecked())
        s.set("do_not_disturb", self.dnd.isChecked())
        s.set("server_url", self.server.text().strip())
        s.set("theme", self.theme.currentData())
        s.set("language", self.language.currentData())  # last: it may rebuild the window
        super().accept()
