"""The ShipStation client against the in-process sandbox: orders, shipments, webhooks, errors, rate headers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from shipstation_helpers import BASE, CREDS, run, sample_order
from starlette.applications import Starlette

from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.shipstation.client import (
    ShipStationAuthError,
    ShipStationClient,
    ShipStationRateLimited,
    ShipStationRejected,
    ShipStationUnavailable,
    UntrustedResourceUrl,
)
from tradewire.connectors.shipstation.mapping import order_to_createorder
from tradewire.connectors.shipstation.sandbox_store import SandboxOptions
from tradewire.connectors.shipstation.settings import ShipStationSecrets, ShipStationSettings
from tradewire.errors import PermanentError, RetryableError

MakeApp = Callable[..., Starlette]
MakeClient = Callable[..., ShipStationClient]


class RecordingBudget:
    def __init__(self) -> None:
        self.acquired: list[str] = []
        self.observed: list[tuple[str, float | None, float | None, float | None]] = []

    async def acquire(self, scope: str, cost: float = 1.0) -> None:
        self.acquired.append(scope)

    def observe(self, scope: str, *, remaining: float | None, capacity: float | None, refill: float | None) -> None:
        self.observed.append((scope, remaining, capacity, refill))


def body(number: str = "#5001", key: str = "2b6f0c1e-9d8a-4f3b-a2c1-7e6d5c4b3a21") -> dict[str, Any]:
    return order_to_createorder(sample_order(number, key))


def test_upsert_by_order_key_creates_once_then_replaces(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app()
    client = make_client(app)

    async def go() -> tuple[Any, Any]:
        try:
            first = await client.upsert_order(body())
            changed = {**body(), "customerNotes": "leave at the door"}
            second = await client.upsert_order(changed)
            return first, second
        finally:
            await client.aclose()

    first, second = run(go())
    assert first.order_id == second.order_id
    assert second.customer_notes == "leave at the door"
    assert len(app.state.shipstation.orders) == 1
    assert [i.line_item_key for i in second.items] == ["a", "b", "tradewire-discount"]


def test_upsert_without_order_key_is_refused_before_sending(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app()
    client = make_client(app)
    no_key = {k: v for k, v in body().items() if k != "orderKey"}
    with pytest.raises(PermanentError, match="orderKey"):
        run(client.upsert_order(no_key))
    assert app.state.shipstation.stats["requests"] == 0


def test_a_shipped_order_can_no_longer_be_updated(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app()
    client = make_client(app)

    async def go() -> None:
        try:
            await client.upsert_order(body())
            app.state.shipstation.ship_order(body()["orderKey"], notify=False)
            await client.upsert_order(body())
        finally:
            await client.aclose()

    with pytest.raises(ShipStationRejected) as caught:
        run(go())
    assert not isinstance(caught.value, RetryableError)
    assert "shipped and can no longer be updated" in caught.value.message


def test_bulk_createorders_reports_failures_hidden_in_a_200(make_app: MakeApp, make_client: MakeClient) -> None:
    client = make_client(make_app())
    broken = {**body("#2", "5b0f3c64-0d38-4b8e-9a55-7d5c2b1f7e11"), "orderStatus": "lost"}
    result = run(client.create_orders([body(), broken]))
    assert result.has_errors
    assert [r.success for r in result.results] == [True, False]
    assert "orderStatus" in (result.results[1].error_message or "")


def test_orders_and_shipments_page_to_the_end(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app()
    client = make_client(app, page_size=2)
    keys = [f"5b0f3c64-0d38-4b8e-9a55-7d5c2b1f7e{n:02d}" for n in range(5)]

    async def go() -> tuple[list[str], list[int]]:
        try:
            for n, key in enumerate(keys):
                await client.upsert_order(body(f"#{n}", key))
                app.state.shipstation.ship_order(key, [[("a", 1)], [("a", 2), ("b", 1)]], notify=False)
            orders = [o.order_key or "" async for o in client.list_orders()]
            shipments = [s.shipment_id async for s in client.list_shipments(sort_by="CreateDate")]
            return orders, shipments
        finally:
            await client.aclose()

    orders, shipments = run(go())
    assert sorted(orders) == sorted(keys)
    assert len(shipments) == len(set(shipments)) == 10


def test_ship_notify_resource_is_fetched_with_basic_auth(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app()
    client = make_client(app)

    async def go() -> list[Any]:
        try:
            await client.upsert_order(body())
            made = app.state.shipstation.ship_order(body()["orderKey"], [[("a", 3)], [("b", 1)]], notify=False)
            url = f"{BASE}/shipments?batchId={made[0]['batchNumber']}&includeShipmentItems=False&page=3"
            return await client.fetch_ship_notify(url)
        finally:
            await client.aclose()

    shipments = run(go())
    assert [[(i.sku, i.quantity) for i in s.shipment_items or []] for s in shipments] == [
        [("TSHIRT-BLK-M", 3)],
        [("SOCKS-3PK", 1)],
    ]


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/shipments?batchId=1",
        "http://ssapi.shipstation.com/shipments?batchId=1",
        "https://ssapi.shipstation.com:8443/shipments?batchId=1",
        "https://ssapi.shipstation.com.evil.example/shipments",
        "https://user:pw@ssapi.shipstation.com/shipments",
        "https://ssapi.shipstation.com/accounts/listtags",
        "//evil.example.com/shipments",
        "file:///etc/passwd",
        "https://ssapi.shipstation.com\\@evil.example.com/shipments",
        "https://ssapi.shipstation.com:443@evil.example.com/shipments",
        "https://evil.example.com#@ssapi.shipstation.com/shipments",
        "https://ssapi.shipstation.com\t/shipments",
        "https://ssapi.shipstation.com /shipments",
        "https://ssapi.shipstation.com/shipments/../accounts/listtags",
        "https://ssapi.shipstation.com%40evil.example.com/shipments",
    ],
)
def test_resource_urls_off_the_api_host_are_refused_before_any_request(
    url: str, make_app: MakeApp, make_client: MakeClient
) -> None:
    app = make_app()
    client = make_client(app)
    with pytest.raises(UntrustedResourceUrl):
        run(client.fetch_ship_notify(url))
    assert app.state.shipstation.stats["requests"] == 0


def test_an_extra_trusted_origin_is_accepted(make_app: MakeApp, make_client: MakeClient) -> None:
    client = make_client(make_app(), resource_origins=("https://ssapi6.shipstation.com",))
    assert client.check_resource_url("https://ssapi6.shipstation.com/shipments?batchId=9")


def test_mark_as_shipped_and_void_label(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app()
    client = make_client(app)

    async def go() -> tuple[dict[str, Any], dict[str, Any]]:
        try:
            order = await client.upsert_order(body())
            assert order.order_id is not None
            marked = await client.mark_as_shipped(
                order.order_id, carrier_code="ups", ship_date=date(2026, 5, 5), tracking_number="1Z999"
            )
            await client.upsert_order(body("#2", "5b0f3c64-0d38-4b8e-9a55-7d5c2b1f7e11"))
            made = app.state.shipstation.ship_order("5b0f3c64-0d38-4b8e-9a55-7d5c2b1f7e11", notify=False)
            voided = await client.void_label(made[0]["shipmentId"])
            return marked, voided
        finally:
            await client.aclose()

    marked, voided = run(go())
    assert marked["orderNumber"] == "#5001"
    assert voided["approved"] is True
    assert app.state.shipstation.find_order(body()["orderKey"])["orderStatus"] == "shipped"
    assert next(iter(app.state.shipstation.shipments.values()))["voided"] is True


def test_webhooks_subscribe_list_delete(make_app: MakeApp, make_client: MakeClient) -> None:
    client = make_client(make_app(), store_id=77)

    async def go() -> tuple[list[Any], list[Any]]:
        try:
            hook = await client.subscribe_webhook(f"https://tw.example.com/webhooks/ss?token={CREDS['webhook_token']}")
            listed = await client.list_webhooks()
            await client.delete_webhook(hook)
            return listed, await client.list_webhooks()
        finally:
            await client.aclose()

    listed, after = run(go())
    assert [(h.HookType, h.StoreID) for h in listed] == [("SHIP_NOTIFY", 77)]
    assert after == []
    with pytest.raises(PermanentError, match="no webhook event"):
        run(make_client(make_app()).subscribe_webhook("https://x.example.com/", event="SHIP_NOTIFIED"))


def test_rate_headers_feed_the_budget_and_429_waits_for_the_reset(make_app: MakeApp) -> None:
    app = make_app(options=SandboxOptions(requests_per_minute=3))
    budget = RecordingBudget()
    client = ShipStationClient(
        ShipStationSettings(base_url=BASE),
        ShipStationSecrets.model_validate(CREDS),
        budget=budget,
        transport=httpx.ASGITransport(app=app),
    )

    async def go() -> None:
        try:
            for _ in range(4):
                await client.orders_page()
        finally:
            await client.aclose()

    with pytest.raises(ShipStationRateLimited) as caught:
        run(go())
    assert budget.acquired == ["api"] * 4
    assert [o[1] for o in budget.observed] == [2, 1, 0, 0]
    assert budget.observed[0][2:] == (3, 3 / 60)
    assert caught.value.retry_after is not None
    assert 1 <= caught.value.retry_after <= 60
    assert caught.value.status == 429


def test_bad_credentials_are_an_auth_error(make_app: MakeApp, make_client: MakeClient) -> None:
    client = make_client(make_app(), secrets={"api_secret": "Nope"})
    with pytest.raises(ShipStationAuthError) as caught:
        run(client.orders_page())
    assert "Authorization has been denied" in caught.value.message
    assert "Nope" not in caught.value.message
    assert "Nope" not in repr(client)


def test_dotnet_error_bodies_are_described(make_app: MakeApp, make_client: MakeClient) -> None:
    client = make_client(make_app())
    with pytest.raises(ShipStationRejected) as caught:
        run(client.upsert_order({**body(), "orderStatus": "lost"}))
    assert "The request is invalid. — orderStatus must be one of" in caught.value.message


def test_html_and_garbage_bodies_are_retryable(make_app: MakeApp, make_client: MakeClient) -> None:
    client = make_client(make_app(options=SandboxOptions(garbage_rate=1.0)))
    with pytest.raises(ShipStationUnavailable, match="HTML"):
        run(client.orders_page())

    def truncated(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b'{"orders": [{"orderId": 1, "orderNu')

    broken = ShipStationClient(
        ShipStationSettings(base_url=BASE),
        ShipStationSecrets.model_validate(CREDS),
        transport=httpx.MockTransport(truncated),
    )
    with pytest.raises(ShipStationUnavailable, match="not JSON"):
        run(broken.orders_page())


def test_a_wrong_shape_is_retryable_not_a_crash(make_client: MakeClient) -> None:
    def odd(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"shipments": [{"shipmentId": "not-a-number"}], "pages": 1})

    client = ShipStationClient(
        ShipStationSettings(base_url=BASE), ShipStationSecrets.model_validate(CREDS), transport=httpx.MockTransport(odd)
    )
    with pytest.raises(ShipStationUnavailable, match="unexpected shape"):
        run(client.shipments_page())


def test_5xx_and_timeouts_are_retryable(make_app: MakeApp, make_client: MakeClient) -> None:
    with pytest.raises(ShipStationUnavailable) as caught:
        run(make_client(make_app(FaultKnobs(fail_rate=1.0))).orders_page())
    assert caught.value.status == 500
    assert "Object reference not set" in caught.value.message
    slow = make_client(make_app(FaultKnobs(timeout_rate=1.0, timeout_seconds=0.5)), timeout_seconds=0.05)
    with pytest.raises(RetryableError):
        run(slow.orders_page())


def test_shipment_date_filters_are_sent_in_pacific_time(make_app: MakeApp) -> None:
    seen: list[httpx.URL] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"shipments": [], "total": 0, "page": 1, "pages": 0})

    client = ShipStationClient(
        ShipStationSettings(base_url=BASE),
        ShipStationSecrets.model_validate(CREDS),
        transport=httpx.MockTransport(record),
    )
    start = datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    run(client.shipments_page(create_date_start=start, create_date_end=start + timedelta(hours=1)))
    assert seen[0].params["createDateStart"] == "2026-07-01T00:00:00.0000000"
    assert seen[0].params["createDateEnd"] == "2026-07-01T01:00:00.0000000"
    assert seen[0].params["includeShipmentItems"] == "true"
    assert "Authorization" not in str(seen[0])


def test_credentials_revoked_mid_run_are_an_auth_error_at_once(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app()
    client = make_client(app)

    async def go() -> None:
        try:
            await client.orders_page()
            app.state.shipstation.api_secret = "rotated-by-the-merchant"
            await client.orders_page()
        finally:
            await client.aclose()

    with pytest.raises(ShipStationAuthError) as caught:
        run(go())
    assert caught.value.status == 401
    # Basic auth has no token to refresh: one 401 is final, and no second request was made.
    assert app.state.shipstation.stats["auth_failures"] == 1


def test_html_error_pages_are_classified_by_status_and_quoted_briefly() -> None:
    page = b"<html><body><h1>503 Service Temporarily Unavailable</h1>" + b"x" * 2000 + b"</body></html>"

    def answer(request: httpx.Request) -> httpx.Response:
        status = 503 if request.url.path == "/orders" else 400
        return httpx.Response(status, content=page, headers={"Content-Type": "text/html"})

    client = ShipStationClient(
        ShipStationSettings(base_url=BASE),
        ShipStationSecrets.model_validate(CREDS),
        transport=httpx.MockTransport(answer),
    )
    with pytest.raises(ShipStationUnavailable) as down:
        run(client.orders_page())
    assert down.value.status == 503
    with pytest.raises(ShipStationRejected) as refused:
        run(client.get_order(5))
    assert "503 Service Temporarily Unavailable" in refused.value.message
    assert len(refused.value.message) < 700


def test_secrets_never_show_in_reprs_or_dumps() -> None:
    creds = {"api_key": "key-4f1c9a", "api_secret": "secret-7d2e0b", "webhook_token": "token-" + "9" * 30}
    secrets = ShipStationSecrets.model_validate(creds)
    client = ShipStationClient(ShipStationSettings(), secrets)
    for text in (repr(secrets), str(secrets), secrets.model_dump_json(), repr(client)):
        for value in creds.values():
            assert value not in text


def test_settings_refuse_what_cannot_work() -> None:
    for bad in ({"base_url": "ftp://x"}, {"currency": "XYZ"}, {"resource_origins": ["not a url"]}, {"page_size": 501}):
        with pytest.raises(ValueError):
            ShipStationSettings.model_validate(bad)
    with pytest.raises(ValueError):
        ShipStationSecrets.model_validate({**CREDS, "webhook_token": "short"})
