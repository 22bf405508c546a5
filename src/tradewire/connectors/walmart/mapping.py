"""Pure ``Walmart ⇄ canonical`` mappings: no I/O, no clock.

Money rules:

* Each order line carries charges; the ``PRODUCT`` charge is the line's amount (all units),
  so ``total = amount`` and ``unit_price = amount / quantity`` (to 1e-6 when it does not divide).
  ``SHIPPING`` charges add to ``shipping_total``. A negative charge is a discount on its line.
* Tax sits on each charge (``charge.tax.taxAmount``): ``line.tax`` = the line's product tax,
  ``tax_total`` = every charge's tax. Walmart prices exclude tax.
* Walmart collects payment before it releases an order, so orders are ``paid``; refunded
  lines make them ``partially_refunded`` / ``refunded``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from tradewire.canonical import (
    Address,
    Buyer,
    ExternalRef,
    FinancialStatus,
    FulfillmentStatus,
    InventoryLevel,
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
    canonical_id,
    is_currency,
)
from tradewire.connectors.walmart.schemas import Charge, Inventory, PostalAddress, WalmartOrder
from tradewire.errors import MappingError

SYSTEM = "walmart"
CENT = Decimal("0.01")

# Walmart sends ISO alpha-3 country codes in postal addresses (US marketplace: USA, sometimes PRI).
_ALPHA3 = {"USA": "US", "PRI": "PR", "CAN": "CA", "MEX": "MX", "GUM": "GU", "VIR": "VI", "ASM": "AS"}
KNOWN_CARRIERS = {
    "ups": "UPS",
    "usps": "USPS",
    "fedex": "FedEx",
    "dhl": "DHL",
    "ontrac": "OnTrac",
    "lasership": "LaserShip",
    "upsmi": "UPSMI",
    "fedex smartpost": "FedExSmartPost",
}
METHOD_CODES = ("Standard", "Express", "OneDay", "Freight", "WhiteGlove", "Value")
SHIPPED = {"Shipped", "Delivered"}


def describe_validation_error(exc: ValidationError, *, limit: int = 5) -> str:
    """One line per problem, ``path: reason``, with camelCase wire paths."""
    parts = []
    for error in exc.errors(include_url=False)[:limit]:
        path = ".".join(str(p) for p in error.get("loc", ()))
        if error.get("type") == "missing":
            parts.append(f"{path} is missing")
        else:
            parts.append(f"{path} {repr(error.get('input'))[:60]}: {str(error.get('msg', 'invalid')).lower()}")
    if len(exc.errors()) > limit:
        parts.append(f"and {len(exc.errors()) - limit} more")
    return "; ".join(parts)


def from_millis(value: int) -> datetime:
    """An aware UTC datetime from Walmart's epoch milliseconds."""
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def to_millis(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    return int(moment.timestamp() * 1000)


def country_code(value: str | None) -> str | None:
    """ISO alpha-2 of Walmart's country (``USA`` → ``US``); None when absent or unknown."""
    if not value:
        return None
    text = value.strip().upper()
    if len(text) == 2 and text.isalpha():
        return text
    return _ALPHA3.get(text)


def unwrap_order(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The order element of ``{"order": {...}}`` (single-order answers) or the element itself."""
    inner = payload.get("order")
    if isinstance(inner, Mapping) and "purchaseOrderId" not in payload:
        return inner
    return payload


def parse_order(payload: Mapping[str, Any]) -> WalmartOrder:
    """Validate one Walmart order element (or ``{"order": …}``).

    Raises:
        MappingError: the payload is not an order; the message names the field.
    """
    if not isinstance(payload, Mapping):
        raise MappingError(f"a Walmart order must be a JSON object, got {type(payload).__name__}")
    element = unwrap_order(payload)
    try:
        return WalmartOrder.model_validate(element)
    except ValidationError as exc:
        label = element.get("purchaseOrderId")
        prefix = f"Walmart PO {label}: " if isinstance(label, str) else "Walmart order: "
        raise MappingError(prefix + describe_validation_error(exc), detail={"payload_id": str(label)}) from None


def _quantity(text: str, where: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise MappingError(f"{where}: quantity {text!r} is not a whole number") from None
    if value < 0:
        raise MappingError(f"{where}: quantity {value} is negative")
    return value


def _unit_price(amount: Decimal, quantity: int) -> Decimal:
    """``amount / quantity``: to the cent when it divides evenly, else to 1e-6 (the line total stays exact)."""
    if not quantity:
        return amount
    unit = amount / quantity
    cents = unit.quantize(CENT)
    return cents if cents == unit else unit.quantize(Decimal("0.000001"))


def _tax(charge: Charge) -> Decimal:
    return charge.tax.tax_amount.amount if charge.tax and charge.tax.tax_amount else Decimal(0)


def _address(raw: PostalAddress | None, phone: str | None) -> Address | None:
    if raw is None:
        return None
    return Address(
        name=raw.name or None,
        line1=raw.address1 or None,
        line2=raw.address2 or None,
        city=raw.city or None,
        region=raw.state or None,
        postal_code=raw.postal_code or None,
        country_code=country_code(raw.country),
        phone=phone or None,
    )


def _buyer(order: WalmartOrder) -> Buyer:
    info = order.shipping_info
    name = (info.postal_address.name if info and info.postal_address else None) or ""
    first, _, last = name.strip().partition(" ")
    email = order.customer_email_id if order.customer_email_id and "@" in order.customer_email_id else None
    return Buyer(
        email=email, first_name=first or None, last_name=last.strip() or None, phone=info.phone if info else None
    )


def _line_states(order: WalmartOrder) -> list[set[str]]:
    return [{s.status for s in line.order_line_statuses.order_line_status} for line in order.order_lines.order_line]


def _statuses(order: WalmartOrder) -> tuple[OrderStatus, FulfillmentStatus, FinancialStatus]:
    states = _line_states(order)
    cancelled = [bool(s) and s <= {"Cancelled"} for s in states]
    shipped = [bool(s & SHIPPED) for s in states]
    refunded = [("Refund" in s) for s in states]
    status = OrderStatus.CANCELLED if all(cancelled) else OrderStatus.OPEN
    live = [ship for ship, cancel in zip(shipped, cancelled, strict=True) if not cancel]
    if live and all(live):
        fulfillment = FulfillmentStatus.FULFILLED
    elif any(live):
        fulfillment = FulfillmentStatus.PARTIAL
    else:
        fulfillment = FulfillmentStatus.UNFULFILLED
    if refunded and all(refunded):
        financial = FinancialStatus.REFUNDED
    elif any(refunded):
        financial = FinancialStatus.PARTIALLY_REFUNDED
    else:
        financial = FinancialStatus.PAID
    return status, fulfillment, financial


def order_to_canonical(payload: Mapping[str, Any], *, client_id: str, connection_id: str) -> Order:
    """Map one Walmart purchase order (element or ``{"order": …}``) to the canonical ``Order``.

    Raises:
        MappingError: the payload is not a usable order (the message names the PO, field and value).
    """
    order = parse_order(payload)
    where = f"Walmart PO {order.purchase_order_id}"
    if not order.order_lines.order_line:
        raise MappingError(f"{where} has no order lines")
    currencies: set[str] = set()
    lines: list[OrderLine] = []
    shipping = tax_total = discount_total = Decimal(0)
    for line in order.order_lines.order_line:
        at = f"{where} line {line.line_number}"
        quantity = _quantity(line.order_line_quantity.amount, at)
        amount = line_tax = line_discount = Decimal(0)
        for charge in line.charges.charge:
            currencies.add(charge.charge_amount.currency.upper())
            value = charge.charge_amount.amount
            tax_total += _tax(charge)
            if charge.charge_type == "SHIPPING":
                shipping += value
            elif value < 0:
                line_discount += -value
                line_tax += _tax(charge)
            elif charge.charge_type == "PRODUCT":
                amount += value
                line_tax += _tax(charge)
            else:
                raise MappingError(f"{at}: charge type {charge.charge_type!r} is not PRODUCT or SHIPPING")
        unit_price = _unit_price(amount, quantity)
        if line_discount > amount:
            raise MappingError(f"{at}: discounts {line_discount} exceed the line amount {amount}")
        discount_total += line_discount
        lines.append(
            OrderLine(
                line_id=line.line_number,
                sku=line.item.sku,
                title=(line.item.product_name or "")[:500],
                quantity=quantity,
                unit_price=unit_price,
                discount=line_discount,
                tax=line_tax,
                total=amount - line_discount,
            )
        )
    if len(currencies) > 1:
        raise MappingError(f"{where} mixes currencies {sorted(currencies)}")
    currency = currencies.pop() if currencies else "USD"
    if not is_currency(currency):
        raise MappingError(f"{where}: currency {currency!r} is not an ISO 4217 code")
    status, fulfillment, financial = _statuses(order)
    subtotal = sum((line.total + line.discount for line in lines), Decimal(0))
    updated = from_millis(order.last_modified_ms())
    info = order.shipping_info
    try:
        return Order(
            id=canonical_id(client_id, "order", f"{SYSTEM}:{connection_id}:{order.purchase_order_id}"),
            client_id=client_id,
            source=ExternalRef(
                system=SYSTEM, connection_id=connection_id, object="order", external_id=order.purchase_order_id
            ),
            number=order.customer_order_id,
            placed_at=from_millis(order.order_date),
            updated_at=updated,
            cancelled_at=updated if status is OrderStatus.CANCELLED else None,
            status=status,
            financial_status=financial,
            fulfillment_status=fulfillment,
            currency=currency,
            customer=_buyer(order),
            shipping_address=_address(info.postal_address if info else None, info.phone if info else None),
            lines=lines,
            shipping_total=shipping,
            discount_total=discount_total,
            tax_total=tax_total,
            subtotal=subtotal,
            total=subtotal - discount_total + shipping + tax_total,
            tags=[f"walmart:{order.order_type.lower()}"] if order.order_type else [],
        )
    except ValidationError as exc:
        raise MappingError(f"{where}: {describe_validation_error(exc)}") from None


class WalmartOrderSource:
    """``OrderSource``: a PO_CREATED payload names the PO (no prices); an order element is whole."""

    def reference(self, payload: Mapping[str, Any]) -> str | None:
        """None for a full order (element or ``{"order": …}``), else the ``purchaseOrderId`` to fetch.

        Raises:
            MappingError: the payload names no purchase order.
        """
        element = unwrap_order(payload)
        lines = element.get("orderLines")
        if isinstance(lines, Mapping) and "orderLine" in lines:
            return None
        inner = element.get("payload") if isinstance(element.get("payload"), Mapping) else element
        assert isinstance(inner, Mapping)
        po = inner.get("purchaseOrderId")
        if not isinstance(po, str) or not po.strip():
            raise MappingError("Walmart event payload has no purchaseOrderId")
        return po.strip()

    def to_order(self, payload: Mapping[str, Any], *, client_id: str, connection_id: str) -> Order:
        """See :func:`order_to_canonical`."""
        return order_to_canonical(payload, client_id=client_id, connection_id=connection_id)


def carrier_name(carrier: str | None) -> dict[str, str]:
    """``carrierName``: ``{"carrier": "UPS"}`` for carriers Walmart knows, else ``{"otherCarrier": …}``."""
    if not carrier or not carrier.strip():
        raise MappingError("a Walmart shipment needs a carrier")
    known = KNOWN_CARRIERS.get(carrier.strip().lower())
    return {"carrier": known} if known else {"otherCarrier": carrier.strip()}


def method_code(service: str | None) -> str:
    """Walmart's ``methodCode`` for a service name (``Standard`` when it names none of them)."""
    text = (service or "").replace(" ", "").replace("-", "").lower()
    for code in METHOD_CODES:
        if code.lower() == text:
            return code
    return "Standard"


def shipment_to_ship_request(shipment: Shipment) -> dict[str, Any]:
    """The ``orderShipment`` body of ``POST /v3/orders/{purchaseOrderId}/shipping`` for one package.

    Raises:
        MappingError: a line lacks its Walmart ``lineNumber`` (``order_line_id``), or no tracking number.
    """
    if not shipment.tracking_number:
        raise MappingError(f"shipment {shipment.id}: Walmart requires a tracking number")
    tracking: dict[str, Any] = {
        "shipDateTime": to_millis(shipment.shipped_at),
        "carrierName": carrier_name(shipment.carrier),
        "methodCode": method_code(shipment.service),
        "trackingNumber": shipment.tracking_number,
    }
    if shipment.tracking_url:
        tracking["trackingURL"] = shipment.tracking_url
    lines = []
    for index, line in enumerate(shipment.lines):
        if not line.order_line_id:
            raise MappingError(
                f"shipment {shipment.id} line {index + 1} ({line.sku or 'no sku'}): Walmart ships PO lines; "
                "order_line_id must be the Walmart lineNumber"
            )
        status = {
            "status": "Shipped",
            "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(line.quantity)},
            "trackingInfo": tracking,
        }
        lines.append({"lineNumber": line.order_line_id, "orderLineStatuses": {"orderLineStatus": [status]}})
    return {"orderShipment": {"orderLines": {"orderLine": lines}}}


def inventory_to_walmart(level: InventoryLevel) -> dict[str, Any]:
    """The ``PUT /v3/inventory?sku=`` body (and one record of the inventory feed)."""
    return {"sku": level.sku, "quantity": {"unit": "EACH", "amount": level.available}}


def inventory_to_canonical(payload: Mapping[str, Any], *, client_id: str, connection_id: str) -> InventoryLevel:
    """Map Walmart's inventory record (``GET/PUT /v3/inventory`` answer) to ``InventoryLevel``.

    ``as_of`` is the epoch (Walmart's answer carries no time); callers that know it replace it.

    Raises:
        MappingError: not an inventory record, or a negative amount.
    """
    try:
        record = Inventory.model_validate(payload)
    except ValidationError as exc:
        raise MappingError(f"Walmart inventory: {describe_validation_error(exc)}") from None
    if record.quantity.amount < 0:
        raise MappingError(f"Walmart inventory {record.sku}: amount {record.quantity.amount} is negative")
    return InventoryLevel(
        client_id=client_id,
        sku=record.sku,
        available=record.quantity.amount,
        as_of=datetime(1970, 1, 1, tzinfo=UTC),
        source=ExternalRef(system=SYSTEM, connection_id=connection_id, object="inventory", external_id=record.sku),
    )


def inventory_feed(levels: list[InventoryLevel]) -> dict[str, Any]:
    """The bulk inventory feed file (``feedType=inventory``, header version 1.4)."""
    return {"InventoryHeader": {"version": "1.4"}, "Inventory": [inventory_to_walmart(level) for level in levels]}
