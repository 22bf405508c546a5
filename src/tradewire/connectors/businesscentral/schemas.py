"""Business Central API v2.0 entities as the client returns them (unknown fields kept).

Wire names are camelCase; Python names are snake_case with aliases.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class BcModel(BaseModel):
    """Base: extra fields allowed (BC adds fields between versions), ``@odata.etag`` as ``etag``."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, alias_generator=to_camel)

    etag: str | None = Field(default=None, alias="@odata.etag")


class BcCollection(BaseModel):
    """One page of an entity set: ``value`` and the ``@odata.nextLink`` to follow verbatim."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    value: list[dict[str, Any]]
    next_link: str | None = Field(default=None, alias="@odata.nextLink")


class BcErrorDetail(BaseModel):
    """``error`` of an OData error body."""

    model_config = ConfigDict(extra="allow")

    code: str = ""
    message: str = ""


class BcErrorBody(BaseModel):
    """``{"error": {"code", "message"}}``."""

    model_config = ConfigDict(extra="allow")

    error: BcErrorDetail


class BcCompany(BcModel):
    id: str
    name: str = ""
    display_name: str = ""


class BcCustomer(BcModel):
    id: str
    number: str = ""
    display_name: str = ""
    email: str = ""
    last_modified_date_time: str | None = None


class BcItem(BcModel):
    id: str
    number: str
    display_name: str = ""
    unit_price: Decimal = Decimal(0)
    inventory: Decimal = Decimal(0)
    blocked: bool = False


class BcSalesOrderLine(BcModel):
    id: str = ""
    document_id: str = ""
    sequence: int = 0
    item_id: str = ""
    line_type: str = "Item"
    line_object_number: str = ""
    description: str = ""
    quantity: Decimal = Decimal(0)
    unit_price: Decimal = Decimal(0)
    discount_amount: Decimal = Decimal(0)
    shipped_quantity: Decimal = Decimal(0)


class BcSalesOrder(BcModel):
    id: str
    number: str = ""
    external_document_number: str = ""
    customer_id: str = ""
    customer_number: str = ""
    status: str = ""
    fully_shipped: bool = False
    last_modified_date_time: str | None = None
    sales_order_lines: list[BcSalesOrderLine] | None = None


class BcSalesShipment(BcModel):
    id: str
    number: str = ""
    order_number: str = ""
    external_document_number: str = ""
    shipment_date: str | None = None
    last_modified_date_time: str | None = None


class BcSubscription(BcModel):
    subscription_id: str
    notification_url: str
    resource: str
    client_state: str = ""
    expiration_date_time: str


class BcNotification(BaseModel):
    """One element of a notification's ``value``."""

    model_config = ConfigDict(extra="allow", alias_generator=to_camel, populate_by_name=True)

    subscription_id: str = Field(min_length=1)
    client_state: str = ""
    expiration_date_time: str | None = None
    resource: str = Field(min_length=1)
    change_type: str = Field(min_length=1)
    last_modified_date_time: str = Field(min_length=1)
