"""Shopify writes against the in-process sandbox: fulfilments, inventory quantities, refunds."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tradewire.canonical import InventoryLevel, Order, Return, Shipment
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.shopify import SPEC
from tradewire.connectors.shopify.client import ShopifyAdminClient
from tradewire.connectors.shopify.fulfilment import ShopifyShipmentSink
from tradewire.connectors.shopify.inventory import ShopifyInventoryPublisher
from tradewire.connectors.shopify.mapping import order_to_canonical
from tradewire.connectors.shopify.refunds import ShopifyRefundSink
from tradewire.connectors.shopify.sandbox import create_sandbox
from tradewire.connectors.shopify.sandbox_shop import SandboxOptions
from tradewire.connectors.shopify.settings import ShopifySecrets, ShopifySettings
from tradewire.errors import RetryableError, VendorRejected

SECRET, TOKEN = "sandbox-secret", "shpat_good"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def sync(test: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    """Run an async test body on a fresh event loop."""

    @functools.wraps(test)
    def run() -> None:
        asyncio.run(test())

    return run


def sandbox(**options: Any) -> Any:
    return create_sandbox(client_secret=SECRET, access_token=TOKEN, seed=5, options=SandboxOptions(**options))


def client_for(app: Any, **settings: Any) -> ShopifyAdminClient:
    return ShopifyAdminClient(
        ShopifySettings(shop_domain="acme.myshopify.com", base_url="http://sandbox.test", **settings),
        ShopifySecrets(client_secret=SECRET, access_token=TOKEN),
        transport=httpx.ASGITransport(app),
    )


def paid_order(app: Any) -> tuple[dict[str, Any], Order]:
    shop = app.state.shop
    while True:
        order = shop.create_orders(1)[0]
        if order["financial_status"] == "paid" and len(order["line_items"]) >= 2:
            return order, order_to_canonical(order, client_id="c1", connection_id="conn-1")


def shipment_of(order: Order, lines: list[tuple[str, int]], *, tracking: str | None, sid: str = "shp-1") -> Shipment:
    return Shipment.model_validate(
        {
            "id": sid,
            "client_id": "c1",
            "source": {"system": "shipstation", "connection_id": "ss", "object": "shipment", "external_id": sid},
            "order_number": order.number,
            "shipped_at": NOW,
            "carrier": "UPS",
            "tracking_number": tracking,
            "tracking_url": f"https://ups.example/{tracking}" if tracking else None,
            "lines": [{"order_line_id": line_id, "quantity": qty} for line_id, qty in lines],
        }
    )


# --- fulfilment --------------------------------------------------------------------------------


@sync
async def test_partial_then_rest_fulfils_with_tracking_and_closes_the_order() -> None:
    app = sandbox()
    rest, order = paid_order(app)
    first, second = order.lines[0], order.lines[1]
    sink = ShopifyShipmentSink(client_for(app), "conn-1")
    one = await sink.confirm_shipment(
        shipment_of(order, [(first.line_id, 1)], tracking="1Z1"), order=order, order_ref=str(rest["id"])
    )
    stored = app.state.shop.get_order(rest["id"])
    assert stored["fulfillment_status"] == "partial"
    assert stored["fulfillments"][0]["tracking_number"] == "1Z1"
    rest_lines = [(line.line_id, line.quantity - (1 if line is first else 0)) for line in order.lines]
    two = await sink.confirm_shipment(
        shipment_of(order, [(lid, q) for lid, q in rest_lines if q], tracking="1Z2", sid="shp-2"),
        order=order,
        order_ref=str(rest["id"]),
    )
    assert one != two
    stored = app.state.shop.get_order(rest["id"])
    assert stored["fulfillment_status"] == "fulfilled"
    assert [f["tracking_number"] for f in stored["fulfillments"]] == ["1Z1", "1Z2"]
    assert second.line_id in {str(li["id"]) for f in stored["fulfillments"] for li in f["line_items"]}
    await sink.aclose()


@sync
async def test_confirming_the_same_shipment_twice_creates_one_fulfilment() -> None:
    app = sandbox()
    rest, order = paid_order(app)
    lines = [(line.line_id, line.quantity) for line in order.lines]
    async with client_for(app) as client:
        sink = ShopifyShipmentSink(client, "conn-1")
        for tracking in ("1ZA", None):
            shipment = shipment_of(order, lines, tracking=tracking, sid=f"shp-{tracking}")
            first = await sink.confirm_shipment(shipment, order=order, order_ref=str(rest["id"]))
            again = await sink.confirm_shipment(shipment, order=order, order_ref=str(rest["id"]))
            assert first == again
            if tracking is None:
                break
            app.state.shop.fulfilment.orders.clear()  # a fresh order state for the untracked case
            rest, order = paid_order(app)
            lines = [(line.line_id, line.quantity) for line in order.lines]
    assert all(len(app.state.shop.get_order(o)["fulfillments"]) <= 1 for o in app.state.shop.orders)


@sync
async def test_over_fulfilment_is_refused_with_shopifys_message() -> None:
    app = sandbox()
    rest, order = paid_order(app)
    line = order.lines[0]
    async with client_for(app) as client:
        sink = ShopifyShipmentSink(client, "conn-1")
        with pytest.raises(VendorRejected, match="Invalid fulfillment order line item quantity"):
            await sink.confirm_shipment(
                shipment_of(order, [(line.line_id, line.quantity + 1)], tracking="1ZX"),
                order=order,
                order_ref=str(rest["id"]),
            )
        with pytest.raises(VendorRejected, match="not a line"):
            await sink.confirm_shipment(
                shipment_of(order, [("999", 1)], tracking="1ZY"), order=order, order_ref=str(rest["id"])
            )
        with pytest.raises(VendorRejected, match="does not exist"):
            await sink.confirm_shipment(
                shipment_of(order, [(line.line_id, 1)], tracking="1ZZ"), order=order, order_ref="12345"
            )
    assert app.state.shop.get_order(rest["id"])["fulfillments"] == []


# --- inventory ---------------------------------------------------------------------------------


def level(sku: str, available: int, location: str | None = None) -> InventoryLevel:
    return InventoryLevel(client_id="c1", sku=sku, location=location, available=available, as_of=NOW)


@sync
async def test_publish_sets_absolute_quantities_and_reports_each_sku() -> None:
    app = sandbox(initial_available=5)
    stock = app.state.shop.stock
    async with client_for(app) as client:
        publisher = ShopifyInventoryPublisher(client)
        outcomes = await publisher.publish(
            [level("TEE-BLK-M", 12), level("CAP-NVY", 0), level("NOPE", 3), level("MUG-ENM", 7, "Retail store")]
        )
    assert [(o.sku, o.accepted) for o in outcomes] == [
        ("TEE-BLK-M", True),
        ("CAP-NVY", True),
        ("NOPE", False),
        ("MUG-ENM", True),
    ]
    assert "no inventory item" in (outcomes[2].error or "")
    assert stock.level("TEE-BLK-M").available == 12
    assert stock.level("CAP-NVY").available == 0
    retail = next(i for i, name in stock.locations.items() if name == "Retail store")
    assert stock.level("MUG-ENM", retail).available == 7
    assert stock.level("MUG-ENM").available == 5  # the default location is untouched


@sync
async def test_a_quantity_changed_meanwhile_is_reread_and_set() -> None:
    app = sandbox(initial_available=5)
    stock = app.state.shop.stock
    calls = 0
    original = stock.set_quantities

    def sell_one_first(data: Any, *, strict_change_from: bool) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            stock.set_available("TEE-BLK-M", 4)  # a sale lands between our read and our write
        return original(data, strict_change_from=strict_change_from)

    stock.set_quantities = sell_one_first
    async with client_for(app) as client:
        outcomes = await ShopifyInventoryPublisher(client).publish([level("TEE-BLK-M", 9), level("CAP-NVY", 2)])
    assert all(o.accepted for o in outcomes)
    assert calls == 3  # refused whole (atomic), the fresh SKU alone, then the stale one re-read
    assert stock.level("TEE-BLK-M").available == 9
    assert stock.level("CAP-NVY").available == 2


@sync
async def test_sandbox_enforces_change_from_quantity_and_idempotency_rules() -> None:
    app = sandbox(initial_available=5)
    shop = app.state.shop
    item = f"gid://shopify/InventoryItem/{shop.stock.item_of('CAP-NVY')}"
    location = f"gid://shopify/Location/{next(iter(shop.stock.locations))}"

    async def send(quantity: dict[str, Any], key: str | None) -> dict[str, Any]:
        declared, directive = (", $key: String!", " @idempotent(key: $key)") if key else ("", "")
        query = (
            f"mutation S($input: InventorySetQuantitiesInput!{declared}) {{ inventorySetQuantities(input: $input)"
            f"{directive} {{ userErrors {{ field code }} }} }}"
        )
        variables: dict[str, Any] = {"input": {"name": "available", "reason": "correction", "quantities": [quantity]}}
        if key:
            variables["key"] = key
        async with client_for(app) as client:
            try:
                return await client.execute(query, variables, cost=10, operation="set")
            except VendorRejected as exc:
                return {"rejected": str(exc)}

    base = {"inventoryItemId": item, "locationId": location, "quantity": 8}
    assert "required" in (await send({**base, "changeFromQuantity": 5}, None))["rejected"]
    missing = await send(base, "k1")
    assert missing["inventorySetQuantities"]["userErrors"][0]["field"][-1] == "changeFromQuantity"
    stale = await send({**base, "changeFromQuantity": 4}, "k2")
    assert stale["inventorySetQuantities"]["userErrors"][0]["code"] == "CHANGE_FROM_QUANTITY_STALE"
    assert (await send({**base, "changeFromQuantity": 5}, "k3"))["inventorySetQuantities"]["userErrors"] == []
    assert (await send({**base, "quantity": 20, "changeFromQuantity": None}, "k3"))["inventorySetQuantities"][
        "userErrors"
    ] == []
    assert shop.stock.level("CAP-NVY").available == 8  # the replayed key changed nothing


# --- refunds -----------------------------------------------------------------------------------


def return_of(order: Order, line_id: str, qty: int, amount: str, *, disposition: str = "restock") -> Return:
    return Return.model_validate(
        {
            "id": "ret-1",
            "client_id": "c1",
            "source": {"system": "loop", "connection_id": "loop", "object": "return", "external_id": "r1"},
            "order_number": order.number,
            "created_at": NOW,
            "currency": order.currency,
            "lines": [
                {
                    "line_id": "l1",
                    "order_line_id": line_id,
                    "quantity": qty,
                    "refund_amount": amount,
                    "disposition": disposition,
                }
            ],
            "refund_total": amount,
        }
    )


@sync
async def test_refund_restocks_refunds_money_and_is_idempotent_by_return() -> None:
    app = sandbox(initial_available=5)
    shop = app.state.shop
    rest, order = paid_order(app)
    line = order.lines[0]
    ret = return_of(order, line.line_id, 1, "10.00")
    async with client_for(app) as client:
        sink = ShopifyRefundSink(client, "conn-1")
        first = await sink.refund(ret, order=order, order_ref=str(rest["id"]))
        shop.idempotent_results.clear()  # even once Shopify forgot the key, the note finds the refund
        again = await sink.refund(ret, order=order, order_ref=str(rest["id"]))
    assert first == again
    stored = shop.get_order(rest["id"])
    assert len(stored["refunds"]) == 1
    assert stored["refunds"][0]["transactions"][0]["amount"] == "10.00"
    assert stored["financial_status"] == "partially_refunded"
    assert shop.stock.level(line.sku).available == 6


@sync
async def test_refund_of_more_than_was_bought_or_paid_is_refused() -> None:
    app = sandbox()
    rest, order = paid_order(app)
    line = order.lines[0]
    async with client_for(app) as client:
        sink = ShopifyRefundSink(client, "conn-1")
        with pytest.raises(VendorRejected, match="more items than were purchased"):
            await sink.refund(
                return_of(order, line.line_id, line.quantity + 1, "1.00"), order=order, order_ref=str(rest["id"])
            )
        too_much = str(order.total + Decimal(1))
        with pytest.raises(VendorRejected, match="exceeds the refundable"):
            await sink.refund(return_of(order, line.line_id, 1, too_much), order=order, order_ref=str(rest["id"]))
    assert app.state.shop.get_order(rest["id"])["refunds"] == []


def test_spec_declares_the_write_capabilities() -> None:
    connection = Connection(
        "conn-1", "c1", "shopify", {"shop_domain": "a.myshopify.com"}, {"client_secret": "s", "access_token": "t"}
    )
    assert SPEC.shipment_sink is not None
    assert SPEC.inventory_publisher is not None
    assert SPEC.refund_sink is not None
    assert isinstance(SPEC.shipment_sink(connection, None, None), ShopifyShipmentSink)  # type: ignore[arg-type]
    publisher = SPEC.inventory_publisher(connection, None, None)  # type: ignore[arg-type]
    assert publisher.max_batch == 250


class LosesFirstAnswer(httpx.AsyncBaseTransport):
    """Forwards every request; the first answer to a request naming ``mutation`` is lost (a read timeout)."""

    def __init__(self, app: Any, mutation: str) -> None:
        self.inner = httpx.ASGITransport(app)
        self.mutation = mutation.encode()
        self.lost = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.mutation in request.content and not self.lost:
            self.lost += 1
            raise httpx.ReadTimeout("answer lost", request=request)
        return response


@pytest.mark.parametrize("mutation", ["fulfillmentCreate", "refundCreate"])
def test_a_write_whose_answer_was_lost_is_not_made_twice_on_retry(mutation: str) -> None:
    app = sandbox(initial_available=5)
    rest, order = paid_order(app)
    line = order.lines[0]
    transport = LosesFirstAnswer(app, mutation)
    client = ShopifyAdminClient(
        ShopifySettings(shop_domain="acme.myshopify.com", base_url="http://sandbox.test"),
        ShopifySecrets(client_secret=SECRET, access_token=TOKEN),
        transport=transport,
    )

    async def write() -> str:
        if mutation == "fulfillmentCreate":
            untracked = shipment_of(order, [(line.line_id, 1)], tracking=None)
            return await ShopifyShipmentSink(client, "conn-1").confirm_shipment(
                untracked, order=order, order_ref=str(rest["id"])
            )
        ret = return_of(order, line.line_id, 1, "3.00", disposition="write_off")
        return await ShopifyRefundSink(client, "conn-1").refund(ret, order=order, order_ref=str(rest["id"]))

    async def main() -> str:
        try:
            with pytest.raises(RetryableError):
                await write()
            return await write()
        finally:
            await client.aclose()

    made = asyncio.run(main())
    assert transport.lost == 1
    stored = app.state.shop.get_order(rest["id"])
    kind = "fulfillments" if mutation == "fulfillmentCreate" else "refunds"
    assert len(stored[kind]) == 1
    assert made.endswith(str(stored[kind][0]["id"]))
    assert app.state.shop.stock.level(line.sku).available == 5  # written off: nothing restocked


@sync
async def test_refunding_an_unshipped_line_leaves_less_to_fulfil_and_names_match_any_case() -> None:
    app = sandbox(initial_available=5)
    rest, order = paid_order(app)
    line = order.lines[0]
    async with client_for(app) as client:
        await ShopifyRefundSink(client, "conn-1").refund(
            return_of(order, line.line_id, line.quantity, "1.00", disposition="write_off"),
            order=order,
            order_ref=str(rest["id"]),
        )
        with pytest.raises(VendorRejected, match="Invalid fulfillment order line item quantity"):
            await ShopifyShipmentSink(client, "conn-1").confirm_shipment(
                shipment_of(order, [(line.line_id, 1)], tracking="1ZR"), order=order, order_ref=str(rest["id"])
            )
        outcomes = await ShopifyInventoryPublisher(client).publish([level("CAP-NVY", 9, "RETAIL STORE")])
    assert outcomes[0].accepted


@sync
async def test_a_batch_too_big_is_refused_and_a_repeated_sku_keeps_its_last_level() -> None:
    app = sandbox(initial_available=5)
    async with client_for(app) as client:
        publisher = ShopifyInventoryPublisher(client)
        with pytest.raises(ValueError, match="at most 250"):
            await publisher.publish([level("CAP-NVY", 1)] * 251)
        outcomes = await publisher.publish([level("CAP-NVY", 1), level("CAP-NVY", 6), level("CAP-NVY", 2, "Nowhere")])
    assert [(o.accepted, o.error) for o in outcomes] == [
        (False, "superseded by a later level in the same batch"),
        (True, None),
        (False, "Shopify has no active location 'Nowhere'"),
    ]
    assert app.state.shop.stock.level("CAP-NVY").available == 6
