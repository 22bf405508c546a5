"""How ShipStation's answers become Tradewire errors, and its rate headers become budget readings.

Split from ``client`` so the client reads as the calls it makes.
"""

from __future__ import annotations

import httpx
from pydantic import ValidationError

from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.http import ErrorFamily, error_reason, translate_common
from tradewire.connectors.shipstation.schemas import SsErrorBody
from tradewire.errors import (
    PermanentError,
    VendorAuthError,
    VendorError,
    VendorRateLimited,
    VendorRejected,
    VendorRetryable,
)

SYSTEM = "shipstation"
RATE_SCOPE = "api"


# --- errors ----------------------------------------------------------------------------------


class ShipStationError(VendorError):
    """Base of errors ShipStation returned."""


class ShipStationRejected(ShipStationError, VendorRejected):
    """ShipStation refused the request itself (400/404/…); retrying cannot help."""


class ShipStationAuthError(ShipStationError, VendorAuthError):
    """ShipStation refused the API key/secret (401/403): the connection should be paused."""


class ShipStationRateLimited(ShipStationError, VendorRateLimited):
    """Over 40 requests a minute (429); ``retry_after`` is ShipStation's ``X-Rate-Limit-Reset``."""


class ShipStationUnavailable(ShipStationError, VendorRetryable):
    """5xx, timeouts, unreachable, or a garbled answer: ShipStation may answer later."""


class UntrustedResourceUrl(ShipStationError, PermanentError):
    """A notification's ``resource_url`` points somewhere the credentials must not go."""


def describe_error(response: httpx.Response) -> str | None:
    """Readable reason of a ShipStation error body (.NET ``Message``/``ExceptionMessage``), or None."""
    try:
        body = SsErrorBody.model_validate(response.json())
    except (ValueError, ValidationError, UnicodeDecodeError):
        return None
    return body.describe()


FAMILY = ErrorFamily(
    vendor="ShipStation",
    system=SYSTEM,
    throttled=ShipStationRateLimited,
    unavailable=ShipStationUnavailable,
    auth=ShipStationAuthError,
    throttle_hint="over the per-minute limit",
    auth_hint="the API key/secret",
)


def translate(exc: VendorError, what: str) -> ShipStationError:
    """The ShipStation error for a classified vendor error raised while doing ``what``."""
    common = translate_common(exc, FAMILY, what)
    if common is not None:
        return common  # type: ignore[return-value]  # FAMILY's classes are all ShipStationError
    return ShipStationRejected(
        f"ShipStation rejected {what}: {error_reason(exc)}",
        status=exc.status,
        system=SYSTEM,
        detail={**exc.detail, "what": what},
    )


# --- rate headers ------------------------------------------------------------------------------


def _header_number(headers: httpx.Headers, name: str) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if value >= 0 and value == value else None


class RateHeaders(httpx.AsyncBaseTransport):
    """Reads ``X-Rate-Limit-Limit/Remaining/Reset`` off every answer into the budget.

    ShipStation's 429 says when to try again in ``X-Rate-Limit-Reset`` (seconds), not in
    ``Retry-After``; this transport copies it to ``Retry-After`` so the kit's one classifier
    (``base.http``) carries it as ``retry_after``.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, budget: RateBudget | None) -> None:
        self._inner = inner
        self._budget = budget

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        limit = _header_number(response.headers, "X-Rate-Limit-Limit")
        remaining = _header_number(response.headers, "X-Rate-Limit-Remaining")
        reset = _header_number(response.headers, "X-Rate-Limit-Reset")
        if self._budget is not None and (limit is not None or remaining is not None):
            refill = limit / 60.0 if limit else None
            self._budget.observe(RATE_SCOPE, remaining=remaining, capacity=limit, refill=refill)
        if response.status_code == 429 and reset is not None and "Retry-After" not in response.headers:
            response.headers["Retry-After"] = f"{reset:g}"
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
