"""Business Central as a CreditMemoSink, through SPEC, against the sandbox: one salesCreditMemo per return."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from bc_helpers import CUSTOMER, connection, make_app, order, sink_for

from tradewire.canonical import ExternalRef, Return, ReturnLine
from tradewire.connectors import get_spec
from tradewire.connectors.base.budget import UnlimitedBudget
from tradewire.connectors.businesscentral.returns import credit_memo_lines
from tradewire.errors import MappingError


def a_return() -> Return:
    line = ReturnLine(line_id="L1", sku="cap-navy", quantity=1, refund_amount=Decimal("19.50"))
    return Return(
        id="7a7a7a7a-bbbb-4ccc-8ddd-000000000002", client_id="c1", number="9002", order_number="#1001",
        source=ExternalRef(system="loop", connection_id="lp", object="return", external_id="9002"),
        created_at=datetime(2026, 5, 6, tzinfo=UTC), currency="USD", lines=[line], refund_total=line.refund_amount,
    )  # fmt: skip


def test_a_return_becomes_one_credit_memo_of_the_orders_customer() -> None:
    app = make_app()

    async def go() -> tuple[str, str, list[dict[str, object]]]:
        sink = sink_for(app)
        refs = await sink.resolve_items(["cap-navy"])
        so = await sink.upsert_sales_order(order(), customer_ref=await sink.upsert_customer(CUSTOMER), item_refs=refs)
        spec = get_spec("businesscentral")
        assert spec.credit_memo_sink is not None
        memos = spec.credit_memo_sink(connection(), UnlimitedBudget(), httpx.ASGITransport(app=app))
        first = await memos.credit_memo(a_return(), order=order(), sales_order_ref=so, item_refs=refs)
        second = await memos.credit_memo(a_return(), order=order(), sales_order_ref=so, item_refs=refs)
        rows = await memos.client.list_all(memos.client.company("salesCreditMemos"), what="memos")
        customer = (await memos.client.get_sales_order(so))["customerId"]
        await memos.aclose()
        await sink.aclose()
        return first, second, [{**row, "so_customer": customer} for row in rows]

    first, second, rows = asyncio.run(go())
    assert first == second
    [memo] = rows
    assert memo["id"] == first
    assert memo["customerId"] == memo["so_customer"]
    assert memo["externalDocumentNumber"] == "7A7A7A7ABBBB4CCC8DDD000000000002"


def test_a_returned_sku_without_an_item_is_a_clear_mapping_error() -> None:
    with pytest.raises(MappingError, match="has no BC item"):
        credit_memo_lines(a_return(), {})
