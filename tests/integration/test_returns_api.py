"""``/v1/returns``: list, show and inspect through the real app; refusals are problem+json."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from test_webhook_api import api, assert_problem

from tradewire.canonical import ExternalRef, Return, ReturnLine, ReturnStatus
from tradewire.returns.machine import open_rma
from tradewire.runtime.store.port_returns import RmaSnapshot
from tradewire.tenancy.context import client_scope

if TYPE_CHECKING:
    from tests.integration.conftest import World

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)


def seed(world: World) -> str:
    line = ReturnLine(line_id="L1", sku="CAP-NAVY", quantity=1, refund_amount=Decimal("19.50"))
    ret = Return(
        id="rma-api", client_id=world.client_id, number="77", order_number="#1001", status=ReturnStatus.AUTHORIZED,
        source=ExternalRef(system="loop", connection_id=world.shopify_id, object="return", external_id="77"),
        created_at=NOW, currency="USD", lines=[line], refund_total=Decimal("19.50"),
    )  # fmt: skip
    rma = open_rma(ret, order_id="o-1", order_number="#1001", channel_connection_id="ch", ordering_key="k", now=NOW)
    with client_scope(world.client_id):
        world.store.record_facts([RmaSnapshot(rma.id, "o-1", rma.state.value, 1, rma.model_dump(mode="json"))], NOW)
    return rma.id


def test_returns_api(world: World) -> None:
    rma_id = seed(world)

    async def main() -> None:
        async with api(world) as client:
            listed = await client.get("/v1/returns", params={"state": "authorized"})
            assert [r["id"] for r in listed.json()] == [rma_id]
            shown = await client.get("/v1/returns/77")
            assert shown.json()["lines"][0]["expected"] == 1
            queued = await client.post(f"/v1/returns/{rma_id}/inspections",
                                       json={"line_id": "L1", "received": 1, "disposition": "restock"})  # fmt: skip
            assert queued.status_code == 202, queued.text
            assert queued.json()["due_after"] == ["refund", "credit_memo"]
            refused = await client.post(f"/v1/returns/{rma_id}/inspections",
                                        json={"line_id": "L9", "received": 1, "disposition": "restock"})  # fmt: skip
            assert_problem(refused, 409, "conflict", "no line 'L9'")
            assert_problem(await client.get("/v1/returns/nope"), 404, "not-found", "no return 'nope'")

    asyncio.run(main())
