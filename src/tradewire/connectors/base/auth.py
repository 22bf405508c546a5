"""Signature helpers shared by connectors whose vendors sign payloads with a shared secret.

Shopify (``X-Shopify-Hmac-Sha256``) and Loop (``X-Loop-Signature``) both send
``base64(HMAC-SHA256(secret, raw_body))``. Comparison is always constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def hmac_sha256_base64(secret: str | bytes, body: bytes) -> str:
    """The base64 text of ``HMAC-SHA256(secret, body)``.

    Args:
        secret: the shared secret (text is encoded as UTF-8).
        body: the exact bytes that were (or will be) sent.

    Returns:
        The signature as standard base64 with padding, e.g. ``GHRA62rR…tjw=``.
    """
    digest = hmac.new(_key(secret), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_hmac_base64(secret: str | bytes, body: bytes, signature: str) -> bool:
    """True when ``signature`` is the base64 HMAC-SHA256 of ``body`` under ``secret``.

    The comparison runs in constant time over bytes, so a signature with non-ASCII
    characters is simply a mismatch, never an exception. Surrounding whitespace is ignored.
    """
    expected = hmac_sha256_base64(secret, body).encode("ascii")
    given = signature.strip().encode("utf-8", errors="replace")
    return hmac.compare_digest(expected, given)
