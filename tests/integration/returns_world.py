"""Returns test world: the integration world plus a Walmart channel and a Loop account (sandboxes on loopback)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from tradewire.connectors.base.auth import hmac_sha256_base64
from tradewire.connectors.base.sandbox import FaultKnobs, LoopbackServer
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.loop.sandbox import create_sandbox as create_loop
from tradewire.connectors.walmart.poller import polled_event
from tradewire.connectors.walmart.refunds import refund_comments
from tradewire.connectors.walmart.sandbox import create_sandbox as create_walmart
from tradewire.connectors.walmart.schemas import WalmartOrder
from tradewire.runtime.store.port_facts import ExceptionFilter
from tradewire.runtime.store.tables import stock_movements
from tradewire.services.demo_world import CATALOG
from tradewire.services.ingest import WebhookIngest, inbound_item
from tradewire.services.returns import Returns
from tradewire.tenancy.context import client_scope
from tradewire.tenancy.secrets import SecretBox

if TYPE_CHECKING:
    from tests.integration.conftest import World


@dataclass
class Shop:
    """The world plus a Walmart channel and a Loop account routed to its NetSuite."""

    world: World
    walmart_server: LoopbackServer
    walmart_id: str
    loop_server: LoopbackServer
    loop_id: str
    loop_secret: str

    @property
    def walmart(self) -> Any:
        return self.walmart_server.app.state.walmart

    @property
    def loop(self) -> Any:
        return self.loop_server.app.state.loop

    @property
    def credit_memos(self) -> list[dict[str, Any]]:
        memos: list[dict[str, Any]] = self.world.netsuite_server.app.state.netsuite_returns.credit_memos()
        return memos

    def service(self) -> Returns:
        return Returns(self.world.store, self.world.client_id, actor="test")

    def shipped_order(self) -> dict[str, Any]:
        """A two-line Walmart PO, shipped in full."""
        order = self.walmart.create_orders(1, lines=2)[0]
        lines = []
        for line in order["orderLines"]["orderLine"]:
            status = {"status": "Shipped", "statusQuantity": {"unitOfMeasurement": "EACH", "amount": line["orderLineQuantity"]["amount"]},
                      "trackingInfo": {"shipDateTime": 1, "carrierName": {"carrier": "UPS"}, "trackingNumber": "1Z999"}}  # fmt: skip
            lines.append({"lineNumber": line["lineNumber"], "orderLineStatuses": {"orderLineStatus": [status]}})
        body = {"orderShipment": {"orderLines": {"orderLine": lines}}}
        return dict(self.walmart.update_lines(order["purchaseOrderId"], "shipping", body))

    def ingest_order(self, order: dict[str, Any]) -> None:
        """Store the PO as the poller would (message + runs in one transaction)."""
        connection = Connection(self.walmart_id, self.world.client_id, "walmart", {}, {})
        event = polled_event(WalmartOrder.model_validate(order), connection)
        self.world.store.ingest(
            [inbound_item("walmart", connection, event, json.dumps(order).encode(), {}, datetime.now(UTC))]
        )

    def loop_return(self, order: dict[str, Any]) -> int:
        """A Loop return of one unit of each PO line."""
        items = []
        for index, line in enumerate(order["orderLines"]["orderLine"]):
            unit = Decimal(str(line["charges"]["charge"][0]["chargeAmount"]["amount"])) / int(
                line["orderLineQuantity"]["amount"]
            )
            items.append({"line_item_id": 5000 + index, "provider_line_item_id": line["lineNumber"], "sku": line["item"]["sku"],
                          "title": line["item"].get("productName", ""), "price": str(unit.quantize(Decimal("0.01"))),
                          "discount": "0.00", "tax": "0.00", "refund": str(unit.quantize(Decimal("0.01"))),
                          "returned_at": None, "reason": "Too small"})  # fmt: skip
        record = self.loop.add_return({"order_name": order["customerOrderId"], "provider_order_id": order["purchaseOrderId"],
                                       "currency": "USD", "outcome": "refund", "line_items": items})  # fmt: skip
        return int(record["id"])

    async def deliver(
        self, ingest: WebhookIngest, topic: str, trigger: str, return_id: int, body: bytes | None = None
    ) -> str:
        """Deliver one signed Loop webhook (the current state of the return unless ``body`` is given)."""
        body = body if body is not None else self.loop.webhook_body(topic, trigger, return_id)
        headers = {"Content-Type": "application/json", "X-Loop-Signature": hmac_sha256_base64(self.loop_secret, body)}
        accepted = await ingest.receive("loop", self.loop_id, body, headers)
        return accepted.status

    def rmas(self) -> list[dict[str, Any]]:
        return self.service().list()

    def movements(self) -> list[tuple[str, str, int]]:
        """What the returns did to stock (kind, SKU, units); the orders' own commitments are left out."""
        engine = self.world.store.engine  # type: ignore[attr-defined]
        with engine.connect() as conn:
            rows = conn.execute(
                select(stock_movements).where(
                    stock_movements.c.client_id == self.world.client_id,
                    stock_movements.c.kind.in_(("restock", "refurbish", "write_off")),
                )
            )
            return sorted((r.kind, r.sku, r.quantity) for r in rows)

    def walmart_refunds(self, po: str) -> list[str]:
        order = WalmartOrder.model_validate(self.walmart.get_order(po))
        return [refund_comments(line) for line in order.order_lines.order_line if refund_comments(line)]


def open_shop(world: World, walmart_knobs: FaultKnobs | None = None, erp_id: str | None = None) -> Iterator[Shop]:
    """Start the sandboxes and create the connections; stops the sandboxes when closed."""
    box = SecretBox(world.settings.secret_key.get_secret_value())
    wm_creds = {"client_id": secrets.token_hex(8), "client_secret": secrets.token_hex(16)}
    walmart = LoopbackServer(create_walmart(catalog=CATALOG, seed=5, knobs=walmart_knobs, **wm_creds)).start()
    walmart_id = world.store.create_connection(
        world.client_id, "walmart", "Walmart (sandbox)", {"base_url": walmart.url, "routes": {"erp": erp_id or world.netsuite_id}},
        box.seal(wm_creds),
    )  # fmt: skip
    loop_creds = {"api_key": secrets.token_hex(12), "webhook_secret": secrets.token_hex(16)}
    loop = LoopbackServer(create_loop(seed=5, **loop_creds)).start()
    loop_id = world.store.create_connection(
        world.client_id, "loop", "Loop (sandbox)", {"base_url": f"{loop.url}/api/v1"}, box.seal(loop_creds)
    )
    yield Shop(world, walmart, walmart_id, loop, loop_id, loop_creds["webhook_secret"])
    walmart.stop()
    loop.stop()


def open_exceptions(world: World, kind: str) -> list[Any]:
    """This client's open exceptions of ``kind``."""
    with client_scope(world.client_id):
        return world.store.list_exceptions(ExceptionFilter(kind=kind))
