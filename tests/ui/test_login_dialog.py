"""Signing in through the real dialog against the real team server; the token lands in the keyring only."""

from __future__ import annotations

import asyncio

import keyring
import pytest
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from tests.support import DictKeyring
from ui.app import _sign_in
from ui.login_dialog import LoginDialog
from workstation.credentials import CredentialStore, account_key
from workstation.preferences import Preferences


@pytest.fixture
def keyring_backend():
    before = keyring.get_keyring()
    backend = DictKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(before)


def _dialog() -> LoginDialog | None:
    return next((w for w in QApplication.topLevelWidgets() if isinstance(w, LoginDialog) and w.isVisible()), None)


def _submit(dialog: LoginDialog, server: str, email: str, password: str) -> None:
    dialog.server_edit.setText(server)
    dialog.email_edit.setText(email)
    dialog.password_edit.setText(password)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()


def test_wrong_password_then_unreachable_server_then_success(stack, qloop, qtbot, keyring_backend):
    prefs = Preferences()
    creds = CredentialStore()
    result = asyncio.ensure_future(_sign_in(prefs, creds))
    qtbot.waitUntil(lambda: _dialog() is not None)
    dialog = _dialog()

    _submit(dialog, stack.server_url, stack.lead_email, "not the password")
    qtbot.waitUntil(lambda: dialog.error_label.isVisible())
    assert dialog.error_label.text() == "Wrong email or password."
    assert dialog.buttons.isEnabled()

    _submit(dialog, "http://127.0.0.1:9", stack.lead_email, "whatever")
    qtbot.waitUntil(lambda: "Cannot reach the server" in dialog.error_label.text())

    _submit(dialog, stack.server_url, stack.lead_email, stack.passwords[stack.lead_email])
    qtbot.waitUntil(result.done, timeout=10000)
    api, agent = result.result()
    assert agent.email == stack.lead_email and agent.role == "lead"
    token = keyring_backend.items[("workstation", account_key(stack.server_url, stack.lead_email))]
    assert token == api.token
    saved = Preferences.path().read_text(encoding="utf-8")
    assert stack.lead_email in saved and token not in saved
    closing = asyncio.ensure_future(api.aclose())
    qtbot.waitUntil(closing.done)


def test_cancel_returns_none(qloop, qtbot, keyring_backend):
    result = asyncio.ensure_future(_sign_in(Preferences(), CredentialStore()))
    qtbot.waitUntil(lambda: _dialog() is not None)
    _dialog().buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    qtbot.waitUntil(result.done)
    assert result.result() is None
