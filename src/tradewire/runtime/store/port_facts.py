"""Facts: records a run commits in the same transaction as its transition.

A step records a fact with ``ctx.record(fact)`` (a stock movement, an exception for a person to
act on, an RMA state change…). The engine puts the run's facts on its transition and the store
writes them together, or not at all when the lease fence fails, so a zombie worker's facts are
dropped with its transition. Facts learnt before a failure are kept, like bindings.

Every fact carries its own idempotency key: a retried or replayed step that records the same
fact again changes nothing. Each fact type has one writer in the SQL store
(:mod:`tradewire.runtime.store.facts`), registered by the module that owns its table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class ExceptionState(StrEnum):
    """An exception is open until a person (or a healing re-run) resolves it."""

    OPEN = "open"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class OpenException:
    """Fact: something a person must look at (unknown SKU, refund without a return, drift…).

    ``key`` identifies the problem, not the occurrence: opening it again while it is open
    counts another occurrence and refreshes the message; opening it after it was resolved
    opens it again.

    Attributes:
        key: the problem's identity within the client, e.g. ``refund_without_return:<refund id>``.
        kind: a stable machine name operators filter by (``unknown_sku``, ``quantity_mismatch``…).
        object_type: the canonical object it concerns (``order``, ``return``, ``sku``…).
        canonical_id: that object's canonical id (or the SKU for ``sku``).
        message: one sentence saying what is wrong and what to do.
        detail: JSON-serialisable facts for the dashboard (never secrets).
    """

    key: str
    kind: str
    object_type: str
    canonical_id: str
    message: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExceptionsResolved:
    """Fact: the problems with these keys are healed; their open exceptions are resolved (others: no-op)."""

    keys: Sequence[str]
    resolution: str
    resolved_by: str = "tradewire"


@dataclass(frozen=True)
class ExceptionRecord:
    """One exception as operators see it."""

    id: int
    client_id: str
    key: str
    kind: str
    object_type: str
    canonical_id: str
    state: ExceptionState
    message: str
    detail: dict[str, Any]
    occurrences: int
    run_id: int | None
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution: str | None = None


@dataclass(frozen=True)
class ExceptionFilter:
    """Operator queries over exceptions (fields combined with AND)."""

    state: ExceptionState | None = ExceptionState.OPEN
    kind: str | None = None
    object_type: str | None = None
    canonical_id: str | None = None
    limit: int = 100
    before_id: int | None = None


class StockMovementKind(StrEnum):
    """Why units of a SKU moved (the inventory ledger reads these)."""

    COMMIT = "commit"
    """An open order reserved units (not yet shipped)."""
    RELEASE = "release"
    """A cancellation gave reserved units back."""
    SHIP = "ship"
    """Reserved units left the building (the ERP's next on-hand figure will show it)."""
    RESTOCK = "restock"
    """Returned units went back on the shelf."""
    WRITE_OFF = "write_off"
    """Returned units were scrapped (no on-hand effect; recorded for reports)."""
    REFURBISH = "refurbish"
    """Returned units went to refurbishment (not sellable yet)."""


@dataclass(frozen=True)
class StockMovement:
    """Fact: ``quantity`` units of ``sku`` moved at ``location`` (None: the default location).

    Attributes:
        key: idempotency key within the client, e.g. ``ship:<shipment id>:<sku>``.
        reference: the canonical id of the order, shipment or return that moved them.
        at: when it happened at the source (None: when the run commits).
    """

    key: str
    kind: StockMovementKind
    sku: str
    quantity: int
    location: str | None = None
    reference: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class ObjectSnapshot:
    """Fact: the latest canonical form of a business object (an order as the channel last said).

    Flows that start from another system (an ERP shipment, a Loop return) read the order from
    here instead of asking the channel again. A snapshot replaces the stored one only when its
    ``version`` sorts at or after it, so a late, older update never overwrites a newer one.

    Attributes:
        label: what people call it (the order number), for lookups such as ``orders timeline #1001``.
        version: sortable version, e.g. the source's ISO-8601 UTC change time.
        body: the canonical model as JSON (``model_dump(mode="json")``).
    """

    object_type: str
    canonical_id: str
    label: str | None
    version: str
    body: dict[str, Any]


@dataclass(frozen=True)
class StoredObject:
    """A stored snapshot, with when it was last written."""

    object_type: str
    canonical_id: str
    label: str | None
    version: str
    body: dict[str, Any]
    updated_at: datetime
