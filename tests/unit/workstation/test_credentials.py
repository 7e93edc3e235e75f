"""The session token and the keyring: through keyring's real API, with a working and a failing backend."""

from __future__ import annotations

import keyring
import pytest
from keyring.backends import fail

from tests.support import DictKeyring
from workstation.credentials import CredentialStore, account_key


@pytest.fixture
def use_backend():
    before = keyring.get_keyring()
    yield keyring.set_keyring
    keyring.set_keyring(before)


def test_token_goes_to_the_keyring_and_survives_a_new_store(use_backend):
    backend = DictKeyring()
    use_backend(backend)
    account = account_key("http://127.0.0.1:8400/", "Ana@Example.com")
    assert account == "http://127.0.0.1:8400|ana@example.com"
    assert CredentialStore().save(account, "tok-123") is True
    assert backend.items == {("workstation", account): "tok-123"}
    assert CredentialStore().load(account) == "tok-123"
    CredentialStore().delete(account)
    assert CredentialStore().load(account) is None


def test_without_a_keyring_the_token_lives_in_memory_only_and_says_why(use_backend, tmp_path, caplog):
    use_backend(fail.Keyring())
    store = CredentialStore()
    assert store.save("srv|ana@example.com", "secret-token-xyz") is False
    assert not store.persistent and "NoKeyringError" in store.unavailable_reason
    assert store.load("srv|ana@example.com") == "secret-token-xyz"
    assert CredentialStore().load("srv|ana@example.com") is None  # gone with the session
    assert "secret-token-xyz" not in caplog.text


def test_demo_sessions_never_touch_the_keyring(use_backend):
    backend = DictKeyring()
    use_backend(backend)
    store = CredentialStore(persist=False)
    assert store.save("a", "t") is False and store.load("a") == "t"
    assert backend.items == {}
