"""Business Central as an OrderSink against the sandbox: lookup before create, updates, cancel."""

from __future__ import annotations

import asyncio

import pytest
from bc_helpers import CUSTOMER, connection, make_app, order, sink_for

from tradewire.connectors import get_spec
from tradewire.connectors.base.budget import UnlimitedBudget
from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.businesscentral.mapping import external_document_number
from tradewire.errors import MappingError, PermanentError, RetryableError, SkippableError


def test_spec_builds_the_sink_and_customer_upsert_is_idempotent() -> None:
    app = make_app()
    state = app.state.businesscentral

    async def go() -> tuple[str, str]:
        sink = get_spec("businesscentral").order_sink(connection(), UnlimitedBudget(), None)  # type: ignore[misc]
        await sink.aclose()
        sink = sink_for(app)
        try:
            return await sink.upsert_customer(CUSTOMER), await sink.upsert_customer(CUSTOMER)
        finally:
            await sink.aclose()

    first, second = asyncio.run(go())
    assert first == second
    customers = state.company.rows("customers")
    assert len(customers) == 1
    assert customers[0]["number"] == "TW6D0F3B6A1111422283"
    assert customers[0]["email"] == "ann@example.com"


def test_resolve_items_is_case_insensitive_and_leaves_unknown_out() -> None:
    app = make_app()
    ids = app.state.businesscentral.item_ids()

    async def go() -> dict[str, str]:
        sink = sink_for(app)
        try:
            return await sink.resolve_items(["cap-navy", "SOCKS-3PK", "NOPE-1", "O'Neil"])
        finally:
            await sink.aclose()

    assert asyncio.run(go()) == {"cap-navy": ids["CAP-NAVY"], "SOCKS-3PK": ids["SOCKS-3PK"]}


async def _export(app, the_order, sink=None) -> str:  # type: ignore[no-untyped-def]
    sink = sink or sink_for(app)
    try:
        customer = await sink.upsert_customer(CUSTOMER)
        items = await sink.resolve_items([line.sku for line in the_order.lines if line.sku])
        return await sink.upsert_sales_order(the_order, customer_ref=customer, item_refs=items)
    finally:
        await sink.aclose()


def test_sales_order_is_created_once_and_retries_update_it() -> None:
    app = make_app()
    state = app.state.businesscentral
    first = asyncio.run(_export(app, order(shipping="4.95")))
    again = asyncio.run(_export(app, order(shipping="4.95")))
    assert first == again
    rows = state.sales_order(external_document_number(order().id))
    assert len(rows) == 1
    assert state.duplicates() == {}
    stored = state.company.present(state.company.document("salesOrders", first), "salesOrderLines")
    assert stored["externalDocumentNumber"] == "2B6F0C1E9D8A4F3BA2C17E6D5C4B3A21"
    assert [(ln["lineType"], ln["lineObjectNumber"], ln["quantity"]) for ln in stored["salesOrderLines"]] == [
        ("Item", "CAP-NAVY", 2.0),
        ("Account", "8110", 1.0),
    ]
    assert stored["totalAmountIncludingTax"] == pytest.approx(43.95)


def test_update_changes_lines_in_one_batch_and_never_duplicates() -> None:
    app = make_app()
    state = app.state.businesscentral
    ref = asyncio.run(_export(app, order()))
    asyncio.run(_export(app, order(quantity=5, extra_line=True)))
    lines = state.company.present(state.company.document("salesOrders", ref), "salesOrderLines")["salesOrderLines"]
    assert [(ln["lineObjectNumber"], ln["quantity"]) for ln in lines] == [("CAP-NAVY", 5.0), ("SOCKS-3PK", 1.0)]
    asyncio.run(_export(app, order(quantity=1)))
    lines = state.company.present(state.company.document("salesOrders", ref), "salesOrderLines")["salesOrderLines"]
    assert [(ln["lineObjectNumber"], ln["quantity"]) for ln in lines] == [("CAP-NAVY", 1.0)]
    assert len(state.sales_orders()) == 1


def test_a_timed_out_create_that_bc_applied_is_found_by_the_retry() -> None:
    app = make_app(FaultKnobs(seed=3), timeout_applied_fraction=1.0)
    state = app.state.businesscentral

    async def go() -> str:
        sink = sink_for(app)
        customer = await sink.upsert_customer(CUSTOMER)
        items = await sink.resolve_items(["cap-navy"])
        state.set_knobs(FaultKnobs(timeout_rate=1.0, timeout_seconds=0.0))
        with pytest.raises(RetryableError):
            await sink.upsert_sales_order(order(), customer_ref=customer, item_refs=items)
        state.set_knobs(FaultKnobs())
        try:
            return await sink.upsert_sales_order(order(), customer_ref=customer, item_refs=items)
        finally:
            await sink.aclose()

    ref = asyncio.run(go())
    assert [row.id for row in state.sales_orders()] == [ref]
    assert state.duplicates() == {}


def test_shipping_without_an_account_is_refused_not_dropped() -> None:
    app = make_app()
    with pytest.raises(MappingError, match="shipping_account_number"):
        asyncio.run(_export(app, order(shipping="5"), sink=sink_for(app, shipping_account_number=None)))


def test_cancel_deletes_the_open_order_and_is_idempotent() -> None:
    app = make_app()
    state = app.state.businesscentral
    ref = asyncio.run(_export(app, order()))

    async def cancel() -> None:
        sink = sink_for(app)
        try:
            await sink.cancel_sales_order(order(cancelled=True), sales_order_ref=ref)
            await sink.cancel_sales_order(order(cancelled=True), sales_order_ref=ref)
        finally:
            await sink.aclose()

    asyncio.run(cancel())
    assert [row.status for row in state.sales_orders()] == ["Deleted"]
    # A late "updated" of the cancelled order never re-creates it.
    with pytest.raises(SkippableError):
        asyncio.run(_export(app, order(cancelled=True)))
    assert len(state.sales_orders()) == 1


def test_a_cancelled_update_of_an_existing_order_deletes_it() -> None:
    app = make_app()
    state = app.state.businesscentral
    asyncio.run(_export(app, order()))
    asyncio.run(_export(app, order(cancelled=True)))
    assert [row.status for row in state.sales_orders()] == ["Deleted"]


def test_a_posted_order_cannot_be_cancelled_or_changed() -> None:
    app = make_app()
    state = app.state.businesscentral
    ref = asyncio.run(_export(app, order()))
    state.ship_and_invoice(ref)

    async def cancel() -> None:
        sink = sink_for(app)
        try:
            await sink.cancel_sales_order(order(cancelled=True), sales_order_ref=ref)
        finally:
            await sink.aclose()

    with pytest.raises(PermanentError, match="shipped"):
        asyncio.run(cancel())
    assert [row.status for row in state.sales_orders()] == ["Posted"]


def test_misconfigured_connection_names_fields_not_values() -> None:
    bad = connection(company_id="not-a-guid")
    bad = type(bad)(id=bad.id, client_id=bad.client_id, system=bad.system, settings=bad.settings,
                    secrets={"client_id": "x", "client_secret": ""})  # fmt: skip
    with pytest.raises(PermanentError) as caught:
        get_spec("businesscentral").order_sink(bad, UnlimitedBudget(), None)  # type: ignore[misc]
    message = str(caught.value)
    assert "settings.company_id" in message
    assert "secrets.client_secret" in message
    assert "not-a-guid" not in message


def test_ledger_rows_name_the_canonical_order() -> None:
    app = make_app()
    asyncio.run(_export(app, order()))
    [row] = app.state.businesscentral.sales_orders()
    assert row.canonical_order_id == order().id
    assert row.external_id == external_document_number(order().id)


def test_a_late_update_of_a_posted_order_never_creates_it_again() -> None:
    app = make_app()
    state = app.state.businesscentral
    ref = asyncio.run(_export(app, order()))
    state.ship_and_invoice(ref)
    with pytest.raises(SkippableError, match="shipped and invoiced"):
        asyncio.run(_export(app, order(quantity=3)))
    assert [row.status for row in state.sales_orders()] == ["Posted"]
    assert state.duplicates() == {}
