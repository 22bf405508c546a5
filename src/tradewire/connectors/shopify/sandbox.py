"""The Shopify sandbox: a stateful, fault-injectable ASGI fake of one store.

``create_sandbox(...)`` returns a Starlette app with its state on ``app.state.shop``
(a :class:`SandboxShop`). It serves:

* ``POST /admin/api/{version}/graphql.json`` — the GraphQL Admin API (see ``sandbox_graphql``),
  with ``X-Shopify-Access-Token`` checked (401), the cost bucket (HTTP 200 ``THROTTLED``), and
  the fault knobs: ``latency_ms``; ``timeout_rate`` (hang, then 504); ``fail_rate`` (500/503);
  ``rate_limit_after`` / ``rate_limit_rate`` (HTTP 429 with ``Retry-After:
  retry_after_seconds``, as Shopify's edge answers a flood).
* ``/_sandbox/…`` admin endpoints (JSON, no auth): ``POST /_sandbox/orders`` ``{"count": n}``
  or ``{"order": {...}}``; ``GET /_sandbox/orders[/{id}]``; ``POST /_sandbox/orders/{id}/cancel``
  ``{"reason"}``; ``POST /_sandbox/orders/{id}/update`` ``{"note", "tags"}``;
  ``GET|POST /_sandbox/webhooks`` ``{"topic", "address"}``; ``GET|POST /_sandbox/knobs``
  (partial update); ``GET /_sandbox/deliveries[?order_id=]``; ``GET|POST /_sandbox/bucket``
  ``{"currentlyAvailable"}``; ``GET|POST /_sandbox/inventory`` ``{"sku", "available",
  "location"?}`` (a merchant or a sale changing stock); ``GET /_sandbox/orders/{id}/writes``
  (fulfillment orders, fulfillments, transactions and refunds of one order).

The write mutations (``fulfillmentCreate``, ``inventorySetQuantities``, ``refundCreate``, with
``@idempotent``) are in ``sandbox_writes``; their state in ``sandbox_stock``,
``sandbox_fulfilment`` and ``sandbox_refunds``.

Webhooks go out from a sender task started by the app's lifespan (one shared
``httpx.AsyncClient``). In-process tests without a server enter the lifespan themselves:
``async with app.router.lifespan_context(app): ...``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.shopify.sandbox_graphql import build_sandbox_schema, run_graphql
from tradewire.connectors.shopify.sandbox_shop import SandboxOptions, SandboxShop

_BAD_CREDENTIALS = "[API] Invalid API key or access token (unrecognized login or wrong password)"

Handler = Callable[[Request], Awaitable[Response]]


def _shop(request: Request) -> SandboxShop:
    shop = request.app.state.shop
    assert isinstance(shop, SandboxShop)
    return shop


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    payload = json.loads(raw)
    if not isinstance(payload, dict):
        raise ValueError("body must be a JSON object")
    return payload


def _admin(handler: Callable[[Request, SandboxShop, dict[str, Any]], Awaitable[Any]]) -> Handler:
    """Wrap an admin handler: parse JSON, map errors to 400/404/409 problem bodies."""

    async def endpoint(request: Request) -> Response:
        try:
            body = await _json_body(request) if request.method == "POST" else {}
            result = await handler(request, _shop(request), body)
        except KeyError as exc:
            return JSONResponse({"error": f"not found: {exc.args[0] if exc.args else ''}"}, status_code=404)
        except ValidationError as exc:
            return JSONResponse({"error": exc.errors(include_url=False, include_context=False)}, status_code=400)
        except ValueError as exc:
            status = 409 if "already" in str(exc) else 400
            return JSONResponse({"error": str(exc)}, status_code=status)
        status = 201 if request.method == "POST" and request.url.path.endswith(("/orders", "/webhooks")) else 200
        return JSONResponse(result, status_code=status)

    return endpoint


def _order_id(request: Request) -> int:
    text = str(request.path_params["order_id"])
    if not text.isdigit():
        raise ValueError(f"order id must be digits, got {text!r}")
    return int(text)


async def _orders(request: Request, shop: SandboxShop, body: dict[str, Any]) -> Any:
    if request.method == "GET":
        return {"orders": shop.list_orders()}
    if "order" in body:
        if not isinstance(body["order"], dict):
            raise ValueError("'order' must be a REST order object")
        return {"orders": [shop.add_order(body["order"])]}
    count = body.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 10_000:
        raise ValueError("'count' must be an integer 0..10000")
    return {"orders": shop.create_orders(count)}


async def _order(request: Request, shop: SandboxShop, body: dict[str, Any]) -> Any:
    order = shop.get_order(_order_id(request))
    if order is None:
        raise KeyError(_order_id(request))
    return {"order": order}


async def _cancel(request: Request, shop: SandboxShop, body: dict[str, Any]) -> Any:
    return {"order": shop.cancel_order(_order_id(request), reason=str(body.get("reason", "customer")))}


async def _update(request: Request, shop: SandboxShop, body: dict[str, Any]) -> Any:
    tags = body.get("tags")
    if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
        raise ValueError("'tags' must be a list of strings")
    note = body.get("note")
    return {"order": shop.update_order(_order_id(request), note=None if note is None else str(note), tags=tags)}


async def _webhooks(request: Request, shop: SandboxShop, body: dict[str, Any]) -> Any:
    if request.method == "GET":
        return {"webhooks": list(shop.subscriptions)}
    return {"webhook": shop.subscribe(str(body.get("topic", "")), str(body.get("address", "")))}


async def _knobs(request: Request, shop: SandboxShop, body: dict[str, Any]) -> Any:
    if request.method == "POST":
        shop.set_knobs(**body)
    return {"knobs": shop.knobs.model_dump()}


async def _deliveries(request: Request, shop: SandboxShop, body: dict[str, Any]) -> Any:
    raw = request.query_params.get("order_id")
    if raw is not None and not raw.isdigit():
        raise ValueError("order_id must be digits")
    return {"deliveries": shop.delivery_log(int(raw) if raw else None)}


async def _bucket(request: Request, shop: SandboxShop, body: dict[str, Any]) -> Any:
    if request.method == "POST":
        level = body.get("currentlyAvailable")
        if isinstance(level, bool) or not isinstance(level, int | float):
            raise ValueError("'currentlyAvailable' must be a number")
        shop.bucket.set_available(float(level))
    return {"throttleStatus": shop.bucket.status()}


async def _inventory(request: Request, shop: SandboxShop, body: dict[str, Any]) -> Any:
    if request.method == "POST":
        available = body.get("available")
        if isinstance(available, bool) or not isinstance(available, int):
            raise ValueError("'available' must be an integer")
        location = body.get("location")
        location_id = None
        if location is not None:
            location_id = next(
                (i for i, n in shop.stock.locations.items() if n == location or str(i) == str(location)), None
            )
            if location_id is None:
                raise KeyError(location)
        shop.stock.set_available(str(body.get("sku", "")), available, location_id)
    return {"inventory": shop.stock.snapshot()}


def _public(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The objects without the resolvers' private ``_`` keys."""
    return [{k: v for k, v in item.items() if not k.startswith("_")} for item in items]


async def _order_writes(request: Request, shop: SandboxShop, body: dict[str, Any]) -> Any:
    order_id = _order_id(request)
    if shop.get_order(order_id) is None:
        raise KeyError(order_id)
    return {
        "fulfillment_orders": [
            {**_public([fo])[0], "line_items": fo["_lineItems"]} for fo in shop.fulfilment.fulfillment_orders(order_id)
        ],
        "fulfillments": _public(shop.fulfilment.fulfillments(order_id)),
        "transactions": shop.refund_book.order_transactions(order_id),
        "refunds": _public(shop.refund_book.order_refunds(order_id)),
    }


def _graphql_endpoint(shop: SandboxShop) -> Handler:
    schema = build_sandbox_schema()

    async def endpoint(request: Request) -> Response:
        knobs, dice = shop.knobs, shop.dice
        await dice.delay()
        if dice.roll(knobs.timeout_rate):
            await asyncio.sleep(knobs.timeout_seconds)
            return JSONResponse({"errors": "Gateway Timeout"}, status_code=504)
        if dice.roll(knobs.fail_rate):
            status = 503 if dice.roll(0.5) else 500
            return JSONResponse(
                {"errors": "Internal Server Error" if status == 500 else "Unavailable"}, status_code=status
            )
        if request.headers.get("x-shopify-access-token") != shop.access_token:
            return JSONResponse({"errors": _BAD_CREDENTIALS}, status_code=401)
        limited = knobs.rate_limit_after is not None and shop.served >= knobs.rate_limit_after
        if limited or dice.roll(knobs.rate_limit_rate):
            headers = {"Retry-After": f"{knobs.retry_after_seconds:.1f}"}
            return JSONResponse(
                {"errors": "Exceeded 2 calls per second for api client."}, status_code=429, headers=headers
            )
        shop.served += 1
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"errors": {"query": "Required parameter missing or invalid"}}, status_code=400)
        answer = run_graphql(shop, schema, body)
        headers = {"X-Shopify-API-Version": request.path_params["version"]}
        return JSONResponse(answer, headers=headers)

    return endpoint


def create_sandbox(
    *,
    client_secret: str,
    access_token: str,
    knobs: FaultKnobs | None = None,
    catalog: Sequence[tuple[str, str, str | Decimal | float]] | None = None,
    api_version: str = "2026-10",
    shop_domain: str = "tradewire-sandbox.myshopify.com",
    seed: int | None = None,
    options: SandboxOptions | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """A fresh sandbox store as an ASGI app; its state is ``app.state.shop``.

    Args:
        client_secret: signs webhook deliveries.
        access_token: the only token the Admin API accepts.
        knobs: fault knobs (changeable later with ``shop.set_knobs`` or ``POST /_sandbox/knobs``).
        catalog: (sku, title, price) triples orders are drawn from.
        api_version: echoed in ``X-Shopify-API-Version`` of webhooks.
        shop_domain: sent as ``X-Shopify-Shop-Domain``.
        seed: makes generated orders and fault dice repeatable.
        options: bucket size, restore rate, retry schedule and other behaviour.
        webhook_transport: an httpx transport for deliveries (tests deliver in-process with it).
    """
    shop = SandboxShop(
        client_secret=client_secret,
        access_token=access_token,
        knobs=knobs,
        catalog=catalog,
        api_version=api_version,
        shop_domain=shop_domain,
        seed=seed,
        options=options,
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        timeout = httpx.Timeout(
            shop.options.webhook_timeout_seconds, connect=shop.options.webhook_connect_timeout_seconds
        )
        async with httpx.AsyncClient(timeout=timeout, transport=webhook_transport) as client:
            await shop.sender.start(client)
            try:
                yield
            finally:
                await shop.sender.stop()

    routes = [
        Route("/admin/api/{version}/graphql.json", _graphql_endpoint(shop), methods=["POST"]),
        Route("/_sandbox/orders", _admin(_orders), methods=["GET", "POST"]),
        Route("/_sandbox/orders/{order_id}", _admin(_order), methods=["GET"]),
        Route("/_sandbox/orders/{order_id}/cancel", _admin(_cancel), methods=["POST"]),
        Route("/_sandbox/orders/{order_id}/update", _admin(_update), methods=["POST"]),
        Route("/_sandbox/webhooks", _admin(_webhooks), methods=["GET", "POST"]),
        Route("/_sandbox/knobs", _admin(_knobs), methods=["GET", "POST"]),
        Route("/_sandbox/deliveries", _admin(_deliveries), methods=["GET"]),
        Route("/_sandbox/bucket", _admin(_bucket), methods=["GET", "POST"]),
        Route("/_sandbox/inventory", _admin(_inventory), methods=["GET", "POST"]),
        Route("/_sandbox/orders/{order_id}/writes", _admin(_order_writes), methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.shop = shop
    return app
