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
* Feeds: ``POST /feeds/2021-06-30/documents``, ``PUT /_s3/{documentId}`` (the pre-signed
  upload), ``POST /feeds/2021-06-30/feeds``, ``GET …/feeds/{id}``, ``GET …/documents/{id}``,
  ``GET /_s3/{documentId}`` (download).
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

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tradewire.connectors.amazon.operations import OPERATIONS
from tradewire.connectors.amazon.sandbox_store import PII_ELEMENTS, SandboxAmazon, SandboxOptions, Token
from tradewire.connectors.base.sandbox import FaultKnobs

__all__ = ["SandboxAmazon", "SandboxOptions", "create_sandbox"]

Handler = Callable[[Request, SandboxAmazon, Token], Awaitable[Response]]
ORDERS = "/orders/v0/orders"
_GARBAGE = "<html><head><title>503 Service Temporarily Unavailable</title></head><body>awselb/2.0</body></html>"


def _amazon(request: Request) -> SandboxAmazon:
    store = request.app.state.amazon
    assert isinstance(store, SandboxAmazon)
    return store


def _errors(status: int, code: str, message: str, details: str = "", headers: dict[str, str] | None = None) -> Response:
    body = {"errors": [{"code": code, "message": message, "details": details}]}
    return JSONResponse(body, status_code=status, headers={"x-amzn-RequestId": str(uuid.uuid4()), **(headers or {})})


def _ok(body: Any, operation: str, status: int = 200) -> Response:
    """A success of ``operation`` (the wrapper adds the bucket's ``x-amzn-RateLimit-Limit``)."""
    assert operation in OPERATIONS
    headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    if status == 204:
        return Response(status_code=204, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


async def _json(request: Request) -> Any:
    raw = await request.body()
    return json.loads(raw) if raw.strip() else None


def _matches(template: str, path: str) -> bool:
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
            store = _amazon(request)
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
                return _errors(504, "GatewayTimeout", "Gateway Timeout")
            if fail:
                status = 503 if dice.roll(0.5) else 500
                return _errors(
                    status,
                    "InternalFailure" if status == 500 else "ServiceUnavailable",
                    "We encountered an internal error. Please try again.",
                )
            value = request.headers.get("x-amz-access-token", "")
            token = store.token(value) if value else None
            if token is None:
                return _errors(
                    403,
                    "Unauthorized",
                    "Access to requested resource is denied.",
                    "The access token you provided is revoked, malformed or invalid.",
                )
            if token.expires_at <= store.clock():
                return _errors(
                    403,
                    "Unauthorized",
                    "Access to requested resource is denied.",
                    "The access token you provided has expired.",
                )
            if token.kind == "rdt" and not restricted:
                return _errors(
                    403,
                    "Unauthorized",
                    "Access to requested resource is denied.",
                    "A Restricted Data Token is only valid for restricted operations.",
                )
            if (token.kind == "grantless") != grantless:
                return _errors(
                    403,
                    "Unauthorized",
                    "Access to requested resource is denied.",
                    "Wrong kind of access token for this operation.",
                )
            if limited:
                return _errors(
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
                return _errors(
                    429, "QuotaExceeded", "You exceeded your quota for the requested resource.", headers=headers
                )
            if garbage:
                return Response(_GARBAGE, status_code=200, media_type="text/html")
            try:
                response = await handler(request, store, token)
            except (ValueError, TypeError) as exc:
                response = _errors(400, "InvalidInput", "Invalid Input", str(exc)[:200])
            response.headers["x-amzn-RateLimit-Limit"] = f"{store.buckets[name].rate:g}"
            return response

        return endpoint

    return wrap


def _granted(token: Token, request: Request, relevant: set[str]) -> set[str] | None:
    """PII elements this call may return: none with an LWA token, the RDT's (within ``relevant``)
    when it covers this method and path, None (refuse) when an RDT does not cover it."""
    if token.kind != "rdt":
        return set()
    path = request.url.path
    for resource in token.resources:
        template = str(resource.get("path", ""))
        if resource.get("method") == request.method and (template == path or _matches(template, path)):
            return set(resource.get("dataElements") or []) & relevant
    return None


def _strip_order(order: dict[str, Any], granted: set[str]) -> dict[str, Any]:
    if "shippingAddress" not in granted and isinstance(order.get("ShippingAddress"), dict):
        address = order["ShippingAddress"]
        order["ShippingAddress"] = {
            k: address[k] for k in ("City", "StateOrRegion", "PostalCode", "CountryCode") if k in address
        }
    if "buyerInfo" not in granted:
        order.pop("BuyerInfo", None)
    return order


def _strip_item(item: dict[str, Any], granted: set[str]) -> dict[str, Any]:
    if "buyerInfo" not in granted:
        item.pop("BuyerInfo", None)
    return item


def _uncovered() -> Response:
    return _errors(
        403,
        "Unauthorized",
        "Access to requested resource is denied.",
        "The Restricted Data Token does not cover this resource.",
    )


def _when(text: str | None, name: str) -> datetime:
    if not text:
        raise ValueError(f"{name} is required")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name} {text!r} is not an ISO-8601 date") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


@operation("getOrders", restricted=True)
async def _get_orders(request: Request, store: SandboxAmazon, token: Token) -> Response:
    params = request.query_params
    marketplaces = {m for m in params.get("MarketplaceIds", "").split(",") if m}
    if not marketplaces:
        return _errors(400, "InvalidInput", "Invalid Input", "MarketplaceIds is required.")
    granted = _granted(token, request, {"buyerInfo", "shippingAddress"})
    if granted is None:
        return _uncovered()
    kind = "orders:" + ",".join(sorted(marketplaces))
    next_token = params.get("NextToken")
    before_text: str | None = None
    if next_token:
        found = store.take_page(kind, next_token)
        if found is None:
            return _errors(400, "InvalidInput", "Invalid Input", "Invalid NextToken.")
        page_size, ids = found
    else:
        if not params.get("LastUpdatedAfter") and params.get("CreatedAfter"):
            return _errors(400, "InvalidInput", "Invalid Input", "The sandbox serves LastUpdatedAfter queries only.")
        after = _when(params.get("LastUpdatedAfter"), "LastUpdatedAfter")
        latest = datetime.fromtimestamp(store.clock() - 120.0, UTC)
        before = _when(params["LastUpdatedBefore"], "LastUpdatedBefore") if params.get("LastUpdatedBefore") else latest
        if before > latest:
            return _errors(
                400,
                "InvalidInput",
                "Invalid Input",
                "LastUpdatedBefore must be no later than two minutes before the request.",
            )
        size = params.get("MaxResultsPerPage", "100")
        if not size.isdigit() or not 1 <= int(size) <= 100:
            return _errors(400, "InvalidInput", "Invalid Input", "MaxResultsPerPage must be between 1 and 100.")
        page_size = int(size)
        ids = store.query_orders(after, before, marketplaces)
        before_text = before.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    page, rest = ids[:page_size], ids[page_size:]
    orders = [_strip_order(o, granted) for o in (store.get_order(i) for i in page) if o]
    payload: dict[str, Any] = {"Orders": orders}
    if rest:
        payload["NextToken"] = store.remember_page(kind, page_size, rest)
    if before_text:
        payload["LastUpdatedBefore"] = before_text
    return _ok({"payload": payload}, "getOrders")


@operation("getOrder", restricted=True)
async def _get_order(request: Request, store: SandboxAmazon, token: Token) -> Response:
    granted = _granted(token, request, {"buyerInfo", "shippingAddress"})
    if granted is None:
        return _uncovered()
    order = store.get_order(request.path_params["order_id"])
    if order is None:
        return _errors(404, "NotFound", "Order not found.")
    return _ok({"payload": _strip_order(order, granted)}, "getOrder")


@operation("getOrderItems", restricted=True)
async def _get_order_items(request: Request, store: SandboxAmazon, token: Token) -> Response:
    granted = _granted(token, request, {"buyerInfo"})
    if granted is None:
        return _uncovered()
    order_id = request.path_params["order_id"]
    items = store.get_items(order_id)
    if items is None:
        return _errors(404, "NotFound", "Order not found.")
    size, start = store.options.order_items_page_size, 0
    next_token = request.query_params.get("NextToken")
    if next_token:
        found = store.take_page("items:" + order_id, next_token)
        if not found:
            return _errors(400, "InvalidInput", "Invalid Input", "Invalid NextToken.")
        size, start = found[0], int(found[1][0])
    payload: dict[str, Any] = {
        "AmazonOrderId": order_id,
        "OrderItems": [_strip_item(i, granted) for i in items[start : start + size]],
    }
    if start + size < len(items):
        payload["NextToken"] = store.remember_page("items:" + order_id, size, [str(start + size)])
    return _ok({"payload": payload}, "getOrderItems")


@operation("confirmShipment")
async def _confirm_shipment(request: Request, store: SandboxAmazon, token: Token) -> Response:
    body = await _json(request)
    if not isinstance(body, dict):
        return _errors(400, "InvalidInput", "Invalid Input", "The body must be a JSON object.")
    status, answer = store.confirm_shipment(request.path_params["order_id"], body)
    if status == 204:
        return _ok(None, "confirmShipment", 204)
    assert answer is not None
    return JSONResponse(answer, status_code=status, headers={"x-amzn-RequestId": str(uuid.uuid4())})


@operation("createRestrictedDataToken")
async def _create_rdt(request: Request, store: SandboxAmazon, token: Token) -> Response:
    body = await _json(request)
    resources = body.get("restrictedResources") if isinstance(body, dict) else None
    if not isinstance(resources, list) or not resources:
        return _errors(400, "InvalidInput", "Invalid Input", "restrictedResources is required.")
    for resource in resources:
        if not isinstance(resource, dict) or resource.get("method") not in ("GET", "PUT", "POST", "DELETE"):
            return _errors(400, "InvalidInput", "Invalid Input", "Each restricted resource needs a method.")
        path, elements = str(resource.get("path", "")), resource.get("dataElements") or []
        if not path.startswith("/"):
            return _errors(400, "InvalidInput", "Invalid Input", f"Invalid path {path!r}.")
        if not isinstance(elements, list) or not set(elements) <= PII_ELEMENTS:
            return _errors(400, "InvalidInput", "Invalid Input", f"Invalid dataElements {elements!r}.")
        if elements and not path.startswith(ORDERS):
            return _errors(
                400,
                "InvalidInput",
                "Invalid Input",
                "dataElements apply only to getOrder, getOrders and getOrderItems.",
            )
    value = store.issue_rdt(resources)
    return _ok(
        {"restrictedDataToken": value, "expiresIn": int(store.options.token_lifetime_seconds)},
        "createRestrictedDataToken",
    )


@operation("patchListingsItem")
async def _patch_listing(request: Request, store: SandboxAmazon, token: Token) -> Response:
    if request.path_params["seller_id"] != store.seller_id:
        return _errors(
            403,
            "Unauthorized",
            "Access to requested resource is denied.",
            "The seller is not the one who authorised this application.",
        )
    if not request.query_params.get("marketplaceIds"):
        return _errors(400, "InvalidInput", "Invalid Input", "marketplaceIds is required.")
    return _ok(store.patch_listing(request.path_params["sku"], await _json(request)), "patchListingsItem")


@operation("getListingsItem")
async def _get_listing(request: Request, store: SandboxAmazon, token: Token) -> Response:
    sku = request.path_params["sku"]
    quantity = store.listing_quantity(sku)
    if quantity is None or request.path_params["seller_id"] != store.seller_id:
        return _errors(404, "NOT_FOUND", f"SKU '{sku}' not found in marketplace {store.marketplace_id}")
    body = {
        "sku": sku,
        "summaries": [{"marketplaceId": store.marketplace_id, "productType": "PRODUCT", "status": ["BUYABLE"]}],
        "issues": [],
        "fulfillmentAvailability": [{"fulfillmentChannelCode": "DEFAULT", "quantity": quantity}],
    }
    return _ok(body, "getListingsItem")


@operation("createFeedDocument")
async def _create_document(request: Request, store: SandboxAmazon, token: Token) -> Response:
    body = await _json(request)
    if not isinstance(body, dict) or not str(body.get("contentType", "")):
        return _errors(400, "InvalidInput", "Invalid Input", "contentType is required.")
    document_id = store.feeds.create_document()
    return _ok(
        {"feedDocumentId": document_id, "url": f"{str(request.base_url).rstrip('/')}/_s3/{document_id}"},
        "createFeedDocument",
        201,
    )


@operation("createFeed")
async def _create_feed(request: Request, store: SandboxAmazon, token: Token) -> Response:
    body = await _json(request)
    if not isinstance(body, dict) or not body.get("feedType") or not body.get("marketplaceIds"):
        return _errors(
            400, "InvalidInput", "Invalid Input", "feedType, marketplaceIds and inputFeedDocumentId are required."
        )
    feed_id = store.feeds.create_feed(
        str(body["feedType"]), list(body["marketplaceIds"]), str(body.get("inputFeedDocumentId", ""))
    )
    if feed_id is None:
        return _errors(400, "InvalidInput", "Invalid Input", "inputFeedDocumentId names no uploaded document.")
    return _ok({"feedId": feed_id}, "createFeed", 202)


@operation("getFeed")
async def _get_feed(request: Request, store: SandboxAmazon, token: Token) -> Response:
    feed = store.feeds.get_feed(request.path_params["feed_id"])
    if feed is None:
        return _errors(404, "NotFound", "Feed not found.")
    return _ok(feed, "getFeed")


@operation("getFeedDocument")
async def _get_document(request: Request, store: SandboxAmazon, token: Token) -> Response:
    info = store.feeds.document_info(request.path_params["document_id"])
    if info is None:
        return _errors(404, "NotFound", "Document not found.")
    info["url"] = f"{str(request.base_url).rstrip('/')}/_s3/{info['feedDocumentId']}"
    return _ok(info, "getFeedDocument")


async def _s3(request: Request) -> Response:
    """The pre-signed document URL: PUT uploads a feed, GET downloads a document (S3 answers XML)."""
    store = _amazon(request)
    document_id = request.path_params["document_id"]
    if request.method == "PUT":
        if store.feeds.upload(document_id, await request.body()):
            return Response(status_code=200)
    else:
        content = store.feeds.download(document_id)
        if content is not None:
            return Response(content, media_type="application/octet-stream")
    return Response("<Error><Code>NoSuchKey</Code></Error>", status_code=404, media_type="application/xml")


@operation("createDestination", grantless=True)
async def _create_destination(request: Request, store: SandboxAmazon, token: Token) -> Response:
    body = await _json(request)
    spec = body.get("resourceSpecification") if isinstance(body, dict) else None
    if not isinstance(spec, dict) or not ({"sqs", "eventBridge"} & set(spec)):
        return _errors(400, "InvalidInput", "Invalid Input", "resourceSpecification needs sqs or eventBridge.")
    destination_id = str(uuid.uuid4())
    destination = {"destinationId": destination_id, "name": str(body.get("name", "")), "resource": spec}
    with store.lock:
        store.destinations[destination_id] = destination
    return _ok({"payload": destination}, "createDestination")


@operation("createSubscription")
async def _create_subscription(request: Request, store: SandboxAmazon, token: Token) -> Response:
    body = await _json(request)
    kind = request.path_params["notification_type"]
    if not isinstance(body, dict) or body.get("destinationId") not in store.destinations:
        return _errors(400, "InvalidInput", "Invalid Input", "destinationId names no destination.")
    with store.lock:
        if kind in store.subscriptions:
            return _errors(409, "Conflict", "Subscription already exists.")
        subscription = {
            "subscriptionId": str(uuid.uuid4()),
            "payloadVersion": str(body.get("payloadVersion", "1.0")),
            "destinationId": body["destinationId"],
        }
        store.subscriptions[kind] = subscription
    return _ok({"payload": subscription}, "createSubscription")


async def _lwa(request: Request) -> Response:
    store = _amazon(request)
    form = dict(parse_qsl((await request.body()).decode("utf-8", errors="replace")))
    status, body = store.issue_token(form)
    return JSONResponse(body, status_code=status)


# --- /_sandbox admin -----------------------------------------------------------------------------


def _admin(
    handler: Callable[[Request, SandboxAmazon, dict[str, Any]], Any],
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            body = await _json(request) if request.method == "POST" else {}
            result = handler(request, _amazon(request), body or {})
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
        Route("/auth/o2/token", _lwa, methods=["POST"]),
        Route("/tokens/2021-03-01/restrictedDataToken", _create_rdt, methods=["POST"]),
        Route(ORDERS, _get_orders, methods=["GET"]),
        Route(items, _get_order, methods=["GET"]),
        Route(items + "/orderItems", _get_order_items, methods=["GET"]),
        Route(items + "/shipmentConfirmation", _confirm_shipment, methods=["POST"]),
        Route(listing, _patch_listing, methods=["PATCH"]),
        Route(listing, _get_listing, methods=["GET"]),
        Route("/feeds/2021-06-30/documents", _create_document, methods=["POST"]),
        Route("/feeds/2021-06-30/documents/{document_id}", _get_document, methods=["GET"]),
        Route("/feeds/2021-06-30/feeds", _create_feed, methods=["POST"]),
        Route("/feeds/2021-06-30/feeds/{feed_id}", _get_feed, methods=["GET"]),
        Route("/_s3/{document_id}", _s3, methods=["GET", "PUT"]),
        Route("/notifications/v1/destinations", _create_destination, methods=["POST"]),
        Route("/notifications/v1/subscriptions/{notification_type}", _create_subscription, methods=["POST"]),
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
