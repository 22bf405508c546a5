"""Short-lived access tokens (OAuth2 client credentials, LWA refresh tokens…), cached and refreshed early.

A connector gives :class:`TokenCache` a coroutine that asks the vendor for a token; the cache
hands the token out until ``margin_seconds`` before it expires, then fetches a new one. Callers
that arrive while a fetch is under way wait for it (one request to the token endpoint, not one
per caller). After a 401 the connector calls :meth:`TokenCache.invalidate` and tries once more.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and how long the vendor said it lives."""

    value: str = field(repr=False)
    expires_in_seconds: float

    def __post_init__(self) -> None:
        if not self.value:
            raise ValueError("empty access token")


class TokenCache:
    """One connection's token, fetched on first use and refreshed before it expires."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[AccessToken]],
        *,
        margin_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._margin = margin_seconds
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0

    def _fresh(self) -> str | None:
        if self._token is not None and self._clock() < self._expires_at - self._margin:
            return self._token
        return None

    async def get(self) -> str:
        """A token valid for at least ``margin_seconds`` more.

        Raises:
            AuthError: the vendor refused the credentials (from ``fetch``).
            RetryableError: the token endpoint failed for a while (from ``fetch``).
        """
        token = self._fresh()
        if token is not None:
            return token
        async with self._lock:
            token = self._fresh()
            if token is not None:
                return token
            fetched = await self._fetch()
            self.fetches += 1
            # A token shorter-lived than twice the margin is still used, just refreshed each time.
            self._token = fetched.value
            self._expires_at = self._clock() + fetched.expires_in_seconds
            return fetched.value

    def invalidate(self) -> None:
        """Forget the token (the vendor answered 401 with it): the next ``get`` fetches a new one."""
        self._token = None
        self._expires_at = 0.0
