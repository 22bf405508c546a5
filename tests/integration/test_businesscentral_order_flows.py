"""The order flows end to end with Business Central as the ERP (``--erp businesscentral``).

Shopify deliveries go through ``WebhookIngest.receive``; a real ``Worker`` exports them through
``SPEC.order_sink`` to the Business Central sandbox on 127.0.0.1. Checked like a merchant would:
one sales order per channel order (found by externalDocumentNumber), a cancellation deletes it,
a duplicate delivery changes nothing.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import secrets
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tradewire.api.app import create_app
from tradewire.connectors.base.sandbox import FaultKnobs, LoopbackServer
from tradewire.connectors.businesscentral.client import BusinessCentralClient
from tradewire.connectors.businesscentral.mapping import external_document_number
from tradewire.connectors.businesscentral.sandbox import BusinessCentralSandbox, create_sandbox
from tradewire.connectors.businesscentral.settings import BusinessCentralSecrets, BusinessCentralSettings
from tradewire.connectors.businesscentral.subscriptions import ensure_subscription
from tradewire.connectors.shopify.sandbox_shop import SandboxOptions, SandboxShop
from tradewire.runtime.dbthread import DbExecutor
from tradewire.runtime.store.port import RunState
from tradewire.services.demo_world import CATALOG
from tradewire.services.polling import PollingService
from tradewire.services.processes import build_ingest
from tradewire.tenancy.connections import ConnectionCache
from tradewire.tenancy.secrets import SecretBox

if TYPE_CHECKING:
    from tests.integration.conftest import World

TENANT = "evergreen.onmicrosoft.com"
COMPANY = "824820a2-508c-ed11-aada-000d3a298ab3"


@pytest.fixture
def bc_world(world: World) -> Iterator[tuple[World, BusinessCentralSandbox]]:
    """The integration ``world``'s database and settings, with a tenant routed to Business Central."""
    creds = {"client_id": secrets.token_hex(8), "client_secret": secrets.token_hex(16)}
    client_state = secrets.token_urlsafe(32)
    knobs = FaultKnobs(seed=5, fail_rate=0.05, rate_limit_rate=0.05, retry_after_seconds=0.05)
    app = create_sandbox(tenant_id=TENANT, company_id=COMPANY, items=CATALOG, knobs=knobs, **creds)
    server = LoopbackServer(app).start()
    settings, store = world.settings, world.store
    box = SecretBox(settings.secret_key.get_secret_value())
    partner = store.create_partner(f"Partner {uuid.uuid4().hex[:6]}")
    client = store.create_client(partner, f"Retailer {uuid.uuid4().hex[:6]}")
    bc_id = store.create_connection(
        client, "businesscentral", "Business Central (sandbox)",
        {"tenant_id": TENANT, "company_id": COMPANY, "base_url": server.url, "authority_url": server.url,
         "shipping_account_number": "8110", "request_timeout_seconds": 5.0,
         "budgets": {"odata": {"rate": 2000.0, "burst": 2000.0}}},
        box.seal({**creds, "webhook_client_state": client_state}),
    )  # fmt: skip
    shop_secret = secrets.token_hex(24)
    shopify_id = store.create_connection(
        client, "shopify", "Shopify (sandbox)",
        {"shop_domain": "tradewire-sandbox.myshopify.com", "routes": {"erp": bc_id}},
        box.seal({"client_secret": shop_secret, "access_token": "shpat_" + secrets.token_hex(16)}),
    )  # fmt: skip
    shop = SandboxShop(client_secret=shop_secret, access_token="unused", catalog=CATALOG, seed=7,
                       options=SandboxOptions(customer_pool=1000, guest_rate=0.0))  # fmt: skip
    bc_world = dataclasses.replace(world, client_id=client, shopify_id=shopify_id, netsuite_id=bc_id,
                                   shop_secret=shop_secret, ns_secrets={**creds, "webhook_client_state": client_state}, netsuite_server=server, shop=shop)  # fmt: skip
    try:
        yield bc_world, app.state.businesscentral
    finally:
        server.stop()


def _edn(world: World, order: dict[str, Any]) -> str:
    for listed in world.runs(flow="order_to_erp"):
        for step in world.run(listed.id).steps:
            if step.name == "map_order" and step.output["source"]["external_id"] == str(order["id"]):
                return external_document_number(step.output["id"])
    raise AssertionError(f"order {order['id']} was never mapped")


def test_orders_reach_business_central_once_and_a_cancellation_deletes_the_order(
    bc_world: tuple[World, BusinessCentralSandbox],
) -> None:
    world, bc = bc_world
    orders = [world.new_order() for _ in range(4)]
    repeat = world.new_order(same_customer_as=orders[0])

    async def main() -> None:
        async with world.pipeline() as (ingest, _):
            for order in [*orders, repeat]:
                assert await world.deliver(ingest, order) == "stored"
            await world.deliver(ingest, orders[1])  # a redelivery (new event id): updates, never duplicates
            await world.settle(8)
            gone = copy.deepcopy(orders[2])
            gone.update(cancelled_at=gone["updated_at"], cancel_reason="customer", closed_at=gone["updated_at"])
            await world.deliver(ingest, gone, topic="orders/cancelled")
            await world.settle(9)

    asyncio.run(main())
    runs = world.runs()
    assert {r.state for r in runs} == {RunState.SUCCEEDED}, [(r.flow, r.state, r.last_error) for r in runs]
    assert bc.duplicates() == {}
    for order in [*orders, repeat]:
        [row] = bc.sales_order(_edn(world, order))
        assert row.status == ("Deleted" if order is orders[2] else "Draft")
    assert len(world.runs(flow="customer_to_erp")) == 4
    assert len(bc.company.rows("customers")) == 4


def test_the_real_receiver_answers_the_handshake_and_stores_one_message_per_notification(
    bc_world: tuple[World, BusinessCentralSandbox],
) -> None:
    world, bc = bc_world
    ingest = build_ingest(world.settings, world.store)
    receiver = LoopbackServer(create_app(world.settings, world.store, ingest)).start()
    hook = f"{receiver.url}/webhooks/businesscentral/{world.netsuite_id}"
    settings = BusinessCentralSettings(tenant_id=TENANT, company_id=COMPANY, base_url=world.netsuite_server.url,
                                       authority_url=world.netsuite_server.url)  # fmt: skip
    creds = BusinessCentralSecrets.model_validate(world.ns_secrets)
    bc.set_knobs(FaultKnobs())

    async def main() -> None:
        client = BusinessCentralClient(settings, creds)
        try:
            await ensure_subscription(client, notification_url=hook, resource=f"/api/v2.0/companies({COMPANY})/customers",
                                      client_state=world.ns_secrets["webhook_client_state"], now=datetime.now(UTC))  # fmt: skip
            for n in range(3):
                await client.create_customer({"displayName": f"Customer {n}"})
        finally:
            await client.aclose()
        bc.flush_notifications()
        async with httpx.AsyncClient() as http:
            forged = await http.post(hook, json={"value": [{"subscriptionId": "s", "clientState": "guess",
                                     "resource": "x", "changeType": "created", "lastModifiedDateTime": "2026-01-01T00:00:00Z"}]})  # fmt: skip
            assert forged.status_code == 401
        await world.wait_for(lambda: world.message_count() == 3, "three stored notifications", timeout=10)

    try:
        asyncio.run(main())
    finally:
        receiver.stop()
        asyncio.run(ingest.batcher.aclose())
        ingest.db.shutdown()
    assert len(bc.subscriptions()) == 1
    assert [d["state"] for d in bc.delivery_log()] == ["delivered"]
    assert world.runs() == []  # customer notifications start no flow


def test_the_scheduler_keeps_business_central_subscriptions_alive(
    bc_world: tuple[World, BusinessCentralSandbox],
) -> None:
    world, bc = bc_world
    store = world.store
    box = SecretBox(world.settings.secret_key.get_secret_value())
    for other in store.connections_of(["shopify"]):  # their shops are not served here; only the job matters
        store.set_connection_status(other.id, "paused", "not part of this test")
    client = store.create_client(store.create_partner(f"Partner {uuid.uuid4().hex[:6]}"), "Retailer with webhooks")
    connection_id = store.create_connection(
        client, "businesscentral", "Business Central (webhooks)",
        {"tenant_id": TENANT, "company_id": COMPANY, "base_url": world.netsuite_server.url,
         "authority_url": world.netsuite_server.url, "webhook_resources": ["customers"]},
        box.seal(world.ns_secrets),
    )  # fmt: skip
    ingest = build_ingest(world.settings, store)
    receiver = LoopbackServer(create_app(world.settings, store, ingest)).start()
    bc.set_knobs(FaultKnobs())
    service = PollingService(
        store, DbExecutor(threads=1), ConnectionCache(store, box, ttl=0.0), public_url=receiver.url + "/"
    )

    async def tick() -> dict[str, int]:
        service._due.clear()
        return await service.tick()

    try:
        first = asyncio.run(tick())
        assert first["job_failures"] == 0
        assert first["jobs"] == 2, "one job per Business Central connection (the other has no resources)"
        [subscription] = bc.subscriptions()
        assert subscription["notificationUrl"] == f"{receiver.url}/webhooks/businesscentral/{connection_id}"
        second = asyncio.run(tick())
        assert second["job_failures"] == 0
        assert len(bc.subscriptions()) == 1, "a live subscription is left alone, not registered again"
    finally:
        receiver.stop()
        asyncio.run(ingest.batcher.aclose())
        ingest.db.shutdown()
