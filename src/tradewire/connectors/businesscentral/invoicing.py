"""Business Central's ``InvoiceSink``: ``Microsoft.NAV.shipAndInvoice`` of a shipped sales order.

BC has no idempotency key, so the sink looks first: a posted ``salesInvoices`` entry carrying the
order's ``externalDocumentNumber`` means the order is invoiced already, and its id is returned.
Otherwise it posts ``shipAndInvoice`` (which invoices what is shipped and ships what is left) and
reads the new invoice back.
"""

from __future__ import annotations

import httpx

from tradewire.canonical import Order
from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.businesscentral.client import BusinessCentralClient, BusinessCentralUnavailable
from tradewire.connectors.businesscentral.mapping import external_document_number
from tradewire.connectors.businesscentral.odata import odata_literal
from tradewire.connectors.businesscentral.settings import validate_connection

SYSTEM = "businesscentral"


class BusinessCentralInvoiceSink:
    """Invoices sales orders (lookup by ``externalDocumentNumber`` before posting)."""

    def __init__(self, client: BusinessCentralClient) -> None:
        self.client = client

    async def find_invoice(self, order: Order) -> str | None:
        """The id of a posted invoice of ``order``, or None."""
        params = {"$filter": f"externalDocumentNumber eq {odata_literal(external_document_number(order.id))}"}
        rows = await self.client.list_all(self.client.company("salesInvoices"), what="salesInvoices", params=params)
        return str(rows[0]["id"]) if rows and rows[0].get("id") else None

    async def invoice_order(self, order: Order, *, sales_order_ref: str) -> str:
        """Invoice the sales order ``sales_order_ref``; an invoiced order returns its existing invoice's id.

        Raises:
            BusinessCentralUnavailable: BC posted but the invoice cannot be read back (retry: the lookup finds it).
            BusinessCentral…: from the requests.
        """
        existing = await self.find_invoice(order)
        if existing is not None:
            return existing
        await self.client.ship_and_invoice(sales_order_ref)
        posted = await self.find_invoice(order)
        if posted is None:
            raise BusinessCentralUnavailable(
                f"shipAndInvoice of salesOrder {sales_order_ref} left no invoice to read back", system=SYSTEM
            )
        return posted

    async def aclose(self) -> None:
        """Release connections."""
        await self.client.aclose()


def make_invoice_sink(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None
) -> BusinessCentralInvoiceSink:
    """``SPEC.invoice_sink``.

    Raises:
        PermanentError: the connection's settings or secrets are invalid.
    """
    settings, secrets = validate_connection(connection)
    return BusinessCentralInvoiceSink(BusinessCentralClient(settings, secrets, budget=budget, transport=transport))
