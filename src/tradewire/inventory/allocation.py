"""What each channel may list, and why: a pure function of ledger positions and the policy.

For one SKU:

1. **Available** = Σ over locations of max(0, physical − safety stock) − committed (never < 0).
2. **Shares** partition the sellable pool (on hand − safety stock − orders of channels outside the
   policy): a channel with a ``percentage`` gets ⌊pool × p⌋; channels without one split what is
   left equally; rounding leftovers go to those channels in priority order. A channel's own open
   orders count against its own share only, so **a sale on one channel never changes what the
   others list** (and the channel itself already lowered its listing when it sold). If a channel
   sold beyond its share (orders in flight during a publication), the excess is taken from the
   lowest-priority channels. Quantities listed on all channels together never exceed available:
   each is capped by what is still unlisted (in priority order) and, when the channel sells from
   some locations only, by what those locations hold.
3. **Channel rules** then only lower a share: ``buffer`` is subtracted, ``max_listed`` caps it, a
   quantity below ``floor`` becomes 0. Units they hold back are not given to other channels.

A bundle's quantity on a channel is min over its components of ⌊component's quantity on that
channel ÷ units per bundle⌋. Every step adds a line to ``why`` for ``inventory preview``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from tradewire.inventory.policy import AllocationPolicy, ChannelPolicy
from tradewire.runtime.store.port_inventory import ChannelPosition, StockPosition


@dataclass(frozen=True)
class ChannelQuantity:
    """What one channel gets for one SKU, with the reasons in order."""

    connection_id: str
    quantity: int
    why: tuple[str, ...]


@dataclass(frozen=True)
class SkuAllocation:
    """One SKU across channels: the pool and each channel's part."""

    sku: str
    available: int
    channels: tuple[ChannelQuantity, ...]
    why: tuple[str, ...] = field(default=())

    def quantity(self, connection_id: str) -> int:
        """The quantity for one channel (0 when the policy does not list it)."""
        return next((c.quantity for c in self.channels if c.connection_id == connection_id), 0)


def _sellable(positions: Sequence[StockPosition], policy: AllocationPolicy, locations: Iterable[str] | None) -> int:
    wanted = set(locations) if locations is not None else None
    return sum(
        max(0, p.physical - policy.safety(p.sku, p.location))
        for p in positions
        if wanted is None or p.location in wanted
    )


def available_of(positions: Sequence[StockPosition], policy: AllocationPolicy) -> tuple[int, tuple[str, ...]]:
    """The SKU's available pool and how it was reached."""
    physical = sum(p.physical for p in positions)
    sellable = _sellable(positions, policy, None)
    committed = sum(p.committed for p in positions)
    available = max(0, sellable - committed)
    why = (
        f"available {available} = on hand {physical} − safety stock {physical - sellable} − committed {committed}"
        + (" (floored at 0)" if sellable < committed else ""),
    )
    return available, why


def _shares(available: int, channels: Sequence[ChannelPolicy]) -> dict[str, int]:
    """Partition ``available`` by percentages, the rest equally, leftovers in priority order."""
    shares = {c.connection: int(available * c.percentage // 100) for c in channels if c.percentage is not None}
    equal = [c for c in channels if c.percentage is None]
    rest = max(0, available - sum(shares.values()))
    if equal:
        each, leftover = divmod(rest, len(equal))
        for index, channel in enumerate(equal):  # already in priority order
            shares[channel.connection] = each + (1 if index < leftover else 0)
    return shares


def allocate_sku(
    sku: str,
    positions: Sequence[StockPosition],
    policy: AllocationPolicy,
    channel_open: Mapping[str, int] | None = None,
) -> SkuAllocation:
    """Each channel's quantity of a plain (non-bundle) SKU.

    ``channel_open`` holds the units each channel's own open orders hold: they count against that
    channel's share, so a sale on one channel never changes what the others list.
    """
    available, why = available_of(positions, policy)
    committed = sum(p.committed for p in positions)
    channels = policy.ordered_channels()
    opened = {c.connection: max(0, (channel_open or {}).get(c.connection, 0)) for c in channels}
    other = max(0, committed - sum(opened.values()))  # orders of channels outside the policy
    pool = max(0, _sellable(positions, policy, None) - other)
    shares = _shares(pool, channels)
    raw = {c.connection: shares[c.connection] - opened[c.connection] for c in channels}
    deficit = sum(max(0, -q) for q in raw.values())  # channels that sold beyond their share (a race)
    quantities = {cid: max(0, q) for cid, q in raw.items()}
    taken: dict[str, int] = {}
    for channel in reversed(channels):  # the lowest priority gives up units first
        take = min(deficit, quantities[channel.connection])
        quantities[channel.connection] -= take
        taken[channel.connection] = take
        deficit -= take
    unlisted = available
    result: list[ChannelQuantity] = []
    for channel in channels:
        cid = channel.connection
        share = shares[cid]
        how = (
            f"{channel.percentage:g}% of"
            if channel.percentage is not None
            else "equal part of what percentages leave of"
        )
        lines = [f"share {share} ({how} pool {pool})"]
        if opened[cid]:
            lines.append(f"its open orders hold {opened[cid]} → {max(0, raw[cid])}")
        if taken.get(cid):
            lines.append(f"gives {taken[cid]} to orders other channels took beyond their shares")
        quantity = quantities[cid]
        if channel.locations is not None:
            reach = max(0, _sellable(positions, policy, channel.locations) - committed)
            if reach < quantity:
                quantity = reach
                lines.append(f"locations {', '.join(channel.locations)} can serve {reach}")
        if unlisted < quantity:
            quantity = unlisted
            lines.append(f"only {unlisted} left unlisted after higher-priority channels")
        if channel.buffer:
            quantity = max(0, quantity - channel.buffer)
            lines.append(f"buffer {channel.buffer} → {quantity}")
        if channel.max_listed is not None and quantity > channel.max_listed:
            quantity = channel.max_listed
            lines.append(f"max listed {channel.max_listed}")
        if 0 < quantity < channel.floor:
            quantity = 0
            lines.append(f"below floor {channel.floor} → 0")
        unlisted -= quantity
        result.append(ChannelQuantity(cid, quantity, tuple(lines)))
    return SkuAllocation(
        sku, available, tuple(result), (*why, f"pool {pool} = sellable − orders of other channels {other}")
    )


def allocate_bundle(bundle: str, components: Mapping[str, SkuAllocation], policy: AllocationPolicy) -> SkuAllocation:
    """A bundle's quantity per channel from its components' quantities on that channel."""
    parts = policy.bundles[bundle]
    available = min((components[c].available // q if c in components else 0) for c, q in parts.items())
    result: list[ChannelQuantity] = []
    for channel in policy.ordered_channels():
        limits = {
            c: (components[c].quantity(channel.connection) // q if c in components else 0) for c, q in parts.items()
        }
        quantity = min(limits.values())
        lines = tuple(
            f"{c}: {components[c].quantity(channel.connection) if c in components else 0} ÷ {parts[c]} → {n}"
            for c, n in limits.items()
        )
        result.append(ChannelQuantity(channel.connection, quantity, (f"bundle of {len(parts)} components", *lines)))
    return SkuAllocation(bundle, available, tuple(result), (f"bundle available {available} from its components",))


def allocate(
    skus: Iterable[str],
    positions: Sequence[StockPosition],
    policy: AllocationPolicy,
    channel_positions: Sequence[ChannelPosition] = (),
) -> list[SkuAllocation]:
    """Allocations of ``skus`` (plain SKUs and bundles); a bundle needs its components' positions."""
    by_sku: dict[str, list[StockPosition]] = {}
    for position in positions:
        by_sku.setdefault(position.sku, []).append(position)
    opened: dict[str, dict[str, int]] = {}
    for held in channel_positions:
        opened.setdefault(held.sku, {})[held.connection_id] = held.open
    wanted = sorted(set(skus))
    plain: dict[str, SkuAllocation] = {}
    for sku in wanted:
        if sku not in policy.bundles:
            plain[sku] = allocate_sku(sku, by_sku.get(sku, []), policy, opened.get(sku))
        else:
            for component in policy.bundles[sku]:
                if component not in plain:
                    plain[component] = allocate_sku(component, by_sku.get(component, []), policy, opened.get(component))
    return [allocate_bundle(sku, plain, policy) if sku in policy.bundles else plain[sku] for sku in wanted]


def affected_skus(changed: Iterable[str], policy: AllocationPolicy) -> set[str]:
    """The changed SKUs plus the bundles they are part of."""
    out: set[str] = set()
    for sku in changed:
        out.add(sku)
        out.update(policy.bundles_of(sku))
    return out


def skus_needed(skus: Iterable[str], policy: AllocationPolicy) -> set[str]:
    """Whose positions :func:`allocate` needs for ``skus`` (bundles need their components)."""
    out: set[str] = set()
    for sku in skus:
        out.update(policy.bundles.get(sku, {sku: 1}))
    return out
