"""NetSuite as an ``OrderSink``: the client and the mapping composed for the order flows.

Every write is idempotent by construction: customers and sales orders are upserted with
``PUT …/eid:{canonical id}``, so a retry after a timeout (which NetSuite may have applied
anyway) updates the same record instead of creating a second one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import httpx
from pydantic import ValidationError

from tradewire.canonical import Customer, Order
from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.netsuite.client import NetSuiteClient, NetSuiteRejected, check_external_id, suiteql_in_list
from tradewire.connectors.netsuite.mapping import (
    STATUS_CANCELLED,
    cancel_sales_order_body,
    customer_to_netsuite,
    order_to_sales_order,
)
from tradewire.connectors.netsuite.settings import NetSuiteSecrets, NetSuiteSettings
from tradewire.errors import PermanentError

# Well under Oracle's 1,000-expression IN-list limit and short enough for a readable log line.
ITEM_LOOKUP_CHUNK = 200


class NetSuiteOrderSink:
    """Writes canonical customers and orders into one NetSuite account.

    Args:
        client: the account's REST client.
        settings: the connection's settings (used by the mapping).
    """

    def __init__(self, client: NetSuiteClient, settings: NetSuiteSettings) -> None:
        self.client = client
        self.settings = settings

    async def upsert_customer(self, customer: Customer) -> str:
        """Upsert the customer with ``externalId = customer.id``; return its internal id.

        Raises:
            PermanentError: the canonical id cannot be an externalId.
            NetSuiteRejected, NetSuiteAuthError, NetSuiteRateLimited, NetSuiteUnavailable: from the client.
        """
        check_external_id(customer.id)
        return await self.client.upsert_customer(customer.id, customer_to_netsuite(customer, self.settings))

    async def resolve_items(self, skus: list[str]) -> dict[str, str]:
        """Internal ids of the items whose ``itemid`` is one of ``skus``; unknown SKUs are left out.

        Raises:
            NetSuiteRejected, NetSuiteAuthError, NetSuiteRateLimited, NetSuiteUnavailable: from the client.
        """
        wanted = sorted({sku for sku in skus if sku})
        found: dict[str, str] = {}
        for start in range(0, len(wanted), ITEM_LOOKUP_CHUNK):
            chunk = wanted[start : start + ITEM_LOOKUP_CHUNK]
            query = f"SELECT id, itemid FROM item WHERE itemid IN {suiteql_in_list(chunk)} ORDER BY id"
            async for row in self.client.suiteql(query):
                sku, item_id = row.get("itemid"), row.get("id")
                if isinstance(sku, str) and sku in chunk and item_id is not None and sku not in found:
                    found[sku] = str(item_id)
        return found

    async def upsert_sales_order(self, order: Order, *, customer_ref: str, item_refs: Mapping[str, str]) -> str:
        """Upsert the sales order with ``externalId = order.id``; return its internal id.

        Raises:
            MappingError: a SKU without item, an unmapped currency, a discount without discount item.
            PermanentError: the canonical id cannot be an externalId.
            NetSuiteRejected, NetSuiteAuthError, NetSuiteRateLimited, NetSuiteUnavailable: from the client.
        """
        check_external_id(order.id)
        body = order_to_sales_order(order, customer_ref=customer_ref, item_refs=item_refs, settings=self.settings)
        return await self.client.upsert_sales_order(order.id, body)

    async def cancel_sales_order(self, order: Order, *, sales_order_ref: str) -> None:
        """Set the sales order's status to Cancelled; cancelling a cancelled order is a no-op.

        Raises:
            NetSuiteRejected: NetSuite refuses (e.g. the order is already fulfilled) and it is not cancelled.
            NetSuiteAuthError, NetSuiteRateLimited, NetSuiteUnavailable: from the client.
        """
        try:
            await self.client.patch_sales_order(sales_order_ref, cancel_sales_order_body())
        except NetSuiteRejected:
            # Some accounts refuse to cancel twice; the outcome the caller wants already holds.
            record = await self.client.get_record("salesOrder", sales_order_ref)
            status = record.get("orderStatus")
            if isinstance(status, dict) and status.get("id") == STATUS_CANCELLED:
                return
            raise

    async def aclose(self) -> None:
        """Close the client's connections."""
        await self.client.aclose()


def make_order_sink(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None = None
) -> NetSuiteOrderSink:
    """``SPEC.order_sink``: a sink for one connection, its requests paid from ``budget``.

    Raises:
        PermanentError: the connection's settings or secrets are invalid (the message names the fields).
    """
    problems: list[str] = []
    settings = _validate(NetSuiteSettings, connection.settings, "settings", problems)
    secrets = _validate(NetSuiteSecrets, connection.secrets, "secrets", problems)
    if settings is None or secrets is None:
        raise PermanentError(
            f"NetSuite connection {connection.id} is misconfigured ({', '.join(problems)}): fix its settings or secrets"
        )
    return NetSuiteOrderSink(NetSuiteClient(settings, secrets, budget=budget, transport=transport), settings)


ModelT = TypeVar("ModelT", NetSuiteSettings, NetSuiteSecrets)


def _validate(model: type[ModelT], values: Mapping[str, object], where: str, problems: list[str]) -> ModelT | None:
    """The parsed model, or None with the failing field names added to ``problems`` (never their values)."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        problems.extend(f"{where}." + ".".join(str(p) for p in err["loc"]) for err in exc.errors())
        return None
