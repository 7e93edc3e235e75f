"""The agent's session token in the OS keyring; kept for this session only when no keyring works."""

from __future__ import annotations

import logging

import keyring
from keyring.errors import KeyringError

log = logging.getLogger(__name__)

SERVICE = "workstation"


def _backend_is_plaintext(backend) -> bool:
    # keyrings.alt's "plaintext" backends only encode the secret: that is a file on disk in clear.
    name = f"{type(backend).__module__}.{type(backend).__name__}".lower()
    return "keyrings.alt" in name and ("plaintext" in name or "encoded" in name)


class CredentialStore:
    """Stores tokens per account (`server|email`). `unavailable_reason` says why only memory is used."""

    def __init__(self, service: str = SERVICE, *, persist: bool = True) -> None:
        self.service = service
        self._memory: dict[str, str] = {}
        self.unavailable_reason: str | None = None if persist else "not stored by choice (demo session)"
        self._persist = persist
        if persist:
            backend = keyring.get_keyring()
            if _backend_is_plaintext(backend):
                self._disable(f"the keyring backend {type(backend).__name__} keeps secrets in plain text")

    def _disable(self, reason: str) -> None:
        if self._persist:
            log.warning("system keyring unavailable (%s); the session token is kept for this session only", reason)
        self._persist = False
        self.unavailable_reason = reason

    @property
    def persistent(self) -> bool:
        return self._persist

    def save(self, account: str, token: str) -> bool:
        """True when the token went to the keyring, False when it is kept in memory only."""
        self._memory[account] = token
        if not self._persist:
            return False
        try:
            keyring.set_password(self.service, account, token)
        except KeyringError as exc:
            self._disable(type(exc).__name__ + (f": {exc}" if str(exc) else ""))
            return False
        return True

    def load(self, account: str) -> str | None:
        if account in self._memory:
            return self._memory[account]
        if not self._persist:
            return None
        try:
            return keyring.get_password(self.service, account)
        except KeyringError as exc:
            self._disable(type(exc).__name__)
            return None

    def delete(self, account: str) -> None:
        self._memory.pop(account, None)
        if not self._persist:
            return
        try:
            keyring.delete_password(self.service, account)
        except keyring.errors.PasswordDeleteError:
            pass
        except KeyringError as exc:
            self._disable(type(exc).__name__)


def account_key(server_url: str, email: str) -> str:
    return f"{server_url.rstrip('/')}|{email.strip().lower()}"
