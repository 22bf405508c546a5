"""The ShipStation sandbox as an HTTP fake: auth, the 40/min window, orders, package splits, notifications."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from shipstation_helpers import API_KEY, API_SECRET, TOKEN, sample_order
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.shipstation import SPEC
from tradewire.connectors.shipstation.mapping import order_to_createorder
from tradewire.connectors.shipstation.sandbox_store import SandboxOptions

MakeApp = Callable[..., Starlette]
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{API_KEY}:{API_SECRET}".encode()).decode()}
FIXTURE = Path(__file__).parents[3] / "fixtures" / "vendor" / "shipstation_v1_rate_limited_429.json"
KEY = "2b6f0c1e-9d8a-4f3b-a2c1-7e6d5c4b3a21"


def call(app: Starlette, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://ssapi.shipstation.com") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


def test_the_documented_credentials_header_is_accepted(make_app: MakeApp) -> None:
    assert AUTH["Authorization"] == "Basic U2hpcFN0YXRpb246Um9ja3M="
    assert call(make_app(), "GET", "/orders", headers=AUTH).status_code == 200


@pytest.mark.parametrize(
    "header", [None, "Basic " + base64.b64encode(b"ShipStation:Wrong").decode(), "Bearer x", "Basic !!!"]
)
def test_bad_credentials_get_the_dotnet_401(make_app: MakeApp, header: str | None) -> None:
    response = call(make_app(), "GET", "/orders", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.json() == {"Message": "Authorization has been denied for this request."}


def test_the_window_allows_the_limit_then_answers_429_like_the_fixture(make_app: MakeApp) -> None:
    app = make_app(options=SandboxOptions(requests_per_minute=3))
    ticks = iter([100.0, 101.0, 102.0, 103.0, 161.0])
    app.state.shipstation.monotonic = lambda: next(ticks)
    answers = [call(app, "GET", "/orders", headers=AUTH) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 200]
    assert [a.headers["X-Rate-Limit-Remaining"] for a in answers] == ["2", "1", "0", "0", "2"]
    assert answers[3].headers["X-Rate-Limit-Reset"] == "57"
    assert answers[3].headers["X-Rate-Limit-Limit"] == "3"
    expected = {k: v for k, v in json.loads(FIXTURE.read_text()).items() if not k.startswith("_")}
    assert answers[3].json() == expected


def test_rate_limit_knob_sends_the_reset_seconds(make_app: MakeApp) -> None:
    response = call(make_app(FaultKnobs(rate_limit_after=0, retry_after_seconds=7)), "GET", "/orders", headers=AUTH)
    assert response.status_code == 429
    assert response.headers["X-Rate-Limit-Reset"] == "7"
    assert "Retry-After" not in response.headers


def test_createorder_validates_like_shipstation(make_app: MakeApp) -> None:
    app = make_app()
    good = order_to_createorder(sample_order())
    for broken, reason in (
        ({**good, "orderNumber": ""}, "orderNumber is required"),
        ({**good, "orderDate": "yesterday"}, "orderDate is required"),
        ({k: v for k, v in good.items() if k != "shipTo"}, "shipTo is required"),
        ({**good, "items": [{"sku": "X", "quantity": -1}]}, "quantity"),
    ):
        response = call(app, "POST", "/orders/createorder", headers=AUTH, json=broken)
        assert response.status_code == 400
        assert reason in response.json()["ExceptionMessage"]
    assert call(app, "POST", "/orders/createorder", headers=AUTH, content=b"{nope").status_code == 400
    assert app.state.shipstation.orders == {}


def test_an_order_without_a_key_is_created_again_on_every_retry(make_app: MakeApp) -> None:
    app = make_app()
    keyless = {k: v for k, v in order_to_createorder(sample_order()).items() if k != "orderKey"}
    for _ in range(2):
        assert call(app, "POST", "/orders/createorder", headers=AUTH, json=keyless).status_code == 200
    assert len(app.state.shipstation.orders) == 2


def test_orders_split_into_packages_and_refuse_over_shipping(make_app: MakeApp) -> None:
    app = make_app()
    state = app.state.shipstation
    state.upsert_order(order_to_createorder(sample_order()))
    first = state.ship_order(KEY, [[("a", 2)]], notify=False)
    assert state.find_order(KEY)["orderStatus"] == "awaiting_shipment"
    with pytest.raises(ValueError, match="1 left"):
        state.ship_order(KEY, [[("TSHIRT-BLK-M", 2)]], notify=False)
    with pytest.raises(ValueError, match="no item"):
        state.ship_order(KEY, [[("tradewire-discount", 1)]], notify=False)
    rest = state.ship_order(KEY, notify=False)
    assert [(i["lineItemKey"], i["quantity"]) for i in rest[0]["shipmentItems"]] == [("a", 1), ("b", 1)]
    assert state.find_order(KEY)["orderStatus"] == "shipped"
    assert first[0]["trackingNumber"] != rest[0]["trackingNumber"]
    state.void_shipment(rest[0]["shipmentId"])
    assert state.find_order(KEY)["orderStatus"] == "awaiting_shipment"
    with pytest.raises(KeyError):
        state.ship_order("unknown")


def test_shipments_list_pages_and_leaves_items_out_unless_asked(make_app: MakeApp) -> None:
    app = make_app()
    state = app.state.shipstation
    state.upsert_order(order_to_createorder(sample_order()))
    state.ship_order(KEY, [[("a", 1)], [("a", 1)], [("a", 1), ("b", 1)]], notify=False)
    page = call(app, "GET", "/shipments", headers=AUTH, params={"pageSize": 2, "page": 2}).json()
    assert (page["total"], page["page"], page["pages"], len(page["shipments"])) == (3, 2, 2, 1)
    assert page["shipments"][0]["shipmentItems"] is None
    full = call(app, "GET", "/shipments", headers=AUTH, params={"includeShipmentItems": "True"}).json()
    assert all(s["shipmentItems"] for s in full["shipments"])
    assert call(app, "GET", "/shipments", headers=AUTH, params={"pageSize": 501}).status_code == 400


def test_admin_endpoints_drive_the_account(make_app: MakeApp) -> None:
    app = make_app()
    app.state.shipstation.upsert_order(order_to_createorder(sample_order()))
    shipped = call(app, "POST", f"/_sandbox/orders/{KEY}/ship", json={"packages": [[["a", 3]], [["b", 1]]]})
    assert len(shipped.json()["shipments"]) == 2
    assert call(app, "POST", f"/_sandbox/orders/{KEY}/ship", json={"packages": [[["a", 1]]]}).status_code == 400
    assert call(app, "POST", "/_sandbox/orders/nope/ship", json={}).status_code == 404
    assert call(app, "POST", "/_sandbox/knobs", json={"fail_rate": 1.0}).json()["knobs"]["fail_rate"] == 1.0
    assert call(app, "GET", "/orders", headers=AUTH).status_code == 500
    assert call(app, "GET", "/_sandbox/deliveries").json() == {"deliveries": []}


class Receiver:
    def __init__(self) -> None:
        self.bodies: list[tuple[bytes, str]] = []
        self.app = Starlette(routes=[Route("/hooks/ss", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        self.bodies.append((await request.body(), request.url.query))
        return JSONResponse({})


def test_shipping_sends_ship_notify_to_subscribers_with_duplicates(make_app: MakeApp) -> None:
    receiver = Receiver()
    app = make_app(
        FaultKnobs(duplicate_webhook_rate=1.0, seed=3), webhook_transport=httpx.ASGITransport(app=receiver.app)
    )
    state = app.state.shipstation
    state.subscribe(f"https://tradewire.example/hooks/ss?token={TOKEN}", "SHIP_NOTIFY")
    state.subscribe("https://elsewhere.example/orders", "ORDER_NOTIFY")
    state.upsert_order(order_to_createorder(sample_order()))

    async def go() -> None:
        async with app.router.lifespan_context(app):
            state.ship_order(KEY, [[("a", 3)], [("b", 1)]])
            for _ in range(200):
                if state.sender.busy == 0:
                    break
                await asyncio.sleep(0.01)

    asyncio.run(go())
    assert len(receiver.bodies) == 2  # one batch, delivered twice
    body, query = receiver.bodies[0]
    assert receiver.bodies[1][0] == body
    assert query == f"token={TOKEN}"
    notification = json.loads(body)
    assert notification["resource_type"] == "SHIP_NOTIFY"
    assert notification["resource_url"].startswith("https://ssapi.shipstation.com/shipments?batchId=")
    log = state.delivery_log()
    assert [(d["topic"], d["duplicate"]) for d in log] == [("SHIP_NOTIFY", True)]
    assert [(a["status"], a["duplicate"]) for a in log[0]["attempts"]] == [(200, False), (200, True)]
    assert SPEC.sandbox is not None


def test_out_of_order_knob_holds_a_notification_back(make_app: MakeApp) -> None:
    receiver = Receiver()
    app = make_app(
        FaultKnobs(out_of_order_rate=1.0, seed=3),
        options=SandboxOptions(out_of_order_delay_seconds=0.05),
        webhook_transport=httpx.ASGITransport(app=receiver.app),
    )
    state = app.state.shipstation
    state.subscribe(f"https://tradewire.example/hooks/ss?token={TOKEN}", "SHIP_NOTIFY")
    state.upsert_order(order_to_createorder(sample_order()))

    async def go() -> None:
        async with app.router.lifespan_context(app):
            first = state.ship_order(KEY, [[("a", 3)]])
            state.set_knobs(out_of_order_rate=0.0)
            second = state.ship_order(KEY, [[("b", 1)]])
            batches.extend([first[0]["batchNumber"], second[0]["batchNumber"]])
            for _ in range(200):
                if state.sender.busy == 0:
                    break
                await asyncio.sleep(0.01)

    batches: list[str] = []
    asyncio.run(go())
    assert [d["out_of_order"] for d in state.delivery_log()] == [True, False]
    arrived = [json.loads(body)["resource_url"].split("batchId=")[1].split("&")[0] for body, _ in receiver.bodies]
    assert arrived == [batches[1], batches[0]]  # the later batch overtook the held-back one
