"""Property tests of the availability engine on the real ledger (the in-memory store).

Random sequences of on-hand figures, orders on three channels (each channel sells only what it
lists, like Shopify, Amazon and Walmart do) and cancellations: after each event the engine
recomputes and the channels take the new quantities. Properties: a sale never commits more than
is on hand, every channel's quantity respects its policy, and all channels together never list
more than is available.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradewire.inventory.allocation import allocate
from tradewire.inventory.policy import AllocationPolicy, ChannelPolicy
from tradewire.runtime.store.memory import MemoryStore
from tradewire.runtime.store.port_inventory import OnHandSnapshot, OrderCommitment
from tradewire.tenancy.context import client_scope

T0 = datetime(2026, 11, 23, 10, tzinfo=UTC)
SKUS = ("A", "B")
CHANNELS = ("shop", "amazon", "walmart")

channel_policies = st.builds(
    ChannelPolicy,
    connection=st.just("x"),
    priority=st.integers(1, 3),
    percentage=st.one_of(st.none(), st.sampled_from([10.0, 25.0, 33.0])),
    buffer=st.integers(0, 2),
    max_listed=st.one_of(st.none(), st.integers(0, 6)),
    floor=st.integers(0, 3),
)
policies = st.lists(channel_policies, min_size=3, max_size=3).map(
    lambda cs: AllocationPolicy(
        channels=[c.model_copy(update={"connection": name}) for c, name in zip(cs, CHANNELS, strict=True)]
    )
)
events = st.lists(
    st.one_of(
        st.tuples(st.just("stock"), st.sampled_from(SKUS), st.integers(0, 12)),
        st.tuples(st.just("order"), st.sampled_from(SKUS), st.integers(1, 3), st.sampled_from(CHANNELS)),
        st.tuples(st.just("cancel"), st.integers(0, 50)),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=policies, script=events)
def test_no_sale_oversells_and_listings_respect_policy_and_availability(
    policy: AllocationPolicy, script: list[tuple[object, ...]]
) -> None:
    store = MemoryStore()
    partner = store.create_partner("p")
    client = store.create_client(partner, "c")
    listed: dict[tuple[str, str], int] = {}
    orders: list[tuple[str, str]] = []  # (order id, channel)
    with client_scope(client):
        for step, event in enumerate(script):
            now = T0 + timedelta(seconds=step)
            version = now.isoformat()
            if event[0] == "stock":
                _, sku, units = event
                store.record_facts([OnHandSnapshot(str(sku), None, int(str(units)), now)], now)
            elif event[0] == "order":
                _, sku, units, channel = event
                key = (str(sku), str(channel))
                if listed.get(key, 0) < int(str(units)):
                    continue  # the channel refuses: it does not list that many
                listed[key] -= int(str(units))  # channels decrement on sale
                order_id = f"o{step}"
                store.record_facts([OrderCommitment(order_id, str(channel), version, {str(sku): int(str(units))})], now)
                orders.append((order_id, str(channel)))
                [pos] = list(store.stock_positions([str(sku)]))
                assert pos.committed <= pos.physical, "a sale committed more than is on hand"
            elif orders:
                order_id, channel = orders.pop(int(str(event[1])) % len(orders))
                store.record_facts([OrderCommitment(order_id, channel, version, {})], now)
            positions = store.stock_positions()
            held = store.channel_positions(SKUS)
            opened = {(h.sku, h.connection_id): h.open for h in held}
            for allocation in allocate(SKUS, positions, policy, held):
                total = 0
                for got, rule in zip(allocation.channels, policy.ordered_channels(), strict=True):
                    assert got.quantity >= 0
                    assert got.quantity <= max(0, allocation.available - rule.buffer)
                    if rule.max_listed is not None:
                        assert got.quantity <= rule.max_listed
                    assert got.quantity == 0 or got.quantity >= rule.floor
                    if rule.percentage is not None:  # its listing and its own open orders stay within its share
                        pool = sum(p.physical for p in positions if p.sku == allocation.sku)
                        assert got.quantity + opened.get((allocation.sku, got.connection_id), 0) <= max(
                            pool * rule.percentage / 100, opened.get((allocation.sku, got.connection_id), 0)
                        )
                    listed[(allocation.sku, got.connection_id)] = got.quantity
                    total += got.quantity
                assert total <= allocation.available, "channels together list more than is available"
    store.close()
