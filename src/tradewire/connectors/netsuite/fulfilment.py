"""NetSuite in fulfilment: item fulfilments polled back (``PollStream`` "item_fulfillments") and invoices.

The poller asks SuiteQL for item fulfilments (``transaction`` type ``ItemShip``) modified since
the cursor minus an overlap, reads each one with its sublists, and stores the shipped ones as
``shipment.created`` messages keyed by id and modification time (a fulfilment read twice is
stored once; one changed later is stored again and the flow sees it is confirmed already).
The cursor is the newest modification time stored, ``YYYY-MM-DD HH:MM:SS`` (sorts as text).

Invoices are ``salesOrder/{id}/!transform/invoice`` with ``externalId = inv-<order id>``: the
sink looks that externalId up first, so an invoiced order is never invoiced twice.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx

from tradewire.canonical import Order
from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.spec import Connection, InboundEvent, PolledPage, PolledRecord, PollStream
from tradewire.connectors.netsuite.client import NetSuiteClient, NetSuiteRejected
from tradewire.connectors.netsuite.fulfilment_mapping import is_shipped
from tradewire.connectors.netsuite.settings import NetSuiteSecrets, NetSuiteSettings
from tradewire.connectors.netsuite.sink import _validate
from tradewire.errors import ConfigError

STREAM = "item_fulfillments"
LOOKBACK = timedelta(hours=24)
OVERLAP = timedelta(minutes=2)
PAGE = 50
_FORMAT = "%Y-%m-%d %H:%M:%S"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def client_for(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None
) -> NetSuiteClient:
    """A client for one connection.

    Raises:
        ConfigError: the connection's settings or secrets are invalid (the message names the fields).
    """
    problems: list[str] = []
    settings = _validate(NetSuiteSettings, connection.settings, "settings", problems)
    secrets = _validate(NetSuiteSecrets, connection.secrets, "secrets", problems)
    if settings is None or secrets is None:
        raise ConfigError(f"NetSuite connection {connection.id} is misconfigured ({', '.join(problems)})")
    return NetSuiteClient(settings, secrets, budget=budget, transport=transport)


def fulfilments_query(since: datetime) -> str:
    """SuiteQL for item fulfilments modified at or after ``since`` (UTC), oldest first."""
    return (
        "SELECT id, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS modified FROM transaction "
        f"WHERE type = 'ItemShip' AND lastmodifieddate >= TO_DATE('{since.strftime(_FORMAT)}', "
        "'YYYY-MM-DD HH24:MI:SS') ORDER BY lastmodifieddate, id"
    )


class ItemFulfillmentPoller:
    """The ``Poller`` of one connection's item fulfilments."""

    def __init__(self, client: NetSuiteClient, connection_id: str) -> None:
        self.client = client
        self.connection_id = connection_id

    async def pages(self, cursor: str | None, *, now: datetime) -> AsyncIterator[PolledPage]:
        """Pages of shipped fulfilments modified since ``cursor`` − overlap (first poll: a day back).

        Raises:
            ConfigError: a stored cursor this poller did not write.
        """
        if cursor is None:
            since = now - LOOKBACK
        else:
            try:
                since = datetime.strptime(cursor, _FORMAT).replace(tzinfo=UTC) - OVERLAP
            except ValueError:
                raise ConfigError(
                    f"stored item_fulfillments cursor {cursor[:40]!r} is not one this poller writes"
                ) from None
        floor = since.strftime(_FORMAT)
        newest = cursor
        batch: list[PolledRecord] = []
        async for row in self.client.suiteql(fulfilments_query(since)):
            modified = str(row.get("modified") or "")
            if not modified or modified < floor:
                continue  # SuiteQL compared by date only (or the row has no time): skip what the cursor covers
            record = await self.client.get_record("itemFulfillment", str(row["id"]), expand=True)
            if is_shipped(record):
                batch.append(self._record(record, modified))
            newest = modified if newest is None or modified > newest else newest
            if len(batch) >= PAGE:
                yield PolledPage(batch, newest)
                batch = []
        yield PolledPage(batch, newest)

    def _record(self, record: dict[str, object], modified: str) -> PolledRecord:
        created_from = record.get("createdFrom")
        order = created_from.get("id") if isinstance(created_from, dict) else None
        moment = datetime.strptime(modified, _FORMAT).replace(tzinfo=UTC)
        event = InboundEvent(
            event_type="shipment.created",
            idempotency_key=f"itemFulfillment:{record['id']}:{modified}",
            object_type="shipment",
            external_id=str(record["id"]),
            ordering_key=f"netsuite:{self.connection_id}:order:{order or record['id']}",
            ordering_seq=(moment - _EPOCH) // timedelta(microseconds=1),
            triggered_at=moment,
        )
        return PolledRecord(event, json.dumps(record).encode())

    async def aclose(self) -> None:
        """Close the client."""
        await self.client.aclose()


def open_fulfilment_poller(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None
) -> ItemFulfillmentPoller:
    """``PollStream.open`` for ``item_fulfillments``."""
    return ItemFulfillmentPoller(client_for(connection, budget, transport), connection.id)


FULFILMENT_STREAM = PollStream(name=STREAM, every_seconds=300.0, open=open_fulfilment_poller)


def invoice_external_id(order_id: str) -> str:
    """The invoice's externalId for a canonical order (the idempotency key of its creation)."""
    return f"inv-{order_id}"


class NetSuiteInvoiceSink:
    """``InvoiceSink``: ``!transform/invoice`` of a sales order, looked up by externalId first."""

    def __init__(self, client: NetSuiteClient) -> None:
        self.client = client

    async def find_invoice(self, order: Order) -> str | None:
        """The internal id of the order's invoice, or None."""
        try:
            record = await self.client.get_record("invoice", f"eid:{invoice_external_id(order.id)}")
        except NetSuiteRejected as exc:
            if exc.status == 404:
                return None
            raise
        return str(record.get("id")) if record.get("id") else None

    async def invoice_order(self, order: Order, *, sales_order_ref: str) -> str:
        """Invoice the sales order; an invoiced order returns its existing invoice's id.

        Raises:
            NetSuiteRejected: NetSuite refused (nothing billable, a closed order…).
            NetSuite…: as any client call.
        """
        existing = await self.find_invoice(order)
        if existing is not None:
            return existing
        body = {"externalId": invoice_external_id(order.id)}
        try:
            return await self.client.transform("salesOrder", sales_order_ref, "invoice", body)
        except NetSuiteRejected:
            # A retry after a lost answer collides with the invoice the first attempt made.
            again = await self.find_invoice(order)
            if again is None:
                raise
            return again

    async def aclose(self) -> None:
        """Release connections."""
        await self.client.aclose()


def make_invoice_sink(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None
) -> NetSuiteInvoiceSink:
    """``SPEC.invoice_sink``."""
    return NetSuiteInvoiceSink(client_for(connection, budget, transport))
