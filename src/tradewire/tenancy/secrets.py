"""Connection credentials encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping

import orjson
from cryptography.fernet import Fernet, InvalidToken

from tradewire.errors import ConfigError


def _fernet(master_key: str) -> Fernet:
    # The master key is any long string; derive the 32-byte Fernet key from it.
    digest = hashlib.sha256(b"tradewire/connection-secrets/v1\x00" + master_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


class SecretBox:
    """Encrypts and decrypts a connection's credentials with the master key."""

    def __init__(self, master_key: str) -> None:
        self._fernet = _fernet(master_key)

    def seal(self, secrets: Mapping[str, str]) -> bytes:
        """Encrypt a mapping of credentials."""
        return self._fernet.encrypt(orjson.dumps(dict(secrets), option=orjson.OPT_SORT_KEYS))

    def open(self, sealed: bytes) -> dict[str, str]:
        """Decrypt credentials.

        Raises:
            ConfigError: the master key is not the one they were sealed with, or the data is corrupt.
        """
        try:
            data = orjson.loads(self._fernet.decrypt(sealed))
        except InvalidToken as exc:
            raise ConfigError(
                "connection secrets cannot be decrypted: wrong TRADEWIRE_SECRET_KEY or corrupt data"
            ) from exc
        return {str(k): str(v) for k, v in data.items()}
