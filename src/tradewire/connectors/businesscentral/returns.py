"""Business Central as a ``CreditMemoSink``: one ``salesCreditMemo`` per return.

BC has no idempotency key, so the memo is looked up by ``externalDocumentNumber`` (the return's
canonical id, as sales orders use the order's) before it is created with its lines in one deep
insert; a retry after a lost answer finds it. The customer is the sales order's.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx

from tradewire.canonical import Order, Return
from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.businesscentral.client import BusinessCentralClient
from tradewire.connectors.businesscentral.mapping import external_document_number
from tradewire.connectors.businesscentral.odata import odata_literal
from tradewire.connectors.businesscentral.settings import validate_connection
from tradewire.errors import MappingError

CREDIT_MEMOS = "salesCreditMemos"


def credit_memo_lines(ret: Return, item_refs: Mapping[str, str]) -> list[dict[str, Any]]:
    """``salesCreditMemoLines`` for ``ret``: one item line per returned SKU, unit price = refund per unit.

    Raises:
        MappingError: a line has no SKU or its SKU has no BC item.
    """
    quantities: dict[str, int] = {}
    amounts: dict[str, Decimal] = {}
    for line in ret.lines:
        if not line.sku or line.sku not in item_refs:
            raise MappingError(f"return {ret.number or ret.id}: line {line.line_id} has no BC item (SKU {line.sku!r})")
        quantities[line.sku] = quantities.get(line.sku, 0) + line.quantity
        amounts[line.sku] = amounts.get(line.sku, Decimal(0)) + line.refund_amount
    return [
        {
            "lineType": "Item",
            "itemId": item_refs[sku],
            "quantity": quantity,
            "unitPrice": float((amounts[sku] / quantity).quantize(Decimal("0.01"))),
        }
        for sku, quantity in quantities.items()
    ]


class BusinessCentralCreditMemoSink:
    """Books returns as sales credit memos in one BC company (``CreditMemoSink``)."""

    def __init__(self, client: BusinessCentralClient) -> None:
        self.client = client

    async def find(self, ret: Return) -> str | None:
        """The id of ``ret``'s credit memo if it exists."""
        number = external_document_number(ret.id)
        params = {"$filter": f"externalDocumentNumber eq {odata_literal(number)}"}
        rows = await self.client.list_all(self.client.company(CREDIT_MEMOS), what=CREDIT_MEMOS, params=params)
        return str(rows[0]["id"]) if rows else None

    async def credit_memo(
        self, ret: Return, *, order: Order, sales_order_ref: str, item_refs: Mapping[str, str]
    ) -> str:
        """Create ``ret``'s credit memo for the sales order's customer unless it exists; return its id.

        Raises:
            MappingError: a returned SKU has no BC item.
            BusinessCentralRejected and the client's other errors.
        """
        existing = await self.find(ret)
        if existing is not None:
            return existing
        lines = credit_memo_lines(ret, item_refs)
        sales_order = await self.client.get_sales_order(sales_order_ref)
        body: dict[str, Any] = {
            "customerId": sales_order["customerId"],
            "externalDocumentNumber": external_document_number(ret.id),
            "salesCreditMemoLines": lines,
        }
        if sales_order.get("currencyCode"):
            body["currencyCode"] = sales_order["currencyCode"]
        created = await self.client.create(self.client.company(CREDIT_MEMOS), body, what="salesCreditMemo")
        return str(created["id"])

    async def aclose(self) -> None:
        """Close the client."""
        await self.client.aclose()


def make_credit_memo_sink(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None = None
) -> BusinessCentralCreditMemoSink:
    """``SPEC.credit_memo_sink``.

    Raises:
        PermanentError: the connection's settings or secrets are invalid.
    """
    settings, secrets = validate_connection(connection)
    return BusinessCentralCreditMemoSink(BusinessCentralClient(settings, secrets, budget=budget, transport=transport))
