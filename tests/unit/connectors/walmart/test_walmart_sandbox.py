"""The sandbox as a whole: polling with the SPEC's poller, webhook deliveries, and real HTTP on loopback."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tradewire.connectors.base.budget import UnlimitedBudget
from tradewire.connectors.base.sandbox import FaultKnobs, LoopbackServer
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.walmart import SPEC
from tradewire.connectors.walmart.client import WalmartClient
from tradewire.connectors.walmart.sandbox import create_sandbox
from tradewire.connectors.walmart.sandbox_store import SandboxOptions
from tradewire.connectors.walmart.webhooks import WalmartWebhooks, issue_oauth_token
from tradewire.errors import RetryableError, WebhookRejected

CLIENT_ID, CLIENT_SECRET = "wm-client-id", "wm-client-secret"


def _connection(**settings: Any) -> Connection:
    return Connection(
        id="conn-w",
        client_id="client-1",
        system="walmart",
        settings={"base_url": "http://walmart.test", "page_size": 2, **settings},
        secrets={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "webhook_username": "walmart",
            "webhook_password": "pw",
            "webhook_oauth_client_id": "oauth-id",
            "webhook_oauth_client_secret": "oauth-secret",
        },
    )


async def _poll(app: Any, cursor: str | None, now: datetime) -> tuple[list[Any], list[str | None]]:
    (stream,) = SPEC.pollers
    poller = stream.open(_connection(), UnlimitedBudget(), httpx.ASGITransport(app))
    records: list[Any] = []
    cursors: list[str | None] = []
    try:
        async for page in poller.pages(cursor, now=now):
            records.extend(page.records)
            cursors.append(page.cursor)
    finally:
        await poller.aclose()
    return records, cursors


def test_poll_reads_every_order_and_advances_the_cursor_only_at_the_end() -> None:
    app = create_sandbox(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, seed=2)
    walmart = app.state.walmart
    orders = walmart.create_orders(5)
    now = datetime.now(UTC) + timedelta(seconds=1)

    records, cursors = asyncio.run(_poll(app, None, now))
    assert sorted(r.event.external_id for r in records) == sorted(o["purchaseOrderId"] for o in orders)
    assert {r.event.event_type for r in records} == {"order.created"}
    assert cursors[:-1] == [None, None]
    assert cursors[-1] is not None
    body = json.loads(records[0].body)
    assert SPEC.order_source is not None
    assert SPEC.order_source.reference(body) is None
    assert SPEC.order_source.to_order(body, client_id="c", connection_id="conn-w").lines

    # A restart resumes from the stored cursor: the overlap re-reads recent orders with the same keys,
    # and a changed order comes back with a new key.
    walmart.acknowledge(orders[0]["purchaseOrderId"])
    walmart.update_lines(
        orders[1]["purchaseOrderId"],
        "cancel",
        {
            "orderCancellation": {
                "orderLines": {
                    "orderLine": [
                        {
                            "lineNumber": "1",
                            "orderLineStatuses": {
                                "orderLineStatus": [
                                    {
                                        "status": "Cancelled",
                                        "statusQuantity": {
                                            "amount": orders[1]["orderLines"]["orderLine"][0]["orderLineQuantity"][
                                                "amount"
                                            ]
                                        },
                                    }
                                ]
                            },
                        }
                    ]
                }
            }
        },
    )
    again, later = asyncio.run(_poll(app, cursors[-1], now + timedelta(seconds=5)))
    keys = {r.event.idempotency_key for r in records}
    changed = [r for r in again if r.event.idempotency_key not in keys]
    assert sorted(r.event.external_id for r in changed) == sorted(o["purchaseOrderId"] for o in orders[:2])
    assert later[-1] is not None
    assert later[-1] > cursors[-1]


def test_poll_outside_the_overlap_reads_nothing() -> None:
    app = create_sandbox(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, seed=2)
    app.state.walmart.create_orders(2)
    future = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    cursor = future.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    records, cursors = asyncio.run(_poll(app, cursor, future))
    assert records == []
    assert cursors == [cursor]


def _deliver(app: Any, action: Any, statuses: list[int] | None = None) -> list[httpx.Request]:
    sent: list[httpx.Request] = []
    walmart = app.state.walmart

    async def main() -> None:
        async with app.router.lifespan_context(app):
            action(walmart)
            for _ in range(300):
                await asyncio.sleep(0.01)
                if not walmart.sender.busy:
                    break

    asyncio.run(main())
    return sent


def test_basic_auth_deliveries_verify_and_carry_po_created_and_order_updates() -> None:
    sent: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    app = create_sandbox(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        seed=4,
        knobs=FaultKnobs(duplicate_webhook_rate=1.0),
        webhook_transport=httpx.MockTransport(receive),
    )
    auth = {"authMethod": "BASIC_AUTH", "authHeaderName": "Authorization", "userName": "walmart", "password": "pw"}
    walmart = app.state.walmart
    walmart.subscribe("PO_CREATED", "https://receiver.test/a", auth_details=auth)
    walmart.subscribe("ORDER_UPDATES", "https://receiver.test/b", auth_details=auth)

    def act(w: Any) -> None:
        (order,) = w.create_orders(1)
        w.auto_cancel(order["purchaseOrderId"])

    _deliver(app, act)
    hooks, connection = WalmartWebhooks(), _connection()
    events = []
    for request in sent:
        hooks.verify(request.content, dict(request.headers), connection, now=datetime.now(UTC))
        events.append(hooks.parse(request.content, dict(request.headers), connection, now=datetime.now(UTC)))
    assert len(sent) == 6  # 3 events, each duplicated by the knob
    assert sorted(e.event_type for e in events) == ["order.created"] * 4 + ["order.updated"] * 2
    assert len({e.idempotency_key for e in events}) == 3
    assert len({e.ordering_key for e in events}) == 1
    log = walmart.delivery_log()
    assert all(d["duplicate"] and [a["status"] for a in d["attempts"]] == [200, 200] for d in log)


def test_token_endpoint_refuses_a_wrong_grant_type() -> None:
    app = create_sandbox(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)

    async def main() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://w") as http:
            return await http.post("/v3/token", content=b"grant_type=password", auth=(CLIENT_ID, CLIENT_SECRET))

    response = asyncio.run(main())
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "INVALID_REQUEST_PARAM"


def test_oauth_delivery_over_real_http() -> None:
    """The sandbox served on loopback calls our authUrl, then delivers with the Bearer we issued."""
    connection = _connection(webhook_auth_method="OAUTH")
    hooks = WalmartWebhooks()
    received: list[str] = []

    async def token(request: Request) -> Response:
        form = parse_qs((await request.body()).decode())
        try:
            answer = issue_oauth_token(
                connection, form["client_id"][0], form["client_secret"][0], now=datetime.now(UTC)
            )
        except WebhookRejected as exc:
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        return JSONResponse(answer)

    async def hook(request: Request) -> Response:
        body = await request.body()
        try:
            hooks.verify(body, dict(request.headers), connection, now=datetime.now(UTC))
        except WebhookRejected as exc:
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        received.append(hooks.parse(body, dict(request.headers), connection, now=datetime.now(UTC)).external_id)
        return Response(status_code=200)

    receiver = LoopbackServer(
        Starlette(
            routes=[Route("/token", token, methods=["POST"]), Route("/webhooks/walmart/conn-w", hook, methods=["POST"])]
        )
    ).start()
    sandbox_app = create_sandbox(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, seed=9, options=SandboxOptions(webhook_retry_delays=[0.05])
    )
    sandbox = LoopbackServer(sandbox_app).start()
    try:
        walmart = sandbox_app.state.walmart
        client = WalmartClient.from_connection(
            Connection(
                id="conn-w",
                client_id="c",
                system="walmart",
                settings={"base_url": sandbox.url},
                secrets=connection.secrets,
            )
        )
        from tradewire.connectors.walmart.schemas import Subscription

        auth = {
            "authMethod": "OAUTH",
            "authHeaderName": "Authorization",
            "clientId": "oauth-id",
            "clientSecret": "oauth-secret",
            "authUrl": f"{receiver.url}/token",
        }
        subscription = Subscription(
            event_type="PO_CREATED", event_url=f"{receiver.url}/webhooks/walmart/conn-w", auth_details=auth
        )
        asyncio.run(_subscribe(client, subscription))
        orders = walmart.create_orders(2)  # from this thread, while the sandbox serves on its own
        deadline = time.monotonic() + 10
        while len(received) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sorted(received) == sorted(o["purchaseOrderId"] for o in orders)
        attempts = [a for d in walmart.delivery_log() for a in d["attempts"]]
        assert [a["status"] for a in attempts] == [200, 200]
    finally:
        sandbox.stop()
        receiver.stop()


async def _subscribe(client: WalmartClient, subscription: Any) -> None:
    async with client:
        created = await client.create_subscription(subscription)
        assert created.auth_details is not None
        assert created.auth_details["authMethod"] == "OAUTH"


def test_oauth_delivery_with_wrong_client_secret_is_refused_and_retried() -> None:
    connection = _connection(webhook_auth_method="OAUTH")
    statuses: list[int] = []

    def receive(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            form = parse_qs(request.content.decode())
            try:
                answer = issue_oauth_token(
                    connection, form["client_id"][0], form["client_secret"][0], now=datetime.now(UTC)
                )
            except WebhookRejected:
                statuses.append(401)
                return httpx.Response(401)
            return httpx.Response(200, json=answer)
        statuses.append(200)
        return httpx.Response(200)

    app = create_sandbox(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        options=SandboxOptions(webhook_retry_delays=[0.01]),
        webhook_transport=httpx.MockTransport(receive),
    )
    auth = {"authMethod": "OAUTH", "clientId": "oauth-id", "clientSecret": "guess", "authUrl": "https://r.test/token"}
    app.state.walmart.subscribe("PO_CREATED", "https://r.test/hook", auth_details=auth)
    _deliver(app, lambda w: w.create_orders(1))
    assert statuses == [401, 401]
    assert app.state.walmart.delivery_log()[0]["state"] == "failed"


@pytest.mark.parametrize(
    "knob", [{"fail_rate": 1.0}, {"rate_limit_after": 0}, {"timeout_rate": 1.0, "timeout_seconds": 0.01}]
)
def test_fault_knobs_answer_like_walmart(knob: dict[str, Any]) -> None:
    app = create_sandbox(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, knobs=FaultKnobs(**knob))
    client = WalmartClient.from_connection(_connection(), transport=httpx.ASGITransport(app))

    async def main() -> None:
        async with client:
            with pytest.raises(Exception) as caught:
                await client.orders_page()
            assert isinstance(caught.value, RetryableError)
            assert getattr(caught.value, "status", None) in (429, 500, 503, 504)

    asyncio.run(main())


def test_poll_finds_a_change_to_an_order_created_weeks_ago() -> None:
    app = create_sandbox(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, seed=6)
    walmart = app.state.walmart
    (old,) = walmart.create_orders(1)
    po = old["purchaseOrderId"]
    walmart.orders[po]["orderDate"] -= 30 * 86_400_000  # created a month ago…
    walmart.acknowledge(po)  # …changed now
    now = datetime.now(UTC) + timedelta(seconds=1)

    async def plain_list() -> list[str]:
        client = WalmartClient.from_connection(_connection(), transport=httpx.ASGITransport(app))
        async with client:
            return [o.purchase_order_id async for p in client.iter_order_pages() for o in p.orders]

    assert asyncio.run(plain_list()) == []  # Walmart's default: created in the last 7 days
    records, _ = asyncio.run(_poll(app, (now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"), now))
    assert [r.event.external_id for r in records] == [po]
    assert records[0].event.event_type == "order.updated"
