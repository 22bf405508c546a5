"""HTTP client for the ShipStation V1 API (HTTP Basic: API key as user, API secret as password).

Only speaks HTTP and returns vendor models (``schemas``); mapping lives in ``mapping``.
Every request goes through the connection's rate budget (scope ``api``: 40 requests a minute
per key+secret); the ``X-Rate-Limit-*`` headers of every answer are fed back to the budget.

A ShipStation webhook names a ``resource_url`` to read with the same credentials. Before the
client sends the API key anywhere it checks that the URL points at the connection's own API
host (scheme, host and port), so a forged notification cannot collect the credentials (SSRF).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.http import VendorHttp, json_body
from tradewire.connectors.shipstation.client_errors import (
    RATE_SCOPE,
    SYSTEM,
    RateHeaders,
    ShipStationAuthError,
    ShipStationError,
    ShipStationRateLimited,
    ShipStationRejected,
    ShipStationUnavailable,
    UntrustedResourceUrl,
    describe_error,
    translate,
)
from tradewire.connectors.shipstation.dates import to_pacific_text
from tradewire.connectors.shipstation.schemas import (
    SsCreateOrdersResponse,
    SsOrder,
    SsOrdersPage,
    SsShipment,
    SsShipmentsPage,
    SsWebhook,
)
from tradewire.connectors.shipstation.settings import ShipStationSecrets, ShipStationSettings, resource_url_problem
from tradewire.errors import PermanentError, VendorError

__all__ = [
    "ShipStationAuthError",
    "ShipStationClient",
    "ShipStationError",
    "ShipStationRateLimited",
    "ShipStationRejected",
    "ShipStationUnavailable",
    "UntrustedResourceUrl",
]

M = TypeVar("M", bound=BaseModel)

MAX_PAGE_SIZE = 500
MAX_BULK_ORDERS = 100
MAX_NOTIFY_PAGES = 1000
WEBHOOK_EVENTS = frozenset(
    {
        "ORDER_NOTIFY",
        "ITEM_ORDER_NOTIFY",
        "SHIP_NOTIFY",
        "ITEM_SHIP_NOTIFY",
        "FULFILLMENT_SHIPPED",
        "FULFILLMENT_REJECTED",
    }
)


# --- the client --------------------------------------------------------------------------------


class ShipStationClient:
    """Talks to one ShipStation account over the V1 API.

    Args:
        settings: the connection's settings.
        secrets: its API key and secret.
        budget: the connection's shared rate budget (scope ``api``).
        transport: an httpx transport (``ASGITransport`` for the in-process sandbox).
    """

    def __init__(
        self,
        settings: ShipStationSettings,
        secrets: ShipStationSecrets,
        *,
        budget: RateBudget | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        auth = httpx.BasicAuth(secrets.api_key.get_secret_value(), secrets.api_secret.get_secret_value())
        self._http = VendorHttp(
            system=SYSTEM,
            base_url=settings.base_url,
            budget=budget,
            auth=auth,
            headers={"Accept": "application/json"},
            timeout=settings.timeout_seconds,
            transport=RateHeaders(transport or httpx.AsyncHTTPTransport(), budget),
            describe_error=describe_error,
        )

    def __repr__(self) -> str:
        return f"ShipStationClient(base_url={self.settings.base_url!r})"

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._http.aclose()

    # --- plumbing ------------------------------------------------------------------------------

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except ShipStationError:
            raise
        except VendorError as exc:
            raise translate(exc, what) from exc

    async def _call(
        self,
        method: str,
        url: str,
        *,
        what: str,
        body: Any = None,
        params: Mapping[str, str | int] | None = None,
    ) -> Any:
        with self._errors(what):
            response = await self._http.request(method, url, scope=RATE_SCOPE, json=body, params=params)
            if not response.content and method == "DELETE":
                return None
            return json_body(response, system=SYSTEM, what=what)

    @staticmethod
    def _model(model: type[M], payload: Any, what: str) -> M:
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            raise ShipStationUnavailable(
                f"ShipStation answered {what} with an unexpected shape: {exc.error_count()} problem(s), first: "
                f"{exc.errors()[0]['msg']}",
                system=SYSTEM,
            ) from None

    # --- orders --------------------------------------------------------------------------------

    async def upsert_order(self, body: Mapping[str, Any]) -> SsOrder:
        """Create or replace the order keyed by ``body["orderKey"]`` (``POST /orders/createorder``).

        ShipStation has no partial update: ``body`` is the whole order. Only orders still
        ``awaiting_payment``, ``awaiting_shipment`` or ``on_hold`` can be replaced.

        Raises:
            PermanentError: ``body`` has no ``orderKey`` (without one ShipStation would create a duplicate).
            ShipStationRejected: ShipStation refused the body (e.g. the order has shipped).
            ShipStationAuthError, ShipStationRateLimited, ShipStationUnavailable: as the names say.
        """
        key = body.get("orderKey")
        if not isinstance(key, str) or not key:
            raise PermanentError("a ShipStation order upsert needs an orderKey, or a retry would duplicate the order")
        what = f"createorder {key}"
        return self._model(SsOrder, await self._call("POST", "/orders/createorder", what=what, body=dict(body)), what)

    async def create_orders(self, bodies: Sequence[Mapping[str, Any]]) -> SsCreateOrdersResponse:
        """Upsert many orders (``POST /orders/createorders``, 100 per request).

        ShipStation answers 200 even when some orders fail: each result says ``success`` and
        ``errorMessage``; ``has_errors`` is true when any failed. The caller decides what to redo.

        Raises:
            PermanentError: an order has no ``orderKey``.
            ShipStationRejected, ShipStationAuthError, ShipStationRateLimited, ShipStationUnavailable:
                for the request as a whole.
        """
        for body in bodies:
            if not isinstance(body.get("orderKey"), str) or not body.get("orderKey"):
                raise PermanentError(
                    f"order {body.get('orderNumber')!r} has no orderKey; refusing a duplicating upsert"
                )
        merged = SsCreateOrdersResponse()
        for start in range(0, len(bodies), MAX_BULK_ORDERS):
            chunk = [dict(body) for body in bodies[start : start + MAX_BULK_ORDERS]]
            what = f"createorders ({len(chunk)} orders)"
            page = self._model(
                SsCreateOrdersResponse, await self._call("POST", "/orders/createorders", what=what, body=chunk), what
            )
            merged.results.extend(page.results)
            merged.has_errors = merged.has_errors or page.has_errors or any(not r.success for r in page.results)
        return merged

    async def get_order(self, order_id: int) -> SsOrder:
        """One order by ShipStation's ``orderId``.

        Raises:
            ShipStationRejected: no such order (404).
        """
        what = f"order {order_id}"
        return self._model(SsOrder, await self._call("GET", f"/orders/{int(order_id)}", what=what), what)

    async def orders_page(self, *, page: int = 1, page_size: int | None = None, **filters: str | int) -> SsOrdersPage:
        """One page of ``GET /orders`` (filters as ShipStation names them: ``orderStatus``, ``modifyDateStart``…)."""
        params = {**filters, "page": page, "pageSize": self._page_size(page_size)}
        return self._model(SsOrdersPage, await self._call("GET", "/orders", what="order list", params=params), "orders")

    async def list_orders(self, *, page_size: int | None = None, **filters: str | int) -> AsyncIterator[SsOrder]:
        """Every order matching ``filters``, page by page."""
        async for page in self._pages(self.orders_page, page_size, filters):
            for order in page.orders:
                yield order

    async def mark_as_shipped(
        self,
        order_id: int,
        *,
        carrier_code: str,
        ship_date: date,
        tracking_number: str | None = None,
        notify_customer: bool = False,
        notify_sales_channel: bool = False,
    ) -> dict[str, Any]:
        """Mark an order shipped outside ShipStation (``POST /orders/markasshipped``).

        Raises:
            ShipStationRejected: unknown order, or one that cannot be marked shipped.
        """
        body: dict[str, Any] = {
            "orderId": int(order_id),
            "carrierCode": carrier_code,
            "shipDate": ship_date.isoformat(),
            "notifyCustomer": notify_customer,
            "notifySalesChannel": notify_sales_channel,
        }
        if tracking_number:
            body["trackingNumber"] = tracking_number
        result = await self._call("POST", "/orders/markasshipped", what=f"markasshipped {order_id}", body=body)
        return dict(result) if isinstance(result, dict) else {"result": result}

    # --- shipments -----------------------------------------------------------------------------

    async def shipments_page(
        self,
        *,
        page: int = 1,
        page_size: int | None = None,
        create_date_start: datetime | None = None,
        create_date_end: datetime | None = None,
        ship_date_start: datetime | None = None,
        ship_date_end: datetime | None = None,
        sort_by: str | None = None,
        sort_dir: str = "ASC",
        include_items: bool = True,
        **filters: str | int,
    ) -> SsShipmentsPage:
        """One page of ``GET /shipments``; datetimes are sent as Pacific text, as ShipStation reads them."""
        params: dict[str, str | int] = {**filters, "page": page, "pageSize": self._page_size(page_size)}
        for name, value in (
            ("createDateStart", create_date_start),
            ("createDateEnd", create_date_end),
            ("shipDateStart", ship_date_start),
            ("shipDateEnd", ship_date_end),
        ):
            if value is not None:
                params[name] = to_pacific_text(value)
        if sort_by:
            params["sortBy"] = sort_by
            params["sortDir"] = sort_dir
        params["includeShipmentItems"] = "true" if include_items else "false"
        payload = await self._call("GET", "/shipments", what="shipment list", params=params)
        return self._model(SsShipmentsPage, payload, "shipments")

    async def list_shipments(self, *, page_size: int | None = None, **filters: Any) -> AsyncIterator[SsShipment]:
        """Every shipment matching the filters of :meth:`shipments_page`, page by page."""
        async for page in self._pages(self.shipments_page, page_size, filters):
            for shipment in page.shipments:
                yield shipment

    async def void_label(self, shipment_id: int) -> dict[str, Any]:
        """Void a shipment's label (``POST /shipments/voidlabel``): ``{"approved", "message"}``."""
        what = f"voidlabel {shipment_id}"
        result = await self._call("POST", "/shipments/voidlabel", what=what, body={"shipmentId": int(shipment_id)})
        return dict(result) if isinstance(result, dict) else {"result": result}

    # --- notifications -------------------------------------------------------------------------

    def check_resource_url(self, resource_url: str, *, path: str = "/shipments") -> str:
        """``resource_url`` if the credentials may be sent there, else an error.

        It must be absolute http(s), carry no user or password, point at ``base_url``'s origin
        (scheme, host, port) or one of ``resource_origins``, and name ``path`` under the API root.

        Raises:
            UntrustedResourceUrl: anything else (permanent: the notification is forged or broken).
        """
        problem = resource_url_problem(self.settings, resource_url, path=path)
        if problem is not None:
            raise UntrustedResourceUrl(f"refusing a notification's resource_url: {problem}", system=SYSTEM)
        return resource_url

    async def fetch_ship_notify(self, resource_url: str) -> list[SsShipment]:
        """The shipments a SHIP_NOTIFY notification points at (every page), read with Basic auth.

        Raises:
            UntrustedResourceUrl: the URL fails :meth:`check_resource_url` (nothing is sent).
            ShipStationRejected, ShipStationAuthError, ShipStationRateLimited, ShipStationUnavailable:
                as for any call.
        """
        self.check_resource_url(resource_url, path="/shipments")
        parsed = httpx.URL(resource_url)
        base = str(parsed.copy_with(query=None, fragment=None))
        params: dict[str, str | int] = {
            name: value
            for name, value in parsed.params.multi_items()
            if name.lower() not in ("page", "includeshipmentitems")
        }
        # Notifications often say includeShipmentItems=False; the items are what the mapping needs.
        params["includeShipmentItems"] = "true"
        found: list[SsShipment] = []
        page = 1
        while True:
            what = "SHIP_NOTIFY resource"
            payload = await self._call("GET", base, what=what, params={**params, "page": page})
            batch = self._model(SsShipmentsPage, payload, what)
            found.extend(batch.shipments)
            if page >= batch.pages or not batch.shipments or page >= MAX_NOTIFY_PAGES:
                return found
            page += 1

    # --- webhooks ------------------------------------------------------------------------------

    async def subscribe_webhook(
        self,
        target_url: str,
        *,
        event: str = "SHIP_NOTIFY",
        friendly_name: str = "Tradewire",
        store_id: int | None = None,
    ) -> int:
        """Subscribe ``target_url`` (with its ``?token=``) to ``event``; return the webhook id.

        Raises:
            PermanentError: an event ShipStation does not know.
        """
        if event not in WEBHOOK_EVENTS:
            raise PermanentError(
                f"ShipStation has no webhook event {event!r}; known: {', '.join(sorted(WEBHOOK_EVENTS))}"
            )
        body: dict[str, Any] = {"target_url": target_url, "event": event, "friendly_name": friendly_name}
        store = store_id if store_id is not None else self.settings.store_id
        if store is not None:
            body["store_id"] = store
        result = await self._call("POST", "/webhooks/subscribe", what=f"subscribe {event}", body=body)
        webhook_id = result.get("id") if isinstance(result, dict) else None
        if isinstance(webhook_id, bool) or not isinstance(webhook_id, int):
            raise ShipStationUnavailable(f"ShipStation answered subscribe {event} without an id", system=SYSTEM)
        return webhook_id

    async def list_webhooks(self) -> list[SsWebhook]:
        """Every webhook subscription of the account (``GET /webhooks``)."""
        payload = await self._call("GET", "/webhooks", what="webhook list")
        hooks = payload.get("webhooks") if isinstance(payload, dict) else None
        if not isinstance(hooks, list):
            raise ShipStationUnavailable("ShipStation answered the webhook list without 'webhooks'", system=SYSTEM)
        return [self._model(SsWebhook, hook, "webhook list") for hook in hooks]

    async def delete_webhook(self, webhook_id: int) -> None:
        """Remove one subscription (``DELETE /webhooks/{id}``).

        Raises:
            ShipStationRejected: no such webhook.
        """
        await self._call("DELETE", f"/webhooks/{int(webhook_id)}", what=f"delete webhook {webhook_id}")

    # --- paging --------------------------------------------------------------------------------

    def _page_size(self, page_size: int | None) -> int:
        return max(1, min(page_size or self.settings.page_size, MAX_PAGE_SIZE))

    @staticmethod
    async def _pages(fetch: Any, page_size: int | None, filters: Mapping[str, Any]) -> AsyncIterator[Any]:
        page = 1
        while True:
            result = await fetch(page=page, page_size=page_size, **filters)
            yield result
            if page >= result.pages or page >= MAX_NOTIFY_PAGES:
                return
            page += 1
