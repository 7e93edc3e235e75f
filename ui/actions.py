"""Every command of the main window as a QAction: menus, shortcuts, the palette and the sheet share them."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget


def action_titles() -> dict[str, str]:
    # Literal QCoreApplication.translate calls: lupdate cannot follow an alias.
    return {
        "next_conversation": QCoreApplication.translate("actions", "Next conversation"),
        "previous_conversation": QCoreApplication.translate("actions", "Previous conversation"),
        "reply": QCoreApplication.translate("actions", "Reply"),
        "note": QCoreApplication.translate("actions", "Write an internal note"),
        "canned": QCoreApplication.translate("actions", "Canned responses"),
        "resolve_and_next": QCoreApplication.translate("actions", "Resolve and go to the next"),
        "assign_to_me": QCoreApplication.translate("actions", "Assign to me"),
        "snooze": QCoreApplication.translate("actions", "Snooze"),
        "search": QCoreApplication.translate("actions", "Search"),
        "command_palette": QCoreApplication.translate("actions", "Command palette"),
        "shortcut_sheet": QCoreApplication.translate("actions", "Keyboard shortcuts"),
        "settings": QCoreApplication.translate("actions", "Settings"),
        "end_shift": QCoreApplication.translate("actions", "End shift…"),
        "lead_board": QCoreApplication.translate("actions", "Team board"),
        "dashboard": QCoreApplication.translate("actions", "Dashboard"),
        "care_settings": QCoreApplication.translate("actions", "Hours, SLA and priority rules…"),
        "channels": QCoreApplication.translate("actions", "Channels…"),
    }


class Actions:
    def __init__(self, parent: QWidget, handlers: dict[str, Callable[[], None]], shortcuts: dict[str, str]) -> None:
        self.by_name: dict[str, QAction] = {}
        for name, title in action_titles().items():
            action = QAction(title, parent)
            action.setObjectName(f"action_{name}")
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(handlers[name])
            parent.addAction(action)
            self.by_name[name] = action
        self.apply_shortcuts(shortcuts)

    def apply_shortcuts(self, shortcuts: dict[str, str]) -> None:
        for name, action in self.by_name.items():
            action.setShortcut(QKeySequence(shortcuts.get(name, "")))

    def items(self) -> list[tuple[str, QAction]]:
        return list(self.by_name.items())
