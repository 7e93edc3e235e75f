"""Every command of the main window as a QAction: menus, shortcuts, the palette and the sheet share them."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget


def action_titles() -> dict[str, str]:
    tr = QCoreApplication.translate
    return {
        "next_conversation": tr("actions", "Next conversation"),
        "previous_conversation": tr("actions", "Previous conversation"),
        "reply": tr("actions", "Reply"),
        "note": tr("actions", "Write an internal note"),
        "canned": tr("actions", "Canned responses"),
        "resolve_and_next": tr("actions", "Resolve and go to the next"),
        "assign_to_me": tr("actions", "Assign to me"),
        "snooze": tr("actions", "Snooze"),
        "search": tr("actions", "Search"),
        "command_palette": tr("actions", "Command palette"),
        "shortcut_sheet": tr("actions", "Keyboard shortcuts"),
        "settings": tr("actions", "Settings"),
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
