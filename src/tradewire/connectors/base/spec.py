"""What a connector offers, declared once in its ``SPEC``.

Flows never import a connector: they look its ``SPEC`` up by system name and use the
capabilities it declares (``inbound`` webhooks, ``order_source`` mapping, ``order_sink``
client, ``sandbox``). Capabilities are small protocols so a connector is composed, not
inherited.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
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


class InboundWebhooks(Protocol):
    """Verifies and reads the vendor's webhook deliveries."""

    def verify(self, body: bytes, headers: Mapping[str, str], connection: Connection, *, now: datetime) -> None:
        """Check the signature and freshness of one delivery.

        Raises:
            WebhookRejected: unsigned, tampered or stale (status 401), or unsupported topic (400).
        """
        ...

    def parse(self, body: bytes, headers: Mapping[str, str], connection: Connection, *, now: datetime) -> InboundEvent:
        """Read what the delivery is about (called only after ``verify``).

        Raises:
            WebhookRejected: the body is not JSON or misses the object's id (status 400).
        """
        ...


class OrderSource(Protocol):
    """Turns the vendor's order payload into the canonical order (pure)."""

    def to_order(self, payload: Mapping[str, Any], *, client_id: str, connection_id: str) -> Order:
        """Map one vendor order.

        Raises:
            MappingError: with a reason a person can act on.
        """
        ...


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


OrderSinkFactory = Callable[[Connection, RateBudget, "httpx.AsyncBaseTransport | None"], OrderSink]
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
    order_payload: Callable[[Order], dict[str, Any]] | None = None
    """The request body this system receives for a canonical order (references as placeholders)."""
    capabilities: tuple[str, ...] = field(default=())
