"""Realistic Shopify REST orders for the sandbox, with totals that add up like Shopify's.

Per order: 1–4 catalog lines (quantity 1–3); sometimes a percentage code discount allocated to
every line, sometimes a free-shipping code; per-line tax by ship-to state (or VAT included in
prices on some orders); shipping by basket size; customers drawn from a repeat pool, and some
guest checkouts without a customer record.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")

DEFAULT_CATALOG: list[tuple[str, str, str]] = [
    ("TEE-BLK-M", "Organic Tee - Black / M", "24.00"),
    ("TEE-WHT-L", "Organic Tee - White / L", "24.00"),
    ("HOOD-GRY-M", "Fleece Hoodie - Grey / M", "68.00"),
    ("CAP-NVY", "Canvas Cap - Navy", "19.50"),
    ("SOCK-3PK", "Merino Socks 3-pack", "27.95"),
    ("BAG-TOTE", "Waxed Tote Bag", "45.00"),
    ("MUG-ENM", "Enamel Mug", "16.00"),
    ("JKT-RAIN-L", "Rain Jacket - Olive / L", "149.00"),
]

_FIRST = ["Ava", "Liam", "Noah", "Mia", "Zoe", "Omar", "Ines", "Kenji", "Sofia", "Lucas", "Amara", "Jonas", "Priya"]
_LAST = ["Nguyen", "Schmidt", "Garcia", "Okafor", "Rossi", "Kim", "Dubois", "Novak", "Silva", "Patel", "Larsen"]
# city, province, province code, zip, street, sales-tax rate
_PLACES = [
    ("Louisville", "Kentucky", "KY", "40202", "Chestnut Street", Decimal("0.06")),
    ("Austin", "Texas", "TX", "78701", "Congress Avenue", Decimal("0.0825")),
    ("Portland", "Oregon", "OR", "97205", "Alder Street", Decimal("0")),
    ("Brooklyn", "New York", "NY", "11201", "Court Street", Decimal("0.08875")),
    ("Denver", "Colorado", "CO", "80202", "Larimer Street", Decimal("0.029")),
    ("Seattle", "Washington", "WA", "98101", "Pike Street", Decimal("0.1035")),
]
_VAT = Decimal("0.20")


def cents(value: Decimal) -> Decimal:
    """Round to the cent, half up (as Shopify shows amounts)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money(value: Decimal) -> str:
    """Shopify's money text: two decimals."""
    return format(cents(value), "f")


def money_set(value: Decimal, currency: str) -> dict[str, Any]:
    """A ``*_set`` object with the same shop and presentment amount."""
    amount = {"amount": money(value), "currency_code": currency}
    return {"shop_money": dict(amount), "presentment_money": dict(amount)}


@dataclass(frozen=True)
class CatalogItem:
    """One sellable variant."""

    sku: str
    title: str
    price: Decimal
    product_id: int
    variant_id: int


class OrderGenerator:
    """Builds REST-shaped orders; ids come from the shop's id sequence.

    Args:
        catalog: (sku, title, price) triples.
        rng: the sandbox's seeded random source.
        next_id: the shop's id sequence (Shopify ids are one global space).
        currency: shop currency.
        customer_pool: how many distinct returning customers exist.
        guest_rate: share of orders checked out as guests (no customer record).
        taxes_included_rate: share of orders with VAT included in prices.
    """

    def __init__(
        self,
        catalog: Sequence[tuple[str, str, str | Decimal | float]],
        rng: random.Random,
        next_id: Callable[[], int],
        *,
        currency: str = "USD",
        customer_pool: int = 25,
        guest_rate: float = 0.15,
        taxes_included_rate: float = 0.1,
    ) -> None:
        if not catalog:
            raise ValueError("the sandbox catalog needs at least one item")
        self._rng = rng
        self._next_id = next_id
        self.currency = currency
        self.guest_rate = guest_rate
        self.taxes_included_rate = taxes_included_rate
        self.catalog = [
            CatalogItem(sku, title, cents(Decimal(str(price))), product_id=next_id(), variant_id=next_id())
            for sku, title, price in catalog
        ]
        self._pool_size = customer_pool
        self.customers: list[dict[str, Any]] = []

    def _customer(self, now: str) -> dict[str, Any]:
        if len(self.customers) < self._pool_size and (not self.customers or self._rng.random() < 0.5):
            first, last = self._rng.choice(_FIRST), self._rng.choice(_LAST)
            customer_id = self._next_id()
            place = self._rng.choice(_PLACES)
            number = self._rng.randint(1, 999)
            self.customers.append(
                {
                    "id": customer_id,
                    "email": f"{first}.{last}{customer_id % 1000}@example.com".lower(),
                    "first_name": first,
                    "last_name": last,
                    "phone": f"+1555{customer_id % 10_000_000:07d}",
                    "created_at": now,
                    "updated_at": now,
                    "state": "enabled",
                    "tags": "",
                    "currency": self.currency,
                    "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
                    "default_address": _address(first, last, place, number),
                }
            )
            return self.customers[-1]
        return self._rng.choice(self.customers)

    def new_order(self, *, order_id: int, number: int, now: str) -> dict[str, Any]:
        """One new order created at ``now`` (ISO-8601 text with the shop's offset)."""
        rng = self._rng
        cur = self.currency
        guest = rng.random() < self.guest_rate
        customer = None if guest else self._customer(now)
        if customer is not None:
            first, last = customer["first_name"], customer["last_name"]
            address = dict(customer["default_address"])
            email = customer["email"]
        else:
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            address = _address(first, last, rng.choice(_PLACES), rng.randint(1, 999))
            email = f"guest.{order_id % 100_000}@example.net"
        place = next(p for p in _PLACES if p[2] == address["province_code"])
        taxes_included = rng.random() < self.taxes_included_rate
        rate = _VAT if taxes_included else place[5]
        tax_title = "VAT" if taxes_included else f"{place[1]} State Tax"
        percent_off = Decimal(15) if rng.random() < 0.3 else Decimal(0)
        items = rng.sample(self.catalog, k=min(len(self.catalog), rng.randint(1, 4)))
        lines: list[dict[str, Any]] = []
        gross_total = line_discounts = tax_total = Decimal(0)
        for item in items:
            quantity = rng.randint(1, 3)
            gross = item.price * quantity
            discount = cents(gross * percent_off / 100)
            net = gross - discount
            tax = cents(net * rate / (1 + rate)) if taxes_included else cents(net * rate)
            gross_total += gross
            line_discounts += discount
            tax_total += tax
            lines.append(_line(self._next_id(), item, quantity, discount, tax, rate, tax_title, cur))
        shipping_price = Decimal("0.00") if gross_total - line_discounts >= 75 else Decimal("6.95")
        shipping_title = "Free Shipping" if shipping_price == 0 else "Standard"
        if rng.random() < 0.2:
            shipping_price, shipping_title = Decimal("14.95"), "Express"
        free_shipping = shipping_price > 0 and rng.random() < 0.1
        shipping_discount = shipping_price if free_shipping else Decimal(0)
        codes = []
        applications = []
        if percent_off:
            codes.append({"code": "SPRING15", "amount": money(line_discounts), "type": "percentage"})
            applications.append(_application("SPRING15", "line_item", percent_off, "percentage"))
        if free_shipping:
            codes.append({"code": "FREESHIP", "amount": money(shipping_discount), "type": "shipping"})
            applications.append(_application("FREESHIP", "shipping_line", Decimal(100), "percentage"))
        shipping_line = {
            "id": self._next_id(),
            "title": shipping_title,
            "code": shipping_title,
            "source": "shopify",
            "price": money(shipping_price),
            "price_set": money_set(shipping_price, cur),
            "discounted_price": money(shipping_price - shipping_discount),
            "discounted_price_set": money_set(shipping_price - shipping_discount, cur),
            "tax_lines": [],
            "discount_allocations": [
                {
                    "amount": money(shipping_discount),
                    "amount_set": money_set(shipping_discount, cur),
                    "discount_application_index": len(applications) - 1,
                }
            ]
            if free_shipping
            else [],
        }
        shipping_net = shipping_price - shipping_discount
        subtotal = gross_total - line_discounts
        total = subtotal + shipping_net + (Decimal(0) if taxes_included else tax_total)
        roll = rng.random()
        financial = "paid" if roll < 0.85 else ("pending" if roll < 0.95 else "authorized")
        tags = sorted(rng.sample(["vip", "gift", "wholesale", "first-order"], k=rng.randint(0, 2)))
        return {
            "id": order_id,
            "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
            "name": f"#{number}",
            "number": number - 1000,
            "order_number": number,
            "email": email,
            "contact_email": email,
            "phone": None,
            "created_at": now,
            "updated_at": now,
            "processed_at": now,
            "cancelled_at": None,
            "cancel_reason": None,
            "closed_at": None,
            "confirmed": True,
            "currency": cur,
            "presentment_currency": cur,
            "financial_status": financial,
            "fulfillment_status": None,
            "source_name": "web",
            "taxes_included": taxes_included,
            "tax_exempt": False,
            "test": False,
            "tags": ", ".join(tags),
            "note": "Please gift wrap" if "gift" in tags else None,
            "note_attributes": [],
            "discount_codes": codes,
            "discount_applications": applications,
            "total_line_items_price": money(gross_total),
            "total_line_items_price_set": money_set(gross_total, cur),
            "subtotal_price": money(subtotal),
            "subtotal_price_set": money_set(subtotal, cur),
            "total_discounts": money(line_discounts + shipping_discount),
            "total_discounts_set": money_set(line_discounts + shipping_discount, cur),
            "total_shipping_price_set": money_set(shipping_net, cur),
            "total_tax": money(tax_total),
            "total_tax_set": money_set(tax_total, cur),
            "total_price": money(total),
            "total_price_set": money_set(total, cur),
            "current_total_price": money(total),
            "total_outstanding": "0.00" if financial == "paid" else money(total),
            "tax_lines": [{"title": tax_title, "rate": float(rate), "price": money(tax_total)}] if tax_total else [],
            "line_items": lines,
            "shipping_lines": [shipping_line],
            "billing_address": dict(address),
            "shipping_address": dict(address),
            "customer": dict(customer) if customer is not None else None,
            "fulfillments": [],
            "refunds": [],
        }


def _address(first: str, last: str, place: tuple[str, str, str, str, str, Decimal], number: int) -> dict[str, Any]:
    city, province, code, postal, street, _ = place
    return {
        "first_name": first,
        "last_name": last,
        "name": f"{first} {last}",
        "company": None,
        "address1": f"{number} {street}",
        "address2": "",
        "city": city,
        "province": province,
        "province_code": code,
        "zip": postal,
        "country": "United States",
        "country_code": "US",
        "phone": None,
        "latitude": None,
        "longitude": None,
    }


def _application(code: str, target: str, value: Decimal, value_type: str) -> dict[str, Any]:
    return {
        "target_type": target,
        "type": "discount_code",
        "value": str(value),
        "value_type": value_type,
        "allocation_method": "across",
        "target_selection": "all",
        "code": code,
    }


def _line(
    line_id: int,
    item: CatalogItem,
    quantity: int,
    discount: Decimal,
    tax: Decimal,
    rate: Decimal,
    tax_title: str,
    currency: str,
) -> dict[str, Any]:
    return {
        "id": line_id,
        "admin_graphql_api_id": f"gid://shopify/LineItem/{line_id}",
        "product_id": item.product_id,
        "variant_id": item.variant_id,
        "sku": item.sku,
        "title": item.title,
        "name": item.title,
        "variant_title": None,
        "vendor": "Tradewire Outfitters",
        "quantity": quantity,
        "current_quantity": quantity,
        "fulfillable_quantity": quantity,
        "fulfillment_status": None,
        "fulfillment_service": "manual",
        "requires_shipping": True,
        "taxable": True,
        "gift_card": False,
        "grams": 250,
        "price": money(item.price),
        "price_set": money_set(item.price, currency),
        "total_discount": "0.00",
        "total_discount_set": money_set(Decimal(0), currency),
        "tax_lines": [
            {"title": tax_title, "rate": float(rate), "price": money(tax), "price_set": money_set(tax, currency)}
        ]
        if tax
        else [],
        "discount_allocations": [
            {"amount": money(discount), "amount_set": money_set(discount, currency), "discount_application_index": 0}
        ]
        if discount
        else [],
        "duties": [],
        "properties": [],
    }


def shop_time(moment: datetime) -> str:
    """Shopify REST time text: whole seconds with the shop's UTC offset."""
    return moment.replace(microsecond=0).isoformat()
