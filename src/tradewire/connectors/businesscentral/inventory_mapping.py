"""Business Central ``items`` → canonical ``InventoryLevel`` (pure): the read-only ``inventory`` on hand."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tradewire.canonical import ExternalRef, InventoryLevel
from tradewire.errors import MappingError

SYSTEM = "businesscentral"


def item_inventory_to_canonical(payload: Mapping[str, Any], *, client_id: str, connection_id: str) -> InventoryLevel:
    """One item as its absolute on hand across the company's locations (``location`` None), as of its last change.

    BC's ``inventory`` is a decimal that may be negative (posted past zero): it lists as 0, and
    fractions of a unit are dropped.

    Raises:
        MappingError: no ``number``/``id``, a non-numeric ``inventory`` or a bad ``lastModifiedDateTime``.
    """
    number, item_id = str(payload.get("number") or "").strip(), payload.get("id")
    if not number or not item_id:
        raise MappingError(f"Business Central item needs id and number: {dict(payload)!r:.200}")
    raw = payload.get("inventory")
    try:
        quantity = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise MappingError(f"Business Central item {number}: inventory {raw!r} is not a number") from None
    if not math.isfinite(quantity):
        raise MappingError(f"Business Central item {number}: inventory {raw!r} is not a number")
    modified = str(payload.get("lastModifiedDateTime") or "")
    try:
        as_of = datetime.fromisoformat(modified.replace("Z", "+00:00"))
    except ValueError:
        raise MappingError(f"Business Central item {number}: lastModifiedDateTime {modified!r} is not a time") from None
    on_hand = max(math.floor(quantity), 0)
    return InventoryLevel(
        client_id=client_id,
        sku=number,
        location=None,
        on_hand=on_hand,
        available=on_hand,
        as_of=as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC),
        source=ExternalRef(system=SYSTEM, connection_id=connection_id, object="item", external_id=str(item_id)),
    )
