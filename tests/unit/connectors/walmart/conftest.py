"""Shared helpers: a sandbox, a client bound to it in-process, a budget that records observations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tradewire.connectors.walmart.client import WalmartClient
from tradewire.connectors.walmart.sandbox import create_sandbox
from tradewire.connectors.walmart.settings import WalmartSecrets, WalmartSettings

CLIENT_ID, CLIENT_SECRET = "wm-client-id", "wm-client-secret"
FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "vendor"


class RecordingBudget:
    """A budget that never waits and remembers what the client observed and acquired."""

    def __init__(self) -> None:
        self.observed: list[tuple[str, float | None]] = []
        self.acquired: list[str] = []

    async def acquire(self, scope: str, cost: float = 1.0) -> None:
        self.acquired.append(scope)

    def observe(self, scope: str, *, remaining: float | None, capacity: float | None, refill: float | None) -> None:
        self.observed.append((scope, remaining))


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _make_client(
    app: Any,
    *,
    secret: str = CLIENT_SECRET,
    clock: Any = None,
    budget: Any = None,
    transport: Any = None,
    **settings: Any,
) -> WalmartClient:
    """A client of ``app`` over ``httpx.ASGITransport``."""
    extra = {"clock": clock} if clock is not None else {}
    return WalmartClient(
        WalmartSettings(base_url="http://walmart.test", **settings),
        WalmartSecrets.model_validate({"client_id": CLIENT_ID, "client_secret": secret}),
        budget=budget,
        transport=transport or httpx.ASGITransport(app),
        **extra,
    )


@pytest.fixture
def make_client() -> Callable[..., WalmartClient]:
    return _make_client


@pytest.fixture
def budget() -> RecordingBudget:
    return RecordingBudget()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(clock: FakeClock) -> Any:
    return create_sandbox(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, seed=3, clock=clock)
