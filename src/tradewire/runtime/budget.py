"""Per-connection token buckets shared by every process through the store.

Each process keeps a small local reservoir so that one vendor call does not cost one
database write: it takes a batch of tokens at once and lets unused ones expire after
``reservoir_ttl`` seconds, so the fleet never exceeds the vendor's rate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tradewire.connectors.base.budget import RateLimit
from tradewire.errors import RateBudgetWait
from tradewire.runtime.dbthread import DbExecutor
from tradewire.runtime.store.port import Store


def merged_limits(defaults: Sequence[RateLimit], overrides: Mapping[str, Mapping[str, float]]) -> dict[str, RateLimit]:
    """The vendor's default buckets with a connection's ``budgets`` settings applied on top."""
    limits = {limit.scope: limit for limit in defaults}
    for scope, override in overrides.items():
        base = limits.get(scope, RateLimit(scope, 10.0, 10.0))
        limits[scope] = RateLimit(scope, override.get("rate", base.rate), override.get("burst", base.burst))
    return limits


@dataclass
class _Reservoir:
    tokens: float = 0.0
    expires: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class StoreRateBudget:
    """The ``RateBudget`` of one connection, backed by the store's ``rate_budgets`` table."""

    def __init__(
        self,
        store: Store,
        db: DbExecutor,
        *,
        client_id: str,
        connection_id: str,
        limits: Mapping[str, RateLimit],
        clock: Callable[[], datetime],
        max_inline_wait: float = 2.0,
        reservoir_ttl: float = 1.0,
    ) -> None:
        self.store = store
        self.db = db
        self.client_id = client_id
        self.connection_id = connection_id
        self.limits = dict(limits)
        self.clock = clock
        self.max_inline_wait = max_inline_wait
        self.reservoir_ttl = reservoir_ttl
        self._reservoirs: dict[str, _Reservoir] = {}
        self.observed: dict[str, tuple[float | None, float | None, float | None]] = {}

    def _limit(self, scope: str) -> RateLimit:
        return self.limits.get(scope) or self.limits.get("default") or RateLimit(scope, 1000.0, 1000.0)

    async def acquire(self, scope: str, cost: float = 1.0) -> None:
        """Wait for ``cost`` tokens; park the run (``RateBudgetWait``) if the wait is long."""
        limit = self._limit(scope)
        cost = min(cost, limit.burst)
        reservoir = self._reservoirs.setdefault(scope, _Reservoir())
        waited = 0.0
        async with reservoir.lock:
            while True:
                now = time.monotonic()
                if reservoir.expires < now:
                    reservoir.tokens = 0.0
                if reservoir.tokens >= cost:
                    reservoir.tokens -= cost
                    return
                batch = max(cost, min(limit.burst / 4, limit.rate * self.reservoir_ttl / 4))
                grant = await self.db.call(
                    self.store.take_tokens,
                    self.client_id,
                    self.connection_id,
                    scope,
                    batch,
                    cost - reservoir.tokens,
                    limit.rate,
                    limit.burst,
                    self.clock(),
                )
                if grant.granted > 0:
                    reservoir.tokens += grant.granted
                    reservoir.expires = time.monotonic() + self.reservoir_ttl
                    continue
                if waited + grant.wait_seconds > self.max_inline_wait:
                    raise RateBudgetWait(
                        f"rate budget {scope!r} of connection {self.connection_id} is empty",
                        retry_after=max(grant.wait_seconds, 0.05),
                    )
                await asyncio.sleep(grant.wait_seconds)
                waited += grant.wait_seconds

    def observe(self, scope: str, *, remaining: float | None, capacity: float | None, refill: float | None) -> None:
        """Remember what the vendor reported (shown in metrics; the shared bucket stays the authority)."""
        self.observed[scope] = (remaining, capacity, refill)
