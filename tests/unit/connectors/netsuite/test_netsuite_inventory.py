"""NetSuite on-hand polling against the in-process sandbox: keyset pages, resumable cursor, mapping."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tradewire.connectors.base.spec import PolledPage
from tradewire.connectors.netsuite import SPEC
from tradewire.connectors.netsuite.client import NetSuiteClient
from tradewire.connectors.netsuite.inventory_mapping import inventory_row_to_canonical
from tradewire.connectors.netsuite.inventory_poller import NetSuiteInventoryPoller, parse_cursor
from tradewire.connectors.netsuite.sandbox import create_sandbox
from tradewire.connectors.netsuite.settings import NetSuiteSecrets, NetSuiteSettings
from tradewire.errors import MappingError, PermanentError

ACCOUNT = "1234567_SB1"
CREDS = {"consumer_key": "ck", "consumer_secret": "cs", "token_id": "tok", "token_secret": "ts"}
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def poller_for(app: Any, **settings: Any) -> NetSuiteInventoryPoller:
    config = NetSuiteSettings(account_id=ACCOUNT, subsidiary_id="1", inventory_page_size=2, **settings)
    client = NetSuiteClient(config, NetSuiteSecrets.model_validate(CREDS), transport=httpx.ASGITransport(app=app))
    return NetSuiteInventoryPoller(client, config, "conn-ns")


def poll(poller: NetSuiteInventoryPoller, cursor: str | None, *, pages: int | None = None) -> list[PolledPage]:
    async def main() -> list[PolledPage]:
        got: list[PolledPage] = []
        async for page in poller.pages(cursor, now=NOW):
            got.append(page)
            if pages is not None and len(got) == pages:
                break
        return got

    return asyncio.run(main())


def rows(pages: list[PolledPage]) -> list[dict[str, Any]]:
    return [json.loads(record.body) for page in pages for record in page.records]


@pytest.fixture
def warehouse() -> Any:
    app = create_sandbox(account_id=ACCOUNT, **CREDS)
    state = app.state.netsuite
    for sku, where, count in [("CAP-NAVY", None, 10), ("CAP-NAVY", "East Coast DC", 4), ("SOCKS-3PK", None, 7)]:
        state.adjust_inventory(sku, location=where, on_hand=count)
    state.adjust_inventory("SOCKS-3PK", location="Main Warehouse", delta=-2)
    return app


def test_first_poll_reads_every_level_once_across_pages(warehouse: Any) -> None:
    pages = poll(poller_for(warehouse), None)
    assert [len(p.records) for p in pages] == [2, 1]
    got = {(r["sku"], r["locationname"]): r["onhand"] for r in rows(pages)}
    assert got == {
        ("CAP-NAVY", "Main Warehouse"): "10",
        ("CAP-NAVY", "East Coast DC"): "4",
        ("SOCKS-3PK", "Main Warehouse"): "5",
    }
    events = [record.event for page in pages for record in page.records]
    assert {e.event_type for e in events} == {"inventory.updated"}
    assert {e.ordering_key for e in events} == {"inventory:conn-ns:CAP-NAVY", "inventory:conn-ns:SOCKS-3PK"}
    assert len({e.idempotency_key for e in events}) == 3


def test_a_poll_stopped_mid_stream_resumes_right_after_the_last_stored_page(warehouse: Any) -> None:
    first = poll(poller_for(warehouse), None, pages=1)
    cursor = first[-1].cursor
    assert cursor is not None
    assert parse_cursor(cursor)[1] is False, "a full page is not the end"
    rest = poll(poller_for(warehouse), cursor)
    keys = [r.event.idempotency_key for p in first + rest for r in p.records]
    everything = [r.event.idempotency_key for p in poll(poller_for(warehouse), None) for r in p.records]
    assert sorted(keys) == sorted(everything), "nothing lost, nothing read twice"
    assert rest[-1].cursor is not None
    assert parse_cursor(rest[-1].cursor)[1] is True


def test_after_the_end_the_overlap_is_reread_with_the_same_keys(warehouse: Any) -> None:
    pages = poll(poller_for(warehouse), None)
    assert pages[-1].cursor is not None
    assert pages[-1].cursor.endswith("|end")
    again = poll(poller_for(warehouse), pages[-1].cursor)
    first_keys = {r.event.idempotency_key for p in pages for r in p.records}
    assert {r.event.idempotency_key for p in again for r in p.records} == first_keys


def test_a_last_full_page_is_marked_as_the_end() -> None:
    app = create_sandbox(account_id=ACCOUNT, **CREDS)
    for sku in ("CAP-NAVY", "SOCKS-3PK"):
        app.state.netsuite.adjust_inventory(sku, on_hand=1)
    pages = poll(poller_for(app), None)
    assert [len(p.records) for p in pages] == [2, 0]
    assert pages[-1].cursor is not None
    assert pages[-1].cursor.endswith("|end")


def test_a_warehouse_adjustment_comes_back_as_a_new_message(warehouse: Any) -> None:
    first = poll(poller_for(warehouse), None)
    seen = {r.event.idempotency_key for p in first for r in p.records}
    warehouse.state.netsuite.adjust_inventory("CAP-NAVY", location="East Coast DC", delta=3)
    again = poll(poller_for(warehouse, inventory_overlap_seconds=0), first[-1].cursor)
    new = [json.loads(r.body) for p in again for r in p.records if r.event.idempotency_key not in seen]
    assert [(r["sku"], r["locationname"], r["onhand"]) for r in new] == [("CAP-NAVY", "East Coast DC", "7")]
    assert again[-1].cursor is not None
    assert again[-1].cursor.endswith("|end")


def test_rows_map_to_absolute_levels_and_bad_rows_get_a_reason() -> None:
    row = {"item": "501", "sku": "CAP-NAVY", "location": "2", "locationname": "East Coast DC", "onhand": "-3",
           "available": "2.7", "changed": "2026-11-23 10:00:05"}  # fmt: skip
    level = inventory_row_to_canonical(row, client_id="c1", connection_id="conn-ns")
    assert (level.sku, level.location, level.on_hand, level.available) == ("CAP-NAVY", "East Coast DC", 0, 2)
    assert level.as_of == datetime(2026, 11, 23, 10, 0, 5, tzinfo=UTC)
    assert level.source is not None
    assert level.source.external_id == "501@2"
    with pytest.raises(MappingError, match="needs item, sku and location"):
        inventory_row_to_canonical({**row, "sku": ""}, client_id="c1", connection_id="conn-ns")
    with pytest.raises(MappingError, match="onhand 'lots' is not a number"):
        inventory_row_to_canonical({**row, "onhand": "lots"}, client_id="c1", connection_id="conn-ns")
    with pytest.raises(PermanentError):
        parse_cursor("garbage")
    assert SPEC.sources["inventory"].to_canonical(row, client_id="c1", connection_id="x").sku == "CAP-NAVY"


def test_sandbox_refuses_unknown_skus_and_locations(warehouse: Any) -> None:
    state = warehouse.state.netsuite
    with pytest.raises(KeyError):
        state.adjust_inventory("NOPE", on_hand=1)
    with pytest.raises(KeyError):
        state.adjust_inventory("CAP-NAVY", location="Moon", on_hand=1)
    with pytest.raises(ValueError, match="exactly one"):
        state.adjust_inventory("CAP-NAVY", on_hand=1, delta=1)
