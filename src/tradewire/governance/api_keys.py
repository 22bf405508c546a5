"""API keys: random, shown once, stored as a SHA-256 hash beside a visible prefix.

A key looks like ``tw_<12-char id>_<43-char secret>``. The prefix (``tw_<id>``) finds the row
and is safe to show in lists and logs; the whole key is hashed with SHA-256 (the secret has 256
bits of entropy, so a slow password hash would add cost without adding safety) and compared in
constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from tradewire.errors import Unauthenticated

KEY_PATTERN = re.compile(r"^(tw_[A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$")
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"


@dataclass(frozen=True)
class NewKey:
    """A freshly generated key: ``secret`` is shown to its owner once and never stored."""

    prefix: str
    secret: str
    digest: str


def generate_key() -> NewKey:
    """A new random key, its prefix and its hash."""
    prefix = "tw_" + "".join(secrets.choice(_ALPHABET) for _ in range(12))
    full = f"{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(prefix, full, digest_of(full))


def digest_of(key: str) -> str:
    """The stored hash of a whole key."""
    return hashlib.sha256(key.encode()).hexdigest()


def split_key(presented: str) -> str:
    """The prefix of a presented key.

    Raises:
        Unauthenticated: it is not shaped like a Tradewire key (nothing is looked up).
    """
    match = KEY_PATTERN.match(presented.strip()) if len(presented) < 200 else None
    if match is None:
        raise Unauthenticated("the API key is malformed; keys look like tw_<id>_<secret>")
    return match.group(1)


def matches(presented: str, digest: str) -> bool:
    """Constant-time check of a presented key against a stored hash."""
    return hmac.compare_digest(digest_of(presented.strip()), digest)
