"""Canonical InventoryLevel v1: how many units of a SKU a location holds, or a channel may sell."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from tradewire.canonical.refs import ExternalRef
from tradewire.canonical.types import UtcDatetime

INVENTORY_SCHEMA_VERSION = 1


class InventoryLevel(BaseModel):
    """Units of ``sku`` at ``location`` (None: the account's default or only location).

    From an ERP or WMS ``on_hand`` is what is physically there; towards a channel ``available``
    is the quantity to list (what the allocation policy decided). Quantities are never negative.
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: int = INVENTORY_SCHEMA_VERSION
    client_id: str = Field(min_length=1, max_length=64)
    sku: str = Field(min_length=1, max_length=120)
    location: str | None = Field(default=None, max_length=120)
    on_hand: int | None = Field(default=None, ge=0)
    available: int = Field(ge=0)
    as_of: UtcDatetime
    source: ExternalRef | None = None
    fulfillment_latency_days: int | None = Field(default=None, ge=0, le=30)
