"""The sandbox store: generated orders, query cost, admin endpoints, delivery order."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from decimal import Decimal
from typing import Any

import httpx

from tradewire.connectors.shopify.mapping import order_to_canonical
from tradewire.connectors.shopify.sandbox import create_sandbox
from tradewire.connectors.shopify.sandbox_graphql import build_sandbox_schema, run_graphql
from tradewire.connectors.shopify.sandbox_shop import SandboxOptions

SECRET, TOKEN = "s", "shpat_t"


def sandbox(**kwargs: Any) -> Any:
    return create_sandbox(client_secret=SECRET, access_token=TOKEN, seed=8, **kwargs)


def test_generated_orders_are_varied_and_add_up() -> None:
    orders = sandbox().state.shop.create_orders(200)
    mapped = [order_to_canonical(o, client_id="c", connection_id="k") for o in orders]
    for order, canonical in zip(orders, mapped, strict=True):
        tax = Decimal(0) if order["taxes_included"] else Decimal(order["total_tax"])
        shipping = sum(Decimal(s["discounted_price"]) for s in order["shipping_lines"])
        assert Decimal(order["total_price"]) == Decimal(order["subtotal_price"]) + shipping + tax
        assert canonical.total == Decimal(order["total_price"])
        assert order["id"] > 2**53
    guests = [o for o in orders if o["customer"] is None]
    customers = Counter(o["customer"]["id"] for o in orders if o["customer"])
    assert 10 <= len(guests) <= 60
    assert max(customers.values()) >= 3, "customers come back"
    assert any(c.discount_total for c in mapped)
    assert any(c.taxes_included for c in mapped)
    assert any(c.shipping_total == 0 for c in mapped)
    assert any(c.shipping_total > 0 for c in mapped)
    assert len({o["name"] for o in orders}) == 200


def test_query_cost_follows_the_documented_rules_and_refunds_unused_points() -> None:
    shop = sandbox().state.shop
    shop.create_orders(3)
    schema = build_sandbox_schema()
    flat = run_graphql(shop, schema, {"query": "{ orders(first: 10) { edges { node { id } } } }"})
    assert flat["extensions"]["cost"]["requestedQueryCost"] == 12
    assert flat["extensions"]["cost"]["actualQueryCost"] == 5
    nested = "{ orders(first: 10) { nodes { id lineItems(first: 5) { nodes { id } } } } }"
    assert run_graphql(shop, schema, {"query": nested})["extensions"]["cost"]["requestedQueryCost"] == 82
    shop.bucket.set_available(5)
    throttled = run_graphql(shop, schema, {"query": "{ orders(first: 10) { nodes { id } } }"})
    assert throttled["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert throttled["extensions"]["cost"]["actualQueryCost"] is None
    assert throttled["extensions"]["cost"]["throttleStatus"]["maximumAvailable"] == 2000.0


def test_bad_queries_and_cursors_answer_graphql_errors() -> None:
    shop = sandbox().state.shop
    schema = build_sandbox_schema()
    assert "errors" in run_graphql(shop, schema, {"query": "{ orders(first: 1) { nodes { nope } } }"})
    assert "errors" in run_graphql(shop, schema, {"query": "{ orders { nodes { id } } }"})
    answer = run_graphql(shop, schema, {"query": '{ orders(first: 1, after: "garbage") { nodes { id } } }'})
    assert "Invalid cursor" in answer["errors"][0]["message"]


def test_admin_endpoints() -> None:
    app = sandbox()

    async def main() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sandbox.test") as http:
            created = await http.post("/_sandbox/orders", json={"count": 2})
            assert created.status_code == 201
            order_id = created.json()["orders"][0]["id"]
            assert (await http.get(f"/_sandbox/orders/{order_id}")).json()["order"]["id"] == order_id
            assert (await http.post(f"/_sandbox/orders/{order_id}/cancel", json={})).status_code == 200
            assert (await http.post(f"/_sandbox/orders/{order_id}/cancel", json={})).status_code == 409
            assert (await http.post("/_sandbox/orders/12/cancel", json={})).status_code == 404
            updated = await http.post(f"/_sandbox/orders/{order_id}/update", json={"tags": ["vip"], "note": "hi"})
            assert updated.json()["order"]["tags"] == "vip"
            assert (await http.post("/_sandbox/knobs", json={"fail_rate": 2})).status_code == 400
            knobs = await http.post("/_sandbox/knobs", json={"latency_ms": 5})
            assert knobs.json()["knobs"]["latency_ms"] == 5
            assert (
                await http.post("/_sandbox/webhooks", json={"topic": "nope", "address": "http://x"})
            ).status_code == 400
            bucket = await http.post("/_sandbox/bucket", json={"currentlyAvailable": 0})
            assert bucket.json()["throttleStatus"]["currentlyAvailable"] < 5

    asyncio.run(main())


def test_out_of_order_knob_lets_a_later_delivery_overtake() -> None:
    order_ids: list[int] = []

    def record(request: httpx.Request) -> httpx.Response:
        order_ids.append(json.loads(request.content)["id"])
        return httpx.Response(200)

    options = SandboxOptions(out_of_order_delay_seconds=0.2)
    app = sandbox(options=options, webhook_transport=httpx.MockTransport(record))
    shop = app.state.shop
    shop.subscribe("orders/create", "https://receiver.test/hooks")

    async def main() -> None:
        async with app.router.lifespan_context(app):
            shop.set_knobs(out_of_order_rate=1.0)
            first = shop.create_orders(1)[0]["id"]
            shop.set_knobs(out_of_order_rate=0.0)
            second = shop.create_orders(1)[0]["id"]
            while shop.sender.busy:
                await asyncio.sleep(0.01)
            assert order_ids == [second, first]

    asyncio.run(main())
