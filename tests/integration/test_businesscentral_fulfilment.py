"""Business Central as the ERP: a posted shipment is polled back, confirmed on Amazon, and not invoiced twice.

The warehouse posts the sales order in Business Central (``shipAndInvoice``: a posted shipment
and an invoice). Tradewire polls ``salesShipments``, confirms the package on Amazon, and, as the
channel connection asks for invoices, ``invoice_in_erp`` finds the invoice BC already has.
Real parts: both sandboxes on 127.0.0.1, the real store (SQLite file and PostgreSQL), the worker.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from fulfilment_support import Poll, amazon_connection, new_amazon_order, serve_amazon, timeline

from tradewire.connectors.base.sandbox import LoopbackServer
from tradewire.connectors.businesscentral.sandbox import create_sandbox
from tradewire.runtime.store.port import RunState
from tradewire.services.demo_world import CATALOG
from tradewire.tenancy.context import client_scope
from tradewire.tenancy.secrets import SecretBox

if TYPE_CHECKING:
    from tests.integration.conftest import World

TENANT = "evergreen.onmicrosoft.com"
COMPANY = "824820a2-508c-ed11-aada-000d3a298ab3"
BC = {"client_id": secrets.token_hex(8), "client_secret": secrets.token_hex(16)}


@pytest.fixture
def amazon_server() -> Iterator[LoopbackServer]:
    yield from serve_amazon()


@pytest.fixture
def bc_server() -> Iterator[LoopbackServer]:
    server = LoopbackServer(create_sandbox(tenant_id=TENANT, company_id=COMPANY, items=CATALOG, **BC)).start()
    yield server
    server.stop()


def bc_connection(world: World, server: LoopbackServer) -> str:
    box = SecretBox(world.settings.secret_key.get_secret_value())
    return world.store.create_connection(
        world.client_id, "businesscentral", "Business Central (sandbox)",
        {"tenant_id": TENANT, "company_id": COMPANY, "base_url": server.url, "authority_url": server.url,
         "shipping_account_number": "8110", "request_timeout_seconds": 5.0,
         "budgets": {"odata": {"rate": 2000.0, "burst": 2000.0}}},
        box.seal({**BC, "webhook_client_state": secrets.token_urlsafe(32)}),
    )  # fmt: skip


async def _posted_in_bc_confirmed_on_amazon(
    world: World, amazon_server: LoopbackServer, bc_server: LoopbackServer
) -> None:
    bc_id = bc_connection(world, bc_server)
    amazon_id = amazon_connection(world, amazon_server, erp_id=bc_id)
    seller, erp = amazon_server.app.state.amazon, bc_server.app.state.businesscentral
    poll = Poll(world)
    async with world.pipeline():
        amazon_order = new_amazon_order(world, amazon_server)
        await poll(amazon_id, "orders")
        await world.settle(2)
        with client_scope(world.client_id):
            (stored,) = world.store.find_objects("order", amazon_order)
            sales_order = world.store.find_bindings(bc_id, "order", [stored.canonical_id])[stored.canonical_id]
        erp.ship_and_invoice(sales_order)  # the warehouse posts the order
        await poll(bc_id, "shipments")
        await world.wait_for(lambda: len(timeline(world, stored.canonical_id, "order.invoiced")) == 1, "the invoice")
        runs = await world.settle(4)
        again = await poll(bc_id, "shipments")

    assert again.stored == 0, "the posted shipment read again is the same message"
    assert all(r.state is RunState.SUCCEEDED for r in runs), [(r.flow, r.last_error) for r in runs]
    assert len(seller.packages) == 1
    assert all(i["QuantityShipped"] == i["QuantityOrdered"] for i in seller.items[amazon_order])
    (invoiced,) = timeline(world, stored.canonical_id, "order.invoiced")
    invoices: dict[str, Any] = erp.company.sets["salesInvoices"]
    assert list(invoices) == [invoiced.external_id], "BC's own invoice, not a second one"


def test_a_shipment_posted_in_business_central_is_confirmed_on_amazon_and_invoiced_once(
    world: World, amazon_server: LoopbackServer, bc_server: LoopbackServer
) -> None:
    asyncio.run(_posted_in_bc_confirmed_on_amazon(world, amazon_server, bc_server))
