"""Loop's errors, classified in one place: which answers are retryable, permanent or an auth problem.

``VendorHttp`` (``connectors.base.http``) turns statuses into the platform's errors; this module
reads Loop's bodies (``{"errors": {"message", "code"}}`` and Laravel-style validation bodies),
finds errors Loop hides in 2xx answers, and re-raises everything as a ``LoopError`` subclass.
"""

from __future__ import annotations

import json

import httpx
from pydantic import ValidationError

from tradewire.connectors.base.http import ErrorFamily, error_reason, translate_common
from tradewire.connectors.loop.schemas import LoopErrorBody
from tradewire.errors import VendorAuthError, VendorError, VendorRateLimited, VendorRejected, VendorRetryable

SYSTEM = "loop"
UNPROCESSABLE_CODES = frozenset({"UNPROCESSABLE_FLAGGED_RETURN"})


class LoopError(VendorError):
    """Base of errors Loop returned."""


class LoopRejected(LoopError, VendorRejected):
    """Loop refused the request itself (4xx or an error in a 200 body); retrying cannot help."""

    @property
    def code(self) -> str | None:
        """Loop's error code, when it sent one."""
        code = self.detail.get("code")
        return str(code) if code else None


class LoopNotFound(LoopRejected):
    """No such return (404)."""


class LoopUnprocessable(LoopRejected):
    """Loop will not process the return in its current state (``UNPROCESSABLE_FLAGGED_RETURN``).

    Permanent: someone has to review (unflag) or close the return in Loop first.
    """


class LoopAuthError(LoopError, VendorAuthError):
    """The API key is wrong, revoked or lacks the scope of the call (Loop answers 401)."""


class LoopRateLimited(LoopError, VendorRateLimited):
    """429: too many calls for this API key."""


class LoopUnavailable(LoopError, VendorRetryable):
    """5xx, timeouts, unreachable, or an unreadable answer: Loop may answer later."""


def error_body(response: httpx.Response) -> LoopErrorBody | None:
    """Loop's error body, or None when the body is not Loop's JSON error shape."""
    try:
        data = response.json()
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    try:
        return LoopErrorBody.model_validate(data)
    except ValidationError:
        return None


def describe_error(response: httpx.Response) -> str | None:
    """Readable reason of a Loop error body (``CODE: message``), or None."""
    body = error_body(response)
    return body.describe() if body is not None else None


def classify_body(response: httpx.Response) -> None:
    """Raise the error Loop hides in a 2xx body (``{"errors": {...}}`` with status 200).

    Raises:
        LoopUnprocessable: ``UNPROCESSABLE_FLAGGED_RETURN``.
        LoopRejected: any other error object.
    """
    if response.status_code >= 300 or not response.content:
        return
    body = error_body(response)
    if body is None or body.errors in (None, {}, [], ""):
        return
    where = f"{response.request.method} {response.request.url.path}"
    reason = body.describe() or "error without a message"
    detail: dict[str, object] = {"status": response.status_code, "request": where, "reason": reason}
    if body.code:
        detail["code"] = body.code
    kind = LoopUnprocessable if body.code in UNPROCESSABLE_CODES else LoopRejected
    raise kind(f"Loop rejected {where}: {reason}", status=response.status_code, system=SYSTEM, detail=detail)


def _code_of(body_text: str) -> str | None:
    try:
        data = json.loads(body_text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    try:
        return LoopErrorBody.model_validate(data).code
    except ValidationError:
        return None


FAMILY = ErrorFamily(
    vendor="Loop",
    system=SYSTEM,
    throttled=LoopRateLimited,
    unavailable=LoopUnavailable,
    auth=LoopAuthError,
    auth_hint="the API key (wrong key, revoked, or missing the 'Returns' scope)",
)


def translate(exc: VendorError, what: str) -> LoopError:
    """The ``LoopError`` for an error ``VendorHttp`` classified (``what`` names the call for people).

    429 → ``LoopRateLimited``; 5xx, timeouts and unreadable answers → ``LoopUnavailable``; 401/403 →
    ``LoopAuthError``; ``UNPROCESSABLE_FLAGGED_RETURN`` → ``LoopUnprocessable``; 404 → ``LoopNotFound``;
    other 4xx → ``LoopRejected`` (with Loop's ``code`` in ``detail`` when it sent one).
    """
    common = translate_common(exc, FAMILY, what)
    if common is not None:
        return common  # type: ignore[return-value]  # FAMILY's classes are all LoopError
    reason = error_reason(exc)
    detail = {**exc.detail, "what": what}
    body_text = str(exc.detail.get("body") or "")
    code = _code_of(body_text) or next((c for c in UNPROCESSABLE_CODES if c in body_text), None)
    if code:
        detail["code"] = code
    if code in UNPROCESSABLE_CODES:
        return LoopUnprocessable(f"Loop cannot {what}: {reason}", status=exc.status, system=SYSTEM, detail=detail)
    if exc.status == 404:
        return LoopNotFound(f"Loop found nothing for {what} (404): {reason}", status=404, system=SYSTEM, detail=detail)
    return LoopRejected(f"Loop rejected {what}: {reason}", status=exc.status, system=SYSTEM, detail=detail)
