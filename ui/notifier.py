"""Tells the agent when work arrives: tray icon with the waiting count, desktop notifications, window title."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon

from workstation.cache import FeedRow
from workstation.settings import Settings

log = logging.getLogger(__name__)


def waiting_on(rows: list[FeedRow], agent_id: int) -> list[FeedRow]:
    """Conversations whose customer is waiting for an answer from this agent (theirs or unassigned)."""
    return [r for r in rows if r.last_direction == "in" and r.status in ("open", "pending")
            and r.assignee_id in (None, agent_id)]


class Notifier(QObject):
    notified = Signal(str, str, int)  # title, body, conversation id
    open_requested = Signal(int)  # the agent clicked a notification
    show_requested = Signal()

    def __init__(self, settings: Settings, agent_id: int, icon: QIcon, parent=None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.agent_id = agent_id
        self.waiting = 0
        self._snapshot: dict[int, tuple[int | None, int]] | None = None
        # Breaches and due check-ins already told (or already there when the app started).
        self._breaches: set[tuple[int, object]] = set()
        self._follow_ups: set[tuple[int, object]] = set()
        self._last_conversation: int | None = None
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(icon, self)
            menu = QMenu()
            menu.addAction(self.tr("Show Workstation"), self.show_requested.emit)
            self.tray.setContextMenu(menu)
            self._menu = menu
            self.tray.activated.connect(lambda _reason: self.show_requested.emit())
            self.tray.messageClicked.connect(self.on_tray_message_clicked)
            self.tray.show()

    def on_tray_message_clicked(self) -> None:
        if self._last_conversation is not None:
            self.open_requested.emit(self._last_conversation)

    def update_feed(self, rows: list[FeedRow], *, baseline: bool = False) -> None:
        """Called after each reload with the conversations it follows (the agent's own and the unassigned
        ones waiting: `Cache.watch_rows`, not the whole feed): updates the count and notices new work.
        `baseline`: this is the state to start from (before the first sync completed, after a reset),
        so nothing in it is news."""
        self.waiting = len(waiting_on(rows, self.agent_id))
        if self.tray is not None:
            self.tray.setToolTip(self.tr("Workstation — %1 waiting").replace("%1", str(self.waiting)))
        snapshot = {r.conversation_id: (r.assignee_id, r.inbound_count) for r in rows}
        previous, self._snapshot = self._snapshot, snapshot
        now = datetime.now(timezone.utc)
        # A breach is told to the assignee, and to a lead (whose rows include every breached conversation).
        breaches = {(r.conversation_id, r.sla_breached_at): r for r in rows
                    if r.sla_breached_at is not None and r.status == "open"}
        due = {(r.conversation_id, r.follow_up_due_at): r for r in rows
               if r.follow_up_due_at is not None and r.follow_up_due_at <= now and r.assignee_id == self.agent_id}
        new_breaches = [r for key, r in breaches.items() if key not in self._breaches]
        new_due = [r for key, r in due.items() if key not in self._follow_ups]
        self._breaches |= set(breaches)
        self._follow_ups |= set(due)
        if previous is None or baseline:
            return
        for row in new_breaches:
            title = self.tr("Response overdue: %1") if row.assignee_id == self.agent_id else \
                self.tr("Response overdue in the team: %1")
            self.notify(title.replace("%1", row.customer_name), row.preview, row.conversation_id)
        for row in new_due:
            self.notify(self.tr("Follow-up due: %1").replace("%1", row.customer_name), row.preview,
                        row.conversation_id)
        for row in rows:
            before = previous.get(row.conversation_id)
            was_assignee, was_count = before if before else (None, 0)
            if row.assignee_id == self.agent_id and was_assignee != self.agent_id \
                    and row.updated_by_agent_id != self.agent_id:
                self.notify(self.tr("Assigned to you"), f"{row.customer_name}: {row.preview}", row.conversation_id)
            elif row.assignee_id == self.agent_id and before is not None and row.inbound_count > was_count:
                # (Not followed before, it was not the agent's: taking it is not a new message.)
                self.notify(self.tr("New message from %1").replace("%1", row.customer_name), row.preview,
                            row.conversation_id)

    def mentioned(self, conversation_id: int, author: str, text: str) -> None:
        self.notify(self.tr("%1 mentioned you").replace("%1", author or self.tr("A teammate")), text, conversation_id)

    def notify(self, title: str, body: str, conversation_id: int) -> None:
        if not self.settings.get("notifications") or self.settings.get("do_not_disturb"):
            return
        self._last_conversation = conversation_id
        body = " ".join(body.split())[:200]
        if self.tray is not None:
            self.tray.showMessage(title, body, QSystemTrayIcon.MessageIcon.Information, 8000)
        if self.settings.get("sound"):
            QApplication.beep()
        log.info("notified: %s (conversation %s)", title, conversation_id)
        self.notified.emit(title, body, conversation_id)
