"""The Walmart client against the in-process sandbox: auth, headers, limits, errors, orders, inventory, feeds."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tradewire.canonical import InventoryLevel
from tradewire.connectors.walmart.auth import WalmartAuth, replenish_seconds
from tradewire.connectors.walmart.mapping import inventory_feed, order_to_canonical
from tradewire.connectors.walmart.sandbox import create_sandbox
from tradewire.connectors.walmart.sandbox_store import SandboxOptions
from tradewire.connectors.walmart.schemas import Subscription
from tradewire.connectors.walmart.vendor_errors import describe_walmart_error
from tradewire.errors import NotFound, VendorAuthError, VendorRateLimited, VendorRejected, VendorRetryable

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "vendor"


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_token_is_fetched_once_and_cached(app: Any, make_client: Any) -> None:
    async def main() -> None:
        async with make_client(app) as client:
            app.state.walmart.create_orders(2)
            await asyncio.gather(*(client.orders_page() for _ in range(5)))
            assert client.tokens.fetches == 1

    run(main())
    assert app.state.walmart.token_requests == 1


def test_token_is_refreshed_before_it_expires(app: Any, make_client: Any, clock: Any) -> None:
    async def main() -> None:
        async with make_client(app, clock=clock) as client:
            await client.orders_page()
            clock.now += 900 - 119  # inside the 120 s refresh margin, still valid at Walmart
            await client.orders_page()
            assert client.tokens.fetches == 2

    run(main())


def test_expired_token_mid_run_is_refreshed_once(app: Any, make_client: Any) -> None:
    async def main() -> None:
        async with make_client(app) as client:
            await client.orders_page()
            app.state.walmart.expire_tokens()
            page = await client.orders_page()
            assert page.orders == []
            assert client.tokens.fetches == 2

    run(main())


def test_token_refused_after_refresh_is_an_auth_error(app: Any, make_client: Any) -> None:
    walmart = app.state.walmart

    async def main() -> None:
        async with make_client(app) as client:
            await client.orders_page()
            walmart.expire_tokens()
            walmart.client_secret = "rotated-in-seller-center"  # the refresh is refused too
            with pytest.raises(VendorAuthError) as caught:
                await client.orders_page()
            assert caught.value.status == 401
            assert "UNAUTHORIZED" in str(caught.value)
            assert client.tokens.fetches == 1

    run(main())


def test_bad_client_secret_is_an_auth_error_without_the_secret(app: Any, make_client: Any) -> None:
    async def main() -> None:
        async with make_client(app, secret="nope-very-secret") as client:
            with pytest.raises(VendorAuthError) as caught:
                await client.orders_page()
            assert "nope-very-secret" not in str(caught.value) + repr(caught.value.detail)
            assert "nope-very-secret" not in repr(client.tokens) + repr(client.settings)

    run(main())


def test_every_call_carries_walmart_headers(make_client: Any) -> None:
    seen: list[httpx.Headers] = []
    sandbox = create_sandbox(client_id="wm-client-id", client_secret="wm-client-secret", seed=1)

    class Spy(httpx.AsyncBaseTransport):
        inner = httpx.ASGITransport(sandbox)

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(request.headers)
            return await self.inner.handle_async_request(request)

    async def main() -> None:
        client = make_client(sandbox, transport=Spy(), channel_type="0f3e4dd4-0514-4346-b39d-af0e00ea066d")
        async with client:
            await client.orders_page()
            await client.orders_page()

    run(main())
    token_call, *calls = seen
    assert token_call["authorization"].startswith("Basic ")
    assert token_call["content-type"] == "application/x-www-form-urlencoded"
    for headers in calls:
        assert headers["wm_sec.access_token"].startswith("wm-")
        assert headers["wm_svc.name"] == "Walmart Marketplace"
        assert headers["accept"] == "application/json"
        assert headers["wm_consumer.channel.type"] == "0f3e4dd4-0514-4346-b39d-af0e00ea066d"
    ids = [h["wm_qos.correlation_id"] for h in seen]
    assert len(set(ids)) == len(ids)


def test_rate_headers_feed_the_budget_and_429_carries_the_replenish_time(
    app: Any, make_client: Any, budget: Any
) -> None:
    walmart = app.state.walmart

    async def main() -> None:
        async with make_client(app, budget=budget) as client:
            await client.orders_page()
            assert ("orders", 49.0) in budget.observed
            walmart.set_bucket("orders", 0)
            with pytest.raises(VendorRateLimited) as caught:
                await client.orders_page()
            assert caught.value.retry_after is not None
            assert 0.0 <= caught.value.retry_after <= 0.2  # 10 tokens/s: the next one within 0.1 s
            assert ("orders", 0.0) in budget.observed
            assert budget.acquired.count("orders") == 2

    run(main())


def test_replenish_time_spellings_and_units() -> None:
    assert replenish_seconds("1700000005000", now=1700000000.0) == pytest.approx(5.0)
    assert replenish_seconds("1700000003", now=1700000000.0) == pytest.approx(3.0)
    assert replenish_seconds("2.5") == 2.5
    assert replenish_seconds("soon") is None
    response = httpx.Response(
        429, headers={"X-Next-Replenishment-Time": "4"}, request=httpx.Request("GET", "http://x/v3/orders")
    )

    class Budget:
        def observe(self, *args: Any, **kwargs: Any) -> None: ...

    WalmartAuth(None, Budget()).observe(response.request, response)  # type: ignore[arg-type]
    assert response.headers["Retry-After"] == "4.000"


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_garbage_html_and_truncated_answers_are_retryable(make_client: Any, seed: int) -> None:
    sandbox = create_sandbox(
        client_id="wm-client-id", client_secret="wm-client-secret", seed=seed, options=SandboxOptions(garbage_rate=1.0)
    )

    async def main() -> None:
        async with make_client(sandbox) as client:
            with pytest.raises(VendorRetryable, match=r"HTML|not JSON"):
                await client.orders_page()

    run(main())


def test_walmart_error_body_is_described(app: Any, make_client: Any) -> None:
    async def main() -> None:
        async with make_client(app) as client:
            with pytest.raises(VendorRejected) as caught:
                await client.update_inventory("", 3)
            assert str(caught.value).endswith(
                "INVALID_REQUEST_PARAM sku: The value provided for 'sku' is invalid. [DATA/ERROR]"
            )

    run(main())
    fixture = httpx.Response(400, content=(FIXTURES / "walmart_error_response.json").read_bytes())
    assert (
        describe_walmart_error(fixture)
        == "INVALID_REQUEST_PARAM sku: The value provided for 'sku' is invalid. [DATA/ERROR]"
    )
    assert describe_walmart_error(httpx.Response(400, content=b"<html>")) is None


def test_order_lifecycle_acknowledge_ship_cancel_refund(app: Any, make_client: Any) -> None:
    walmart = app.state.walmart
    (order,) = walmart.create_orders(1, catalog=[("SKU-1", "Thing", "10.00"), ("SKU-2", "Other", "5.00")], lines=2)
    po = order["purchaseOrderId"]
    lines = {line["item"]["sku"]: line for line in order["orderLines"]["orderLine"]}

    def status(sku: str, value: str, **extra: Any) -> dict[str, Any]:
        line = lines[sku]
        quantity = line["orderLineQuantity"]["amount"]
        item = {"status": value, "statusQuantity": {"unitOfMeasurement": "EACH", "amount": quantity}, **extra}
        return {"lineNumber": line["lineNumber"], "orderLineStatuses": {"orderLineStatus": [item]}}

    tracking = {
        "shipDateTime": 1580821866000,
        "carrierName": {"carrier": "UPS"},
        "methodCode": "Standard",
        "trackingNumber": "1Z999",
    }

    async def main() -> None:
        async with make_client(app) as client:
            released = [o.purchase_order_id async for p in client.iter_order_pages(released=True) for o in p.orders]
            assert released == [po]
            acked = await client.acknowledge(po)
            assert {
                s.status for ln in acked.order_lines.order_line for s in ln.order_line_statuses.order_line_status
            } == {"Acknowledged"}
            again = await client.acknowledge(po)  # idempotent
            assert again.purchase_order_id == po
            assert [o async for p in client.iter_order_pages(released=True) for o in p.orders] == []
            skus = sorted(lines)
            shipped = await client.ship_lines(
                po,
                {"orderShipment": {"orderLines": {"orderLine": [status(skus[0], "Shipped", trackingInfo=tracking)]}}},
            )
            cancel = {
                "orderCancellation": {
                    "orderLines": {
                        "orderLine": [status(skus[1], "Cancelled", cancellationReason="SELLER_CANCEL_OUT_OF_STOCK")]
                    }
                }
            }
            cancelled = await client.cancel_lines(po, cancel)
            canonical = order_to_canonical(
                cancelled.model_dump(by_alias=True, mode="json"), client_id="c", connection_id="w"
            )
            assert canonical.fulfillment_status.value == "fulfilled"
            assert shipped.order_lines.order_line
            same = {"orderShipment": {"orderLines": {"orderLine": [status(skus[0], "Shipped", trackingInfo=tracking)]}}}
            resent = await client.ship_lines(po, same)  # a retry after a lost answer: already done
            assert resent.purchase_order_id == po
            other_box = dict(tracking, trackingNumber="1Z-OTHER")
            with pytest.raises(VendorRejected, match="only 0 open"):  # a second package for a shipped line
                await client.ship_lines(
                    po,
                    {
                        "orderShipment": {
                            "orderLines": {"orderLine": [status(skus[0], "Shipped", trackingInfo=other_box)]}
                        }
                    },
                )
            refund = copy.deepcopy(json.loads((FIXTURES / "walmart_refundOrderLines_request.json").read_text()))
            refund["orderRefund"]["purchaseOrderId"] = po
            refund["orderRefund"]["orderLines"]["orderLine"][0]["lineNumber"] = lines[skus[0]]["lineNumber"]
            refund["orderRefund"]["orderLines"]["orderLine"][0]["isFullRefund"] = True
            refunded = await client.refund_lines(po, refund)
            mapped = order_to_canonical(
                refunded.model_dump(by_alias=True, mode="json"), client_id="c", connection_id="w"
            )
            assert mapped.financial_status.value == "partially_refunded"

    run(main())


def test_fetch_order_and_not_found(app: Any, make_client: Any) -> None:
    (order,) = app.state.walmart.create_orders(1)

    async def main() -> None:
        async with make_client(app) as client:
            fetched = await client.fetch_order(order["purchaseOrderId"])
            canonical = order_to_canonical(fetched, client_id="c", connection_id="w")
            assert canonical.source.external_id == order["purchaseOrderId"]
            with pytest.raises(NotFound):
                await client.get_order("999")

    run(main())


def test_inventory_single_sku_and_feed(app: Any, make_client: Any, clock: Any) -> None:
    walmart = app.state.walmart
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.now += seconds

    async def main() -> None:
        async with make_client(app, clock=clock, feed_poll_seconds=0.1) as client:
            client._sleep = fake_sleep
            updated = await client.update_inventory("test1", 7)
            assert (updated.sku, updated.quantity.amount) == ("test1", 7)
            assert (await client.get_inventory("test1")).quantity.amount == 7
            feed = json.loads((FIXTURES / "walmart_bulkInventory_feed.json").read_text())
            feed["Inventory"].append({"sku": "broken", "quantity": {"unit": "EACH", "amount": -4}})
            feed_id = await client.submit_inventory_feed(feed)
            assert (await client.feed_status(feed_id)).feed_status == "INPROGRESS"
            status = await client.wait_for_feed(feed_id)
            assert status.feed_status == "PROCESSED"
            assert (status.items_received, status.items_succeeded, status.items_failed) == (3, 2, 1)
            failed = [i for i in status.item_details.item_ingestion_status if i.ingestion_status != "SUCCESS"]
            assert [i.sku for i in failed] == ["broken"]
            assert sleeps

    run(main())
    assert walmart.inventory == {"test1": 10, "894728": 20}


def test_oversized_feed_is_a_clear_permanent_error(make_client: Any) -> None:
    sandbox = create_sandbox(
        client_id="wm-client-id", client_secret="wm-client-secret", options=SandboxOptions(max_feed_bytes=200)
    )
    levels = [
        InventoryLevel(client_id="c", sku=f"SKU-{i}", available=i, as_of="2026-01-01T00:00:00Z") for i in range(20)
    ]

    async def main() -> None:
        async with make_client(sandbox) as client:
            with pytest.raises(VendorRejected, match="too large") as caught:
                await client.submit_inventory_feed(inventory_feed(levels))
            assert caught.value.status == 413

    run(main())


def test_subscription_management(app: Any, make_client: Any) -> None:
    async def main() -> None:
        async with make_client(app) as client:
            created = await client.create_subscription(
                Subscription(
                    event_type="PO_CREATED",
                    event_url="https://example.com/orders",
                    auth_details={"authMethod": "BASIC_AUTH", "userName": "u", "password": "p"},
                )
            )
            assert created.subscription_id
            listed = await client.list_subscriptions()
            assert [s.event_type for s in listed] == ["PO_CREATED"]
            assert created.subscription_id is not None
            changed = await client.update_subscription(created.subscription_id, {"status": "INACTIVE"})
            assert changed.status == "INACTIVE"
            await client.delete_subscription(created.subscription_id)
            with pytest.raises(VendorRejected):
                await client.create_subscription(Subscription(event_type="PO_CREATED", event_url="ftp://nope"))

    run(main())


def test_throttled_token_endpoint_is_retryable_with_the_replenish_wait(app: Any, make_client: Any) -> None:
    app.state.walmart.set_bucket("token", 0)

    async def main() -> None:
        async with make_client(app) as client:
            with pytest.raises(VendorRateLimited) as caught:
                await client.orders_page()
            assert caught.value.retry_after is not None
            assert caught.value.retry_after <= 1.0  # 1 token/s

    run(main())


def test_missing_scope_403_is_an_auth_error(make_client: Any) -> None:
    def deny(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v3/token":
            return httpx.Response(200, json={"access_token": "t", "token_type": "Bearer", "expires_in": 900})
        body = {"errors": [{"code": "FORBIDDEN.GMP_GATEWAY_API", "message": "Forbidden", "category": "REQUEST"}]}
        return httpx.Response(403, json=body)

    async def main() -> None:
        async with make_client(None, transport=httpx.MockTransport(deny)) as client:
            with pytest.raises(VendorAuthError, match=r"FORBIDDEN\.GMP_GATEWAY_API Forbidden"):
                await client.get_inventory("a")

    run(main())


def test_feed_status_polls_do_not_spend_the_hourly_feed_budget(app: Any, make_client: Any, budget: Any) -> None:
    async def main() -> None:
        async with make_client(app, budget=budget) as client:
            feed_id = await client.submit_inventory_feed({"InventoryHeader": {"version": "1.4"}, "Inventory": []})
            for _ in range(3):
                await client.feed_status(feed_id)
            assert budget.acquired.count("feeds") == 1
            assert budget.acquired.count("feed_status") == 3
            assert ("feeds", 29.0) in budget.observed

    run(main())


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("POST", "/v3/token", "token"),
        ("GET", "/v3/orders", "orders"),
        ("GET", "/v3/orders/released", "orders"),
        ("POST", "/v3/orders/1/acknowledge", "orders_update"),
        ("POST", "/v3/orders/1/shipping", "orders_update"),
        ("PUT", "/v3/inventory", "inventory"),
        ("POST", "/v3/feeds", "feeds"),
        ("GET", "/v3/feeds/F1", "feed_status"),
        ("PATCH", "/v3/webhooks/subscriptions/1", "webhooks"),
    ],
)
def test_every_call_has_a_declared_rate_limit(method: str, path: str, scope: str) -> None:
    from tradewire.connectors.walmart import SPEC
    from tradewire.connectors.walmart.auth import scope_for

    assert scope_for(method, path) == scope
    assert scope in {limit.scope for limit in SPEC.rate_limits}


def test_secrets_never_show_in_repr() -> None:
    from tradewire.connectors.walmart.settings import WalmartSecrets

    secrets = WalmartSecrets.model_validate(
        {"client_id": "cid-123", "client_secret": "csecret-456", "webhook_password": "pw-789"}
    )
    shown = repr(secrets) + str(secrets) + secrets.model_dump_json()
    for value in ("cid-123", "csecret-456", "pw-789"):
        assert value not in shown
