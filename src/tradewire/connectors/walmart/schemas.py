"""Walmart Marketplace payloads as Pydantic models (``extra="allow"``: Walmart adds fields freely).

Walmart's JSON is XML-shaped: lists sit in singular wrappers (``orderLines.orderLine``,
``charges.charge``, ``orderLineStatuses.orderLineStatus``), quantities are strings, times are
epoch milliseconds, and list answers come in ``{"list": {"meta", "elements": {"order": []}}}``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class WalmartModel(BaseModel):
    """Base: camelCase on the wire, snake_case in Python, unknown fields kept."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


class Money(WalmartModel):
    currency: str = "USD"
    amount: Decimal = Decimal(0)


class Tax(WalmartModel):
    tax_name: str | None = None
    tax_amount: Money | None = None


class Charge(WalmartModel):
    charge_type: str
    charge_name: str | None = None
    charge_amount: Money
    tax: Tax | None = None


class Charges(WalmartModel):
    charge: list[Charge] = Field(default_factory=list)


class Quantity(WalmartModel):
    """``orderLineQuantity`` / ``statusQuantity``: the amount is a string on the wire."""

    unit_of_measurement: str = "EACH"
    amount: str


class CarrierName(WalmartModel):
    carrier: str | None = None
    other_carrier: str | None = None


class TrackingInfo(WalmartModel):
    ship_date_time: int
    carrier_name: CarrierName
    method_code: str | None = None
    tracking_number: str
    tracking_url: str | None = Field(default=None, alias="trackingURL")


class OrderLineStatus(WalmartModel):
    status: str
    status_quantity: Quantity
    cancellation_reason: str | None = None
    tracking_info: TrackingInfo | None = None


class OrderLineStatuses(WalmartModel):
    order_line_status: list[OrderLineStatus] = Field(default_factory=list)


class Item(WalmartModel):
    product_name: str | None = None
    sku: str


class OrderLine(WalmartModel):
    line_number: str
    item: Item
    charges: Charges = Field(default_factory=Charges)
    order_line_quantity: Quantity
    status_date: int | None = None
    order_line_statuses: OrderLineStatuses = Field(default_factory=OrderLineStatuses)


class OrderLines(WalmartModel):
    order_line: list[OrderLine] = Field(default_factory=list)


class PostalAddress(WalmartModel):
    name: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    address_type: str | None = None


class ShippingInfo(WalmartModel):
    phone: str | None = None
    estimated_delivery_date: int | None = None
    estimated_ship_date: int | None = None
    method_code: str | None = None
    postal_address: PostalAddress | None = None


class WalmartOrder(WalmartModel):
    """One purchase order (PO) as ``GET /v3/orders`` returns it."""

    purchase_order_id: str
    customer_order_id: str
    customer_email_id: str | None = None
    order_type: str | None = None
    order_date: int
    shipping_info: ShippingInfo | None = None
    order_lines: OrderLines

    def last_modified_ms(self) -> int:
        """The latest ``statusDate`` of its lines (else ``orderDate``): when Walmart last changed it."""
        dates = [line.status_date for line in self.order_lines.order_line if line.status_date is not None]
        return max([self.order_date, *dates])


class ListMeta(WalmartModel):
    total_count: int | None = None
    limit: int | None = None
    next_cursor: str | None = None


class OrderElements(WalmartModel):
    order: list[WalmartOrder] = Field(default_factory=list)


class OrderList(WalmartModel):
    meta: ListMeta = Field(default_factory=ListMeta)
    elements: OrderElements = Field(default_factory=OrderElements)


class OrdersPage(BaseModel):
    """One page of orders and the ready-made query string of the next (None: last page)."""

    orders: list[WalmartOrder]
    next_cursor: str | None
    total_count: int | None = None


class InventoryQuantity(WalmartModel):
    unit: str = "EACH"
    amount: int


class Inventory(WalmartModel):
    """``PUT /v3/inventory`` body and answer."""

    sku: str
    quantity: InventoryQuantity


class FeedItem(WalmartModel):
    """One record of a feed's item-level details."""

    sku: str | None = None
    ingestion_status: str | None = None
    ingestion_errors: dict[str, Any] | None = None


class FeedItemDetails(WalmartModel):
    item_ingestion_status: list[FeedItem] = Field(default_factory=list)


class FeedStatus(WalmartModel):
    """``GET /v3/feeds/{feedId}``: RECEIVED → INPROGRESS → PROCESSED | ERROR."""

    feed_id: str
    feed_status: str
    items_received: int = 0
    items_succeeded: int = 0
    items_failed: int = 0
    items_processing: int = 0
    item_details: FeedItemDetails = Field(default_factory=FeedItemDetails)

    @property
    def done(self) -> bool:
        """True once Walmart finished the feed (PROCESSED or ERROR)."""
        return self.feed_status in ("PROCESSED", "ERROR")


class Subscription(WalmartModel):
    """One webhook subscription (``/v3/webhooks/subscriptions``)."""

    subscription_id: str | None = None
    event_type: str
    event_version: str = "V1"
    resource_name: str = "ORDER"
    event_url: str
    status: str = "ACTIVE"
    auth_details: dict[str, Any] | None = None
    headers: dict[str, Any] | None = None


class TokenResponse(BaseModel):
    """``POST /v3/token``."""

    model_config = ConfigDict(extra="allow")

    access_token: str = Field(min_length=1)
    token_type: str = "Bearer"  # noqa: S105 - the scheme name
    expires_in: float = Field(gt=0)


class WalmartErrorItem(WalmartModel):
    code: str | None = None
    message: str | None = None
    description: str | None = None
    category: str | None = None
    severity: str | None = None
    field: str | None = None
