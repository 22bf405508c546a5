"""The GraphQL Admin client against the in-process sandbox: pages, costs and error classes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.shopify.client import (
    ORDER_LINES_QUERY,
    ORDER_LINES_QUERY_COST,
    ORDER_QUERY,
    ORDER_QUERY_COST,
    ORDERS_QUERY,
    ShopifyAdminClient,
    classify_graphql,
    orders_query_cost,
)
from tradewire.connectors.shopify.mapping import graphql_order_to_rest, order_to_canonical
from tradewire.connectors.shopify.sandbox import create_sandbox
from tradewire.connectors.shopify.sandbox_graphql import build_sandbox_schema, run_graphql
from tradewire.connectors.shopify.sandbox_shop import SandboxOptions
from tradewire.connectors.shopify.schemas import GraphQLResponse
from tradewire.connectors.shopify.settings import ShopifySecrets, ShopifySettings
from tradewire.errors import VendorAuthError, VendorRateLimited, VendorRejected, VendorRetryable

T = TypeVar("T")
SECRET, TOKEN = "sandbox-secret", "shpat_good"
FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "vendor"


class RecordingBudget:
    def __init__(self) -> None:
        self.acquired: list[tuple[str, float]] = []
        self.observed: list[tuple[str, float | None, float | None, float | None]] = []

    async def acquire(self, scope: str, cost: float = 1.0) -> None:
        self.acquired.append((scope, cost))

    def observe(self, scope: str, *, remaining: float | None, capacity: float | None, refill: float | None) -> None:
        self.observed.append((scope, remaining, capacity, refill))


def sandbox(**kwargs: Any) -> Any:
    return create_sandbox(client_secret=SECRET, access_token=TOKEN, seed=3, **kwargs)


def client_for(app: Any, *, token: str = TOKEN, budget: RecordingBudget | None = None) -> ShopifyAdminClient:
    settings = ShopifySettings(shop_domain="acme.myshopify.com", base_url="http://sandbox.test")
    secrets = ShopifySecrets(client_secret=SECRET, access_token=token)
    return ShopifyAdminClient(settings, secrets, budget=budget, transport=httpx.ASGITransport(app))


def run(app: Any, work: Callable[[ShopifyAdminClient], Awaitable[T]], **kwargs: Any) -> T:
    async def main() -> T:
        async with client_for(app, **kwargs) as client:
            return await work(client)

    return asyncio.run(main())


def test_pagination_reads_every_order_once_in_update_order() -> None:
    app = sandbox()
    created = [o["id"] for o in app.state.shop.create_orders(23)]

    async def read(client: ShopifyAdminClient) -> list[list[int]]:
        return [[int(o.legacy_resource_id) for o in page.orders] async for page in client.list_orders(page_size=5)]

    pages = run(app, read)
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    assert [i for p in pages for i in p] == created


def test_updated_at_min_filters_old_orders() -> None:
    app = sandbox()
    shop = app.state.shop
    old = shop.add_order(
        {"id": 77, "name": "#77", "created_at": "2020-01-01T00:00:00-05:00", "updated_at": "2020-01-02T00:00:00-05:00"}
    )
    fresh = shop.create_orders(3)

    async def read(client: ShopifyAdminClient) -> list[int]:
        since = datetime(2024, 1, 1, tzinfo=UTC)
        return [int(o.legacy_resource_id) async for page in client.list_orders(since, 2) for o in page.orders]

    ids = run(app, read)
    assert old["id"] not in ids
    assert ids == [o["id"] for o in fresh]


def test_get_order_follows_the_line_cursor_and_maps_like_the_webhook_body() -> None:
    app = sandbox()
    shop = app.state.shop
    rest = shop.create_orders(1)[0]
    lines = [
        {"id": 5000 + i, "sku": f"SKU-{i}", "title": f"Item {i}", "quantity": 1, "price": "2.00", "tax_lines": []}
        for i in range(120)
    ]
    big = dict(rest, id=4242, admin_graphql_api_id="gid://shopify/Order/4242", line_items=lines, shipping_lines=[])
    big.update(total_line_items_price="240.00", total_tax="0.00", total_price="240.00")
    shop.add_order(big)
    budget = RecordingBudget()

    async def fetch(client: ShopifyAdminClient) -> Any:
        return await client.get_order(4242), await client.get_order(rest["id"]), await client.get_order(1)

    whole, normal, missing = run(app, fetch, budget=budget)
    assert missing is None
    assert len(graphql_order_to_rest(whole.model_dump(by_alias=True))["line_items"]) == 120
    assert budget.acquired[:3] == [
        ("graphql", ORDER_QUERY_COST),
        ("graphql", ORDER_LINES_QUERY_COST),
        ("graphql", ORDER_LINES_QUERY_COST),
    ]
    polled = order_to_canonical(
        graphql_order_to_rest(normal.model_dump(by_alias=True)), client_id="c", connection_id="k"
    )
    pushed = order_to_canonical(rest, client_id="c", connection_id="k")
    assert polled == pushed
    assert budget.observed
    assert budget.observed[-1][2:] == (2000.0, 100.0)


def test_declared_costs_match_what_the_sandbox_charges() -> None:
    app = sandbox()
    shop = app.state.shop
    shop.create_orders(1)
    schema = build_sandbox_schema()
    gid = f"gid://shopify/Order/{next(iter(shop.orders))}"
    cases = [
        (ORDER_QUERY, {"id": gid}, ORDER_QUERY_COST),
        (ORDER_LINES_QUERY, {"id": gid, "after": None}, ORDER_LINES_QUERY_COST),
        (ORDERS_QUERY, {"first": 100, "after": None, "query": None}, orders_query_cost(100)),
    ]
    for query, variables, declared in cases:
        answer = run_graphql(shop, schema, {"query": query, "variables": variables})
        assert "errors" not in answer, answer
        assert answer["extensions"]["cost"]["requestedQueryCost"] == declared
        assert answer["extensions"]["cost"]["actualQueryCost"] < declared
    assert ORDER_QUERY_COST < 1000


def test_an_empty_bucket_is_a_rate_limit_with_the_time_to_refill() -> None:
    app = sandbox()
    shop = app.state.shop
    shop.create_orders(1)
    shop.bucket.set_available(100)
    budget = RecordingBudget()
    with pytest.raises(VendorRateLimited) as caught:
        run(app, lambda c: c.get_order(next(iter(shop.orders))), budget=budget)
    assert caught.value.retry_after is not None
    # 100 points left (plus what refilled in the moment before the call) against a 554-point query.
    assert (ORDER_QUERY_COST - 120) / 100 <= caught.value.retry_after <= (ORDER_QUERY_COST - 100) / 100
    assert budget.observed[-1][0] == "graphql"
    assert 100 <= (budget.observed[-1][1] or 0) < 120


def test_throttled_fixture_gives_retry_after_from_the_cost() -> None:
    body = GraphQLResponse.model_validate(
        json.loads((FIXTURES / "shopify_graphql_throttled_response_COMMUNITY.json").read_text())
    )
    with pytest.raises(VendorRateLimited) as caught:
        classify_graphql(body, operation="orders")
    assert caught.value.retry_after == pytest.approx((70 - 66) / 50)


def test_a_query_over_the_single_query_limit_is_permanent() -> None:
    app = sandbox(options=SandboxOptions(max_query_cost=100))
    with pytest.raises(VendorRejected, match="exceeds the single query max cost"):
        run(app, lambda c: c.get_order(1))


def test_wrong_token_is_an_auth_error() -> None:
    with pytest.raises(VendorAuthError) as caught:
        run(sandbox(), lambda c: c.get_order(1), token="shpat_wrong")
    assert caught.value.status == 401


@pytest.mark.parametrize(
    ("errors", "kind"),
    [
        ([{"message": "Access denied for orders field.", "extensions": {"code": "ACCESS_DENIED"}}], VendorAuthError),
        ([{"message": "Internal error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}], VendorRetryable),
        ([{"message": "Field 'nope' doesn't exist on type 'Order'"}], VendorRejected),
    ],
)
def test_errors_hidden_in_200_bodies_are_classified(errors: list[dict[str, Any]], kind: type[Exception]) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"errors": errors})

    settings = ShopifySettings(shop_domain="acme.myshopify.com")
    secrets = ShopifySecrets(client_secret=SECRET, access_token=TOKEN)

    async def main() -> None:
        async with ShopifyAdminClient(settings, secrets, transport=httpx.MockTransport(answer)) as client:
            await client.get_order(1)

    with pytest.raises(kind):
        asyncio.run(main())


def test_user_errors_are_rejections_with_shopifys_messages() -> None:
    app = sandbox()
    shop = app.state.shop
    order_id = shop.create_orders(1)[0]["id"]

    async def work(client: ShopifyAdminClient) -> None:
        created = await client.create_webhook_subscription("orders/create", "https://hooks.example.com/shopify")
        assert created.topic == "ORDERS_CREATE"
        with pytest.raises(VendorRejected, match="already been taken"):
            await client.create_webhook_subscription("ORDERS_CREATE", "https://hooks.example.com/shopify")
        with pytest.raises(VendorRejected, match="Address is invalid"):
            await client.create_webhook_subscription("orders/create", "ftp://nowhere")
        assert await client.cancel_order(order_id, reason="customer")
        with pytest.raises(VendorRejected, match="already been cancelled"):
            await client.cancel_order(order_id)
        with pytest.raises(VendorRejected, match="Order does not exist"):
            await client.cancel_order(999)

    run(app, work)
    assert shop.get_order(order_id)["cancelled_at"] is not None


def test_fault_knobs_become_retryable_errors() -> None:
    with pytest.raises(VendorRateLimited) as caught:
        run(sandbox(knobs=FaultKnobs(rate_limit_after=0, retry_after_seconds=3)), lambda c: c.get_order(1))
    assert caught.value.retry_after == 3.0
    with pytest.raises(VendorRetryable) as failed:
        run(sandbox(knobs=FaultKnobs(fail_rate=1.0)), lambda c: c.get_order(1))
    assert failed.value.status in (500, 503)
