"""Canonical ⇄ Business Central API v2.0 bodies. Pure functions: no I/O, no clock.

Keys (BC has no idempotency header, so these make lookups before create possible):

- a sales order carries ``externalDocumentNumber`` = the canonical order id without dashes
  (32 upper-case hex characters; BC's field is Code[35]);
- a customer's ``number`` = ``customer_number_prefix`` + the canonical customer id's hex, cut to
  20 characters (BC's Code[20]); 72 bits of the id stay in the number.

Money: each line is ``unitPrice`` × ``quantity`` − ``discountAmount``; the order-level part of
``discount_total`` is the header's ``discountAmount`` (BC's invoice discount); shipping is an
Account line on ``shipping_account_number``. Tax is BC's to compute (its tax setup decides);
``taxes_included`` becomes ``pricesIncludeTax``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from tradewire.canonical import (
    Address,
    Buyer,
    Customer,
    ExternalRef,
    FulfillmentStatus,
    Order,
    OrderLine,
    Shipment,
    ShipmentLine,
    canonical_id,
)
from tradewire.connectors.businesscentral.settings import BusinessCentralSettings
from tradewire.errors import MappingError

SYSTEM = "businesscentral"
# BC leaves currencyCode empty for the company's local currency; reads assume this one. [unverified per company]
LOCAL_CURRENCY = "USD"
EXTERNAL_DOCUMENT_NUMBER_MAX = 35
CUSTOMER_NUMBER_MAX = 20
NAME_MAX = 100


def external_document_number(order_id: str) -> str:
    """The ``externalDocumentNumber`` that identifies the canonical order ``order_id`` in BC.

    Raises:
        MappingError: the id is not a UUID and longer than 35 characters.
    """
    try:
        return uuid.UUID(order_id).hex.upper()
    except ValueError:
        pass
    if len(order_id) > EXTERNAL_DOCUMENT_NUMBER_MAX:
        raise MappingError(f"order id {order_id!r} does not fit BC's externalDocumentNumber (35 characters)")
    return order_id.upper()


def customer_number(customer_id: str, prefix: str = "TW") -> str:
    """The BC customer ``number`` Tradewire gives the canonical customer ``customer_id``."""
    try:
        key = uuid.UUID(customer_id).hex.upper()
    except ValueError:
        key = "".join(ch for ch in customer_id.upper() if ch.isalnum())
    return (prefix + key)[:CUSTOMER_NUMBER_MAX]


def _money(value: Decimal) -> float:
    return float(value)


def _decimal(value: object, what: str) -> Decimal:
    try:
        result = Decimal(str(value if value is not None else 0))
    except (InvalidOperation, ValueError) as exc:
        raise MappingError(f"Business Central {what} {value!r} is not a number") from exc
    if not result.is_finite():
        raise MappingError(f"Business Central {what} {value!r} is not a finite number")
    return result


def _cut(value: str | None, limit: int = NAME_MAX) -> str:
    return (value or "")[:limit]


def _person(first: str | None, last: str | None) -> str:
    return " ".join(part for part in (first, last) if part)


def customer_to_bc(customer: Customer, settings: BusinessCentralSettings) -> dict[str, Any]:
    """The ``customers`` POST body; ``number`` is the customer's idempotency key."""
    name = customer.company or _person(customer.first_name, customer.last_name) or customer.email or "Guest"
    body: dict[str, Any] = {
        "number": customer_number(customer.id, settings.customer_number_prefix),
        "displayName": _cut(name),
        "type": "Company" if customer.company else "Person",
        "email": _cut(customer.email, 80),
        "phoneNumber": _cut(customer.phone, 30),
    }
    address = customer.default_address
    if address is not None:
        body.update(
            addressLine1=_cut(address.line1), addressLine2=_cut(address.line2, 50), city=_cut(address.city, 30),
            state=_cut(address.region, 30), country=address.country_code or "", postalCode=_cut(address.postal_code, 20),
        )  # fmt: skip
    return body


def _address_fields(prefix: str, address: Address | None) -> dict[str, Any]:
    if address is None:
        return {}
    fields = {
        f"{prefix}AddressLine1": _cut(address.line1),
        f"{prefix}AddressLine2": _cut(address.line2, 50),
        f"{prefix}City": _cut(address.city, 30),
        f"{prefix}State": _cut(address.region, 30),
        f"{prefix}Country": address.country_code or "",
        f"{prefix}PostCode": _cut(address.postal_code, 20),
    }
    if prefix == "shipTo":
        fields["shipToName"] = _cut(address.company or address.name)
        if address.company and address.name:
            fields["shipToContact"] = _cut(address.name)
    return fields


def line_to_bc(line: OrderLine, item_id: str, sequence: int) -> dict[str, Any]:
    """One ``salesOrderLines`` body (Item line)."""
    return {
        "sequence": sequence,
        "lineType": "Item",
        "itemId": item_id,
        "description": _cut(line.title),
        "quantity": line.quantity,
        "unitPrice": _money(line.unit_price),
        "discountAmount": _money(line.discount),
    }


def _currency_code(order: Order, settings: BusinessCentralSettings | None) -> str:
    local = LOCAL_CURRENCY if settings is None else settings.local_currency
    return "" if order.currency == local else order.currency


def order_to_sales_order(
    order: Order, *, customer_ref: str, item_refs: Mapping[str, str], settings: BusinessCentralSettings
) -> dict[str, Any]:
    """The deep-insert ``salesOrders`` body: header and ``salesOrderLines``.

    Raises:
        MappingError: a SKU without an item id, or shipping with no ``shipping_account_number`` set.
    """
    missing = sorted({line.sku or line.line_id for line in order.lines if not line.sku or line.sku not in item_refs})
    if missing:
        raise MappingError(
            f"SKU {', '.join(missing)} not resolved to Business Central items: create the items or fix the SKUs",
            detail={"skus": missing},
        )
    # A line whose units were all cancelled on the channel leaves the sales order.
    open_lines = [line for line in order.lines if line.quantity > 0] or list(order.lines)
    lines = [line_to_bc(line, item_refs[line.sku or ""], 10000 * n) for n, line in enumerate(open_lines, 1)]
    if order.shipping_total > 0:
        if not settings.shipping_account_number:
            raise MappingError(
                f"order {order.number} charges shipping {order.shipping_total} {order.currency} but the connection "
                "has no shipping_account_number: set the G/L account that carries shipping, then replay"
            )
        lines.append(
            {
                "sequence": 10000 * (len(lines) + 1),
                "lineType": "Account",
                "lineObjectNumber": settings.shipping_account_number,
                "description": "Shipping",
                "quantity": 1,
                "unitPrice": _money(order.shipping_total),
            }
        )
    body = header_to_bc(order, customer_ref=customer_ref, settings=settings)
    body["salesOrderLines"] = lines
    return body


def header_to_bc(order: Order, *, customer_ref: str, settings: BusinessCentralSettings | None) -> dict[str, Any]:
    """The sales order header fields Tradewire owns (also what an update PATCHes)."""
    line_discounts = sum((line.discount for line in order.lines), Decimal(0))
    order_discount = max(order.discount_total - line_discounts, Decimal(0))
    buyer = order.customer
    body: dict[str, Any] = {
        "externalDocumentNumber": external_document_number(order.id),
        "orderDate": order.placed_at.astimezone(UTC).date().isoformat(),
        "customerId": customer_ref,
        "currencyCode": _currency_code(order, settings),
        "pricesIncludeTax": order.taxes_included,
        "discountAmount": _money(order_discount),
        "email": _cut(buyer.email, 80),
        "phoneNumber": _cut(buyer.phone or (order.shipping_address.phone if order.shipping_address else None), 30),
    }
    body.update(_address_fields("shipTo", order.shipping_address))
    body.update(_address_fields("sellTo", order.billing_address))
    return body


# --- BC → canonical ----------------------------------------------------------------------------


def _when(value: object, what: str) -> datetime | None:
    if value in (None, "", "0001-01-01", "0001-01-01T00:00:00Z"):
        return None
    text = str(value)
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MappingError(f"Business Central {what} {value!r} is not a date") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _quantity(value: object, what: str) -> int:
    amount = _decimal(value, what)
    if amount != amount.to_integral_value() or amount < 0:
        raise MappingError(f"Business Central {what} {value} is not a whole, non-negative quantity")
    return int(amount)


def _read_address(raw: Mapping[str, Any], prefix: str, name_key: str) -> Address | None:
    line1 = raw.get(f"{prefix}AddressLine1") or None
    city = raw.get(f"{prefix}City") or None
    if not line1 and not city:
        return None
    return Address(
        name=raw.get(name_key) or None, line1=line1, line2=raw.get(f"{prefix}AddressLine2") or None, city=city,
        region=raw.get(f"{prefix}State") or None, postal_code=raw.get(f"{prefix}PostCode") or None,
        country_code=raw.get(f"{prefix}Country") or None,
    )  # fmt: skip


def sales_order_to_order(payload: Mapping[str, Any], *, client_id: str, connection_id: str) -> Order:
    """A BC ``salesOrder`` with ``salesOrderLines`` ($expand) as a canonical order (source businesscentral).

    Item lines become order lines (SKU = item number); Account lines are shipping charges. Tax is
    the sum of the lines' ``totalTaxAmount``; the header's ``discountAmount`` is the order discount.

    Raises:
        MappingError: no id, no lines, a fractional quantity, a bad date or amount.
    """
    order_id = payload.get("id")
    if not order_id:
        raise MappingError("Business Central salesOrder has no id")
    raw_lines = payload.get("salesOrderLines")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise MappingError(f"Business Central salesOrder {order_id} has no salesOrderLines: read it with $expand")
    lines: list[OrderLine] = []
    shipping = tax = Decimal(0)
    shipped = ordered = 0
    for n, raw in enumerate(raw_lines, 1):
        if not isinstance(raw, Mapping):
            raise MappingError(f"salesOrderLines[{n}] of {order_id} is not an object")
        quantity = _quantity(raw.get("quantity"), f"salesOrderLines[{n}].quantity")
        price = _decimal(raw.get("unitPrice"), f"salesOrderLines[{n}].unitPrice")
        tax += _decimal(raw.get("totalTaxAmount"), f"salesOrderLines[{n}].totalTaxAmount")
        if raw.get("lineType", "Item") != "Item":
            shipping += quantity * price - _decimal(raw.get("discountAmount"), "discountAmount")
            continue
        discount = _decimal(raw.get("discountAmount"), f"salesOrderLines[{n}].discountAmount")
        ordered += quantity
        shipped += _quantity(raw.get("shippedQuantity") or 0, f"salesOrderLines[{n}].shippedQuantity")
        lines.append(
            OrderLine(
                line_id=str(raw.get("id") or raw.get("sequence") or n),
                sku=raw.get("lineObjectNumber") or None,
                title=str(raw.get("description") or ""),
                quantity=quantity,
                unit_price=price,
                discount=discount,
                total=quantity * price - discount,
            )
        )
    if not lines:
        raise MappingError(f"Business Central salesOrder {order_id} has no Item lines")
    subtotal = sum((line.quantity * line.unit_price for line in lines), Decimal(0))
    discount_total = sum((line.discount for line in lines), Decimal(0)) + _decimal(
        payload.get("discountAmount"), "discountAmount"
    )
    included = bool(payload.get("pricesIncludeTax"))
    total = subtotal - discount_total + shipping + (Decimal(0) if included else tax)
    placed = _when(payload.get("orderDate"), "orderDate") or _when(payload.get("lastModifiedDateTime"), "date")
    if placed is None:
        raise MappingError(f"Business Central salesOrder {order_id} has no orderDate")
    if payload.get("fullyShipped") or (ordered and shipped >= ordered):
        fulfillment = FulfillmentStatus.FULFILLED
    else:
        fulfillment = FulfillmentStatus.PARTIAL if shipped else FulfillmentStatus.UNFULFILLED
    name = str(payload.get("customerName") or "")
    first, _, last = name.partition(" ")
    try:
        return Order(
            id=canonical_id(client_id, "order", f"{SYSTEM}:{connection_id}:{order_id}"), client_id=client_id,
            source=ExternalRef(system=SYSTEM, connection_id=connection_id, object="salesOrder", external_id=str(order_id)),
            number=str(payload.get("number") or order_id), placed_at=placed,
            updated_at=_when(payload.get("lastModifiedDateTime"), "lastModifiedDateTime"),
            fulfillment_status=fulfillment, currency=str(payload.get("currencyCode") or LOCAL_CURRENCY),
            customer=Buyer(email=payload.get("email") or None, first_name=first or None, last_name=last or None,
                           phone=payload.get("phoneNumber") or None,
                           source_customer_id=payload.get("customerId") or None),
            billing_address=_read_address(payload, "billTo", "billToName"),
            shipping_address=_read_address(payload, "shipTo", "shipToName"),
            lines=lines, subtotal=subtotal, discount_total=discount_total, shipping_total=shipping, tax_total=tax,
            taxes_included=included, total=total,
        )  # fmt: skip
    except ValueError as exc:
        raise MappingError(f"Business Central salesOrder {order_id} is not a valid order: {exc}") from exc


def shipment_to_canonical(payload: Mapping[str, Any], *, client_id: str, connection_id: str) -> Shipment:
    """A posted ``salesShipment`` with ``salesShipmentLines`` as a canonical shipment.

    ``order_number`` is BC's ``orderNumber``; ``order_external_id`` its ``externalDocumentNumber``
    (Tradewire's key of the channel order). Lines with quantity 0 (comments, fully invoiced) are left out.

    Raises:
        MappingError: no id, no shipped lines, bad dates.
    """
    shipment_id = payload.get("id")
    if not shipment_id:
        raise MappingError("Business Central salesShipment has no id")
    lines = []
    for n, raw in enumerate(payload.get("salesShipmentLines") or [], 1):
        if not isinstance(raw, Mapping) or raw.get("lineType", "Item") != "Item":
            continue
        quantity = _quantity(raw.get("quantity"), f"salesShipmentLines[{n}].quantity")
        if quantity:
            lines.append(ShipmentLine(sku=raw.get("lineObjectNumber") or None, quantity=quantity,
                                      title=str(raw.get("description") or "")))  # fmt: skip
    if not lines:
        raise MappingError(f"Business Central salesShipment {shipment_id} has no shipped item lines ($expand them)")
    shipped_at = _when(payload.get("shipmentDate") or payload.get("postingDate"), "shipmentDate")
    if shipped_at is None:
        raise MappingError(f"Business Central salesShipment {shipment_id} has no shipmentDate")
    return Shipment(
        id=canonical_id(client_id, "shipment", f"{SYSTEM}:{connection_id}:{shipment_id}"), client_id=client_id,
        source=ExternalRef(system=SYSTEM, connection_id=connection_id, object="salesShipment",
                           external_id=str(shipment_id)),
        order_number=str(payload.get("orderNumber") or payload.get("number") or shipment_id),
        order_external_id=payload.get("externalDocumentNumber") or None, shipped_at=shipped_at,
        ship_to=_read_address(payload, "shipTo", "shipToName"), lines=lines,
    )  # fmt: skip


def customer_to_canonical(payload: Mapping[str, Any], *, client_id: str, connection_id: str) -> Customer:
    """A BC ``customer`` as a canonical customer.

    Raises:
        MappingError: no id.
    """
    customer_id = payload.get("id")
    if not customer_id:
        raise MappingError("Business Central customer has no id")
    is_company = payload.get("type") == "Company"
    name = str(payload.get("displayName") or "")
    first, _, last = name.partition(" ")
    address = None
    if payload.get("addressLine1") or payload.get("city"):
        address = Address(
            line1=payload.get("addressLine1") or None, line2=payload.get("addressLine2") or None,
            city=payload.get("city") or None, region=payload.get("state") or None,
            postal_code=payload.get("postalCode") or None, country_code=payload.get("country") or None,
        )  # fmt: skip
    return Customer(
        id=canonical_id(client_id, "customer", f"{SYSTEM}:{connection_id}:{customer_id}"), client_id=client_id,
        source=ExternalRef(system=SYSTEM, connection_id=connection_id, object="customer", external_id=str(customer_id)),
        email=payload.get("email") or None, company=name if is_company else None,
        first_name=None if is_company else (first or None), last_name=None if is_company else (last or None),
        phone=payload.get("phoneNumber") or None, default_address=address,
        updated_at=_when(payload.get("lastModifiedDateTime"), "lastModifiedDateTime"),
    )  # fmt: skip
