"""Tradewire's canonical commerce model: pure Pydantic v2, no I/O, no vendor names."""

from __future__ import annotations

from pydantic import BaseModel

from tradewire.canonical.currency import CURRENCIES, is_currency, minor_unit
from tradewire.canonical.ids import canonical_id, customer_key
from tradewire.canonical.inventory import INVENTORY_SCHEMA_VERSION, InventoryLevel
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
from tradewire.canonical.refund import REFUND_SCHEMA_VERSION, Refund, RefundLine
from tradewire.canonical.returns import (
    RETURN_SCHEMA_VERSION,
    Disposition,
    Return,
    ReturnLine,
    ReturnOutcome,
    ReturnStatus,
)
from tradewire.canonical.shipment import SHIPMENT_SCHEMA_VERSION, Shipment, ShipmentLine, ShipmentStatus

CANONICAL_MODELS: dict[str, type[BaseModel]] = {
    "order": Order,
    "customer": Customer,
    "shipment": Shipment,
    "return": Return,
    "refund": Refund,
    "inventory": InventoryLevel,
}
"""Canonical objects by the name the CLI and connectors' ``reads``/``writes`` use."""

__all__ = [
    "CANONICAL_MODELS",
    "CURRENCIES",
    "INVENTORY_SCHEMA_VERSION",
    "ORDER_SCHEMA_VERSION",
    "REFUND_SCHEMA_VERSION",
    "RETURN_SCHEMA_VERSION",
    "SHIPMENT_SCHEMA_VERSION",
    "Address",
    "Buyer",
    "Customer",
    "Disposition",
    "ExternalRef",
    "FinancialStatus",
    "FulfillmentStatus",
    "InventoryLevel",
    "Order",
    "OrderLine",
    "OrderStatus",
    "Refund",
    "RefundLine",
    "Return",
    "ReturnLine",
    "ReturnOutcome",
    "ReturnStatus",
    "Shipment",
    "ShipmentLine",
    "ShipmentStatus",
    "canonical_id",
    "customer_key",
    "is_currency",
    "minor_unit",
]
