"""Credentials encrypted at rest with MultiFernet (AES-128-CBC + HMAC-SHA256).

Keys come from ``CONNECTUS_SECRET_KEYS`` (comma list, newest first); with none
set, a key file in the data dir is created once, readable only by its owner.
Encryption always uses the newest key; decryption tries each, so rotation is:
put a new key first, run ``connectus rotate-keys``, then drop the old one.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from store.errors import SecretError

KEY_FILE = "secret.key"


def load_keys(configured: tuple[str, ...], data_dir: Path) -> list[str]:
    if configured:
        return list(configured)
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once must not write two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(Fernet.generate_key().decode() + "\n")
    keys = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not keys:
        raise SecretError(f"the key file {path} is empty")
    return keys


class SecretBox:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise SecretError("no encryption key configured")
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        except ValueError as exc:
            raise SecretError("an encryption key is not a valid Fernet key") from exc
        self._oldest = keys[-1].encode()

    def derive(self, label: bytes) -> bytes:
        """A secret for another purpose (the hash rule's salt), stable for as long as the
        oldest key is kept; never the key itself."""
        return hashlib.sha256(b"connectus.derive|" + label + b"|" + self._oldest).digest()

    def encrypt(self, secret: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(secret, sort_keys=True).encode()).decode()

    def decrypt(self, token: str) -> dict[str, Any]:
        try:
            plain = self._fernet.decrypt(token.encode())
        except InvalidToken:
            raise SecretError(
                "a stored credential cannot be decrypted: it was altered, or it was encrypted "
                "under a key that is no longer in CONNECTUS_SECRET_KEYS") from None
        value = json.loads(plain)
        if not isinstance(value, dict):
            raise SecretError("a stored credential is not a JSON object")
        return value

    def rotate(self, token: str) -> str:
        """Re-encrypt under the newest key (raises SecretError if no key can read it)."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise SecretError("a stored credential cannot be decrypted with any configured key") \
                from None


def mask(value: str) -> str:
    """A hint that tells a person which secret this is without revealing it."""
    if len(value) <= 8:
        return "•" * len(value)
    return f"{value[:3]}…{value[-4:]}"
