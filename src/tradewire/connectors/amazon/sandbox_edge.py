"""The SP-API edge of the sandbox: fault knobs, token checks, per-operation buckets, PII rules.

Every SP-API handler is wrapped by :func:`operation`, which applies the fault knobs, refuses
missing, expired or wrong-kind tokens with Amazon's 403 ``Unauthorized``, takes a token from the
operation's bucket (429 ``QuotaExceeded`` when empty) and stamps ``x-amzn-RateLimit-Limit``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tradewire.connectors.amazon.operations import OPERATIONS
from tradewire.connectors.amazon.sandbox_store import SandboxAmazon, Token

Handler = Callable[[Request, SandboxAmazon, Token], Awaitable[Response]]
ORDERS = "/orders/v0/orders"
GARBAGE_PAGE = "<html><head><title>503 Service Temporarily Unavailable</title></head><body>awselb/2.0</body></html>"


def state_of(request: Request) -> SandboxAmazon:
    store = request.app.state.amazon
    assert isinstance(store, SandboxAmazon)
    return store


def error_response(
    status: int, code: str, message: str, details: str = "", headers: dict[str, str] | None = None
) -> Response:
    body = {"errors": [{"code": code, "message": message, "details": details}]}
    return JSONResponse(body, status_code=status, headers={"x-amzn-RequestId": str(uuid.uuid4()), **(headers or {})})


def ok_response(body: Any, operation: str, status: int = 200) -> Response:
    """A success of ``operation`` (the wrapper adds the bucket's ``x-amzn-RateLimit-Limit``)."""
    assert operation in OPERATIONS
    headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    if status == 204:
        return Response(status_code=204, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


async def read_json(request: Request) -> Any:
    raw = await request.body()
    return json.loads(raw) if raw.strip() else None


def path_matches(template: str, path: str) -> bool:
    t_parts, p_parts = template.strip("/").split("/"), path.strip("/").split("/")
    return len(t_parts) == len(p_parts) and all(
        t == p or (t.startswith("{") and t.endswith("}")) for t, p in zip(t_parts, p_parts, strict=True)
    )


def operation(
    name: str, *, restricted: bool = False, grantless: bool = False
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Wrap an SP-API handler: fault knobs, token check, the operation's bucket, then the handler."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            store = state_of(request)
            knobs, dice = store.knobs, store.dice
            await dice.delay()
            with store.lock:
                timeout = dice.roll(knobs.timeout_rate)
                fail = dice.roll(knobs.fail_rate)
                limited = (knobs.rate_limit_after is not None and store.served >= knobs.rate_limit_after) or dice.roll(
                    knobs.rate_limit_rate
                )
                garbage = dice.roll(store.options.garbage_rate)
            if timeout:
                await asyncio.sleep(knobs.timeout_seconds)
                return error_response(504, "GatewayTimeout", "Gateway Timeout")
            if fail:
                status = 503 if dice.roll(0.5) else 500
                return error_response(
                    status,
                    "InternalFailure" if status == 500 else "ServiceUnavailable",
                    "We encountered an internal error. Please try again.",
                )
            value = request.headers.get("x-amz-access-token", "")
            token = store.token(value) if value else None
            if token is None:
                return error_response(
                    403,
                    "Unauthorized",
                    "Access to requested resource is denied.",
                    "The access token you provided is revoked, malformed or invalid.",
                )
            if token.expires_at <= store.clock():
                return error_response(
                    403,
                    "Unauthorized",
                    "Access to requested resource is denied.",
                    "The access token you provided has expired.",
                )
            if token.kind == "rdt" and not restricted:
                return error_response(
                    403,
                    "Unauthorized",
                    "Access to requested resource is denied.",
                    "A Restricted Data Token is only valid for restricted operations.",
                )
            if (token.kind == "grantless") != grantless:
                return error_response(
                    403,
                    "Unauthorized",
                    "Access to requested resource is denied.",
                    "Wrong kind of access token for this operation.",
                )
            if limited:
                return error_response(
                    429,
                    "QuotaExceeded",
                    "You exceeded your quota for the requested resource.",
                    headers={"Retry-After": f"{knobs.retry_after_seconds:g}"},
                )
            with store.lock:
                allowed = store.buckets[name].take()
                if allowed:
                    store.served += 1
            if not allowed:
                headers = {"x-amzn-RateLimit-Limit": f"{store.buckets[name].rate:g}"}
                if store.options.send_retry_after:
                    headers["Retry-After"] = f"{1.0 / store.buckets[name].rate:g}"
                return error_response(
                    429, "QuotaExceeded", "You exceeded your quota for the requested resource.", headers=headers
                )
            if garbage:
                return Response(GARBAGE_PAGE, status_code=200, media_type="text/html")
            try:
                response = await handler(request, store, token)
            except (ValueError, TypeError) as exc:
                response = error_response(400, "InvalidInput", "Invalid Input", str(exc)[:200])
            response.headers["x-amzn-RateLimit-Limit"] = f"{store.buckets[name].rate:g}"
            return response

        return endpoint

    return wrap


def granted_pii(token: Token, request: Request, relevant: set[str]) -> set[str] | None:
    """PII elements this call may return: none with an LWA token, the RDT's (within ``relevant``)
    when it covers this method and path, None (refuse) when an RDT does not cover it."""
    if token.kind != "rdt":
        return set()
    path = request.url.path
    for resource in token.resources:
        template = str(resource.get("path", ""))
        if resource.get("method") == request.method and (template == path or path_matches(template, path)):
            return set(resource.get("dataElements") or []) & relevant
    return None


def strip_order(order: dict[str, Any], granted: set[str]) -> dict[str, Any]:
    if "shippingAddress" not in granted and isinstance(order.get("ShippingAddress"), dict):
        address = order["ShippingAddress"]
        order["ShippingAddress"] = {
            k: address[k] for k in ("City", "StateOrRegion", "PostalCode", "CountryCode") if k in address
        }
    if "buyerInfo" not in granted:
        order.pop("BuyerInfo", None)
    return order


def strip_item(item: dict[str, Any], granted: set[str]) -> dict[str, Any]:
    if "buyerInfo" not in granted:
        item.pop("BuyerInfo", None)
    return item


def uncovered() -> Response:
    return error_response(
        403,
        "Unauthorized",
        "Access to requested resource is denied.",
        "The Restricted Data Token does not cover this resource.",
    )


def parse_when(text: str | None, name: str) -> datetime:
    if not text:
        raise ValueError(f"{name} is required")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name} {text!r} is not an ISO-8601 date") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment
