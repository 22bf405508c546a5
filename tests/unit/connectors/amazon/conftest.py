"""Fixtures for the Amazon connector tests: a fresh in-process sandbox per test, on a movable clock."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tradewire.connectors.amazon.client import AmazonClient
from tradewire.connectors.amazon.sandbox import create_sandbox
from tradewire.connectors.amazon.settings import AmazonSecrets, AmazonSettings
from tradewire.connectors.base.sandbox import FaultKnobs

VENDOR = Path(__file__).resolve().parents[3] / "fixtures" / "vendor"
CREDS = {
    "client_id": "amzn1.application-oa2-client.test",
    "client_secret": "lwa-secret",
    "refresh_token": "Atzr|refresh",
}
SELLER = "A3TH9S8BH6GOGM"
BASE = "http://sandbox.test"


def fixture(name: str) -> Any:
    """One vendor fixture as JSON."""
    return json.loads((VENDOR / name).read_text())


class Clock:
    """Seconds since the epoch, moved by hand (starts at the real time)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_app(clock: Clock) -> Callable[..., Starlette]:
    def make(knobs: FaultKnobs | None = None, **kwargs: Any) -> Starlette:
        return create_sandbox(
            **CREDS, seller_id=SELLER, knobs=knobs or FaultKnobs(seed=3), clock=clock, seed=3, **kwargs
        )

    return make


def settings_for(**overrides: Any) -> AmazonSettings:
    return AmazonSettings.model_validate(
        {
            "seller_id": SELLER,
            "base_url": BASE,
            "token_url": f"{BASE}/auth/o2/token",
            "feed_poll_seconds": 0,
            **overrides,
        }
    )


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.fixture
def make_client() -> Callable[..., AmazonClient]:
    def make(
        app: Starlette, *, secrets: dict[str, str] | None = None, budget: Any = None, **settings: Any
    ) -> AmazonClient:
        return AmazonClient(
            settings_for(**settings),
            AmazonSecrets.model_validate({**CREDS, **(secrets or {})}),
            budget=budget,
            transport=httpx.ASGITransport(app=app),
            sleep=_no_sleep,
        )

    return make


@pytest.fixture
def load() -> Callable[[str], Any]:
    """Reads a vendor fixture (``amazon_getOrders_response.json`` …) as JSON."""
    return fixture


@pytest.fixture
def make_settings() -> Callable[..., AmazonSettings]:
    return settings_for


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests of this folder on a fresh event loop (no async plugin is installed)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(pyfuncitem.obj(**arguments))
    return True
