"""The generated connector contract, run against the NetSuite sandbox, plus one run over real TCP."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from tradewire.canonical import Address, ExternalRef, Order, OrderLine
from tradewire.connectors.base.contract import Call, ConnectorContract, PollWorld
from tradewire.connectors.base.sandbox import FaultKnobs, LoopbackServer
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.netsuite import SPEC
from tradewire.connectors.netsuite.client import NetSuiteClient
from tradewire.connectors.netsuite.mapping import order_to_sales_order, sales_order_to_canonical_lines
from tradewire.connectors.netsuite.sandbox import create_sandbox
from tradewire.connectors.netsuite.settings import NetSuiteSecrets, NetSuiteSettings
from tradewire.connectors.netsuite.sink import NetSuiteOrderSink

ACCOUNT = "1234567_SB1"
CREDS = {"consumer_key": "ck-contract", "consumer_secret": "cs-contract", "token_id": "tok", "token_secret": "ts"}
SETTINGS = NetSuiteSettings(account_id=ACCOUNT, subsidiary_id="1", discount_item_id="900", tax_item_id="901")
PERSON = {"firstName": "Ann", "lastName": "Lee", "email": "ann@example.com"}


def sandbox(knobs: FaultKnobs | None = None) -> Any:
    return create_sandbox(account_id=ACCOUNT, **CREDS, knobs=knobs or FaultKnobs(seed=7))


def client_for(app: Any, settings: NetSuiteSettings = SETTINGS, **secret_overrides: str) -> NetSuiteClient:
    secrets = NetSuiteSecrets.model_validate({**CREDS, **secret_overrides})
    return NetSuiteClient(settings, secrets, transport=httpx.ASGITransport(app=app))


def sample_order() -> Order:
    return Order(
        id="2b6f0c1e-9d8a-4f3b-a2c1-7e6d5c4b3a21", client_id="client-1", number="#5001", currency="USD",
        source=ExternalRef(system="shop", connection_id="c1", object="order", external_id="5001"),
        placed_at=datetime(2026, 5, 4, 10, 30, tzinfo=UTC),
        lines=[
            OrderLine(line_id="a", sku="TSHIRT-BLK-M", title="T-shirt", quantity=3, unit_price=Decimal("25.00"),
                      discount=Decimal("7.50"), total=Decimal("67.50")),
            OrderLine(line_id="b", sku="SOCKS-3PK", title="Socks", quantity=1, unit_price=Decimal("12.00"),
                      total=Decimal("12.00")),
        ],
        subtotal=Decimal("87.00"), discount_total=Decimal("10.00"), shipping_total=Decimal("6.95"),
        tax_total=Decimal("6.40"), total=Decimal("90.35"),
        shipping_address=Address(name="Ann Lee", line1="1 Main St", city="Austin", region="TX", postal_code="78701",
                                 country_code="US"),
    )  # fmt: skip


class TestNetSuiteContract(ConnectorContract):
    spec = SPEC

    def inventory_poll_world(self) -> PollWorld:
        app = sandbox()
        state = app.state.netsuite
        for sku, where, count in [("CAP-NAVY", None, 10), ("CAP-NAVY", "East Coast DC", 4), ("SOCKS-3PK", None, 7)]:
            state.adjust_inventory(sku, location=where, on_hand=count)
        connection = Connection(
            id="conn-ns-contract",
            client_id="client-contract",
            system="netsuite",
            settings={**SETTINGS.model_dump(), "inventory_page_size": 2},
            secrets=CREDS,
        )
        return PollWorld(connection, httpx.ASGITransport(app=app), "inventory", 3)

    async def seed_and_read_all(self, count: int) -> tuple[set[str], list[str]] | None:
        client = client_for(sandbox())
        try:
            seeded = {await client.upsert_customer(f"C{n}", PERSON) for n in range(count)}
            read = [record_id async for record_id in client.list_records("customer", limit=3)]
        finally:
            await client.aclose()
        return seeded, read

    async def cursor_values(self) -> list[str] | None:
        app = sandbox()
        item = app.state.netsuite.item_ids()["CAP-NAVY"]
        client = client_for(app)
        try:
            customer = await client.upsert_customer("C1", PERSON)
            for n in range(5):
                body = {"entity": {"id": customer}, "otherRefNum": f"#{n}", "item": {"items": [{"item": {"id": item}}]}}
                await client.upsert_sales_order(f"SO-{n}", body)
            await client.patch_sales_order("eid:SO-1", {"memo": "touched last"})
            query = "SELECT id, lastmodifieddate FROM transaction ORDER BY lastmodifieddate, id"
            return [row["lastmodifieddate"] async for row in client.suiteql(query, limit=2)]
        finally:
            await client.aclose()

    def poll_worlds(self) -> list[PollWorld]:
        return [self.inventory_poll_world(), self.fulfilment_poll_world()]

    def fulfilment_poll_world(self) -> PollWorld:
        app = sandbox()
        state = app.state.netsuite
        customer = state.store.create("customer", {**PERSON}, now=time.time())
        items = state.item_ids()
        for n in range(3):
            lines = [
                {"item": {"id": items["CAP-NAVY"]}, "quantity": 2},
                {"item": {"id": items["SOCKS-3PK"]}, "quantity": 1},
            ]
            so = state.store.create(
                "salesOrder", {"entity": {"id": customer}, "item": {"items": lines}}, now=time.time()
            )
            state.ship(so, [{"tracking_number": f"1Z{n}A", "lines": [{"sku": "CAP-NAVY", "quantity": 2}]},
                            {"tracking_number": f"1Z{n}B", "lines": [{"sku": "SOCKS-3PK", "quantity": 1}]}])  # fmt: skip
        connection = Connection(id="conn-ns", client_id="client-ns", system="netsuite",
                                settings={"account_id": ACCOUNT, "subsidiary_id": "1"}, secrets=CREDS)  # fmt: skip
        return PollWorld(connection, httpx.ASGITransport(app=app), "item_fulfillments", 6)

    def mapping_round_trips(self) -> list[tuple[object, object]]:
        order = sample_order()
        items = {"TSHIRT-BLK-M": "500", "SOCKS-3PK": "504"}
        body = order_to_sales_order(order, customer_ref="100", item_refs=items, settings=SETTINGS)
        back = sales_order_to_canonical_lines(body, sku_by_item_id={v: k for k, v in items.items()}, settings=SETTINGS)

        def line_view(lines: list[OrderLine]) -> list[tuple[object, ...]]:
            return [(x.sku, x.title, x.quantity, x.unit_price, x.discount, x.total) for x in lines]

        return [
            (order.number, back.number),
            (order.id, back.external_id),
            (line_view(order.lines), line_view(back.lines)),
            ((order.subtotal, order.discount_total, order.shipping_total, order.tax_total, order.total),
             (back.subtotal, back.discount_total, back.shipping_total, back.tax_total, back.total)),
        ]  # fmt: skip

    def call_with_knobs(self, knobs: FaultKnobs) -> Call:
        async def call() -> object:
            client = client_for(sandbox(knobs))
            try:
                return await client.get_record("inventoryItem", "500")
            finally:
                await client.aclose()

        return call

    def call_rejected(self) -> Call:
        async def call() -> object:
            client = client_for(sandbox())
            try:
                return await client.upsert_sales_order("SO-1", {"otherRefNum": "#1", "item": {"items": []}})
            finally:
                await client.aclose()

        return call

    def call_with_bad_credentials(self) -> Call:
        async def call() -> object:
            client = client_for(sandbox(), token_secret="revoked")
            try:
                return await client.get_record("inventoryItem", "500")
            finally:
                await client.aclose()

        return call


def test_real_client_over_tcp_against_the_loopback_sandbox() -> None:
    app = sandbox()
    extra = app.state.netsuite.seed_items([("DISCOUNT", "Order discount", "0"), ("TAX", "Sales tax", "0")])
    server = LoopbackServer(app).start()
    try:
        settings = SETTINGS.model_copy(
            update={"base_url": server.url, "discount_item_id": extra["DISCOUNT"], "tax_item_id": extra["TAX"]}
        )
        secrets = NetSuiteSecrets.model_validate(CREDS)

        async def go() -> tuple[str, str, list[dict[str, Any]]]:
            sink = NetSuiteOrderSink(NetSuiteClient(settings, secrets), settings)
            try:
                customer = await sink.client.upsert_customer("C-TCP", PERSON)
                items = await sink.resolve_items(["TSHIRT-BLK-M", "SOCKS-3PK", "HOODIE-GRY-M"])
                first = await sink.upsert_sales_order(sample_order(), customer_ref=customer, item_refs=items)
                second = await sink.upsert_sales_order(sample_order(), customer_ref=customer, item_refs=items)
                assert first == second
                rows = [row async for row in sink.client.suiteql("SELECT tranid, otherrefnum FROM transaction")]
                return first, customer, rows
            finally:
                await sink.aclose()

        so_id, customer, rows = asyncio.run(go())
    finally:
        server.stop()
    assert rows == [{"tranid": "SO1", "otherrefnum": "#5001"}]
    orders = app.state.netsuite.sales_orders()
    assert [(o.id, o.entity, o.total) for o in orders] == [(so_id, customer, 90.35)]
    assert app.state.netsuite.created_at("2b6f0c1e-9d8a-4f3b-a2c1-7e6d5c4b3a21") == orders[0].created_at
