"""The sandbox itself, over raw HTTP: LWA, RDT rules, throttling, notifications, feeds, admin, threads."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tradewire.connectors.amazon.sandbox_store import SandboxOptions
from tradewire.connectors.base.sandbox import FaultKnobs

MakeApp = Callable[..., Starlette]
CREDS = {
    "client_id": "amzn1.application-oa2-client.test",
    "client_secret": "lwa-secret",
    "refresh_token": "Atzr|refresh",
}


def http(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test")


async def lwa(client: httpx.AsyncClient, **form: str) -> httpx.Response:
    return await client.post("/auth/o2/token", data={"grant_type": "refresh_token", **CREDS, **form})


async def token(client: httpx.AsyncClient) -> str:
    answer = await lwa(client)
    assert answer.status_code == 200
    return str(answer.json()["access_token"])


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({}, 200, None),
        ({"refresh_token": "Atzr|other"}, 400, "invalid_grant"),
        ({"client_secret": "nope"}, 401, "invalid_client"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"grant_type": "client_credentials", "scope": "sellingpartnerapi::notifications"}, 200, None),
        ({"grant_type": "client_credentials", "scope": "everything"}, 400, "invalid_scope"),
    ],
)
async def test_lwa_token_endpoint(make_app: MakeApp, form: dict[str, str], status: int, error: str | None) -> None:
    async with http(make_app()) as client:
        answer = await lwa(client, **form)
    assert answer.status_code == status
    if error:
        assert answer.json()["error"] == error
    else:
        assert answer.json()["expires_in"] == 3600
        assert answer.json()["token_type"] == "bearer"


async def test_rdt_rules(make_app: MakeApp) -> None:
    app = make_app()
    [order_id] = app.state.amazon.create_orders(1)
    async with http(app) as client:
        access = await token(client)
        resources = [{"method": "GET", "path": f"/orders/v0/orders/{order_id}", "dataElements": ["buyerInfo"]}]
        answer = await client.post("/tokens/2021-03-01/restrictedDataToken", json={"restrictedResources": resources},
                                   headers={"x-amz-access-token": access})  # fmt: skip
        assert answer.status_code == 200
        rdt = answer.json()["restrictedDataToken"]
        order = (await client.get(f"/orders/v0/orders/{order_id}", headers={"x-amz-access-token": rdt})).json()[
            "payload"
        ]
        assert "BuyerInfo" in order
        assert "AddressLine1" not in order["ShippingAddress"]  # only buyerInfo was asked for
        items = await client.get(f"/orders/v0/orders/{order_id}/orderItems", headers={"x-amz-access-token": rdt})
        assert items.status_code == 403
        assert items.json()["errors"][0]["code"] == "Unauthorized"
        listing = await client.get(
            "/listings/2021-08-01/items/A3TH9S8BH6GOGM/CAP-NAVY", headers={"x-amz-access-token": rdt}
        )
        assert listing.status_code == 403
        bad = [{"method": "GET", "path": "/feeds/2021-06-30/feeds", "dataElements": ["buyerInfo"]}]
        refused = await client.post("/tokens/2021-03-01/restrictedDataToken", json={"restrictedResources": bad},
                                    headers={"x-amz-access-token": access})  # fmt: skip
        assert refused.status_code == 400


async def test_missing_expired_and_grantless_tokens_are_refused(make_app: MakeApp, clock: Any) -> None:
    app = make_app()
    async with http(app) as client:
        assert (await client.get("/orders/v0/orders/1")).status_code == 403
        access = await token(client)
        grantless = (
            await lwa(client, grant_type="client_credentials", scope="sellingpartnerapi::notifications")
        ).json()
        spec = {"name": "q", "resourceSpecification": {"sqs": {"arn": "arn:aws:sqs:us-east-1:1:q"}}}
        as_seller = await client.post(
            "/notifications/v1/destinations", json=spec, headers={"x-amz-access-token": access}
        )
        assert as_seller.status_code == 403
        made = await client.post("/notifications/v1/destinations", json=spec,
                                 headers={"x-amz-access-token": grantless["access_token"]})  # fmt: skip
        assert made.status_code == 200
        destination = made.json()["payload"]["destinationId"]
        body = {"payloadVersion": "1.0", "destinationId": destination}
        subscribed = await client.post("/notifications/v1/subscriptions/ORDER_CHANGE", json=body,
                                       headers={"x-amz-access-token": access})  # fmt: skip
        assert subscribed.json()["payload"]["destinationId"] == destination
        clock.advance(3601)
        expired = await client.get("/orders/v0/orders/1", headers={"x-amz-access-token": access})
        assert expired.status_code == 403
        assert "expired" in expired.json()["errors"][0]["details"]


async def test_buckets_really_throttle_per_operation(make_app: MakeApp) -> None:
    app = make_app(options=SandboxOptions(limits={"getOrder": (0.001, 2)}, send_retry_after=True))
    [order_id] = app.state.amazon.create_orders(1)
    async with http(app) as client:
        headers = {"x-amz-access-token": await token(client)}
        statuses = [(await client.get(f"/orders/v0/orders/{order_id}", headers=headers)).status_code for _ in range(3)]
        throttled = await client.get(f"/orders/v0/orders/{order_id}", headers=headers)
        other = await client.get(f"/orders/v0/orders/{order_id}/orderItems", headers=headers)
    assert statuses == [200, 200, 429]
    assert throttled.json() == {
        "errors": [
            {"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource.", "details": ""}
        ]
    }
    assert throttled.headers["x-amzn-RateLimit-Limit"] == "0.001"
    assert throttled.headers["Retry-After"] == "1000"
    assert other.status_code == 200  # another operation has its own bucket


async def test_get_orders_validates_its_query(make_app: MakeApp) -> None:
    async with http(make_app()) as client:
        headers = {"x-amz-access-token": await token(client)}
        no_market = await client.get(
            "/orders/v0/orders", params={"LastUpdatedAfter": "2026-01-01T00:00:00Z"}, headers=headers
        )
        bad_token = await client.get(
            "/orders/v0/orders", params={"MarketplaceIds": "ATVPDKIKX0DER", "NextToken": "x"}, headers=headers
        )
        no_date = await client.get("/orders/v0/orders", params={"MarketplaceIds": "ATVPDKIKX0DER"}, headers=headers)
    for answer in (no_market, bad_token, no_date):
        assert answer.status_code == 400
        assert answer.json()["errors"][0]["code"] == "InvalidInput"


def notifications(app: Starlette) -> list[dict[str, Any]]:
    return [json.loads(d.body) for d in app.state.amazon.sender.log]


def test_order_changes_are_published_with_the_relay_secret(make_app: MakeApp) -> None:
    app = make_app(FaultKnobs(seed=2))
    store = app.state.amazon
    store.subscribe("http://receiver.test/amazon", "s3cret", header="X-Api-Key")
    [order_id] = store.create_orders(1, lines=1)
    store.request_cancel(order_id)
    store.cancel_order(order_id)
    messages = notifications(app)
    changes = [m["Payload"]["OrderChangeNotification"] for m in messages]
    assert [c["OrderChangeType"] for c in changes] == ["OrderStatusChange", "BuyerRequestedChange", "OrderStatusChange"]
    assert [c["Summary"]["OrderStatus"] for c in changes] == ["Unshipped", "Unshipped", "Canceled"]
    times = [c["OrderChangeTrigger"]["TimeOfOrderChange"] for c in changes]
    assert times == sorted(times)
    assert len(times) == len(set(times))
    assert len({m["NotificationMetadata"]["NotificationId"] for m in messages}) == 3
    assert all(d.headers["x-api-key"] == "s3cret" for d in store.sender.log)
    with pytest.raises(ValueError, match=r"http\(s\) URL"):
        store.subscribe("ftp://nope", "x")


async def test_feed_that_is_not_a_listings_feed_ends_fatal(make_app: MakeApp) -> None:
    app = make_app(options=SandboxOptions(feed_polls_to_finish=1))
    async with http(app) as client:
        headers = {"x-amz-access-token": await token(client)}
        document = (
            await client.post("/feeds/2021-06-30/documents", json={"contentType": "text/plain"}, headers=headers)
        ).json()
        assert (await client.put(document["url"], content=b"<xml/>")).status_code == 200
        body = {
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": ["ATVPDKIKX0DER"],
            "inputFeedDocumentId": document["feedDocumentId"],
        }
        feed_id = (await client.post("/feeds/2021-06-30/feeds", json=body, headers=headers)).json()["feedId"]
        feed = (await client.get(f"/feeds/2021-06-30/feeds/{feed_id}", headers=headers)).json()
        assert feed["processingStatus"] == "FATAL"
        missing = await client.post(
            "/feeds/2021-06-30/feeds", json={**body, "inputFeedDocumentId": "nope"}, headers=headers
        )
        assert missing.status_code == 400


async def test_admin_endpoints(make_app: MakeApp) -> None:
    app = make_app()
    async with http(app) as client:
        made = (await client.post("/_sandbox/orders", json={"count": 2})).json()["orders"]
        one = (await client.get(f"/_sandbox/orders/{made[0]}")).json()
        assert one["order"]["AmazonOrderId"] == made[0]
        assert one["items"]
        assert (await client.post(f"/_sandbox/orders/{made[1]}/cancel", json={})).json()["order"][
            "OrderStatus"
        ] == "Canceled"
        assert (await client.post("/_sandbox/knobs", json={"fail_rate": 0.5})).json()["knobs"]["fail_rate"] == 0.5
        assert (await client.post("/_sandbox/knobs", json={"fail_rate": 5})).status_code == 400
        assert (await client.get("/_sandbox/orders/none")).status_code == 404
        relay = await client.post("/_sandbox/relays", json={"address": "http://r.test/a", "secret": "s"})
        assert relay.json()["relay"]["header"] == "x-tradewire-relay-secret"
        assert (await client.get("/_sandbox/deliveries")).json() == {"deliveries": []}
        assert (await client.post("/_sandbox/tokens/revoke", json={})).status_code == 200


def test_state_can_be_driven_from_other_threads(make_app: MakeApp) -> None:
    app = make_app()
    store = app.state.amazon
    created: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        ids = store.create_orders(25)
        with lock:
            created.extend(ids)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(created) == len(set(created)) == 100
    assert len(store.orders) == 100


async def test_timeout_knob_answers_504_after_hanging(make_app: MakeApp) -> None:
    app = make_app(FaultKnobs(timeout_rate=1.0, timeout_seconds=0.01))
    async with http(app) as client:
        answer = await client.get("/orders/v0/orders/1", headers={"x-amz-access-token": "x"})
    assert answer.status_code == 504


def test_out_of_order_and_duplicate_knobs_mark_deliveries(make_app: MakeApp) -> None:
    app = make_app(FaultKnobs(out_of_order_rate=1.0, duplicate_webhook_rate=1.0, seed=4))
    store = app.state.amazon
    store.subscribe("http://receiver.test/amazon", "s")
    store.create_orders(3)
    log = store.sender.log
    assert len(log) == 3
    assert all(d.out_of_order and d.duplicate for d in log)
