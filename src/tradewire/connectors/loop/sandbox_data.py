"""Realistic Loop returns for the sandbox: line items per returned unit, totals that add up.

A return is drawn from an order (a Shopify-style order dict: ``id``, ``name``, ``currency``,
``email``, ``line_items[{id, sku, title, price, quantity}]``) or, without one, from a catalog of
``(sku, title, price)``. Money is written as strings with two decimals, as Loop does.
"""

from __future__ import annotations

import copy
import json
import random
import zlib
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

DEFAULT_CATALOG: tuple[tuple[str, str, str], ...] = (
    ("TSHIRT-BLK-M", "Classic T-shirt - Black / M", "25.00"),
    ("TSHIRT-WHT-L", "Classic T-shirt - White / L", "25.00"),
    ("HOODIE-GRY-M", "Fleece Hoodie - Grey / M", "64.00"),
    ("JEANS-IND-32", "Slim Jeans - Indigo / 32", "89.00"),
    ("SNEAKER-WHT-42", "Court Sneaker - White / 42", "120.00"),
    ("CAP-NAVY", "Baseball Cap - Navy", "19.50"),
    ("SOCKS-3PK", "Crew Socks (3 pack)", "12.00"),
    ("JACKET-OLV-L", "Field Jacket - Olive / L", "149.00"),
)
REASONS: tuple[tuple[str, str | None], ...] = (
    ("Too small", "Size"),
    ("Too large", "Size"),
    ("Changed my mind", None),
    ("Arrived damaged", "Quality"),
    ("Not as described", None),
    ("Color different than pictured", "Appearance"),
)
CUSTOMERS: tuple[tuple[str, str, str], ...] = (
    ("Ann", "Lee", "ann.lee@example.com"),
    ("Bo", "Chen", "bo.chen@example.com"),
    ("Carla", "Diaz", "carla.diaz@example.org"),
    ("Dev", "Patel", "dev.patel@example.net"),
    ("Emma", "Moreau", "emma.moreau@example.com"),
)
OUTCOMES = ("refund", "credit", "exchange")
CENT = Decimal("0.01")


def _stable(text: Any) -> int:
    return zlib.crc32(str(text).encode("utf-8")) % 100_000


def money(value: Decimal) -> str:
    """Two decimals, as Loop writes money (``"25.00"``)."""
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def catalog_order(
    rnd: random.Random, catalog: Sequence[tuple[str, str, str | Decimal | float]], *, order_id: int, number: int
) -> dict[str, Any]:
    """A Shopify-style order drawn from ``catalog`` (1–3 lines, 1–2 units each)."""
    first, last, email = rnd.choice(CUSTOMERS)
    lines = []
    for index, (sku, title, price) in enumerate(rnd.sample(list(catalog), k=min(len(catalog), rnd.randint(1, 3)))):
        lines.append(
            {
                "id": order_id * 10 + index + 1,
                "sku": sku,
                "title": title,
                "price": str(price),
                "quantity": rnd.randint(1, 2),
            }
        )
    return {
        "id": order_id,
        "name": f"#{number}",
        "order_number": number,
        "currency": "USD",
        "email": email,
        "customer": {"first_name": first, "last_name": last, "email": email},
        "line_items": lines,
    }


def build_return(
    rnd: random.Random,
    order: Mapping[str, Any],
    *,
    return_id: int,
    loop_order_id: int,
    next_line_id: Callable[[], int],
    shop_id: int,
    now: str,
    tax_rate: Decimal,
    outcome: str | None = None,
) -> dict[str, Any]:
    """A new ``open`` return of some units of ``order``, shaped like Loop's return payload.

    Raises:
        ValueError: the order has no line items with a positive quantity and a price.
    """
    order_lines = [
        line for line in order.get("line_items") or [] if int(line.get("quantity") or 0) > 0 and line.get("price")
    ]
    if not order_lines:
        raise ValueError(f"order {order.get('id')!r} has no returnable line items")
    currency = str(order.get("currency") or "USD")
    chosen = rnd.sample(order_lines, k=rnd.randint(1, min(2, len(order_lines))))
    outcome = outcome or rnd.choice(OUTCOMES)
    items: list[dict[str, Any]] = []
    for line in chosen:
        units = rnd.randint(1, min(int(line["quantity"]), 2))
        reason, parent = rnd.choice(REASONS)
        price = Decimal(str(line["price"]))
        discount = (price * Decimal("0.1")).quantize(CENT) if rnd.random() < 0.3 else Decimal(0)
        tax = ((price - discount) * tax_rate).quantize(CENT, rounding=ROUND_HALF_UP)
        for _ in range(units):
            items.append(
                {
                    "line_item_id": next_line_id(),
                    "provider_line_item_id": str(line.get("id")),
                    "product_id": int(line.get("product_id") or 7_000_000 + _stable(line.get("sku"))),
                    "variant_id": int(line.get("variant_id") or 8_000_000 + _stable(line.get("sku"))),
                    "sku": line.get("sku"),
                    "title": line.get("title") or line.get("name") or "",
                    "price": money(price),
                    "discount": money(discount),
                    "tax": money(tax),
                    "refund": money(price - discount + tax),
                    "returned_at": None,
                    "exchange_variant": None,
                    "barcode": None,
                    "provider_restock_location_id": None,
                    "reason": reason,
                    "parent_reason": parent,
                    "outcome": "exchange" if outcome == "exchange" else outcome,
                }
            )
    product = sum((Decimal(i["price"]) for i in items), Decimal(0))
    discount_total = sum((Decimal(i["discount"]) for i in items), Decimal(0))
    tax_total = sum((Decimal(i["tax"]) for i in items), Decimal(0))
    total = product - discount_total + tax_total
    exchange_total = total if outcome == "exchange" else Decimal(0)
    customer = order.get("customer") or {}
    email = str(order.get("email") or customer.get("email") or "")
    zero = money(Decimal(0))
    return {
        "id": return_id,
        "shop_id": shop_id,
        "state": "open",
        "outcome": outcome,
        "created_at": now,
        "updated_at": now,
        "edited_at": now,
        "total": money(total),
        "order_id": loop_order_id,
        "order_name": str(order.get("name") or f"#{order.get('order_number') or order.get('id')}"),
        "order_number": str(order.get("order_number") or order.get("id")),
        "provider_order_id": str(order.get("id")),
        "provider_order_number": int(order.get("order_number") or 0) or None,
        "provider_order_external_id": None,
        "provider_order_sales_channel": "web",
        "customer": email,
        "customer_detail": {
            "email": email,
            "first_name": customer.get("first_name"),
            "last_name": customer.get("last_name"),
        },
        "address": {
            "name": " ".join(p for p in (customer.get("first_name"), customer.get("last_name")) if p) or None,
            "company": None,
            "address1": "1 Main St",
            "address2": None,
            "city": "Austin",
            "state": "Texas",
            "zip": "78701",
            "country": "United States",
            "country_code": "US",
            "phone": None,
        },
        "currency": currency,
        "return_product_total": money(product),
        "return_discount_total": money(discount_total),
        "return_tax_total": money(tax_total),
        "return_total": money(total),
        "return_credit_total": money(total) if outcome == "credit" else zero,
        "status_page_url": f"https://returns.example.com/#/return/{return_id}",
        "exchange_product_total": money(exchange_total),
        "exchange_discount_total": zero,
        "exchange_tax_total": zero,
        "exchange_total": money(exchange_total),
        "exchange_credit_total": money(exchange_total),
        "gift_card": money(total) if outcome == "credit" else zero,
        "handling_fee": zero,
        "refund": money(total) if outcome == "refund" else zero,
        "upsell": zero,
        "is_gift_return": False,
        "refunds": [],
        "line_items": items,
        "exchanges": (
            [
                {
                    "id": return_id * 10,
                    "product_id": items[0]["product_id"],
                    "variant_id": items[0]["variant_id"] + 1,
                    "sku": items[0]["sku"],
                    "title": items[0]["title"],
                    "price": items[0]["price"],
                    "total": money(total),
                }
            ]
            if outcome == "exchange"
            else []
        ),
        "labels": [],
    }


def webhook_payload(
    topic: str,
    trigger: str,
    record: Mapping[str, Any],
    label: Mapping[str, Any] | None,
    *,
    ids_as_strings: bool,
    escape_slashes: bool,
) -> bytes:
    """The exact bytes Loop sends for ``trigger``: compact JSON, slashes escaped as PHP's ``json_encode`` does.

    ``return`` and ``restock`` carry the whole return; ``label`` the label webhook's fields;
    ``return.processing`` the processing-failed fields (as in Loop's published examples).
    """

    def ident(value: Any) -> Any:
        return str(value) if ids_as_strings and value is not None else value

    if topic == "label" and label is not None:
        payload: dict[str, Any] = {
            "topic": "label",
            "trigger": trigger,
            "shop_id": ident(record.get("shop_id")),
            "id": ident(record["id"]),
            "order_id": ident(record.get("order_id")),
            "provider_order_id": record.get("provider_order_id"),
            "carrier": label.get("carrier"),
            "tracking_number": label.get("tracking_number"),
            "label_status": label.get("status"),
            "label_updated_at": label.get("updated_at"),
            "shipment_id": label.get("shipment_id"),
        }
    elif topic == "return.processing":
        payload = {
            "topic": topic,
            "trigger": trigger,
            "return_id": record["id"],
            "return_state": record.get("state"),
            "message": "Return failed to process",
            "source": "api",
        }
    else:
        payload = {"topic": topic, "trigger": trigger, **copy.deepcopy(dict(record))}
        payload["id"] = ident(record["id"])
        payload["order_id"] = ident(record.get("order_id"))
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    if escape_slashes:
        text = text.replace("/", "\\/")
    return text.encode("utf-8")
