"""State of one sandbox store, and its plain-Python API.

Tests and the demo drive a running sandbox without HTTP through ``app.state.shop``:
``shop.create_orders(5)``, ``shop.cancel_order(order_id)``, ``shop.subscribe(topic, address)``,
``shop.set_knobs(fail_rate=0.2)``, ``shop.delivery_log()``. Every method is thread-safe.
"""

from __future__ import annotations

import copy
import itertools
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from tradewire.connectors.base.sandbox import FaultDice, FaultKnobs
from tradewire.connectors.shopify.sandbox_fulfilment import FulfilmentBook
from tradewire.connectors.shopify.sandbox_orders import DEFAULT_CATALOG, OrderGenerator, shop_time
from tradewire.connectors.shopify.sandbox_refunds import RefundBook
from tradewire.connectors.shopify.sandbox_stock import StockBook
from tradewire.connectors.shopify.sandbox_webhooks import WebhookSender, build_delivery
from tradewire.connectors.shopify.webhooks import ORDER_TOPICS

SUPPORTED_TOPICS = (*ORDER_TOPICS, "refunds/create", "fulfillments/create", "customers/create", "customers/update")


class SandboxOptions(BaseModel):
    """How the sandbox store behaves beyond the fault knobs."""

    bucket_size: float = Field(default=2000.0, gt=0, description="GraphQL cost bucket capacity (maximumAvailable).")
    restore_rate: float = Field(default=100.0, gt=0, description="Cost points restored per second (Standard plan).")
    max_query_cost: int = Field(default=1000, gt=0, description="Largest requested cost of a single query.")
    webhook_retry_delays: list[float] = Field(
        default=[0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0],
        description="Seconds before each retry of a failed delivery (Shopify: 8 tries over 4 h).",
    )
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, description="Time the receiver has to answer 2xx.")
    webhook_connect_timeout_seconds: float = Field(default=1.0, gt=0, description="Time to connect to the receiver.")
    out_of_order_delay_seconds: float = Field(default=0.5, ge=0, description="Hold-back of an out-of-order delivery.")
    duplicate_delay_seconds: float = Field(default=0.05, ge=0, description="Gap between a delivery and its duplicate.")
    webhook_concurrency: int = Field(default=32, ge=1, description="Most deliveries in flight at once.")
    id_base: int = Field(
        default=2**53 + 10_000, gt=0, description="First id handed out; above 2^53 to catch float parsing."
    )
    first_order_number: int = Field(default=1001, ge=1, description="Order number of the first order (#1001).")
    currency: str = Field(default="USD", description="Shop currency.")
    utc_offset_minutes: int = Field(default=-240, description="Shop time zone offset used in REST timestamps.")
    customer_pool: int = Field(default=25, ge=1, description="Distinct returning customers.")
    guest_rate: float = Field(default=0.15, ge=0, le=1, description="Share of guest checkouts (no customer).")
    taxes_included_rate: float = Field(default=0.1, ge=0, le=1, description="Share of orders with VAT in prices.")
    locations: list[str] = Field(
        default=["Main warehouse", "Retail store"], min_length=1, description="Locations (the first is the default)."
    )
    initial_available: int = Field(
        default=0, description="Starting 'available' of every catalog SKU at every location."
    )


class LeakyBucket:
    """Shopify's GraphQL cost bucket: ``capacity`` points, refilled at ``restore_rate`` per second."""

    def __init__(self, capacity: float, restore_rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self.restore_rate = restore_rate
        self._clock = clock
        self._level = capacity
        self._at = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._level = min(self.capacity, self._level + (now - self._at) * self.restore_rate)
        self._at = now

    def available(self) -> float:
        """Points available now."""
        with self._lock:
            self._refill()
            return self._level

    def take(self, cost: float) -> bool:
        """Take ``cost`` points if that many are available."""
        with self._lock:
            self._refill()
            if cost > self._level:
                return False
            self._level -= cost
            return True

    def refund(self, points: float) -> None:
        """Give back points charged but not used (requested − actual cost)."""
        with self._lock:
            self._refill()
            self._level = min(self.capacity, self._level + max(points, 0.0))

    def set_available(self, points: float) -> None:
        """Force the level (tests and the demo use it to provoke throttling)."""
        with self._lock:
            self._refill()
            self._level = min(self.capacity, max(points, 0.0))

    def status(self) -> dict[str, float]:
        """``throttleStatus`` as Shopify reports it."""
        return {
            "maximumAvailable": self.capacity,
            "currentlyAvailable": round(self.available(), 1),
            "restoreRate": self.restore_rate,
        }


class SandboxShop:
    """One fake store: orders, webhook subscriptions, the cost bucket, the fault dice."""

    def __init__(
        self,
        *,
        client_secret: str,
        access_token: str,
        knobs: FaultKnobs | None = None,
        catalog: Sequence[tuple[str, str, str | Decimal | float]] | None = None,
        api_version: str = "2026-10",
        shop_domain: str = "tradewire-sandbox.myshopify.com",
        seed: int | None = None,
        options: SandboxOptions | None = None,
    ) -> None:
        self.client_secret = client_secret
        self.access_token = access_token
        self.api_version = api_version
        self.shop_domain = shop_domain
        self.options = options or SandboxOptions()
        self._lock = threading.RLock()
        self._random = random.Random(seed)
        self.knobs = knobs or FaultKnobs()
        self.dice = FaultDice(
            self.knobs if self.knobs.seed is not None else self.knobs.model_copy(update={"seed": seed})
        )
        self.served = 0
        self._ids = itertools.count(self.options.id_base)
        self._numbers = itertools.count(self.options.first_order_number)
        self._tz = timezone(timedelta(minutes=self.options.utc_offset_minutes))
        self.generator = OrderGenerator(
            catalog or DEFAULT_CATALOG,
            self._random,
            self.next_id,
            currency=self.options.currency,
            customer_pool=self.options.customer_pool,
            guest_rate=self.options.guest_rate,
            taxes_included_rate=self.options.taxes_included_rate,
        )
        self.orders: dict[int, dict[str, Any]] = {}
        self.subscriptions: list[dict[str, Any]] = []
        self.bucket = LeakyBucket(self.options.bucket_size, self.options.restore_rate)
        self.stock = StockBook(
            self._lock,
            self.next_id,
            self.now_text,
            location_names=self.options.locations,
            skus=[sku for sku, _title, _price in catalog or DEFAULT_CATALOG],
            initial=self.options.initial_available,
        )
        self.fulfilment = FulfilmentBook(self)
        self.refund_book = RefundBook(self)
        self.idempotent_results: dict[tuple[str, str], Any] = {}
        self.sender = WebhookSender(
            retry_delays=self.options.webhook_retry_delays,
            out_of_order_delay=self.options.out_of_order_delay_seconds,
            duplicate_delay=self.options.duplicate_delay_seconds,
            concurrency=self.options.webhook_concurrency,
        )

    # --- helpers ---------------------------------------------------------------------------------

    def next_id(self) -> int:
        """The next id of Shopify's single id space."""
        return next(self._ids)

    def now_text(self) -> str:
        """Now as Shopify REST writes it (whole seconds, shop offset)."""
        return shop_time(datetime.now(self._tz))

    # --- orders ----------------------------------------------------------------------------------

    def create_orders(self, count: int) -> list[dict[str, Any]]:
        """Create ``count`` realistic orders; each sends ``orders/create`` to subscribers."""
        if count < 0:
            raise ValueError("count must be >= 0")
        created = []
        with self._lock:
            for _ in range(count):
                order = self.generator.new_order(
                    order_id=self.next_id(), number=next(self._numbers), now=self.now_text()
                )
                self.orders[order["id"]] = order
                created.append(copy.deepcopy(order))
                self._emit(["orders/create"], order)
        return created

    def add_order(self, order: Mapping[str, Any]) -> dict[str, Any]:
        """Store a given REST order as is (its ``id`` is kept, or one is assigned) and announce it."""
        with self._lock:
            stored = copy.deepcopy(dict(order))
            stored.setdefault("id", self.next_id())
            stored.setdefault("admin_graphql_api_id", f"gid://shopify/Order/{stored['id']}")
            now = self.now_text()
            stored.setdefault("created_at", now)
            stored.setdefault("updated_at", now)
            self.orders[int(stored["id"])] = stored
            self._emit(["orders/create"], stored)
            return copy.deepcopy(stored)

    def get_order(self, order_id: int) -> dict[str, Any] | None:
        """A copy of the REST order, or None."""
        with self._lock:
            order = self.orders.get(order_id)
            return copy.deepcopy(order) if order is not None else None

    def list_orders(self) -> list[dict[str, Any]]:
        """Copies of every order, oldest first."""
        with self._lock:
            return [copy.deepcopy(o) for o in self.orders.values()]

    def update_order(self, order_id: int, *, note: str | None = None, tags: list[str] | None = None) -> dict[str, Any]:
        """Change note/tags; sends ``orders/updated``.

        Raises:
            KeyError: no such order.
        """
        with self._lock:
            order = self.orders[order_id]
            if note is not None:
                order["note"] = note
            if tags is not None:
                order["tags"] = ", ".join(tags)
            order["updated_at"] = self.now_text()
            self._emit(["orders/updated"], order)
            return copy.deepcopy(order)

    def cancel_order(self, order_id: int, *, reason: str = "customer") -> dict[str, Any]:
        """Cancel an order; sends ``orders/cancelled`` and ``orders/updated`` with one event id.

        Raises:
            KeyError: no such order.
            ValueError: already cancelled.
        """
        with self._lock:
            order = self.orders[order_id]
            if order.get("cancelled_at"):
                raise ValueError(f"order {order_id} is already cancelled")
            now = self.now_text()
            order.update(cancelled_at=now, cancel_reason=reason.lower(), updated_at=now, closed_at=now)
            if order.get("financial_status") in ("pending", "authorized"):
                order["financial_status"] = "voided"
            self._emit(["orders/cancelled", "orders/updated"], order)
            return copy.deepcopy(order)

    # --- webhooks --------------------------------------------------------------------------------

    def subscribe(self, topic: str, address: str) -> dict[str, Any]:
        """Subscribe ``address`` to ``topic`` (REST form, e.g. ``orders/create``).

        Raises:
            ValueError: unknown topic, address not http(s), or already subscribed.
        """
        topic = topic.strip().lower()
        if topic not in SUPPORTED_TOPICS:
            raise ValueError(f"topic {topic!r} is not supported by the sandbox")
        if not address.startswith(("http://", "https://")) or len(address.split("/", 3)[2]) == 0:
            raise ValueError("Address is invalid")
        with self._lock:
            if any(s["topic"] == topic and s["address"] == address for s in self.subscriptions):
                raise ValueError("Address for this topic has already been taken")
            subscription = {
                "id": self.next_id(),
                "topic": topic,
                "address": address,
                "format": "json",
                "api_version": self.api_version,
                "created_at": self.now_text(),
            }
            self.subscriptions.append(subscription)
            return dict(subscription)

    def _emit(self, topics: list[str], order: Mapping[str, Any]) -> None:
        event_id = str(uuid.uuid4())
        triggered_at = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        for topic in topics:
            for subscription in self.subscriptions:
                if subscription["topic"] != topic:
                    continue
                delivery = build_delivery(
                    topic=topic,
                    order=order,
                    address=subscription["address"],
                    client_secret=self.client_secret,
                    shop_domain=self.shop_domain,
                    api_version=self.api_version,
                    event_id=event_id,
                    triggered_at=triggered_at,
                )
                delivery.duplicate = self.dice.roll(self.knobs.duplicate_webhook_rate)
                delivery.out_of_order = self.dice.roll(self.knobs.out_of_order_rate)
                self.sender.enqueue(delivery)

    def delivery_log(self, order_id: int | None = None) -> list[dict[str, Any]]:
        """Every delivery (optionally of one order): ids, first send time, each attempt's status."""
        with self._lock:
            return [
                {**d.to_json(), "order_id": int(d.object_id)}
                for d in self.sender.log
                if order_id is None or d.object_id == str(order_id)
            ]

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no delivery is queued, in flight or waiting for a retry (or ``timeout``)."""
        deadline = time.monotonic() + timeout
        while self.sender.busy:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    # --- faults ----------------------------------------------------------------------------------

    def set_knobs(self, **changes: Any) -> FaultKnobs:
        """Change some fault knobs (validated); the dice keep their random stream.

        Raises:
            pydantic.ValidationError: a knob is out of range.
        """
        with self._lock:
            knobs = FaultKnobs.model_validate({**self.knobs.model_dump(), **changes})
            self.knobs = knobs
            self.dice.knobs = knobs
            return knobs
