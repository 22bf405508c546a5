"""NetSuite as a CreditMemoSink, through SPEC, against the sandbox: RA + credit memo, exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from starlette.applications import Starlette
from test_netsuite_sink import CUSTOMER, connection, order, sink_for

from tradewire.canonical import ExternalRef, Return, ReturnLine
from tradewire.connectors import get_spec
from tradewire.connectors.base.budget import UnlimitedBudget
from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.netsuite.returns import return_authorization_body
from tradewire.errors import MappingError, RetryableError

MakeApp = Callable[..., Starlette]


def a_return(sku: str = "CAP-NAVY", quantity: int = 1) -> Return:
    line = ReturnLine(line_id="L1", sku=sku, quantity=quantity, refund_amount=Decimal("19.50") * quantity)
    return Return(
        id="7a7a7a7a-bbbb-4ccc-8ddd-000000000001", client_id="c1", number="9001", order_number="#1001",
        source=ExternalRef(system="loop", connection_id="lp", object="return", external_id="9001"),
        created_at=datetime(2026, 3, 5, tzinfo=UTC), currency="USD", lines=[line], refund_total=line.refund_amount,
    )  # fmt: skip


async def book(app: Starlette, ret: Return, **settings: str) -> tuple[str, str]:
    """Export the order, then book the credit memo twice (a retry); returns both ids."""
    sink = sink_for(app, discount_item_id="900", **settings)
    customer_ref = await sink.upsert_customer(CUSTOMER)
    refs = await sink.resolve_items(["CAP-NAVY"])
    so = await sink.upsert_sales_order(order(), customer_ref=customer_ref, item_refs=refs)
    spec = get_spec("netsuite")
    assert spec.credit_memo_sink is not None
    memos = spec.credit_memo_sink(
        connection(discount_item_id="900", **settings), UnlimitedBudget(), httpx.ASGITransport(app=app)
    )
    first = await memos.credit_memo(ret, order=order(), sales_order_ref=so, item_refs=refs)
    second = await memos.credit_memo(ret, order=order(), sales_order_ref=so, item_refs=refs)
    await memos.aclose()
    await sink.aclose()
    return first, second


def test_a_return_is_booked_once_as_an_authorization_and_its_credit_memo(make_app: MakeApp) -> None:
    app = make_app()
    first, second = asyncio.run(book(app, a_return()))
    assert first == second
    [memo] = app.state.netsuite_returns.credit_memos()
    assert memo["externalId"] == "CM-7a7a7a7a-bbbb-4ccc-8ddd-000000000001"
    assert memo["total"] == pytest.approx(19.5)
    authorization = app.state.netsuite_returns.get("returnAuthorization", "eid:RA-7a7a7a7a-bbbb-4ccc-8ddd-000000000001")
    assert authorization["status"] == "Refunded"
    assert authorization["creditMemo"] == {"id": memo["id"]}


def test_timeouts_that_were_applied_still_book_one_credit_memo(make_app: MakeApp) -> None:
    app = make_app(timeout_applied_fraction=1.0)

    async def main() -> list[str]:
        sink = sink_for(app, discount_item_id="900")
        refs = await sink.resolve_items(["CAP-NAVY"])
        so = await sink.upsert_sales_order(order(), customer_ref=await sink.upsert_customer(CUSTOMER), item_refs=refs)
        app.state.netsuite.set_knobs(FaultKnobs(timeout_rate=0.5, timeout_seconds=0.01, seed=4))
        spec = get_spec("netsuite")
        assert spec.credit_memo_sink is not None
        memos = spec.credit_memo_sink(
            connection(discount_item_id="900"), UnlimitedBudget(), httpx.ASGITransport(app=app)
        )
        booked: list[str] = []
        for _ in range(60):  # the engine's retries, compressed: each 504 was applied before it answered
            try:
                booked.append(await memos.credit_memo(a_return(), order=order(), sales_order_ref=so, item_refs=refs))
            except RetryableError:
                continue
            if len(booked) == 3:
                break
        await memos.aclose()
        await sink.aclose()
        return booked

    booked = asyncio.run(main())
    assert len(booked) == 3
    assert len(set(booked)) == 1
    assert app.state.netsuite.snapshot_stats().get("timeouts_applied", 0) > 0
    assert len(app.state.netsuite_returns.credit_memos()) == 1


def test_a_returned_sku_without_an_item_is_a_clear_mapping_error() -> None:
    with pytest.raises(MappingError, match="has no NetSuite item"):
        return_authorization_body(a_return(sku="NOPE"), sales_order_ref="1", item_refs={"CAP-NAVY": "5"})


def test_the_sandbox_refuses_a_second_credit_of_one_authorization(make_app: MakeApp) -> None:
    app = make_app()
    asyncio.run(book(app, a_return()))
    book_ = app.state.netsuite_returns
    with pytest.raises(Exception, match="no lines left"):
        book_.credit("eid:RA-7a7a7a7a-bbbb-4ccc-8ddd-000000000001", {})
