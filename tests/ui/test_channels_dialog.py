"""The channels dialog against the real team server and sandbox: a lead sees every channel's health read-only;
an admin connects a channel (refused settings show the provider's reason and are not kept), sees it working,
and disconnects it. Provider and account text is shown as plain text."""

from __future__ import annotations

import asyncio
import secrets

import httpx

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLineEdit

from services.teamserver.admin import add_agent
from tests.integration.helpers import sign_in
from ui.channels_dialog import ChannelsDialog, channel_state, problem_text
from workstation import protocol
from workstation.api import ApiClient

ADMIN = "admin@channels-ui.workstation.test"
ADMIN_PASSWORD = "admin-password-123"


@pytest.fixture(scope="module")
def admin_account(stack):
    add_agent(stack.db_url, email=ADMIN, name="Ada Admin", role="admin", password=ADMIN_PASSWORD)
    stack.passwords[ADMIN] = ADMIN_PASSWORD
    return ADMIN


@pytest.fixture
def api_for(stack, qloop, qtbot):
    clients = []

    def make(email: str | None = None) -> ApiClient:
        token, _ = sign_in(stack, email)
        client = ApiClient(stack.server_url, token)
        clients.append(client)
        return client

    yield make
    for client in clients:
        closing = asyncio.ensure_future(client.aclose())
        qtbot.waitUntil(closing.done)


def open_dialog(qtbot, api: ApiClient, *, is_admin: bool, server_url: str = "") -> ChannelsDialog:
    dialog = ChannelsDialog(api.channels, api.connect_channel, api.check_channel, api.disconnect_channel,
                            is_admin=is_admin, server_url=server_url)
    qtbot.addWidget(dialog)
    dialog.open()
    qtbot.waitUntil(lambda: dialog.list.count() == 6, timeout=10000)
    return dialog


def select(dialog: ChannelsDialog, channel: str) -> None:
    row = next(i for i in range(dialog.list.count())
               if dialog.list.item(i).data(Qt.ItemDataRole.UserRole) == channel)
    dialog.list.setCurrentRow(row)


def idle(qtbot, dialog: ChannelsDialog) -> None:
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=20000)


def test_a_lead_sees_every_channel_and_cannot_change_them(stack, api_for, qtbot):
    dialog = open_dialog(qtbot, api_for(), is_admin=False, server_url=stack.server_url)
    assert [dialog.list.item(i).text().split("\n")[0] for i in range(6)] == \
        ["WhatsApp", "Messenger", "Instagram", "X", "Telegram", "Email"]
    select(dialog, "email")
    assert dialog.state_label.text() in ("Working", "Needs attention")
    assert dialog.inputs["address"].text() == "support@demo-brand.workstation.test"
    assert not dialog.save_button.isVisible() and not dialog.disconnect_button.isVisible()
    assert dialog.admin_hint.isVisibleTo(dialog)
    assert all(not w.isEnabled() for w in dialog.inputs.values())
    select(dialog, "telegram")
    assert "team server's settings" in dialog.health_labels["source"].text()
    assert dialog.health_labels["expiry"].text() == "Does not expire"
    select(dialog, "whatsapp")
    # A webhook channel that has had no webhook: where to point Meta, with this server's address.
    if "webhook_waiting" in dialog.channels["whatsapp"].problems:
        assert stack.server_url + "/webhooks/whatsapp" in dialog.problems_label.text()


def test_an_admin_connects_a_channel_and_a_refusal_is_shown_and_not_kept(stack, admin_account, api_for, qtbot):
    dialog = open_dialog(qtbot, api_for(ADMIN), is_admin=True)
    # Nothing typed in required fields: said at once, nothing sent.
    select(dialog, "email")
    dialog.inputs["address"].clear()
    dialog.inputs["imap_host"].clear()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.message.text() == "Fill in Email address, IMAP server." and not dialog.busy()
    select(dialog, "telegram")
    assert dialog.save_button.text() == "Connect" and not dialog.disconnect_button.isEnabled()
    assert "WORKSTATION_*" in dialog.disconnect_button.toolTip()
    # Set in the server's environment: its API address fills the form, its token is kept unless replaced.
    assert dialog.inputs["api_base"].text() == stack.sandbox_url + "/telegram"
    token_field = dialog.inputs["bot_token"]
    assert isinstance(token_field, QLineEdit) and token_field.echoMode() == QLineEdit.EchoMode.Password
    assert token_field.text() == "" and "Stored on the server" in token_field.placeholderText()
    wrong = f"{secrets.randbelow(9 * 10**9) + 10**9}:AA{secrets.token_urlsafe(25)}"
    token_field.setText(wrong)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    idle(qtbot, dialog)
    assert dialog.message.text().startswith("The provider refused these credentials")
    assert wrong not in dialog.message.text()
    assert dialog.channels["telegram"].source == "environment"
    token_field.clear()  # keep the server's token: the channel moves into the app as it is
    with qtbot.waitSignal(dialog.changed, timeout=20000) as signal:
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    idle(qtbot, dialog)
    connected: protocol.ChannelPublic = signal.args[0]
    assert connected.source == "app" and channel_state(connected) == "ok"
    assert dialog.message.text() == f"Telegram is connected as {connected.account_name}."
    # The token is not shown back: the field is empty and says one is stored.
    assert dialog.inputs["bot_token"].text() == ""
    assert "Stored on the server" in dialog.inputs["bot_token"].placeholderText()
    assert dialog.save_button.text() == "Save and test" and dialog.disconnect_button.isEnabled()
    assert "From this app, by Ada Admin" in dialog.health_labels["source"].text()
    # Test again works without retyping anything.
    qtbot.mouseClick(dialog.check_button, Qt.MouseButton.LeftButton)
    idle(qtbot, dialog)
    assert dialog.message.text() == "Telegram works."
    dialog.disconnect_now("telegram")
    idle(qtbot, dialog)
    assert dialog.message.text() == "Telegram is disconnected."
    assert dialog.channels["telegram"].source == "environment"


def test_email_settings_offer_the_choices_and_keep_the_form(stack, admin_account, api_for, qtbot):
    dialog = open_dialog(qtbot, api_for(ADMIN), is_admin=True)
    select(dialog, "email")
    security = dialog.inputs["smtp_tls"]
    assert isinstance(security, QComboBox)
    assert [security.itemData(i) for i in range(security.count())] == ["starttls", "ssl", "none"]
    assert security.currentData() == "none"  # as the demo's environment sets it: the sandbox's plain loopback SMTP
    for name, value in {"address": "soporte@example.test", "imap_host": "127.0.0.1", "imap_port": "1",
                        "imap_user": "soporte", "imap_password": "pw", "smtp_host": "127.0.0.1",
                        "smtp_port": "1"}.items():
        dialog.inputs[name].setText(value)
    dialog.inputs["imap_tls"].setCurrentIndex(dialog.inputs["imap_tls"].findData("false"))
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    idle(qtbot, dialog)
    # Nothing listens on port 1: the provider cannot be reached; the form keeps what was typed, and the
    # server keeps the settings that work.
    assert dialog.message.text().startswith("The provider could not be reached")
    assert dialog.inputs["imap_user"].text() == "soporte" and dialog.channels["email"].source == "environment"


def test_provider_text_is_plain_text_and_problems_are_sentences(qtbot):
    dialog = ChannelsDialog(None, None, None, None, is_admin=False, server_url="https://team.example")
    qtbot.addWidget(dialog)
    hostile = protocol.ChannelPublic(
        channel="messenger", connected=True, source="environment", account_name="<b>Acme</b><img src=x>",
        webhook_path="/webhooks/meta", problems=["auth_refused", "webhook_waiting"],
        health=protocol.ChannelHealth(last_error="<i>Error validating access token</i>", last_error_kind="auth_expired"))
    dialog.show_channels([hostile])
    assert dialog.health_labels["account"].textFormat() == Qt.TextFormat.PlainText
    assert dialog.health_labels["account"].text() == "<b>Acme</b><img src=x>"
    assert dialog.problems_label.textFormat() == Qt.TextFormat.PlainText
    assert "“<i>Error validating access token</i>”" in dialog.problems_label.text()
    assert "https://team.example/webhooks/meta" in dialog.problems_label.text()
    assert channel_state(hostile) == "bad" and dialog.state_label.text() == "Not working"
    assert "Meta Business Settings" in problem_text("auth_refused", hostile)
    off = protocol.ChannelPublic(channel="email", connected=False, problems=["not_connected"],
                                 fields=[protocol.ChannelField(name="address", required=True)])
    dialog.show_channels([hostile, off])
    dialog.list.setCurrentRow(1)
    assert dialog.state_label.text() == "Not connected" and channel_state(off) == "off"
    assert "fill in the settings below" in dialog.problems_label.text()
    assert dialog.health_labels["expiry"].text() == "—"


def test_a_lead_window_shows_a_channel_that_stopped_working_and_opens_the_dialog(stack, qloop, qtbot, tmp_path):
    import gc

    from ui.app import open_window
    from workstation.settings import Settings

    token, agent = sign_in(stack)
    win, workspace = open_window(ApiClient(stack.server_url, token), protocol.AgentPublic.model_validate(agent),
                                 language="en", cache_path=tmp_path / "cache.sqlite",
                                 settings=Settings(tmp_path / "settings.json"))
    faults = f"{stack.sandbox_url}/_sandbox/telegram/faults"
    try:
        qtbot.waitUntil(lambda: "channels" in win._tasks and win._tasks["channels"].done(), timeout=10000)
        assert not win.channel_alert.isVisibleTo(win)  # setup steps (no webhook yet) are not alerts
        # The bot's token is refused on the next polls: the poller records it, the alert shows it in red.
        httpx.post(faults, json={"method": "getUpdates", "error_code": 401, "count": 1000}, timeout=10).raise_for_status()

        def refreshed() -> bool:
            """One refresh at a time (a new one would cancel the one under way): True once one has finished."""
            if win._tasks["channels"].done():
                win.on_channels_changed(None)
                return True
            return False

        def alerted() -> bool:
            return refreshed() and win.channel_alert.isVisibleTo(win)

        qtbot.waitUntil(alerted, timeout=20000)
        assert win.channel_alert.text() == "⚠ Telegram needs attention"
        assert "#C62828" in win.channel_alert.styleSheet()
        assert win.channel_alert.toolTip().startswith("Telegram: The provider refused the credentials")
        win.channel_alert.click()
        dialog = win.channels_dialog
        assert dialog is not None and dialog.isVisible()
        dialog.close()
        httpx.delete(faults, timeout=10).raise_for_status()

        def cleared() -> bool:
            return refreshed() and not win.channel_alert.isVisibleTo(win)

        qtbot.waitUntil(cleared, timeout=20000)
    finally:
        httpx.delete(faults, timeout=10)
        win.close()
        stopping = asyncio.ensure_future(workspace.stop())
        qtbot.waitUntil(stopping.done, timeout=10000)
        gc.collect()
        qtbot.wait(20)
