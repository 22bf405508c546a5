"""NetSuite item-location quantity rows → canonical ``InventoryLevel`` (pure)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tradewire.canonical import ExternalRef, InventoryLevel
from tradewire.errors import MappingError

SYSTEM = "netsuite"


def parse_changed(value: Any) -> datetime:
    """The row's ``changed`` text (``YYYY-MM-DD HH:MM:SS``, read as UTC) as an aware datetime.

    Raises:
        MappingError: not that form.
    """
    try:
        parsed = datetime.fromisoformat(str(value).replace(" ", "T"))
    except ValueError:
        raise MappingError(f"NetSuite inventory row: changed {value!r} is not a time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _units(row: Mapping[str, Any], key: str, *, default: Any = None) -> int:
    raw = row.get(key, default)
    try:
        number = float(raw)
    except (TypeError, ValueError):
        raise MappingError(f"NetSuite inventory row: {key} {raw!r} is not a number") from None
    if not math.isfinite(number):
        raise MappingError(f"NetSuite inventory row: {key} {raw!r} is not a number")
    # Negative on hand (oversold in NetSuite) lists as nothing; fractions of a unit are not sellable.
    return max(math.floor(number), 0)


def inventory_row_to_canonical(payload: Mapping[str, Any], *, client_id: str, connection_id: str) -> InventoryLevel:
    """One polled row (``item, sku, location, locationname, onhand, available, changed``) as an absolute level.

    Raises:
        MappingError: a row without SKU, location or quantities, with a reason a person can act on.
    """
    sku = str(payload.get("sku") or "").strip()
    item, location = payload.get("item"), payload.get("location")
    if not sku or item is None or location is None:
        raise MappingError(f"NetSuite inventory row needs item, sku and location: {dict(payload)!r:.200}")
    on_hand = _units(payload, "onhand")
    return InventoryLevel(
        client_id=client_id,
        sku=sku,
        location=str(payload.get("locationname") or location),
        on_hand=on_hand,
        available=_units(payload, "available", default=on_hand),
        as_of=parse_changed(payload.get("changed")),
        source=ExternalRef(
            system=SYSTEM, connection_id=connection_id, object="item_location", external_id=f"{item}@{location}"
        ),
    )
