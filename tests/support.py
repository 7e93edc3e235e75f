"""Shared test doubles that plug into real library APIs."""

from __future__ import annotations

import keyring
from keyring.backend import KeyringBackend


class DictKeyring(KeyringBackend):
    """An in-process keyring backend: keyring's own API and error handling run unchanged on top of it."""

    priority = 1

    def __init__(self):
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def get_password(self, service, username):
        return self.items.get((service, username))

    def delete_password(self, service, username):
        if (service, username) not in self.items:
            raise keyring.errors.PasswordDeleteError("not found")
        del self.items[(service, username)]
