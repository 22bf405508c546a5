"""The SP-API client against the in-process sandbox: tokens, PII, pagination, writes, errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tradewire.connectors.amazon import SPEC
from tradewire.connectors.amazon.client import AmazonClient
from tradewire.connectors.amazon.mapping_outbound import inventory_feed, inventory_to_listings_patch
from tradewire.connectors.amazon.reader import AmazonOrderReader
from tradewire.connectors.amazon.sandbox_store import SandboxOptions
from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.base.spec import Connection
from tradewire.errors import NotFound, VendorAuthError, VendorRateLimited, VendorRejected, VendorRetryable

MakeApp = Callable[..., Starlette]
MakeClient = Callable[..., AmazonClient]
DAY_AGO = datetime.now(UTC) - timedelta(days=1)


class RecordingBudget:
    """A rate budget that records what the client asked for and what it observed."""

    def __init__(self) -> None:
        self.acquired: list[str] = []
        self.observed: list[tuple[str, float | None]] = []

    async def acquire(self, scope: str, cost: float = 1.0) -> None:
        self.acquired.append(scope)

    def observe(self, scope: str, *, remaining: float | None, capacity: float | None, refill: float | None) -> None:
        self.observed.append((scope, refill))


async def read_all(client: AmazonClient) -> list[dict[str, Any]]:
    return [
        o
        async for page in client.iter_orders(last_updated_after=DAY_AGO, last_updated_before=None)
        for o in page.orders
    ]


async def test_lwa_token_is_fetched_once_and_reused(make_app: MakeApp, make_client: MakeClient, clock: Any) -> None:
    app = make_app()
    ids = app.state.amazon.create_orders(3)
    clock.advance(300)
    client = make_client(app)
    try:
        for order_id in ids:
            await client.get_order(order_id)
        assert client.tokens.fetches == 1
    finally:
        await client.aclose()


async def test_expired_token_mid_run_is_refreshed_once(make_app: MakeApp, make_client: MakeClient, clock: Any) -> None:
    app = make_app()
    [order_id] = app.state.amazon.create_orders(1)
    client = make_client(app)
    try:
        await client.get_order(order_id)
        clock.advance(3700)  # the sandbox now sees the token as expired; the client's cache does not know
        await client.get_order(order_id)
        assert client.tokens.fetches == 2
        app.state.amazon.revoke_tokens()
        await client.get_order(order_id)
        assert client.tokens.fetches == 3
    finally:
        await client.aclose()


async def test_refusal_after_refresh_is_an_auth_error(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app()
    client = make_client(app, seller_id="SOMEONE-ELSE")
    try:
        with pytest.raises(VendorAuthError):
            await client.patch_listings_item("SOCKS-3PK", {"productType": "PRODUCT", "patches": []})
        assert client.tokens.fetches == 2  # one refresh, then give up
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("secrets", "reason"),
    [({"refresh_token": "Atzr|revoked"}, "invalid_grant"), ({"client_secret": "wrong"}, "invalid_client")],
)
async def test_bad_lwa_credentials_are_an_auth_error_without_secrets(
    make_app: MakeApp, make_client: MakeClient, secrets: dict[str, str], reason: str
) -> None:
    client = make_client(make_app(), secrets=secrets)
    try:
        with pytest.raises(VendorAuthError, match=reason) as caught:
            await client.get_order("111-0000000-0000000")
        text = f"{caught.value} {caught.value.detail}"
        assert "revoked" not in text
        assert "wrong" not in text
        assert "lwa-secret" not in text
    finally:
        await client.aclose()


def test_secrets_never_show_in_repr(make_settings: Any) -> None:
    from tradewire.connectors.amazon.settings import AmazonSecrets

    secrets = AmazonSecrets(client_id="id-1", client_secret="cs-1", refresh_token="Atzr|rt-1", relay_secret="rs-1")
    text = repr(secrets) + str(secrets.model_dump())
    for value in ("cs-1", "Atzr|rt-1", "rs-1"):
        assert value not in text


async def test_pii_is_left_out_without_an_rdt(make_app: MakeApp, make_client: MakeClient, clock: Any) -> None:
    app = make_app()
    [order_id] = app.state.amazon.create_orders(1)
    clock.advance(300)
    client = make_client(app)
    try:
        order = await client.get_order(order_id)
        assert "BuyerInfo" not in order
        assert set(order["ShippingAddress"]) == {"City", "StateOrRegion", "PostalCode", "CountryCode"}
        [listed] = await read_all(client)
        assert "BuyerInfo" not in listed
    finally:
        await client.aclose()


async def test_pii_is_read_with_a_cached_rdt(make_app: MakeApp, make_client: MakeClient, clock: Any) -> None:
    app = make_app()
    ids = app.state.amazon.create_orders(2)
    clock.advance(300)
    budget = RecordingBudget()
    client = make_client(app, request_pii=True, budget=budget)
    try:
        whole = await client.fetch_order(ids[0])
        assert whole["BuyerInfo"]["BuyerEmail"].endswith("@marketplace.amazon.com")
        assert whole["ShippingAddress"]["AddressLine1"]
        [listed, _] = await read_all(client)
        assert "BuyerInfo" in listed
        await client.fetch_order(ids[1])
        assert client.restricted_tokens.fetches == 1
        assert budget.acquired.count("createRestrictedDataToken") == 1
        order = SPEC.order_source.to_order(whole, client_id="c", connection_id="x")  # type: ignore[union-attr]
        assert order.customer.email == whole["BuyerInfo"]["BuyerEmail"]
    finally:
        await client.aclose()


async def test_every_call_acquires_its_operation_scope_and_observes_the_rate(
    make_app: MakeApp, make_client: MakeClient, clock: Any
) -> None:
    app = make_app()
    [order_id] = app.state.amazon.create_orders(1)
    clock.advance(300)
    budget = RecordingBudget()
    client = make_client(app, budget=budget)
    try:
        await client.fetch_order(order_id)
        await read_all(client)
    finally:
        await client.aclose()
    assert budget.acquired == ["getOrder", "getOrderItems", "getOrders"]
    assert ("getOrder", 0.5) in budget.observed
    assert ("getOrders", 0.0167) in budget.observed
    assert {limit.scope for limit in SPEC.rate_limits} >= {
        "getOrders",
        "confirmShipment",
        "patchListingsItem",
        "createFeed",
    }


async def test_orders_and_items_are_read_page_by_page(make_app: MakeApp, make_client: MakeClient, clock: Any) -> None:
    app = make_app(options=SandboxOptions(order_items_page_size=1))
    ids = app.state.amazon.create_orders(7, lines=3)
    clock.advance(300)
    client = make_client(app, page_size=3)
    try:
        pages = [page async for page in client.iter_orders(last_updated_after=DAY_AGO, last_updated_before=None)]
        assert [len(page.orders) for page in pages] == [3, 3, 1]
        assert [o["AmazonOrderId"] for page in pages for o in page.orders] == ids
        items = await client.get_order_items(ids[0])
        assert len(items) == 3
        assert len({i["OrderItemId"] for i in items}) == 3
        whole = await AmazonOrderReader(client).fetch_order(ids[0])
        order = SPEC.order_source.to_order(whole, client_id="c", connection_id="x")  # type: ignore[union-attr]
        assert len(order.lines) == 3
        assert str(order.total) == whole["OrderTotal"]["Amount"]
    finally:
        await client.aclose()


async def test_unknown_order_is_not_found(make_app: MakeApp, make_client: MakeClient) -> None:
    client = make_client(make_app())
    try:
        with pytest.raises(NotFound):
            await client.fetch_order("999-9999999-9999999")
    finally:
        await client.aclose()


async def test_order_reader_from_spec_reads_a_whole_order(make_app: MakeApp, clock: Any) -> None:
    app = make_app()
    [order_id] = app.state.amazon.create_orders(1)
    settings = {
        "seller_id": "A3TH9S8BH6GOGM",
        "base_url": "http://sandbox.test",
        "token_url": "http://sandbox.test/auth/o2/token",
    }
    secrets = {
        "client_id": "amzn1.application-oa2-client.test",
        "client_secret": "lwa-secret",
        "refresh_token": "Atzr|refresh",
    }
    connection = Connection(id="c1", client_id="k1", system="amazon", settings=settings, secrets=secrets)
    assert SPEC.order_reader is not None
    reader = SPEC.order_reader(connection, RecordingBudget(), httpx.ASGITransport(app=app))
    try:
        whole = await reader.fetch_order(order_id)
    finally:
        await reader.aclose()
    assert whole["AmazonOrderId"] == order_id
    assert whole["OrderItems"]


async def test_confirm_shipment_ships_and_a_repeat_is_a_no_op(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app()
    [order_id] = app.state.amazon.create_orders(1, lines=2)
    items = app.state.amazon.get_items(order_id)
    client = make_client(app)

    def body(reference: str, item: dict[str, Any], quantity: int) -> dict[str, Any]:
        lines = [{"orderItemId": item["OrderItemId"], "quantity": quantity}]
        return {"marketplaceId": "ATVPDKIKX0DER", "packageDetail": {"packageReferenceId": reference, "carrierCode": "UPS",
                "trackingNumber": "1Z", "shipDate": "2026-11-23T10:00:00.000Z", "orderItems": lines}}  # fmt: skip

    try:
        first = body("1", items[0], items[0]["QuantityOrdered"])
        await client.confirm_shipment(order_id, first)
        assert app.state.amazon.get_order(order_id)["OrderStatus"] == "PartiallyShipped"
        await client.confirm_shipment(order_id, first)  # a retry of the same package
        assert app.state.amazon.get_items(order_id)[0]["QuantityShipped"] == items[0]["QuantityOrdered"]
        with pytest.raises(VendorRejected, match="already fulfilled"):
            await client.confirm_shipment(order_id, body("2", items[0], 1))
        await client.confirm_shipment(order_id, body("3", items[1], items[1]["QuantityOrdered"]))
        order = app.state.amazon.get_order(order_id)
        assert order["OrderStatus"] == "Shipped"
        assert order["NumberOfItemsUnshipped"] == 0
        with pytest.raises(VendorRejected, match=r"packageDetail\.packageReferenceId"):
            await client.confirm_shipment(order_id, body("A-1", items[1], 1))
    finally:
        await client.aclose()


async def test_listings_patch_sets_the_quantity_and_invalid_is_raised(
    make_app: MakeApp, make_client: MakeClient
) -> None:
    from tradewire.canonical import InventoryLevel

    app = make_app()
    client = make_client(app)
    level = InventoryLevel(client_id="c", sku="CAP-NAVY", available=42, as_of=datetime.now(UTC))
    try:
        submission = await client.patch_listings_item("CAP-NAVY", inventory_to_listings_patch(level))
        assert submission.status == "ACCEPTED"
        assert submission.submission_id
        assert app.state.amazon.listing_quantity("CAP-NAVY") == 42
        listed = await client.get_listings_item("CAP-NAVY")
        assert listed["fulfillmentAvailability"] == [{"fulfillmentChannelCode": "DEFAULT", "quantity": 42}]
        bad = {
            "productType": "PRODUCT",
            "patches": [{"op": "replace", "path": "/attributes/fake_attribute", "value": [1]}],
        }
        with pytest.raises(VendorRejected, match="The attributes are invalid") as caught:
            await client.patch_listings_item("CAP-NAVY", bad)
        assert caught.value.detail["issues"]
    finally:
        await client.aclose()


async def test_listings_feed_runs_to_a_processing_report(make_app: MakeApp, make_client: MakeClient) -> None:
    from tradewire.canonical import InventoryLevel

    app = make_app(options=SandboxOptions(feed_polls_to_finish=3))
    client = make_client(app)
    now = datetime.now(UTC)
    levels = [
        InventoryLevel(client_id="c", sku=sku, available=n, as_of=now)
        for n, sku in enumerate(["SOCKS-3PK", "GHOST", "CAP-NAVY"])
    ]
    try:
        result = await client.submit_listings_feed(inventory_feed(levels, seller_id="A3TH9S8BH6GOGM"))
    finally:
        await client.aclose()
    assert result.processing_status == "DONE"
    assert result.report is not None
    assert result.report.summary.messages_processed == 3
    assert result.report.summary.messages_accepted == 2
    assert list(result.report.errors_by_message()) == [2]
    assert app.state.amazon.listing_quantity("CAP-NAVY") == 2


async def test_fixture_processing_report_is_read(load: Callable[[str], Any]) -> None:
    from tradewire.connectors.amazon.schemas import ProcessingReport

    report = ProcessingReport.model_validate(load("amazon_json_listings_feed_processing_report.json"))
    assert report.summary.messages_invalid == 2
    assert {k: len(v) for k, v in report.errors_by_message().items()} == {4: 2, 5: 1}


async def test_empty_bucket_is_429_quota_exceeded_with_the_operation_pace(
    make_app: MakeApp, make_client: MakeClient
) -> None:
    app = make_app(options=SandboxOptions(limits={"getOrder": (0.5, 2)}))
    [order_id] = app.state.amazon.create_orders(1)
    client = make_client(app)
    try:
        await client.get_order(order_id)
        await client.get_order(order_id)
        with pytest.raises(VendorRateLimited) as caught:
            await client.get_order(order_id)
    finally:
        await client.aclose()
    assert caught.value.status == 429
    assert "QuotaExceeded" in str(caught.value.detail.get("reason"))
    assert caught.value.retry_after == pytest.approx(2.0)  # no Retry-After from Amazon: 1 / 0.5 rps


async def test_html_and_truncated_bodies_are_retryable(make_app: MakeApp, make_client: MakeClient) -> None:
    app = make_app(options=SandboxOptions(garbage_rate=1.0))
    [order_id] = app.state.amazon.create_orders(1)
    client = make_client(app)
    try:
        with pytest.raises(VendorRetryable, match="HTML"):
            await client.get_order(order_id)
    finally:
        await client.aclose()

    def truncated(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "Atza|x", "expires_in": 3600})
        return httpx.Response(
            200, content=b'{"payload": {"AmazonOrderId": "1', headers={"content-type": "application/json"}
        )

    from tradewire.connectors.amazon.settings import AmazonSecrets

    mocked = AmazonClient(client.settings, AmazonSecrets(client_id="a", client_secret="b", refresh_token="c"),
                          transport=httpx.MockTransport(truncated))  # fmt: skip
    try:
        with pytest.raises(VendorRetryable, match="not JSON"):
            await mocked.get_order("1")
    finally:
        await mocked.aclose()


async def test_fault_knobs_5xx_and_429(make_app: MakeApp, make_client: MakeClient) -> None:
    client = make_client(make_app(FaultKnobs(fail_rate=1.0, seed=1)))
    try:
        with pytest.raises(VendorRetryable):
            await client.get_order("111-0000000-0000000")
    finally:
        await client.aclose()
    client = make_client(make_app(FaultKnobs(rate_limit_after=0, retry_after_seconds=5)))
    try:
        with pytest.raises(VendorRateLimited) as caught:
            await client.get_order("111-0000000-0000000")
        assert caught.value.retry_after == 5
    finally:
        await client.aclose()


async def test_sp_api_error_body_becomes_the_reason(make_app: MakeApp, make_client: MakeClient, clock: Any) -> None:
    client = make_client(make_app())
    try:
        with pytest.raises(VendorRejected, match="InvalidInput: Invalid Input") as caught:
            await client.get_orders_page(
                last_updated_after=DAY_AGO, last_updated_before=datetime.now(UTC), next_token=None
            )
        assert "two minutes" in str(caught.value)
    finally:
        await client.aclose()


async def test_ship_resolves_order_items_by_sku_and_is_idempotent(make_app: MakeApp, make_client: MakeClient) -> None:
    from tradewire.canonical import ExternalRef, Shipment, ShipmentLine
    from tradewire.errors import MappingError

    app = make_app()
    [order_id] = app.state.amazon.create_orders(1, lines=2)
    items = app.state.amazon.get_items(order_id)
    lines = [ShipmentLine(sku=item["SellerSKU"], quantity=item["QuantityOrdered"]) for item in items]
    package = Shipment(id="5d9e7c1a-0b2f-4e3d-8c6b-7a5f4e3d2c1b", client_id="c", order_number=order_id,
                       source=ExternalRef(system="wms", connection_id="w", object="shipment", external_id="P1"),
                       shipped_at=datetime.now(UTC), carrier="USPS", tracking_number="9400", lines=lines)  # fmt: skip
    client = make_client(app)
    try:
        reference = await client.ship(package)
        assert await client.ship(package) == reference  # a retried run confirms the same package again: no-op
        stranger = package.model_copy(update={"lines": [ShipmentLine(sku="NOT-ON-ORDER", quantity=1)]})
        with pytest.raises(MappingError, match="NOT-ON-ORDER"):
            await client.ship(stranger)
    finally:
        await client.aclose()
    order = app.state.amazon.get_order(order_id)
    assert order["OrderStatus"] == "Shipped"
    assert app.state.amazon.packages[(order_id, reference)]["carrierCode"] == "USPS"


async def test_set_quantity_and_publish_quantities(make_app: MakeApp, make_client: MakeClient) -> None:
    from tradewire.canonical import InventoryLevel

    app = make_app()
    client = make_client(app)
    now = datetime.now(UTC)
    try:
        await client.set_quantity(InventoryLevel(client_id="c", sku="SOCKS-3PK", available=9, as_of=now))
        result = await client.publish_quantities(
            [InventoryLevel(client_id="c", sku=sku, available=5, as_of=now) for sku in ("CAP-NAVY", "HOODIE-GRY-M")]
        )
    finally:
        await client.aclose()
    assert result.processing_status == "DONE"
    assert [app.state.amazon.listing_quantity(s) for s in ("SOCKS-3PK", "CAP-NAVY", "HOODIE-GRY-M")] == [9, 5, 5]


async def test_a_401_mid_run_refreshes_once_then_pauses(make_settings: Any) -> None:
    from tradewire.connectors.amazon.settings import AmazonSecrets

    answers = {"token": 0, "orders": 0}

    def edge(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            answers["token"] += 1
            return httpx.Response(200, json={"access_token": f"Atza|{answers['token']}", "expires_in": 3600})
        answers["orders"] += 1
        if request.headers["x-amz-access-token"] == "Atza|2" and answers["orders"] == 2:
            return httpx.Response(200, json={"payload": {"AmazonOrderId": "1"}})
        return httpx.Response(401, json={"errors": [{"code": "Unauthorized", "message": "Access denied"}]})

    client = AmazonClient(make_settings(), AmazonSecrets(client_id="a", client_secret="b", refresh_token="c"),
                          transport=httpx.MockTransport(edge))  # fmt: skip
    try:
        assert (await client.get_order("1"))["AmazonOrderId"] == "1"  # 401, refresh, then 200
        with pytest.raises(VendorAuthError, match="Unauthorized: Access denied"):
            await client.get_order("1")  # 401, refresh, 401 again: the connection must pause
    finally:
        await client.aclose()
    assert answers == {"token": 3, "orders": 4}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"payload": {"OrderItems": []}}, "unexpected shape at AmazonOrderId"),
        ({"errors": [{"code": "InternalFailure", "message": "later"}]}, "without a payload: InternalFailure: later"),
    ],
)
async def test_answers_of_the_wrong_shape_are_retryable(make_settings: Any, body: dict[str, Any], reason: str) -> None:
    from tradewire.connectors.amazon.settings import AmazonSecrets

    def edge(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "Atza|1", "expires_in": 3600})
        return httpx.Response(200, json=body)

    client = AmazonClient(make_settings(), AmazonSecrets(client_id="a", client_secret="b", refresh_token="c"),
                          transport=httpx.MockTransport(edge))  # fmt: skip
    try:
        with pytest.raises(VendorRetryable, match=reason):
            await client.get_order_items("1")
    finally:
        await client.aclose()
