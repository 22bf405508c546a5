"""Fixtures for the Loop connector tests: a fresh in-process sandbox and client per test."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from loop_helpers import API_KEY, BASE_URL, WEBHOOK_SECRET
from starlette.applications import Starlette

from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.loop.client import LoopClient
from tradewire.connectors.loop.sandbox import create_sandbox
from tradewire.connectors.loop.settings import LoopSecrets, LoopSettings


@pytest.fixture
def make_app() -> Callable[..., Starlette]:
    def make(knobs: FaultKnobs | None = None, **kwargs: Any) -> Starlette:
        return create_sandbox(
            api_key=API_KEY, webhook_secret=WEBHOOK_SECRET, knobs=knobs or FaultKnobs(seed=1), seed=4, **kwargs
        )

    return make


@pytest.fixture
def make_client() -> Callable[..., LoopClient]:
    def make(app: Any, *, api_key: str = API_KEY, budget: Any = None, **settings: Any) -> LoopClient:
        return LoopClient(
            LoopSettings(base_url=BASE_URL, **settings),
            LoopSecrets(api_key=api_key, webhook_secret=WEBHOOK_SECRET),
            budget=budget,
            transport=app if isinstance(app, httpx.AsyncBaseTransport) else httpx.ASGITransport(app),
        )

    return make
