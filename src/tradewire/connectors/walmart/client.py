"""Walmart Marketplace REST client: speaks HTTP, returns vendor models, classifies errors once.

Auth is OAuth2 client credentials: ``POST /v3/token`` with HTTP Basic ``clientId:clientSecret``
gives a 15-minute token, cached by :class:`TokenCache` and sent raw as ``WM_SEC.ACCESS_TOKEN``.
:class:`WalmartAuth` (an ``httpx.Auth``) adds the token and a fresh ``WM_QOS.CORRELATION_ID`` to
every call, refreshes the token once after a 401, and reads Walmart's rate headers
(``x-current-token-count``, ``x-next-replenish-time``) into the connection's budget (``auth.py``);
Walmart's error bodies are described by ``vendor_errors.py``.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from tradewire.connectors.base.budget import RateBudget, UnlimitedBudget
from tradewire.connectors.base.http import VendorHttp, json_body
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.base.tokens import AccessToken, TokenCache
from tradewire.connectors.walmart.auth import (
    TOKEN_PATH,
    RateHeaders,
    WalmartAuth,
    basic_credentials,
    scope_for,
)
from tradewire.connectors.walmart.schemas import (
    FeedStatus,
    Inventory,
    OrderList,
    OrdersPage,
    Subscription,
    TokenResponse,
    WalmartOrder,
)
from tradewire.connectors.walmart.settings import WalmartSecrets, WalmartSettings
from tradewire.connectors.walmart.vendor_errors import classify_walmart_body, describe_walmart_error
from tradewire.errors import NotFound, VendorRejected, VendorRetryable

SYSTEM = "walmart"
M = TypeVar("M", bound=BaseModel)


def _multipart(name: str, filename: str, payload: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        "Content-Type: application/json\r\n\r\n"
    ).encode()
    return head + payload + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class WalmartClient:
    """The Walmart Marketplace API of one seller account.

    Args:
        settings: the connection's settings.
        secrets: its secrets (client id and secret are exchanged for tokens).
        budget: the connection's shared rate budget (scopes: see :func:`scope_for`).
        transport: an httpx transport (``httpx.ASGITransport(sandbox)`` in unit tests).
        clock: monotonic clock of the token cache (tests move it to expire tokens).
    """

    def __init__(
        self,
        settings: WalmartSettings,
        secrets: WalmartSecrets,
        *,
        budget: RateBudget | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self._secrets = secrets
        self._sleep = sleep
        budget = budget or UnlimitedBudget()
        headers = {"WM_SVC.NAME": settings.service_name, "Accept": "application/json"}
        if settings.channel_type:
            headers["WM_CONSUMER.CHANNEL.TYPE"] = settings.channel_type

        def http(auth: httpx.Auth, classify_body: Callable[[httpx.Response], None] | None = None) -> VendorHttp:
            return VendorHttp(
                system=SYSTEM,
                base_url=settings.root,
                budget=budget,
                auth=auth,
                headers=headers,
                timeout=settings.timeout_seconds,
                classify_body=classify_body,
                transport=transport,
                describe_error=describe_walmart_error,
            )

        # The token call has no access token yet: it only reads the rate headers.
        self._token_http = http(RateHeaders(budget))
        self.tokens = TokenCache(self._fetch_token, margin_seconds=settings.token_margin_seconds, clock=clock)
        self.auth = WalmartAuth(self.tokens, budget)
        self._http = http(self.auth, classify_walmart_body)

    @classmethod
    def from_connection(
        cls,
        connection: Connection,
        budget: RateBudget | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> WalmartClient:
        """A client for ``connection`` (settings and decrypted secrets validated here).

        Raises:
            pydantic.ValidationError: the connection's settings or secrets are incomplete.
        """
        return cls(
            WalmartSettings.model_validate(dict(connection.settings)),
            WalmartSecrets.model_validate(dict(connection.secrets)),
            budget=budget,
            transport=transport,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._http.aclose()
        await self._token_http.aclose()

    # --- auth ---------------------------------------------------------------------------------

    async def _fetch_token(self) -> AccessToken:
        response = await self._token_http.request(
            "POST",
            TOKEN_PATH,
            scope="token",
            content=b"grant_type=client_credentials",
            headers={
                "Authorization": basic_credentials(
                    self._secrets.client_id.get_secret_value(), self._secrets.client_secret.get_secret_value()
                ),
                "Content-Type": "application/x-www-form-urlencoded",
                "WM_QOS.CORRELATION_ID": str(uuid.uuid4()),
            },
        )
        try:
            token = TokenResponse.model_validate(json_body(response, system=SYSTEM, what="the token request"))
        except ValidationError:
            raise VendorRetryable("walmart token answer lacks access_token/expires_in", system=SYSTEM) from None
        return AccessToken(token.access_token, token.expires_in)

    # --- plumbing -----------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        what: str,
        content: bytes | None = None,
        content_type: str = "application/json",
    ) -> Any:
        path = url.split("?", 1)[0]
        headers = {"Content-Type": content_type} if method != "GET" else None
        response = await self._http.request(
            method,
            url,
            scope=scope_for(method, path),
            json=json,
            params=params,
            headers=headers,
            content=content,
        )
        return json_body(response, system=SYSTEM, what=what)

    # --- orders -------------------------------------------------------------------------------

    async def orders_page(
        self,
        *,
        next_cursor: str | None = None,
        released: bool = False,
        filters: Mapping[str, str | int] | None = None,
    ) -> OrdersPage:
        """One page of ``GET /v3/orders`` (or ``/released``); ``next_cursor`` is Walmart's query string.

        ``filters`` are Walmart's query parameters (``createdStartDate``, ``lastModifiedStartDate``,
        ``status``, ``limit``…); they are ignored when ``next_cursor`` is given (it repeats them).

        Raises:
            VendorError: see ``connectors.base.http``.
        """
        base = "/v3/orders/released" if released else "/v3/orders"
        if next_cursor:
            cursor = next_cursor if next_cursor.startswith("?") else f"?{next_cursor}"
            body = await self._call("GET", base + cursor, what="the orders page")
        else:
            params: dict[str, str | int] = {"limit": self.settings.page_size, **(filters or {})}
            body = await self._call("GET", base, params=params, what="the orders page")
        return _orders_page(body)

    async def iter_order_pages(self, *, released: bool = False, **filters: str | int) -> AsyncIterator[OrdersPage]:
        """Every page, following ``meta.nextCursor`` until Walmart gives none."""
        page = await self.orders_page(released=released, filters=filters)
        yield page
        seen: set[str] = set()
        while page.next_cursor and page.orders:
            if page.next_cursor in seen:
                raise VendorRetryable(f"walmart repeated the cursor {page.next_cursor[:80]!r}", system=SYSTEM)
            seen.add(page.next_cursor)
            page = await self.orders_page(next_cursor=page.next_cursor, released=released)
            yield page

    async def get_order(self, purchase_order_id: str) -> WalmartOrder:
        """``GET /v3/orders/{purchaseOrderId}``.

        Raises:
            NotFound: Walmart has no such purchase order.
        """
        try:
            body = await self._call("GET", f"/v3/orders/{_po(purchase_order_id)}", what="the order")
        except VendorRejected as exc:
            if exc.status == 404:
                raise NotFound(f"walmart has no purchase order {purchase_order_id}") from None
            raise
        return _order(body)

    async def acknowledge(self, purchase_order_id: str) -> WalmartOrder:
        """``POST /v3/orders/{purchaseOrderId}/acknowledge`` (naturally idempotent)."""
        body = await self._call("POST", f"/v3/orders/{_po(purchase_order_id)}/acknowledge", what="the acknowledgement")
        return _order(body)

    async def ship_lines(self, purchase_order_id: str, order_shipment: Mapping[str, Any]) -> WalmartOrder:
        """``POST /v3/orders/{purchaseOrderId}/shipping`` with an ``{"orderShipment": …}`` body."""
        return await self._update(purchase_order_id, "shipping", order_shipment, "orderShipment")

    async def cancel_lines(self, purchase_order_id: str, order_cancellation: Mapping[str, Any]) -> WalmartOrder:
        """``POST /v3/orders/{purchaseOrderId}/cancel`` with an ``{"orderCancellation": …}`` body."""
        return await self._update(purchase_order_id, "cancel", order_cancellation, "orderCancellation")

    async def refund_lines(self, purchase_order_id: str, order_refund: Mapping[str, Any]) -> WalmartOrder:
        """``POST /v3/orders/{purchaseOrderId}/refund`` with an ``{"orderRefund": …}`` body."""
        return await self._update(purchase_order_id, "refund", order_refund, "orderRefund")

    async def _update(self, po: str, action: str, body: Mapping[str, Any], root: str) -> WalmartOrder:
        """Send a line update; a refusal of one that is already applied (a retry after a lost answer) is success.

        Walmart has no idempotency header and refuses to ship or cancel a quantity twice, so
        after a 4xx the order is read back: when every requested line already holds the
        requested status (same tracking number for shipments), the write is treated as done.
        """
        if root not in body:
            raise VendorRejected(f"walmart {action} body must have a top-level {root!r}", system=SYSTEM)
        try:
            answer = await self._call("POST", f"/v3/orders/{_po(po)}/{action}", json=dict(body), what=f"the {action}")
        except VendorRejected as exc:
            if action == "refund" or exc.status not in (400, 409):
                raise
            current = await self.get_order(po)
            if already_applied(current, body[root]):
                return current
            raise
        return _order(answer)

    # --- inventory ----------------------------------------------------------------------------

    async def update_inventory(self, sku: str, amount: int, *, ship_node: str | None = None) -> Inventory:
        """``PUT /v3/inventory?sku=`` for one SKU."""
        params: dict[str, str | int] = {"sku": sku}
        if ship_node:
            params["shipNode"] = ship_node
        body = {"sku": sku, "quantity": {"unit": "EACH", "amount": amount}}
        answer = await self._call("PUT", "/v3/inventory", json=body, params=params, what="the inventory update")
        return _model(Inventory, answer, "inventory")

    async def get_inventory(self, sku: str) -> Inventory:
        """``GET /v3/inventory?sku=``."""
        answer = await self._call("GET", "/v3/inventory", params={"sku": sku}, what="the inventory")
        return _model(Inventory, answer, "inventory")

    async def submit_inventory_feed(self, feed: Mapping[str, Any]) -> str:
        """``POST /v3/feeds?feedType=inventory`` (multipart file); returns the ``feedId``.

        Raises:
            VendorRejected: 413 when the file is too large (split it), other 4xx.
        """
        content, content_type = _multipart("file", "inventory.json", json.dumps(feed).encode("utf-8"))
        answer = await self._call(
            "POST",
            "/v3/feeds?feedType=inventory",
            content=content,
            content_type=content_type,
            what="the feed upload",
        )
        feed_id = answer.get("feedId") if isinstance(answer, dict) else None
        if not isinstance(feed_id, str) or not feed_id:
            raise VendorRetryable("walmart accepted the feed without a feedId", system=SYSTEM)
        return feed_id

    async def feed_status(self, feed_id: str) -> FeedStatus:
        """``GET /v3/feeds/{feedId}?includeDetails=true`` (item-level results)."""
        answer = await self._call(
            "GET", f"/v3/feeds/{_po(feed_id)}", params={"includeDetails": "true"}, what="the feed status"
        )
        return _model(FeedStatus, answer, "feed status")

    async def wait_for_feed(self, feed_id: str) -> FeedStatus:
        """Poll the feed until PROCESSED or ERROR.

        Raises:
            VendorRetryable: still not done after ``feed_max_wait_seconds``.
        """
        waited = 0.0
        while True:
            status = await self.feed_status(feed_id)
            if status.done:
                return status
            if waited >= self.settings.feed_max_wait_seconds:
                raise VendorRetryable(
                    f"walmart feed {feed_id} still {status.feed_status} after {waited:.0f} s", system=SYSTEM
                )
            await self._sleep(self.settings.feed_poll_seconds)
            waited += self.settings.feed_poll_seconds

    # --- webhooks -----------------------------------------------------------------------------

    async def create_subscription(self, subscription: Subscription) -> Subscription:
        """``POST /v3/webhooks/subscriptions``; returns the stored subscription (with its id)."""
        body = {"events": [subscription.model_dump(by_alias=True, exclude_none=True, exclude={"subscription_id"})]}
        answer = await self._call("POST", "/v3/webhooks/subscriptions", json=body, what="the subscription")
        return _subscriptions(answer)[0]

    async def list_subscriptions(self) -> list[Subscription]:
        """``GET /v3/webhooks/subscriptions``."""
        return _subscriptions(await self._call("GET", "/v3/webhooks/subscriptions", what="the subscriptions"))

    async def update_subscription(self, subscription_id: str, changes: Mapping[str, Any]) -> Subscription:
        """``PATCH /v3/webhooks/subscriptions/{id}`` (e.g. ``{"status": "INACTIVE"}``)."""
        answer = await self._call(
            "PATCH", f"/v3/webhooks/subscriptions/{_po(subscription_id)}", json=dict(changes), what="the update"
        )
        return _subscriptions(answer)[0]

    async def delete_subscription(self, subscription_id: str) -> None:
        """``DELETE /v3/webhooks/subscriptions/{id}``."""
        await self._call("DELETE", f"/v3/webhooks/subscriptions/{_po(subscription_id)}", what="the deletion")

    # --- OrderReader --------------------------------------------------------------------------

    async def fetch_order(self, external_id: str) -> dict[str, Any]:
        """``OrderReader``: the order element as ``to_order`` accepts it."""
        order = await self.get_order(external_id)
        return order.model_dump(by_alias=True, mode="json", exclude_none=True)


def already_applied(order: WalmartOrder, request: Mapping[str, Any]) -> bool:
    """True when every line of a ship/cancel ``request`` already holds its status on ``order``.

    Shipments must match the tracking number too, so a different package is never mistaken
    for one already sent.
    """
    try:
        wanted = request["orderLines"]["orderLine"]
    except (KeyError, TypeError):
        return False
    lines = {line.line_number: line for line in order.order_lines.order_line}
    if not isinstance(wanted, list) or not wanted:
        return False
    for entry in wanted:
        line = lines.get(str(entry.get("lineNumber"))) if isinstance(entry, dict) else None
        statuses = (entry.get("orderLineStatuses") or {}).get("orderLineStatus") if line else None
        if line is None or not isinstance(statuses, list):
            return False
        for status in statuses:
            target = status.get("status") if isinstance(status, dict) else None
            tracking = ((status.get("trackingInfo") or {}).get("trackingNumber")) if isinstance(status, dict) else None
            held = [
                s
                for s in line.order_line_statuses.order_line_status
                if s.status == target
                and (tracking is None or (s.tracking_info is not None and s.tracking_info.tracking_number == tracking))
            ]
            if not held:
                return False
    return True


def _po(value: str) -> str:
    text = str(value).strip()
    if not text or "/" in text or "?" in text or "#" in text:
        raise VendorRejected(f"not a Walmart id: {value!r:.60}", system=SYSTEM)
    return text


def _model(model: type[M], body: Any, what: str) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise VendorRetryable(
            f"walmart answered with an unreadable {what}: {exc.error_count()} problem(s)", system=SYSTEM
        ) from None


def _order(body: Any) -> WalmartOrder:
    if not isinstance(body, dict) or not isinstance(body.get("order"), dict):
        raise VendorRetryable("walmart answer has no 'order' object", system=SYSTEM)
    return _model(WalmartOrder, body["order"], "order")


def _orders_page(body: Any) -> OrdersPage:
    if not isinstance(body, dict) or not isinstance(body.get("list"), dict):
        raise VendorRetryable("walmart orders answer has no 'list' envelope", system=SYSTEM)
    listing: OrderList = _model(OrderList, body["list"], "orders list")
    return OrdersPage(
        orders=listing.elements.order,
        next_cursor=listing.meta.next_cursor or None,
        total_count=listing.meta.total_count,
    )


def _subscriptions(body: Any) -> list[Subscription]:
    raw = body.get("events") if isinstance(body, dict) else None
    if not isinstance(raw, list) or not raw:
        raise VendorRetryable("walmart subscription answer has no 'events'", system=SYSTEM)
    return [_model(Subscription, item, "subscription") for item in raw]


def iso_millis(moment: datetime) -> str:
    """Walmart's ISO timestamp with milliseconds and ``Z`` (sorts as text)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
