"""State of one sandbox Walmart seller account, and its plain-Python API.

Tests and the demo drive it without HTTP through ``app.state.walmart`` (thread-safe):
``create_orders(count, catalog=[(sku, title, price)…])``, ``get_order(po)``,
``auto_cancel(po)``, ``subscribe(...)``, ``expire_tokens()``, ``set_knobs(...)``,
``set_bucket(scope, tokens)``, ``inventory``, ``feeds``, ``delivery_log()``.

Order line statuses move Created → Acknowledged → Shipped | Cancelled (per line quantity),
each change stamping ``statusDate``; ``lastModifiedStartDate`` filters on the latest one.
"""

from __future__ import annotations

import copy
import itertools
import json
import random
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from tradewire.connectors.base.sandbox import FaultDice, FaultKnobs
from tradewire.connectors.base.sandbox_webhooks import Delivery, WebhookSender
from tradewire.connectors.walmart.sandbox_orders import (
    DEFAULT_CATALOG,
    ORDER_EVENTS,
    SandboxError,
    add_refund,
    event_payload,
    iso_ms,
    line_statuses,
    move_quantity,
    new_order,
)
from tradewire.connectors.walmart.webhooks import basic_header, hmac_signature


class SandboxOptions(BaseModel):
    """How the sandbox behaves beyond the fault knobs ([unverified] Walmart numbers are guesses)."""

    token_ttl_seconds: float = Field(default=900.0, gt=0, description="Access token life (Walmart: 15 min).")
    buckets: dict[str, tuple[float, float]] = Field(
        default={
            "token": (10.0, 1.0),
            "orders": (50.0, 10.0),
            "orders_update": (20.0, 5.0),
            "inventory": (20.0, 5.0),
            "feeds": (30.0, 30.0 / 3600.0),
            "feed_status": (10.0, 2.0),
            "webhooks": (10.0, 1.0),
        },
        description="(capacity, tokens per second) per API; feeds: 30 per hour per feed type (sandbox docs).",
    )
    feed_processing_seconds: float = Field(default=0.2, ge=0, description="Time a feed stays INPROGRESS.")
    max_feed_bytes: int = Field(default=5 * 1024 * 1024, gt=0, description="Larger feed files get 413.")
    garbage_rate: float = Field(default=0.0, ge=0, le=1, description="Answer 200 with an HTML page or truncated JSON.")
    webhook_retry_delays: list[float] = Field(default=[0.5, 2.0, 8.0], description="Retry schedule (undocumented).")
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, description="Time the receiver has to answer 200.")
    out_of_order_delay_seconds: float = Field(default=0.5, ge=0, description="Hold-back of an out-of-order delivery.")
    duplicate_delay_seconds: float = Field(default=0.05, ge=0, description="Gap before a duplicate delivery.")
    webhook_concurrency: int = Field(default=16, ge=1, description="Most deliveries in flight at once.")
    partner_id: str = Field(default="10000682332", description="partnerId in payloads and cursors.")
    hmac_path: str | None = Field(
        default=None, description="[unverified] PATH?QUERY signed for HMAC (default: eventUrl's)."
    )


class TokenBucket:
    """Walmart's per-API token bucket: ``capacity`` tokens refilled at ``rate`` per second."""

    def __init__(self, capacity: float, rate: float, clock: Callable[[], float]) -> None:
        self.capacity, self.rate, self._clock = capacity, rate, clock
        self.level, self._at = capacity, clock()

    def _refill(self) -> None:
        now = self._clock()
        self.level = min(self.capacity, self.level + (now - self._at) * self.rate)
        self._at = now

    def take(self) -> bool:
        """Take one token if there is one."""
        self._refill()
        if self.level < 1.0:
            return False
        self.level -= 1.0
        return True

    def headers(self) -> dict[str, str]:
        """``x-current-token-count`` and ``x-next-replenish-time`` (epoch ms of the next whole token)."""
        missing = max(1.0 - (self.level % 1.0 if self.level < self.capacity else 1.0), 0.0)
        wait = missing / self.rate if self.rate > 0 else 3600.0
        return {
            "x-current-token-count": str(int(self.level)),
            "x-next-replenish-time": str(int((time.time() + wait) * 1000)),
        }


class SandboxWalmart:
    """One fake seller account: credentials, orders, inventory, feeds, subscriptions, buckets, dice."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        knobs: FaultKnobs | None = None,
        catalog: Sequence[tuple[str, str, str | Decimal | float]] | None = None,
        seed: int | None = None,
        options: SandboxOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.options = options or SandboxOptions()
        self.clock = clock
        self._lock = threading.RLock()
        self._random = random.Random(seed)
        self.knobs = knobs or FaultKnobs()
        self.dice = FaultDice(
            self.knobs if self.knobs.seed is not None else self.knobs.model_copy(update={"seed": seed})
        )
        self.catalog = [(sku, title, Decimal(str(price))) for sku, title, price in (catalog or DEFAULT_CATALOG)]
        self.served = 0
        self.tokens: dict[str, float] = {}
        self.token_requests = 0
        self.orders: dict[str, dict[str, Any]] = {}
        self.inventory: dict[str, int] = {}
        self.feeds: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.correlation_ids: list[str] = []
        self._po = itertools.count(1796277083022 + self._random.randrange(10_000))
        self._buckets = {scope: TokenBucket(cap, rate, clock) for scope, (cap, rate) in self.options.buckets.items()}
        self.sender = WebhookSender(
            retry_delays=self.options.webhook_retry_delays,
            out_of_order_delay=self.options.out_of_order_delay_seconds,
            duplicate_delay=self.options.duplicate_delay_seconds,
            concurrency=self.options.webhook_concurrency,
        )

    # --- knobs, tokens, buckets ---------------------------------------------------------------

    def set_knobs(self, **changes: Any) -> FaultKnobs:
        """Change fault knobs (validated); the dice keep their sequence."""
        with self._lock:
            self.knobs = FaultKnobs.model_validate(self.knobs.model_dump() | changes)
            self.dice.knobs = self.knobs
            return self.knobs

    def issue_token(self) -> tuple[str, float]:
        """A new access token and its life in seconds."""
        with self._lock:
            token = "wm-" + secrets.token_urlsafe(24)
            self.tokens[token] = self.clock() + self.options.token_ttl_seconds
            self.token_requests += 1
            return token, self.options.token_ttl_seconds

    def token_valid(self, token: str) -> bool:
        """True for a token we issued that has not expired."""
        with self._lock:
            expires = self.tokens.get(token)
            return expires is not None and self.clock() < expires

    def expire_tokens(self) -> None:
        """Expire every issued token (the next call gets Walmart's 401)."""
        with self._lock:
            for token in self.tokens:
                self.tokens[token] = 0.0

    def bucket(self, scope: str) -> TokenBucket:
        """The bucket of ``scope`` (created with generous defaults for unknown scopes)."""
        with self._lock:
            if scope not in self._buckets:
                self._buckets[scope] = TokenBucket(100.0, 10.0, self.clock)
            return self._buckets[scope]

    def set_bucket(self, scope: str, tokens: float) -> None:
        """Force a bucket's level (tests and the demo use it to provoke 429s)."""
        with self._lock:
            bucket = self.bucket(scope)
            bucket._refill()
            bucket.level = max(min(tokens, bucket.capacity), 0.0)

    # --- orders -------------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(time.time() * 1000)

    def create_orders(
        self,
        count: int,
        *,
        catalog: Sequence[tuple[str, str, str | Decimal | float]] | None = None,
        lines: int | None = None,
    ) -> list[dict[str, Any]]:
        """Create ``count`` released orders (lines Created; ``lines`` per order, else 1–3), notify subscribers.

        Returns copies of the new orders.
        """
        items = [(sku, title, Decimal(str(price))) for sku, title, price in catalog] if catalog else self.catalog
        created = []
        with self._lock:
            for _ in range(count):
                order = new_order(self._random, str(next(self._po)), self._now_ms(), items, lines=lines)
                self.orders[order["purchaseOrderId"]] = order
                created.append(copy.deepcopy(order))
                self._notify("PO_CREATED", order)
        return created

    def get_order(self, po: str) -> dict[str, Any] | None:
        """A copy of the order, or None."""
        with self._lock:
            order = self.orders.get(po)
            return copy.deepcopy(order) if order else None

    @staticmethod
    def last_modified(order: Mapping[str, Any]) -> int:
        """Latest ``statusDate`` of the order's lines (else its ``orderDate``)."""
        return int(max([order["orderDate"], *(line["statusDate"] for line in order["orderLines"]["orderLine"])]))

    def query_orders(self, filters: Mapping[str, str], *, released: bool) -> list[dict[str, Any]]:
        """Orders matching Walmart's filters, oldest first (a stable order for offset cursors)."""
        from tradewire.connectors.walmart.webhooks import parse_time

        def bound(name: str) -> int | None:
            text = filters.get(name)
            if not text:
                return None
            moment = parse_time(text if "T" in text or text.isdigit() else f"{text}T00:00:00+00:00")
            if moment is None:
                raise SandboxError(400, "INVALID_REQUEST_PARAM", f"{name} {text!r} is not a date", field=name)
            return int(moment.timestamp() * 1000)

        created_from, modified_from = bound("createdStartDate"), bound("lastModifiedStartDate")
        if created_from is None and not filters.get("purchaseOrderId"):
            created_from = self._now_ms() - 7 * 86_400_000  # Walmart's default window: created in the last 7 days
        created_to = bound("createdEndDate")
        status, po, sku = filters.get("status"), filters.get("purchaseOrderId"), filters.get("sku")
        with self._lock:
            found = []
            for order in self.orders.values():
                lines = order["orderLines"]["orderLine"]
                states = {s["status"] for line in lines for s in line["orderLineStatuses"]["orderLineStatus"]}
                if released and states != {"Created"}:
                    continue
                if created_from is not None and order["orderDate"] < created_from:
                    continue
                if created_to is not None and order["orderDate"] > created_to:
                    continue
                if modified_from is not None and self.last_modified(order) < modified_from:
                    continue
                if status and status not in states:
                    continue
                if po and order["purchaseOrderId"] != po:
                    continue
                if sku and all(line["item"]["sku"] != sku for line in lines):
                    continue
                found.append(copy.deepcopy(order))
        found.sort(key=lambda o: (o["orderDate"], o["purchaseOrderId"]))
        return found

    def _order(self, po: str) -> dict[str, Any]:
        order = self.orders.get(po)
        if order is None:
            raise SandboxError(
                404, "CONTENT_NOT_FOUND.GMP_ORDER_API", f"purchaseOrderId {po} not found", category="REQUEST"
            )
        return order

    def acknowledge(self, po: str) -> dict[str, Any]:
        """Created lines become Acknowledged (acknowledging twice is fine)."""
        with self._lock:
            order = self._order(po)
            now = self._now_ms()
            for line in order["orderLines"]["orderLine"]:
                for status in line["orderLineStatuses"]["orderLineStatus"]:
                    if status["status"] == "Created":
                        status["status"] = "Acknowledged"
                        line["statusDate"] = now
            return copy.deepcopy(order)

    def update_lines(self, po: str, action: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Apply a ship / cancel / refund request to the lines it names (all or nothing).

        Raises:
            SandboxError: 400 for an unknown line, a quantity beyond what is open, or a bad body.
        """
        root = {"shipping": "orderShipment", "cancel": "orderCancellation", "refund": "orderRefund"}[action]
        with self._lock:
            order = self._order(po)
            draft = copy.deepcopy(order)
            try:
                requested = body[root]["orderLines"]["orderLine"]
            except (KeyError, TypeError):
                requested = None
            if not isinstance(requested, list) or not requested:
                raise SandboxError(400, "INVALID_REQUEST_CONTENT", f"body needs {root}.orderLines.orderLine[]")
            lines = {line["lineNumber"]: line for line in draft["orderLines"]["orderLine"]}
            now = self._now_ms()
            for entry in requested:
                number = str(entry.get("lineNumber", "")) if isinstance(entry, dict) else ""
                line = lines.get(number)
                if line is None:
                    raise SandboxError(
                        400, "INVALID_REQUEST_CONTENT", f"lineNumber {number!r} is not on PO {po}", field="lineNumber"
                    )
                if action == "refund":
                    add_refund(line, entry)
                else:
                    target = "Shipped" if action == "shipping" else "Cancelled"
                    for status in line_statuses(entry, number):
                        move_quantity(line, status, target=target, number=number)
                line["statusDate"] = now
            self.orders[po] = draft
            return copy.deepcopy(draft)

    def auto_cancel(self, po: str, line_number: str | None = None) -> dict[str, Any]:
        """Walmart cancels open lines itself (PO_LINE_AUTOCANCELLED) and notifies ORDER_UPDATES subscribers."""
        with self._lock:
            order = self._order(po)
            for line in order["orderLines"]["orderLine"]:
                if line_number is not None and line["lineNumber"] != line_number:
                    continue
                for status in line["orderLineStatuses"]["orderLineStatus"]:
                    if status["status"] in ("Created", "Acknowledged"):
                        status["status"] = "Cancelled"
                        status["cancellationReason"] = "SELLER_CANCEL_OUT_OF_STOCK"
                        line["statusDate"] = self._now_ms()
            self._notify("PO_LINE_AUTOCANCELLED", order)
            return copy.deepcopy(order)

    # --- inventory and feeds ------------------------------------------------------------------

    def set_inventory(self, sku: str, amount: int) -> None:
        """Set one SKU's quantity."""
        with self._lock:
            self.inventory[sku] = amount

    def submit_feed(self, raw: bytes) -> str:
        """Accept an inventory feed file; it is processed after ``feed_processing_seconds``."""
        feed_id = uuid.UUID(int=self._random.getrandbits(128)).hex.upper()
        with self._lock:
            self.feeds[feed_id] = {"raw": raw, "at": self.clock(), "status": None}
        return feed_id

    def feed_status(self, feed_id: str) -> dict[str, Any]:
        """``GET /v3/feeds/{feedId}``: RECEIVED/INPROGRESS until processed, then PROCESSED or ERROR."""
        with self._lock:
            feed = self.feeds.get(feed_id)
            if feed is None:
                raise SandboxError(
                    404, "CONTENT_NOT_FOUND.GMP_FEED_API", f"feedId {feed_id} not found", category="REQUEST"
                )
            if feed["status"] is None:
                if self.clock() - feed["at"] < self.options.feed_processing_seconds:
                    return {"feedId": feed_id, "feedStatus": "INPROGRESS", "itemsReceived": 0, "itemsProcessing": 1}
                feed["status"] = self._process_feed(feed_id, feed["raw"])
            return copy.deepcopy(feed["status"])

    def _process_feed(self, feed_id: str, raw: bytes) -> dict[str, Any]:
        try:
            records = json.loads(raw)["Inventory"]
            assert isinstance(records, list)
        except (ValueError, KeyError, TypeError, AssertionError):
            return {
                "feedId": feed_id,
                "feedStatus": "ERROR",
                "itemsReceived": 0,
                "itemsFailed": 0,
                "itemDetails": {"itemIngestionStatus": []},
            }
        details, ok = [], 0
        for record in records:
            sku = record.get("sku") if isinstance(record, dict) else None
            amount = (record.get("quantity") or {}).get("amount") if isinstance(record, dict) else None
            if not isinstance(sku, str) or isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
                details.append(
                    {
                        "sku": sku,
                        "ingestionStatus": "DATA_ERROR",
                        "ingestionErrors": {
                            "ingestionError": [
                                {
                                    "type": "DATA_ERROR",
                                    "code": "ERR_INVALID_QUANTITY",
                                    "description": f"bad quantity {amount!r}",
                                }
                            ]
                        },
                    }
                )
                continue
            self.inventory[sku] = amount
            ok += 1
            details.append({"sku": sku, "ingestionStatus": "SUCCESS", "ingestionErrors": {"ingestionError": None}})
        return {
            "feedId": feed_id,
            "feedStatus": "PROCESSED",
            "itemsReceived": len(records),
            "itemsSucceeded": ok,
            "itemsFailed": len(records) - ok,
            "itemsProcessing": 0,
            "itemDetails": {"itemIngestionStatus": details},
        }

    # --- webhooks -----------------------------------------------------------------------------

    def subscribe(
        self,
        event_type: str,
        event_url: str,
        *,
        auth_details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        status: str = "ACTIVE",
        resource_name: str = "ORDER",
    ) -> dict[str, Any]:
        """Add a subscription (what ``POST /v3/webhooks/subscriptions`` does); returns it."""
        if event_type not in ORDER_EVENTS and resource_name == "ORDER":
            raise SandboxError(400, "INVALID_REQUEST_CONTENT", f"unknown eventType {event_type!r}", field="eventType")
        if not event_url.startswith(("http://", "https://")):
            raise SandboxError(400, "INVALID_REQUEST_CONTENT", "eventUrl must be an http(s) URL", field="eventUrl")
        method = (auth_details or {}).get("authMethod")
        if method not in (None, "BASIC_AUTH", "OAUTH", "HMAC"):
            raise SandboxError(400, "INVALID_REQUEST_CONTENT", f"unknown authMethod {method!r}", field="authMethod")
        subscription: dict[str, Any] = {
            "subscriptionId": str(uuid.UUID(int=self._random.getrandbits(128))),
            "eventType": event_type,
            "eventVersion": "V1",
            "resourceName": resource_name,
            "eventUrl": event_url,
            "status": status,
            "authDetails": dict(auth_details or {}),
            "headers": dict(headers or {}),
        }
        with self._lock:
            self.subscriptions[subscription["subscriptionId"]] = subscription
        return copy.deepcopy(subscription)

    def update_subscription(self, subscription_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """``PATCH``: change ``eventUrl``, ``status``, ``authDetails`` or ``headers``.

        Raises:
            SandboxError: 404 unknown subscription, 400 a field that cannot change.
        """
        allowed = {"eventUrl", "status", "authDetails", "headers"}
        if set(changes) - allowed:
            raise SandboxError(400, "INVALID_REQUEST_CONTENT", f"cannot change {sorted(set(changes) - allowed)}")
        with self._lock:
            subscription = self._subscription(subscription_id)
            subscription.update(copy.deepcopy(dict(changes)))
            return copy.deepcopy(subscription)

    def delete_subscription(self, subscription_id: str) -> None:
        """``DELETE``: stop delivering to it.

        Raises:
            SandboxError: 404 unknown subscription.
        """
        with self._lock:
            self._subscription(subscription_id)
            del self.subscriptions[subscription_id]

    def oauth_subscription(self, event_url: str) -> dict[str, Any] | None:
        """A copy of the OAUTH subscription delivering to ``event_url`` (the sender fetches its token)."""
        with self._lock:
            for subscription in self.subscriptions.values():
                if subscription["eventUrl"] == event_url and subscription["authDetails"].get("authMethod") == "OAUTH":
                    return copy.deepcopy(subscription)
            return None

    def _subscription(self, subscription_id: str) -> dict[str, Any]:
        subscription = self.subscriptions.get(subscription_id)
        if subscription is None:
            raise SandboxError(
                404, "CONTENT_NOT_FOUND", f"subscription {subscription_id} not found", category="REQUEST"
            )
        return subscription

    def _notify(self, kind: str, order: Mapping[str, Any]) -> None:
        now = self._now_ms()
        payload = event_payload(order, self.options.partner_id)
        for sub in list(self.subscriptions.values()):
            if sub["status"] != "ACTIVE":
                continue
            if sub["eventType"] == kind:
                body = payload
            elif sub["eventType"] == "ORDER_UPDATES":
                body = payload | {"subEventType": kind}
            else:
                continue
            event_id = str(uuid.UUID(int=self._random.getrandbits(128)))
            envelope = {
                "source": {"eventType": sub["eventType"], "eventTime": iso_ms(now), "eventId": event_id},
                "payload": body,
            }
            raw = json.dumps(envelope, separators=(",", ":")).encode()
            delivery = Delivery(
                webhook_id=sub["subscriptionId"],
                event_id=event_id,
                topic=f"{sub['eventType']}/{kind}",
                object_id=order["purchaseOrderId"],
                address=sub["eventUrl"],
                body=raw,
                headers=self._headers(sub, raw, now),
                triggered_at=iso_ms(now),
                duplicate=self.dice.roll(self.knobs.duplicate_webhook_rate),
                out_of_order=self.dice.roll(self.knobs.out_of_order_rate),
            )
            self.sender.enqueue(delivery)

    def _headers(self, sub: Mapping[str, Any], raw: bytes, now: int) -> dict[str, str]:
        headers = {"Content-Type": "application/json", **{str(k): str(v) for k, v in sub["headers"].items()}}
        auth = sub["authDetails"]
        method, name = auth.get("authMethod"), str(auth.get("authHeaderName") or "Authorization")
        if method == "BASIC_AUTH":
            headers[name] = basic_header(str(auth.get("userName", "")), str(auth.get("password", "")))
        elif method == "HMAC":
            from urllib.parse import urlsplit

            parts = urlsplit(sub["eventUrl"])
            path = self.options.hmac_path or (parts.path + (f"?{parts.query}" if parts.query else ""))
            headers["WM_SEC.TIMESTAMP"] = str(now)
            headers["WM_SEC.SIGNATURE"] = hmac_signature(
                str(auth.get("clientSecret", "")), method="POST", path=path, timestamp=str(now), body=raw
            )
        return headers  # OAUTH: the sender's auth adds "Bearer <token>" fetched from authUrl

    def delivery_log(self, po: str | None = None) -> list[dict[str, Any]]:
        """Every delivery so far (optionally for one purchase order), with its attempts."""
        return [d.to_json() for d in list(self.sender.log) if po is None or d.object_id == po]


__all__ = ["DEFAULT_CATALOG", "SandboxError", "SandboxOptions", "SandboxWalmart", "TokenBucket"]
