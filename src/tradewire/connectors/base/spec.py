"""What a connector offers, declared once in its ``SPEC``.

Flows never import a connector: they look its ``SPEC`` up by system name and use the
capabilities it declares (``inbound`` webhooks, ``order_source`` mapping, ``order_sink``
client, ``sandbox``). Capabilities are small protocols so a connector is composed, not
inherited.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Protocol

import httpx
from pydantic import BaseModel

from tradewire.canonical import Customer, Order
from tradewire.connectors.base.budget import RateBudget, RateLimit


@dataclass(frozen=True)
class Connection:
    """One client's account on one system, as a connector sees it (secrets decrypted)."""

    id: str
    client_id: str
    system: str
    settings: Mapping[str, Any]
    secrets: Mapping[str, str]


@dataclass(frozen=True)
class InboundEvent:
    """What a verified delivery is about, read from its headers and body.

    Attributes:
        event_type: canonical event name (``order.created``, ``order.updated``, ``order.cancelled``).
        idempotency_key: the vendor's event id; a second delivery with the same key is a no-op.
        object_type: canonical object (``order``).
        external_id: the vendor's id of the object.
        ordering_key: events with the same key are processed one at a time, in ``ordering_seq`` order.
        ordering_seq: microseconds since the epoch of the vendor's change time (falls back to receipt).
        triggered_at: when the vendor says it sent the event (None if it does not say).
    """

    event_type: str
    idempotency_key: str
    object_type: str
    external_id: str
    ordering_key: str
    ordering_seq: int
    triggered_at: datetime | None = None


NO_QUERY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class HandshakeReply:
    """The answer to a subscription handshake (e.g. Business Central's ``validationToken``)."""

    body: str
    status: int = 200
    content_type: str = "text/plain"


class InboundWebhooks(Protocol):
    """Verifies and reads the vendor's webhook deliveries.

    The receiver calls, in order: ``handshake`` (answer it and stop when it returns a reply),
    ``verify`` on the whole request, ``split`` into the events it carries (most vendors send
    one), then ``parse`` on each part; each part is stored as its own message. Headers arrive
    lower-cased; ``query`` is the request's query string (some vendors authenticate there).
    """

    def handshake(
        self, body: bytes, headers: Mapping[str, str], connection: Connection, *, query: Mapping[str, str]
    ) -> HandshakeReply | None:
        """A reply when this request is a subscription handshake rather than a delivery, else None.

        Raises:
            WebhookRejected: a handshake that fails the vendor's checks.
        """
        ...

    def verify(
        self,
        body: bytes,
        headers: Mapping[str, str],
        connection: Connection,
        *,
        now: datetime,
        query: Mapping[str, str] = NO_QUERY,
    ) -> None:
        """Check the signature and freshness of one delivery.

        Raises:
            WebhookRejected: unsigned, tampered or stale (status 401), or unsupported topic (400).
        """
        ...

    def split(self, body: bytes) -> list[bytes]:
        """The events one verified request carries, each as the bytes to store (usually ``[body]``).

        Raises:
            WebhookRejected: the body is not what the vendor sends (status 400).
        """
        ...

    def parse(
        self,
        body: bytes,
        headers: Mapping[str, str],
        connection: Connection,
        *,
        now: datetime,
        query: Mapping[str, str] = NO_QUERY,
    ) -> InboundEvent:
        """Read what one event is about (called only after ``verify``, on each part of ``split``).

        Raises:
            WebhookRejected: the body is not JSON or misses the object's id (status 400).
            WebhookIgnored: a topic the platform does not act on (answered 200, nothing stored).
        """
        ...


class SingleDelivery:
    """Defaults for vendors that send one event per request and have no handshake."""

    def handshake(
        self, body: bytes, headers: Mapping[str, str], connection: Connection, *, query: Mapping[str, str]
    ) -> HandshakeReply | None:
        """No handshake."""
        return None

    def split(self, body: bytes) -> list[bytes]:
        """The request is the one event."""
        return [body]


class OrderSource(Protocol):
    """Turns the vendor's order payload into the canonical order (pure)."""

    def reference(self, payload: Mapping[str, Any]) -> str | None:
        """None when ``payload`` is the whole order; else the vendor's order id to fetch first.

        Vendors whose notifications only name the order (Amazon ORDER_CHANGE, a ShipStation
        ``resource_url``) return the id; ``map_order`` then reads the order with ``order_reader``.
        """
        ...

    def to_order(self, payload: Mapping[str, Any], *, client_id: str, connection_id: str) -> Order:
        """Map one vendor order (as ``order_reader.fetch_order`` returns it, or as the webhook carries it).

        Raises:
            MappingError: with a reason a person can act on.
        """
        ...


class OrderReader(Protocol):
    """Reads one whole order from the vendor (for notifications that only name it)."""

    async def fetch_order(self, external_id: str) -> dict[str, Any]:
        """The order as ``OrderSource.to_order`` accepts it.

        Raises:
            NotFound: the vendor has no such order (permanent).
        """
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class ToCanonical(Protocol):
    """A pure vendor → canonical mapping of one record."""

    def __call__(self, payload: Mapping[str, Any], *, client_id: str, connection_id: str) -> BaseModel: ...


@dataclass(frozen=True)
class Reads:
    """A vendor record the connector maps to a canonical object (``tradewire map SYSTEM OBJECT``).

    Attributes:
        canonical: the canonical object it becomes: ``order``, ``shipment``, ``return``, ``inventory``, ``customer``.
        to_canonical: the pure mapping.
        description: one line for ``--help`` and docs (where the record comes from).
    """

    canonical: str
    to_canonical: ToCanonical
    description: str = ""


@dataclass(frozen=True)
class Writes:
    """A canonical object the connector turns into the vendor's request body (``tradewire map … --to``).

    References the vendor resolves at run time (internal ids) appear as ``<placeholders>``.
    """

    to_vendor: Callable[[Any], dict[str, Any]]
    description: str = ""


@dataclass(frozen=True)
class PolledRecord:
    """One record a poll found: the event it means and the bytes stored as the message body."""

    event: InboundEvent
    body: bytes


@dataclass(frozen=True)
class PolledPage:
    """One page of a poll. The runtime stores ``records`` and ``cursor`` in one transaction.

    ``cursor`` is where the next poll resumes once this page is stored (None: unchanged), so a
    restart after a crash re-reads at most the page that was not yet stored.
    """

    records: Sequence[PolledRecord]
    cursor: str | None


class Poller(Protocol):
    """An incremental reader of one stream of a vendor (orders updated since the cursor…)."""

    def pages(self, cursor: str | None, *, now: datetime) -> AsyncIterator[PolledPage]:
        """Pages of records changed since ``cursor`` (None: first poll, the connector's look-back)."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True)
class PollStream:
    """A stream the scheduler polls for every connection of the system.

    Attributes:
        name: the cursor's name in the store (``orders``), unique within the connector.
        every_seconds: default interval; a connection's ``poll.<name>.every_seconds`` setting overrides it.
        open: builds the poller for one connection.
    """

    name: str
    every_seconds: float
    open: Callable[[Connection, RateBudget, httpx.AsyncBaseTransport | None], Poller]


class OrderSink(Protocol):
    """Writes orders and customers into a system of record (an ERP), idempotently."""

    async def upsert_customer(self, customer: Customer) -> str:
        """Create or update the customer keyed by its canonical id; return the vendor's id."""
        ...

    async def resolve_items(self, skus: list[str]) -> dict[str, str]:
        """Vendor item ids of ``skus``; unknown SKUs are left out of the result."""
        ...

    async def upsert_sales_order(self, order: Order, *, customer_ref: str, item_refs: Mapping[str, str]) -> str:
        """Create or update the sales order keyed by the canonical order id; return the vendor's id."""
        ...

    async def cancel_sales_order(self, order: Order, *, sales_order_ref: str) -> None:
        """Cancel the sales order (idempotent: cancelling twice is fine)."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True)
class JobContext:
    """What a connection job may need besides the connection.

    Attributes:
        now: the scheduler's time.
        webhook_url: where this connection's deliveries reach Tradewire
            (``<api.public_url>/webhooks/<system>/<connection id>``), or None when no public URL is set.
    """

    now: datetime
    webhook_url: str | None


ConnectionJobRun = Callable[[Connection, RateBudget, "httpx.AsyncBaseTransport | None", JobContext], Awaitable[str]]


@dataclass(frozen=True)
class ConnectionJob:
    """Upkeep the scheduler's leader runs for every active connection of the system.

    E.g. renewing Business Central's webhook subscriptions before they expire. ``run`` returns one
    line saying what it did; an auth error pauses the connection like a run would.
    """

    name: str
    every_seconds: float
    run: ConnectionJobRun


class RecordReader(Protocol):
    """Reads the vendor records a thin message only names (ShipStation's SHIP_NOTIFY batch…)."""

    async def fetch_records(self, reference: str) -> list[dict[str, Any]]:
        """The records ``reference`` names, each one payload ``to_canonical`` accepts."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


def no_reference(payload: Mapping[str, Any]) -> str | None:
    """A source whose messages always carry the whole record."""
    return None


@dataclass(frozen=True)
class RecordSource:
    """How a stored message becomes canonical records of one kind (``shipment``, ``return``…).

    Attributes:
        to_canonical: the pure mapping of one vendor record.
        reference: what a thin message names (None: the message is the record itself).
        reader: reads the records a reference names (needed when ``reference`` can return one).
        description: one line for docs.
    """

    to_canonical: ToCanonical
    reference: Callable[[Mapping[str, Any]], str | None] = no_reference
    reader: RecordReaderFactory | None = None
    description: str = ""


VendorClientFactory = Callable[[Connection, RateBudget, "httpx.AsyncBaseTransport | None"], Any]
"""Builds a connection's client for one capability (sinks, publishers); see ``ConnectorSpec``."""
RecordReaderFactory = Callable[[Connection, RateBudget, "httpx.AsyncBaseTransport | None"], RecordReader]
OrderSinkFactory = Callable[[Connection, RateBudget, "httpx.AsyncBaseTransport | None"], OrderSink]
OrderReaderFactory = Callable[[Connection, RateBudget, "httpx.AsyncBaseTransport | None"], OrderReader]
SandboxFactory = Callable[..., Any]


@dataclass(frozen=True)
class ConnectorSpec:
    """Everything the platform needs to know about one system."""

    system: str
    display_name: str
    settings_model: type[BaseModel]
    secrets_model: type[BaseModel]
    rate_limits: tuple[RateLimit, ...] = ()
    webhooks: InboundWebhooks | None = None
    order_source: OrderSource | None = None
    order_sink: OrderSinkFactory | None = None
    sandbox: SandboxFactory | None = None
    order_reader: OrderReaderFactory | None = None
    reads: Mapping[str, Reads] = field(default_factory=dict)
    """Vendor records by the name ``tradewire map`` knows them (``order``, ``shipment``, ``return``…)."""
    writes: Mapping[str, Writes] = field(default_factory=dict)
    """Request bodies by the canonical object they are made from (``order``, ``shipment``, ``inventory``…)."""
    pollers: tuple[PollStream, ...] = ()
    jobs: tuple[ConnectionJob, ...] = ()
    sources: Mapping[str, RecordSource] = field(default_factory=dict)
    """How stored messages become canonical records, by canonical name (``shipment``, ``return``, ``inventory``…)."""
    shipment_sink: VendorClientFactory | None = None
    """Channel: confirms shipments with tracking (``connectors.base.fulfilment.ShipmentSink``)."""
    invoice_sink: VendorClientFactory | None = None
    """ERP: invoices fulfilled sales orders (``connectors.base.fulfilment.InvoiceSink``)."""
    inventory_publisher: VendorClientFactory | None = None
    """Channel: sets sellable quantities (``connectors.base.stock.InventoryPublisher``)."""
    refund_sink: VendorClientFactory | None = None
    """Channel: refunds the customer (``connectors.base.returns.RefundSink``)."""
    credit_memo_sink: VendorClientFactory | None = None
    """ERP: return authorisations and credit memos (``connectors.base.returns.CreditMemoSink``)."""
    capabilities: tuple[str, ...] = field(default=())
