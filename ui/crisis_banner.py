"""The crisis banner above the feed: a possible crisis the server detected (for leads) and crisis mode (for
everyone), with the lead's switches and the team's playbook.

The banner polls GET /v1/crisis every POLL_MS and when asked (`refresh`, e.g. after a sync); alerts are not
synced entities. Offline, it keeps showing what it last knew. Everything the server sends is shown as plain
text (topic names and the playbook are a lead's text; sample messages are customers')."""

from __future__ import annotations

import asyncio
import html
import logging
from datetime import datetime, timezone

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget,
)
from shiboken6 import isValid

from ui import crash
from ui.style import short_time
from ui.thread_model import fill
from workstation import protocol
from workstation.errors import WorkstationError

log = logging.getLogger(__name__)

POLL_MS = 10_000
LEAD_ROLES = ("lead", "admin")
MAX_ALERT_LINES = 3
MAX_SAMPLE_CHARS = 140


def _plain_tooltip(text: str) -> str:
    """A tooltip that shows `text` exactly as written (Qt takes a tooltip starting with "<b>" for rich text)."""
    return "<p style='white-space:pre-wrap'>" + html.escape(text) + "</p>"


class PlaybookDialog(QDialog):
    """The team's crisis playbook, read-only and as plain text."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("crisisPlaybook")
        self.setWindowTitle(self.tr("Crisis playbook"))
        self.resize(620, 480)
        self.text_view = QPlainTextEdit(self)
        self.text_view.setReadOnly(True)
        self.text_view.setAccessibleName(self.tr("Crisis playbook"))
        self.text_view.setPlainText(text.strip() or self.tr("No playbook has been written yet."))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text_view)
        layout.addWidget(buttons)

    def set_text(self, text: str) -> None:
        self.text_view.setPlainText(text.strip() or self.tr("No playbook has been written yet."))


class CrisisBanner(QWidget):
    """Shown to leads while the server reports a possible crisis or crisis mode is on, and to agents while
    crisis mode is on. Leads start and end crisis mode and acknowledge alerts from it.

    Call `refresh()` whenever the workspace took in changes, and `stop()` before the window goes away."""

    alert_raised = Signal(str)  # the banner's sentence for a new alert, once per alert (leads only)
    mode_changed = Signal(bool)  # crisis mode went on (True) or off, whoever switched it
    pinned_changed = Signal(list)  # the canned-response keys to pin (empty when crisis mode is off)
    updated = Signal()  # the banner showed a fresh state from the server

    def __init__(self, api, *, role: str, lang: str = "en", parent: QWidget | None = None,
                 poll_ms: int = POLL_MS) -> None:
        super().__init__(parent)
        self.setObjectName("crisisBanner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet("#crisisBanner { background: #FDECEA; border: 1px solid #C62828; border-radius: 4px; }"
                           "#crisisBanner QLabel { color: #5F1313; }")
        self.setAccessibleName(self.tr("Crisis alert"))
        self._api = api
        self.role = role
        self.lang = lang
        self.state: protocol.CrisisPublic | None = None
        self.offline = False
        self._announced: set[int] = set()
        self._first = True
        self._mode_active = False
        self._pinned: list[str] = []
        self._tasks: dict[str, asyncio.Task] = {}
        self._again = False
        self._stopped = False
        self.playbook_dialog: PlaybookDialog | None = None

        self.text_label = QLabel(self)
        self.text_label.setObjectName("crisisText")
        self.text_label.setTextFormat(Qt.TextFormat.PlainText)
        self.text_label.setWordWrap(True)
        self.error_label = QLabel(self)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.start_button = QPushButton(self.tr("Start crisis mode"), self)
        self.start_button.setToolTip(self.tr("Pin the crisis responses and raise conversations about the crisis "
                                             "to urgent"))
        self.end_button = QPushButton(self.tr("End crisis mode"), self)
        self.ack_button = QPushButton(self.tr("Acknowledge"), self)
        self.ack_button.setToolTip(self.tr("Mark these alerts as seen"))
        self.playbook_button = QPushButton(self.tr("Playbook"), self)
        self.playbook_button.setToolTip(self.tr("What the team does in a crisis"))
        self.start_button.clicked.connect(self.on_start_button_clicked)
        self.end_button.clicked.connect(self.on_end_button_clicked)
        self.ack_button.clicked.connect(self.on_ack_button_clicked)
        self.playbook_button.clicked.connect(self.on_playbook_button_clicked)

        texts = QVBoxLayout()
        texts.addWidget(self.text_label)
        texts.addWidget(self.error_label)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addLayout(texts, 1)
        for button in (self.ack_button, self.start_button, self.end_button, self.playbook_button):
            layout.addWidget(button)
        self.hide()

        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        QTimer.singleShot(0, self.refresh)

    # -- public ------------------------------------------------------------------------------------------
    @property
    def is_lead(self) -> bool:
        return self.role in LEAD_ROLES

    def pinned_canned_keys(self) -> list[str]:
        """The canned responses to pin at the top of the library (crisis mode on), as last known."""
        return list(self._pinned)

    def open_alerts(self) -> list[protocol.CrisisAlertPublic]:
        return [a for a in (self.state.alerts if self.state else []) if a.status != "ended"]

    @Slot()
    def refresh(self) -> None:
        """Reads the crisis state from the server now (a read already under way is followed by one more)."""
        if self._stopped:
            return
        running = self._tasks.get("refresh")
        if running is not None and not running.done():
            self._again = True
            return
        self._spawn("refresh", self._refresh())

    def stop(self) -> None:
        """Stops polling and cancels what is under way."""
        self._stopped = True
        self._timer.stop()
        for task in self._tasks.values():
            task.cancel()

    def alert_text(self, alert: protocol.CrisisAlertPublic) -> str:
        count, minutes, usual = str(alert.window_count), str(alert.window_minutes), str(round(alert.baseline))
        if alert.topic:
            text = fill(self.tr("Possible crisis: %1 negative messages about '%2' in %3 min (usual %4)"),
                        count, alert.topic, minutes, usual)
        else:
            text = fill(self.tr("Possible crisis: %1 negative messages in %2 min (usual %3)"), count, minutes, usual)
        if alert.status == "acknowledged":
            who = alert.acknowledged_by_name or self.tr("a lead")
            text += " " + fill(self.tr("(acknowledged by %1)"), who)
        return text

    # -- slots ---------------------------------------------------------------------------------------------
    @Slot()
    def on_start_button_clicked(self) -> None:
        self._spawn("mode", self._set_mode(True))

    @Slot()
    def on_end_button_clicked(self) -> None:
        self._spawn("mode", self._set_mode(False))

    @Slot()
    def on_ack_button_clicked(self) -> None:
        self._spawn("ack", self._acknowledge([a.id for a in self.open_alerts() if a.status == "active"]))

    @Slot()
    def on_playbook_button_clicked(self) -> None:
        text = self.state.playbook if self.state else ""
        if self.playbook_dialog is None or not isValid(self.playbook_dialog):
            self.playbook_dialog = PlaybookDialog(text, self)
        else:
            self.playbook_dialog.set_text(text)
        # Not modal: a nested modal loop would stall the asyncio tasks that keep syncing.
        self.playbook_dialog.show()
        self.playbook_dialog.raise_()

    # -- work ------------------------------------------------------------------------------------------------
    async def _refresh(self) -> None:
        while True:
            self._again = False
            try:
                state = await self._api.crisis(self.lang)
            except WorkstationError as exc:  # offline, signed out, refused: keep what we showed
                if not self.offline:
                    log.info("crisis state not read: %s", exc)
                self.offline = True
                return
            self.offline = False
            self.show_state(state)
            if not self._again or self._stopped:
                return

    async def _set_mode(self, active: bool) -> None:
        self._busy(True)
        try:
            state = await self._api.set_crisis_mode(active, self.lang)
        except WorkstationError as exc:
            self._show_error(fill(self.tr("Crisis mode was not changed: %1"), str(exc)))
            return
        finally:
            self._busy(False)
        self.show_state(state)

    async def _acknowledge(self, alert_ids: list[int]) -> None:
        self._busy(True)
        try:
            for alert_id in alert_ids:
                await self._api.ack_crisis_alert(alert_id)
        except WorkstationError as exc:
            self._show_error(fill(self.tr("The alert was not acknowledged: %1"), str(exc)))
        finally:
            self._busy(False)
        await self._refresh()

    def _spawn(self, name: str, coro) -> None:
        old = self._tasks.get(name)
        if old is not None and not old.done() and name != "refresh":
            coro.close()  # one switch or acknowledgement at a time
            return
        task = asyncio.ensure_future(coro)
        self._tasks[name] = task
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            crash.report(type(exc), exc, exc.__traceback__, context="crisis banner")

    # -- showing -----------------------------------------------------------------------------------------
    def show_state(self, state: protocol.CrisisPublic) -> None:
        if self._stopped or not isValid(self):
            return
        self.state = state
        self.error_label.hide()
        alerts = self.open_alerts()
        mode = state.mode
        lines: list[str] = []
        if mode.active:
            since = short_time(mode.since, datetime.now(timezone.utc)) if mode.since else ""
            if mode.by_name:
                lines.append(fill(self.tr("Crisis mode is on since %1 (started by %2): answer with the pinned crisis "
                                          "responses and follow the playbook."), since, mode.by_name))
            else:
                lines.append(fill(self.tr("Crisis mode is on since %1: answer with the pinned crisis responses and "
                                          "follow the playbook."), since))
        if self.is_lead:
            lines += [self.alert_text(a) for a in alerts[:MAX_ALERT_LINES]]
        self.text_label.setText("\n".join(lines))
        samples = [s.text for a in alerts for s in a.sample][:5]
        self.text_label.setToolTip(_plain_tooltip("\n".join(
            " ".join(s.split())[:MAX_SAMPLE_CHARS] for s in samples)) if samples and self.is_lead else "")
        self.start_button.setVisible(self.is_lead and not mode.active)
        self.end_button.setVisible(self.is_lead and mode.active)
        self.ack_button.setVisible(self.is_lead and any(a.status == "active" for a in alerts))
        self.setVisible(mode.active or (self.is_lead and bool(alerts)))
        if self.playbook_dialog is not None and isValid(self.playbook_dialog):
            self.playbook_dialog.set_text(state.playbook)

        if self.is_lead:
            for alert in alerts:
                if alert.id not in self._announced and alert.status == "active":
                    self.alert_raised.emit(self.alert_text(alert))
                self._announced.add(alert.id)
        if mode.active != self._mode_active:
            self._mode_active = mode.active
            self.mode_changed.emit(mode.active)
        if state.pinned_canned_keys != self._pinned:
            self._pinned = list(state.pinned_canned_keys)
            self.pinned_changed.emit(list(self._pinned))
        self.updated.emit()

    def _busy(self, busy: bool) -> None:
        if not isValid(self):
            return
        for button in (self.start_button, self.end_button, self.ack_button):
            button.setEnabled(not busy)

    def _show_error(self, text: str) -> None:
        if isValid(self):
            self.error_label.setText(text)
            self.error_label.show()
