"""Signing in through the real dialog against the real team server; the token lands in the keyring only."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import keyring
import pytest
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from services.teamserver.admin import revoke_sessions
from tests.integration.helpers import inbound, sign_in
from tests.support import DictKeyring
from ui import i18n
from ui.app import Host, _Expired, _resume_session, _sign_in, _until_closed, session_expired_text, too_many_attempts_text
from ui.login_dialog import LoginDialog
from workstation import protocol
from workstation.api import ApiClient
from workstation.credentials import CredentialStore, account_key
from workstation.preferences import Preferences
from workstation.settings import Settings


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


def test_too_many_failed_sign_ins_say_when_to_try_again_in_the_interface_language(stack, qloop, qtbot, keyring_backend):
    email = "ben@demo.workstation.test"
    for _ in range(5):  # the default limit: five failures per email in fifteen minutes
        r = httpx.post(f"{stack.server_url}/v1/session", json={"email": email, "password": "not the password"})
        assert r.status_code == 401
    result = asyncio.ensure_future(_sign_in(Preferences(), CredentialStore()))
    qtbot.waitUntil(lambda: _dialog() is not None)
    dialog = _dialog()
    _submit(dialog, stack.server_url, email, stack.passwords[email])
    qtbot.waitUntil(lambda: dialog.error_label.isVisible())
    assert dialog.error_label.text() == "Too many sign-in attempts. Try again in 15 minutes."
    assert dialog.buttons.isEnabled()
    i18n.install(QApplication.instance(), "es")
    try:
        _submit(dialog, stack.server_url, email, stack.passwords[email])
        qtbot.waitUntil(lambda: "Demasiados" in dialog.error_label.text())
        assert dialog.error_label.text() == \
            "Demasiados intentos de inicio de sesión. Vuelve a intentarlo dentro de 15 minutos."
        assert too_many_attempts_text(30) == \
            "Demasiados intentos de inicio de sesión. Vuelve a intentarlo dentro de un minuto."
        assert session_expired_text() == "Tu sesión ha caducado. Vuelve a iniciar sesión."
    finally:
        i18n.install(QApplication.instance(), "en")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    qtbot.waitUntil(result.done)


def test_a_refused_stored_session_opens_sign_in_saying_it_expired(stack, qloop, qtbot, keyring_backend, tmp_path):
    email = "ana@demo.workstation.test"
    token, _ = sign_in(stack, email)
    prefs = Preferences(server_url=stack.server_url, email=email)
    creds = CredentialStore()
    creds.save(account_key(stack.server_url, email), token)
    revoke_sessions(stack.db_url, email=email)
    resumed = asyncio.ensure_future(_resume_session(prefs, creds))
    qtbot.waitUntil(resumed.done, timeout=10000)
    assert isinstance(resumed.result(), _Expired)
    assert ("workstation", account_key(stack.server_url, email)) not in keyring_backend.items

    result = asyncio.ensure_future(_sign_in(prefs, creds, session_expired_text()))
    qtbot.waitUntil(lambda: _dialog() is not None)
    dialog = _dialog()
    assert dialog.error_label.isVisibleTo(dialog)
    assert dialog.error_label.text() == "Your session has expired. Sign in again."
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    qtbot.waitUntil(result.done)


def test_a_session_revoked_while_working_closes_the_window_for_sign_in(stack, qloop, qtbot, tmp_path):
    email = "ana@demo.workstation.test"
    token, agent = sign_in(stack, email)
    host = Host(ApiClient(stack.server_url, token), protocol.AgentPublic.model_validate(agent), language="en",
                cache_path=tmp_path / "cache.sqlite", settings=Settings(tmp_path / "settings.json"))
    window = host.window
    qtbot.waitUntil(lambda: window.connection_label.text().startswith("● Online"), timeout=15000)
    ended = asyncio.ensure_future(_until_closed(host, until_session_ends=True))
    assert revoke_sessions(stack.db_url, email=email) == 1
    inbound(stack, wa_id="3467" + str(uuid.uuid4().int)[:7], name="Poke", text="poke")  # the next pull gets 401
    qtbot.waitUntil(ended.done, timeout=20000)
    assert ended.result() is True
    assert host.session_ended.is_set() and host.window is None
