"""ShipStation V1 shapes: orders, shipments, list pages, webhooks, notifications and errors.

Only the fields Tradewire reads or writes are declared; everything else is kept
(``extra="allow"``), so a record read back loses nothing. Field names on the wire are
camelCase; Python names are snake_case with aliases. Times stay ShipStation's Pacific text
here (``dates`` converts them); amounts are ``Decimal``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

_CONFIG = ConfigDict(extra="allow", alias_generator=to_camel, populate_by_name=True)


class SsModel(BaseModel):
    """Base: camelCase on the wire, unknown fields kept."""

    model_config = _CONFIG

    def wire(self) -> dict[str, Any]:
        """The JSON body ShipStation expects (aliases, nulls left out)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class SsAddress(SsModel):
    """``billTo`` / ``shipTo`` / ``shipFrom``."""

    name: str | None = None
    company: str | None = None
    street1: str | None = None
    street2: str | None = None
    street3: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    phone: str | None = None
    residential: bool | None = None


class SsWeight(SsModel):
    """``{"value": 12, "units": "ounces"}`` (units: pounds, ounces, grams)."""

    value: Decimal | None = None
    units: str | None = None


class SsItem(SsModel):
    """An order item (``items[]``) or shipment item (``shipmentItems[]``)."""

    order_item_id: int | None = None
    line_item_key: str | None = None
    sku: str | None = None
    name: str | None = None
    quantity: int = 0
    unit_price: Decimal | None = None
    tax_amount: Decimal | None = None
    shipping_amount: Decimal | None = None
    weight: SsWeight | None = None
    product_id: int | None = None
    fulfillment_sku: str | None = None
    upc: str | None = None


class SsAdvancedOptions(SsModel):
    """``advancedOptions`` of an order."""

    store_id: int | None = None
    warehouse_id: int | None = None
    custom_field1: str | None = None
    custom_field2: str | None = None
    custom_field3: str | None = None
    source: str | None = None


class SsOrder(SsModel):
    """One order as ``GET /orders`` and ``POST /orders/createorder`` return it."""

    order_id: int | None = None
    order_number: str
    order_key: str | None = None
    order_date: str | None = None
    create_date: str | None = None
    modify_date: str | None = None
    payment_date: str | None = None
    ship_by_date: str | None = None
    order_status: str
    customer_username: str | None = None
    customer_email: str | None = None
    bill_to: SsAddress | None = None
    ship_to: SsAddress | None = None
    items: list[SsItem] = Field(default_factory=list)
    order_total: Decimal | None = None
    amount_paid: Decimal | None = None
    tax_amount: Decimal | None = None
    shipping_amount: Decimal | None = None
    customer_notes: str | None = None
    internal_notes: str | None = None
    carrier_code: str | None = None
    service_code: str | None = None
    ship_date: str | None = None
    weight: SsWeight | None = None
    advanced_options: SsAdvancedOptions | None = None


class SsShipment(SsModel):
    """One shipment (a label: one package, one tracking number) as ``GET /shipments`` returns it."""

    shipment_id: int
    order_id: int | None = None
    order_key: str | None = None
    order_number: str | None = None
    user_id: str | None = None
    customer_email: str | None = None
    create_date: str | None = None
    ship_date: str | None = None
    shipment_cost: Decimal | None = None
    insurance_cost: Decimal | None = None
    tracking_number: str | None = None
    is_return_label: bool = False
    batch_number: str | None = None
    carrier_code: str | None = None
    service_code: str | None = None
    package_code: str | None = None
    confirmation: str | None = None
    warehouse_id: int | None = None
    voided: bool = False
    void_date: str | None = None
    marketplace_notified: bool | None = None
    ship_to: SsAddress | None = None
    weight: SsWeight | None = None
    shipment_items: list[SsItem] | None = None


class SsOrdersPage(SsModel):
    """``GET /orders``: ``{"orders": [...], "total", "page", "pages"}``."""

    orders: list[SsOrder] = Field(default_factory=list)
    total: int = 0
    page: int = 1
    pages: int = 0


class SsShipmentsPage(SsModel):
    """``GET /shipments``: ``{"shipments": [...], "total", "page", "pages"}``."""

    shipments: list[SsShipment] = Field(default_factory=list)
    total: int = 0
    page: int = 1
    pages: int = 0


class SsCreateOrderResult(SsModel):
    """One entry of ``POST /orders/createorders``' ``results``: errors hide here behind a 200."""

    order_id: int | None = None
    order_number: str | None = None
    order_key: str | None = None
    success: bool = False
    error_message: str | None = None


class SsCreateOrdersResponse(SsModel):
    """``POST /orders/createorders``: ``{"hasErrors": bool, "results": [...]}``."""

    has_errors: bool = False
    results: list[SsCreateOrderResult] = Field(default_factory=list)


class SsWebhook(BaseModel):
    """One subscription as ``GET /webhooks`` lists it (PascalCase on the wire)."""

    model_config = ConfigDict(extra="allow")

    WebHookID: int
    HookType: str
    Url: str
    Name: str | None = None
    StoreID: int | None = None
    Active: bool = True


class SsNotification(BaseModel):
    """A webhook body: only where to read what happened (``resource_url``) and what kind it is."""

    model_config = ConfigDict(extra="allow")

    resource_url: str = Field(min_length=1, max_length=2000)
    resource_type: str = Field(min_length=1, max_length=64)


class SsErrorBody(BaseModel):
    """Error bodies: ASP.NET ``{Message, ExceptionMessage, ModelState}`` or the gateway's ``{message}``."""

    model_config = ConfigDict(extra="allow")

    Message: str | None = None
    ExceptionMessage: str | None = None
    ExceptionType: str | None = None
    ModelState: dict[str, list[str]] | None = None
    message: str | None = None

    def describe(self) -> str | None:
        """One readable line, or None when the body says nothing useful."""
        parts: list[str] = []
        for text in (self.Message, self.ExceptionMessage, self.message):
            if text and text.strip() and text.strip() not in parts:
                parts.append(text.strip())
        for field, messages in (self.ModelState or {}).items():
            parts.append(f"{field}: {'; '.join(messages)}")
        return " — ".join(parts) or None
