"""Channels: which channels the team server talks to, how each is doing, and (for admins) connecting,
testing and disconnecting them. Credentials typed here go to the team server only (which seals them); the
app never stores them, and the server never sends a secret back, only whether one is set."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Awaitable, Callable

from PySide6.QtCore import QCoreApplication, QLocale, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem,
    QMessageBox, QPushButton, QVBoxLayout,
)

from ui.style import channel_icon, channel_name, title_font
from ui.team_dialogs import _LoadingDialog, request_error_text
from ui.thread_model import fill
from workstation import protocol
from workstation.errors import AuthError, ChannelRefused, NetworkError, ServerError

log = logging.getLogger(__name__)

LoadChannels = Callable[[], Awaitable[list[protocol.ChannelPublic]]]
ConnectChannel = Callable[[str, protocol.ChannelConnect], Awaitable[protocol.ChannelPublic]]
CheckChannel = Callable[[str], Awaitable[protocol.ChannelPublic]]
DisconnectChannel = Callable[[str], Awaitable[None]]

OK, WARN, BAD, OFF = "ok", "warn", "bad", "off"
STATE_COLOURS = {OK: "#2E7D32", WARN: "#B26A00", BAD: "#C62828", OFF: "#9CA3AF"}
# Problems that stop the channel (red); the others are warnings (amber).
BLOCKING = {"credentials_unreadable", "token_expired", "auth_refused", "permission_missing"}


def field_label(name: str) -> str:
    labels = {
        "phone_number_id": QCoreApplication.translate("ChannelsDialog", "Phone number ID"),
        "access_token": QCoreApplication.translate("ChannelsDialog", "Access token"),
        "app_secret": QCoreApplication.translate("ChannelsDialog", "App secret"),
        "verify_token": QCoreApplication.translate("ChannelsDialog", "Webhook verify token"),
        "api_base": QCoreApplication.translate("ChannelsDialog", "API address (optional)"),
        "page_id": QCoreApplication.translate("ChannelsDialog", "Facebook page ID"),
        "account_id": QCoreApplication.translate("ChannelsDialog", "Instagram account ID"),
        "user_id": QCoreApplication.translate("ChannelsDialog", "X user ID"),
        "refresh_token": QCoreApplication.translate("ChannelsDialog", "Refresh token (optional)"),
        "client_id": QCoreApplication.translate("ChannelsDialog", "OAuth client ID (optional)"),
        "client_secret": QCoreApplication.translate("ChannelsDialog", "OAuth client secret (optional)"),
        "bot_token": QCoreApplication.translate("ChannelsDialog", "Bot token"),
        "address": QCoreApplication.translate("ChannelsDialog", "Email address"),
        "imap_host": QCoreApplication.translate("ChannelsDialog", "IMAP server"),
        "imap_port": QCoreApplication.translate("ChannelsDialog", "IMAP port"),
        "imap_tls": QCoreApplication.translate("ChannelsDialog", "IMAP over TLS"),
        "imap_user": QCoreApplication.translate("ChannelsDialog", "IMAP user name"),
        "imap_password": QCoreApplication.translate("ChannelsDialog", "IMAP password"),
        "mailbox": QCoreApplication.translate("ChannelsDialog", "Mailbox"),
        "smtp_host": QCoreApplication.translate("ChannelsDialog", "SMTP server"),
        "smtp_port": QCoreApplication.translate("ChannelsDialog", "SMTP port"),
        "smtp_tls": QCoreApplication.translate("ChannelsDialog", "SMTP security"),
        "smtp_user": QCoreApplication.translate("ChannelsDialog", "SMTP user name (optional)"),
        "smtp_password": QCoreApplication.translate("ChannelsDialog", "SMTP password (optional)"),
    }
    return labels.get(name, name)


def choice_label(value: str) -> str:
    labels = {
        "true": QCoreApplication.translate("ChannelsDialog", "Yes"),
        "false": QCoreApplication.translate("ChannelsDialog", "No"),
        "starttls": QCoreApplication.translate("ChannelsDialog", "STARTTLS"),
        "ssl": QCoreApplication.translate("ChannelsDialog", "SSL/TLS"),
        "none": QCoreApplication.translate("ChannelsDialog", "None (local servers only)"),
    }
    return labels.get(value, value)


def when_text(when: datetime | None) -> str:
    if when is None:
        return QCoreApplication.translate("ChannelsDialog", "never")
    return QLocale().toString(when.astimezone(), QLocale.FormatType.ShortFormat)


def _token_place(channel: str) -> str:
    places = {
        "whatsapp": QCoreApplication.translate("ChannelsDialog", "Meta Business Settings (System users)"),
        "messenger": QCoreApplication.translate("ChannelsDialog", "Meta Business Settings (System users)"),
        "instagram": QCoreApplication.translate("ChannelsDialog", "the Meta app's Instagram settings"),
        "x": QCoreApplication.translate("ChannelsDialog", "the X developer portal"),
        "telegram": QCoreApplication.translate("ChannelsDialog", "@BotFather"),
        "email": QCoreApplication.translate("ChannelsDialog", "your mail provider's account settings"),
    }
    return places.get(channel, "")


def problem_text(problem: str, channel: protocol.ChannelPublic, server_url: str = "") -> str:
    """What the admin should do about one problem, as a sentence in their language."""
    health = channel.health
    if problem == "not_connected":
        return QCoreApplication.translate("ChannelsDialog", "Not connected: fill in the settings below and press Connect.")
    if problem == "credentials_unreadable":
        return QCoreApplication.translate(
            "ChannelsDialog", "The server cannot open the stored credentials (its channel key changed). "
                              "Enter the secrets again and press Connect.")
    if problem == "token_expired":
        return fill(QCoreApplication.translate(
            "ChannelsDialog", "The access token expired on %1. Make a new one in %2 and enter it below."),
            when_text(channel.token_expires_at), _token_place(channel.channel))
    if problem == "token_expires_soon":
        return fill(QCoreApplication.translate(
            "ChannelsDialog", "The access token expires on %1. Make a new one in %2 and enter it before then."),
            when_text(channel.token_expires_at), _token_place(channel.channel))
    if problem == "auth_refused":
        return fill(QCoreApplication.translate(
            "ChannelsDialog", "The provider refused the credentials on %1 (“%2”). Replies cannot go out: make a "
                              "new token or password in %3, enter it below and press Connect."),
            when_text(health.last_error_at), health.last_error, _token_place(channel.channel))
    if problem == "permission_missing":
        return fill(QCoreApplication.translate(
            "ChannelsDialog", "The account lacks a permission the channel needs (“%1”). Grant it in %2, then "
                              "press Test again."), health.last_error, _token_place(channel.channel))
    if problem == "provider_failing":
        return fill(QCoreApplication.translate(
            "ChannelsDialog", "The provider has been failing since %1 (“%2”). The server keeps trying and "
                              "loses nothing; if it lasts, check the provider's status page."),
            when_text(health.last_error_at), health.last_error)
    if problem == "poll_stale":
        return fill(QCoreApplication.translate(
            "ChannelsDialog", "No new messages were fetched since %1. Press Test again; if the test fails, "
                              "correct the settings."), when_text(health.last_ok_at or channel.connected_at))
    if problem == "webhook_waiting":
        return fill(QCoreApplication.translate(
            "ChannelsDialog", "No webhook has arrived yet. In the Meta app's Webhooks settings, set the callback "
                              "URL to %1 and the verify token entered here, and subscribe to messages."),
            server_url.rstrip("/") + channel.webhook_path)
    return problem


def channel_state(channel: protocol.ChannelPublic) -> str:
    if not channel.connected and "credentials_unreadable" not in channel.problems:
        return OFF
    if any(p in BLOCKING for p in channel.problems):
        return BAD
    return WARN if channel.problems else OK


def state_text(channel: protocol.ChannelPublic) -> str:
    state = channel_state(channel)
    if state == OFF:
        return QCoreApplication.translate("ChannelsDialog", "Not connected")
    if state == BAD:
        return QCoreApplication.translate("ChannelsDialog", "Not working")
    if state == WARN:
        return QCoreApplication.translate("ChannelsDialog", "Needs attention")
    return QCoreApplication.translate("ChannelsDialog", "Working")


def state_icon(channel: protocol.ChannelPublic, size: int = 28) -> QIcon:
    """The channel's badge with a dot in the corner coloured by its state."""
    pixmap = channel_icon(channel.channel, size).pixmap(size, size)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QColor("white"))
    painter.setBrush(QColor(STATE_COLOURS[channel_state(channel)]))
    dot = size * 0.42
    painter.drawEllipse(int(size - dot), int(size - dot), int(dot) - 1, int(dot) - 1)
    painter.end()
    return QIcon(pixmap)


def refusal_text(exc: ChannelRefused) -> str:
    kinds = {
        "auth_expired": QCoreApplication.translate("ChannelsDialog", "The provider refused these credentials"),
        "permission": QCoreApplication.translate("ChannelsDialog", "The account lacks a permission"),
        "retryable": QCoreApplication.translate("ChannelsDialog", "The provider could not be reached; try again"),
        "bad_request": QCoreApplication.translate("ChannelsDialog", "These settings are not right"),
    }
    lead = kinds.get(exc.kind, QCoreApplication.translate("ChannelsDialog", "The connection test failed"))
    if exc.field:
        lead = fill(QCoreApplication.translate("ChannelsDialog", "%1 (%2)"), lead, field_label(exc.field))
    return fill(QCoreApplication.translate("ChannelsDialog", "%1: %2"), lead, exc.message) if exc.message else lead


class ChannelsDialog(_LoadingDialog):
    """The list of channels (left) and the one chosen (right): its health, what to fix, and its settings."""

    changed = Signal(object)  # protocol.ChannelPublic after a connect, test or disconnect

    def __init__(self, load: LoadChannels, connect: ConnectChannel, check: CheckChannel,
                 disconnect: DisconnectChannel, *, is_admin: bool, server_url: str = "", parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("channelsDialog")
        self.setWindowTitle(self.tr("Channels"))
        self._load, self._connect, self._check, self._disconnect = load, connect, check, disconnect
        self.is_admin = is_admin
        self.server_url = server_url
        self.channels: dict[str, protocol.ChannelPublic] = {}
        self.inputs: dict[str, QLineEdit | QComboBox] = {}

        self.list = QListWidget(self)
        self.list.setObjectName("channelList")
        self.list.setFixedWidth(230)
        self.list.currentItemChanged.connect(self.on_current_changed)

        self.title = QLabel(self)
        self.title.setObjectName("channelTitle")
        self.title.setFont(title_font(self.font()))
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.state_label = QLabel(self)
        self.state_label.setObjectName("channelState")
        self.state_label.setTextFormat(Qt.TextFormat.PlainText)
        self.health_labels: dict[str, QLabel] = {}
        health_form = QFormLayout()
        for key, text in (("account", self.tr("Account")), ("source", self.tr("Connected")),
                          ("activity", self.tr("Last activity")), ("expiry", self.tr("Token expires")),
                          ("error", self.tr("Last error"))):
            label = QLabel(self)
            label.setObjectName(f"health_{key}")
            label.setTextFormat(Qt.TextFormat.PlainText)  # provider text and account names: never rich text
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.health_labels[key] = label
            health_form.addRow(text, label)
        self.problems_label = QLabel(self)
        self.problems_label.setObjectName("channelProblems")
        self.problems_label.setTextFormat(Qt.TextFormat.PlainText)
        self.problems_label.setWordWrap(True)
        self.problems_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        health_box = QGroupBox(self.tr("Health"), self)
        health_layout = QVBoxLayout(health_box)
        health_layout.addLayout(health_form)
        health_layout.addWidget(self.problems_label)

        self.settings_box = QGroupBox(self.tr("Connection"), self)
        self.settings_form = QFormLayout(self.settings_box)
        self.admin_hint = QLabel(self.tr("Only an admin can connect, test or disconnect channels."), self)
        self.admin_hint.setObjectName("adminHint")
        self.admin_hint.setWordWrap(True)
        self.admin_hint.setVisible(not is_admin)

        self.check_button = QPushButton(self.tr("Test again"), self)
        self.check_button.setObjectName("checkButton")
        self.check_button.clicked.connect(self.on_check_clicked)
        self.disconnect_button = QPushButton(self.tr("Disconnect"), self)
        self.disconnect_button.setObjectName("disconnectButton")
        self.disconnect_button.clicked.connect(self.on_disconnect_clicked)
        self.save_button.setText(self.tr("Connect"))
        self.cancel_button.setText(self.tr("Close"))
        self.buttons.addButton(self.check_button, self.buttons.ButtonRole.ActionRole)
        self.buttons.addButton(self.disconnect_button, self.buttons.ButtonRole.DestructiveRole)

        detail = QVBoxLayout()
        detail.addWidget(self.title)
        detail.addWidget(self.state_label)
        detail.addWidget(health_box)
        detail.addWidget(self.settings_box)
        detail.addWidget(self.admin_hint)
        detail.addStretch(1)
        body = QHBoxLayout()
        body.addWidget(self.list)
        body.addLayout(detail, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self._update_buttons()
        self.resize(860, 640)

    # -- loading (_LoadingDialog: open() loads, then show_settings and _set_editable) ------------------------

    def show_settings(self, channels: list[protocol.ChannelPublic]) -> None:
        self.show_channels(channels)

    def _set_editable(self, editable: bool) -> None:
        if editable:
            self._task = None  # the load is over: the buttons follow the chosen channel again
        self._update_buttons()

    def show_channels(self, channels: list[protocol.ChannelPublic]) -> None:
        current = self.current_channel()
        self.channels = {c.channel: c for c in channels}
        self.list.blockSignals(True)
        self.list.clear()
        for channel in channels:
            item = QListWidgetItem(state_icon(channel), f"{channel_name(channel.channel)}\n{state_text(channel)}")
            item.setData(Qt.ItemDataRole.UserRole, channel.channel)
            item.setToolTip(channel.account_name or state_text(channel))
            self.list.addItem(item)
        self.list.blockSignals(False)
        names = [c.channel for c in channels]
        if names:
            self.list.setCurrentRow(names.index(current) if current in names else 0)

    def show_channel_update(self, channel: protocol.ChannelPublic) -> None:
        self.channels[channel.channel] = channel
        self.show_channels(list(self.channels.values()))

    def current_channel(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def on_current_changed(self, *_):
        channel = self.channels.get(self.current_channel() or "")
        if channel is not None:
            self.show_channel(channel)
        self._update_buttons()

    # -- the chosen channel ------------------------------------------------------------------------------

    def show_channel(self, channel: protocol.ChannelPublic) -> None:
        self.title.setText(channel_name(channel.channel))
        state = channel_state(channel)
        self.state_label.setText(state_text(channel))
        self.state_label.setStyleSheet(f"color: {STATE_COLOURS[state]}; font-weight: bold;")
        account = channel.account_name or channel.account_id
        if channel.account_name and channel.account_id and channel.account_id != channel.account_name:
            account = fill(self.tr("%1 (ID %2)"), channel.account_name, channel.account_id)
        self.health_labels["account"].setText(account or "—")
        if channel.source == "app":
            source = fill(self.tr("From this app, by %1 on %2"), channel.connected_by_name or "—",
                          when_text(channel.connected_at))
        elif channel.source == "environment":
            source = self.tr("In the team server's settings (its WORKSTATION_* variables)")
        else:
            source = self.tr("No")
        self.health_labels["source"].setText(source)
        health = channel.health
        if channel.webhook_path:
            activity = fill(self.tr("Last webhook: %1"), when_text(health.last_webhook_at))
        else:
            activity = fill(self.tr("Last fetch of new messages: %1"), when_text(health.last_ok_at))
        if health.last_send_at is not None:
            activity += "\n" + fill(self.tr("Last reply sent: %1"), when_text(health.last_send_at))
        self.health_labels["activity"].setText(activity if channel.connected else "—")
        if channel.token_expires_at is not None:
            expiry = when_text(channel.token_expires_at)
        elif not channel.connected:
            expiry = "—"
        elif channel.channel in ("telegram", "email"):
            expiry = self.tr("Does not expire")
        else:
            expiry = self.tr("Not known")
        self.health_labels["expiry"].setText(expiry)
        if health.last_error:
            error = fill(self.tr("%1 — %2"), when_text(health.last_error_at), health.last_error)
        else:
            error = self.tr("None")
        self.health_labels["error"].setText(error)
        if channel.problems:
            lines = [problem_text(p, channel, self.server_url) for p in channel.problems]
            self.problems_label.setText("\n".join(f"• {line}" for line in lines))
            self.problems_label.setStyleSheet(f"color: {STATE_COLOURS[BAD if state == BAD else WARN]};")
        else:
            self.problems_label.setText(self.tr("Everything works."))
            self.problems_label.setStyleSheet(f"color: {STATE_COLOURS[OK]};")
        self._fill_form(channel)

    def _fill_form(self, channel: protocol.ChannelPublic) -> None:
        while self.settings_form.rowCount():
            self.settings_form.removeRow(0)
        self.inputs = {}
        for field in channel.fields:
            if field.kind == "choice":
                widget = QComboBox(self.settings_box)
                for value in field.choices:
                    widget.addItem(choice_label(value), value)
                index = widget.findData(channel.settings.get(field.name) or field.default)
                widget.setCurrentIndex(max(0, index))
            else:
                widget = QLineEdit(self.settings_box)
                if field.secret:
                    widget.setEchoMode(QLineEdit.EchoMode.Password)
                    if field.name in channel.secrets_set:
                        widget.setPlaceholderText(self.tr("Stored on the server; leave empty to keep it"))
                else:
                    widget.setText(channel.settings.get(field.name, ""))
                    if field.default:
                        widget.setPlaceholderText(field.default)
            widget.setObjectName(f"field_{field.name}")
            widget.setEnabled(self.is_admin)
            self.inputs[field.name] = widget
            label = field_label(field.name) + (" *" if field.required else "")
            self.settings_form.addRow(label, widget)

    def value(self) -> protocol.ChannelConnect:
        channel = self.channels[self.current_channel()]
        settings: dict[str, str] = {}
        secrets: dict[str, str] = {}
        for field in channel.fields:
            widget = self.inputs[field.name]
            text = widget.currentData() if isinstance(widget, QComboBox) else widget.text().strip()
            if field.secret:
                if text:  # empty: keep the stored one
                    secrets[field.name] = text
            elif text:
                settings[field.name] = text
        return protocol.ChannelConnect(settings=settings, secrets=secrets)

    def _update_buttons(self) -> None:
        channel = self.channels.get(self.current_channel() or "")
        idle = not self.busy()
        self.save_button.setVisible(self.is_admin)
        self.check_button.setVisible(self.is_admin)
        self.disconnect_button.setVisible(self.is_admin)
        self.save_button.setEnabled(idle and channel is not None)
        self.save_button.setText(self.tr("Save and test") if channel is not None and channel.source == "app"
                                 else self.tr("Connect"))
        self.check_button.setEnabled(idle and channel is not None and channel.connected)
        self.disconnect_button.setEnabled(idle and channel is not None and channel.source == "app")
        self.disconnect_button.setToolTip(
            self.tr("Set in the team server's settings: remove its WORKSTATION_* variables there to turn it off.")
            if channel is not None and channel.source == "environment" else "")

    # -- actions -----------------------------------------------------------------------------------------

    def submit(self) -> None:
        name = self.current_channel()
        if not self.is_admin or self.busy() or name is None:
            return
        missing = [f.name for f in self.channels[name].fields if f.required and not self._has_value(name, f)]
        if missing:
            self.show_message(fill(self.tr("Fill in %1."), ", ".join(field_label(m) for m in missing)), error=True)
            self.inputs[missing[0]].setFocus()
            return
        self.show_message(fill(self.tr("Testing the connection to %1…"), channel_name(name)), error=False)
        self._run(self._connect_channel(name, self.value()))

    def _has_value(self, name: str, field: protocol.ChannelField) -> bool:
        widget = self.inputs[field.name]
        if isinstance(widget, QComboBox):
            return True
        return bool(widget.text().strip()) or (field.secret and field.name in self.channels[name].secrets_set)

    def _run(self, coro) -> None:
        self._start(coro)
        self._update_buttons()

    async def _connect_channel(self, name: str, body: protocol.ChannelConnect) -> None:
        try:
            channel = await self._connect(name, body)
        except ChannelRefused as exc:
            self._finish(refusal_text(exc), error=True)
            if exc.field in self.inputs:
                self.inputs[exc.field].setFocus()
            return
        except (NetworkError, AuthError, ServerError) as exc:
            self._finish(request_error_text(exc), error=True)
            return
        self.show_channel_update(channel)
        self.changed.emit(channel)
        self._finish(fill(self.tr("%1 is connected as %2."), channel_name(name),
                          channel.account_name or channel.account_id or "—"), error=False)

    def on_check_clicked(self) -> None:
        name = self.current_channel()
        if not self.is_admin or self.busy() or name is None:
            return
        self.show_message(fill(self.tr("Testing the connection to %1…"), channel_name(name)), error=False)
        self._run(self._check_channel(name))

    async def _check_channel(self, name: str) -> None:
        try:
            channel = await self._check(name)
        except ChannelRefused as exc:
            self._finish(refusal_text(exc), error=True)
            self._start_reload_after_check()
            return
        except (NetworkError, AuthError, ServerError) as exc:
            self._finish(request_error_text(exc), error=True)
            return
        self.show_channel_update(channel)
        self.changed.emit(channel)
        self._finish(fill(self.tr("%1 works."), channel_name(name)), error=False)

    def _start_reload_after_check(self) -> None:
        # The failed test is now the channel's last error: show it in the health too.
        self._start(self._read_keeping_message(self.message.text()))

    async def _read_keeping_message(self, text: str) -> None:
        await self._read()
        self.show_message(text, error=True)
        self._update_buttons()

    def on_disconnect_clicked(self) -> None:
        name = self.current_channel()
        if not self.is_admin or self.busy() or name is None:
            return
        answer = QMessageBox.question(
            self, self.tr("Disconnect"),
            fill(self.tr("Disconnect %1? Its conversations stay; new messages stop arriving and replies stop "
                         "going out until it is connected again."), channel_name(name)))
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.disconnect_now(name)

    def disconnect_now(self, name: str) -> None:
        self.show_message(fill(self.tr("Disconnecting %1…"), channel_name(name)), error=False)
        self._run(self._disconnect_channel(name))

    async def _disconnect_channel(self, name: str) -> None:
        try:
            await self._disconnect(name)
            channels = await self._load()
        except (NetworkError, AuthError, ServerError) as exc:
            self._finish(request_error_text(exc), error=True)
            return
        self.show_channels(channels)
        self.changed.emit(self.channels.get(name))
        self._finish(fill(self.tr("%1 is disconnected."), channel_name(name)), error=False)

    def _finish(self, text: str, *, error: bool) -> None:
        self.show_message(text, error=error)
        self._task = None
        self._update_buttons()


def open_channels_dialog(main_window) -> ChannelsDialog | None:
    """Opens (or brings to the front) the channels dialog: leads see the health, admins also change them."""
    if not main_window.is_lead:
        return None
    dialog = next((d for d in main_window.findChildren(ChannelsDialog) if d.isVisible()), None)
    if dialog is None:
        api = main_window.workspace.api
        dialog = ChannelsDialog(api.channels, api.connect_channel, api.check_channel, api.disconnect_channel,
                                is_admin=main_window.workspace.agent.role == "admin",
                                server_url=str(getattr(api, "base_url", "")), parent=main_window)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
    dialog.raise_()
    dialog.activateWindow()
    return dialog

