"""Pure mappings between ShipStation V1 records and the canonical model (no I/O, no clock).

* ShipStation shipment (one label, one package) → canonical ``Shipment``.
* Canonical ``Order`` → ``POST /orders/createorder`` body, keyed by ``orderKey`` = canonical order id.
* ShipStation order → canonical ``Order`` (for ``tradewire map shipstation order`` and round trips).

ShipStation carries no currency on amounts: they are in the account's currency (setting
``currency``, default USD). Its times are Pacific text (see ``dates``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from tradewire.canonical import (
    Address,
    Buyer,
    ExternalRef,
    FinancialStatus,
    FulfillmentStatus,
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
    canonical_id,
)
from tradewire.connectors.shipstation.dates import is_date_only, pacific_date, parse_pacific, to_pacific_text
from tradewire.connectors.shipstation.schemas import SsAddress, SsItem, SsOrder, SsShipment, SsWeight
from tradewire.errors import MappingError

SYSTEM = "shipstation"
DISCOUNT_LINE_KEY = "tradewire-discount"
UPDATABLE_STATUSES = frozenset({"awaiting_payment", "awaiting_shipment", "on_hold"})
_GRAMS_PER = {"grams": Decimal(1), "ounces": Decimal("28.349523125"), "pounds": Decimal("453.59237")}
_CENT = Decimal("0.01")


# --- helpers -----------------------------------------------------------------------------------


def is_tradewire_key(order_key: str | None) -> bool:
    """True when ``order_key`` is a canonical order id (a UUID Tradewire put there), not a store's key."""
    if not order_key:
        return False
    try:
        return str(uuid.UUID(order_key)) == order_key.lower()
    except ValueError:
        return False


def _time(value: str | None, field: str, record: str) -> datetime | None:
    if not value:
        return None
    try:
        return parse_pacific(value)
    except ValueError:
        raise MappingError(f"{record}: {field} {value[:40]!r} is not a ShipStation date-time") from None


def _address(address: SsAddress | None) -> Address | None:
    if address is None:
        return None
    line2 = ", ".join(part for part in (address.street2, address.street3) if part) or None
    try:
        return Address(
            name=address.name or None,
            company=address.company or None,
            line1=address.street1 or None,
            line2=line2,
            city=address.city or None,
            region=address.state or None,
            postal_code=address.postal_code or None,
            country_code=address.country or None,
            phone=address.phone or None,
        )
    except ValidationError as exc:
        raise MappingError(f"address: {exc.errors()[0]['msg']}") from None


def _grams(weight: SsWeight | None) -> Decimal | None:
    if weight is None or weight.value is None or weight.units is None:
        return None
    factor = _GRAMS_PER.get(weight.units.lower())
    return None if factor is None else (weight.value * factor).quantize(_CENT)


# --- shipment → canonical ----------------------------------------------------------------------


def shipment_to_canonical(
    payload: Mapping[str, Any], *, client_id: str, connection_id: str, currency: str = "USD"
) -> Shipment:
    """Map one ShipStation shipment (``GET /shipments`` with ``includeShipmentItems=true``).

    ``shipped_at``: ShipStation's ``shipDate`` is a bare date; the shipment's ``createDate`` is
    used when it falls on that Pacific day, else midnight Pacific of ``shipDate``.

    Raises:
        MappingError: not a shipment, no order number, no items (read without
            ``includeShipmentItems=true``), or an unreadable date.
    """
    _refuse_wrappers(payload, "shipments", "shipment")
    try:
        shipment = SsShipment.model_validate(dict(payload))
    except ValidationError as exc:
        raise MappingError(f"not a ShipStation shipment: {_first(exc)}") from None
    record = f"shipment {shipment.shipment_id}"
    if not shipment.order_number:
        raise MappingError(f"{record} has no orderNumber; cannot tell which order it ships")
    if shipment.shipment_items is None:
        raise MappingError(f"{record} came without shipmentItems; read it with includeShipmentItems=true")
    lines = [
        ShipmentLine(
            sku=item.sku or None,
            quantity=item.quantity,
            order_line_id=item.line_item_key or None,
            title=item.name or "",
        )
        for item in shipment.shipment_items
        if item.quantity > 0
    ]
    if not lines:
        raise MappingError(f"{record} lists no item with a positive quantity")
    try:
        return Shipment(
            id=canonical_id(client_id, "shipment", f"{SYSTEM}:{connection_id}:{shipment.shipment_id}"),
            client_id=client_id,
            source=ExternalRef(
                system=SYSTEM, connection_id=connection_id, object="shipment", external_id=str(shipment.shipment_id)
            ),
            order_number=shipment.order_number,
            order_external_id=shipment.order_key if is_tradewire_key(shipment.order_key) else None,
            status=ShipmentStatus.VOIDED if shipment.voided else ShipmentStatus.SHIPPED,
            shipped_at=_shipped_at(shipment, record),
            carrier=shipment.carrier_code or None,
            service=shipment.service_code or None,
            tracking_number=shipment.tracking_number or None,
            ship_to=_address(shipment.ship_to),
            lines=lines,
            shipping_cost=shipment.shipment_cost,
            currency=currency if shipment.shipment_cost is not None else None,
            weight_grams=_grams(shipment.weight),
        )
    except ValidationError as exc:
        raise MappingError(f"{record}: {_first(exc)}") from None


def _shipped_at(shipment: SsShipment, record: str) -> datetime:
    created = _time(shipment.create_date, "createDate", record)
    if shipment.ship_date:
        shipped = _time(shipment.ship_date, "shipDate", record)
        assert shipped is not None
        if not is_date_only(shipment.ship_date):
            return shipped
        if created is not None and pacific_date(created) == pacific_date(shipped):
            return created
        return shipped
    if created is None:
        raise MappingError(f"{record} has neither shipDate nor createDate")
    return created


# --- canonical order → createorder ---------------------------------------------------------------


def _money(value: Decimal) -> float:
    # ShipStation reads JSON numbers; two decimals keep the float exact enough for its money fields.
    return float(value.quantize(_CENT))


def _ss_address(address: Address | None, fallback_name: str) -> dict[str, Any]:
    if address is None:
        return {"name": fallback_name}
    body = {
        "name": address.name or fallback_name,
        "company": address.company,
        "street1": address.line1,
        "street2": address.line2,
        "city": address.city,
        "state": address.region,
        "postalCode": address.postal_code,
        "country": address.country_code,
        "phone": address.phone,
    }
    return {key: value for key, value in body.items() if value is not None}


def order_status_for(order: Order) -> str:
    """The ``orderStatus`` a canonical order is sent with.

    Cancelled, refunded or voided orders are ``cancelled``; unpaid ones (``pending``,
    ``partially_paid``) ``awaiting_payment``; everything else ``awaiting_shipment``.
    """
    if order.status is OrderStatus.CANCELLED or order.financial_status in (
        FinancialStatus.REFUNDED,
        FinancialStatus.VOIDED,
    ):
        return "cancelled"
    if order.financial_status in (FinancialStatus.PENDING, FinancialStatus.PARTIALLY_PAID):
        return "awaiting_payment"
    return "awaiting_shipment"


def order_to_createorder(
    order: Order, *, store_id: int | None = None, account_currency: str | None = None
) -> dict[str, Any]:
    """The ``POST /orders/createorder`` body of ``order`` (the whole order: ShipStation has no partial update).

    ``orderKey`` is the canonical order id, so a retry or an update replaces the same order.
    Line discounts and order discounts travel as one negative adjustment item (ShipStation
    items have no discount field). When prices include tax (``taxes_included``) the order's
    ``taxAmount`` is 0, as ShipStation adds it to the items' total; each item still carries its tax.
    ShipStation amounts carry no currency: with ``account_currency`` given, an order in another
    currency is refused rather than shown with the wrong amounts.

    Raises:
        MappingError: no shipping address (ShipStation cannot ship it), or a currency other than the account's.
    """
    if order.shipping_address is None:
        raise MappingError(f"order {order.number} has no shipping address; ShipStation needs shipTo")
    if account_currency is not None and order.currency != account_currency.upper():
        raise MappingError(
            f"order {order.number} is in {order.currency} but the ShipStation account works in {account_currency.upper()}"
            " (ShipStation amounts carry no currency)"
        )
    name = order.customer.display_name
    items: list[dict[str, Any]] = []
    for line in order.lines:
        if line.quantity == 0:
            continue
        item = {"lineItemKey": line.line_id, "sku": line.sku, "name": line.title or line.sku or line.line_id,
                "quantity": line.quantity, "unitPrice": _money(line.unit_price), "taxAmount": _money(line.tax)}  # fmt: skip
        items.append({key: value for key, value in item.items() if value is not None})
    if order.discount_total > 0:
        items.append(
            {
                "lineItemKey": DISCOUNT_LINE_KEY,
                "name": "Discount",
                "quantity": 1,
                "unitPrice": -_money(order.discount_total),
                "adjustment": True,
            }
        )
    status = order_status_for(order)
    body: dict[str, Any] = {
        "orderNumber": order.number,
        "orderKey": order.id,
        "orderDate": to_pacific_text(order.placed_at),
        "orderStatus": status,
        "customerUsername": order.customer.email or name,
        "customerEmail": order.customer.email,
        "billTo": _ss_address(order.billing_address or order.shipping_address, name),
        "shipTo": _ss_address(order.shipping_address, name),
        "items": items,
        "amountPaid": _money(order.total) if status == "awaiting_shipment" else 0.0,
        "taxAmount": 0.0 if order.taxes_included else _money(order.tax_total),
        "shippingAmount": _money(order.shipping_total),
        "customerNotes": order.note,
        "advancedOptions": {"source": order.source.system, "customField1": order.source.external_id},
    }
    if status == "awaiting_shipment":
        body["paymentDate"] = to_pacific_text(order.placed_at)
    if store_id is not None:
        body["advancedOptions"]["storeId"] = store_id
    return {key: value for key, value in body.items() if value is not None}


# --- ShipStation order → canonical -------------------------------------------------------------


def order_to_canonical(
    payload: Mapping[str, Any], *, client_id: str, connection_id: str, currency: str = "USD"
) -> Order:
    """Map one ShipStation order (a ``GET /orders`` entry or a createorder body).

    Adjustment items (negative prices) become ``discount_total``; the order's id is its
    ``orderKey`` when Tradewire created it, else a stable id derived from ``orderId``/``orderKey``.

    Raises:
        MappingError: not an order, no items, an unreadable date, or amounts that do not add up.
    """
    _refuse_wrappers(payload, "orders", "order")
    try:
        order = SsOrder.model_validate(dict(payload))
    except ValidationError as exc:
        raise MappingError(f"not a ShipStation order: {_first(exc)}") from None
    record = f"order {order.order_number}"
    external = str(order.order_id) if order.order_id is not None else order.order_key
    if not external:
        raise MappingError(f"{record} has neither orderId nor orderKey")
    placed = _time(order.order_date, "orderDate", record) or _time(order.create_date, "createDate", record)
    if placed is None:
        raise MappingError(f"{record} has no orderDate")
    lines, discount = _order_lines(order.items, record)
    subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
    shipping = order.shipping_amount or Decimal(0)
    tax = order.tax_amount or Decimal(0)
    status = order.order_status.lower()
    cancelled = status == "cancelled"
    try:
        return Order(
            id=order.order_key
            if is_tradewire_key(order.order_key)
            else canonical_id(client_id, "order", f"{SYSTEM}:{connection_id}:{external}"),
            client_id=client_id,
            source=ExternalRef(system=SYSTEM, connection_id=connection_id, object="order", external_id=external),
            number=order.order_number,
            placed_at=placed,
            updated_at=_time(order.modify_date, "modifyDate", record),
            cancelled_at=(_time(order.modify_date, "modifyDate", record) or placed) if cancelled else None,
            status=OrderStatus.CANCELLED if cancelled else OrderStatus.OPEN,
            financial_status=FinancialStatus.PENDING if status == "awaiting_payment" else FinancialStatus.PAID,
            fulfillment_status=FulfillmentStatus.FULFILLED if status == "shipped" else FulfillmentStatus.UNFULFILLED,
            currency=currency,
            customer=Buyer(email=order.customer_email or None),
            billing_address=_address(order.bill_to),
            shipping_address=_address(order.ship_to),
            lines=lines,
            shipping_total=shipping,
            discount_total=discount,
            tax_total=tax,
            subtotal=subtotal,
            total=subtotal - discount + shipping + tax,
            note=order.customer_notes or None,
        )
    except ValidationError as exc:
        raise MappingError(f"{record}: {_first(exc)}") from None


def _order_lines(items: list[SsItem], record: str) -> tuple[list[OrderLine], Decimal]:
    lines: list[OrderLine] = []
    discount = Decimal(0)
    for index, item in enumerate(items, start=1):
        price = item.unit_price or Decimal(0)
        if price < 0 or bool(getattr(item, "adjustment", False)):
            discount += -price * item.quantity if price < 0 else Decimal(0)
            continue
        line_id = item.line_item_key or (str(item.order_item_id) if item.order_item_id else str(index))
        lines.append(
            OrderLine(
                line_id=line_id,
                sku=item.sku or None,
                title=item.name or "",
                quantity=item.quantity,
                unit_price=price,
                tax=item.tax_amount or Decimal(0),
                total=price * item.quantity,
            )
        )
    if not lines:
        raise MappingError(f"{record} has no items")
    return lines, discount


def _refuse_wrappers(payload: Mapping[str, Any], plural: str, singular: str) -> None:
    """Name the two things people often give instead of one record: a notification and a list page."""
    if "resource_url" in payload and "resource_type" in payload:
        raise MappingError(
            f"this is a {payload.get('resource_type')} notification, not a {singular}: GET its resource_url "
            f"({str(payload.get('resource_url'))[:120]}) and map one element of '{plural}'"
        )
    if isinstance(payload.get(plural), list):
        raise MappingError(f"this is a page of {plural}; give one element of '{plural}'")


def _first(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "record"
    return f"{where}: {error['msg']}"
