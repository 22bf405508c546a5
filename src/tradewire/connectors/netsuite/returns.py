"""NetSuite as a ``CreditMemoSink``: a return authorisation, then its credit memo, each exactly once.

1. Look the credit memo up by ``eid:CM-<return id>``: found means it was booked (a retry after a
   lost answer) and its id is returned unchanged.
2. Upsert the return authorisation ``PUT returnAuthorization/eid:RA-<return id>`` created from
   the sales order, lines replaced (``?replace=item``): repeating it changes nothing.
3. ``POST returnAuthorization/{id}/!transform/creditMemo`` with ``externalId = CM-<return id>``.
   NetSuite refuses a second credit of the same authorisation and a repeated ``externalId``,
   so even a lost answer followed by a retry books one memo; the retry finds it in step 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx

from tradewire.canonical import Order, Return
from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.netsuite.client import (
    RECORD_PATH,
    NetSuiteClient,
    NetSuiteRejected,
    NetSuiteUnavailable,
    check_external_id,
    id_from_location,
)
from tradewire.connectors.netsuite.sink import make_order_sink
from tradewire.errors import MappingError


def authorization_id(ret: Return) -> str:
    """The return authorisation's externalId."""
    return check_external_id(f"RA-{ret.id}")


def credit_memo_id(ret: Return) -> str:
    """The credit memo's externalId."""
    return check_external_id(f"CM-{ret.id}")


def return_authorization_body(
    ret: Return, *, sales_order_ref: str, item_refs: Mapping[str, str], location_id: str | None = None
) -> dict[str, Any]:
    """The ``returnAuthorization`` upsert body: one line per returned SKU, rate = refund per unit.

    Raises:
        MappingError: a line has no SKU or its SKU has no NetSuite item.
    """
    quantities: dict[str, int] = {}
    amounts: dict[str, Decimal] = {}
    for line in ret.lines:
        if not line.sku or line.sku not in item_refs:
            raise MappingError(
                f"return {ret.number or ret.id}: line {line.line_id} has no NetSuite item (SKU {line.sku!r})"
            )
        quantities[line.sku] = quantities.get(line.sku, 0) + line.quantity
        amounts[line.sku] = amounts.get(line.sku, Decimal(0)) + line.refund_amount
    items = []
    for sku, quantity in quantities.items():
        entry: dict[str, Any] = {
            "item": {"id": item_refs[sku]},
            "quantity": quantity,
            "rate": float((amounts[sku] / quantity).quantize(Decimal("0.01"))),
            "description": f"Returned {sku}",
        }
        if location_id:
            entry["location"] = {"id": location_id}
        items.append(entry)
    return {
        "externalId": authorization_id(ret),
        "createdFrom": {"id": sales_order_ref},
        "memo": f"Return {ret.number or ret.id} ({ret.source.system})"[:999],
        "item": {"items": items},
    }


class NetSuiteCreditMemoSink:
    """Books returns in one NetSuite account (``CreditMemoSink``)."""

    def __init__(self, client: NetSuiteClient, location_id: str | None = None) -> None:
        self.client = client
        self.location_id = location_id

    async def credit_memo(
        self, ret: Return, *, order: Order, sales_order_ref: str, item_refs: Mapping[str, str]
    ) -> str:
        """Book ``ret`` against the sales order; return the credit memo's internal id (idempotent).

        Raises:
            MappingError: a returned SKU has no NetSuite item.
            NetSuiteRejected, NetSuiteAuthError, NetSuiteRateLimited, NetSuiteUnavailable: as the client's.
        """
        existing = await self._existing_memo(ret)
        if existing is not None:
            return existing
        body = return_authorization_body(
            ret, sales_order_ref=sales_order_ref, item_refs=item_refs, location_id=self.location_id
        )
        ra_id = await self.client._upsert("returnAuthorization", authorization_id(ret), body, replace="item")
        memo = {"externalId": credit_memo_id(ret), "memo": f"Credit for return {ret.number or ret.id}"[:999]}
        what = f"the credit memo of returnAuthorization {ra_id}"
        try:
            response = await self.client._send(
                "POST", f"{RECORD_PATH}/returnAuthorization/{ra_id}/!transform/creditMemo", what=what, json_body=memo
            )
        except NetSuiteRejected:
            # Refused as a duplicate (credited by an attempt whose answer was lost)? Then it exists.
            found = await self._existing_memo(ret)
            if found is not None:
                return found
            raise
        memo_id = id_from_location(response.headers.get("Location"))
        if memo_id is None:
            found = await self._existing_memo(ret)
            if found is None:
                raise NetSuiteUnavailable(f"NetSuite created {what} but returned no id", system="netsuite")
            return found
        return memo_id

    async def _existing_memo(self, ret: Return) -> str | None:
        try:
            record = await self.client.get_record("creditMemo", f"eid:{credit_memo_id(ret)}")
        except NetSuiteRejected as exc:
            if exc.status == 404:
                return None
            raise
        found = record.get("id")
        return str(found) if found else None

    async def aclose(self) -> None:
        """Close the client's connections."""
        await self.client.aclose()


def make_credit_memo_sink(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None = None
) -> NetSuiteCreditMemoSink:
    """``SPEC.credit_memo_sink``: a sink for one connection (settings validated like the order sink's).

    Raises:
        PermanentError: the connection's settings or secrets are invalid.
    """
    order_sink = make_order_sink(connection, budget, transport)
    return NetSuiteCreditMemoSink(order_sink.client, order_sink.settings.default_location_id)
