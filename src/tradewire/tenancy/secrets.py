"""Connection credentials encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256), with key rotation.

The current master key encrypts; previous keys (kept during a rotation) only decrypt, through
cryptography's ``MultiFernet``. ``tradewire secrets rotate-key`` re-encrypts every row with the
current key, after which the previous keys can be removed.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence

import orjson
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from tradewire.errors import ConfigError
from tradewire.settings import Settings


def _fernet(master_key: str) -> Fernet:
    # The master key is any long string; derive the 32-byte Fernet key from it.
    digest = hashlib.sha256(b"tradewire/connection-secrets/v1\x00" + master_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


UNREADABLE = (
    "connection secrets cannot be decrypted: wrong TRADEWIRE_SECRET_KEY (or a removed previous key) or corrupt data"
)


class SecretBox:
    """Encrypts credentials with the current master key; decrypts with it or any previous key."""

    def __init__(self, master_key: str, previous: Sequence[str] = ()) -> None:
        self._current = _fernet(master_key)
        self._all = MultiFernet([self._current, *(_fernet(k) for k in previous)])

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        """The box for ``TRADEWIRE_SECRET_KEY`` and ``TRADEWIRE_PREVIOUS_SECRET_KEYS``."""
        current, *previous = settings.secret_keys()
        return cls(current, previous)

    def seal(self, secrets: Mapping[str, str]) -> bytes:
        """Encrypt a mapping of credentials with the current key."""
        return self._current.encrypt(orjson.dumps(dict(secrets), option=orjson.OPT_SORT_KEYS))

    def open(self, sealed: bytes) -> dict[str, str]:
        """Decrypt credentials.

        Raises:
            ConfigError: no key this box holds sealed them, or the data is corrupt.
        """
        try:
            data = orjson.loads(self._all.decrypt(sealed))
        except InvalidToken as exc:
            raise ConfigError(UNREADABLE) from exc
        return {str(k): str(v) for k, v in data.items()}

    def is_current(self, sealed: bytes) -> bool:
        """True when ``sealed`` was encrypted with the current key (nothing to rotate)."""
        try:
            self._current.decrypt(sealed)
        except InvalidToken:
            return False
        return True

    def rotate(self, sealed: bytes) -> bytes:
        """``sealed`` re-encrypted with the current key.

        Raises:
            ConfigError: no key this box holds can decrypt it.
        """
        try:
            return self._all.rotate(sealed)
        except InvalidToken as exc:
            raise ConfigError(UNREADABLE) from exc
