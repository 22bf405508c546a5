"""Shared helpers of the ShipStation connector tests: credentials, a sample order, sandbox and client factories."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import pytest
from starlette.applications import Starlette

from tradewire.canonical import Address, Buyer, ExternalRef, FinancialStatus, Order, OrderLine
from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.shipstation.client import ShipStationClient
from tradewire.connectors.shipstation.sandbox import create_sandbox
from tradewire.connectors.shipstation.sandbox_store import SandboxOptions
from tradewire.connectors.shipstation.settings import ShipStationSecrets, ShipStationSettings

T = TypeVar("T")
API_KEY, API_SECRET = "ShipStation", "Rocks"
TOKEN = "tok-0123456789abcdef0123456789"
BASE = "https://ssapi.shipstation.com"
CREDS = {"api_key": API_KEY, "api_secret": API_SECRET, "webhook_token": TOKEN}


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def connection(**settings: Any) -> Connection:
    return Connection(
        id="conn-ss", client_id="client-1", system="shipstation", settings={"base_url": BASE, **settings}, secrets=CREDS
    )


def sample_order(number: str = "#5001", order_id: str = "2b6f0c1e-9d8a-4f3b-a2c1-7e6d5c4b3a21") -> Order:
    return Order(
        id=order_id, client_id="client-1", number=number, currency="USD",
        source=ExternalRef(system="shopify", connection_id="c1", object="order", external_id="5001"),
        placed_at=datetime(2026, 5, 4, 10, 30, tzinfo=UTC), financial_status=FinancialStatus.PAID,
        customer=Buyer(email="ann@example.com", first_name="Ann", last_name="Lee"),
        lines=[
            OrderLine(line_id="a", sku="TSHIRT-BLK-M", title="T-shirt", quantity=3, unit_price=Decimal("25.00"),
                      discount=Decimal("7.50"), total=Decimal("67.50")),
            OrderLine(line_id="b", sku="SOCKS-3PK", title="Socks", quantity=1, unit_price=Decimal("12.00"),
                      total=Decimal("12.00")),
        ],
        subtotal=Decimal("87.00"), discount_total=Decimal("10.00"), shipping_total=Decimal("6.95"),
        tax_total=Decimal("6.40"), total=Decimal("90.35"),
        shipping_address=Address(name="Ann Lee", line1="1 Main St", city="Austin", region="TX", postal_code="78701",
                                 country_code="US"),
    )  # fmt: skip


@pytest.fixture
def make_app() -> Callable[..., Starlette]:
    def make(knobs: FaultKnobs | None = None, **kwargs: Any) -> Starlette:
        kwargs.setdefault("options", SandboxOptions(webhook_retry_delays=[0.02, 0.02], duplicate_delay_seconds=0.0))
        return create_sandbox(api_key=API_KEY, api_secret=API_SECRET, knobs=knobs or FaultKnobs(seed=1), **kwargs)

    return make


@pytest.fixture
def make_client() -> Callable[..., ShipStationClient]:
    def make(app: Starlette, *, secrets: dict[str, str] | None = None, **settings: Any) -> ShipStationClient:
        return ShipStationClient(
            ShipStationSettings.model_validate({"base_url": BASE, **settings}),
            ShipStationSecrets.model_validate({**CREDS, **(secrets or {})}),
            transport=httpx.ASGITransport(app=app),
        )

    return make
