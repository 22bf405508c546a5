"""The ShipStation sandbox's state: orders, shipments, webhook subscriptions and the rate window.

Plain Python, thread-safe (one lock), so tests and the demo can drive it from another thread:
``upsert_order``, ``ship_order`` (creates shipments, can split an order into packages, and
sends SHIP_NOTIFY to subscribers), ``void_shipment``, ``subscribe``, ``delivery_log``. Times are
kept as aware UTC and shown as ShipStation's Pacific text.
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tradewire.connectors.base.sandbox import FaultDice, FaultKnobs
from tradewire.connectors.base.sandbox_webhooks import Delivery, WebhookSender
from tradewire.connectors.shipstation.dates import pacific_date, parse_pacific, to_pacific_text
from tradewire.connectors.shipstation.sandbox_query import (
    HOOK_EVENTS,
    ORDER_STATUSES,
    UPDATABLE,
    RateVerdict,
    SandboxError,
    SandboxOptions,
    bad,
    date_filter,
    dec,
    descending,
    num,
    page_of,
)

__all__ = ["SandboxError", "SandboxOptions", "ShipStationSandbox"]


class ShipStationSandbox:
    """The state of one fake ShipStation account (``app.state.shipstation``)."""

    def __init__(
        self,
        *,
        api_key: str,
        api_secret: str,
        knobs: FaultKnobs | None = None,
        base_url: str = "https://ssapi.shipstation.com",
        options: SandboxOptions | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.base_url = base_url.rstrip("/")
        self.options = options or SandboxOptions()
        self.clock = clock
        self.monotonic = monotonic
        self._lock = threading.RLock()
        self.orders: dict[int, dict[str, Any]] = {}
        self._by_key: dict[str, int] = {}
        self.shipments: dict[int, dict[str, Any]] = {}
        self.webhooks: dict[int, dict[str, Any]] = {}
        self._ids = {"order": 100_000_000, "item": 200_000_000, "shipment": 300_000_000, "hook": 400_000}
        self._window_start: float | None = None
        self._window_count = 0
        self.stats: dict[str, int] = dict.fromkeys(("requests", "served", "throttled", "faults", "auth_failures"), 0)
        self.sender = WebhookSender(
            retry_delays=self.options.webhook_retry_delays,
            out_of_order_delay=self.options.out_of_order_delay_seconds,
            duplicate_delay=self.options.duplicate_delay_seconds,
            concurrency=self.options.webhook_concurrency,
        )
        self.set_knobs(knobs or FaultKnobs())

    # --- knobs and limits ----------------------------------------------------------------------

    def set_knobs(self, knobs: FaultKnobs | None = None, **changes: Any) -> FaultKnobs:
        """Replace the fault knobs, or change some of them (the ``rate_limit_after`` count restarts)."""
        with self._lock:
            base: FaultKnobs = knobs or getattr(self, "knobs", None) or FaultKnobs()
            self.knobs = FaultKnobs.model_validate({**base.model_dump(), **changes})
            self.dice = FaultDice(self.knobs)
            return self.knobs

    def take_rate(self) -> RateVerdict:
        """Count one request against the key's window; 429 once the window is spent."""
        limit = self.options.requests_per_minute
        with self._lock:
            now = self.monotonic()
            if self._window_start is None or now - self._window_start >= self.options.window_seconds:
                self._window_start, self._window_count = now, 0
            reset = max(1, math.ceil(self.options.window_seconds - (now - self._window_start)))
            allowed = self._window_count < limit
            if allowed:
                self._window_count += 1
            remaining = max(0, limit - self._window_count)
            headers = {"X-Rate-Limit-Limit": str(limit), "X-Rate-Limit-Remaining": str(remaining),
                       "X-Rate-Limit-Reset": str(reset)}  # fmt: skip
            return RateVerdict(allowed, headers)

    def _next(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    # --- orders --------------------------------------------------------------------------------

    def upsert_order(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``createorder``: create, or replace the order with the same ``orderKey`` (whole resource).

        Raises:
            SandboxError: 400 for a missing field or an order past the updatable statuses.
        """
        if not isinstance(body, Mapping):
            raise bad("the order must be a JSON object")
        number = body.get("orderNumber")
        if not isinstance(number, str) or not number.strip():
            raise bad("orderNumber is required")
        status = body.get("orderStatus")
        if status not in ORDER_STATUSES:
            raise bad(f"orderStatus must be one of {', '.join(sorted(ORDER_STATUSES))}")
        for field in ("billTo", "shipTo"):
            if not isinstance(body.get(field), Mapping):
                raise bad(f"{field} is required")
        order_date = body.get("orderDate")
        try:
            placed = parse_pacific(order_date) if isinstance(order_date, str) else None
        except ValueError:
            placed = None
        if placed is None:
            raise bad("orderDate is required (yyyy-MM-ddTHH:mm:ss.fffffff, Pacific time)")
        raw_items = body.get("items") or []
        if not isinstance(raw_items, list) or not all(isinstance(i, Mapping) for i in raw_items):
            raise bad("items must be a list of items")
        with self._lock:
            now = self.clock()
            key = body.get("orderKey")
            if not isinstance(key, str) or not key:
                key = uuid.uuid4().hex  # ShipStation makes one up: a retry without a key duplicates.
            existing_id = self._by_key.get(key)
            existing = self.orders.get(existing_id) if existing_id is not None else None
            if existing is not None and existing["orderStatus"] not in UPDATABLE:
                raise SandboxError(
                    400,
                    "An error has occurred.",
                    f"Order {existing['orderNumber']} is {existing['orderStatus']} and can no longer be updated; only "
                    "awaiting_payment, awaiting_shipment and on_hold orders can.",
                )
            items = [self._item(item, existing) for item in raw_items]
            goods = sum((dec(i.get("unitPrice"), "unitPrice") * int(i["quantity"]) for i in items), Decimal(0))
            total = goods + dec(body.get("taxAmount"), "taxAmount") + dec(body.get("shippingAmount"), "shippingAmount")
            order = {
                **{k: v for k, v in body.items() if k not in ("orderId", "items", "createDate", "modifyDate")},
                "orderId": existing["orderId"] if existing else self._next("order"),
                "orderKey": key,
                "orderDate": to_pacific_text(placed),
                "createDate": existing["createDate"] if existing else to_pacific_text(now),
                "modifyDate": to_pacific_text(now),
                "items": items,
                "orderTotal": num(total),
                "amountPaid": body.get("amountPaid", 0),
                "taxAmount": body.get("taxAmount", 0),
                "shippingAmount": body.get("shippingAmount", 0),
                "shipDate": existing.get("shipDate") if existing else None,
                "userId": None,
                "externallyFulfilled": False,
            }
            self.orders[order["orderId"]] = order
            self._by_key[key] = order["orderId"]
            return dict(order)

    def _item(self, item: Mapping[str, Any], existing: Mapping[str, Any] | None) -> dict[str, Any]:
        quantity = item.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise bad("item quantity must be a whole number of at least 0")
        dec(item.get("unitPrice"), "unitPrice")
        previous = {i.get("lineItemKey"): i for i in (existing or {}).get("items", []) if i.get("lineItemKey")}
        kept = previous.get(item.get("lineItemKey"))
        now = to_pacific_text(self.clock())
        return {
            **dict(item),
            "orderItemId": kept["orderItemId"] if kept else self._next("item"),
            "adjustment": bool(item.get("adjustment", False)),
            "createDate": kept["createDate"] if kept else now,
            "modifyDate": now,
        }

    def create_orders(self, bodies: Sequence[Any]) -> dict[str, Any]:
        """``createorders``: each order upserted alone; failures are reported in a 200, as ShipStation does."""
        if len(bodies) > 100:
            raise bad("createorders accepts at most 100 orders")
        results: list[dict[str, Any]] = []
        for body in bodies:
            try:
                order = self.upsert_order(body)
            except SandboxError as exc:
                given = body if isinstance(body, Mapping) else {}
                results.append({"orderId": 0, "orderNumber": given.get("orderNumber"), "orderKey": given.get("orderKey"),
                                "success": False, "errorMessage": str(exc)})  # fmt: skip
                continue
            results.append({"orderId": order["orderId"], "orderNumber": order["orderNumber"],
                            "orderKey": order["orderKey"], "success": True, "errorMessage": None})  # fmt: skip
        return {"hasErrors": any(not r["success"] for r in results), "results": results}

    def get_order(self, order_id: int) -> dict[str, Any]:
        """One order by id.

        Raises:
            SandboxError: 404.
        """
        with self._lock:
            order = self.orders.get(order_id)
            if order is None:
                raise SandboxError(404, f"Order {order_id} not found.")
            return dict(order)

    def find_order(self, order_key: str) -> dict[str, Any] | None:
        """The order with ``order_key``, or None."""
        with self._lock:
            order_id = self._by_key.get(order_key)
            return dict(self.orders[order_id]) if order_id is not None else None

    def list_orders(self, params: Mapping[str, str]) -> dict[str, Any]:
        """``GET /orders`` with ShipStation's filters and paging."""
        with self._lock:
            rows = list(self.orders.values())
        for name, field in (("orderNumber", "orderNumber"), ("orderStatus", "orderStatus"), ("orderKey", "orderKey")):
            if params.get(name):
                rows = [r for r in rows if str(r.get(field)) == params[name]]
        rows = date_filter(rows, params, "createDate")
        rows = date_filter(rows, params, "modifyDate", prefix="modifyDate")
        rows.sort(key=lambda r: (parse_pacific(r["createDate"]), r["orderId"]), reverse=descending(params))
        return page_of(rows, params, "orders")

    def mark_as_shipped(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``markasshipped``: the order becomes ``shipped`` without a label (no shipment is created).

        Raises:
            SandboxError: 400 without orderId/carrierCode, 404 for an unknown order.
        """
        order_id = body.get("orderId")
        if isinstance(order_id, bool) or not isinstance(order_id, int):
            raise bad("orderId is required")
        if not isinstance(body.get("carrierCode"), str) or not body["carrierCode"]:
            raise bad("carrierCode is required")
        with self._lock:
            order = self.orders.get(order_id)
            if order is None:
                raise SandboxError(404, f"Order {order_id} not found.")
            if order["orderStatus"] == "cancelled":
                raise bad(f"Order {order['orderNumber']} is cancelled and cannot be marked as shipped.")
            order.update(orderStatus="shipped", externallyFulfilled=True, shipDate=body.get("shipDate"),
                         carrierCode=body["carrierCode"], modifyDate=to_pacific_text(self.clock()))  # fmt: skip
            return {"orderId": order_id, "orderNumber": order["orderNumber"]}

    # --- shipments -----------------------------------------------------------------------------

    def ship_order(
        self,
        order_key: str,
        packages: Sequence[Sequence[tuple[str, int]]] | None = None,
        *,
        carrier_code: str | None = None,
        service_code: str | None = None,
        cost: Decimal | float | str = "7.85",
        notify: bool = True,
    ) -> list[dict[str, Any]]:
        """Ship an order: one shipment per package, then SHIP_NOTIFY to subscribers.

        Args:
            order_key: the order's ``orderKey``.
            packages: each package a list of (lineItemKey or sku, quantity); None ships every
                remaining unit in one package.
            carrier_code: ``carrierCode`` (default ``options.default_carrier``).
            service_code: ``serviceCode`` (default ``options.default_service``).
            cost: ``shipmentCost`` of each package.
            notify: send SHIP_NOTIFY to SHIP_NOTIFY subscribers.

        Raises:
            KeyError: no order with that key.
            ValueError: a package names an unknown item or more than remains unshipped.
        """
        with self._lock:
            order_id = self._by_key.get(order_key)
            if order_id is None:
                raise KeyError(order_key)
            order = self.orders[order_id]
            if order["orderStatus"] == "cancelled":
                raise ValueError(f"order {order['orderNumber']} is cancelled")
            remaining = self._remaining(order)
            if packages is None:
                packages = [[(k, q) for k, q in remaining.items() if q > 0]]
            now = self.clock()
            batch = uuid.uuid4().hex[:12]
            made: list[dict[str, Any]] = []
            for package in packages:
                items = []
                for ref, quantity in package:
                    item = self._order_item(order, ref)
                    key = item.get("lineItemKey") or str(item["orderItemId"])
                    if quantity < 1 or quantity > remaining.get(key, 0):
                        raise ValueError(f"cannot ship {quantity} of {ref!r}: {remaining.get(key, 0)} left")
                    remaining[key] -= quantity
                    items.append({**{k: item.get(k) for k in ("orderItemId", "lineItemKey", "sku", "name", "unitPrice",
                                                               "weight", "productId", "fulfillmentSku", "upc")},
                                  "quantity": quantity})  # fmt: skip
                if not items:
                    raise ValueError("a package needs at least one item")
                made.append(self._shipment(order, items, now, batch, carrier_code, service_code, cost))
            if all(q == 0 for q in remaining.values()):
                order.update(orderStatus="shipped", shipDate=pacific_date(now).isoformat())
            order["modifyDate"] = to_pacific_text(now)
        if notify and made:
            self._notify("SHIP_NOTIFY", f"{self.base_url}/shipments?batchId={batch}&includeShipmentItems=True", batch)
        return made

    def _remaining(self, order: Mapping[str, Any]) -> dict[str, int]:
        left = {
            (item.get("lineItemKey") or str(item["orderItemId"])): int(item["quantity"])
            for item in order["items"]
            if not item.get("adjustment")
        }
        for shipment in self.shipments.values():
            if shipment["orderId"] == order["orderId"] and not shipment["voided"]:
                for item in shipment["shipmentItems"]:
                    key = item.get("lineItemKey") or str(item["orderItemId"])
                    left[key] = left.get(key, 0) - int(item["quantity"])
        return left

    @staticmethod
    def _order_item(order: Mapping[str, Any], ref: str) -> dict[str, Any]:
        for item in order["items"]:
            if not item.get("adjustment") and ref in (
                item.get("lineItemKey"),
                item.get("sku"),
                str(item["orderItemId"]),
            ):
                return dict(item)
        raise ValueError(f"order {order['orderNumber']} has no item {ref!r}")

    def _shipment(
        self,
        order: Mapping[str, Any],
        items: list[dict[str, Any]],
        now: datetime,
        batch: str,
        carrier_code: str | None,
        service_code: str | None,
        cost: Decimal | float | str,
    ) -> dict[str, Any]:
        shipment_id = self._next("shipment")
        shipment = {
            "shipmentId": shipment_id, "orderId": order["orderId"], "orderKey": order["orderKey"], "userId": None,
            "customerEmail": order.get("customerEmail"), "orderNumber": order["orderNumber"],
            "createDate": to_pacific_text(now), "shipDate": pacific_date(now).isoformat(),
            "shipmentCost": num(Decimal(str(cost))), "insuranceCost": 0,
            "trackingNumber": f"9400{shipment_id:018d}", "isReturnLabel": False, "batchNumber": batch,
            "carrierCode": carrier_code or self.options.default_carrier,
            "serviceCode": service_code or self.options.default_service, "packageCode": "package",
            "confirmation": "delivery", "warehouseId": None, "voided": False, "voidDate": None,
            "marketplaceNotified": False, "notifyErrorMessage": None, "shipTo": order.get("shipTo"),
            "weight": {"value": 16, "units": "ounces", "WeightUnits": 1}, "dimensions": None,
            "insuranceOptions": {"provider": None, "insureShipment": False, "insuredValue": 0},
            "advancedOptions": order.get("advancedOptions"), "shipmentItems": items, "labelData": None,
            "formData": None,
        }  # fmt: skip
        self.shipments[shipment_id] = shipment
        return dict(shipment)

    def void_shipment(self, shipment_id: int) -> dict[str, Any]:
        """Void a label: ``voided`` true, ``voidDate`` now; the units can ship again.

        Raises:
            SandboxError: 404 for an unknown shipment.
        """
        with self._lock:
            shipment = self.shipments.get(shipment_id)
            if shipment is None:
                raise SandboxError(404, f"Shipment {shipment_id} not found.")
            if not shipment["voided"]:
                shipment.update(voided=True, voidDate=to_pacific_text(self.clock()))
                order = self.orders.get(shipment["orderId"])
                if order is not None and order["orderStatus"] == "shipped":
                    order["orderStatus"] = "awaiting_shipment"
            return {"approved": True, "message": "Label voided successfully"}

    def list_shipments(self, params: Mapping[str, str]) -> dict[str, Any]:
        """``GET /shipments`` with ShipStation's filters and paging (items only with includeShipmentItems)."""
        with self._lock:
            rows = [dict(s) for s in self.shipments.values()]
        for name in ("orderId", "orderNumber", "trackingNumber", "batchId", "carrierCode"):
            if params.get(name):
                field = "batchNumber" if name == "batchId" else name
                rows = [r for r in rows if str(r.get(field)) == params[name]]
        rows = date_filter(rows, params, "createDate")
        rows = date_filter(rows, params, "shipDate", prefix="shipDate")
        rows = date_filter(rows, params, "voidDate", prefix="voidDate")
        sort = "shipDate" if params.get("sortBy", "").lower() == "shipdate" else "createDate"
        rows.sort(key=lambda r: (parse_pacific(r[sort]), r["shipmentId"]), reverse=descending(params))
        if params.get("includeShipmentItems", "false").lower() != "true":
            rows = [{**r, "shipmentItems": None} for r in rows]
        return page_of(rows, params, "shipments")

    # --- webhooks ------------------------------------------------------------------------------

    def subscribe(self, target_url: str, event: str, *, store_id: int | None = None, friendly_name: str = "") -> int:
        """Subscribe ``target_url`` to ``event``; return the webhook id.

        Raises:
            SandboxError: 400 for an unknown event or a target that is not an http(s) URL.
        """
        if event not in HOOK_EVENTS:
            raise bad(f"event must be one of {', '.join(sorted(HOOK_EVENTS))}")
        if not isinstance(target_url, str) or not target_url.startswith(("http://", "https://")):
            raise bad("target_url must be an http(s) URL")
        with self._lock:
            hook_id = self._next("hook")
            self.webhooks[hook_id] = {
                "IsLabelAPIHook": False, "WebHookID": hook_id, "SellerID": 1, "StoreID": store_id,
                "HookType": event, "MessageFormat": "Json", "Url": target_url, "Name": friendly_name or None,
                "BulkCopyBatchID": None, "BulkCopyRecordID": None, "Active": True, "WebhookLogs": [],
                "Seller": None, "Store": None,
            }  # fmt: skip
            return hook_id

    def list_webhooks(self) -> list[dict[str, Any]]:
        """Every subscription."""
        with self._lock:
            return [dict(hook) for hook in self.webhooks.values()]

    def unsubscribe(self, hook_id: int) -> None:
        """Remove a subscription.

        Raises:
            SandboxError: 404 for an unknown id.
        """
        with self._lock:
            if self.webhooks.pop(hook_id, None) is None:
                raise SandboxError(404, f"Webhook {hook_id} not found.")

    def _notify(self, event: str, resource_url: str, batch: str) -> None:
        body = json.dumps({"resource_url": resource_url, "resource_type": event}, separators=(",", ":")).encode()
        with self._lock:
            hooks = [h for h in self.webhooks.values() if h["HookType"] == event and h["Active"]]
            for hook in hooks:
                delivery = Delivery(
                    webhook_id=str(hook["WebHookID"]), event_id=batch, topic=event, object_id=batch,
                    address=hook["Url"], body=body,
                    headers={"Content-Type": "application/json", "User-Agent": "ShipStation Webhook"},
                    triggered_at=self.clock().isoformat(),
                )  # fmt: skip
                delivery.duplicate = self.dice.roll(self.knobs.duplicate_webhook_rate)
                delivery.out_of_order = self.dice.roll(self.knobs.out_of_order_rate)
                self.sender.enqueue(delivery)

    def delivery_log(self) -> list[dict[str, Any]]:
        """Every notification sent so far, with each attempt's status (the address shows its token)."""
        return [delivery.to_json() for delivery in list(self.sender.log)]
