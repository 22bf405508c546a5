"""Canonical ⇄ NetSuite record bodies. Pure functions: no I/O, no clock.

Money rules (so NetSuite's totals equal the channel's):

- each line is ``rate = unit_price``, ``amount = quantity × unit_price − line discount``;
- the order-level part of ``discount_total`` (what line discounts do not cover) goes on the
  configured discount item as a negative ``discountRate``;
- ``shipping_total`` is ``shippingCost``;
- ``tax_total`` becomes one line on the configured tax item, or is left to NetSuite's tax engine
  when no tax item is configured (and not added at all when prices include tax).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from tradewire.canonical import Address, Buyer, Customer, ExternalRef, Order, OrderLine, OrderStatus, canonical_id
from tradewire.connectors.netsuite.schemas import NsAddress, NsSalesOrder
from tradewire.connectors.netsuite.settings import NetSuiteSettings
from tradewire.errors import MappingError

# Sales order status ids (the ``orderStatus`` select field). [unverified] that a PATCH of
# orderStatus to "C" cancels over REST in every account; NetSuite documents the ids for SuiteScript.
STATUS_PENDING_APPROVAL = "A"
STATUS_PENDING_FULFILLMENT = "B"
STATUS_CANCELLED = "C"
MEMO_MAX = 999


def _money(value: Decimal) -> float:
    # JSON numbers: a float's shortest repr prints back the same digits for amounts this size.
    return float(value)


def _decimal(value: object, what: str) -> Decimal:
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise MappingError(f"NetSuite {what} {value!r} is not a number") from exc
    if not result.is_finite():
        raise MappingError(f"NetSuite {what} {value!r} is not a finite number")
    return result


def address_to_netsuite(address: Address) -> dict[str, Any]:
    """An address sub-record (``shippingAddress``/``billingAddress``/``addressBookAddress``).

    The company (if any) is the addressee and the person goes to ``attention``.
    """
    addressee = address.company or address.name
    attention = address.name if address.company else None
    country = {"id": address.country_code} if address.country_code else None  # [unverified] enum id = ISO alpha-2
    return NsAddress.model_validate(
        {
            "addressee": addressee,
            "attention": attention,
            "addr1": address.line1,
            "addr2": address.line2,
            "city": address.city,
            "state": address.region,
            "zip": address.postal_code,
            "country": country,
            "addrPhone": address.phone,
        }
    ).wire()


def customer_to_netsuite(customer: Customer, settings: NetSuiteSettings) -> dict[str, Any]:
    """The ``customer`` body for an upsert keyed by ``externalId = customer.id``.

    A customer with a company and no personal name becomes a company record; everyone else a
    person. A person with no name at all is filed under their e-mail (or "Guest") as last name,
    because NetSuite needs a name on person records.
    """
    has_name = bool(customer.first_name or customer.last_name)
    is_person = has_name or not customer.company
    body: dict[str, Any] = {
        "externalId": customer.id,
        "isPerson": is_person,
        "subsidiary": {"id": settings.subsidiary_id},
    }
    if customer.first_name:
        body["firstName"] = customer.first_name
    if customer.last_name:
        body["lastName"] = customer.last_name
    if is_person and not has_name:
        body["lastName"] = customer.email or "Guest"
    if customer.company:
        body["companyName"] = customer.company
    if customer.email:
        body["email"] = customer.email
    if customer.phone:
        body["phone"] = customer.phone
    if customer.default_address is not None:
        body["addressBook"] = {
            "items": [
                {
                    "defaultBilling": True,
                    "defaultShipping": True,
                    "addressBookAddress": address_to_netsuite(customer.default_address),
                }
            ]
        }
    return body


def _missing_items_error(missing: list[str]) -> MappingError:
    if len(missing) == 1:
        return MappingError(
            f"SKU {missing[0]} is not an item in NetSuite: create it or map it", detail={"skus": missing}
        )
    return MappingError(
        f"SKUs {', '.join(missing)} are not items in NetSuite: create them or map them", detail={"skus": missing}
    )


def _line(line: OrderLine, item_id: str, settings: NetSuiteSettings) -> dict[str, Any]:
    body: dict[str, Any] = {
        "item": {"id": item_id},
        "quantity": line.quantity,
        "rate": _money(line.unit_price),
        "amount": _money(line.total),
    }
    if line.title:
        body["description"] = line.title
    if settings.default_location_id:
        body["location"] = {"id": settings.default_location_id}
    return body


def order_to_sales_order(
    order: Order, *, customer_ref: str, item_refs: Mapping[str, str], settings: NetSuiteSettings
) -> dict[str, Any]:
    """The ``salesOrder`` body for an upsert keyed by ``externalId = order.id``.

    Args:
        order: the canonical order.
        customer_ref: NetSuite internal id of the customer (``entity``).
        item_refs: SKU → NetSuite item internal id.
        settings: the connection's settings (subsidiary, location, discount/tax items, currencies).

    Raises:
        MappingError: a line has no SKU, a SKU has no NetSuite item (the message names every one),
            an order-level discount has no discount item configured, or the currency is not mapped.
    """
    no_sku = [line.line_id for line in order.lines if not line.sku]
    if no_sku:
        raise MappingError(
            f"order {order.number}: line(s) {', '.join(no_sku)} have no SKU; NetSuite needs an item on every line"
        )
    missing = sorted({line.sku for line in order.lines if line.sku and line.sku not in item_refs})
    if missing:
        raise _missing_items_error(missing)

    # A line whose units were all cancelled on the channel leaves the sales order (replace=item).
    lines = [_line(line, item_refs[line.sku], settings) for line in order.lines if line.sku and line.quantity > 0]
    if not lines:
        raise MappingError(f"order {order.number}: every line is cancelled; cancel the order instead of updating it")
    body: dict[str, Any] = {
        "externalId": order.id,
        "entity": {"id": customer_ref},
        "tranDate": order.placed_at.astimezone(UTC).date().isoformat(),
        "otherRefNum": order.number,
        "shippingCost": _money(order.shipping_total),
    }
    memo = order.note or ""
    if memo:
        body["memo"] = memo if len(memo) <= MEMO_MAX else memo[: MEMO_MAX - 1] + "…"
    if settings.currency_ids:
        currency_id = settings.currency_ids.get(order.currency)
        if currency_id is None:
            raise MappingError(
                f"order {order.number} is in {order.currency}, which has no NetSuite currency id in currency_ids"
            )
        body["currency"] = {"id": currency_id}
    if settings.ship_method_id:
        body["shipMethod"] = {"id": settings.ship_method_id}

    order_discount = order.discount_total - sum((line.discount for line in order.lines), Decimal(0))
    if order_discount > 0:
        if not settings.discount_item_id:
            raise MappingError(
                f"order {order.number} has an order-level discount of {order_discount} {order.currency}, but no "
                "discount_item_id is configured for this NetSuite connection"
            )
        body["discountItem"] = {"id": settings.discount_item_id}
        body["discountRate"] = _money(-order_discount)

    if order.tax_total > 0 and not order.taxes_included and settings.tax_item_id:
        lines.append(
            {
                "item": {"id": settings.tax_item_id},
                "quantity": 1,
                "rate": _money(order.tax_total),
                "amount": _money(order.tax_total),
                "description": "Tax",
            }
        )
    body["item"] = {"items": lines}
    if order.shipping_address is not None:
        body["shippingAddress"] = address_to_netsuite(order.shipping_address)
    if order.billing_address is not None:
        body["billingAddress"] = address_to_netsuite(order.billing_address)
    return body


def cancel_sales_order_body() -> dict[str, Any]:
    """The PATCH body that cancels a sales order (status id ``C``). [unverified] wire shape."""
    return {"orderStatus": {"id": STATUS_CANCELLED}}


@dataclass(frozen=True)
class SalesOrderView:
    """A NetSuite sales order read back in canonical terms (lines, totals, number)."""

    number: str | None
    external_id: str | None
    lines: list[OrderLine]
    subtotal: Decimal
    discount_total: Decimal
    shipping_total: Decimal
    tax_total: Decimal
    total: Decimal


def sales_order_to_canonical_lines(
    record: Mapping[str, Any] | NsSalesOrder,
    *,
    sku_by_item_id: Mapping[str, str],
    settings: NetSuiteSettings | None = None,
) -> SalesOrderView:
    """Read a sales order (as sent, or as read with ``expandSubResources=true``) back into canonical lines and totals.

    Line ids are the line positions (``"1"``, ``"2"`` …): NetSuite keeps no canonical line id.
    The tax item's line becomes ``tax_total``; the discount item's negative rate joins
    ``discount_total``.

    Raises:
        MappingError: a line has no item, an item id has no SKU in ``sku_by_item_id``, or a
            number is not a number.
    """
    so = record if isinstance(record, NsSalesOrder) else NsSalesOrder.model_validate(record)
    lines: list[OrderLine] = []
    tax_total = Decimal(0)
    for position, raw in enumerate(so.item.items if so.item else [], start=1):
        item_id = raw.item.id
        if item_id is None:
            raise MappingError(f"sales order line {position} has no item id")
        amount = _decimal(raw.amount if raw.amount is not None else 0, "amount")
        if settings is not None and settings.tax_item_id and item_id == settings.tax_item_id:
            tax_total += amount
            continue
        sku = sku_by_item_id.get(item_id)
        if sku is None:
            raise MappingError(f"NetSuite item {item_id} on line {position} has no known SKU")
        quantity = _decimal(raw.quantity if raw.quantity is not None else 0, "quantity")
        rate = _decimal(raw.rate if raw.rate is not None else 0, "rate")
        if quantity != quantity.to_integral_value():
            raise MappingError(f"line {position}: fractional quantity {quantity} cannot be a canonical line")
        gross = quantity * rate
        lines.append(
            OrderLine(
                line_id=str(position),
                sku=sku,
                title=raw.description or "",
                quantity=int(quantity),
                unit_price=rate,
                discount=gross - amount,
                total=amount,
            )
        )
    subtotal = sum((line.quantity * line.unit_price for line in lines), Decimal(0))
    discount_total = sum((line.discount for line in lines), Decimal(0))
    if so.discount_item is not None and so.discount_rate is not None:
        discount_total += -_decimal(so.discount_rate, "discountRate")
    shipping = _decimal(so.shipping_cost, "shippingCost") if so.shipping_cost is not None else Decimal(0)
    return SalesOrderView(
        number=so.other_ref_num,
        external_id=so.external_id,
        lines=lines,
        subtotal=subtotal,
        discount_total=discount_total,
        shipping_total=shipping,
        tax_total=tax_total,
        total=subtotal - discount_total + shipping + tax_total,
    )


# --- NetSuite → canonical -----------------------------------------------------------------------

_CLOSED_STATUSES = {"H"}


def _address_from_netsuite(raw: NsAddress | None) -> Address | None:
    if raw is None or not any((raw.addr1, raw.city, raw.zip, raw.addressee)):
        return None
    country = raw.country.id if raw.country is not None else None
    return Address(
        name=raw.attention or raw.addressee,
        company=raw.addressee if raw.attention else None,
        line1=raw.addr1,
        line2=raw.addr2,
        city=raw.city,
        region=raw.state,
        postal_code=raw.zip,
        country_code=country if country and len(country) == 2 else None,
        phone=raw.addr_phone,
    )


def _currency_code(so: NsSalesOrder, fallback: str | None) -> str:
    ref = so.currency
    for candidate in (ref.ref_name if ref else None, ref.id if ref else None, fallback):
        if candidate and len(candidate) == 3 and candidate.isalpha():
            return candidate.upper()
    raise MappingError(
        f"sales order {so.tran_id or so.id}: currency {ref.ref_name if ref else None!r} is not an ISO code; "
        "read it with the currency's symbol as refName or give the connection a currency"
    )


def sales_order_to_canonical(
    payload: Mapping[str, Any], *, client_id: str, connection_id: str, currency: str | None = None
) -> Order:
    """A NetSuite sales order (read with ``expandSubResources=true``) as a canonical order.

    The SKU of a line is its item's ``refName`` (NetSuite shows the item name, which is the SKU in
    the item master of most accounts); ``tranId`` is the number; ``orderStatus`` ``C`` is cancelled
    and ``H`` closed; a tax total NetSuite computed (``taxTotal``) is carried as ``tax_total``.

    Raises:
        MappingError: no id, no lines, a line without item, or a currency that is not an ISO code.
    """
    try:
        so = NsSalesOrder.model_validate(dict(payload))
    except ValueError as exc:
        raise MappingError(f"not a NetSuite sales order: {exc}") from None
    if not so.id:
        raise MappingError("the sales order has no internal id")
    items = so.item.items if so.item else []
    skus = {raw.item.id: raw.item.ref_name or raw.item.id for raw in items if raw.item.id}
    view = sales_order_to_canonical_lines(so, sku_by_item_id=skus)
    if not view.lines:
        raise MappingError(f"sales order {so.tran_id or so.id} has no item lines")
    tax = _decimal(payload.get("taxTotal", 0) or 0, "taxTotal") + view.tax_total
    code = _currency_code(so, currency)
    status_id = so.order_status.id if so.order_status else None
    placed = _placed_at(payload, so)
    customer_name = so.entity.ref_name if so.entity else None
    first, _, last = (customer_name or "").partition(" ")
    return Order(
        id=canonical_id(client_id, "order", f"netsuite:{connection_id}:{so.id}"),
        client_id=client_id,
        source=ExternalRef(system="netsuite", connection_id=connection_id, object="sales_order", external_id=so.id),
        number=so.tran_id or so.other_ref_num or so.id,
        placed_at=placed,
        cancelled_at=placed if status_id == STATUS_CANCELLED else None,
        status=OrderStatus.CANCELLED
        if status_id == STATUS_CANCELLED
        else OrderStatus.CLOSED
        if status_id in _CLOSED_STATUSES
        else OrderStatus.OPEN,
        currency=code,
        customer=Buyer(email=payload.get("email") or None, first_name=first or None, last_name=last or None),
        billing_address=_address_from_netsuite(so.billing_address),
        shipping_address=_address_from_netsuite(so.shipping_address),
        lines=view.lines,
        shipping_total=view.shipping_total,
        discount_total=view.discount_total,
        tax_total=tax,
        subtotal=view.subtotal,
        total=view.subtotal - view.discount_total + view.shipping_total + tax,
        note=so.memo,
        tags=[f"netsuite:{so.external_id}"] if so.external_id else [],
    )


def _placed_at(payload: Mapping[str, Any], so: NsSalesOrder) -> datetime:
    created = payload.get("createdDate")
    if isinstance(created, str):
        try:
            moment = datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment.astimezone(UTC)
    if so.tran_date:
        try:
            return datetime.combine(date.fromisoformat(so.tran_date[:10]), time(0), tzinfo=UTC)
        except ValueError:
            pass
    raise MappingError(f"sales order {so.tran_id or so.id} has neither createdDate nor a valid tranDate")
