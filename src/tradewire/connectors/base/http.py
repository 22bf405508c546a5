"""The one place where HTTP answers become Tradewire errors.

429 and 5xx and transport failures are retryable (``Retry-After`` honoured), 401/403 are
auth errors that pause the connection, other 4xx are permanent. A connector overrides only
``classify_body`` for vendors that hide errors in 200 bodies.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from tradewire.connectors.base.budget import RateBudget, UnlimitedBudget
from tradewire.connectors.base.calls import note_call
from tradewire.errors import VendorAuthError, VendorError, VendorRateLimited, VendorRejected, VendorRetryable

BodyClassifier = Callable[[httpx.Response], None]
ErrorDescriber = Callable[[httpx.Response], str | None]

MAX_RETRY_AFTER_SECONDS = 24 * 3600.0


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def _short_body(response: httpx.Response, limit: int = 500) -> str:
    try:
        text = response.text
    except (UnicodeDecodeError, httpx.ResponseNotRead):
        return "<unreadable body>"
    return text[:limit]


def classify_response(response: httpx.Response, *, system: str, describe: ErrorDescriber | None = None) -> None:
    """Raise the right error for a non-success ``response``; return for 1xx–3xx.

    ``describe`` turns the vendor's structured error body into a readable reason (kept whole in
    ``detail["reason"]``); without it, or when it returns None, the message quotes the raw body.

    Raises:
        VendorRateLimited: 429.
        VendorRetryable: 5xx (and 408).
        VendorAuthError: 401, 403.
        VendorRejected: any other 4xx.
    """
    status = response.status_code
    if status < 400:
        return
    where = f"{response.request.method} {response.request.url.path}"
    body = _short_body(response)
    detail: dict[str, object] = {"status": status, "body": body, "request": where}
    reason = describe(response) if describe is not None else None
    if reason:
        detail["reason"] = reason
        body = reason
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 429:
        raise VendorRateLimited(
            f"{system} throttled {where} (429)", status=status, system=system, retry_after=retry_after, detail=detail
        )
    if status >= 500 or status == 408:
        raise VendorRetryable(
            f"{system} failed {where} ({status})", status=status, system=system, retry_after=retry_after, detail=detail
        )
    if status in (401, 403):
        raise VendorAuthError(
            f"{system} refused credentials for {where} ({status}): {body}", status=status, system=system, detail=detail
        )
    raise VendorRejected(f"{system} rejected {where} ({status}): {body}", status=status, system=system, detail=detail)


class VendorHttp:
    """An httpx client bound to one connection: rate budget first, then classify the answer.

    Args:
        system: vendor name for error messages.
        base_url: the vendor (or sandbox) root.
        budget: the connection's shared rate budget.
        auth: an ``httpx.Auth`` that signs each request (OAuth 1.0a, bearer, …).
        headers: sent on every request.
        timeout: seconds for connect/read/write.
        classify_body: optional hook for errors hidden in 2xx bodies.
        describe_error: optional hook turning a 4xx/5xx body into a readable reason.
        transport: an httpx transport (``ASGITransport`` in unit tests).
    """

    def __init__(
        self,
        *,
        system: str,
        base_url: str,
        budget: RateBudget | None = None,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        classify_body: BodyClassifier | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 64,
        describe_error: ErrorDescriber | None = None,
    ) -> None:
        self.system = system
        self._describe_error = describe_error
        self.budget: RateBudget = budget or UnlimitedBudget()
        self._classify_body = classify_body
        self._client = httpx.AsyncClient(
            base_url=base_url,
            auth=auth,
            headers=dict(headers or {}),
            timeout=httpx.Timeout(timeout),
            transport=transport,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        scope: str = "default",
        cost: float = 1.0,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """Send one request through the rate budget and return the classified response.

        Raises:
            VendorRetryable: on 429/5xx/timeouts/connection errors.
            VendorAuthError: on 401/403.
            VendorRejected: on other 4xx or a body the connector classifies as an error.
        """
        await self.budget.acquire(scope, cost)
        started = time.monotonic()
        full_url = self._client.base_url.join(url)
        try:
            response = await self._client.request(
                method, url, json=json, params=params, headers=headers, content=content
            )
        except httpx.TimeoutException as exc:
            note_call(self.system, method, full_url, None, started, time.monotonic(), "timeout")
            raise VendorRetryable(f"{self.system} timed out on {method} {url}", system=self.system) from exc
        except httpx.TransportError as exc:
            note_call(self.system, method, full_url, None, started, time.monotonic(), exc.__class__.__name__)
            raise VendorRetryable(
                f"{self.system} unreachable on {method} {url}: {exc.__class__.__name__}", system=self.system
            ) from exc
        note_call(self.system, method, response.request.url, response.status_code, started, time.monotonic())
        classify_response(response, system=self.system, describe=self._describe_error)
        if self._classify_body is not None:
            self._classify_body(response)
        return response

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._client.aclose()


def json_body(response: httpx.Response, *, system: str, what: str) -> Any:
    """The JSON of a successful answer.

    A 2xx whose body is not JSON (an HTML page from a proxy or load balancer, a truncated body)
    means the vendor's edge is unwell, not that our request was wrong: it is retryable.

    Raises:
        VendorRetryable: the body is empty, truncated, HTML or otherwise not JSON.
    """
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError) as exc:
        kind = "HTML" if response.text.lstrip()[:1] == "<" else "not JSON"
        raise VendorRetryable(
            f"{system} answered {what} with a body that is {kind}: {_short_body(response, 120)!r}",
            status=response.status_code,
            system=system,
        ) from exc


@dataclass(frozen=True)
class ErrorFamily:
    """A connector's error classes, one per kind the runtime acts on, and how to word them.

    Attributes:
        vendor: the vendor's name as people know it ("ShipStation").
        system: the system id carried on every error.
        throttled: the 429 class; ``unavailable``: 5xx/timeouts; ``auth``: 401/403.
        throttle_hint: what the vendor's limit is, for the 429 message ("over the per-minute limit").
        auth_hint: what to check when credentials are refused ("wrong key, or missing the 'Returns' scope").
    """

    vendor: str
    system: str
    throttled: type[VendorRateLimited]
    unavailable: type[VendorRetryable]
    auth: type[VendorAuthError]
    throttle_hint: str = "429"
    auth_hint: str = "the credentials"


def error_reason(exc: VendorError) -> str:
    """The vendor's own words for an error: the described reason, else the body, else the message."""
    return str(exc.detail.get("reason") or exc.detail.get("body") or exc.message)


def translate_common(exc: VendorError, family: ErrorFamily, what: str) -> VendorError | None:
    """The connector's class for a throttled, unavailable or refused-credentials error; None for other 4xx.

    The caller words its own rejections (a 404, a vendor error code) after this returns None.
    """
    reason = error_reason(exc)
    detail = {**exc.detail, "what": what}
    if isinstance(exc, VendorRateLimited):
        return family.throttled(
            f"{family.vendor} throttled {what} ({family.throttle_hint}): {reason}",
            status=exc.status, system=family.system, retry_after=exc.retry_after, detail=detail,
        )  # fmt: skip
    if isinstance(exc, VendorRetryable):
        status = f" ({exc.status})" if exc.status else ""
        return family.unavailable(
            f"{family.vendor} failed {what}{status}: {reason}",
            status=exc.status, system=family.system, retry_after=exc.retry_after, detail=detail,
        )  # fmt: skip
    if isinstance(exc, VendorAuthError):
        return family.auth(
            f"{family.vendor} refused {family.auth_hint} for {what} ({exc.status}): {reason}",
            status=exc.status, system=family.system, detail=detail,
        )  # fmt: skip
    return None
