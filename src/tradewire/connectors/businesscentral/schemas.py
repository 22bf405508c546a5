"""Business Central API v2.0 entities as the client returns them (camelCase, unknown fields kept)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class BcModel(BaseModel):
    """Base: extra fields allowed (BC adds fields between versions), ``@odata.etag`` as ``etag``."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

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
    displayName: str = ""


class BcCustomer(BcModel):
    id: str
    number: str = ""
    displayName: str = ""
    email: str = ""
    lastModifiedDateTime: str | None = None


class BcItem(BcModel):
    id: str
    number: str
    displayName: str = ""
    unitPrice: Decimal = Decimal(0)
    inventory: Decimal = Decimal(0)
    blocked: bool = False


class BcSalesOrderLine(BcModel):
    id: str = ""
    documentId: str = ""
    sequence: int = 0
    itemId: str = ""
    lineType: str = "Item"
    lineObjectNumber: str = ""
    description: str = ""
    quantity: Decimal = Decimal(0)
    unitPrice: Decimal = Decimal(0)
    discountAmount: Decimal = Decimal(0)
    shippedQuantity: Decimal = Decimal(0)


class BcSalesOrder(BcModel):
    id: str
    number: str = ""
    externalDocumentNumber: str = ""
    customerId: str = ""
    customerNumber: str = ""
    status: str = ""
    fullyShipped: bool = False
    lastModifiedDateTime: str | None = None
    salesOrderLines: list[BcSalesOrderLine] | None = None


class BcSalesShipment(BcModel):
    id: str
    number: str = ""
    orderNumber: str = ""
    externalDocumentNumber: str = ""
    shipmentDate: str | None = None
    lastModifiedDateTime: str | None = None


class BcSubscription(BcModel):
    subscriptionId: str
    notificationUrl: str
    resource: str
    clientState: str = ""
    expirationDateTime: str


class BcNotification(BaseModel):
    """One element of a notification's ``value``."""

    model_config = ConfigDict(extra="allow")

    subscriptionId: str = Field(min_length=1)
    clientState: str = ""
    expirationDateTime: str | None = None
    resource: str = Field(min_length=1)
    changeType: str = Field(min_length=1)
    lastModifiedDateTime: str = Field(min_length=1)
