"""Inventory of the sandbox store: locations, one inventory item per catalog SKU, levels per location.

``inventorySetQuantities`` follows FACTS §1.3: ``name`` is ``available`` or ``on_hand``; from API
version 2026-04 every quantity must carry ``changeFromQuantity`` (explicit null opts out) and a
value that differs from the current quantity fails with ``CHANGE_FROM_QUANTITY_STALE``; before
2026-04 ``compareQuantity`` + ``ignoreCompareQuantity`` do the same job. The mutation is atomic:
one user error and nothing changes. ``on_hand`` = ``available`` + ``committed`` (committed stays 0
here), so setting one moves the other by the same delta.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

REASONS = frozenset(
    {
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_created",
        "movement_updated",
        "movement_received",
        "movement_canceled",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    }
)
MAX_QUANTITIES = 250


def location_gid(location_id: int) -> str:
    """``gid://shopify/Location/<id>``."""
    return f"gid://shopify/Location/{location_id}"


def item_gid(item_id: int) -> str:
    """``gid://shopify/InventoryItem/<id>``."""
    return f"gid://shopify/InventoryItem/{item_id}"


def parse_gid(gid: Any, kind: str) -> int | None:
    """The numeric id of ``gid://shopify/<kind>/<id>``, or None."""
    prefix = f"gid://shopify/{kind}/"
    text = str(gid or "")
    return int(text[len(prefix) :]) if text.startswith(prefix) and text[len(prefix) :].isdigit() else None


@dataclass
class StockLevel:
    """Quantities of one item at one location."""

    available: int = 0
    committed: int = 0
    updated_at: str = ""

    @property
    def on_hand(self) -> int:
        return self.available + self.committed


@dataclass
class StockBook:
    """Locations, items and levels of one sandbox store (thread-safe through the shop's lock).

    Args:
        lock: the shop's lock.
        next_id: the shop's id sequence.
        now_text: the shop's clock.
        location_names: names of the locations to create (the first is the default).
        skus: SKUs to create inventory items for, stocked at every location.
        initial: starting ``available`` of every level.
    """

    lock: threading.RLock
    next_id: Callable[[], int]
    now_text: Callable[[], str]
    location_names: Sequence[str] = ("Main warehouse", "Retail store")
    skus: Sequence[str] = ()
    initial: int = 0
    locations: dict[int, str] = field(default_factory=dict)
    items: dict[int, str] = field(default_factory=dict)
    levels: dict[tuple[int, int], StockLevel] = field(default_factory=dict)
    adjustments: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in self.location_names:
            self.locations[self.next_id()] = name
        for sku in self.skus:
            self.add_item(sku)

    def add_item(self, sku: str, *, stocked_at: Sequence[int] | None = None) -> int:
        """Create the inventory item of ``sku`` (stocked at ``stocked_at``, default every location)."""
        with self.lock:
            for item_id, known in self.items.items():
                if known == sku:
                    return item_id
            item_id = self.next_id()
            self.items[item_id] = sku
            for location_id in self.locations if stocked_at is None else stocked_at:
                self.levels[(item_id, location_id)] = StockLevel(self.initial, 0, self.now_text())
            return item_id

    def item_of(self, sku: str) -> int | None:
        """The inventory item id of ``sku``."""
        with self.lock:
            return next((i for i, s in self.items.items() if s == sku), None)

    def level(self, sku: str, location_id: int | None = None) -> StockLevel | None:
        """The level of ``sku`` at a location (default: the first), or None when not stocked there."""
        with self.lock:
            item = self.item_of(sku)
            where = location_id if location_id is not None else next(iter(self.locations))
            return self.levels.get((item, where)) if item is not None else None

    def set_available(self, sku: str, quantity: int, location_id: int | None = None) -> StockLevel:
        """Change ``available`` as a merchant or a sale would (tests use it to make a compare value stale).

        Raises:
            KeyError: unknown SKU or not stocked at the location.
        """
        with self.lock:
            level = self.level(sku, location_id)
            if level is None:
                raise KeyError(sku)
            level.available = quantity
            level.updated_at = self.now_text()
            return level

    def restock(self, sku: str | None, quantity: int, location_id: int) -> None:
        """Put returned units back (a refund with restockType RETURN); unknown SKUs are ignored."""
        with self.lock:
            item = self.item_of(sku) if sku else None
            level = self.levels.get((item, location_id)) if item is not None else None
            if level is not None:
                level.available += quantity
                level.updated_at = self.now_text()

    def snapshot(self) -> list[dict[str, Any]]:
        """Every level as JSON (admin endpoint)."""
        with self.lock:
            return [
                {
                    "sku": self.items[item],
                    "inventory_item_id": item_gid(item),
                    "location_id": location_gid(location),
                    "location": self.locations[location],
                    "available": level.available,
                    "on_hand": level.on_hand,
                    "updated_at": level.updated_at,
                }
                for (item, location), level in self.levels.items()
            ]

    def set_quantities(self, data: Mapping[str, Any], *, strict_change_from: bool) -> tuple[list[dict[str, Any]], Any]:
        """Apply ``InventorySetQuantitiesInput`` atomically; return (user errors, adjustment group).

        ``strict_change_from``: API 2026-04 or later (``changeFromQuantity`` required on each quantity).
        """
        errors: list[dict[str, Any]] = []
        name = str(data.get("name") or "")
        if name not in ("available", "on_hand"):
            errors.append(
                _error(["input", "name"], "The quantity name must be 'available' or 'on_hand'.", "INVALID_NAME")
            )
        reason = str(data.get("reason") or "")
        if reason not in REASONS:
            errors.append(_error(["input", "reason"], f"The reason '{reason}' is not valid.", "INVALID_REASON"))
        quantities = list(data.get("quantities") or [])
        if not quantities or len(quantities) > MAX_QUANTITIES:
            errors.append(_error(["input", "quantities"], f"Provide 1 to {MAX_QUANTITIES} quantities.", "INVALID"))
        with self.lock:
            planned: list[tuple[tuple[int, int], StockLevel, int]] = []
            seen: set[tuple[int, int]] = set()
            for index, entry in enumerate(quantities):
                path = ["input", "quantities", str(index)]
                item, location = (
                    parse_gid(entry.get("inventoryItemId"), "InventoryItem"),
                    parse_gid(entry.get("locationId"), "Location"),
                )
                if item not in self.items:
                    errors.append(
                        _error(
                            [*path, "inventoryItemId"],
                            "The specified inventory item could not be found.",
                            "INVALID_INVENTORY_ITEM",
                        )
                    )
                    continue
                if location not in self.locations:
                    errors.append(
                        _error([*path, "locationId"], "The specified location could not be found.", "INVALID_LOCATION")
                    )
                    continue
                key = (item, location)
                level = self.levels.get(key)
                if level is None:
                    errors.append(
                        _error(
                            [*path, "locationId"],
                            "The specified inventory item is not stocked at the location.",
                            "ITEM_NOT_STOCKED_AT_LOCATION",
                        )
                    )
                    continue
                if key in seen:
                    errors.append(
                        _error(
                            path,
                            "The same item and location appear twice.",
                            "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                        )
                    )
                    continue
                seen.add(key)
                current = level.available if name == "available" else level.on_hand
                problem = _compare_problem(entry, current, data, strict_change_from)
                if problem is not None:
                    errors.append(_error([*path, problem[0]], problem[1], problem[2]))
                    continue
                quantity = entry.get("quantity")
                if isinstance(quantity, bool) or not isinstance(quantity, int):
                    errors.append(_error([*path, "quantity"], "Quantity must be an integer.", "INVALID_QUANTITY"))
                    continue
                planned.append((key, level, quantity))
            if errors:
                return errors, None
            changes = []
            for (item, location), level, quantity in planned:
                before = level.available if name == "available" else level.on_hand
                level.available += quantity - before
                level.updated_at = self.now_text()
                for quantity_name in dict.fromkeys((name, "on_hand")):
                    changes.append(
                        {
                            "name": quantity_name,
                            "delta": quantity - before,
                            "quantityAfterChange": level.available if quantity_name == "available" else level.on_hand,
                            "item": {"id": item_gid(item), "sku": self.items[item]},
                            "location": {"id": location_gid(location), "name": self.locations[location]},
                        }
                    )
            group = {
                "id": f"gid://shopify/InventoryAdjustmentGroup/{self.next_id()}",
                "createdAt": self.now_text(),
                "reason": reason,
                "referenceDocumentUri": data.get("referenceDocumentUri"),
                "changes": changes,
            }
            self.adjustments.append(group)
            return [], group


def _compare_problem(
    entry: Mapping[str, Any], current: int, data: Mapping[str, Any], strict: bool
) -> tuple[str, str, str] | None:
    if strict:
        if "changeFromQuantity" not in entry:
            return ("changeFromQuantity", "changeFromQuantity is required (pass null to opt out).", "INVALID")
        expected = entry["changeFromQuantity"]
        if expected is not None and expected != current:
            return (
                "changeFromQuantity",
                "The specified compare quantity does not match the current quantity.",
                "CHANGE_FROM_QUANTITY_STALE",
            )
        return None
    expected = entry.get("changeFromQuantity", entry.get("compareQuantity"))
    if data.get("ignoreCompareQuantity") or expected is None:
        return None
    if expected != current:
        return (
            "compareQuantity",
            "The specified compare quantity does not match the current quantity.",
            "COMPARE_QUANTITY_STALE",
        )
    return None


def _error(path: list[str], message: str, code: str) -> dict[str, Any]:
    return {"field": path, "message": message, "code": code}
