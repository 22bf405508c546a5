"""Operator use cases on orders: find one by its number, hold it, release it (audited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tradewire.errors import Conflict, NotFound
from tradewire.runtime.store.port import Store
from tradewire.runtime.store.port_facts import StoredObject
from tradewire.runtime.store.port_operations import HoldPlaced, HoldRecord, HoldState
from tradewire.tenancy.context import client_scope

MAX_REASON = 500
MAX_NUMBER = 64


def check_reason(reason: str) -> str:
    """An operator's reason, trimmed.

    Raises:
        Conflict: empty, or longer than :data:`MAX_REASON` characters.
    """
    text = reason.strip()
    if not text:
        raise Conflict("give a reason (it is kept in the audit trail)")
    if len(text) > MAX_REASON:
        raise Conflict(f"the reason is {len(text)} characters; at most {MAX_REASON}")
    return text


@dataclass(frozen=True)
class FoundOrder:
    """An order as Tradewire last saw it from its channel."""

    id: str
    number: str
    connection_id: str
    external_id: str
    body: dict[str, Any]

    @property
    def ordering_key(self) -> str:
        """The ordering key the channel's events of this order carry."""
        return f"order:{self.connection_id}:{self.external_id}"

    @classmethod
    def of(cls, stored: StoredObject) -> FoundOrder:
        """From the order snapshot ``map_order`` wrote."""
        source = stored.body.get("source") or {}
        return cls(
            id=stored.canonical_id,
            number=str(stored.label or stored.body.get("number") or ""),
            connection_id=str(source.get("connection_id", "")),
            external_id=str(source.get("external_id", "")),
            body=stored.body,
        )


class OrderOperations:
    """Find, hold and release one client's orders."""

    def __init__(self, store: Store, client_id: str, *, actor: str) -> None:
        self.store = store
        self.client_id = client_id
        self.actor = actor

    def find(self, number_or_id: str, *, connection_id: str | None = None) -> FoundOrder:
        """The order with this channel number (``1001`` or ``#1001``) or canonical id.

        Raises:
            NotFound: no such order (or the text cannot be an order number).
            Conflict: several channels have an order with this number; name the connection.
        """
        text = number_or_id.strip()
        if not text or len(text) > MAX_NUMBER or any(ord(c) < 32 for c in text):
            raise NotFound(f"{number_or_id[:80]!r} is not an order number or id")
        with client_scope(self.client_id):
            found = [FoundOrder.of(o) for o in self.store.find_objects("order", text)]
            if not found and not text.startswith("#"):
                found = [FoundOrder.of(o) for o in self.store.find_objects("order", f"#{text}")]
            if not found:
                by_id = self.store.get_object("order", text)
                found = [FoundOrder.of(by_id)] if by_id is not None else []
        if connection_id is not None:
            found = [o for o in found if o.connection_id == connection_id]
        if not found:
            raise NotFound(f"no order {text!r} has reached Tradewire")
        if len(found) > 1:
            channels = ", ".join(sorted(o.connection_id for o in found))
            raise Conflict(f"order {text!r} exists on several channels ({channels}); choose one with --connection")
        return found[0]

    def hold(self, number_or_id: str, reason: str, *, connection_id: str | None = None) -> HoldRecord:
        """Hold an order by hand: its next ``order_to_erp`` run waits until it is released (audited).

        Raises:
            NotFound, Conflict: as :meth:`find`; Conflict also for a bad reason or an order already held.
        """
        why = check_reason(reason)
        order = self.find(number_or_id, connection_id=connection_id)
        now = datetime.now(UTC)
        with client_scope(self.client_id):
            current = self.store.get_hold(order.id)
            if current is not None and current.state is HoldState.HELD:
                raise Conflict(f"order {order.number} is already held (by {current.held_by})")
            fact = HoldPlaced(
                order.id,
                order.number,
                order.connection_id,
                ({"rule": "manual", "detail": why},),
                held_by=self.actor,
                manual=True,
            )
            self.store.record_facts([fact], now)
            self.store.append_audit(
                self.actor, "order.hold", f"order:{order.id}", {"number": order.number, "reason": why}, now
            )
            hold = self.store.get_hold(order.id)
        assert hold is not None
        return hold

    def release(self, number_or_id: str, reason: str, *, connection_id: str | None = None) -> HoldRecord:
        """Release a held order; its parked run goes on at once (audited).

        Raises:
            NotFound: no such order, or it was never held.
            Conflict: a bad reason, or the hold is already released.
        """
        why = check_reason(reason)
        order = self.find(number_or_id, connection_id=connection_id)
        return self._release(order, why)

    def release_by_id(self, order_id: str, reason: str) -> HoldRecord:
        """Release by canonical order id (the API's form)."""
        why = check_reason(reason)
        with client_scope(self.client_id):
            stored = self.store.get_object("order", order_id) if 0 < len(order_id) <= MAX_NUMBER else None
        if stored is None:
            raise NotFound(f"order {order_id[:80]!r} does not exist")
        return self._release(FoundOrder.of(stored), why)

    def _release(self, order: FoundOrder, why: str) -> HoldRecord:
        now = datetime.now(UTC)
        with client_scope(self.client_id):
            hold = self.store.release_hold(order.id, f"{self.actor}", why, now)
            self.store.append_audit(
                self.actor, "order.release", f"order:{order.id}", {"number": order.number, "reason": why}, now
            )
        return hold

    def holds(self, *, state: HoldState | None = HoldState.HELD, limit: int = 100) -> list[HoldRecord]:
        """Holds, newest first (held ones by default)."""
        with client_scope(self.client_id):
            return self.store.list_holds(state, limit)
