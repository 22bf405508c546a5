"""Port records of the returns engine: RMAs as facts, and how operators query them.

An RMA is written as a fact (:class:`RmaSnapshot`) with the run that changed it, so its state,
its bindings (refund, credit memo) and its stock movements commit in one transaction. A stored
RMA is replaced only by a higher ``version``: a late or replayed run never moves it backwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class RmaSnapshot:
    """Fact: an RMA's newest form (``body`` is ``returns.model.Rma`` as JSON).

    Attributes:
        order_id: the canonical order it returns (operators list an order's returns).
        state: its state, for filtering.
        version: replaces a stored RMA only when higher.
    """

    rma_id: str
    order_id: str
    state: str
    version: int
    body: dict[str, Any]


@dataclass(frozen=True)
class StoredRma:
    """An RMA as stored, with when it was last written."""

    rma_id: str
    order_id: str
    state: str
    version: int
    body: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True)
class RmaFilter:
    """Operator queries over RMAs (fields combined with AND), newest change first."""

    state: str | None = None
    order_id: str | None = None
    limit: int = 100
