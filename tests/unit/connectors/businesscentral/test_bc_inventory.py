"""Business Central on-hand polling (items.inventory) against the in-process sandbox, and its mapping."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from bc_helpers import client_for, make_app, settings

from tradewire.connectors.base.spec import PolledPage
from tradewire.connectors.businesscentral import SPEC
from tradewire.connectors.businesscentral.inventory_mapping import item_inventory_to_canonical
from tradewire.connectors.businesscentral.polling import INVENTORY, EntityPoller
from tradewire.connectors.businesscentral.sandbox_store import SandboxError
from tradewire.errors import MappingError

NOW = datetime.now(UTC)


def poll(app: Any, cursor: str | None) -> list[PolledPage]:
    poller = EntityPoller(client_for(app), settings(), INVENTORY, "conn-bc")

    async def main() -> list[PolledPage]:
        try:
            return [page async for page in poller.pages(cursor, now=datetime.now(UTC))]
        finally:
            await poller.aclose()

    return asyncio.run(main())


def bodies(pages: list[PolledPage]) -> dict[str, dict[str, Any]]:
    return {json.loads(r.body)["number"]: json.loads(r.body) for p in pages for r in p.records}


def test_first_poll_reads_each_inventory_item_with_its_on_hand() -> None:
    app = make_app()
    app.state.businesscentral.company.seed_items([("GIFT-WRAP", "Gift wrap", "2.00")])
    with app.state.businesscentral.company.lock:  # a service item has no stock to publish
        next(i for i in app.state.businesscentral.company.sets["items"].values() if i["number"] == "GIFT-WRAP")[
            "type"
        ] = "Service"
    pages = poll(app, None)
    items = bodies(pages)
    assert items
    assert "GIFT-WRAP" not in items
    assert all(row["inventory"] == 100 for row in items.values())
    events = [r.event for p in pages for r in p.records]
    assert {e.event_type for e in events} == {"inventory.updated"}
    assert {e.ordering_key for e in events} == {f"inventory:conn-bc:{n}" for n in items}


def test_a_warehouse_adjustment_is_polled_once_as_a_new_message() -> None:
    app = make_app()
    first = poll(app, None)
    seen = {r.event.idempotency_key for p in first for r in p.records}
    item = app.state.businesscentral.adjust_inventory("CAP-NAVY", delta=-7)
    assert item["inventory"] == 93
    ledger = app.state.businesscentral.company.rows("itemLedgerEntries")
    assert [(e["itemNumber"], e["quantity"], e["entryType"]) for e in ledger] == [
        ("CAP-NAVY", -7.0, "Negative_x0020_Adjmt_x002E_")
    ]
    again = poll(app, first[-1].cursor)
    new = [json.loads(r.body) for p in again for r in p.records if r.event.idempotency_key not in seen]
    assert [(row["number"], row["inventory"]) for row in new] == [("CAP-NAVY", 93.0)]
    level = SPEC.sources["inventory"].to_canonical(new[0], client_id="c1", connection_id="conn-bc")
    assert (level.sku, level.on_hand, level.available, level.location) == ("CAP-NAVY", 93, 93, None)  # type: ignore[attr-defined]


def test_counting_and_bad_adjustments() -> None:
    app = make_app()
    assert app.state.businesscentral.adjust_inventory("CAP-NAVY", count=12)["inventory"] == 12
    with pytest.raises(SandboxError, match="not found"):
        app.state.businesscentral.adjust_inventory("NOPE", delta=1)
    with pytest.raises(SandboxError, match="exactly one"):
        app.state.businesscentral.adjust_inventory("CAP-NAVY")


def test_item_mapping_floors_fractions_lists_negatives_as_zero_and_explains_bad_rows() -> None:
    row = {"id": "i-1", "number": "CAP-NAVY", "inventory": -2.5, "lastModifiedDateTime": "2026-11-23T10:00:00.123Z"}
    level = item_inventory_to_canonical(row, client_id="c1", connection_id="conn-bc")
    assert (level.on_hand, level.available) == (0, 0)
    assert item_inventory_to_canonical({**row, "inventory": 7.9}, client_id="c1", connection_id="x").on_hand == 7
    with pytest.raises(MappingError, match="inventory 'many' is not a number"):
        item_inventory_to_canonical({**row, "inventory": "many"}, client_id="c1", connection_id="x")
    with pytest.raises(MappingError, match="needs id and number"):
        item_inventory_to_canonical({**row, "number": ""}, client_id="c1", connection_id="x")


def test_the_first_inventory_poll_is_a_full_snapshot_whatever_the_look_back() -> None:
    app = make_app()
    company = app.state.businesscentral.company
    with company.lock:  # items last changed long before the look-back window
        for item in company.sets["items"].values():
            item["lastModifiedDateTime"] = "2020-01-01T00:00:00.000Z"
    assert set(bodies(poll(app, None))) == set(app.state.businesscentral.item_ids())
