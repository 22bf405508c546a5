"""Errors as RFC 9457 ``application/problem+json`` with a stable ``type``."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tradewire.errors import (
    ConfigError,
    Conflict,
    Forbidden,
    NotFound,
    TenantContextMissing,
    Unauthenticated,
    WebhookRejected,
)

PROBLEM_BASE = "https://tradewire.dev/problems/"
MEDIA_TYPE = "application/problem+json"


def problem(status: int, kind: str, title: str, detail: str, **extra: object) -> JSONResponse:
    """A problem response."""
    body: dict[str, object] = {"type": PROBLEM_BASE + kind, "title": title, "status": status, "detail": detail}
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


class PayloadTooLarge(Exception):
    """The request body is larger than the configured limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"body larger than {limit} bytes")
        self.limit = limit


def install(app: FastAPI) -> None:
    """Register the handlers that turn Tradewire errors into problems."""

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return problem(404, "not-found", "Not found", str(exc))

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return problem(409, "conflict", "Conflict", str(exc))

    @app.exception_handler(WebhookRejected)
    async def _rejected(_: Request, exc: WebhookRejected) -> JSONResponse:
        kind = "webhook-unauthorized" if exc.status == 401 else "webhook-invalid"
        return problem(exc.status, kind, "Webhook rejected", str(exc))

    @app.exception_handler(PayloadTooLarge)
    async def _too_large(_: Request, exc: PayloadTooLarge) -> JSONResponse:
        return problem(413, "payload-too-large", "Payload too large", str(exc), limit=exc.limit)

    @app.exception_handler(Unauthenticated)
    async def _unauthorized(_: Request, exc: Unauthenticated) -> JSONResponse:
        response = problem(401, "unauthorized", "Unauthorized", str(exc))
        response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(Forbidden)
    async def _forbidden(_: Request, exc: Forbidden) -> JSONResponse:
        return problem(403, "forbidden", "Forbidden", str(exc))

    @app.exception_handler(ConfigError)
    async def _config(_: Request, exc: ConfigError) -> JSONResponse:
        return problem(422, "configuration", "Configuration problem", str(exc))

    @app.exception_handler(TenantContextMissing)
    async def _tenant(_: Request, exc: TenantContextMissing) -> JSONResponse:
        return problem(400, "client-required", "Client required", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return problem(422, "invalid-request", "Invalid request", "the request does not match the API", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, "http", str(exc.detail), str(exc.detail))
