"""NetSuite as an OrderSink, through SPEC, against the sandbox: idempotent writes, item lookup, cancel."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tradewire.canonical import Customer, ExternalRef, Order, OrderLine
from tradewire.connectors import get_spec
from tradewire.connectors.base.budget import UnlimitedBudget
from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.base.spec import Connection, OrderSink
from tradewire.errors import PermanentError, RetryableError, VendorRejected

MakeApp = Callable[..., Starlette]
CREDS = {"consumer_key": "ck-test", "consumer_secret": "cs-test", "token_id": "tok-test", "token_secret": "ts-test"}
CUSTOMER = Customer(id="6d0f3b6a-1111-4222-8333-944455556666", client_id="c1", email="ann@example.com",
                    first_name="Ann", last_name="Lee")  # fmt: skip


def connection(**settings: Any) -> Connection:
    values = {"account_id": "1234567_SB1", "subsidiary_id": "1", **settings}
    return Connection(id="conn-ns", client_id="c1", system="netsuite", settings=values, secrets=CREDS)


def sink_for(app: Starlette, **settings: Any) -> OrderSink:
    spec = get_spec("netsuite")
    assert spec.order_sink is not None
    return spec.order_sink(connection(**settings), UnlimitedBudget(), httpx.ASGITransport(app=app))


def order(number: str = "#1001", sku: str = "CAP-NAVY") -> Order:
    line = OrderLine(line_id="1", sku=sku, title="Cap", quantity=2, unit_price=Decimal("19.50"), total=Decimal("39.00"))
    return Order(
        id="0f0e0d0c-aaaa-4bbb-8ccc-000000001001", client_id="c1", number=number, currency="USD",
        source=ExternalRef(system="shop", connection_id="c", object="order", external_id="1001"),
        placed_at=datetime(2026, 3, 1, 12, tzinfo=UTC), lines=[line], subtotal=Decimal("39.00"),
        shipping_total=Decimal("5.00"), total=Decimal("44.00"),
    )  # fmt: skip


def test_spec_declares_the_connector() -> None:
    spec = get_spec("netsuite")
    assert spec.system == "netsuite"
    assert spec.webhooks is None
    assert [(limit.scope, limit.rate, limit.burst) for limit in spec.rate_limits] == [("rest", 10.0, 20.0)]
    assert "order_sink" in spec.capabilities
    assert spec.sandbox is not None


def test_order_export_end_to_end_is_idempotent(make_app: MakeApp) -> None:
    app = make_app()

    async def go() -> tuple[str, str, str]:
        sink = sink_for(app)
        customer_ref = await sink.upsert_customer(CUSTOMER)
        items = await sink.resolve_items(["CAP-NAVY", "CAP-NAVY", "NOT-THERE"])
        first = await sink.upsert_sales_order(order(), customer_ref=customer_ref, item_refs=items)
        again = await sink.upsert_sales_order(order(), customer_ref=customer_ref, item_refs=items)
        await sink.aclose()
        return first, again, customer_ref

    first, again, customer_ref = asyncio.run(go())
    assert first == again
    rows = app.state.netsuite.sales_orders()
    assert [(r.other_ref_num, r.entity, r.total, r.line_count) for r in rows] == [("#1001", customer_ref, 44.0, 1)]
    assert app.state.netsuite.duplicates() == {}


def test_retry_after_a_timeout_that_was_applied_creates_no_duplicate(make_app: MakeApp) -> None:
    app = make_app(FaultKnobs(seed=2), timeout_applied_fraction=1.0)

    async def go() -> str:
        sink = sink_for(app)
        customer_ref = await sink.upsert_customer(CUSTOMER)
        items = await sink.resolve_items(["CAP-NAVY"])
        app.state.netsuite.set_knobs(FaultKnobs(timeout_rate=1.0, timeout_seconds=0.0))
        with pytest.raises(RetryableError):
            await sink.upsert_sales_order(order(), customer_ref=customer_ref, item_refs=items)
        app.state.netsuite.set_knobs(FaultKnobs())
        return await sink.upsert_sales_order(order(), customer_ref=customer_ref, item_refs=items)

    internal_id = asyncio.run(go())
    assert [r.id for r in app.state.netsuite.sales_orders()] == [internal_id]


def test_resolve_items_works_across_chunks_and_skips_unknown(make_app: MakeApp) -> None:
    catalogue = [(f"SKU-{n:03d}", f"Item {n}", "1") for n in range(450)]
    app = make_app(items=catalogue)

    async def go() -> dict[str, str]:
        return await sink_for(app).resolve_items([sku for sku, _, _ in catalogue] + ["GHOST"])

    found = asyncio.run(go())
    assert len(found) == 450
    assert "GHOST" not in found
    assert found == app.state.netsuite.item_ids()


def test_cancel_is_idempotent_and_refused_once_fulfilled(make_app: MakeApp) -> None:
    app = make_app()

    async def go() -> None:
        sink = sink_for(app)
        ref = await sink.upsert_sales_order(
            order(), customer_ref=await sink.upsert_customer(CUSTOMER), item_refs=await sink.resolve_items(["CAP-NAVY"])
        )
        await sink.cancel_sales_order(order(), sales_order_ref=ref)
        await sink.cancel_sales_order(order(), sales_order_ref=ref)
        assert app.state.netsuite.sales_orders()[0].status == "C"
        other = order(number="#2").model_copy(update={"id": "0f0e0d0c-aaaa-4bbb-8ccc-000000002002"})
        shipped = await sink.upsert_sales_order(other, customer_ref="100", item_refs={"CAP-NAVY": "503"})
        app.state.netsuite.store.patch("salesOrder", shipped, {"orderStatus": {"id": "F"}}, replace=set(), now=0.0)
        with pytest.raises(VendorRejected, match="cannot cancel a sales order in status Pending Billing"):
            await sink.cancel_sales_order(other, sales_order_ref=shipped)

    asyncio.run(go())


def test_unknown_sku_stops_before_netsuite_with_a_clear_reason(make_app: MakeApp) -> None:
    app = make_app()

    async def go() -> None:
        sink = sink_for(app)
        await sink.upsert_sales_order(order(sku="ABC-1"), customer_ref="100", item_refs={})

    with pytest.raises(PermanentError, match="SKU ABC-1 is not an item in NetSuite: create it or map it"):
        asyncio.run(go())
    assert app.state.netsuite.snapshot_stats()["requests"] == 0


def test_misconfigured_connection_is_permanent_and_leaks_no_secret() -> None:
    spec = get_spec("netsuite")
    assert spec.order_sink is not None
    bad = Connection(id="c", client_id="c1", system="netsuite", settings={"account_id": "bad id!"},
                     secrets={**CREDS, "token_secret": ""})  # fmt: skip
    with pytest.raises(PermanentError) as info:
        spec.order_sink(bad, UnlimitedBudget(), None)
    assert "account_id" in str(info.value)
    assert "subsidiary_id" in str(info.value)
    assert "token_secret" in str(info.value)
    assert "cs-test" not in str(info.value)
