"""The Walmart sandbox: a stateful, fault-injectable ASGI fake of one Marketplace seller account.

``create_sandbox(...)`` returns a Starlette app whose state is ``app.state.walmart`` (a
:class:`SandboxWalmart`). It serves, as Walmart does:

* ``POST /v3/token`` — HTTP Basic ``clientId:clientSecret``, form ``grant_type=client_credentials``;
  tokens expire after ``token_ttl_seconds`` (15 min); wrong credentials → 401.
* Every other ``/v3`` call requires ``WM_SEC.ACCESS_TOKEN`` (401 when unknown or expired),
  ``WM_SVC.NAME`` and ``WM_QOS.CORRELATION_ID`` (400 when missing); each API has a token bucket
  answering ``x-current-token-count`` / ``x-next-replenish-time`` and 429 when empty.
* Orders (``/v3/orders`` with ``nextCursor`` pagination, ``/released``, one order, acknowledge,
  shipping, cancel, refund), inventory (``PUT/GET /v3/inventory?sku=``), inventory feeds
  (``POST /v3/feeds?feedType=inventory`` multipart, 413 when too large; ``GET /v3/feeds/{id}``),
  webhook subscriptions (``POST/GET /v3/webhooks/subscriptions``, ``PATCH/DELETE …/{id}``).
* Knobs: ``FaultKnobs`` (latency, timeout, 5xx, 429 after n / at random with a replenish time
  ``retry_after_seconds`` ahead, duplicate and out-of-order webhooks) and ``garbage_rate``.

Deliveries go out from the sender started by the app's lifespan. OAUTH subscriptions: the
sender first calls the subscription's ``authUrl`` (form ``grant_type=client_credentials,
client_id, client_secret`` — [unverified] format) and sends ``Bearer <access_token>`` in
``authHeaderName``, refetching after a 401.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.walmart.auth import scope_for
from tradewire.connectors.walmart.sandbox_store import SandboxError, SandboxOptions, SandboxWalmart

Handler = Callable[[Request, SandboxWalmart], Awaitable[Any]]


def _error(
    status: int, code: str, message: str, *, category: str = "REQUEST", headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"errors": [{"code": code, "message": message, "category": category, "severity": "ERROR"}]}
    return JSONResponse(body, status_code=status, headers=headers)


def _store(request: Request) -> SandboxWalmart:
    store = request.app.state.walmart
    assert isinstance(store, SandboxWalmart)
    return store


async def _faults(store: SandboxWalmart) -> Response | None:
    knobs, dice = store.knobs, store.dice
    await dice.delay()
    if dice.roll(knobs.timeout_rate):
        await asyncio.sleep(knobs.timeout_seconds)
        return _error(504, "GATEWAY_TIMEOUT", "Gateway Timeout", category="SYSTEM")
    if dice.roll(knobs.fail_rate):
        return _error(
            503 if dice.roll(0.5) else 500, "SYSTEM_ERROR.GMP_GATEWAY_API", "Internal error", category="SYSTEM"
        )
    return None


def _throttled(store: SandboxWalmart) -> Response | None:
    knobs = store.knobs
    limited = knobs.rate_limit_after is not None and store.served >= knobs.rate_limit_after
    if limited or store.dice.roll(knobs.rate_limit_rate):
        replenish = int((time.time() + knobs.retry_after_seconds) * 1000)
        headers = {"x-current-token-count": "0", "x-next-replenish-time": str(replenish)}
        return _error(429, "REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API", "Too Many Requests", headers=headers)
    return None


def _garbage(store: SandboxWalmart) -> Response | None:
    if store.dice.roll(store.options.garbage_rate):
        if store.dice.roll(0.5):
            return Response("<html><body>502 Bad Gateway</body></html>", media_type="text/html")
        return Response('{"list": {"meta": {"totalCount": 3', media_type="application/json")
    return None


def _api(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap one API handler: faults, headers, token, rate bucket, then Walmart's error bodies."""

    async def endpoint(request: Request) -> Response:
        store = _store(request)
        fault = await _faults(store)
        if fault is not None:
            return fault
        headers = request.headers
        if not store.token_valid(headers.get("wm_sec.access_token", "")):
            return _error(401, "UNAUTHORIZED.GMP_GATEWAY_API", "Unauthorized: invalid or expired access token")
        for name in ("WM_SVC.NAME", "WM_QOS.CORRELATION_ID"):
            if not headers.get(name.lower()):
                return _error(400, "MISSING_HEADER.GMP_GATEWAY_API", f"Required header {name} is missing")
        store.correlation_ids.append(headers["wm_qos.correlation_id"])
        throttled = _throttled(store)
        if throttled is not None:
            return throttled
        bucket = store.bucket(scope_for(request.method, request.url.path))
        if not bucket.take():
            return _error(
                429, "REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API", "Too Many Requests", headers=bucket.headers()
            )
        store.served += 1
        garbage = _garbage(store)
        if garbage is not None:
            return garbage
        try:
            result = await handler(request, store)
        except SandboxError as exc:
            return JSONResponse(exc.body, status_code=exc.status, headers=bucket.headers())
        if isinstance(result, Response):
            return result
        return JSONResponse(result, headers=bucket.headers())

    return endpoint


async def _token(request: Request) -> Response:
    store = _store(request)
    fault = await _faults(store)
    if fault is not None:
        return fault
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    try:
        client_id, _, client_secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, ValueError):
        client_id = client_secret = ""
    good = hmac.compare_digest(client_id.encode(), store.client_id.encode()) & hmac.compare_digest(
        client_secret.encode(), store.client_secret.encode()
    )
    if scheme.lower() != "basic" or not good:
        return _error(401, "UNAUTHORIZED.GMP_GATEWAY_API", "Invalid client credentials (clientId/clientSecret)")
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    if form.get("grant_type") != ["client_credentials"]:
        return _error(400, "INVALID_REQUEST_PARAM", "grant_type must be client_credentials", category="DATA")
    bucket = store.bucket("token")
    if not bucket.take():
        return _error(429, "REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API", "Too Many Requests", headers=bucket.headers())
    token, ttl = store.issue_token()
    return JSONResponse(
        {"access_token": token, "token_type": "Bearer", "expires_in": int(ttl)}, headers=bucket.headers()
    )


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise SandboxError(400, "INVALID_REQUEST_CONTENT", "body is not JSON", category="REQUEST") from None


def _page(orders: list[dict[str, Any]], request: Request, store: SandboxWalmart) -> dict[str, Any]:
    query = dict(request.query_params)
    limit_text = query.get("limit", "100")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= 200:
        raise SandboxError(400, "INVALID_REQUEST_PARAM", "limit must be 1..200", field="limit")
    limit, offset = int(limit_text), int(query.get("soIndex", "0") or 0)
    chunk = orders[offset : offset + limit]
    meta: dict[str, Any] = {"totalCount": len(orders), "limit": limit}
    if offset + limit < len(orders):
        carried = {k: v for k, v in query.items() if k not in ("limit", "hasMoreElements", "soIndex", "poIndex")}
        following = {
            "limit": limit,
            "hasMoreElements": "true",
            "soIndex": offset + limit,
            "poIndex": offset + limit,
            "partnerId": store.options.partner_id,
            "sellerId": "8",
            **carried,
        }
        meta["nextCursor"] = "?" + urlencode(following)
    return {"list": {"meta": meta, "elements": {"order": chunk}}}


async def _orders(request: Request, store: SandboxWalmart) -> Any:
    released = request.url.path.endswith("/released")
    return _page(store.query_orders(dict(request.query_params), released=released), request, store)


async def _order(request: Request, store: SandboxWalmart) -> Any:
    order = store.get_order(request.path_params["po"])
    if order is None:
        raise SandboxError(404, "CONTENT_NOT_FOUND.GMP_ORDER_API", "purchase order not found")
    return {"order": order}


async def _acknowledge(request: Request, store: SandboxWalmart) -> Any:
    return {"order": store.acknowledge(request.path_params["po"])}


async def _update(request: Request, store: SandboxWalmart) -> Any:
    if request.path_params["action"] not in ("shipping", "cancel", "refund"):
        raise SandboxError(404, "CONTENT_NOT_FOUND", f"no such order action {request.path_params['action']!r}")
    body = await _json(request)
    if not isinstance(body, dict):
        raise SandboxError(400, "INVALID_REQUEST_CONTENT", "body must be a JSON object")
    return {"order": store.update_lines(request.path_params["po"], request.path_params["action"], body)}


async def _inventory(request: Request, store: SandboxWalmart) -> Any:
    sku = request.query_params.get("sku", "")
    if not sku:
        raise SandboxError(400, "INVALID_REQUEST_PARAM", "The value provided for 'sku' is invalid.", field="sku")
    if request.method == "GET":
        if sku not in store.inventory:
            raise SandboxError(404, "CONTENT_NOT_FOUND.GMP_INVENTORY_API", f"sku {sku} not found", field="sku")
        return {"sku": sku, "quantity": {"unit": "EACH", "amount": store.inventory[sku]}}
    body = await _json(request)
    amount = body.get("quantity", {}).get("amount") if isinstance(body, dict) else None
    if not isinstance(body, dict) or body.get("sku") != sku:
        raise SandboxError(400, "INVALID_REQUEST_PARAM", "The value provided for 'sku' is invalid.", field="sku")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise SandboxError(
            400, "INVALID_REQUEST_CONTENT", "quantity.amount must be a whole number >= 0", field="amount"
        )
    store.set_inventory(sku, amount)
    return {"sku": sku, "quantity": {"unit": "EACH", "amount": amount}}


def _multipart_file(request: Request, raw: bytes) -> bytes:
    content_type = request.headers.get("content-type", "")
    boundary = content_type.partition("boundary=")[2].strip('"')
    if not content_type.startswith("multipart/form-data") or not boundary:
        raise SandboxError(400, "INVALID_REQUEST_CONTENT", "feeds take a multipart/form-data 'file'")
    for part in raw.split(b"--" + boundary.encode()):
        head, _, data = part.partition(b"\r\n\r\n")
        if b'name="file"' in head:
            return data.removesuffix(b"\r\n")
    raise SandboxError(400, "INVALID_REQUEST_CONTENT", "multipart body has no 'file' part")


async def _feeds(request: Request, store: SandboxWalmart) -> Any:
    if request.query_params.get("feedType") != "inventory":
        raise SandboxError(400, "INVALID_REQUEST_PARAM", "feedType must be inventory", field="feedType")
    raw = await request.body()
    if len(raw) > store.options.max_feed_bytes:
        return _error(413, "REQUEST_ENTITY_TOO_LARGE", "Feed file too large", category="REQUEST")
    return {"feedId": store.submit_feed(_multipart_file(request, raw))}


async def _feed(request: Request, store: SandboxWalmart) -> Any:
    return store.feed_status(request.path_params["feed_id"])


async def _subscriptions(request: Request, store: SandboxWalmart) -> Any:
    if request.method == "GET":
        return {"events": list(store.subscriptions.values())}
    body = await _json(request)
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list) or not events or not all(isinstance(e, dict) for e in events):
        raise SandboxError(400, "INVALID_REQUEST_CONTENT", "body needs events[]", field="events")
    created = [
        store.subscribe(
            str(e.get("eventType", "")),
            str(e.get("eventUrl", "")),
            auth_details=e.get("authDetails") if isinstance(e.get("authDetails"), dict) else None,
            headers=e.get("headers") if isinstance(e.get("headers"), dict) else None,
            status=str(e.get("status", "ACTIVE")),
            resource_name=str(e.get("resourceName", "ORDER")),
        )
        for e in events
    ]
    return {"events": created}


async def _subscription(request: Request, store: SandboxWalmart) -> Any:
    sub_id = request.path_params["sub_id"]
    if request.method == "DELETE":
        store.delete_subscription(sub_id)
        return {"message": "Successfully deleted"}
    body = await _json(request)
    if not isinstance(body, dict):
        raise SandboxError(400, "INVALID_REQUEST_CONTENT", "body must be a JSON object")
    return {"events": [store.update_subscription(sub_id, body)]}


class OAuthSenderAuth(httpx.Auth):
    """How Walmart authenticates deliveries of OAUTH subscriptions: token from ``authUrl``, then Bearer."""

    def __init__(self, store: SandboxWalmart) -> None:
        self.store = store
        self.tokens: dict[str, str] = {}

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        url = str(request.url)
        sub = self.store.oauth_subscription(url)
        if sub is None:
            yield request
            return
        auth = sub["authDetails"]
        name = str(auth.get("authHeaderName") or "Authorization")
        for attempt in range(2):
            token = self.tokens.get(sub["subscriptionId"])
            if token is None:
                form = {
                    "grant_type": "client_credentials",
                    "client_id": str(auth.get("clientId", "")),
                    "client_secret": str(auth.get("clientSecret", "")),
                }
                token_response = yield httpx.Request(
                    "POST",
                    str(auth.get("authUrl", "")),
                    content=urlencode(form).encode(),
                    headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
                )
                await token_response.aread()
                if token_response.status_code != 200:
                    return
                try:
                    token = str(json.loads(token_response.content)["access_token"])
                except (ValueError, KeyError, TypeError):
                    return
                self.tokens[sub["subscriptionId"]] = token
            request.headers[name] = f"Bearer {token}"
            response = yield request
            if response.status_code != 401 or attempt:
                return
            self.tokens.pop(sub["subscriptionId"], None)


def create_sandbox(
    *,
    client_id: str,
    client_secret: str,
    knobs: FaultKnobs | None = None,
    catalog: Sequence[tuple[str, str, str | Decimal | float]] | None = None,
    seed: int | None = None,
    options: SandboxOptions | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Starlette:
    """A fresh sandbox seller account as an ASGI app; its state is ``app.state.walmart``.

    Args:
        client_id: the only clientId ``/v3/token`` accepts.
        client_secret: its clientSecret.
        knobs: fault knobs (changeable later with ``walmart.set_knobs``).
        catalog: (sku, title, price) triples orders are drawn from.
        seed: makes generated orders, ids and fault dice repeatable.
        options: token life, buckets, feed processing, webhook retry schedule, garbage rate.
        webhook_transport: an httpx transport for deliveries (tests deliver in-process with it).
        clock: monotonic clock for token expiry, buckets and feed processing.
    """
    store = SandboxWalmart(
        client_id=client_id,
        client_secret=client_secret,
        knobs=knobs,
        catalog=catalog,
        seed=seed,
        options=options,
        clock=clock,
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        timeout = httpx.Timeout(store.options.webhook_timeout_seconds)
        async with httpx.AsyncClient(
            timeout=timeout, transport=webhook_transport, auth=OAuthSenderAuth(store)
        ) as client:
            await store.sender.start(client)
            try:
                yield
            finally:
                await store.sender.stop()

    routes = [
        Route("/v3/token", _token, methods=["POST"]),
        Route("/v3/orders", _api(_orders), methods=["GET"]),
        Route("/v3/orders/released", _api(_orders), methods=["GET"]),
        Route("/v3/orders/{po}", _api(_order), methods=["GET"]),
        Route("/v3/orders/{po}/acknowledge", _api(_acknowledge), methods=["POST"]),
        Route("/v3/orders/{po}/{action:str}", _api(_update), methods=["POST"]),
        Route("/v3/inventory", _api(_inventory), methods=["GET", "PUT"]),
        Route("/v3/feeds", _api(_feeds), methods=["POST"]),
        Route("/v3/feeds/{feed_id}", _api(_feed), methods=["GET"]),
        Route("/v3/webhooks/subscriptions", _api(_subscriptions), methods=["GET", "POST"]),
        Route("/v3/webhooks/subscriptions/{sub_id}", _api(_subscription), methods=["PATCH", "DELETE"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.walmart = store
    return app
