"""The sandbox's SP-API operations (Orders v0, Tokens, Listings, Feeds, Notifications) and LWA."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tradewire.connectors.amazon.sandbox_data import PII_ELEMENTS
from tradewire.connectors.amazon.sandbox_edge import (
    ORDERS,
    error_response,
    granted_pii,
    ok_response,
    operation,
    parse_when,
    read_json,
    state_of,
    strip_item,
    strip_order,
    uncovered,
)
from tradewire.connectors.amazon.sandbox_store import SandboxAmazon, Token


@operation("getOrders", restricted=True)
async def get_orders(request: Request, store: SandboxAmazon, token: Token) -> Response:
    params = request.query_params
    marketplaces = {m for m in params.get("MarketplaceIds", "").split(",") if m}
    if not marketplaces:
        return error_response(400, "InvalidInput", "Invalid Input", "MarketplaceIds is required.")
    granted = granted_pii(token, request, {"buyerInfo", "shippingAddress"})
    if granted is None:
        return uncovered()
    kind = "orders:" + ",".join(sorted(marketplaces))
    next_token = params.get("NextToken")
    before_text: str | None = None
    if next_token:
        found = store.take_page(kind, next_token)
        if found is None:
            return error_response(400, "InvalidInput", "Invalid Input", "Invalid NextToken.")
        page_size, ids = found
    else:
        if not params.get("LastUpdatedAfter") and params.get("CreatedAfter"):
            return error_response(
                400, "InvalidInput", "Invalid Input", "The sandbox serves LastUpdatedAfter queries only."
            )
        after = parse_when(params.get("LastUpdatedAfter"), "LastUpdatedAfter")
        latest = datetime.fromtimestamp(store.clock() - 120.0, UTC)
        before = (
            parse_when(params["LastUpdatedBefore"], "LastUpdatedBefore") if params.get("LastUpdatedBefore") else latest
        )
        if before > latest:
            return error_response(
                400,
                "InvalidInput",
                "Invalid Input",
                "LastUpdatedBefore must be no later than two minutes before the request.",
            )
        size = params.get("MaxResultsPerPage", "100")
        if not size.isdigit() or not 1 <= int(size) <= 100:
            return error_response(400, "InvalidInput", "Invalid Input", "MaxResultsPerPage must be between 1 and 100.")
        page_size = int(size)
        ids = store.query_orders(after, before, marketplaces)
        before_text = before.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    page, rest = ids[:page_size], ids[page_size:]
    orders = [strip_order(o, granted) for o in (store.get_order(i) for i in page) if o]
    payload: dict[str, Any] = {"Orders": orders}
    if rest:
        payload["NextToken"] = store.remember_page(kind, page_size, rest)
    if before_text:
        payload["LastUpdatedBefore"] = before_text
    return ok_response({"payload": payload}, "getOrders")


@operation("getOrder", restricted=True)
async def get_order(request: Request, store: SandboxAmazon, token: Token) -> Response:
    granted = granted_pii(token, request, {"buyerInfo", "shippingAddress"})
    if granted is None:
        return uncovered()
    order = store.get_order(request.path_params["order_id"])
    if order is None:
        return error_response(404, "NotFound", "Order not found.")
    return ok_response({"payload": strip_order(order, granted)}, "getOrder")


@operation("getOrderItems", restricted=True)
async def get_order_items(request: Request, store: SandboxAmazon, token: Token) -> Response:
    granted = granted_pii(token, request, {"buyerInfo"})
    if granted is None:
        return uncovered()
    order_id = request.path_params["order_id"]
    items = store.get_items(order_id)
    if items is None:
        return error_response(404, "NotFound", "Order not found.")
    size, start = store.options.order_items_page_size, 0
    next_token = request.query_params.get("NextToken")
    if next_token:
        found = store.take_page("items:" + order_id, next_token)
        if not found:
            return error_response(400, "InvalidInput", "Invalid Input", "Invalid NextToken.")
        size, start = found[0], int(found[1][0])
    payload: dict[str, Any] = {
        "AmazonOrderId": order_id,
        "OrderItems": [strip_item(i, granted) for i in items[start : start + size]],
    }
    if start + size < len(items):
        payload["NextToken"] = store.remember_page("items:" + order_id, size, [str(start + size)])
    return ok_response({"payload": payload}, "getOrderItems")


@operation("confirmShipment")
async def confirm_shipment(request: Request, store: SandboxAmazon, token: Token) -> Response:
    body = await read_json(request)
    if not isinstance(body, dict):
        return error_response(400, "InvalidInput", "Invalid Input", "The body must be a JSON object.")
    status, answer = store.confirm_shipment(request.path_params["order_id"], body)
    if status == 204:
        return ok_response(None, "confirmShipment", 204)
    assert answer is not None
    return JSONResponse(answer, status_code=status, headers={"x-amzn-RequestId": str(uuid.uuid4())})


@operation("createRestrictedDataToken")
async def create_rdt(request: Request, store: SandboxAmazon, token: Token) -> Response:
    body = await read_json(request)
    resources = body.get("restrictedResources") if isinstance(body, dict) else None
    if not isinstance(resources, list) or not resources:
        return error_response(400, "InvalidInput", "Invalid Input", "restrictedResources is required.")
    for resource in resources:
        if not isinstance(resource, dict) or resource.get("method") not in ("GET", "PUT", "POST", "DELETE"):
            return error_response(400, "InvalidInput", "Invalid Input", "Each restricted resource needs a method.")
        path, elements = str(resource.get("path", "")), resource.get("dataElements") or []
        if not path.startswith("/"):
            return error_response(400, "InvalidInput", "Invalid Input", f"Invalid path {path!r}.")
        if not isinstance(elements, list) or not set(elements) <= PII_ELEMENTS:
            return error_response(400, "InvalidInput", "Invalid Input", f"Invalid dataElements {elements!r}.")
        if elements and not path.startswith(ORDERS):
            return error_response(
                400,
                "InvalidInput",
                "Invalid Input",
                "dataElements apply only to getOrder, getOrders and getOrderItems.",
            )
    value = store.issue_rdt(resources)
    return ok_response(
        {"restrictedDataToken": value, "expiresIn": int(store.options.token_lifetime_seconds)},
        "createRestrictedDataToken",
    )


@operation("patchListingsItem")
async def patch_listing(request: Request, store: SandboxAmazon, token: Token) -> Response:
    if request.path_params["seller_id"] != store.seller_id:
        return error_response(
            403,
            "Unauthorized",
            "Access to requested resource is denied.",
            "The seller is not the one who authorised this application.",
        )
    if not request.query_params.get("marketplaceIds"):
        return error_response(400, "InvalidInput", "Invalid Input", "marketplaceIds is required.")
    return ok_response(store.patch_listing(request.path_params["sku"], await read_json(request)), "patchListingsItem")


@operation("getListingsItem")
async def get_listing(request: Request, store: SandboxAmazon, token: Token) -> Response:
    sku = request.path_params["sku"]
    quantity = store.listing_quantity(sku)
    if quantity is None or request.path_params["seller_id"] != store.seller_id:
        return error_response(404, "NOT_FOUND", f"SKU '{sku}' not found in marketplace {store.marketplace_id}")
    body = {
        "sku": sku,
        "summaries": [{"marketplaceId": store.marketplace_id, "productType": "PRODUCT", "status": ["BUYABLE"]}],
        "issues": [],
        "fulfillmentAvailability": [{"fulfillmentChannelCode": "DEFAULT", "quantity": quantity}],
    }
    return ok_response(body, "getListingsItem")


@operation("createFeedDocument")
async def create_document(request: Request, store: SandboxAmazon, token: Token) -> Response:
    body = await read_json(request)
    if not isinstance(body, dict) or not str(body.get("contentType", "")):
        return error_response(400, "InvalidInput", "Invalid Input", "contentType is required.")
    document_id = store.feeds.create_document()
    return ok_response(
        {"feedDocumentId": document_id, "url": f"{str(request.base_url).rstrip('/')}/s3_document/{document_id}"},
        "createFeedDocument",
        201,
    )


@operation("createFeed")
async def create_feed(request: Request, store: SandboxAmazon, token: Token) -> Response:
    body = await read_json(request)
    if not isinstance(body, dict) or not body.get("feedType") or not body.get("marketplaceIds"):
        return error_response(
            400, "InvalidInput", "Invalid Input", "feedType, marketplaceIds and inputFeedDocumentId are required."
        )
    feed_id = store.feeds.create_feed(
        str(body["feedType"]), list(body["marketplaceIds"]), str(body.get("inputFeedDocumentId", ""))
    )
    if feed_id is None:
        return error_response(400, "InvalidInput", "Invalid Input", "inputFeedDocumentId names no uploaded document.")
    return ok_response({"feedId": feed_id}, "createFeed", 202)


@operation("getFeed")
async def get_feed(request: Request, store: SandboxAmazon, token: Token) -> Response:
    feed = store.feeds.get_feed(request.path_params["feed_id"])
    if feed is None:
        return error_response(404, "NotFound", "Feed not found.")
    return ok_response(feed, "getFeed")


@operation("getFeedDocument")
async def get_document(request: Request, store: SandboxAmazon, token: Token) -> Response:
    info = store.feeds.document_info(request.path_params["document_id"])
    if info is None:
        return error_response(404, "NotFound", "Document not found.")
    info["url"] = f"{str(request.base_url).rstrip('/')}/s3_document/{info['feedDocumentId']}"
    return ok_response(info, "getFeedDocument")


async def s3_document(request: Request) -> Response:
    """The pre-signed document URL: PUT uploads a feed, GET downloads a document (S3 answers XML)."""
    store = state_of(request)
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
async def create_destination(request: Request, store: SandboxAmazon, token: Token) -> Response:
    body = await read_json(request)
    spec = body.get("resourceSpecification") if isinstance(body, dict) else None
    if not isinstance(spec, dict) or not ({"sqs", "eventBridge"} & set(spec)):
        return error_response(400, "InvalidInput", "Invalid Input", "resourceSpecification needs sqs or eventBridge.")
    destination_id = str(uuid.uuid4())
    destination = {"destinationId": destination_id, "name": str(body.get("name", "")), "resource": spec}
    with store.lock:
        store.destinations[destination_id] = destination
    return ok_response({"payload": destination}, "createDestination")


@operation("createSubscription")
async def create_subscription(request: Request, store: SandboxAmazon, token: Token) -> Response:
    body = await read_json(request)
    kind = request.path_params["notification_type"]
    if not isinstance(body, dict) or body.get("destinationId") not in store.destinations:
        return error_response(400, "InvalidInput", "Invalid Input", "destinationId names no destination.")
    with store.lock:
        if kind in store.subscriptions:
            return error_response(409, "Conflict", "Subscription already exists.")
        subscription = {
            "subscriptionId": str(uuid.uuid4()),
            "payloadVersion": str(body.get("payloadVersion", "1.0")),
            "destinationId": body["destinationId"],
        }
        store.subscriptions[kind] = subscription
    return ok_response({"payload": subscription}, "createSubscription")


async def lwa_token(request: Request) -> Response:
    store = state_of(request)
    form = dict(parse_qsl((await request.body()).decode("utf-8", errors="replace")))
    status, body = store.issue_token(form)
    return JSONResponse(body, status_code=status)
