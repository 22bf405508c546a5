"""Allocation: what each channel gets for a SKU, and why (pure, no store)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tradewire.errors import ConfigError
from tradewire.inventory.allocation import affected_skus, allocate, allocate_sku
from tradewire.inventory.policy import AllocationPolicy, parse_policy, policy_yaml
from tradewire.runtime.store.port_inventory import StockPosition

T0 = datetime(2026, 11, 23, 10, tzinfo=UTC)


def pos(sku: str, on_hand: int, committed: int = 0, location: str = "", adjust: int = 0) -> StockPosition:
    return StockPosition(sku, location, on_hand, T0, adjust, committed, T0)


def policy(text: str) -> AllocationPolicy:
    return parse_policy(text)


def test_channels_without_percentages_split_the_pool_and_leftovers_go_by_priority() -> None:
    p = policy(
        """
channels:
  - {connection: shopify, priority: 1}
  - {connection: amazon, priority: 2}
  - {connection: walmart, priority: 3}
"""
    )
    result = allocate_sku("A", [pos("A", 10, committed=3)], p)
    assert result.available == 7
    assert [(c.connection_id, c.quantity) for c in result.channels] == [("shopify", 3), ("amazon", 2), ("walmart", 2)]
    assert sum(c.quantity for c in result.channels) <= result.available


def test_percentage_buffer_max_listed_and_floor_each_lower_a_share_with_a_reason() -> None:
    p = policy(
        """
channels:
  - {connection: shopify, priority: 1, percentage: 50, max_listed: 4}
  - {connection: amazon, priority: 2, percentage: 30, buffer: 1}
  - {connection: walmart, priority: 3, percentage: 20, floor: 3}
"""
    )
    result = allocate_sku("A", [pos("A", 10)], p)
    got = {c.connection_id: c for c in result.channels}
    assert got["shopify"].quantity == 4
    assert "max listed 4" in got["shopify"].why
    assert got["amazon"].quantity == 2
    assert "buffer 1 → 2" in got["amazon"].why
    assert got["walmart"].quantity == 0
    assert "below floor 3 → 0" in got["walmart"].why
    assert result.why[0].startswith("available 10 = on hand 10")


def test_safety_stock_and_location_restrictions_reduce_what_a_channel_can_serve() -> None:
    p = policy(
        """
channels:
  - {connection: store_pickup, priority: 1, locations: [east], percentage: 50}
  - {connection: web, priority: 2}
safety_stock:
  - {sku: "*", quantity: 1}
  - {sku: A, location: west, quantity: 4}
"""
    )
    positions = [pos("A", 3, location="east"), pos("A", 10, location="west"), pos("A", 0, committed=2)]
    result = allocate_sku("A", positions, p)
    assert result.available == (2 + 6) - 2  # east 3−1, west 10−4, minus 2 committed
    got = {c.connection_id: c.quantity for c in result.channels}
    # east holds 2 but 2 are committed; the 3 units of its share are not handed to web (held back)
    assert got == {"store_pickup": 0, "web": 3}


def test_a_bundle_lists_what_its_components_allow_on_each_channel() -> None:
    p = policy(
        """
channels:
  - {connection: shop}
bundles:
  KIT: {A: 2, B: 1}
"""
    )
    [kit] = allocate(["KIT"], [pos("A", 7), pos("B", 10)], p)
    assert (kit.available, kit.quantity("shop")) == (3, 3)
    assert affected_skus(["A"], p) == {"A", "KIT"}


def test_committed_beyond_on_hand_lists_nothing_anywhere() -> None:
    p = policy("channels: [{connection: a}, {connection: b}]")
    result = allocate_sku("A", [pos("A", 2, committed=5)], p)
    assert result.available == 0
    assert all(c.quantity == 0 for c in result.channels)
    assert "(floored at 0)" in result.why[0]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("channels: [{connection: a, percentage: 70}, {connection: b, percentage: 40}]", "add up to 110"),
        ("channels: [{connection: a}, {connection: a}]", "listed twice"),
        ("channels: [{connection: a, buffer: -1}]", "channels.0.buffer"),
        ("bundles: {K: {K: 1}}", "bundles of bundles"),
        ("channels: [unclosed", "not valid YAML"),
        ("- just a list", "must be a mapping"),
    ],
)
def test_a_bad_policy_is_refused_with_a_reason(text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_policy(text)


def test_a_policy_survives_a_yaml_round_trip() -> None:
    p = policy("channels: [{connection: a, percentage: 40, floor: 2}]\nbundles: {K: {A: 2}}")
    assert parse_policy(policy_yaml(p)) == p
