"""Which events start the inventory flows, and what an order holds."""

from __future__ import annotations

from tradewire.flows.registry import flows_for
from tradewire.inventory.flows import CANCELLED_SUFFIX, RESERVE, SNAPSHOT, explode_bundles


def test_order_events_start_the_reserve_flow_beside_the_erp_flows_and_stock_events_the_snapshot() -> None:
    for event, erp_flow in (
        ("order.created", "order_to_erp"),
        ("order.updated", "order_to_erp"),
        ("order.cancelled", "order_cancel_to_erp"),
    ):
        assert [f.name for f in flows_for(event)] == [erp_flow, RESERVE]
    assert [f.name for f in flows_for("inventory.updated")] == [SNAPSHOT]


def test_a_cancellation_sorts_after_an_update_of_the_same_time() -> None:
    same_time = "2026-11-23T10:00:00+00:00"
    assert same_time + CANCELLED_SUFFIX > same_time
    assert same_time + CANCELLED_SUFFIX < "2026-11-23T10:00:01+00:00"


def test_a_bundle_line_holds_its_components() -> None:
    bundles = {"KIT": {"A": 2, "B": 1}}
    assert explode_bundles({"KIT": 3, "A": 1, "C": 2}, bundles) == {"A": 7, "B": 3, "C": 2}
