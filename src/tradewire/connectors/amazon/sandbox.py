"""The Amazon sandbox: a stateful, fault-injectable ASGI fake of SP-API for one seller.

``create_sandbox(...)`` returns a Starlette app with its state on ``app.state.amazon``
(a :class:`SandboxAmazon`). It serves:

* ``POST /auth/o2/token`` — Login with Amazon (refresh_token and client_credentials grants).
* ``POST /tokens/2021-03-01/restrictedDataToken`` — RDTs; orders calls made with an RDT that
  covers their path and data elements carry buyer PII, others have it left out.
* Orders v0: ``GET /orders/v0/orders`` (LastUpdatedAfter/Before, MarketplaceIds, NextToken),
  ``GET /orders/v0/orders/{id}``, ``GET …/{id}/orderItems`` (NextToken), ``POST
  …/{id}/shipmentConfirmation`` (204; a repeated packageReferenceId is a no-op).
* Listings: ``PATCH|GET /listings/2021-08-01/items/{sellerId}/{sku}``.
* Feeds: ``POST /feeds/2021-06-30/documents``, ``PUT /s3_document/{documentId}`` (the pre-signed
  upload), ``POST /feeds/2021-06-30/feeds``, ``GET …/feeds/{id}``, ``GET …/documents/{id}``,
  ``GET /s3_document/{documentId}`` (download).
* Notifications: ``POST /notifications/v1/destinations`` (grantless), ``POST
  /notifications/v1/subscriptions/{type}``.
* ``/_sandbox/…`` (JSON, no auth): ``POST /_sandbox/orders`` ``{"count"}``, ``GET
  /_sandbox/orders/{id}``, ``POST /_sandbox/orders/{id}/cancel``, ``POST /_sandbox/relays``
  ``{"address", "secret", "header"?}``, ``GET|POST /_sandbox/knobs``, ``GET /_sandbox/deliveries``,
  ``POST /_sandbox/tokens/revoke``.

Each SP-API operation has its own token bucket (documented rate/burst): an empty bucket answers
429 ``QuotaExceeded`` with ``x-amzn-RateLimit-Limit``. Fault knobs: ``latency_ms``,
``timeout_rate`` (hang, then 504), ``fail_rate`` (500/503), ``rate_limit_after`` /
``rate_limit_rate`` (429 with ``Retry-After: retry_after_seconds``), duplicate and
out-of-order notifications; ``options.garbage_rate`` answers 200 with an HTML page.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tradewire.connectors.amazon.sandbox_store import SandboxAmazon, SandboxOptions
from tradewire.connectors.base.sandbox import FaultKnobs

__all__ = ["SandboxAmazon", "SandboxOptions", "create_sandbox"]

from tradewire.connectors.amazon.sandbox_api import (
    confirm_shipment,
    create_destination,
    create_document,
    create_feed,
    create_rdt,
    create_subscription,
    get_document,
    get_feed,
    get_listing,
    get_order,
    get_order_items,
    get_orders,
    lwa_token,
    patch_listing,
    s3_document,
)
from tradewire.connectors.amazon.sandbox_edge import ORDERS, read_json, state_of

# --- /_sandbox admin -----------------------------------------------------------------------------


def _admin(
    handler: Callable[[Request, SandboxAmazon, dict[str, Any]], Any],
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            body = await read_json(request) if request.method == "POST" else {}
            result = handler(request, state_of(request), body or {})
        except KeyError as exc:
            return JSONResponse({"error": f"not found: {exc.args[0] if exc.args else ''}"}, status_code=404)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(result)

    return endpoint


def _admin_orders(request: Request, store: SandboxAmazon, body: dict[str, Any]) -> Any:
    count = body.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 10_000:
        raise ValueError("'count' must be an integer 0..10000")
    return {"orders": store.create_orders(count)}


def _admin_order(request: Request, store: SandboxAmazon, body: dict[str, Any]) -> Any:
    order_id = request.path_params["order_id"]
    order = store.get_order(order_id)
    if order is None:
        raise KeyError(order_id)
    return {"order": order, "items": store.get_items(order_id)}


def _admin_cancel(request: Request, store: SandboxAmazon, body: dict[str, Any]) -> Any:
    return {"order": store.cancel_order(request.path_params["order_id"], str(body.get("reason", "Seller cancelled")))}


def _admin_relays(request: Request, store: SandboxAmazon, body: dict[str, Any]) -> Any:
    header = str(body.get("header") or "x-tradewire-relay-secret")
    return {"relay": store.subscribe(str(body.get("address", "")), str(body.get("secret", "")), header=header)}


def _admin_knobs(request: Request, store: SandboxAmazon, body: dict[str, Any]) -> Any:
    if request.method == "POST":
        store.set_knobs(**body)
    return {"knobs": store.knobs.model_dump()}


def _admin_deliveries(request: Request, store: SandboxAmazon, body: dict[str, Any]) -> Any:
    return {"deliveries": store.delivery_log(request.query_params.get("order_id"))}


def _admin_revoke(request: Request, store: SandboxAmazon, body: dict[str, Any]) -> Any:
    return {"revoked": store.revoke_tokens()}


def create_sandbox(
    *,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    seller_id: str = "A3TH9S8BH6GOGM",
    marketplace_id: str = "ATVPDKIKX0DER",
    knobs: FaultKnobs | None = None,
    catalog: Sequence[tuple[str, str, str | Decimal | float]] | None = None,
    options: SandboxOptions | None = None,
    clock: Callable[[], float] = time.time,
    seed: int | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """A fresh sandbox seller account as an ASGI app; its state is ``app.state.amazon``.

    Args:
        client_id: the LWA client id the token endpoint accepts.
        client_secret: the LWA client secret it accepts.
        refresh_token: the seller's refresh token it accepts.
        seller_id: the merchant token (Listings paths must name it).
        marketplace_id: the marketplace of generated orders.
        knobs: fault knobs (later: ``amazon.set_knobs`` or ``POST /_sandbox/knobs``).
        catalog: (sku, title, price) triples orders are drawn from; each SKU has a listing.
        options: buckets, token lifetime, page sizes, feed timing, garbage rate, relay envelope.
        clock: seconds since the epoch (tests move it to expire tokens or age orders).
        seed: makes generated orders and fault dice repeatable.
        webhook_transport: an httpx transport for notification deliveries (in-process tests).
    """
    store = SandboxAmazon(
        client_id=client_id,
        client_secret=client_secret,
        refresh_token=refresh_token,
        seller_id=seller_id,
        marketplace_id=marketplace_id,
        knobs=knobs,
        catalog=catalog,
        options=options,
        clock=clock,
        seed=seed,
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=2.0), transport=webhook_transport) as client:
            await store.sender.start(client)
            try:
                yield
            finally:
                await store.sender.stop()

    items = ORDERS + "/{order_id}"
    listing = "/listings/2021-08-01/items/{seller_id}/{sku}"
    routes = [
        Route("/auth/o2/token", lwa_token, methods=["POST"]),
        Route("/tokens/2021-03-01/restrictedDataToken", create_rdt, methods=["POST"]),
        Route(ORDERS, get_orders, methods=["GET"]),
        Route(items, get_order, methods=["GET"]),
        Route(items + "/orderItems", get_order_items, methods=["GET"]),
        Route(items + "/shipmentConfirmation", confirm_shipment, methods=["POST"]),
        Route(listing, patch_listing, methods=["PATCH"]),
        Route(listing, get_listing, methods=["GET"]),
        Route("/feeds/2021-06-30/documents", create_document, methods=["POST"]),
        Route("/feeds/2021-06-30/documents/{document_id}", get_document, methods=["GET"]),
        Route("/feeds/2021-06-30/feeds", create_feed, methods=["POST"]),
        Route("/feeds/2021-06-30/feeds/{feed_id}", get_feed, methods=["GET"]),
        Route("/s3_document/{document_id}", s3_document, methods=["GET", "PUT"]),
        Route("/notifications/v1/destinations", create_destination, methods=["POST"]),
        Route("/notifications/v1/subscriptions/{notification_type}", create_subscription, methods=["POST"]),
        Route("/_sandbox/orders", _admin(_admin_orders), methods=["POST"]),
        Route("/_sandbox/orders/{order_id}", _admin(_admin_order), methods=["GET"]),
        Route("/_sandbox/orders/{order_id}/cancel", _admin(_admin_cancel), methods=["POST"]),
        Route("/_sandbox/relays", _admin(_admin_relays), methods=["POST"]),
        Route("/_sandbox/knobs", _admin(_admin_knobs), methods=["GET", "POST"]),
        Route("/_sandbox/deliveries", _admin(_admin_deliveries), methods=["GET"]),
        Route("/_sandbox/tokens/revoke", _admin(_admin_revoke), methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.amazon = store
    return app
