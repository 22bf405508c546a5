"""SP-API operations the connector calls, with their documented usage plans (token buckets).

Amazon meters each operation separately, per selling partner and application: ``rate``
requests per second refill a bucket of ``burst``. The client acquires from the rate budget
scope named after the operation; the sandbox enforces the same buckets.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradewire.connectors.base.budget import RateLimit


@dataclass(frozen=True)
class Operation:
    """One SP-API operation and its default usage plan."""

    name: str
    rate: float
    burst: float


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        # Orders API v0 (FACTS 2.3)
        Operation("getOrders", 0.0167, 20),
        Operation("getOrder", 0.5, 30),
        Operation("getOrderItems", 0.5, 30),
        Operation("confirmShipment", 2.0, 10),
        # Listings Items API 2021-08-01 (FACTS 2.4; getListingsItem per its model: 5 / 10)
        Operation("patchListingsItem", 5.0, 5),
        Operation("getListingsItem", 5.0, 10),
        # Feeds API 2021-06-30 (FACTS 2.4; getFeedDocument per its model: 0.0222 / 10)
        Operation("createFeedDocument", 0.5, 15),
        Operation("createFeed", 0.0083, 15),
        Operation("getFeed", 2.0, 15),
        Operation("getFeedDocument", 0.0222, 10),
        # Tokens API 2021-03-01 (its model: 1 / 10)
        Operation("createRestrictedDataToken", 1.0, 10),
        # Notifications API v1 (FACTS 2.5: 1 / 5)
        Operation("createDestination", 1.0, 5),
        Operation("createSubscription", 1.0, 5),
    )
}

RATE_LIMITS: tuple[RateLimit, ...] = tuple(
    RateLimit(scope=op.name, rate=op.rate, burst=op.burst) for op in OPERATIONS.values()
)
