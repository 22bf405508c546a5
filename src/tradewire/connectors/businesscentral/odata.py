"""Business Central's OData errors and literals: one place that turns answers into Tradewire errors.

Error bodies are ``{"error": {"code", "message"}}``; the code is kept on the raised error
(``exc.code``) so callers can tell ``Request_EntityChanged`` or ``BadRequest_NotFound`` apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import ValidationError

from tradewire.connectors.businesscentral.auth import SYSTEM
from tradewire.connectors.businesscentral.schemas import BcErrorBody
from tradewire.errors import (
    PermanentError,
    VendorAuthError,
    VendorError,
    VendorRateLimited,
    VendorRejected,
    VendorRetryable,
)

ENTITY_CHANGED = "Request_EntityChanged"
# BC's 429 carries no Retry-After: wait this long rather than hammering a full queue.
THROTTLE_BACKOFF_SECONDS = 10.0
MAX_BATCH = 100


class BusinessCentralError(VendorError):
    """Base of errors Business Central returned."""

    code: str = ""


class BusinessCentralRejected(BusinessCentralError, VendorRejected):
    """BC refused the request itself (400/404/409…); retrying cannot help."""


class BusinessCentralEntityChanged(BusinessCentralRejected):
    """``Request_EntityChanged``: the ``If-Match`` etag is stale (someone else changed the record)."""


class BusinessCentralAuthError(BusinessCentralError, VendorAuthError):
    """Entra ID or BC refused the credentials; the connection should be paused."""


class BusinessCentralRateLimited(BusinessCentralError, VendorRateLimited):
    """Too many requests (6,000 per 5 minutes or the 95-request queue is full)."""


class BusinessCentralUnavailable(BusinessCentralError, VendorRetryable):
    """5xx, 408, timeout, connection failure or a garbage body."""


def describe_error(response: httpx.Response) -> str | None:
    """``Code: message`` from an OData error body, or None when the body is not one."""
    try:
        body = BcErrorBody.model_validate(response.json())
    except (ValueError, UnicodeDecodeError, ValidationError):
        return None
    if not body.error.code and not body.error.message:
        return None
    return f"{body.error.code}: {body.error.message}".strip(": ")


def error_code(exc: VendorError) -> str:
    """The OData error code carried by ``exc`` (``BadRequest_NotFound`` …), or ''."""
    reason = str(exc.detail.get("reason", "")) if exc.detail else ""
    return reason.split(":", 1)[0] if ":" in reason else ""


def translate(exc: VendorError, what: str, changed_statuses: tuple[int, ...] = (409, 412)) -> BusinessCentralError:
    """The Business Central error for a classified vendor error (the OData code kept on ``.code``)."""
    detail = dict(exc.detail or {})
    reason = str(detail.get("reason") or detail.get("body") or exc)
    code = error_code(exc)
    result: BusinessCentralError
    if isinstance(exc, VendorRateLimited):
        retry_after = exc.retry_after if exc.retry_after is not None else THROTTLE_BACKOFF_SECONDS
        result = BusinessCentralRateLimited(
            f"Business Central throttled {what}: {reason}", status=exc.status, system=SYSTEM,
            retry_after=retry_after, detail=detail,
        )  # fmt: skip
    elif isinstance(exc, VendorRetryable):
        status = f" ({exc.status})" if exc.status else ""
        result = BusinessCentralUnavailable(
            f"Business Central failed {what}{status}: {reason}", status=exc.status, system=SYSTEM,
            retry_after=exc.retry_after, detail=detail,
        )  # fmt: skip
    elif isinstance(exc, VendorAuthError):
        result = BusinessCentralAuthError(
            f"Business Central refused the credentials for {what}: {reason}", status=exc.status, system=SYSTEM,
            detail=detail,
        )  # fmt: skip
    elif code == ENTITY_CHANGED or (not code and exc.status in changed_statuses):
        # Without a readable OData code, the status of a stale If-Match ([unverified] 409 or 412) decides.
        result = BusinessCentralEntityChanged(
            f"Business Central: {what} changed meanwhile: {reason}", status=exc.status, system=SYSTEM, detail=detail
        )
    else:
        result = BusinessCentralRejected(
            f"Business Central rejected {what}: {reason}", status=exc.status, system=SYSTEM, detail=detail
        )
    result.code = code
    return result


def odata_literal(value: str) -> str:
    """An OData string literal: quotes doubled, wrapped in quotes (``O'Neil`` → ``'O''Neil'``)."""
    if "\x00" in value:
        raise PermanentError("an OData literal cannot contain a NUL character")
    return "'" + value.replace("'", "''") + "'"


def odata_in(field_name: str, values: Sequence[str]) -> str:
    """``number in ('A','B')``.

    Raises:
        PermanentError: no values.
    """
    if not values:
        raise PermanentError("an 'in' filter needs at least one value")
    return f"{field_name} in ({','.join(odata_literal(v) for v in values)})"


@dataclass(frozen=True)
class BatchOperation:
    """One request inside a JSON ``$batch`` (``url`` relative to the API root)."""

    method: str
    url: str
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchResult:
    """The answer to one :class:`BatchOperation`."""

    status: int
    body: Any


def batch_error(n: int, op: BatchOperation, status: int, body: Any) -> BusinessCentralError:
    """The error for operation ``n`` of a ``$batch`` that answered ``status`` with ``body``."""
    error = body.get("error", {}) if isinstance(body, dict) else {}
    code = str(error.get("code", "")) if isinstance(error, dict) else ""
    message = str(error.get("message", "")) if isinstance(error, dict) else ""
    reason = f"{code}: {message}".strip(": ") or "no reason given"
    where = f"{op.method} {op.url} (operation {n} of a $batch)"
    result: BusinessCentralError
    if status >= 500 or status in (408, 429):
        result = BusinessCentralUnavailable(
            f"Business Central failed {where} ({status}): {reason}", status=status, system=SYSTEM
        )
    elif code == ENTITY_CHANGED:
        result = BusinessCentralEntityChanged(
            f"Business Central: {where} changed meanwhile: {reason}", status=status, system=SYSTEM
        )
    else:
        result = BusinessCentralRejected(
            f"Business Central rejected {where} ({status}): {reason}",
            status=status,
            system=SYSTEM,
            detail={"reason": reason},
        )
    result.code = code
    return result
