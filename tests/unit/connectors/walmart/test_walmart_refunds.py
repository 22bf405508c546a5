"""Walmart refunds: ours go out once (marked), outside ones are read back from polled POs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tradewire.canonical import ExternalRef, Order, OrderLine, Return, ReturnLine
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.walmart.client import WalmartClient
from tradewire.connectors.walmart.poller import polled_event
from tradewire.connectors.walmart.refunds import WalmartRefundSink, refund_from_order, refund_request
from tradewire.connectors.walmart.schemas import WalmartOrder
from tradewire.errors import MappingError, SkippableError

CONNECTION = Connection("wm-1", "c1", "walmart", {}, {})


def shipped(app: Any) -> dict[str, Any]:
    state = app.state.walmart
    order = state.create_orders(1, lines=1)[0]
    line = order["orderLines"]["orderLine"][0]
    status = {"status": "Shipped", "statusQuantity": {"unitOfMeasurement": "EACH", "amount": line["orderLineQuantity"]["amount"]},
              "trackingInfo": {"shipDateTime": 1, "carrierName": {"carrier": "UPS"}, "trackingNumber": "1Z1"}}  # fmt: skip
    body = {
        "orderShipment": {
            "orderLines": {
                "orderLine": [{"lineNumber": line["lineNumber"], "orderLineStatuses": {"orderLineStatus": [status]}}]
            }
        }
    }
    return dict(state.update_lines(order["purchaseOrderId"], "shipping", body))


def canonical(po: dict[str, Any]) -> tuple[Order, Return]:
    line = po["orderLines"]["orderLine"][0]
    quantity = int(line["orderLineQuantity"]["amount"])
    order = Order(
        id="o1", client_id="c1", number=po["customerOrderId"], currency="USD",
        source=ExternalRef(system="walmart", connection_id="wm-1", object="order", external_id=po["purchaseOrderId"]),
        placed_at=datetime(2026, 11, 1, tzinfo=UTC),
        lines=[OrderLine(line_id=line["lineNumber"], sku=line["item"]["sku"], quantity=quantity, unit_price=Decimal("10"),
                         total=Decimal("10") * quantity)],
        subtotal=Decimal("10") * quantity, total=Decimal("10") * quantity,
    )  # fmt: skip
    ret = Return(
        id="rma-42", client_id="c1", order_number=po["customerOrderId"], created_at=datetime(2026, 11, 2, tzinfo=UTC),
        source=ExternalRef(system="loop", connection_id="lp", object="return", external_id="42"), currency="USD",
        lines=[ReturnLine(line_id="L1", sku=line["item"]["sku"], quantity=1, refund_amount=Decimal("10.00"), reason="Damaged")],
        refund_total=Decimal("10.00"),
    )  # fmt: skip
    return order, ret


def test_a_refund_is_sent_once_even_when_asked_twice(app: Any, make_client: Any) -> None:
    po = shipped(app)
    order, ret = canonical(po)
    client: WalmartClient = make_client(app)
    sink = WalmartRefundSink(client)
    refs = asyncio.run(sink.refund(ret, order=order, order_ref=po["purchaseOrderId"]))
    again = asyncio.run(sink.refund(ret, order=order, order_ref=po["purchaseOrderId"]))
    assert refs == again
    stored = app.state.walmart.get_order(po["purchaseOrderId"])
    refund = stored["orderLines"]["orderLine"][0]["refund"]
    assert refund["refundComments"] == "tradewire:rma-42"
    assert len(refund["refundCharges"]["refundCharge"]) == 1
    assert refund["refundCharges"]["refundCharge"][0]["refundReason"] == "DamagedItem"
    # our own refund is not an outside refund: the next poll is a plain update
    with pytest.raises(SkippableError):
        refund_from_order(stored, client_id="c1", connection_id="wm-1")
    assert polled_event(WalmartOrder.model_validate(stored), CONNECTION).event_type == "order.updated"


def test_a_refund_made_in_seller_center_is_read_back_as_a_refund(app: Any) -> None:
    po = shipped(app)
    line = po["orderLines"]["orderLine"][0]
    charge = {"refundReason": "CustomerChangedMind", "charge": {"chargeType": "PRODUCT", "chargeName": "Item Price",
              "chargeAmount": {"currency": "USD", "amount": -12.5}}}  # fmt: skip
    entry = {"lineNumber": line["lineNumber"], "isFullRefund": False,
             "refunds": {"refund": [{"refundComments": "goodwill", "refundCharges": {"refundCharge": [charge]}}]}}  # fmt: skip
    stored = app.state.walmart.update_lines(
        po["purchaseOrderId"], "refund", {"orderRefund": {"orderLines": {"orderLine": [entry]}}}
    )
    refund = refund_from_order(stored, client_id="c1", connection_id="wm-1")
    assert refund.amount == Decimal("12.50")
    assert refund.order_external_id == po["purchaseOrderId"]
    assert [r.order_line_id for r in refund.lines] == [line["lineNumber"]]
    assert polled_event(WalmartOrder.model_validate(stored), CONNECTION).event_type == "order.refunded"


def test_a_returned_line_not_on_the_po_is_a_clear_mapping_error(app: Any) -> None:
    po = shipped(app)
    order, ret = canonical(po)
    stray = ret.model_copy(update={"lines": [ret.lines[0].model_copy(update={"sku": "NOPE", "order_line_id": "99"})]})
    with pytest.raises(MappingError, match="matches no line"):
        refund_request(stray, order=order, order_ref=po["purchaseOrderId"])
