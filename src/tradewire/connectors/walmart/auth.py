"""How every Walmart call is authenticated and metered (``httpx.Auth`` hooks).

:class:`WalmartAuth` adds the cached access token (``WM_SEC.ACCESS_TOKEN``, raw) and a fresh
``WM_QOS.CORRELATION_ID`` to every call, refreshes the token once after a 401, and reads
Walmart's rate headers (``x-current-token-count``, ``x-next-replenish-time``) into the
connection's budget. When a 429 carries no ``Retry-After`` it derives one from the replenish
time, so ``connectors.base.http`` classifies every answer the usual way.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import AsyncGenerator

import httpx

from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.tokens import AccessToken, TokenCache

TOKEN_PATH = "/v3/token"  # noqa: S105 - a path, not a secret
COUNT_HEADER = "x-current-token-count"
REPLENISH_HEADERS = ("x-next-replenish-time", "x-next-replenishment-time")


def scope_for(method: str, path: str) -> str:
    """The rate bucket of one call: Walmart limits each API separately."""
    if path.startswith(TOKEN_PATH):
        return "token"
    if path.startswith("/v3/orders"):
        return "orders" if method == "GET" else "orders_update"
    if path.startswith(("/v3/inventory", "/v3/inventories")):
        return "inventory"
    if path.startswith("/v3/feeds"):
        # The hourly feed limit counts uploads; status reads have their own bucket.
        return "feed_status" if method == "GET" else "feeds"
    if path.startswith("/v3/webhooks"):
        return "webhooks"
    return "default"


def replenish_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds until Walmart refills the bucket, from ``x-next-replenish-time``.

    Walmart documents a time; we accept epoch milliseconds, epoch seconds or a delay in seconds.
    """
    if not value:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    if number != number:  # NaN
        return None
    current = time.time() if now is None else now
    if number > 1e12:
        number = number / 1000.0 - current
    elif number > 1e9:
        number -= current
    return max(number, 0.0)


class WalmartAuth(httpx.Auth):
    """Adds ``WM_SEC.ACCESS_TOKEN`` and ``WM_QOS.CORRELATION_ID``; refreshes once after a 401; reads rate headers."""

    def __init__(self, tokens: TokenCache, budget: RateBudget) -> None:
        self.tokens = tokens
        self.budget = budget

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers["WM_SEC.ACCESS_TOKEN"] = await self.tokens.get()
        request.headers["WM_QOS.CORRELATION_ID"] = str(uuid.uuid4())
        response = yield request
        if response.status_code == 401:
            self.tokens.invalidate()
            request.headers["WM_SEC.ACCESS_TOKEN"] = await self.tokens.get()
            request.headers["WM_QOS.CORRELATION_ID"] = str(uuid.uuid4())
            response = yield request
        self.observe(request, response)

    def observe(self, request: httpx.Request, response: httpx.Response) -> None:
        """Feed ``x-current-token-count`` to the budget; turn the replenish time into ``Retry-After`` on 429."""
        scope = scope_for(request.method, request.url.path)
        replenish = next((response.headers[h] for h in REPLENISH_HEADERS if h in response.headers), None)
        count = response.headers.get(COUNT_HEADER)
        remaining: float | None = None
        if count is not None:
            try:
                remaining = max(float(count), 0.0)
            except ValueError:
                remaining = None
        if remaining is not None:
            self.budget.observe(scope, remaining=remaining, capacity=None, refill=None)
        if response.status_code == 429 and "retry-after" not in response.headers:
            wait = replenish_seconds(replenish)
            if wait is not None:
                response.headers["Retry-After"] = f"{wait:.3f}"


class RateHeaders(httpx.Auth):
    """For the token call (no access token yet): only read Walmart's rate headers, as :class:`WalmartAuth` does."""

    def __init__(self, budget: RateBudget) -> None:
        self._auth = WalmartAuth(TokenCache(_no_token), budget)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        response = yield request
        self._auth.observe(request, response)


async def _no_token() -> AccessToken:
    raise AssertionError("the token call carries no access token")


def basic_credentials(client_id: str, client_secret: str) -> str:
    """``Basic base64(clientId:clientSecret)`` for ``POST /v3/token``."""
    return "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
