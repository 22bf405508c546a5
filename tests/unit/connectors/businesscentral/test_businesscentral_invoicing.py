"""Business Central as an InvoiceSink and a shipment source, through SPEC, against the sandbox."""

from __future__ import annotations

import asyncio

import httpx
from bc_helpers import CUSTOMER, connection, make_app, order, sink_for

from tradewire.canonical import Shipment
from tradewire.connectors import get_spec
from tradewire.connectors.base.budget import UnlimitedBudget
from tradewire.flows.shipment_orders import candidates

SPEC = get_spec("businesscentral")


def test_an_order_is_invoiced_once_and_its_posted_shipment_maps_back_to_it() -> None:
    app = make_app()
    sales = sink_for(app)
    assert SPEC.invoice_sink is not None
    invoices = SPEC.invoice_sink(connection(), UnlimitedBudget(), httpx.ASGITransport(app=app))

    async def go() -> tuple[str, str]:
        customer = await sales.upsert_customer(CUSTOMER)
        items = await sales.resolve_items(["cap-navy"])
        ref = await sales.upsert_sales_order(order(), customer_ref=customer, item_refs=items)
        first: str = await invoices.invoice_order(order(), sales_order_ref=ref)
        again: str = await invoices.invoice_order(order(), sales_order_ref=ref)
        assert again == first, "an invoiced order returns its invoice, and posts nothing"
        await sales.aclose()
        await invoices.aclose()
        return first, ref

    invoice_id, _ = asyncio.run(go())
    state = app.state.businesscentral
    assert list(state.company.sets["salesInvoices"]) == [invoice_id]
    (posted,) = state.company.sets["salesShipments"].values()
    payload = {**{k: v for k, v in posted.items() if not k.startswith("_")}, "salesShipmentLines": posted["_lines"]}
    shipment = SPEC.sources["shipment"].to_canonical(payload, client_id="c1", connection_id="conn-bc")
    assert isinstance(shipment, Shipment)
    # externalDocumentNumber: the canonical order id without dashes, which the flow reads back as the id.
    assert order().id in candidates(shipment)
