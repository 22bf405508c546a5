"""Pure ``Loop ⇄ canonical`` return mapping: no I/O, no clock.

* One canonical line per Loop line item. Loop lists one line item per returned *unit* (two
  units of a SKU are two line items, each with its own reason, refund and ``returned_at``), so
  lines keep ``quantity`` 1 and Loop's ``line_item_id``; nothing is lost and a removed line item
  maps to exactly one canonical line. Consumers that want quantities group by ``sku``.
* ``refund_amount`` of a line is Loop's line ``refund``; without it, ``price − discount + tax``.
  ``refund_total`` is their sum (the canonical invariant); Loop's return-level ``refund`` may differ
  by handling fees or bonus credit, which the canonical Return v1 does not carry.
* Status: ``cancelled``/``expired`` → cancelled, ``closed`` → closed, ``needs review`` → requested,
  ``open`` → authorized, in_transit when a label is moving, received when the items arrived
  (a ``restock.requested`` trigger, a delivered label, or every line item ``returned_at``).
* Outcome: Loop's ``outcome`` when present (``refund``, ``credit``, ``exchange``, ``exchange+…``,
  ``upsell``), else from the totals: exchange total > 0 → exchange, gift card > 0 → store credit,
  refund > 0 → refund, else none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from tradewire.canonical import (
    ExternalRef,
    Return,
    ReturnLine,
    ReturnOutcome,
    ReturnStatus,
    canonical_id,
    is_currency,
)
from tradewire.connectors.loop.schemas import LoopLabel, LoopLineItem, LoopReturn
from tradewire.errors import MappingError

SYSTEM = "loop"

_STATES: dict[str, ReturnStatus] = {
    "cancelled": ReturnStatus.CANCELLED,
    "canceled": ReturnStatus.CANCELLED,
    "expired": ReturnStatus.CANCELLED,
    "closed": ReturnStatus.CLOSED,
    "needs review": ReturnStatus.REQUESTED,
    "needs_review": ReturnStatus.REQUESTED,
    "review": ReturnStatus.REQUESTED,
    "open": ReturnStatus.AUTHORIZED,
}
_MOVING_LABELS = frozenset({"in_transit", "transit", "out_for_delivery", "available_for_pickup", "shipped"})
_ARRIVED_LABELS = frozenset({"delivered", "received"})
_OUTCOMES: dict[str, ReturnOutcome] = {
    "refund": ReturnOutcome.REFUND,
    "credit": ReturnOutcome.STORE_CREDIT,
    "gift_card": ReturnOutcome.STORE_CREDIT,
    "store_credit": ReturnOutcome.STORE_CREDIT,
    "exchange": ReturnOutcome.EXCHANGE,
    "exchange+refund": ReturnOutcome.EXCHANGE,
    "exchange+credit": ReturnOutcome.EXCHANGE,
    "upsell": ReturnOutcome.EXCHANGE,
}


def describe_validation_error(exc: ValidationError, *, limit: int = 5) -> str:
    """One line per problem, ``path reason``, e.g. ``line_items[1].price 'abc': …``."""
    parts: list[str] = []
    for error in exc.errors(include_url=False)[:limit]:
        path = _path(error.get("loc", ()))
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if error.get("type") == "missing":
            parts.append(f"{path} is missing")
            continue
        shown = repr(error.get("input"))
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        parts.append(f"{path} {shown}: {message}" if path else f"{message} ({shown})")
    extra = len(exc.errors()) - limit
    if extra > 0:
        parts.append(f"and {extra} more")
    return "; ".join(parts)


def _path(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def read_return(payload: Mapping[str, Any]) -> LoopReturn:
    """Validate one Loop return payload.

    Raises:
        MappingError: not a return (the message names the field and value).
    """
    if not isinstance(payload, Mapping):
        raise MappingError(f"a Loop return must be a JSON object, got {type(payload).__name__}")
    topic = str(payload.get("topic") or "").strip().lower()
    if topic == "label" or "label_status" in payload:
        rid = payload.get("return_id", payload.get("id"))
        raise MappingError(
            f"this is a label notification about return {rid!r}, not a return; read the return with the details endpoint"
        )
    if "id" not in payload and "return_id" in payload:
        trigger = payload.get("trigger") or payload.get("topic") or "notification"
        raise MappingError(
            f"this is a {trigger} notification about return {payload.get('return_id')!r}, not a return; "
            "read the return with the details endpoint"
        )
    try:
        return LoopReturn.model_validate(payload)
    except ValidationError as exc:
        label = payload.get("id")
        prefix = f"return {label}: " if isinstance(label, str | int) and not isinstance(label, bool) else "return: "
        raise MappingError(prefix + describe_validation_error(exc), detail={"payload_id": str(label)}) from None


def return_status(loop_return: LoopReturn) -> ReturnStatus:
    """The canonical RMA status of a Loop return (see the module docstring)."""
    state = (loop_return.state or "open").strip().lower()
    status = _STATES.get(state)
    if status is None:
        raise MappingError(f"return {loop_return.id}: unknown state {loop_return.state!r}")
    if status is not ReturnStatus.AUTHORIZED:
        return status
    label_states = {(label.status or "").strip().lower() for label in loop_return.labels}
    items = loop_return.line_items
    if (
        (loop_return.trigger or "").strip().lower() == "restock.requested"
        or label_states & _ARRIVED_LABELS
        or (items and all(item.returned_at is not None for item in items))
    ):
        return ReturnStatus.RECEIVED
    if label_states & _MOVING_LABELS:
        return ReturnStatus.IN_TRANSIT
    return ReturnStatus.AUTHORIZED


def return_outcome(loop_return: LoopReturn) -> ReturnOutcome:
    """What the customer gets back (see the module docstring)."""
    if loop_return.outcome:
        outcome = _OUTCOMES.get(loop_return.outcome.strip().lower())
        if outcome is not None:
            return outcome
    zero = Decimal(0)
    if (loop_return.exchange_total or zero) > 0 or loop_return.exchanges:
        return ReturnOutcome.EXCHANGE
    if (loop_return.gift_card or zero) > 0:
        return ReturnOutcome.STORE_CREDIT
    if (loop_return.refund or zero) > 0 or any((r.amount or zero) > 0 for r in loop_return.refunds):
        return ReturnOutcome.REFUND
    return ReturnOutcome.NONE


def line_refund(item: LoopLineItem) -> Decimal:
    """What the customer gets back for one unit: Loop's ``refund``, else price − discount + tax (never < 0)."""
    if item.refund is not None:
        return max(item.refund, Decimal(0))
    computed = (item.price or Decimal(0)) - (item.discount or Decimal(0)) + (item.tax or Decimal(0))
    return max(computed, Decimal(0))


def latest_label(labels: Sequence[LoopLabel]) -> LoopLabel | None:
    """The most recent label that has a tracking number (labels are re-issued; the last one counts)."""
    tracked = [(index, label) for index, label in enumerate(labels) if label.tracking_number]
    if not tracked:
        return None

    def recency(pair: tuple[int, LoopLabel]) -> tuple[float, int]:
        index, label = pair
        when = label.updated_at or label.created_at
        return (when.timestamp() if when else float("-inf"), index)

    return max(tracked, key=recency)[1]


def _text(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value[:limit] if value else None


def return_to_canonical(payload: Mapping[str, Any], *, client_id: str, connection_id: str) -> Return:
    """Map one Loop return (webhook body, details answer or list entry) to the canonical ``Return``.

    Raises:
        MappingError: the payload is not a usable return; the message says which field and why.
    """
    loop_return = read_return(payload)
    where = f"return {loop_return.id}"
    if not loop_return.line_items:
        raise MappingError(f"{where} has no line items")
    currency = (loop_return.currency or "").strip().upper()
    if not currency:
        raise MappingError(f"{where} has no currency")
    if not is_currency(currency):
        raise MappingError(f"{where}: currency {loop_return.currency!r} is not an ISO 4217 code")
    order_number = _text(loop_return.order_name, 64) or loop_return.order_number or loop_return.provider_order_number
    if not order_number:
        raise MappingError(f"{where} names no order (order_name, order_number and provider_order_number are empty)")
    if loop_return.created_at is None:
        raise MappingError(f"{where} has no created_at")
    email = loop_return.customer or (loop_return.customer_detail.email if loop_return.customer_detail else None)
    lines = []
    seen: set[str] = set()
    for index, item in enumerate(loop_return.line_items):
        if item.line_item_id in seen:
            raise MappingError(f"{where}: line_items[{index}].line_item_id {item.line_item_id!r} repeats")
        seen.add(item.line_item_id)
        lines.append(
            ReturnLine(
                line_id=item.line_item_id[:64],
                sku=_text(item.sku, 120),
                title=(item.title or "").strip()[:500],
                quantity=1,
                order_line_id=item.provider_line_item_id[:64] if item.provider_line_item_id else None,
                reason=_text(item.reason or item.parent_reason, 500),
                refund_amount=line_refund(item),
            )
        )
    label = latest_label(loop_return.labels)
    try:
        return Return(
            id=canonical_id(client_id, "return", f"{SYSTEM}:{connection_id}:{loop_return.id}"),
            client_id=client_id,
            source=ExternalRef(system=SYSTEM, connection_id=connection_id, object="return", external_id=loop_return.id),
            number=loop_return.id[:64],
            order_number=str(order_number)[:64],
            order_external_id=loop_return.provider_order_id,
            status=return_status(loop_return),
            outcome=return_outcome(loop_return),
            customer_email=email,
            created_at=loop_return.created_at,
            updated_at=loop_return.changed_at,
            currency=currency,
            lines=lines,
            refund_total=sum((line.refund_amount for line in lines), Decimal(0)),
            carrier=_text(label.carrier, 80) if label else None,
            tracking_number=_text(label.tracking_number, 120) if label else None,
        )
    except ValidationError as exc:
        raise MappingError(
            f"{where}: {describe_validation_error(exc)}", detail={"payload_id": loop_return.id}
        ) from None
