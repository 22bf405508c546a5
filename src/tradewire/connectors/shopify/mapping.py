"""Pure ``Shopify ⇄ canonical`` order mapping: no I/O, no clock.

Money rules (they make ``Order``'s invariants hold on real payloads):

* ``subtotal`` = ``total_line_items_price`` (gross, before discounts; computed from the lines
  when absent). Shopify's ``subtotal_price`` is *after* discounts and is not used.
* ``line.discount`` = Σ ``discount_allocations.amount``, ``line.tax`` = Σ ``tax_lines.price``,
  ``line.total`` = ``quantity × price − discount``.
* ``discount_total`` = Σ line discounts (discounts on shipping are netted into shipping).
* ``shipping_total`` = Σ (shipping line ``price`` − its discount allocations).
* ``tax_total`` = ``total_tax`` (else the order's ``tax_lines``, else lines + shipping).
* ``total`` = ``total_price``; with ``taxes_included`` prices already contain the tax.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    canonical_id,
    is_currency,
)
from tradewire.connectors.shopify.schemas import RestAddress, RestOrder
from tradewire.errors import MappingError

SYSTEM = "shopify"

_FINANCIAL = {status.value: status for status in FinancialStatus}
_FULFILLMENT = {
    None: FulfillmentStatus.UNFULFILLED,
    "unfulfilled": FulfillmentStatus.UNFULFILLED,
    "partial": FulfillmentStatus.PARTIAL,
    "fulfilled": FulfillmentStatus.FULFILLED,
    "restocked": FulfillmentStatus.RESTOCKED,
}


def describe_validation_error(exc: ValidationError, *, limit: int = 5) -> str:
    """One line per problem, ``path reason``, e.g. ``line_items[1].price 'abc' is not a number``.

    Pydantic's own wording is kept for type errors, with the offending value quoted; our
    validators already quote the value, so their message follows the path directly.
    """
    parts: list[str] = []
    for error in exc.errors(include_url=False)[:limit]:
        path = _path(error.get("loc", ()))
        message = str(error.get("msg", "invalid"))
        if error.get("type") == "value_error":
            message = message.removeprefix("Value error, ")
            parts.append(f"{path} {message}" if path else message)
        elif error.get("type") == "missing":
            parts.append(f"{path} is missing")
        else:
            shown = repr(error.get("input"))
            if len(shown) > 60:
                shown = shown[:57] + "..."
            parts.append(f"{path} {shown}: {message.lower()}" if path else f"{message} ({shown})")
    extra = len(exc.errors()) - limit
    if extra > 0:
        parts.append(f"and {extra} more")
    return "; ".join(parts)


def _path(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.startswith(("function-", "decimal", "int", "str")):
            continue  # pydantic's internal union/validator labels, not field names
        else:
            text += f".{part}" if text else part
    return text


def _sum(amounts: Sequence[Decimal]) -> Decimal:
    return sum(amounts, Decimal(0))


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _address(raw: RestAddress | None) -> Address | None:
    if raw is None:
        return None
    name = _blank_to_none(raw.name) or _blank_to_none(" ".join(p for p in (raw.first_name, raw.last_name) if p))
    return Address(
        name=name,
        company=_blank_to_none(raw.company),
        line1=_blank_to_none(raw.address1),
        line2=_blank_to_none(raw.address2),
        city=_blank_to_none(raw.city),
        region=_blank_to_none(raw.province_code) or _blank_to_none(raw.province),
        postal_code=_blank_to_none(raw.zip),
        country_code=_blank_to_none(raw.country_code),
        phone=_blank_to_none(raw.phone),
    )


def _buyer(order: RestOrder) -> Buyer:
    customer = order.customer
    billing = order.billing_address
    email = (customer.email if customer else None) or order.email or order.contact_email
    first = customer.first_name if customer and (customer.first_name or customer.last_name) else None
    last = customer.last_name if customer and (customer.first_name or customer.last_name) else None
    if first is None and last is None and customer is None and billing is not None:
        first, last = billing.first_name, billing.last_name
    return Buyer(
        email=_blank_to_none(email),
        first_name=_blank_to_none(first),
        last_name=_blank_to_none(last),
        phone=_blank_to_none((customer.phone if customer else None) or order.phone),
        source_customer_id=str(customer.id) if customer and customer.id is not None else None,
    )


def _status(order: RestOrder) -> OrderStatus:
    if order.cancelled_at is not None:
        return OrderStatus.CANCELLED
    if order.closed_at is not None:
        return OrderStatus.CLOSED
    return OrderStatus.OPEN


def _open_quantity(quantity: int, current: int | None, fulfillment_status: str | None) -> int:
    """Units still ordered: fewer than ``quantity`` when units of an unshipped line were cancelled.

    Shopify lowers ``current_quantity`` when an order edit or a refund removes units. Only lines
    not yet fulfilled shrink: units taken back after shipping are a return (a credit memo), not
    a change of the sales order.
    """
    if current is None or current >= quantity or fulfillment_status not in (None, ""):
        return quantity
    return max(current, 0)


def _share(amount: Decimal, part: int, whole: int) -> Decimal:
    """``amount`` scaled to ``part`` of ``whole`` units, to the cent."""
    return amount if part == whole or whole == 0 else (amount * part / whole).quantize(Decimal("0.01"))


def _lines(order: RestOrder) -> list[OrderLine]:
    lines: list[OrderLine] = []
    for index, item in enumerate(order.line_items):
        where = f"line_items[{index}]"
        if item.quantity < 0:
            raise MappingError(f"order {order.id}: {where}.quantity {item.quantity} is negative")
        if item.price < 0:
            raise MappingError(f"order {order.id}: {where}.price {item.price} is negative")
        quantity = _open_quantity(item.quantity, item.current_quantity, item.fulfillment_status)
        discount = _share(_sum([a.amount for a in item.discount_allocations]), quantity, item.quantity)
        tax = _share(_sum([t.price for t in item.tax_lines]), quantity, item.quantity)
        gross = quantity * item.price
        if discount > gross:
            raise MappingError(f"order {order.id}: {where} discount {discount} exceeds its amount {gross}")
        lines.append(
            OrderLine(
                line_id=str(item.id),
                sku=_blank_to_none(item.sku),
                title=(item.name or item.title or "").strip(),
                quantity=quantity,
                unit_price=item.price,
                discount=discount,
                tax=tax,
                total=gross - discount,
            )
        )
    return lines


def order_to_canonical(payload: Mapping[str, Any], *, client_id: str, connection_id: str) -> Order:
    """Map a Shopify REST order (a webhook body) to the canonical ``Order``.

    Args:
        payload: the REST Order JSON (``orders/create|updated|cancelled`` body), ids as ints.
        client_id: the tenant.
        connection_id: the Shopify connection the payload came from.

    Raises:
        MappingError: the payload is not a usable order; the message names the field and the
            value (e.g. ``line_items[1].price 'abc' is not a number``).
    """
    if not isinstance(payload, Mapping):
        raise MappingError(f"a Shopify order must be a JSON object, got {type(payload).__name__}")
    try:
        order = RestOrder.model_validate(payload)
    except ValidationError as exc:
        label = payload.get("id")
        prefix = f"order {label}: " if isinstance(label, int) and not isinstance(label, bool) else "order: "
        raise MappingError(prefix + describe_validation_error(exc), detail={"payload_id": str(label)}) from None
    where = f"order {order.id}"
    if not order.line_items:
        raise MappingError(f"{where} has no line items")
    currency = (order.currency or "").strip().upper()
    if not currency:
        raise MappingError(f"{where} has no currency")
    if not is_currency(currency):
        raise MappingError(f"{where}: currency {order.currency!r} is not an ISO 4217 code")
    placed_at = order.processed_at or order.created_at
    if placed_at is None:
        raise MappingError(f"{where} has neither processed_at nor created_at")
    lines = _lines(order)
    # Units cancelled from unshipped lines: the channel's order-level figures still count them.
    shrunk = any(line.quantity != item.quantity for line, item in zip(lines, order.line_items, strict=True))
    gross = _sum([line.quantity * line.unit_price for line in lines])
    shipping = Decimal(0)
    for index, ship in enumerate(order.shipping_lines):
        net = ship.price - _sum([a.amount for a in ship.discount_allocations])
        if net < 0:
            raise MappingError(f"{where}: shipping_lines[{index}] discounts exceed its price {ship.price}")
        shipping += net
    if shrunk:
        tax_total = _sum([line.tax for line in lines]) + _sum(
            [t.price for s in order.shipping_lines for t in s.tax_lines]
        )
    elif order.total_tax is not None:
        tax_total = order.total_tax
    elif order.tax_lines:
        tax_total = _sum([t.price for t in order.tax_lines])
    else:
        tax_total = _sum([line.tax for line in lines]) + _sum(
            [t.price for s in order.shipping_lines for t in s.tax_lines]
        )
    subtotal = order.total_line_items_price if order.total_line_items_price is not None and not shrunk else gross
    discount_total = _sum([line.discount for line in lines])
    total = None if shrunk else order.total_price
    if total is None:
        total = subtotal - discount_total + shipping + (Decimal(0) if order.taxes_included else tax_total)
    try:
        return Order(
            id=canonical_id(client_id, "order", f"{SYSTEM}:{connection_id}:{order.id}"),
            client_id=client_id,
            source=ExternalRef(system=SYSTEM, connection_id=connection_id, object="order", external_id=str(order.id)),
            number=(order.name or (f"#{order.order_number}" if order.order_number else str(order.id))).strip(),
            placed_at=placed_at,
            updated_at=order.updated_at,
            cancelled_at=order.cancelled_at,
            cancel_reason=order.cancel_reason,
            status=_status(order),
            financial_status=_FINANCIAL.get(order.financial_status or "", FinancialStatus.UNKNOWN),
            fulfillment_status=_FULFILLMENT.get(order.fulfillment_status, FulfillmentStatus.UNFULFILLED),
            currency=currency,
            customer=_buyer(order),
            billing_address=_address(order.billing_address),
            shipping_address=_address(order.shipping_address),
            lines=lines,
            shipping_total=shipping,
            discount_total=discount_total,
            tax_total=tax_total,
            taxes_included=order.taxes_included,
            subtotal=subtotal,
            total=total,
            tags=[tag.strip() for tag in (order.tags or "").split(",") if tag.strip()],
            note=order.note,
            test=order.test,
        )
    except ValidationError as exc:
        raise MappingError(f"{where}: {describe_validation_error(exc)}") from None


class ShopifyOrderSource:
    """The ``OrderSource`` capability of the Shopify connector (pure)."""

    def reference(self, payload: Mapping[str, Any]) -> str | None:
        """None for a webhook body (the whole order); the order id for a polled change-feed summary."""
        if payload.get("kind") == "shopify.order_summary":
            ref = payload.get("legacyResourceId")
            return str(ref) if ref else None
        return None

    def to_order(self, payload: Mapping[str, Any], *, client_id: str, connection_id: str) -> Order:
        """Map one Shopify REST order; see :func:`order_to_canonical`.

        Raises:
            MappingError: with a reason a person can act on.
        """
        return order_to_canonical(payload, client_id=client_id, connection_id=connection_id)


# --- canonical → Shopify REST -----------------------------------------------------------------


def _money_text(amount: Decimal) -> str:
    return format(amount, "f")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _numeric_id(value: str | None) -> int | str | None:
    if value is None:
        return None
    return int(value) if value.isdigit() else value


def _rest_address(address: Address | None) -> dict[str, Any] | None:
    if address is None:
        return None
    return {
        "name": address.name,
        "company": address.company,
        "address1": address.line1,
        "address2": address.line2,
        "city": address.city,
        "province_code": address.region,
        "zip": address.postal_code,
        "country_code": address.country_code,
        "phone": address.phone,
    }


def order_to_rest_payload(order: Order) -> dict[str, Any]:
    """Render a canonical order as Shopify REST Order JSON (the shape of a webhook body).

    The result maps back to an equal canonical order through :func:`order_to_canonical`
    (for an order that came from the same Shopify connection). Money is written as strings
    and numeric ids as JSON integers.
    """
    buyer = order.customer
    has_customer = any((buyer.source_customer_id, buyer.first_name, buyer.last_name, buyer.phone))
    customer = (
        {
            "id": _numeric_id(buyer.source_customer_id),
            "email": buyer.email,
            "first_name": buyer.first_name,
            "last_name": buyer.last_name,
            "phone": buyer.phone,
        }
        if has_customer
        else None
    )
    line_items = [
        {
            "id": _numeric_id(line.line_id),
            "sku": line.sku,
            "title": line.title,
            "name": line.title,
            "quantity": line.quantity,
            "price": _money_text(line.unit_price),
            "total_discount": _money_text(line.discount),
            "tax_lines": [{"title": "Tax", "price": _money_text(line.tax)}] if line.tax else [],
            "discount_allocations": [{"amount": _money_text(line.discount)}] if line.discount else [],
        }
        for line in order.lines
    ]
    shipping_lines = (
        [
            {
                "title": "Shipping",
                "code": "Shipping",
                "price": _money_text(order.shipping_total),
                "discount_allocations": [],
            }
        ]
        if order.shipping_total
        else []
    )
    closed_at = None
    if order.status is OrderStatus.CLOSED:
        closed_at = _iso(order.updated_at or order.placed_at)
    return {
        "id": _numeric_id(order.source.external_id) if order.source.system == SYSTEM else None,
        "name": order.number,
        "email": buyer.email,
        "phone": None if has_customer else buyer.phone,
        "created_at": _iso(order.placed_at),
        "processed_at": _iso(order.placed_at),
        "updated_at": _iso(order.updated_at),
        "cancelled_at": _iso(order.cancelled_at),
        "cancel_reason": order.cancel_reason,
        "closed_at": closed_at,
        "currency": order.currency,
        "financial_status": None if order.financial_status is FinancialStatus.UNKNOWN else order.financial_status.value,
        "fulfillment_status": None
        if order.fulfillment_status is FulfillmentStatus.UNFULFILLED
        else order.fulfillment_status.value,
        "taxes_included": order.taxes_included,
        "test": order.test,
        "tags": ", ".join(order.tags),
        "note": order.note,
        "total_line_items_price": _money_text(order.subtotal),
        "subtotal_price": _money_text(order.subtotal - order.discount_total),
        "total_discounts": _money_text(order.discount_total),
        "total_tax": _money_text(order.tax_total),
        "total_price": _money_text(order.total),
        "line_items": line_items,
        "shipping_lines": shipping_lines,
        "billing_address": _rest_address(order.billing_address),
        "shipping_address": _rest_address(order.shipping_address),
        "customer": customer,
    }


# --- GraphQL → REST ---------------------------------------------------------------------------


def _shop_amount(money_bag: Any) -> str | None:
    if not isinstance(money_bag, Mapping):
        return None
    shop_money = money_bag.get("shopMoney")
    if not isinstance(shop_money, Mapping):
        return None
    amount = shop_money.get("amount")
    return None if amount is None else str(amount)


def _nodes(connection: Any) -> list[Mapping[str, Any]]:
    if not isinstance(connection, Mapping):
        return []
    if isinstance(connection.get("nodes"), list):
        return [n for n in connection["nodes"] if isinstance(n, Mapping)]
    edges = connection.get("edges")
    if isinstance(edges, list):
        return [e["node"] for e in edges if isinstance(e, Mapping) and isinstance(e.get("node"), Mapping)]
    return []


def _legacy_id(gid: Any) -> int | str | None:
    if not isinstance(gid, str):
        return None
    tail = gid.rsplit("/", 1)[-1].split("?", 1)[0]
    return int(tail) if tail.isdigit() else tail


def _gql_address(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping):
        return None
    return {
        "name": raw.get("name"),
        "first_name": raw.get("firstName"),
        "last_name": raw.get("lastName"),
        "company": raw.get("company"),
        "address1": raw.get("address1"),
        "address2": raw.get("address2"),
        "city": raw.get("city"),
        "province": raw.get("province"),
        "province_code": raw.get("provinceCode"),
        "zip": raw.get("zip"),
        "country": raw.get("country"),
        "country_code": raw.get("countryCodeV2"),
        "phone": raw.get("phone"),
    }


def _gql_taxes(raw: Any) -> list[dict[str, Any]]:
    return [
        {"title": t.get("title"), "rate": t.get("rate"), "price": _shop_amount(t.get("priceSet"))}
        for t in (raw if isinstance(raw, list) else [])
        if isinstance(t, Mapping)
    ]


def _gql_allocations(raw: Any) -> list[dict[str, Any]]:
    return [
        {"amount": _shop_amount(a.get("allocatedAmountSet"))}
        for a in (raw if isinstance(raw, list) else [])
        if isinstance(a, Mapping)
    ]


_GQL_FULFILLMENT = {
    "UNFULFILLED": None,
    "PARTIALLY_FULFILLED": "partial",
    "FULFILLED": "fulfilled",
    "RESTOCKED": "restocked",
}


def graphql_order_to_rest(node: Mapping[str, Any]) -> dict[str, Any]:
    """Turn a GraphQL ``Order`` (as selected by ``client.ORDER_FIELDS``) into REST Order JSON.

    Polled orders then go through the same :func:`order_to_canonical` as webhook bodies.
    Amounts are the shop-currency amounts. Fields the query did not select are left out.
    """
    customer = node.get("customer")
    financial = node.get("displayFinancialStatus")
    tags = node.get("tags")
    return {
        "id": int(str(node.get("legacyResourceId"))) if str(node.get("legacyResourceId", "")).isdigit() else None,
        "admin_graphql_api_id": node.get("id"),
        "name": node.get("name"),
        "email": node.get("email"),
        "phone": node.get("phone"),
        "created_at": node.get("createdAt"),
        "processed_at": node.get("processedAt"),
        "updated_at": node.get("updatedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "cancel_reason": str(node["cancelReason"]).lower() if node.get("cancelReason") else None,
        "closed_at": node.get("closedAt"),
        "currency": node.get("currencyCode"),
        "financial_status": str(financial).lower() if financial else None,
        "fulfillment_status": _GQL_FULFILLMENT.get(str(node.get("displayFulfillmentStatus"))),
        "taxes_included": bool(node.get("taxesIncluded")),
        "test": bool(node.get("test")),
        "tags": ", ".join(tags) if isinstance(tags, list) else None,
        "note": node.get("note"),
        "total_discounts": _shop_amount(node.get("totalDiscountsSet")),
        "total_tax": _shop_amount(node.get("totalTaxSet")),
        "total_price": _shop_amount(node.get("totalPriceSet")),
        "line_items": [
            {
                "id": _legacy_id(item.get("id")),
                "sku": item.get("sku"),
                "title": item.get("title"),
                "name": item.get("name"),
                "variant_title": item.get("variantTitle"),
                "quantity": item.get("quantity"),
                "price": _shop_amount(item.get("originalUnitPriceSet")),
                "tax_lines": _gql_taxes(item.get("taxLines")),
                "discount_allocations": _gql_allocations(item.get("discountAllocations")),
            }
            for item in _nodes(node.get("lineItems"))
        ],
        "shipping_lines": [
            {
                "id": _legacy_id(ship.get("id")),
                "title": ship.get("title"),
                "code": ship.get("code"),
                "price": _shop_amount(ship.get("originalPriceSet")),
                "tax_lines": _gql_taxes(ship.get("taxLines")),
                "discount_allocations": _gql_allocations(ship.get("discountAllocations")),
            }
            for ship in _nodes(node.get("shippingLines"))
        ],
        "billing_address": _gql_address(node.get("billingAddress")),
        "shipping_address": _gql_address(node.get("shippingAddress")),
        "customer": {
            "id": _legacy_id(customer.get("id")),
            "email": customer.get("email"),
            "first_name": customer.get("firstName"),
            "last_name": customer.get("lastName"),
            "phone": customer.get("phone"),
        }
        if isinstance(customer, Mapping)
        else None,
    }
