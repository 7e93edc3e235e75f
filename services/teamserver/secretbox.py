"""Channel credentials at rest: sealed with AES-256-GCM under a key that is never in the database.

The key is 32 random bytes, from WORKSTATION_CHANNEL_KEY (base64url) or else a key file
(WORKSTATION_CHANNEL_KEY_FILE, default `<user config dir>/workstation-server/channel.key`), made on first
use with mode 0600. A copy of the database alone (a backup, a stolen disk image of the data volume) holds
only sealed blobs; whoever runs several workers or servers on one database gives them the same key.

Each blob is bound to its channel (the channel name is the associated data), so a blob copied onto another
channel's row does not open. Losing the key loses the stored credentials, nothing else: the admin connects
the channels again.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import Mapping

import platformdirs
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "v1:"
KEY_BYTES = 32
NONCE_BYTES = 12


class KeyError_(Exception):
    """The key is missing or malformed (the message says which setting to fix, never the key)."""


class Unreadable(Exception):
    """A sealed blob that this key does not open (another key, or tampered with)."""


def default_key_file() -> Path:
    return Path(platformdirs.user_config_dir("workstation-server", appauthor=False)) / "channel.key"


def _decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError):
        raise KeyError_(f"{where} is not base64") from None
    if len(key) != KEY_BYTES:
        raise KeyError_(f"{where} must hold {KEY_BYTES} bytes, not {len(key)}")
    return key


def load_key(env: Mapping[str, str]) -> bytes:
    """The key from the environment, else from the key file (made now if there is none)."""
    text = env.get("WORKSTATION_CHANNEL_KEY", "").strip()
    if text:
        return _decode_key(text, "WORKSTATION_CHANNEL_KEY")
    path = Path(env.get("WORKSTATION_CHANNEL_KEY_FILE", "").strip() or default_key_file())
    try:
        return _decode_key(path.read_text(encoding="ascii"), f"the key file {path}")
    except FileNotFoundError:
        pass
    except UnicodeDecodeError:
        raise KeyError_(f"the key file {path} is not base64") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    key = os.urandom(KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker made it first: use theirs
        return _decode_key(path.read_text(encoding="ascii"), f"the key file {path}")
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(base64.urlsafe_b64encode(key).decode("ascii") + "\n")
    return key


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise KeyError_(f"the channel key must hold {KEY_BYTES} bytes")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    def seal(self, plaintext: bytes, *, bound_to: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, bound_to.encode("utf-8"))
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, blob: str, *, bound_to: str) -> bytes:
        if not blob.startswith(PREFIX):
            raise Unreadable("not a sealed value")
        try:
            raw = base64.urlsafe_b64decode(blob[len(PREFIX):])
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], bound_to.encode("utf-8"))
        except (binascii.Error, ValueError, InvalidTag):
            raise Unreadable("the channel key does not open these credentials") from None
