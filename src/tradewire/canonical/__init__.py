"""Tradewire's canonical commerce model: pure Pydantic v2, no I/O, no vendor names."""

from __future__ import annotations

from tradewire.canonical.currency import CURRENCIES, is_currency, minor_unit
from tradewire.canonical.ids import canonical_id, customer_key
from tradewire.canonical.order import (
    ORDER_SCHEMA_VERSION,
    FinancialStatus,
    FulfillmentStatus,
    Order,
    OrderLine,
    OrderStatus,
)
from tradewire.canonical.party import Address, Buyer, Customer
from tradewire.canonical.refs import ExternalRef

__all__ = [
    "CURRENCIES",
    "ORDER_SCHEMA_VERSION",
    "Address",
    "Buyer",
    "Customer",
    "ExternalRef",
    "FinancialStatus",
    "FulfillmentStatus",
    "Order",
    "OrderLine",
    "OrderStatus",
    "canonical_id",
    "customer_key",
    "is_currency",
    "minor_unit",
]
