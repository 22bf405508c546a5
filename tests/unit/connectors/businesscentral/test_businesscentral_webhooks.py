"""Business Central webhooks: handshake, clientState, one event per notification, subscriptions end to end."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from bc_helpers import (
    CLIENT_STATE,
    COMPANY,
    CREDS,
    CUSTOMER,
    client_for,
    connection,
    make_app,
    order,
    settings,
    sink_for,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tradewire.connectors.base.sandbox import FaultKnobs, LoopbackServer
from tradewire.connectors.base.spec import Connection, InboundEvent
from tradewire.connectors.businesscentral import SPEC
from tradewire.connectors.businesscentral.subscriptions import ensure_subscription, needs_renewal
from tradewire.connectors.businesscentral.webhooks import WEBHOOKS
from tradewire.errors import WebhookIgnored, WebhookRejected

FIXTURE = Path(__file__).parents[3] / "fixtures" / "vendor" / "businesscentral_webhook_notification.json"
NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def fixture_connection() -> Connection:
    conn = connection()
    return Connection(id=conn.id, client_id=conn.client_id, system=conn.system, settings=conn.settings,
                      secrets={**conn.secrets, "webhook_client_state": "someClientState"})  # fmt: skip


def events(body: bytes, conn: Connection) -> list[InboundEvent]:
    WEBHOOKS.verify(body, {}, conn, now=NOW)
    out = []
    for part in WEBHOOKS.split(body):
        with contextlib.suppress(WebhookIgnored):
            out.append(WEBHOOKS.parse(part, {}, conn, now=NOW))
    return out


def test_spec_exposes_the_webhooks() -> None:
    assert SPEC.webhooks is WEBHOOKS


def test_handshake_echoes_the_validation_token() -> None:
    reply = WEBHOOKS.handshake(b"", {}, connection(), query={"validationToken": "abc123"})
    assert reply is not None
    assert (reply.status, reply.body, reply.content_type) == (200, "abc123", "text/plain")
    assert WEBHOOKS.handshake(b"{}", {}, connection(), query={}) is None
    for bad in ("", "x" * 3000, "bad\ntoken"):
        with pytest.raises(WebhookRejected) as caught:
            WEBHOOKS.handshake(b"", {}, connection(), query={"validationToken": bad})
        assert caught.value.status == 400


def test_fixture_delivery_splits_into_one_event_per_notification() -> None:
    got = events(FIXTURE.read_bytes(), fixture_connection())
    assert [(e.event_type, e.external_id) for e in got] == [
        ("item.updated", "26814998-936a-401c-81c1-0e848a64971d"),
        ("customer.created", "130bbd17-dbb9-4790-9b12-2b0e9c9d22c3"),
        ("customer.deleted", "4b4f31f0-dc1c-4033-b2aa-ab03ca1d6ebc"),
        ("invoice.collection", "salesInvoices?$filter=lastDateTimeModified gt 2018-10-15T11:00:00Z"),
    ]
    assert len({e.idempotency_key for e in got}) == 4
    assert got[1].ordering_key == "customer:conn-bc:130bbd17-dbb9-4790-9b12-2b0e9c9d22c3"
    assert got[1].triggered_at == datetime(2018, 10, 26, 12, 54, 26, 57000, tzinfo=UTC)


def test_redelivery_has_the_same_keys() -> None:
    body = FIXTURE.read_bytes()
    first = [e.idempotency_key for e in events(body, fixture_connection())]
    again = json.loads(body)
    again["value"].reverse()
    second = [e.idempotency_key for e in events(json.dumps(again, indent=2).encode(), fixture_connection())]
    assert sorted(first) == sorted(second)


@pytest.mark.parametrize("state", ["wrong", "", None, "someClientStatE"])
def test_wrong_or_missing_client_state_is_401(state: str | None) -> None:
    payload = json.loads(FIXTURE.read_bytes())
    if state is None:
        del payload["value"][2]["clientState"]
    else:
        payload["value"][2]["clientState"] = state
    with pytest.raises(WebhookRejected) as caught:
        WEBHOOKS.verify(json.dumps(payload).encode(), {}, fixture_connection(), now=NOW)
    assert caught.value.status == 401


def test_a_connection_without_client_state_refuses_everything() -> None:
    conn = Connection(id="c", client_id="c1", system="businesscentral", settings={}, secrets={"client_id": "x"})
    with pytest.raises(WebhookRejected) as caught:
        WEBHOOKS.verify(FIXTURE.read_bytes(), {}, conn, now=NOW)
    assert caught.value.status == 401


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b"{}",
        b'{"value": []}',
        b'{"value": [1]}',
        json.dumps({"value": [{"clientState": CLIENT_STATE}] * 1001}).encode(),
    ],
)
def test_malformed_or_oversized_bodies_are_400(body: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        WEBHOOKS.verify(body, {}, connection(), now=NOW)
    assert caught.value.status == 400


def test_notification_missing_fields_or_bad_values_is_400() -> None:
    note = {"subscriptionId": "s", "clientState": CLIENT_STATE, "changeType": "updated",
            "lastModifiedDateTime": "2026-05-04T10:00:00Z", "resource": f"api/v2.0/companies({COMPANY})/salesOrders(1)"}  # fmt: skip
    for broken in ({"resource": ""}, {"changeType": "exploded"}, {"lastModifiedDateTime": "yesterday"},
                   {"resource": "api/v2.0/somethingElse"}):  # fmt: skip
        body = json.dumps({"value": [{**note, **broken}]}).encode()
        with pytest.raises(WebhookRejected) as caught:
            WEBHOOKS.parse(body, {}, connection(), now=NOW)
        assert caught.value.status == 400
    vendors = json.dumps({"value": [{**note, "resource": f"api/v2.0/companies({COMPANY})/vendors(1)"}]}).encode()
    with pytest.raises(WebhookIgnored):
        WEBHOOKS.parse(vendors, {}, connection(), now=NOW)


def test_renewal_is_due_a_day_before_expiry() -> None:
    from tradewire.connectors.businesscentral.schemas import BcSubscription

    sub = BcSubscription(subscription_id="s", notification_url="https://x", resource="r",
                         expiration_date_time="2026-05-06T12:00:00Z")  # fmt: skip
    assert not needs_renewal(sub, NOW)
    assert needs_renewal(sub, NOW + timedelta(days=1, seconds=1))


class Receiver:
    """A minimal webhook endpoint built on SPEC.webhooks, the way the platform's receiver calls it."""

    def __init__(self) -> None:
        self.events: list[InboundEvent] = []
        self.handshakes = 0
        self.rejected = 0
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        conn, body, query = connection(), await request.body(), dict(request.query_params)
        reply = WEBHOOKS.handshake(body, {}, conn, query=query)
        if reply is not None:
            self.handshakes += 1
            return PlainTextResponse(reply.body, status_code=reply.status)
        try:
            WEBHOOKS.verify(body, {}, conn, now=datetime.now(UTC))
            for part in WEBHOOKS.split(body):
                self.events.append(WEBHOOKS.parse(part, {}, conn, now=datetime.now(UTC)))
        except WebhookRejected as exc:
            self.rejected += 1
            return Response(status_code=exc.status)
        return Response(status_code=202)


async def _wait(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.02)


def test_subscription_handshake_renewal_and_debounced_notifications_in_process() -> None:
    receiver = Receiver()
    app = make_app(webhook_transport=httpx.ASGITransport(app=receiver.app), debounce_seconds=0.1)
    state = app.state.businesscentral
    resource = f"/api/v2.0/companies({COMPANY})/salesOrders"

    async def go() -> None:
        async with app.router.lifespan_context(app):
            client = client_for(app)
            try:
                sub = await ensure_subscription(client, notification_url="http://receiver/hook", resource=resource,
                                                client_state=CLIENT_STATE, now=datetime.now(UTC))  # fmt: skip
                same = await ensure_subscription(client, notification_url="http://receiver/hook", resource=resource,
                                                 client_state=CLIENT_STATE, now=datetime.now(UTC))  # fmt: skip
                assert same.subscription_id == sub.subscription_id
                assert receiver.handshakes == 1
                renewed = await ensure_subscription(client, notification_url="http://receiver/hook", resource=resource,
                                                    client_state=CLIENT_STATE, now=datetime.now(UTC) + timedelta(days=2, hours=1))  # fmt: skip
                assert receiver.handshakes == 2
                assert renewed.etag != sub.etag
                sink = sink_for(app)
                customer = await sink.upsert_customer(CUSTOMER)
                items = await sink.resolve_items(["cap-navy"])
                ref = await sink.upsert_sales_order(order(), customer_ref=customer, item_refs=items)
                await sink.upsert_sales_order(order(quantity=3), customer_ref=customer, item_refs=items)
                await sink.aclose()
                await _wait(lambda: receiver.events)
                state.ship_and_invoice(ref)
                await _wait(lambda: len(receiver.events) >= 2)
            finally:
                await client.aclose()

    asyncio.run(go())
    # created + updated inside one debounce window collapse into one "created".
    assert [(e.event_type, e.external_id) for e in receiver.events] == [
        ("sales_order.created", state.sales_orders()[0].id),
        ("sales_order.deleted", state.sales_orders()[0].id),
    ]
    assert receiver.rejected == 0


def test_subscription_is_refused_when_the_handshake_fails() -> None:
    async def wrong(request: Request) -> Response:
        return PlainTextResponse("not the token")

    target = Starlette(routes=[Route("/hook", wrong, methods=["POST"])])
    app = make_app(webhook_transport=httpx.ASGITransport(app=target))

    async def go() -> None:
        client = client_for(app)
        try:
            await client.create_subscription(notification_url="http://receiver/hook",
                                             resource=f"/api/v2.0/companies({COMPANY})/customers", client_state="x")  # fmt: skip
        finally:
            await client.aclose()

    with pytest.raises(Exception, match="validation token"):
        asyncio.run(go())
    assert app.state.businesscentral.subscriptions() == []


def test_many_changes_become_one_collection_notification_over_real_http() -> None:
    receiver = Receiver()
    hook_server = LoopbackServer(receiver.app).start()
    app = make_app(FaultKnobs(seed=2), debounce_seconds=60, collection_threshold=3)
    bc_server = LoopbackServer(app).start()
    state = app.state.businesscentral
    try:
        from tradewire.connectors.businesscentral.client import BusinessCentralClient
        from tradewire.connectors.businesscentral.settings import BusinessCentralSecrets

        async def go() -> None:
            client = BusinessCentralClient(settings(base_url=bc_server.url, authority_url=bc_server.url),
                                           BusinessCentralSecrets.model_validate(CREDS))  # fmt: skip
            try:
                await client.create_subscription(notification_url=f"{hook_server.url}/hook",
                                                 resource=f"/api/v2.0/companies({COMPANY})/customers",
                                                 client_state=CLIENT_STATE)  # fmt: skip
                for n in range(5):
                    await client.create_customer({"displayName": f"C{n}"})
            finally:
                await client.aclose()

        asyncio.run(go())
        assert state.flush_notifications() == 1
        deadline = time.monotonic() + 5
        while not receiver.events and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        bc_server.stop()
        hook_server.stop()
    assert [e.event_type for e in receiver.events] == ["customer.collection"]
    assert receiver.events[0].external_id.startswith("customers?$filter=lastModifiedDateTime gt ")
    assert state.delivery_log()[0]["state"] == "delivered"


def test_posting_notifies_item_subscribers_of_the_inventory_change() -> None:
    receiver = Receiver()
    app = make_app(webhook_transport=httpx.ASGITransport(app=receiver.app), debounce_seconds=60)
    state = app.state.businesscentral

    async def go() -> None:
        async with app.router.lifespan_context(app):
            client = client_for(app)
            try:
                await client.create_subscription(notification_url="http://receiver/hook",
                                                 resource=f"/api/v2.0/companies({COMPANY})/items",
                                                 client_state=CLIENT_STATE)  # fmt: skip
            finally:
                await client.aclose()
            sink = sink_for(app)
            try:
                customer = await sink.upsert_customer(CUSTOMER)
                items = await sink.resolve_items(["cap-navy"])
                ref = await sink.upsert_sales_order(order(), customer_ref=customer, item_refs=items)
            finally:
                await sink.aclose()
            state.ship_and_invoice(ref)
            state.flush_notifications()
            await _wait(lambda: receiver.events)

    asyncio.run(go())
    assert [(e.event_type, e.external_id) for e in receiver.events] == [("item.updated", state.item_ids()["CAP-NAVY"])]
