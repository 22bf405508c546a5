"""Pydantic models of Shopify's payloads (vendor shapes, not canonical).

REST shapes are what webhooks carry (``orders/create`` … bodies); GraphQL shapes are what
the Admin API answers. Every model keeps unknown fields (``extra="allow"``) so a new field
from Shopify never breaks ingestion. Money arrives as strings and becomes ``Decimal``;
ids are integers and are never routed through ``float`` (real ids exceed 2^53).
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel


def _money(value: object) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")
        value = repr(value)
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int | str):
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
    else:
        raise ValueError(f"{value!r} is not a number")
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return amount


def _int_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float):
            raise ValueError(f"{value!r} is a float; ids must be JSON integers (a float loses digits above 2^53)")
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        raise ValueError(f"{value!r} is not an integer id")
    if value <= 0:
        raise ValueError(f"{value!r} is not a positive id")
    return value


def _line_id(value: object) -> int | str:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return _int_id(value)


def _whole(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ValueError(f"{value!r} is not a whole number")
    return value


Money = Annotated[Decimal, BeforeValidator(_money)]
ShopifyId = Annotated[int, BeforeValidator(_int_id)]
LineId = Annotated[int | str, BeforeValidator(_line_id)]
WholeNumber = Annotated[int, BeforeValidator(_whole)]


class _Vendor(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


# --- REST (webhook bodies) -------------------------------------------------------------------


class RestMoney(_Vendor):
    amount: Money
    currency_code: str | None = None


class RestPriceSet(_Vendor):
    shop_money: RestMoney | None = None
    presentment_money: RestMoney | None = None


class RestTaxLine(_Vendor):
    price: Money
    rate: float | None = None
    title: str | None = None


class RestDiscountAllocation(_Vendor):
    amount: Money
    discount_application_index: int | None = None


class RestLineItem(_Vendor):
    id: LineId
    sku: str | None = None
    title: str | None = None
    name: str | None = None
    variant_title: str | None = None
    variant_id: int | None = None
    product_id: int | None = None
    quantity: WholeNumber
    current_quantity: WholeNumber | None = None
    price: Money
    total_discount: Money | None = None
    fulfillment_status: str | None = None
    tax_lines: list[RestTaxLine] = Field(default_factory=list)
    discount_allocations: list[RestDiscountAllocation] = Field(default_factory=list)


class RestShippingLine(_Vendor):
    id: int | None = None
    title: str | None = None
    code: str | None = None
    price: Money
    discounted_price: Money | None = None
    tax_lines: list[RestTaxLine] = Field(default_factory=list)
    discount_allocations: list[RestDiscountAllocation] = Field(default_factory=list)


class RestAddress(_Vendor):
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    company: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    province: str | None = None
    province_code: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code: str | None = None
    phone: str | None = None


class RestCustomer(_Vendor):
    id: ShopifyId | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None


class RestOrder(_Vendor):
    """The REST Order resource: the body of ``orders/create|updated|cancelled`` webhooks."""

    id: ShopifyId
    admin_graphql_api_id: str | None = None
    name: str | None = None
    order_number: int | None = None
    email: str | None = None
    contact_email: str | None = None
    phone: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    processed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    closed_at: datetime | None = None
    currency: str | None = None
    financial_status: str | None = None
    fulfillment_status: str | None = None
    taxes_included: bool = False
    test: bool = False
    tags: str | None = None
    note: str | None = None
    total_line_items_price: Money | None = None
    subtotal_price: Money | None = None
    total_discounts: Money | None = None
    total_tax: Money | None = None
    total_price: Money | None = None
    line_items: list[RestLineItem] = Field(default_factory=list)
    shipping_lines: list[RestShippingLine] = Field(default_factory=list)
    tax_lines: list[RestTaxLine] = Field(default_factory=list)
    billing_address: RestAddress | None = None
    shipping_address: RestAddress | None = None
    customer: RestCustomer | None = None


# --- GraphQL Admin API -----------------------------------------------------------------------


class _Gql(BaseModel):
    """GraphQL shapes: snake_case attributes, camelCase on the wire."""

    model_config = ConfigDict(extra="allow", alias_generator=to_camel, populate_by_name=True)


class ThrottleStatus(_Gql):
    maximum_available: float
    currently_available: float
    restore_rate: float


class QueryCost(_Gql):
    requested_query_cost: float | None = None
    actual_query_cost: float | None = None
    throttle_status: ThrottleStatus | None = None


class ResponseExtensions(_Gql):
    cost: QueryCost | None = None


class GraphQLError(_Gql):
    message: str = ""
    extensions: dict[str, Any] | None = None
    path: list[str | int] | None = None

    @property
    def code(self) -> str | None:
        """``extensions.code`` (``THROTTLED``, ``ACCESS_DENIED``, ``MAX_COST_EXCEEDED`` …) if present."""
        code = (self.extensions or {}).get("code")
        return str(code) if code is not None else None


class GraphQLResponse(_Gql):
    """The envelope of every GraphQL answer (HTTP 200 even when throttled or failed)."""

    data: dict[str, Any] | None = None
    errors: list[GraphQLError] | None = None
    extensions: ResponseExtensions | None = None


class UserError(_Gql):
    field: list[str] | None = None
    message: str
    code: str | None = None


class PageInfo(_Gql):
    has_next_page: bool
    end_cursor: str | None = None


class OrderSummary(_Gql):
    """One order as listed by the change feed (``orders`` sorted by ``UPDATED_AT``)."""

    id: str
    legacy_resource_id: str
    name: str
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None = None


class OrderPage(_Gql):
    """One page of the change feed."""

    orders: list[OrderSummary]
    page_info: PageInfo


class GqlOrder(_Gql):
    """A full order as the GraphQL Admin API returns it (camelCase; see ``client.ORDER_FIELDS``)."""

    id: str
    legacy_resource_id: str
    name: str
    updated_at: datetime


class WebhookSubscription(_Gql):
    id: str
    topic: str
    uri: str | None = None
    format: str | None = None
