"""State of the Amazon sandbox: LWA tokens, orders and items, shipments, listings, feeds, buckets.

Everything is guarded by one lock so the demo can drive it from another thread
(``create_orders``, ``cancel_order``, ``request_cancel``, ``subscribe``, ``set_knobs``…)
while the ASGI app serves requests. Times come from ``clock`` (seconds since the epoch), so
tests can move the sandbox's "now".
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tradewire.connectors.amazon.operations import OPERATIONS
from tradewire.connectors.amazon.sandbox_data import (
    DEFAULT_CATALOG,
    build_order_change,
    error_body,
    generate_order,
    issue,
    listing_patch_issues,
    money,
)
from tradewire.connectors.amazon.sandbox_feeds import FeedsDesk
from tradewire.connectors.base.sandbox import FaultDice, FaultKnobs
from tradewire.connectors.base.sandbox_webhooks import Delivery, WebhookSender

MAX_PAGE_TOKENS = 10_000


@dataclass
class SandboxOptions:
    """Behaviour of the sandbox beyond the fault knobs.

    Attributes:
        limits: (rate, burst) per operation overriding the documented usage plans.
        send_retry_after: add ``Retry-After`` to bucket 429s ([unverified] Amazon documents none).
        token_lifetime_seconds: ``expires_in`` of LWA tokens and RDTs.
        order_items_page_size: OrderItems per getOrderItems page.
        feed_polls_to_finish: getFeed calls before a feed is DONE (IN_QUEUE, IN_PROGRESS first).
        garbage_rate: answer 200 with an HTML page instead of JSON (a flaky edge).
        relay_envelope: ``notification`` (the SP-API message) or ``eventbridge`` (wrapped in ``detail``).
        tax_rate: sales tax of generated orders (US, tax-exclusive prices).
        retry_delays: the relay's retry schedule for failed deliveries.
    """

    limits: dict[str, tuple[float, float]] = field(default_factory=dict)
    send_retry_after: bool = False
    token_lifetime_seconds: float = 3600.0
    order_items_page_size: int = 100
    feed_polls_to_finish: int = 2
    garbage_rate: float = 0.0
    relay_envelope: str = "notification"
    tax_rate: Decimal = Decimal("0.08")
    retry_delays: list[float] = field(default_factory=lambda: [0.2, 0.5, 1.0])


class Bucket:
    """A token bucket that really throttles (monotonic clock)."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.level = burst
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.level = min(self.burst, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.level >= 1.0:
            self.level -= 1.0
            return True
        return False


@dataclass
class Token:
    """An access token the sandbox issued."""

    kind: str  # "lwa", "grantless" or "rdt"
    expires_at: float
    resources: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Relay:
    """An EventBridge API destination (or SQS relay) POSTing notifications to ``address``."""

    address: str
    secret: str
    header: str


class SandboxAmazon:
    """The seller account behind the sandbox. Plain methods, safe from any thread."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        seller_id: str,
        marketplace_id: str,
        knobs: FaultKnobs | None,
        catalog: Sequence[tuple[str, str, str | Decimal | float]] | None,
        options: SandboxOptions | None,
        clock: Callable[[], float],
        seed: int | None,
    ) -> None:
        self.client_id, self.client_secret, self.refresh_token = client_id, client_secret, refresh_token
        self.seller_id, self.marketplace_id = seller_id, marketplace_id
        self.knobs = knobs or FaultKnobs(seed=seed)
        self.dice = FaultDice(self.knobs)
        self.options = options or SandboxOptions()
        self.clock = clock
        self.catalog = [(s, t, Decimal(str(p))) for s, t, p in (catalog or DEFAULT_CATALOG)]
        self.lock = threading.RLock()
        self.served = 0
        self.tokens: dict[str, Token] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.items: dict[str, list[dict[str, Any]]] = {}
        self.packages: dict[tuple[str, str], dict[str, Any]] = {}
        self.listings: dict[str, dict[str, Any]] = {
            sku: {"sku": sku, "productType": "PRODUCT", "quantity": 0, "title": title} for sku, title, _ in self.catalog
        }
        self.page_tokens: dict[str, tuple[str, int, list[str]]] = {}
        self.buckets = {
            name: Bucket(*self.options.limits.get(name, (op.rate, op.burst))) for name, op in OPERATIONS.items()
        }
        self.relays: list[Relay] = []
        self.destinations: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.sender = WebhookSender(
            retry_delays=self.options.retry_delays, out_of_order_delay=0.3, duplicate_delay=0.05, concurrency=8
        )
        self.feeds = FeedsDesk(self)
        self._last_stamp = 0.0
        self._sequence = 0

    # --- time and ids -----------------------------------------------------------------------------

    def now_text(self) -> str:
        """Now as Amazon writes it, strictly later than any earlier stamp (so changes order)."""
        with self.lock:
            moment = max(self.clock(), self._last_stamp + 0.001)
            self._last_stamp = moment
            return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _order_id(self) -> str:
        self._sequence += 1
        n = self._sequence
        return f"{111 + n % 800:03d}-{(n * 7919) % 10_000_000:07d}-{n:07d}"

    def set_knobs(self, **changes: Any) -> FaultKnobs:
        """Change fault knobs (partial update); returns the new knobs."""
        with self.lock:
            self.knobs = FaultKnobs.model_validate({**self.knobs.model_dump(), **changes})
            self.dice.knobs = self.knobs
            return self.knobs

    # --- LWA ----------------------------------------------------------------------------------------

    def issue_token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The LWA token endpoint: (status, body)."""
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return 401, {"error": "invalid_client", "error_description": "Client authentication failed"}
        grant = form.get("grant_type")
        if grant == "refresh_token":
            if form.get("refresh_token") != self.refresh_token:
                return 400, {
                    "error": "invalid_grant",
                    "error_description": "The request has an invalid grant parameter : refresh_token",
                }
            kind = "lwa"
        elif grant == "client_credentials":
            if form.get("scope") not in ("sellingpartnerapi::notifications", "sellingpartnerapi::migration"):
                return 400, {
                    "error": "invalid_scope",
                    "error_description": "The request has an invalid parameter : scope",
                }
            kind = "grantless"
        else:
            return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}
        value = "Atza|" + secrets.token_urlsafe(24)
        lifetime = self.options.token_lifetime_seconds
        with self.lock:
            self.tokens[value] = Token(kind=kind, expires_at=self.clock() + lifetime)
        body: dict[str, Any] = {"access_token": value, "token_type": "bearer", "expires_in": int(lifetime)}
        if kind == "lwa":
            body["refresh_token"] = self.refresh_token
        return 200, body

    def issue_rdt(self, resources: list[dict[str, Any]]) -> str:
        """A Restricted Data Token for ``resources`` (validated by the caller)."""
        value = "Atz.sprdt|" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[value] = Token(
                kind="rdt", expires_at=self.clock() + self.options.token_lifetime_seconds, resources=resources
            )
        return value

    def token(self, value: str) -> Token | None:
        """The live token ``value`` names (None: unknown); expired tokens are returned for the caller to refuse."""
        with self.lock:
            return self.tokens.get(value)

    def revoke_tokens(self) -> int:
        """Forget every issued token (an access token dies mid-run); returns how many."""
        with self.lock:
            count = len(self.tokens)
            self.tokens.clear()
            return count

    # --- orders -------------------------------------------------------------------------------------

    def create_orders(
        self,
        count: int,
        *,
        catalog: Sequence[tuple[str, str, str | Decimal | float]] | None = None,
        lines: int | None = None,
    ) -> list[str]:
        """Create ``count`` Unshipped MFN orders drawn from ``catalog``; notify relays. Returns their ids."""
        goods = [(s, t, Decimal(str(p))) for s, t, p in catalog] if catalog else self.catalog
        created: list[str] = []
        with self.lock:
            for _ in range(count):
                order_id = self._order_id()
                picks = lines or 1 + int(self.dice.uniform(0, min(3, len(goods))))
                chosen = [goods[(self._sequence + k) % len(goods)] for k in range(picks)]
                self._add_order(order_id, chosen)
                created.append(order_id)
        for order_id in created:
            self.notify(order_id, "OrderStatusChange", "NewOrder")
        return created

    def _add_order(self, order_id: str, chosen: list[tuple[str, str, Decimal]]) -> None:
        order, items = generate_order(
            self._sequence,
            order_id,
            chosen,
            stamp=self.now_text(),
            marketplace_id=self.marketplace_id,
            tax_rate=self.options.tax_rate,
        )
        self.orders[order_id], self.items[order_id] = order, items

    def get_order(self, order_id: str) -> dict[str, Any] | None:
        """A copy of one order element with all PII (None when unknown)."""
        with self.lock:
            order = self.orders.get(order_id)
            return json.loads(json.dumps(order)) if order else None

    def get_items(self, order_id: str) -> list[dict[str, Any]] | None:
        """Copies of the items of one order (None when unknown)."""
        with self.lock:
            items = self.items.get(order_id)
            return json.loads(json.dumps(items)) if items is not None else None

    def query_orders(self, after: datetime, before: datetime, marketplaces: set[str]) -> list[str]:
        """Ids of orders last updated in [after, before], oldest update first."""
        with self.lock:
            rows = [
                (stamp, order_id)
                for order_id, order in self.orders.items()
                if order["MarketplaceId"] in marketplaces
                and after <= (stamp := datetime.fromisoformat(order["LastUpdateDate"])) <= before
            ]
        return [order_id for _, order_id in sorted(rows)]

    def remember_page(self, kind: str, size: int, rest: list[str]) -> str:
        """A NextToken for the ids still to serve, ``size`` at a time."""
        token = base64.urlsafe_b64encode(secrets.token_bytes(18)).decode("ascii")
        with self.lock:
            self.page_tokens[token] = (kind, size, rest)
            if len(self.page_tokens) > MAX_PAGE_TOKENS:  # a long demo must not grow without bound
                del self.page_tokens[next(iter(self.page_tokens))]
        return token

    def take_page(self, kind: str, token: str) -> tuple[int, list[str]] | None:
        """(page size, ids still to serve) of a NextToken of ``kind``; None when unknown."""
        with self.lock:
            found = self.page_tokens.get(token)
        return (found[1], found[2]) if found and found[0] == kind else None

    def _touch(self, order_id: str, status: str | None = None) -> None:
        order = self.orders[order_id]
        if status:
            order["OrderStatus"] = status
        order["LastUpdateDate"] = self.now_text()

    def cancel_order(self, order_id: str, reason: str = "Seller cancelled") -> dict[str, Any]:
        """Cancel an unshipped order (as the seller would in Seller Central); notifies relays."""
        with self.lock:
            order = self.orders[order_id]
            if order["OrderStatus"] in ("Shipped", "PartiallyShipped"):
                raise ValueError(f"order {order_id} already shipped")
            for item in self.items[order_id]:
                item["QuantityOrdered"] = 0
                for key in ("ItemPrice", "ItemTax", "ShippingPrice", "PromotionDiscount"):
                    item[key] = money(Decimal(0), "USD")
            order.pop("OrderTotal", None)
            order["NumberOfItemsUnshipped"] = 0
            self._touch(order_id, "Canceled")
        self.notify(order_id, "OrderStatusChange", reason)
        return self.get_order(order_id) or {}

    def request_cancel(self, order_id: str, reason: str = "Found cheaper somewhere else.") -> None:
        """The buyer asks to cancel (BuyerRequestedChange notification)."""
        with self.lock:
            for item in self.items[order_id]:
                item["BuyerRequestedCancel"] = {"IsBuyerRequestedCancel": "true", "BuyerCancelReason": reason}
            self._touch(order_id)
        self.notify(order_id, "BuyerRequestedChange", "Buyer Requested Cancel")

    def confirm_shipment(self, order_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        """confirmShipment: (204, None), or (status, error body)."""
        detail = body.get("packageDetail")
        if body.get("marketplaceId") != self.marketplace_id:
            return 400, error_body(
                "InvalidInput",
                "The input you have submitted is not valid. Please check the fields with invalid type [marketplaceId].",
            )
        if not isinstance(detail, dict):
            return 400, error_body(
                "InvalidInput",
                "The input you have submitted is not valid. Please check the fields with invalid type [packageDetail].",
            )
        reference = detail.get("packageReferenceId")
        if not isinstance(reference, str) or not reference.isdigit() or int(reference) <= 0:
            return 400, error_body(
                "InvalidInput",
                "The input you have submitted is not valid. Please check the fields with invalid type [packageDetail.packageReferenceId].",
            )
        for key in ("carrierCode", "shipDate"):
            if not isinstance(detail.get(key), str) or not detail[key]:
                return 400, error_body(
                    "InvalidInput",
                    f"The input you have submitted is not valid. Please check the fields with invalid type [packageDetail.{key}].",
                )
        lines = detail.get("orderItems")
        if not isinstance(lines, list) or not lines:
            return 400, error_body(
                "InvalidInput",
                "The input you have submitted is not valid. Please check the fields with invalid type [packageDetail.orderItems].",
            )
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                return 404, error_body("NotFound", f"Order {order_id} not found.")
            if (order_id, reference) in self.packages:
                # The same package again (a retry): Amazon keeps the first confirmation.
                return 204, None
            if order["OrderStatus"] == "Canceled":
                return 400, error_body(
                    "InvalidInput",
                    "Failed to create package due to not finding a matching package or order already fulfilled.",
                )
            by_id = {i["OrderItemId"]: i for i in self.items[order_id]}
            wanted: dict[str, int] = {}
            for line in lines:
                item = by_id.get(str(line.get("orderItemId"))) if isinstance(line, dict) else None
                quantity = line.get("quantity") if isinstance(line, dict) else None
                if item is None or not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
                    return 400, error_body(
                        "InvalidInput",
                        f"The input you have submitted is not valid. Please check the fields with invalid type [packageDetail.orderItems] ({line!r:.80}).",
                    )
                wanted[item["OrderItemId"]] = wanted.get(item["OrderItemId"], 0) + quantity
            for item_id, quantity in wanted.items():
                item = by_id[item_id]
                if item["QuantityShipped"] + quantity > item["QuantityOrdered"]:
                    return 400, error_body(
                        "InvalidInput",
                        "Failed to create package due to not finding a matching package or order already fulfilled.",
                    )
            for item_id, quantity in wanted.items():
                by_id[item_id]["QuantityShipped"] += quantity
            self.packages[(order_id, reference)] = json.loads(json.dumps(detail))
            shipped = sum(i["QuantityShipped"] for i in by_id.values())
            ordered = sum(i["QuantityOrdered"] for i in by_id.values())
            order["NumberOfItemsShipped"], order["NumberOfItemsUnshipped"] = shipped, ordered - shipped
            self._touch(order_id, "Shipped" if shipped >= ordered else "PartiallyShipped")
        self.notify(order_id, "OrderStatusChange", "ShipmentConfirmed")
        return 204, None

    # --- listings -------------------------------------------------------------------------------------

    def listing_quantity(self, sku: str) -> int | None:
        """MFN quantity of ``sku`` (None: no listing)."""
        with self.lock:
            listing = self.listings.get(sku)
            return None if listing is None else int(listing["quantity"])

    def patch_listing(self, sku: str, body: Any) -> dict[str, Any]:
        """Apply a ListingsItemPatchRequest; returns the submission response."""
        issues = listing_patch_issues(body)
        with self.lock:
            listing = self.listings.get(sku)
            if listing is None:
                issues.append(
                    issue("90000900", f"The SKU '{sku}' does not exist for this seller in this marketplace.", [])
                )
            if not issues:
                for patch in body["patches"]:
                    for entry in patch["value"]:
                        if entry["fulfillment_channel_code"] == "DEFAULT":
                            assert listing is not None
                            listing["quantity"] = entry["quantity"]
                            listing["productType"] = body["productType"]
        return {
            "sku": sku,
            "status": "INVALID" if issues else "ACCEPTED",
            "submissionId": str(uuid.uuid4()),
            "issues": issues,
        }

    # --- notifications --------------------------------------------------------------------------------

    def subscribe(self, address: str, secret: str, *, header: str = "x-tradewire-relay-secret") -> dict[str, Any]:
        """Route ORDER_CHANGE to ``address`` through a relay sending ``header: secret`` (thread-safe)."""
        if not address.startswith(("http://", "https://")):
            raise ValueError("address must be an http(s) URL")
        if not secret:
            raise ValueError("a relay needs a shared secret")
        with self.lock:
            self.relays.append(Relay(address=address, secret=secret, header=header.lower()))
            if not self.subscriptions:
                self.subscriptions["ORDER_CHANGE"] = {
                    "subscriptionId": str(uuid.uuid4()),
                    "payloadVersion": "1.0",
                    "destinationId": "relay",
                }
        return {"address": address, "header": header.lower()}

    def notification(self, order_id: str, change_type: str, reason: str) -> dict[str, Any]:
        """The ORDER_CHANGE message Amazon would publish for the order as it is now."""
        with self.lock:
            subscription = self.subscriptions.get("ORDER_CHANGE", {}).get("subscriptionId", "sandbox-subscription")
            return build_order_change(
                self.orders[order_id],
                self.items[order_id],
                seller_id=self.seller_id,
                change_type=change_type,
                reason=reason,
                subscription_id=subscription,
                publish_time=self.now_text(),
            )

    def notify(self, order_id: str, change_type: str, reason: str) -> None:
        """Publish one ORDER_CHANGE to every relay (duplicate / out-of-order knobs apply)."""
        with self.lock:
            relays = list(self.relays)
        if not relays:
            return
        message = self.notification(order_id, change_type, reason)
        if self.options.relay_envelope == "eventbridge":
            message = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "ORDER_CHANGE",
                "source": "aws.partner/sellingpartnerapi.amazon.com/amzn1.sp.solution.sandbox",
                "account": "123456789012",
                "time": message["EventTime"],
                "region": "us-east-1",
                "resources": [],
                "detail": message,
            }
        body = json.dumps(message, separators=(",", ":")).encode("utf-8")
        event_id = message.get("detail", message)["NotificationMetadata"]["NotificationId"]
        for relay in relays:
            with self.lock:
                duplicate = self.dice.roll(self.knobs.duplicate_webhook_rate)
                late = self.dice.roll(self.knobs.out_of_order_rate)
            self.sender.enqueue(
                Delivery(
                    webhook_id=str(uuid.uuid4()),
                    event_id=event_id,
                    topic="ORDER_CHANGE",
                    object_id=order_id,
                    address=relay.address,
                    body=body,
                    headers={"Content-Type": "application/json", relay.header: relay.secret},
                    triggered_at=message.get("detail", message)["EventTime"],
                    duplicate=duplicate,
                    out_of_order=late,
                )
            )

    def delivery_log(self, order_id: str | None = None) -> list[dict[str, Any]]:
        """Every notification delivery so far (optionally for one order)."""
        return [d.to_json() for d in list(self.sender.log) if order_id is None or d.object_id == order_id]
