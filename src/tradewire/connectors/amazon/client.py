"""Amazon SP-API client: LWA tokens, Restricted Data Tokens, Orders v0, Listings Items, Feeds.

Every call carries an access token in ``x-amz-access-token`` (no SigV4): an LWA token from the
seller's refresh token, or a Restricted Data Token for calls that read buyer PII. Each call
acquires from the rate budget scope named after its operation and reports
``x-amzn-RateLimit-Limit`` back. HTTP errors are classified by ``connectors.base.http``; an
auth refusal (Amazon answers 403 ``Unauthorized`` for an expired or revoked token, 401 at
some edges) refreshes the token once and retries before it surfaces as ``VendorAuthError``.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import httpx
from pydantic import BaseModel, ValidationError

from tradewire.canonical import InventoryLevel, Shipment
from tradewire.connectors.amazon.mapping import iso_utc
from tradewire.connectors.amazon.mapping_outbound import (
    inventory_feed,
    inventory_to_listings_patch,
    shipment_to_confirm_shipment,
)
from tradewire.connectors.amazon.operations import OPERATIONS
from tradewire.connectors.amazon.schemas import (
    ErrorList,
    Feed,
    FeedDocument,
    FeedResult,
    ListingsSubmission,
    LwaToken,
    OrderItemsPage,
    OrdersPage,
    ProcessingReport,
    RestrictedDataToken,
)
from tradewire.connectors.amazon.settings import AmazonSecrets, AmazonSettings
from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.http import VendorHttp, json_body
from tradewire.connectors.base.pagination import Page, paginate
from tradewire.connectors.base.tokens import AccessToken, TokenCache
from tradewire.errors import (
    MappingError,
    NotFound,
    VendorAuthError,
    VendorRateLimited,
    VendorRejected,
    VendorRetryable,
)

SYSTEM = "amazon"
USER_AGENT = "Tradewire/1.0 (Language=Python/3.11)"
ORDERS_PATH = "/orders/v0/orders"
FEED_CONTENT_TYPE = "application/json; charset=UTF-8"

Sleep = Callable[[float], Awaitable[None]]
M = TypeVar("M", bound=BaseModel)


def describe_error(response: httpx.Response) -> str | None:
    """``code: message (details)`` of each entry of an SP-API ``errors`` body, or None."""
    try:
        body = ErrorList.model_validate(response.json())
    except (ValueError, ValidationError, UnicodeDecodeError):
        return None
    parts = [
        f"{e.code}: {e.message}" + (f" ({e.details})" if e.details else "") for e in body.errors if e.code or e.message
    ]
    return "; ".join(parts)[:500] or None


def _lwa_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    return f"{body.get('error', 'error')}: {str(body.get('error_description', ''))[:200]}"


def vendor_model(model: type[M], data: Any, *, what: str) -> M:
    """``data`` read as ``model``.

    Raises:
        VendorRetryable: the answer does not have the documented shape (an edge or version problem).
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "body"
        raise VendorRetryable(
            f"amazon answered {what} with an unexpected shape at {where}: {error['msg']}", system=SYSTEM
        ) from None


def _page_token(value: str | None) -> str | None:
    return value or None


class AmazonClient:
    """The SP-API of one seller account.

    Args:
        settings: the connection's settings.
        secrets: LWA credentials.
        budget: the connection's shared rate budget (one scope per operation).
        transport: an httpx transport (``httpx.ASGITransport(sandbox)`` in unit tests).
        sleep: how the feed poller waits (tests pass a no-op).
    """

    def __init__(
        self,
        settings: AmazonSettings,
        secrets: AmazonSecrets,
        *,
        budget: RateBudget | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self._secrets = secrets
        self._sleep = sleep
        common = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        self._http = VendorHttp(
            system=SYSTEM,
            base_url=settings.api_base_url,
            budget=budget,
            headers=common,
            timeout=settings.timeout_seconds,
            transport=transport,
            describe_error=describe_error,
        )
        # The LWA token endpoint and the pre-signed document URLs are other hosts, outside the SP-API budget.
        self._lwa = VendorHttp(
            system=SYSTEM,
            base_url="",
            headers={"User-Agent": USER_AGENT},
            timeout=settings.timeout_seconds,
            transport=transport,
            describe_error=_lwa_error,
        )
        self._files = VendorHttp(
            system=SYSTEM,
            base_url="",
            headers={"User-Agent": USER_AGENT},
            timeout=settings.timeout_seconds,
            transport=transport,
        )
        self.tokens = TokenCache(self._fetch_lwa_token, margin_seconds=60.0)
        self.restricted_tokens = TokenCache(self._fetch_restricted_token, margin_seconds=60.0)

    # --- tokens ---------------------------------------------------------------------------------

    async def _fetch_lwa_token(self) -> AccessToken:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self._secrets.refresh_token.get_secret_value(),
            "client_id": self._secrets.client_id.get_secret_value(),
            "client_secret": self._secrets.client_secret.get_secret_value(),
        }
        content = urlencode(form).encode("ascii")
        headers = {"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"}
        try:
            response = await self._lwa.request("POST", self.settings.token_url, content=content, headers=headers)
        except (VendorRejected, VendorAuthError) as exc:
            # 400 invalid_grant (revoked refresh token) and 401 invalid_client are credentials problems.
            reason = exc.detail.get("reason") or f"HTTP {exc.status}"
            raise VendorAuthError(
                f"Login with Amazon refused the credentials: {reason}", status=exc.status, system=SYSTEM
            ) from None
        try:
            token = LwaToken.model_validate(json_body(response, system=SYSTEM, what="the LWA token request"))
        except ValidationError:
            raise VendorRetryable("Login with Amazon answered without an access_token", system=SYSTEM) from None
        return AccessToken(token.access_token, token.expires_in)

    async def _fetch_restricted_token(self) -> AccessToken:
        elements = list(self.settings.pii_data_elements)
        resources: list[dict[str, Any]] = [
            {"method": "GET", "path": ORDERS_PATH, "dataElements": elements},
            {"method": "GET", "path": ORDERS_PATH + "/{orderId}", "dataElements": elements},
        ]
        if "buyerInfo" in elements:
            resources.append(
                {"method": "GET", "path": ORDERS_PATH + "/{orderId}/orderItems", "dataElements": ["buyerInfo"]}
            )
        response = await self._call(
            "createRestrictedDataToken",
            "POST",
            "/tokens/2021-03-01/restrictedDataToken",
            json={"restrictedResources": resources},
        )
        try:
            token = RestrictedDataToken.model_validate(
                json_body(response, system=SYSTEM, what="createRestrictedDataToken")
            )
        except ValidationError:
            raise VendorRetryable("createRestrictedDataToken answered without a token", system=SYSTEM) from None
        return AccessToken(token.restricted_data_token, token.expires_in)

    # --- the one call path ------------------------------------------------------------------------

    async def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        restricted: bool = False,
    ) -> httpx.Response:
        cache = self.restricted_tokens if restricted and self.settings.request_pii else self.tokens
        for attempt in (1, 2):
            token = await cache.get()
            try:
                response = await self._http.request(
                    method, path, scope=operation, params=params, json=json, headers={"x-amz-access-token": token}
                )
            except VendorAuthError:
                if attempt == 2:
                    raise
                cache.invalidate()
                continue
            except VendorRateLimited as exc:
                if exc.retry_after is None:
                    # Amazon sends no Retry-After: one token of this operation's bucket refills in 1/rate s.
                    exc.retry_after = 1.0 / OPERATIONS[operation].rate
                raise
            self._observe(operation, response)
            return response
        raise AssertionError("unreachable")

    def _observe(self, operation: str, response: httpx.Response) -> None:
        raw = response.headers.get("x-amzn-RateLimit-Limit")
        if not raw:
            return
        try:
            rate = float(raw)
        except ValueError:
            return
        if rate > 0:
            self._http.budget.observe(operation, remaining=None, capacity=None, refill=rate)

    # --- Orders API v0 -----------------------------------------------------------------------------

    async def get_orders_page(
        self, *, last_updated_after: datetime, last_updated_before: datetime | None, next_token: str | None
    ) -> OrdersPage:
        """One getOrders page (with ``next_token``, only it and MarketplaceIds are sent, as Amazon asks)."""
        params: dict[str, str | int] = {"MarketplaceIds": ",".join(self.settings.marketplace_ids)}
        if next_token:
            params["NextToken"] = next_token
        else:
            params["LastUpdatedAfter"] = iso_utc(last_updated_after)
            if last_updated_before is not None:
                params["LastUpdatedBefore"] = iso_utc(last_updated_before)
            params["MaxResultsPerPage"] = self.settings.page_size
        response = await self._call("getOrders", "GET", ORDERS_PATH, params=params, restricted=True)
        return vendor_model(OrdersPage, self._payload(response, "getOrders"), what="getOrders")

    async def iter_orders(
        self, *, last_updated_after: datetime, last_updated_before: datetime | None
    ) -> AsyncIterator[OrdersPage]:
        """Every getOrders page of the window, following NextToken to the end."""

        async def fetch(token: str) -> Page[OrdersPage, str]:
            page = await self.get_orders_page(
                last_updated_after=last_updated_after, last_updated_before=last_updated_before, next_token=token or None
            )
            return Page([page], _page_token(page.next_token))

        async for page in paginate(fetch, "", system=SYSTEM):
            yield page.items[0]

    async def get_order(self, order_id: str) -> dict[str, Any]:
        """One order element (getOrder).

        Raises:
            NotFound: Amazon has no such order for this seller.
        """
        try:
            response = await self._call("getOrder", "GET", f"{ORDERS_PATH}/{quote(order_id, safe='')}", restricted=True)
        except VendorRejected as exc:
            if exc.status == 404:
                raise NotFound(f"amazon has no order {order_id}") from None
            raise
        payload = self._payload(response, "getOrder")
        if not isinstance(payload, dict) or not payload.get("AmazonOrderId"):
            raise NotFound(f"amazon has no order {order_id}")
        return payload

    async def get_order_items(self, order_id: str) -> list[dict[str, Any]]:
        """Every OrderItem of one order (all getOrderItems pages)."""
        path = f"{ORDERS_PATH}/{quote(order_id, safe='')}/orderItems"

        async def fetch(token: str) -> Page[dict[str, Any], str]:
            params: dict[str, str | int] = {"NextToken": token} if token else {}
            response = await self._call("getOrderItems", "GET", path, params=params, restricted=True)
            page = vendor_model(OrderItemsPage, self._payload(response, "getOrderItems"), what="getOrderItems")
            return Page(page.order_items, _page_token(page.next_token))

        return [item async for page in paginate(fetch, "", system=SYSTEM) for item in page.items]

    async def fetch_order(self, order_id: str) -> dict[str, Any]:
        """getOrder + every getOrderItems page, as one order element with ``OrderItems``."""
        order = await self.get_order(order_id)
        return {**order, "OrderItems": await self.get_order_items(order_id)}

    async def confirm_shipment(self, order_id: str, body: Mapping[str, Any]) -> None:
        """confirmShipment (204). A repeat with the same packageReferenceId is a no-op at Amazon."""
        path = f"{ORDERS_PATH}/{quote(order_id, safe='')}/shipmentConfirmation"
        await self._call("confirmShipment", "POST", path, json=dict(body))

    async def ship(self, shipment: Shipment) -> str:
        """Confirm one canonical shipment; returns its packageReferenceId.

        The order is ``order_external_id`` (else ``order_number``, which is the AmazonOrderId);
        lines that do not name their OrderItemId are matched by SKU against getOrderItems, and the
        marketplace is the order's own when the connection sells in several.

        Raises:
            MappingError: a line's SKU is not on the order.
            VendorRejected: Amazon refused the confirmation (e.g. more than is unshipped).
        """
        order_id = shipment.order_external_id or shipment.order_number
        item_ids: dict[str, str] = {}
        if any(line.order_line_id is None for line in shipment.lines):
            for item in await self.get_order_items(order_id):
                sku, item_id = item.get("SellerSKU"), item.get("OrderItemId")
                if isinstance(sku, str) and isinstance(item_id, str):
                    item_ids.setdefault(sku, item_id)
            missing = [line.sku for line in shipment.lines if line.order_line_id is None and line.sku not in item_ids]
            if missing:
                raise MappingError(f"amazon order {order_id} has no items with SKU {', '.join(map(str, missing))}")
        marketplace = self.settings.marketplace_id
        if len(self.settings.marketplace_ids) > 1:
            marketplace = str((await self.get_order(order_id)).get("MarketplaceId") or marketplace)
        body = shipment_to_confirm_shipment(shipment, marketplace_id=marketplace, order_item_ids=item_ids)
        await self.confirm_shipment(order_id, body)
        return str(body["packageDetail"]["packageReferenceId"])

    async def set_quantity(self, level: InventoryLevel) -> ListingsSubmission:
        """patchListingsItem of one SKU's merchant-fulfilled quantity (the connection's product type and channel)."""
        body = inventory_to_listings_patch(
            level, product_type=self.settings.product_type, channel_code=self.settings.fulfillment_channel_code
        )
        return await self.patch_listings_item(level.sku, body)

    async def publish_quantities(self, levels: Sequence[InventoryLevel]) -> FeedResult:
        """Many SKUs' quantities in one JSON_LISTINGS_FEED (see :meth:`submit_listings_feed`)."""
        feed = inventory_feed(
            levels,
            seller_id=self.settings.seller_id,
            product_type=self.settings.product_type,
            channel_code=self.settings.fulfillment_channel_code,
        )
        return await self.submit_listings_feed(feed)

    # --- Listings Items API --------------------------------------------------------------------------

    def _listing_path(self, sku: str) -> str:
        return f"/listings/2021-08-01/items/{quote(self.settings.seller_id, safe='')}/{quote(sku, safe='')}"

    async def patch_listings_item(self, sku: str, body: Mapping[str, Any]) -> ListingsSubmission:
        """patchListingsItem. An ``INVALID`` submission is raised, not returned.

        Raises:
            VendorRejected: status INVALID (the issues say why), or a 4xx.
        """
        params = {"marketplaceIds": ",".join(self.settings.marketplace_ids), "includedData": "issues"}
        response = await self._call(
            "patchListingsItem", "PATCH", self._listing_path(sku), params=params, json=dict(body)
        )
        body = json_body(response, system=SYSTEM, what="patchListingsItem")
        submission = vendor_model(ListingsSubmission, body, what="patchListingsItem")
        if submission.status == "INVALID":
            problems = "; ".join(f"{i.code}: {i.message}" for i in submission.issues if i.severity == "ERROR")
            raise VendorRejected(
                f"amazon refused the listings patch of {sku}: {problems or 'INVALID'}",
                status=response.status_code,
                system=SYSTEM,
                detail={"issues": [i.model_dump(by_alias=True) for i in submission.issues]},
            )
        return submission

    async def get_listings_item(self, sku: str) -> dict[str, Any]:
        """getListingsItem with summaries, issues and fulfillmentAvailability."""
        params = {
            "marketplaceIds": ",".join(self.settings.marketplace_ids),
            "includedData": "summaries,issues,fulfillmentAvailability",
        }
        response = await self._call("getListingsItem", "GET", self._listing_path(sku), params=params)
        body = json_body(response, system=SYSTEM, what="getListingsItem")
        return body if isinstance(body, dict) else {}

    # --- Feeds API -----------------------------------------------------------------------------------

    async def create_feed_document(self) -> FeedDocument:
        """createFeedDocument: where to upload the feed."""
        response = await self._call(
            "createFeedDocument", "POST", "/feeds/2021-06-30/documents", json={"contentType": FEED_CONTENT_TYPE}
        )
        body = json_body(response, system=SYSTEM, what="createFeedDocument")
        return vendor_model(FeedDocument, body, what="createFeedDocument")

    async def upload_feed_document(self, document: FeedDocument, content: bytes) -> None:
        """PUT the feed to its pre-signed URL (no SP-API token: the URL carries the authorisation)."""
        await self._files.request("PUT", document.url, content=content, headers={"Content-Type": FEED_CONTENT_TYPE})

    async def create_feed(self, feed_type: str, document_id: str) -> str:
        """createFeed; returns the feedId."""
        body = {
            "feedType": feed_type,
            "marketplaceIds": list(self.settings.marketplace_ids),
            "inputFeedDocumentId": document_id,
        }
        response = await self._call("createFeed", "POST", "/feeds/2021-06-30/feeds", json=body)
        answer = json_body(response, system=SYSTEM, what="createFeed")
        feed_id = answer.get("feedId") if isinstance(answer, dict) else None
        if not isinstance(feed_id, str) or not feed_id:
            raise VendorRetryable("createFeed answered without a feedId", system=SYSTEM)
        return feed_id

    async def get_feed(self, feed_id: str) -> Feed:
        """getFeed: the feed's processing status."""
        response = await self._call("getFeed", "GET", f"/feeds/2021-06-30/feeds/{quote(feed_id, safe='')}")
        return vendor_model(Feed, json_body(response, system=SYSTEM, what="getFeed"), what="getFeed")

    async def get_processing_report(self, document_id: str) -> ProcessingReport:
        """getFeedDocument, then the (possibly gzipped) JSON processing report it points to."""
        response = await self._call(
            "getFeedDocument", "GET", f"/feeds/2021-06-30/documents/{quote(document_id, safe='')}"
        )
        body = json_body(response, system=SYSTEM, what="getFeedDocument")
        document = vendor_model(FeedDocument, body, what="getFeedDocument")
        download = await self._files.request("GET", document.url)
        raw = download.content
        if (document.compression_algorithm or "").upper() == "GZIP":
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError) as exc:
                raise VendorRetryable(f"amazon processing report is not valid GZIP: {exc}", system=SYSTEM) from None
        try:
            return ProcessingReport.model_validate(json.loads(raw))
        except (ValueError, ValidationError, UnicodeDecodeError) as exc:
            raise VendorRetryable(
                f"amazon processing report is not readable JSON: {str(exc)[:120]}", system=SYSTEM
            ) from None

    async def submit_listings_feed(self, feed: Mapping[str, Any]) -> FeedResult:
        """The whole JSON_LISTINGS_FEED path: document, upload, createFeed, poll getFeed, read the report.

        Raises:
            VendorRetryable: the feed did not finish within ``feed_max_wait_seconds``.
        """
        document = await self.create_feed_document()
        await self.upload_feed_document(document, json.dumps(feed, separators=(",", ":")).encode("utf-8"))
        feed_id = await self.create_feed("JSON_LISTINGS_FEED", document.feed_document_id)
        waited = 0.0
        while True:
            status = await self.get_feed(feed_id)
            if status.finished:
                break
            if waited >= self.settings.feed_max_wait_seconds:
                raise VendorRetryable(
                    f"amazon feed {feed_id} still {status.processing_status} after {waited:.0f} s", system=SYSTEM
                )
            await self._sleep(self.settings.feed_poll_seconds)
            waited += max(self.settings.feed_poll_seconds, 1.0)
        report = None
        if status.result_feed_document_id:
            report = await self.get_processing_report(status.result_feed_document_id)
        return FeedResult(feed_id=feed_id, processing_status=status.processing_status, report=report)

    # --- plumbing -----------------------------------------------------------------------------------

    def _payload(self, response: httpx.Response, what: str) -> Any:
        body = json_body(response, system=SYSTEM, what=what)
        if not isinstance(body, dict) or "payload" not in body:
            errors = describe_error(response) if isinstance(body, dict) else None
            raise VendorRetryable(
                f"amazon answered {what} without a payload{': ' + errors if errors else ''}", system=SYSTEM
            )
        return body["payload"]

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._http.aclose()
        await self._lwa.aclose()
        await self._files.aclose()
