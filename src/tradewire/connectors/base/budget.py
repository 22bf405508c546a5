"""Rate budgets as connectors see them: ask for a token before each vendor call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class RateLimit:
    """A vendor limit modelled as a token bucket: ``rate`` tokens per second, up to ``burst``."""

    scope: str
    rate: float
    burst: float


class RateBudget(Protocol):
    """Shared by every process of one connection; implemented by the runtime on the store."""

    async def acquire(self, scope: str, cost: float = 1.0) -> None:
        """Wait for ``cost`` tokens of ``scope``.

        Raises:
            RetryableError: when the wait would be too long to hold a run; the run is parked.
        """
        ...

    def observe(self, scope: str, *, remaining: float | None, capacity: float | None, refill: float | None) -> None:
        """Record what the vendor said about its bucket (rate headers, GraphQL cost)."""
        ...


class UnlimitedBudget:
    """A budget that never waits: for tests of mapping and for local tools."""

    async def acquire(self, scope: str, cost: float = 1.0) -> None:
        return None

    def observe(self, scope: str, *, remaining: float | None, capacity: float | None, refill: float | None) -> None:
        return None
