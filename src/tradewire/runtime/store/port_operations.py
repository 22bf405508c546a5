"""Operations records: order holds, and facts that close exceptions.

A hold keeps an order from the ERP until it is released, by an operator or because its rules
no longer apply. ``order_to_erp``'s ``check_holds`` step records :class:`HoldPlaced` and
:class:`HoldReleased`; operators release through the store (``release_hold``), which also wakes
the run parked on the hold. ``port_facts.ExceptionsResolved`` closes exceptions when a run heals
the problem they describe (a replayed order that now reaches the ERP).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class HoldState(StrEnum):
    """A hold is held until released; a released hold stays released."""

    HELD = "held"
    RELEASED = "released"


@dataclass(frozen=True)
class HoldPlaced:
    """Fact: the order is held (idempotent per order; refreshes reasons and run of a held one).

    A released hold is not held again by a rule: the operator's release stands. ``manual``
    holds (by an operator) re-hold a released order.

    Attributes:
        reasons: one ``{"rule": ..., "detail": ...}`` per rule that matched.
        release_at: when the hold releases itself (``auto_release_after``), or None.
    """

    order_id: str
    order_number: str
    connection_id: str | None
    reasons: tuple[dict[str, Any], ...]
    held_by: str = "rules"
    release_at: datetime | None = None
    manual: bool = False


@dataclass(frozen=True)
class HoldReleased:
    """Fact: the order's hold is released (no-op when it is not held)."""

    order_id: str
    released_by: str
    reason: str


@dataclass(frozen=True)
class HoldRecord:
    """One order's hold as operators see it."""

    order_id: str
    order_number: str
    connection_id: str | None
    state: HoldState
    reasons: list[dict[str, Any]]
    run_id: int | None
    held_by: str
    held_at: datetime
    release_at: datetime | None
    released_at: datetime | None
    released_by: str | None
    release_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "order_id": self.order_id,
            "order_number": self.order_number,
            "connection_id": self.connection_id,
            "state": self.state.value,
            "reasons": self.reasons,
            "run_id": self.run_id,
            "held_by": self.held_by,
            "held_at": self.held_at.isoformat(),
            "release_at": self.release_at.isoformat() if self.release_at else None,
            "released_at": self.released_at.isoformat() if self.released_at else None,
            "released_by": self.released_by,
            "release_reason": self.release_reason,
        }
