"""Business Central as an ``OrderSink``: the client and the mapping composed for the order flows.

BC has no idempotency key, so every create is preceded by a lookup on a stable key:
sales orders by ``externalDocumentNumber`` (the canonical order id), customers by ``number``
(derived from the canonical customer id). A retry after a timeout BC applied anyway finds the
record and updates it instead of creating a second one. Updates carry ``If-Match``; a stale
etag is re-read and retried once. Line changes go in one atomic JSON ``$batch``.

Cancelling deletes the open sales order (BC has no cancelled state for orders; an order with
shipped lines cannot be deleted and is refused with a reason: it needs a credit memo).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from tradewire.canonical import Customer, Order, OrderStatus
from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.businesscentral.client import (
    BatchOperation,
    BusinessCentralClient,
    BusinessCentralEntityChanged,
    BusinessCentralRejected,
)
from tradewire.connectors.businesscentral.mapping import (
    customer_number,
    customer_to_bc,
    external_document_number,
    order_to_sales_order,
)
from tradewire.connectors.businesscentral.schemas import BcSalesOrder, BcSalesOrderLine
from tradewire.connectors.businesscentral.settings import BusinessCentralSettings, validate_connection
from tradewire.errors import PermanentError, SkippableError

# Item numbers per $filter=number in (…): keeps the URL well under BC's limits.
ITEM_LOOKUP_CHUNK = 50
_LINE_FIELDS = ("lineType", "itemId", "lineObjectNumber", "quantity", "unitPrice", "discountAmount", "description")
NOT_FOUND_CODES = ("BadRequest_NotFound", "Internal_RecordNotFound")


class BusinessCentralOrderSink:
    """Writes canonical customers and orders into one Business Central company.

    Args:
        client: the company's API client.
        settings: the connection's settings (used by the mapping).
    """

    def __init__(self, client: BusinessCentralClient, settings: BusinessCentralSettings) -> None:
        self.client = client
        self.settings = settings

    async def upsert_customer(self, customer: Customer) -> str:
        """Find the customer by its derived ``number``, else create it; return BC's customer id.

        Raises:
            BusinessCentralRejected, BusinessCentralAuthError, BusinessCentralRateLimited,
            BusinessCentralUnavailable: from the client.
        """
        number = customer_number(customer.id, self.settings.customer_number_prefix)
        found = await self.client.find_customer(number=number)
        if found is not None:
            return found.id
        try:
            return (await self.client.create_customer(customer_to_bc(customer, self.settings))).id
        except BusinessCentralRejected:
            # A concurrent or earlier timed-out create may have won the number meanwhile.
            found = await self.client.find_customer(number=number)
            if found is not None:
                return found.id
            raise

    async def resolve_items(self, skus: list[str]) -> dict[str, str]:
        """Item ids of ``skus`` by item ``number`` (BC upper-cases Code fields); unknown SKUs left out."""
        wanted = sorted({sku for sku in skus if sku})
        by_number: dict[str, str] = {}
        numbers = sorted({sku.upper() for sku in wanted})
        for start in range(0, len(numbers), ITEM_LOOKUP_CHUNK):
            for item in await self.client.items_by_number(numbers[start : start + ITEM_LOOKUP_CHUNK]):
                by_number.setdefault(item.number.upper(), item.id)
        return {sku: by_number[sku.upper()] for sku in wanted if sku.upper() in by_number}

    async def upsert_sales_order(self, order: Order, *, customer_ref: str, item_refs: Mapping[str, str]) -> str:
        """Create (deep insert) or update the sales order found by ``externalDocumentNumber``; return its id.

        Raises:
            MappingError: unresolved SKUs, shipping without a shipping account.
            SkippableError: a cancelled order whose BC sales order is gone (never re-created).
            PermanentError: the existing order has shipped lines that the update would change.
            BusinessCentralRejected, …: from the client.
        """
        body = order_to_sales_order(order, customer_ref=customer_ref, item_refs=item_refs, settings=self.settings)
        existing = await self.client.find_sales_order(body["externalDocumentNumber"])
        if existing is None:
            if order.status is OrderStatus.CANCELLED:
                raise SkippableError(
                    f"order {order.number} is cancelled and has no Business Central sales order; nothing to update"
                )
            # BC deletes a sales order once it is fully shipped and invoiced: a late channel update
            # must not create it again.
            if await self.client.posted_shipments(body["externalDocumentNumber"], top=1):
                raise SkippableError(
                    f"order {order.number} is already shipped and invoiced in Business Central; "
                    "later channel changes are not applied to posted documents"
                )
            return (await self.client.create_sales_order(body)).id
        if order.status is OrderStatus.CANCELLED:
            await self._delete(existing, order)
            return existing.id
        await self._update(existing, body, order)
        return existing.id

    async def _update(self, existing: BcSalesOrder, body: dict[str, Any], order: Order) -> None:
        path = self.client.company(f"salesOrders({existing.id})")
        header = {k: v for k, v in body.items() if k not in ("salesOrderLines", "customerId")}
        current = existing.model_dump(by_alias=True)
        if any(current.get(k) != v for k, v in header.items()):
            await self.client.patch_fresh(path, header, etag=existing.etag or "*", what=f"salesOrder {existing.number}")
        operations = self._line_operations(path, existing.sales_order_lines or [], body["salesOrderLines"], order)
        if operations:
            await self.client.batch(operations, atomic=True)

    def _line_operations(
        self, path: str, have: list[BcSalesOrderLine], want: list[dict[str, Any]], order: Order
    ) -> list[BatchOperation]:
        base = path.lstrip("/")
        have = sorted(have, key=lambda line: line.sequence)
        ops: list[BatchOperation] = []
        for n, wanted in enumerate(want):
            if n >= len(have):
                ops.append(BatchOperation("POST", f"{base}/salesOrderLines", body=wanted))
                continue
            line = have[n]
            current = line.model_dump(by_alias=True)
            changes = {k: wanted[k] for k in _LINE_FIELDS if k in wanted and _differs(current.get(k), wanted[k])}
            if changes:
                self._check_unshipped(line, order)
                headers = {"If-Match": line.etag or "*"}
                ops.append(BatchOperation("PATCH", f"{base}/salesOrderLines({line.id})", body=changes, headers=headers))
        for line in have[len(want) :]:
            self._check_unshipped(line, order)
            ops.append(
                BatchOperation("DELETE", f"{base}/salesOrderLines({line.id})", headers={"If-Match": line.etag or "*"})
            )
        return ops

    @staticmethod
    def _check_unshipped(line: BcSalesOrderLine, order: Order) -> None:
        if line.shipped_quantity > 0:
            raise PermanentError(
                f"order {order.number}: Business Central line {line.sequence} ({line.line_object_number}) is already "
                "shipped and cannot change; handle the change with a return or credit memo"
            )

    async def cancel_sales_order(self, order: Order, *, sales_order_ref: str) -> None:
        """Delete the open sales order; a sales order already gone is fine (idempotent).

        Raises:
            PermanentError: lines are already shipped (BC refuses to delete; a credit memo is needed).
            BusinessCentralRejected, …: from the client.
        """
        try:
            raw = await self.client.get_sales_order(sales_order_ref)
        except BusinessCentralRejected as exc:
            if exc.code not in NOT_FOUND_CODES and exc.status != 404:
                raise
            # Gone: deleted by an earlier cancel (fine), or posted in full (BC deletes posted orders).
            if await self.client.posted_shipments(external_document_number(order.id)):
                raise PermanentError(
                    f"order {order.number} is already shipped and invoiced in Business Central; it cannot be "
                    "cancelled there: record a return or a sales credit memo instead"
                ) from exc
            return
        await self._delete(BcSalesOrder.model_validate(raw), order)

    async def _delete(self, existing: BcSalesOrder, order: Order) -> None:
        for line in existing.sales_order_lines or []:
            self._check_unshipped(line, order)
        path = self.client.company(f"salesOrders({existing.id})")
        what = f"salesOrder {existing.number}"
        try:
            await self.client.delete(path, etag=existing.etag or "*", what=what)
        except BusinessCentralEntityChanged:
            current = BcSalesOrder.model_validate(await self.client.get_sales_order(existing.id))
            for line in current.sales_order_lines or []:
                self._check_unshipped(line, order)
            await self.client.delete(path, etag=current.etag or "*", what=what)
        except BusinessCentralRejected as exc:
            if exc.code in NOT_FOUND_CODES or exc.status == 404:
                return
            raise

    async def aclose(self) -> None:
        """Close the client's connections."""
        await self.client.aclose()


def _differs(current: Any, wanted: Any) -> bool:
    if isinstance(wanted, int | float) and not isinstance(wanted, bool):
        try:
            return float(current) != float(wanted)
        except (TypeError, ValueError):
            return True
    return bool(current != wanted)


def make_order_sink(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None = None
) -> BusinessCentralOrderSink:
    """``SPEC.order_sink``: a sink for one connection, its requests paid from ``budget``.

    Raises:
        PermanentError: the connection's settings or secrets are invalid (the message names the fields).
    """
    settings, secrets = validate_connection(connection)
    return BusinessCentralOrderSink(
        BusinessCentralClient(settings, secrets, budget=budget, transport=transport), settings
    )
