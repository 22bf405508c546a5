"""A partial cancellation on Shopify updates the Business Central sales order (its sandbox on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import secrets
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tradewire.connectors.base.sandbox import LoopbackServer
from tradewire.connectors.businesscentral.mapping import external_document_number
from tradewire.connectors.businesscentral.sandbox import BusinessCentralSandbox, create_sandbox
from tradewire.runtime.store.port import RunState
from tradewire.services.demo_world import CATALOG
from tradewire.services.orders import OrderOperations
from tradewire.tenancy.secrets import SecretBox

if TYPE_CHECKING:
    from tests.integration.conftest import World

TENANT = "evergreen.onmicrosoft.com"
COMPANY = "824820a2-508c-ed11-aada-000d3a298ab3"


@pytest.fixture
def bc_world(world: World) -> Iterator[tuple[World, BusinessCentralSandbox]]:
    """The world's Shopify connection routed to a Business Central sandbox instead of NetSuite."""
    creds = {"client_id": secrets.token_hex(8), "client_secret": secrets.token_hex(16)}
    app = create_sandbox(tenant_id=TENANT, company_id=COMPANY, items=CATALOG, **creds)
    server = LoopbackServer(app).start()
    box = SecretBox(world.settings.secret_key.get_secret_value())
    bc_id = world.store.create_connection(
        world.client_id,
        "businesscentral",
        f"BC {uuid.uuid4().hex[:4]}",
        {
            "tenant_id": TENANT,
            "company_id": COMPANY,
            "base_url": server.url,
            "authority_url": server.url,
            "shipping_account_number": "8110",
            "request_timeout_seconds": 5.0,
            "budgets": {"odata": {"rate": 2000.0, "burst": 2000.0}},
        },
        box.seal({**creds, "webhook_client_state": secrets.token_urlsafe(32)}),
    )
    rec = world.store.get_connection(world.shopify_id)
    world.store.put_connection(
        rec.id, rec.client_id, rec.system, rec.name, {**rec.settings, "routes": {"erp": bc_id}}, rec.secrets
    )
    try:
        yield dataclasses.replace(world, netsuite_id=bc_id), app.state.businesscentral
    finally:
        server.stop()


def test_partial_cancellation_updates_the_business_central_order(
    bc_world: tuple[World, BusinessCentralSandbox],
) -> None:
    world, bc = bc_world
    order = world.new_order()
    base = order["line_items"][0]
    order["line_items"] = [
        {
            **copy.deepcopy(base),
            "id": base["id"] + 1000 + n,
            "sku": sku,
            "title": title,
            "name": title,
            "price": price,
            "quantity": 3,
            "current_quantity": 3,
            "tax_lines": [],
            "discount_allocations": [],
        }
        for n, (sku, title, price) in enumerate([("TEE-ORG-M", "Tee", "24.00"), ("HOOD-MRN-M", "Hoodie", "89.00")])
    ]
    for key in ("total_line_items_price", "total_price", "subtotal_price", "total_tax", "total_discounts"):
        order.pop(key, None)
    order.update(tax_lines=[], shipping_lines=[])
    edited: dict[str, Any] = copy.deepcopy(order)
    edited["line_items"][0]["current_quantity"] = 1
    edited["line_items"][1]["current_quantity"] = 0
    edited["updated_at"] = (datetime.fromisoformat(order["updated_at"]) + timedelta(minutes=2)).isoformat()

    async def main() -> None:
        async with world.pipeline() as (ingest, _):
            await world.deliver(ingest, order)
            await world.settle(2)
            await world.deliver(ingest, edited, topic="orders/updated")
            await world.settle(3)

    asyncio.run(main())
    assert {r.state for r in world.runs()} == {RunState.SUCCEEDED}, [r.last_error for r in world.runs()]
    found = OrderOperations(world.store, world.client_id, actor="test").find(order["name"])
    [row] = bc.sales_order(external_document_number(found.id))
    assert row.status == "Draft"
    assert row.line_count == 1
    assert row.total == pytest.approx(24.0)
    assert bc.duplicates() == {}
