"""Shopify refunds in: the ``refunds/create`` webhook as an event and as a canonical ``Refund``.

The refund's ``id`` names it; it shares its order's ordering key (``order:<connection>:<order id>``)
so it is handled after the order's create. The amount is the sum of successful ``refund``
transactions (what the customer got back), lines are ``refund_line_items`` (subtotal + tax),
``restock`` is true for ``restock_type: return``. A refund whose note carries Tradewire's
marker (see ``connectors.base.returns``) is one we made; the flows recognise it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from tradewire.canonical import ExternalRef, Refund, RefundLine, canonical_id, is_currency
from tradewire.connectors.base.spec import Connection, InboundEvent
from tradewire.errors import MappingError, WebhookRejected

SYSTEM = "shopify"
REFUND_TOPIC = "refunds/create"
REFUND_EVENT = "refund.created"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _int_id(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


def refund_event(
    payload: Mapping[str, Any],
    connection: Connection,
    *,
    idempotency_key: str,
    triggered_at: datetime | None,
    now: datetime,
) -> InboundEvent:
    """The event of a ``refunds/create`` delivery.

    Raises:
        WebhookRejected: status 400 when the body has no integer ``id`` or ``order_id``.
    """
    refund_id, order_id = _int_id(payload.get("id")), _int_id(payload.get("order_id"))
    if refund_id is None or order_id is None:
        shown = (payload.get("id"), payload.get("order_id"))
        raise WebhookRejected(f"refunds/create body needs integer 'id' and 'order_id' (got {shown!r:.60})", status=400)
    changed = _time(payload.get("processed_at")) or _time(payload.get("created_at")) or now
    return InboundEvent(
        event_type=REFUND_EVENT,
        idempotency_key=idempotency_key,
        object_type="refund",
        external_id=str(refund_id),
        ordering_key=f"order:{connection.id}:{order_id}",
        # after the order's create/update/cancel of the same second (their ranks are 0-2)
        ordering_seq=(changed - _EPOCH) // _MICRO + 3,
        triggered_at=triggered_at,
    )


_MICRO = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH


def _money(value: Any, where: str) -> Decimal:
    try:
        amount = Decimal(str(value if value is not None else "0"))
    except InvalidOperation:
        raise MappingError(f"{where} {value!r:.40} is not an amount") from None
    if not amount.is_finite():
        raise MappingError(f"{where} {value!r:.40} is not an amount")
    return abs(amount)


def refund_to_canonical(payload: Mapping[str, Any], *, client_id: str, connection_id: str) -> Refund:
    """Map one Shopify refund (webhook body or REST ``refund``) to the canonical ``Refund``.

    Raises:
        MappingError: not a usable refund (the message names the field).
    """
    wrapped = payload.get("refund")
    body: Mapping[str, Any] = wrapped if isinstance(wrapped, Mapping) else payload
    refund_id, order_id = _int_id(body.get("id")), _int_id(body.get("order_id"))
    if refund_id is None or order_id is None:
        raise MappingError(f"a Shopify refund needs integer id and order_id (got {body.get('id')!r:.30})")
    where = f"Shopify refund {refund_id}"
    created = _time(body.get("processed_at")) or _time(body.get("created_at"))
    if created is None:
        raise MappingError(f"{where} has no created_at")
    transactions = [t for t in body.get("transactions") or [] if isinstance(t, Mapping)]
    paid = [t for t in transactions if t.get("kind") == "refund" and t.get("status", "success") == "success"]
    amount = sum((_money(t.get("amount"), f"{where}: transaction amount") for t in paid), Decimal(0))
    currency = str(next((t.get("currency") for t in paid if t.get("currency")), "") or body.get("currency") or "")
    lines = []
    for index, item in enumerate(body.get("refund_line_items") or []):
        if not isinstance(item, Mapping) or _int_id(item.get("id")) is None:
            raise MappingError(f"{where}: refund_line_items[{index}] has no integer id")
        raw_line_item = item.get("line_item")
        line_item: Mapping[str, Any] = raw_line_item if isinstance(raw_line_item, Mapping) else {}
        quantity = item.get("quantity")
        lines.append(
            RefundLine(
                line_id=str(item["id"]),
                order_line_id=str(item.get("line_item_id")) if item.get("line_item_id") else None,
                sku=(str(line_item.get("sku")).strip() or None) if line_item.get("sku") else None,
                quantity=quantity if isinstance(quantity, int) and not isinstance(quantity, bool) else 0,
                amount=_money(item.get("subtotal"), f"{where}: subtotal")
                + _money(item.get("total_tax"), f"{where}: tax"),
                restock=item.get("restock_type") == "return",
            )
        )
    if not currency or not is_currency(currency.upper()):
        raise MappingError(f"{where}: currency {currency!r} is not an ISO 4217 code")
    try:
        return Refund(
            id=canonical_id(client_id, "refund", f"{SYSTEM}:{connection_id}:{refund_id}"),
            client_id=client_id,
            source=ExternalRef(system=SYSTEM, connection_id=connection_id, object="refund", external_id=str(refund_id)),
            order_external_id=str(order_id),
            created_at=created,
            currency=currency.upper(),
            amount=max(amount, sum((line.amount for line in lines), Decimal(0))),
            lines=lines,
            note=(str(body.get("note"))[:1000] or None) if body.get("note") else None,
        )
    except ValidationError as exc:
        raise MappingError(f"{where}: {exc.errors(include_url=False)[0].get('msg')}") from None
