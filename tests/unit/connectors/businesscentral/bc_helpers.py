"""Helpers for the Business Central connector tests: a fresh in-process sandbox per test."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from starlette.applications import Starlette

from tradewire.canonical import Address, Buyer, Customer, ExternalRef, Order, OrderLine, OrderStatus
from tradewire.connectors.base.budget import UnlimitedBudget
from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.businesscentral.client import BusinessCentralClient
from tradewire.connectors.businesscentral.sandbox import create_sandbox
from tradewire.connectors.businesscentral.settings import BusinessCentralSecrets, BusinessCentralSettings
from tradewire.connectors.businesscentral.sink import BusinessCentralOrderSink, make_order_sink

TENANT = "contoso.onmicrosoft.com"
COMPANY = "824820a2-508c-ed11-aada-000d3a298ab3"
CREDS = {"client_id": "app-123", "client_secret": "s3cret-value-xyz"}
CLIENT_STATE = "client-state-1-very-secret"
BASE = "http://bc.test"


def make_app(knobs: FaultKnobs | None = None, **kwargs: Any) -> Starlette:
    return create_sandbox(tenant_id=TENANT, company_id=COMPANY, **CREDS, knobs=knobs or FaultKnobs(seed=1), **kwargs)


def settings(**overrides: Any) -> BusinessCentralSettings:
    values: dict[str, Any] = {"tenant_id": TENANT, "company_id": COMPANY, "base_url": BASE, "authority_url": BASE,
                              "shipping_account_number": "8110", **overrides}  # fmt: skip
    return BusinessCentralSettings.model_validate(values)


def client_for(app: Starlette, *, secrets: dict[str, str] | None = None, **overrides: Any) -> BusinessCentralClient:
    creds = BusinessCentralSecrets.model_validate({**CREDS, **(secrets or {})})
    return BusinessCentralClient(settings(**overrides), creds, transport=httpx.ASGITransport(app=app))


def connection(**overrides: Any) -> Connection:
    values = {"tenant_id": TENANT, "company_id": COMPANY, "base_url": BASE, "authority_url": BASE,
              "shipping_account_number": "8110", **overrides}  # fmt: skip
    return Connection(id="conn-bc", client_id="c1", system="businesscentral", settings=values,
                      secrets={**CREDS, "webhook_client_state": CLIENT_STATE})  # fmt: skip


def sink_for(app: Starlette, **overrides: Any) -> BusinessCentralOrderSink:
    return make_order_sink(connection(**overrides), UnlimitedBudget(), httpx.ASGITransport(app=app))


CUSTOMER = Customer(id="6d0f3b6a-1111-4222-8333-944455556666", client_id="c1", email="ann@example.com",
                    first_name="Ann", last_name="Lee")  # fmt: skip


def order(
    number: str = "#1001",
    *,
    order_id: str = "2b6f0c1e-9d8a-4f3b-a2c1-7e6d5c4b3a21",
    quantity: int = 2,
    shipping: str = "0",
    extra_line: bool = False,
    cancelled: bool = False,
) -> Order:
    lines = [OrderLine(line_id="1", sku="cap-navy", title="Cap", quantity=quantity, unit_price=Decimal("19.50"),
                       total=Decimal("19.50") * quantity)]  # fmt: skip
    if extra_line:
        lines.append(OrderLine(line_id="2", sku="SOCKS-3PK", title="Socks", quantity=1, unit_price=Decimal("12.00"),
                               total=Decimal("12.00")))  # fmt: skip
    subtotal = sum((line.total for line in lines), Decimal(0))
    return Order(
        id=order_id, client_id="c1", number=number, currency="USD",
        source=ExternalRef(system="shopify", connection_id="shop", object="order", external_id=number.strip("#")),
        placed_at=datetime(2026, 5, 4, 10, 30, tzinfo=UTC), customer=Buyer(email="ann@example.com"),
        shipping_address=Address(name="Ann Lee", line1="1 Main St", city="Austin", region="TX", postal_code="78701",
                                 country_code="US"),
        lines=lines, subtotal=subtotal, shipping_total=Decimal(shipping), total=subtotal + Decimal(shipping),
        status=OrderStatus.CANCELLED if cancelled else OrderStatus.OPEN,
        cancelled_at=datetime(2026, 5, 4, 11, 0, tzinfo=UTC) if cancelled else None,
    )  # fmt: skip
