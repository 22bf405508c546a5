"""Set sellable quantities on Shopify: ``inventorySetQuantities`` (name ``available``, absolute).

``ShopifyInventoryPublisher`` implements ``connectors.base.stock.InventoryPublisher``. Per batch
(at most 250 quantities, Shopify's input limit): resolve each level's location (GID, name, or
the connection's default; the store's locations are read once and cached), then read the SKUs'
inventory items with their current ``available`` (one query per location and batch: the
quantities must be fresh anyway), skip levels already at their target, then send the rest with ``changeFromQuantity`` =
the quantity read (FACTS §1.3, required from 2026-04). The mutation is atomic: user errors are
attributed to their SKUs by index, ``CHANGE_FROM_QUANTITY_STALE`` ones are re-read and retried
(up to ``STALE_RETRIES`` times), the others are refused, and the remaining levels are sent again.
Each request carries ``@idempotent(key:)`` derived from its exact content.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from tradewire.canonical import InventoryLevel
from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.base.stock import PublishOutcome
from tradewire.connectors.shopify.client import MUTATION_COST, SYSTEM, ShopifyAdminClient
from tradewire.errors import VendorRejected

MAX_BATCH = 250
STALE_RETRIES = 3
LOCATIONS_PAGE = 50
LOCATIONS_QUERY = f"query Locations {{ locations(first: {LOCATIONS_PAGE}) {{ nodes {{ id name isActive }} }} }}"
LOCATIONS_COST = 2 + LOCATIONS_PAGE
ITEMS_QUERY = (
    "query StockItems($first: Int!, $query: String!, $location: ID!) { "
    "inventoryItems(first: $first, query: $query) { nodes { id sku "
    'inventoryLevel(locationId: $location) { quantities(names: ["available"]) { name quantity } } } } }'
)
SET_MUTATION = (
    "mutation SetQuantities($input: InventorySetQuantitiesInput!, $key: String!) { "
    "inventorySetQuantities(input: $input) @idempotent(key: $key) { "
    "inventoryAdjustmentGroup { id } userErrors { field message code } } }"
)
STALE = "CHANGE_FROM_QUANTITY_STALE"


def items_query_cost(first: int) -> int:
    """Requested cost of :data:`ITEMS_QUERY` for ``first`` items (item + level + quantities list = 3 each)."""
    return 2 + first * 3


def sku_search(skus: Sequence[str]) -> str:
    """Shopify search syntax matching any of ``skus`` (quotes escaped)."""
    return " OR ".join("sku:'" + sku.replace("\\", "\\\\").replace("'", "\\'") + "'" for sku in skus)


class LocationResolver:
    """Shopify location GIDs by GID or name, read once per connection."""

    def __init__(self, client: ShopifyAdminClient, default: str | None) -> None:
        self.client = client
        self.default = default
        self._by_key: dict[str, str] | None = None
        self._first: str | None = None

    async def resolve(self, location: str | None) -> str:
        """The GID of ``location``, a GID or a name (any case); None: the configured default, else the first active location.

        Raises:
            VendorRejected: no such location on the store.
        """
        if self._by_key is None:
            data = await self.client.execute(LOCATIONS_QUERY, cost=LOCATIONS_COST, operation="locations")
            nodes = [n for n in (data.get("locations") or {}).get("nodes") or [] if n.get("isActive", True)]
            self._by_key = {str(n["id"]): str(n["id"]) for n in nodes}
            self._by_key |= {str(n["name"]).casefold(): str(n["id"]) for n in nodes}
            self._first = str(nodes[0]["id"]) if nodes else None
        wanted = location or self.default
        if wanted is None:
            if self._first is None:
                raise VendorRejected("the Shopify store has no active location", system=SYSTEM)
            return self._first
        found = self._by_key.get(wanted) or self._by_key.get(wanted.casefold())
        if found is None:
            raise VendorRejected(f"Shopify has no active location {wanted!r}", system=SYSTEM)
        return found


@dataclass
class _Pending:
    level: InventoryLevel
    location_id: str
    item_id: str | None = None
    current: int | None = None


class ShopifyInventoryPublisher:
    """``InventoryPublisher`` for one Shopify connection."""

    max_batch = MAX_BATCH

    def __init__(self, client: ShopifyAdminClient, *, reason: str = "correction") -> None:
        self.client = client
        self.reason = reason
        self.locations = LocationResolver(client, client.settings.inventory_location_id)

    async def publish(self, levels: Sequence[InventoryLevel]) -> list[PublishOutcome]:
        """Set each level's ``available`` as the SKU's quantity at its location; one outcome per level, in order.

        Raises:
            ValueError: more than ``max_batch`` levels.
            VendorError: transport, throttling or auth failures (nothing is half-reported: retry the batch).
        """
        if len(levels) > self.max_batch:
            raise ValueError(f"at most {self.max_batch} levels per batch, got {len(levels)}")
        outcomes: dict[int, PublishOutcome] = {}
        pending: dict[int, _Pending] = {}
        last: dict[tuple[str, str], int] = {}
        for index, level in enumerate(levels):
            try:
                location_id = await self.locations.resolve(level.location)
            except VendorRejected as exc:
                outcomes[index] = PublishOutcome(level.sku, False, str(exc))
                continue
            key = (level.sku, location_id)
            if key in last:
                earlier = last[key]
                pending.pop(earlier, None)
                outcomes[earlier] = PublishOutcome(level.sku, False, "superseded by a later level in the same batch")
            last[key] = index
            pending[index] = _Pending(level, location_id)
        for _attempt in range(STALE_RETRIES + 1):
            if not pending:
                break
            await self._read(pending, outcomes)
            send = {i: p for i, p in pending.items() if p.current != p.level.available}
            for index in set(pending) - set(send):
                outcomes[index] = PublishOutcome(pending.pop(index).level.sku, True)
            if not send:
                break
            stale = await self._send(send, outcomes)
            pending = {i: p for i, p in send.items() if i in stale}
        for index, item in pending.items():
            outcomes[index] = PublishOutcome(item.level.sku, False, f"{STALE}: quantity kept changing on Shopify")
        return [outcomes[index] for index in range(len(levels))]

    async def _read(self, pending: dict[int, _Pending], outcomes: dict[int, PublishOutcome]) -> None:
        by_location: dict[str, list[int]] = {}
        for index, item in pending.items():
            by_location.setdefault(item.location_id, []).append(index)
        for location_id, indexes in by_location.items():
            skus = sorted({pending[i].level.sku for i in indexes})
            data = await self.client.execute(
                ITEMS_QUERY,
                {"first": len(skus), "query": sku_search(skus), "location": location_id},
                cost=items_query_cost(len(skus)),
                operation="inventoryItems",
            )
            found: dict[str, tuple[str, int | None]] = {}
            for node in (data.get("inventoryItems") or {}).get("nodes") or []:
                level = node.get("inventoryLevel")
                quantities = {q["name"]: int(q["quantity"]) for q in (level or {}).get("quantities") or []}
                found[str(node.get("sku"))] = (str(node["id"]), quantities.get("available") if level else None)
            for index in indexes:
                item = pending[index]
                sku = item.level.sku
                if sku not in found:
                    outcomes[index] = PublishOutcome(sku, False, f"SKU {sku!r} has no inventory item on Shopify")
                    del pending[index]
                elif found[sku][1] is None:
                    outcomes[index] = PublishOutcome(sku, False, f"SKU {sku!r} is not stocked at {location_id}")
                    del pending[index]
                else:
                    item.item_id, item.current = found[sku][0], found[sku][1]

    async def _send(self, batch: dict[int, _Pending], outcomes: dict[int, PublishOutcome]) -> set[int]:
        """Send until accepted or only stale levels remain; return the indexes found stale."""
        stale: set[int] = set()
        send = dict(batch)
        while send:
            order = list(send)
            quantities = [
                {
                    "inventoryItemId": send[i].item_id,
                    "locationId": send[i].location_id,
                    "quantity": send[i].level.available,
                    "changeFromQuantity": send[i].current,
                }
                for i in order
            ]
            digest = hashlib.sha256(json.dumps(quantities, sort_keys=True).encode()).hexdigest()
            key = str(uuid.UUID(digest[:32]))
            variables = {
                "input": {
                    "name": "available",
                    "reason": self.reason,
                    "referenceDocumentUri": f"gid://tradewire/InventorySync/{key}",
                    "quantities": quantities,
                },
                "key": key,
            }
            data = await self.client.execute(
                SET_MUTATION, variables, cost=MUTATION_COST, operation="inventorySetQuantities"
            )
            payload = data.get("inventorySetQuantities") or {}
            errors = payload.get("userErrors") or []
            if not errors:
                for i in order:
                    outcomes[i] = PublishOutcome(send[i].level.sku, True)
                return stale
            failed = _attribute(errors, order)
            if not failed:
                text = "; ".join(str(e.get("message")) for e in errors)
                raise VendorRejected(f"shopify inventorySetQuantities refused the batch: {text}", system=SYSTEM)
            for i, (code, message) in failed.items():
                item = send.pop(i)
                if code == STALE:
                    stale.add(i)
                else:
                    outcomes[i] = PublishOutcome(item.level.sku, False, f"{code or 'refused'}: {message}")
        return stale

    async def aclose(self) -> None:
        """Close the client."""
        await self.client.aclose()


def _attribute(errors: list[dict[str, Any]], order: list[int]) -> dict[int, tuple[str | None, str]]:
    """Map user errors whose field is ``input.quantities.<n>…`` to the batch index they concern."""
    failed: dict[int, tuple[str | None, str]] = {}
    for error in errors:
        field = [str(part) for part in error.get("field") or []]
        if len(field) >= 3 and field[:2] == ["input", "quantities"] and field[2].isdigit():
            position = int(field[2])
            if position < len(order):
                failed[order[position]] = (error.get("code"), str(error.get("message")))
    return failed


def open_inventory_publisher(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None = None
) -> ShopifyInventoryPublisher:
    """``SPEC.inventory_publisher``: the publisher of one connection."""
    return ShopifyInventoryPublisher(ShopifyAdminClient.from_connection(connection, budget, transport))
