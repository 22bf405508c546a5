"""Pure Amazon → canonical mappings of orders (no I/O, no clock).

Inbound, the order payload is one Orders API v0 ``Order`` element with its items under
``OrderItems`` (what :class:`AmazonOrderReader` returns: getOrder + every getOrderItems page).
Amazon money is ``{"CurrencyCode", "Amount"}`` with ``Amount`` a string; ``ItemPrice`` is the
line's total (quantity × unit price), ``PromotionDiscount`` its discount, ``ItemTax`` its tax.

The other direction (shipments, quantities) is in ``mapping_outbound``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
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
    canonical_id,
    is_currency,
    minor_unit,
)
from tradewire.errors import MappingError

SYSTEM = "amazon"
ORDER_CHANGE = "ORDER_CHANGE"
UNIT_PRICE_PLACES = Decimal("0.000001")

# OrderStatus → (status, financial status, fulfillment status)
_STATUSES: dict[str, tuple[OrderStatus, FinancialStatus, FulfillmentStatus]] = {
    "Pending": (OrderStatus.OPEN, FinancialStatus.PENDING, FulfillmentStatus.UNFULFILLED),
    "PendingAvailability": (OrderStatus.OPEN, FinancialStatus.PENDING, FulfillmentStatus.UNFULFILLED),
    "Unshipped": (OrderStatus.OPEN, FinancialStatus.PAID, FulfillmentStatus.UNFULFILLED),
    "PartiallyShipped": (OrderStatus.OPEN, FinancialStatus.PAID, FulfillmentStatus.PARTIAL),
    "Shipped": (OrderStatus.OPEN, FinancialStatus.PAID, FulfillmentStatus.FULFILLED),
    "InvoiceUnconfirmed": (OrderStatus.OPEN, FinancialStatus.PAID, FulfillmentStatus.FULFILLED),
    "Unfulfillable": (OrderStatus.OPEN, FinancialStatus.UNKNOWN, FulfillmentStatus.UNFULFILLED),
    "Canceled": (OrderStatus.CANCELLED, FinancialStatus.VOIDED, FulfillmentStatus.UNFULFILLED),
}


def parse_time(value: Any, *, field: str) -> datetime:
    """An aware UTC datetime from Amazon's ISO-8601 text.

    Raises:
        MappingError: missing or not an ISO-8601 time with a zone.
    """
    if not isinstance(value, str) or not value.strip():
        raise MappingError(f"{field} is missing")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise MappingError(f"{field} {value[:40]!r} is not an ISO-8601 time") from None
    if parsed.tzinfo is None:
        raise MappingError(f"{field} {value[:40]!r} has no time zone")
    return parsed.astimezone(UTC)


def iso_utc(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ``: fixed width, so the text sorts like the time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Money:
    """Reads money objects of one order, insisting on one currency."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        self.currency: str | None = None

    def read(self, owner: Mapping[str, Any], key: str, where: str) -> Decimal:
        raw = owner.get(key)
        if raw is None:
            return Decimal(0)
        if not isinstance(raw, Mapping):
            raise MappingError(f"order {self.order_id}: {where}.{key} is not a money object")
        code = raw.get("CurrencyCode")
        try:
            amount = Decimal(str(raw.get("Amount")))
        except InvalidOperation:
            raise MappingError(
                f"order {self.order_id}: {where}.{key}.Amount {raw.get('Amount')!r} is not a number"
            ) from None
        if not amount.is_finite() or amount < 0:
            raise MappingError(f"order {self.order_id}: {where}.{key}.Amount {amount} must be a number >= 0")
        if not isinstance(code, str) or not is_currency(code):
            raise MappingError(f"order {self.order_id}: {where}.{key}.CurrencyCode {code!r} is not an ISO 4217 code")
        if self.currency is None:
            self.currency = code
        elif code != self.currency:
            raise MappingError(
                f"order {self.order_id}: {where}.{key} is in {code} but the order is in {self.currency}; "
                "Amazon orders carry one currency, check the payload"
            )
        return amount


def unwrap_notification(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The SP-API notification inside an EventBridge event (``detail``), or ``payload`` itself."""
    detail = payload.get("detail")
    if isinstance(detail, Mapping) and "NotificationType" in detail:
        return detail
    return payload


def notification_order_id(payload: Mapping[str, Any]) -> str | None:
    """The AmazonOrderId an ORDER_CHANGE notification names (None when it is not one)."""
    notification = unwrap_notification(payload)
    if notification.get("NotificationType") != ORDER_CHANGE:
        return None
    change = (notification.get("Payload") or {}).get("OrderChangeNotification") or {}
    order_id = change.get("AmazonOrderId") if isinstance(change, Mapping) else None
    return order_id if isinstance(order_id, str) and order_id else None


class AmazonOrderSource:
    """``OrderSource`` for Amazon: notifications and bare getOrders elements name the order to read."""

    def reference(self, payload: Mapping[str, Any]) -> str | None:
        """The AmazonOrderId to fetch, or None when ``payload`` already carries its ``OrderItems``.

        Raises:
            MappingError: neither a notification nor an order.
        """
        if "NotificationType" in payload or "detail" in payload:
            order_id = notification_order_id(payload)
            if order_id is None:
                raise MappingError("the notification is not an ORDER_CHANGE naming an AmazonOrderId")
            return order_id
        order_id = payload.get("AmazonOrderId")
        if not isinstance(order_id, str) or not order_id:
            raise MappingError("not an Amazon order: AmazonOrderId is missing")
        if isinstance(payload.get("OrderItems"), list):
            return None
        return order_id

    def to_order(self, payload: Mapping[str, Any], *, client_id: str, connection_id: str) -> Order:
        """Map one order with its items (see the module docstring).

        Raises:
            MappingError: with a reason a person can act on.
        """
        return order_to_canonical(payload, client_id=client_id, connection_id=connection_id)


def order_to_canonical(payload: Mapping[str, Any], *, client_id: str, connection_id: str) -> Order:
    """The canonical order of an Amazon order element carrying ``OrderItems``.

    Raises:
        MappingError: a notification or an order without items, unknown status, mixed currencies,
            or totals that break the canonical invariants.
    """
    if "NotificationType" in payload or "detail" in payload:
        raise MappingError("this is an ORDER_CHANGE notification; it only names the order: read it with getOrder first")
    order_id = payload.get("AmazonOrderId")
    if not isinstance(order_id, str) or not order_id:
        raise MappingError("not an Amazon order: AmazonOrderId is missing")
    items = payload.get("OrderItems")
    if not isinstance(items, list) or not items:
        raise MappingError(
            f"order {order_id} has no OrderItems; getOrders elements carry none, add getOrderItems' OrderItems"
        )
    status_text = payload.get("OrderStatus")
    if status_text not in _STATUSES:
        raise MappingError(f"order {order_id}: unknown OrderStatus {status_text!r}")
    status, financial, fulfillment = _STATUSES[str(status_text)]
    placed_at = parse_time(payload.get("PurchaseDate"), field=f"order {order_id}: PurchaseDate")
    updated_at = parse_time(payload.get("LastUpdateDate"), field=f"order {order_id}: LastUpdateDate")
    money = _Money(order_id)
    lines, extras = _lines(items, money, order_id)
    order_total = money.read(payload, "OrderTotal", "Order")
    currency = money.currency or _currency_of(payload)
    if currency is None:
        raise MappingError(f"order {order_id}: no money field says the currency (OrderTotal and item prices missing)")
    subtotal = extras["gross"]
    discount_total = sum((line.discount for line in lines), Decimal(0)) + extras["shipping_discount"]
    shipping_total = extras["shipping"]
    tax_total = extras["tax"]
    exclusive = subtotal - discount_total + shipping_total + tax_total
    inclusive = exclusive - tax_total
    unit = minor_unit(currency)
    tolerance = unit * (len(lines) + 1)
    taxes_included = False
    total = exclusive
    if payload.get("OrderTotal") is not None:
        if abs(order_total - exclusive) <= tolerance:
            total = order_total
        elif tax_total > 0 and abs(order_total - inclusive) <= tolerance:
            # VAT marketplaces (EU, UK, JP…) quote ItemPrice with tax included.
            taxes_included, total = True, order_total
        else:
            raise MappingError(
                f"order {order_id}: OrderTotal {order_total} {currency} does not match its items "
                f"(items {subtotal} - discounts {discount_total} + shipping {shipping_total} + tax {tax_total} = "
                f"{exclusive}); the items may be incomplete (all getOrderItems pages?)"
            )
    buyer_info = payload.get("BuyerInfo") if isinstance(payload.get("BuyerInfo"), Mapping) else {}
    assert isinstance(buyer_info, Mapping)
    shipping_address = _address(payload.get("ShippingAddress"))
    first, last = _split_name(buyer_info.get("BuyerName"))
    email = buyer_info.get("BuyerEmail") if isinstance(buyer_info.get("BuyerEmail"), str) else None
    cancelled = status is OrderStatus.CANCELLED
    try:
        return Order(
            id=canonical_id(client_id, "order", f"{SYSTEM}:{order_id}"),
            client_id=client_id,
            source=ExternalRef(system=SYSTEM, connection_id=connection_id, object="order", external_id=order_id),
            number=order_id,
            placed_at=placed_at,
            updated_at=updated_at,
            cancelled_at=updated_at if cancelled else None,
            cancel_reason=extras["cancel_reason"] if cancelled else None,
            status=status,
            financial_status=financial,
            fulfillment_status=fulfillment,
            currency=currency,
            customer=Buyer(
                email=email or None,
                first_name=first,
                last_name=last,
                phone=shipping_address.phone if shipping_address else None,
            ),
            shipping_address=shipping_address,
            lines=lines,
            shipping_total=shipping_total,
            discount_total=discount_total,
            tax_total=tax_total,
            taxes_included=taxes_included,
            subtotal=subtotal,
            total=total,
            tags=_tags(payload),
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "order"
        raise MappingError(f"order {order_id} breaks the canonical model at {where}: {error['msg']}") from None


def _lines(items: Sequence[Any], money: _Money, order_id: str) -> tuple[list[OrderLine], dict[str, Any]]:
    lines: list[OrderLine] = []
    shipping = shipping_discount = tax = gross = Decimal(0)
    cancel_reason: str | None = None
    for index, item in enumerate(items):
        where = f"OrderItems[{index}]"
        if not isinstance(item, Mapping):
            raise MappingError(f"order {order_id}: {where} is not an object")
        item_id = item.get("OrderItemId")
        if not isinstance(item_id, str) or not item_id:
            raise MappingError(f"order {order_id}: {where} has no OrderItemId")
        quantity = item.get("QuantityOrdered")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise MappingError(f"order {order_id}: item {item_id} QuantityOrdered {quantity!r} is not a count")
        price = money.read(item, "ItemPrice", where)
        discount = money.read(item, "PromotionDiscount", where)
        if quantity == 0 and price > 0:
            raise MappingError(f"order {order_id}: item {item_id} has ItemPrice {price} for quantity 0")
        unit_price = (price / quantity).quantize(UNIT_PRICE_PLACES, ROUND_HALF_EVEN) if quantity else Decimal(0)
        if unit_price * quantity == price:
            unit_price = unit_price.normalize() if unit_price else Decimal(0)
        if discount > price:
            raise MappingError(
                f"order {order_id}: item {item_id} PromotionDiscount {discount} exceeds ItemPrice {price}"
            )
        gross += price
        line_tax = money.read(item, "ItemTax", where)
        # Shipping, gift wrap and COD fees are order charges beside the goods (the canonical
        # model has one shipping_total); their taxes join tax_total.
        shipping += (
            money.read(item, "ShippingPrice", where)
            + money.read(item, "GiftWrapPrice", where)
            + money.read(item, "CODFee", where)
        )
        shipping_discount += money.read(item, "ShippingDiscount", where) + money.read(item, "CODFeeDiscount", where)
        tax += (
            line_tax
            + money.read(item, "ShippingTax", where)
            + money.read(item, "GiftWrapTax", where)
            - money.read(item, "PromotionDiscountTax", where)
            - money.read(item, "ShippingDiscountTax", where)
        )
        cancel = item.get("BuyerRequestedCancel")
        if isinstance(cancel, Mapping) and str(cancel.get("IsBuyerRequestedCancel")).lower() == "true":
            cancel_reason = str(cancel.get("BuyerCancelReason") or "buyer requested cancellation")[:255]
        sku = item.get("SellerSKU")
        lines.append(
            OrderLine(
                line_id=item_id,
                sku=sku if isinstance(sku, str) and sku else None,
                title=str(item.get("Title") or "")[:500],
                quantity=quantity,
                unit_price=unit_price,
                discount=discount,
                tax=line_tax,
                total=price - discount,
            )
        )
    if tax < 0:
        raise MappingError(f"order {order_id}: discount taxes exceed the taxes charged")
    return lines, {
        "shipping": shipping,
        "shipping_discount": shipping_discount,
        "tax": tax,
        "cancel_reason": cancel_reason,
        "gross": gross,
    }


def _currency_of(payload: Mapping[str, Any]) -> str | None:
    total = payload.get("OrderTotal")
    if isinstance(total, Mapping) and isinstance(total.get("CurrencyCode"), str):
        return str(total["CurrencyCode"])
    return None


def _address(raw: Any) -> Address | None:
    if not isinstance(raw, Mapping):
        return None
    parts = [raw.get(key) for key in ("AddressLine2", "AddressLine3")]
    line2 = ", ".join(p for p in parts if isinstance(p, str) and p) or None
    country = raw.get("CountryCode")
    return Address(
        name=raw.get("Name") or None,
        company=raw.get("CompanyName") or None,
        line1=raw.get("AddressLine1") or None,
        line2=line2,
        city=raw.get("City") or None,
        region=raw.get("StateOrRegion") or None,
        postal_code=raw.get("PostalCode") or None,
        country_code=country if isinstance(country, str) and len(country.strip()) == 2 else None,
        phone=raw.get("Phone") or None,
    )


def _split_name(name: Any) -> tuple[str | None, str | None]:
    if not isinstance(name, str) or not name.strip():
        return None, None
    first, _, last = name.strip().partition(" ")
    return first[:120], (last.strip()[:120] or None)


def _tags(payload: Mapping[str, Any]) -> list[str]:
    tags = []
    channel = payload.get("FulfillmentChannel")
    if isinstance(channel, str) and channel:
        tags.append(f"amazon:{channel}")
    for flag, tag in (("IsPrime", "prime"), ("IsBusinessOrder", "business"), ("IsReplacementOrder", "replacement")):
        if payload.get(flag) is True:
            tags.append(tag)
    marketplace = payload.get("MarketplaceId")
    if isinstance(marketplace, str) and marketplace:
        tags.append(f"marketplace:{marketplace}")
    return tags
