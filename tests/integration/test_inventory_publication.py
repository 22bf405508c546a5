"""Inventory end to end: a Shopify order commits stock through the worker, and the publisher sets
the quantities on the real Walmart and Amazon sandboxes (loopback), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from tradewire.connectors.base.sandbox import LoopbackServer
from tradewire.services.demo_systems import start_sandbox
from tradewire.services.demo_world import CATALOG
from tradewire.services.inventory import InventoryService, publish_now
from tradewire.tenancy.context import client_scope
from tradewire.tenancy.secrets import SecretBox

if TYPE_CHECKING:
    from tests.integration.conftest import World

SKU = CATALOG[0][0]


@dataclass
class Channels:
    """Walmart and Amazon sandboxes with one connection each."""

    walmart_id: str
    amazon_id: str
    walmart: LoopbackServer
    amazon: LoopbackServer

    def walmart_quantity(self, sku: str) -> int | None:
        inventory: dict[str, int] = self.walmart.app.state.walmart.inventory
        return inventory.get(sku)

    def amazon_quantity(self, sku: str) -> int | None:
        quantity: int | None = self.amazon.app.state.amazon.listing_quantity(sku)
        return quantity


@pytest.fixture
def channels(world: World) -> Iterator[Channels]:
    box = SecretBox(world.settings.secret_key.get_secret_value())
    walmart_creds = {"client_id": secrets.token_hex(16), "client_secret": secrets.token_hex(32)}
    amazon_creds = {
        "client_id": "amzn1.application-oa2-client." + secrets.token_hex(16),
        "client_secret": secrets.token_hex(32),
        "refresh_token": "Atzr|" + secrets.token_urlsafe(48),
    }
    walmart = start_sandbox("walmart", catalog=CATALOG, seed=3, **walmart_creds)
    amazon = start_sandbox("amazon", catalog=CATALOG, seed=3, **amazon_creds)
    walmart_id = world.store.create_connection(
        world.client_id, "walmart", "Walmart", {"base_url": walmart.url}, box.seal(walmart_creds)
    )
    amazon_id = world.store.create_connection(
        world.client_id,
        "amazon",
        "Amazon",
        {
            "seller_id": "A3TH9S8BH6GOGM",
            "marketplace_ids": ["ATVPDKIKX0DER"],
            "base_url": amazon.url,
            "token_url": f"{amazon.url}/auth/o2/token",
        },
        box.seal(amazon_creds),
    )
    yield Channels(walmart_id, amazon_id, walmart, amazon)
    walmart.stop()
    amazon.stop()


def apply_policy(world: World, channels: Channels, extra: str = "") -> InventoryService:
    service = InventoryService(world.store, world.client_id, actor="ops@agency")
    service.apply_policy(
        f"""
channels:
  - {{connection: {channels.walmart_id}, priority: 1, percentage: 60}}
  - {{connection: {channels.amazon_id}, priority: 2, buffer: 1}}
{extra}"""
    )
    return service


def expected(available: int) -> tuple[int, int]:
    """(Walmart, Amazon) quantities under the test policy: 60 % first, the rest less a buffer of 1."""
    walmart = available * 60 // 100
    return walmart, max(0, available - walmart - 1)


def test_an_order_and_its_cancellation_reach_both_channels_within_policy(world: World, channels: Channels) -> None:
    async def scenario() -> None:
        order = world.new_order()
        sku = order["line_items"][0]["sku"]
        ordered = sum(line["quantity"] for line in order["line_items"] if line["sku"] == sku)
        service = apply_policy(world, channels)
        service.set_on_hand(sku, 20)
        report = await publish_now(world.settings, world.store, world.client_id)
        assert report.refused == 0
        assert (channels.walmart_quantity(sku), channels.amazon_quantity(sku)) == (12, 7)  # 60% of 20; 8 − buffer 1

        async with world.pipeline() as (ingest, _):
            assert await world.deliver(ingest, order) == "stored"
            runs = await world.settle(2)
        assert {r.flow: r.state.value for r in runs}["inventory_reserve"] == "succeeded"
        await publish_now(world.settings, world.store, world.client_id)
        assert (channels.walmart_quantity(sku), channels.amazon_quantity(sku)) == expected(20 - ordered)

        cancelled = {**order, "cancelled_at": world.now_iso(), "cancel_reason": "customer"}
        async with world.pipeline() as (ingest, _):
            assert await world.deliver(ingest, cancelled, topic="orders/cancelled") == "stored"
            await world.settle(4)
        again = await publish_now(world.settings, world.store, world.client_id)
        assert (channels.walmart_quantity(sku), channels.amazon_quantity(sku)) == (12, 7)
        assert again.sent >= 1
        with client_scope(world.client_id):
            log = world.store.list_publications(sku)
        assert all(p.accepted for p in log)  # each recorded with the policy version that produced it
        assert {p.policy_version for p in log} == {1}

    asyncio.run(scenario())


def test_unchanged_quantities_are_not_sent_again_and_a_refused_sku_is_logged(world: World, channels: Channels) -> None:
    async def scenario() -> None:
        service = apply_policy(world, channels)
        service.set_on_hand(SKU, 10)
        service.set_on_hand("NOT-ON-AMAZON", 10)
        first = await publish_now(world.settings, world.store, world.client_id)
        assert first.refused == 1  # Amazon has no listing for that SKU: refused with Amazon's reason
        with client_scope(world.client_id):
            [refused] = [p for p in world.store.list_publications("NOT-ON-AMAZON") if not p.accepted]
        assert refused.error is not None
        assert "does not exist" in refused.error
        service.set_on_hand(SKU, 10)  # same figure again, newer time: nothing changes on any channel
        second = await publish_now(world.settings, world.store, world.client_id)
        assert (second.sent, second.unchanged) == (0, 2)

    asyncio.run(scenario())


def test_refused_credentials_pause_the_channel_and_keep_its_skus_waiting(world: World, channels: Channels) -> None:
    async def scenario() -> None:
        box = SecretBox(world.settings.secret_key.get_secret_value())
        bad = {"client_id": "nobody", "client_secret": "wrong"}
        world.store.put_connection(
            channels.walmart_id,
            world.client_id,
            "walmart",
            "Walmart",
            {"base_url": channels.walmart.url},
            box.seal(bad),
        )
        service = apply_policy(world, channels)
        service.set_on_hand(SKU, 10)
        report = await publish_now(world.settings, world.store, world.client_id)
        assert channels.walmart_id in report.deferred
        assert world.store.get_connection(channels.walmart_id).status == "paused"
        assert channels.amazon_quantity(SKU) == 3  # Amazon was served anyway (10 − Walmart's 6 − buffer 1)
        with client_scope(world.client_id):
            assert [d.sku for d in world.store.dirty_skus()] == [SKU]  # Walmart still owes this SKU

    asyncio.run(scenario())
