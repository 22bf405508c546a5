"""Polling as the scheduler runs it: Shopify's change feed into the store, cursor and messages together.

Each test has its own database (SQLite file or PostgreSQL schema), its own Shopify sandbox on
127.0.0.1 and its own NetSuite sandbox; the poll goes over real HTTP.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select

from tradewire.connectors.base.sandbox import LoopbackServer
from tradewire.connectors.shopify.sandbox import create_sandbox
from tradewire.connectors.shopify.sandbox_shop import SandboxShop
from tradewire.runtime.dbthread import DbExecutor
from tradewire.runtime.store.tables import messages, runs
from tradewire.services.demo_world import CATALOG
from tradewire.services.polling import PollingService
from tradewire.tenancy.connections import ConnectionCache
from tradewire.tenancy.context import client_scope
from tradewire.tenancy.secrets import SecretBox

if TYPE_CHECKING:
    from tests.integration.conftest import World

TOKEN = "shpat_" + "p" * 32


@pytest.fixture
def shop_server() -> Iterator[LoopbackServer]:
    app = create_sandbox(client_secret=secrets.token_hex(16), access_token=TOKEN, catalog=CATALOG, seed=5)
    server = LoopbackServer(app).start()
    yield server
    server.stop()


def polled_connection(world: World, server: LoopbackServer, *, token: str = TOKEN, page_size: int = 100) -> str:
    """A Shopify connection whose shop is ``server`` (the world's own webhook-only one is paused)."""
    box = SecretBox(world.settings.secret_key.get_secret_value())
    world.store.set_connection_status(world.shopify_id, "paused", "this test polls another connection")
    # Only the shop is polled here: the NetSuite connection's item fulfilments stream is turned off.
    ns = world.store.get_connection(world.netsuite_id)
    settings = {**ns.settings, "poll": {"item_fulfillments": {"enabled": False}}}
    world.store.put_connection(ns.id, ns.client_id, ns.system, ns.name, settings, ns.secrets)
    return world.store.create_connection(
        world.client_id,
        "shopify",
        "Shopify (polled)",
        {
            "shop_domain": "tradewire-sandbox.myshopify.com",
            "base_url": server.url,
            "page_size": page_size,
            "routes": {"erp": world.netsuite_id},
            "poll": {"orders": {"every_seconds": 60}},
        },
        box.seal({"client_secret": "unused-for-polling", "access_token": token}),
    )


def polling(world: World, *, max_pages: int = 50) -> PollingService:
    box = SecretBox(world.settings.secret_key.get_secret_value())
    return PollingService(
        world.store, DbExecutor(threads=1), ConnectionCache(world.store, box, ttl=0.0), max_pages=max_pages
    )


async def poll_now(service: PollingService) -> dict[str, int]:
    """One round, as if every stream were due."""
    service._due.clear()
    return await service.tick()


def shop_of(server: LoopbackServer) -> SandboxShop:
    shop: SandboxShop = server.app.state.shop
    return shop


def stored(world: World, connection_id: str) -> tuple[int, int]:
    """Messages and ERP runs of one connection (each order message also starts ``inventory_reserve``)."""
    with world.store.engine.connect() as conn:  # type: ignore[attr-defined]
        m = conn.execute(select(func.count()).where(messages.c.connection_id == connection_id)).scalar_one()
        r = conn.execute(
            select(func.count()).where(runs.c.connection_id == connection_id, runs.c.flow != "inventory_reserve")
        ).scalar_one()
    return int(m), int(r)


def cursor(world: World, connection_id: str) -> str | None:
    with client_scope(world.client_id):
        return world.store.get_cursor(connection_id, "orders")


def test_each_changed_order_is_stored_once_and_the_cursor_follows(world: World, shop_server: LoopbackServer) -> None:
    shop = shop_of(shop_server)
    connection_id = polled_connection(world, shop_server, page_size=2)
    service = polling(world)
    first = shop.create_orders(5)

    report = asyncio.run(poll_now(service))
    assert report["stored"] == 5
    assert report["pages"] == 3
    assert stored(world, connection_id) == (5, 5)
    newest = max(o["updated_at"] for o in first)
    assert cursor(world, connection_id) == datetime.fromisoformat(newest).astimezone(UTC).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )

    before = cursor(world, connection_id)
    again = asyncio.run(poll_now(service))
    assert again["stored"] == 0, "the overlap window re-reads, and changes nothing"
    assert again["duplicates"] == 5
    assert stored(world, connection_id) == (5, 5)

    shop.create_orders(2)
    shop.cancel_order(first[0]["id"])
    later = asyncio.run(poll_now(service))
    assert later["stored"] == 3, "two new orders and one cancellation"
    m, r = stored(world, connection_id)
    assert (m, r) == (8, 8)
    assert (cursor(world, connection_id) or "") >= (before or "~"), "the cursor never goes back"


def test_a_poll_cut_short_resumes_where_it_stopped(world: World, shop_server: LoopbackServer) -> None:
    shop = shop_of(shop_server)
    connection_id = polled_connection(world, shop_server, page_size=2)
    shop.create_orders(6)
    service = polling(world, max_pages=1)

    asyncio.run(poll_now(service))
    assert stored(world, connection_id)[0] == 2
    after_one_page = cursor(world, connection_id)

    shop.set_knobs(fail_rate=1.0)
    failed = asyncio.run(poll_now(service))
    assert failed["poll_failures"] == 1
    assert cursor(world, connection_id) == after_one_page, "a failed poll never moves the cursor"

    shop.set_knobs(fail_rate=0.0)
    for _ in range(4):
        asyncio.run(poll_now(service))
    assert stored(world, connection_id)[0] == 6, "every order is stored once, whatever the interruptions"


def test_refused_credentials_pause_the_connection_and_keep_the_cursor(
    world: World, shop_server: LoopbackServer
) -> None:
    shop_of(shop_server).create_orders(2)
    connection_id = polled_connection(world, shop_server, token="shpat_wrong")
    report = asyncio.run(poll_now(polling(world)))
    assert report["poll_failures"] == 1
    record = world.store.get_connection(connection_id)
    assert record.status == "paused"
    assert "credentials refused" in (record.paused_reason or "")
    assert cursor(world, connection_id) is None
    assert stored(world, connection_id) == (0, 0)
    # The world's NetSuite connection is still polled (its on-hand inventory stream); the paused one is not.
    assert asyncio.run(poll_now(polling(world)))["polled"] == report["polled"] - 1, "a paused connection is not polled"


def test_polled_orders_reach_the_erp_exactly_once(world: World, shop_server: LoopbackServer) -> None:
    shop = shop_of(shop_server)
    polled_connection(world, shop_server)
    created = shop.create_orders(4)

    async def scenario() -> None:
        async with world.pipeline() as (_ingest, bundle):
            service = polling(world)
            service.on_enqueued = bundle.worker.wake
            await poll_now(service)
            await poll_now(service)  # the overlap again: duplicates, no new runs
            await world.settle(expected_runs=4 + 4 + 4)  # order runs, their customer runs, inventory runs

    asyncio.run(scenario())
    for order in created:
        found = world.sales_orders_for(order)
        assert len(found) == 1, f"{order['name']}: {len(found)} sales orders"
