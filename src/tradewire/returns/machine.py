"""The RMA state machine (pure: no I/O, no clock — callers pass ``now``).

::

    requested → authorized → in_transit → received → inspected → closed
        └──────────┴────────────┴──→ cancelled        (per line: restock | refurbish | write_off)

Each labelled transition is one function here: ``open_rma``, ``apply_update`` (vendor events),
``inspect`` (operator), ``record_refund``, ``record_credit_memo``, ``close``. Rules:

* Never backwards: a late or out-of-order vendor event that names an earlier state changes
  nothing (its lines are not applied either once the items are received).
* A vendor's "closed" means the vendor is done, not that we inspected: it counts as received.
* Cancelling is only possible before the items are received.
* Postings happen once, in order: the refund (unless the channel already refunded), then the
  credit memo; ``due_postings`` says what is still owed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from tradewire.canonical import Disposition, Return, ReturnOutcome, ReturnStatus
from tradewire.errors import PermanentError
from tradewire.returns.model import RANK, TERMINAL, RefundOrigin, Rma, RmaLine

CREDITED_OUTCOMES = frozenset({ReturnOutcome.REFUND, ReturnOutcome.STORE_CREDIT})
INSPECTABLE = frozenset({ReturnStatus.AUTHORIZED, ReturnStatus.IN_TRANSIT, ReturnStatus.RECEIVED})


class IllegalTransition(PermanentError):
    """A change the RMA's state does not allow (the message says why and what is possible)."""


class Posting(StrEnum):
    """An external document an RMA owes."""

    REFUND = "refund"
    CREDIT_MEMO = "credit_memo"


@dataclass(frozen=True)
class Change:
    """What a transition did: the RMA after it, and why nothing changed when ``ignored``."""

    rma: Rma
    changed: bool
    ignored: str | None = None


def _lines(ret: Return) -> list[RmaLine]:
    return [
        RmaLine(
            line_id=line.line_id,
            sku=line.sku,
            order_line_id=line.order_line_id,
            title=line.title,
            expected=line.quantity,
            refund_amount=line.refund_amount,
        )
        for line in ret.lines
    ]


def _target(status: ReturnStatus) -> ReturnStatus:
    """Where a vendor status may take an RMA: vendor closure or inspection only proves receipt."""
    return ReturnStatus.RECEIVED if status in (ReturnStatus.CLOSED, ReturnStatus.INSPECTED) else status


def open_rma(
    ret: Return, *, order_id: str, order_number: str, channel_connection_id: str, ordering_key: str, now: datetime
) -> Rma:
    """A new RMA from the first event of a return (its state is the vendor's, capped at received)."""
    return Rma(
        id=ret.id,
        client_id=ret.client_id,
        source_system=ret.source.system,
        source_connection_id=ret.source.connection_id,
        source_external_id=ret.source.external_id,
        number=ret.number,
        order_id=order_id,
        order_number=order_number,
        channel_connection_id=channel_connection_id,
        ordering_key=ordering_key,
        state=_target(ret.status),
        outcome=ret.outcome,
        currency=ret.currency,
        lines=_lines(ret),
        source_changed_at=ret.updated_at or ret.created_at,
        created_at=now,
        updated_at=now,
    )


def apply_update(rma: Rma, ret: Return, now: datetime) -> Change:
    """Apply a vendor's view of the return: forward moves only; lines change only before receipt.

    Raises:
        IllegalTransition: the vendor cancelled a return whose items were already received.
    """
    if rma.state in TERMINAL:
        return Change(rma, False, f"the RMA is {rma.state.value}; later events change nothing")
    changed_at = ret.updated_at or ret.created_at
    if rma.source_changed_at is not None and changed_at < rma.source_changed_at:
        return Change(rma, False, f"late event from {changed_at.isoformat()}: the RMA already reflects a newer one")
    target = _target(ret.status)
    if target is ReturnStatus.CANCELLED and RANK[rma.state] >= RANK[ReturnStatus.RECEIVED]:
        raise IllegalTransition(
            f"return {rma.number or rma.id} was cancelled at the source, but its items were already "
            f"{rma.state.value}; inspect them (or close it) instead"
        )
    updates: dict[str, object] = {}
    if RANK[target] > RANK[rma.state]:
        updates["state"] = target
    if RANK[rma.state] < RANK[ReturnStatus.RECEIVED]:
        lines = _lines(ret)
        if lines != rma.lines:
            updates["lines"] = lines
        if rma.refund_ref is None and ret.outcome is not rma.outcome:
            updates["outcome"] = ret.outcome
    if not updates:
        return Change(rma.model_copy(update={"source_changed_at": changed_at}), False, "nothing new")
    updates |= {"source_changed_at": changed_at, "updated_at": now, "version": rma.version + 1}
    return Change(rma.model_copy(update=updates), True)


def inspect(rma: Rma, line_id: str, received: int, disposition: Disposition, now: datetime) -> Rma:
    """Count a line and give it a disposition; the RMA is inspected once every line is.

    Inspecting a line of an authorised or in-transit return also receives it (the items are here).

    Raises:
        IllegalTransition: the RMA is not open for inspection, the line is unknown or already inspected,
            or ``received`` is negative.
    """
    label = rma.number or rma.id
    if rma.state not in INSPECTABLE:
        raise IllegalTransition(
            f"return {label} is {rma.state.value}; only authorized, in_transit or received returns can be inspected"
        )
    if received < 0:
        raise IllegalTransition(f"received must be 0 or more, got {received}")
    line = rma.line(line_id)
    if line is None:
        known = ", ".join(line.line_id for line in rma.lines)
        raise IllegalTransition(f"return {label} has no line {line_id!r}; its lines: {known}")
    if line.inspected:
        raise IllegalTransition(
            f"line {line_id} of return {label} was already inspected "
            f"({line.received} received, {line.disposition.value if line.disposition else '?'})"
        )
    lines = [
        item.model_copy(update={"received": received, "disposition": disposition}) if item.line_id == line_id else item
        for item in rma.lines
    ]
    done = all(item.inspected for item in lines)
    state = ReturnStatus.INSPECTED if done else ReturnStatus.RECEIVED
    return rma.model_copy(update={"lines": lines, "state": state, "updated_at": now, "version": rma.version + 1})


def record_refund(rma: Rma, ref: str, origin: RefundOrigin, amount: Decimal, now: datetime) -> Change:
    """Note the refund on the channel (ours or the channel's own); the same refund again is a no-op.

    Raises:
        IllegalTransition: the RMA is cancelled, or already refunded by another refund.
    """
    if rma.refund_ref == ref:
        return Change(rma, False, f"refund {ref} is already recorded")
    if rma.refund_ref is not None:
        raise IllegalTransition(
            f"return {rma.number or rma.id} was already refunded ({rma.refund_origin}, {rma.refund_ref}); "
            f"refund {ref} would be a second refund"
        )
    if rma.state is ReturnStatus.CANCELLED:
        raise IllegalTransition(f"return {rma.number or rma.id} is cancelled; refund {ref} has no return to match")
    update = {"refund_ref": ref, "refund_origin": origin, "refund_amount": amount}
    return Change(rma.model_copy(update=update | {"updated_at": now, "version": rma.version + 1}), True)


def record_credit_memo(rma: Rma, ref: str, now: datetime) -> Change:
    """Note the ERP credit memo; the same one again is a no-op.

    Raises:
        IllegalTransition: no credit memo is due (not inspected, refund still owed) or another one exists.
    """
    if rma.credit_memo_ref == ref:
        return Change(rma, False, f"credit memo {ref} is already recorded")
    if due_postings(rma) != [Posting.CREDIT_MEMO]:
        raise IllegalTransition(
            f"return {rma.number or rma.id} owes no credit memo now (state {rma.state.value}, "
            f"credit memo {rma.credit_memo_ref or 'none'}, refund {rma.refund_ref or 'none'})"
        )
    update = {"credit_memo_ref": ref, "updated_at": now, "version": rma.version + 1}
    return Change(rma.model_copy(update=update), True)


def due_postings(rma: Rma) -> list[Posting]:
    """What the RMA still owes, in the order it must be posted (only once it is inspected)."""
    if rma.state is not ReturnStatus.INSPECTED or rma.outcome not in CREDITED_OUTCOMES:
        return []
    if rma.refund_total() <= 0 and rma.refund_ref is None:
        return []
    if rma.outcome is ReturnOutcome.REFUND and rma.refund_ref is None:
        return [Posting.REFUND, Posting.CREDIT_MEMO]
    return [] if rma.credit_memo_ref is not None else [Posting.CREDIT_MEMO]


def close(rma: Rma, now: datetime) -> Change:
    """Close an inspected RMA that owes nothing (anything else is left as it is)."""
    if rma.state is not ReturnStatus.INSPECTED or due_postings(rma):
        return Change(rma, False, "not inspected yet, or postings still due")
    return Change(
        rma.model_copy(update={"state": ReturnStatus.CLOSED, "updated_at": now, "version": rma.version + 1}), True
    )


@dataclass(frozen=True)
class Movement:
    """Units of a SKU a disposition moves (``kind`` is a ``StockMovementKind`` value)."""

    key: str
    kind: str
    sku: str
    quantity: int


def movements(rma: Rma) -> list[Movement]:
    """The stock effect of each inspected line: restock, refurbish or write-off of the received units."""
    found: list[Movement] = []
    for line in rma.lines:
        if not line.inspected or not line.received or not line.sku or line.disposition is None:
            continue
        kind = line.disposition.value
        found.append(Movement(f"return:{rma.id}:{line.line_id}:{kind}", kind, line.sku, line.received))
    return found


def mismatch(line: RmaLine) -> bool:
    """The line's counted units differ from what the customer announced."""
    return line.received is not None and line.received != line.expected
