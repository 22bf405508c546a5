"""Operator use cases of the returns engine: list and show RMAs, inspect a returned line.

An inspection is checked against the state machine here (a clear error at once), then sent to
the worker as a message on the RMA's ordering key (``return_inspect`` flow), which applies it
after every event of the return received before it and runs the postings it unlocks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tradewire.canonical import Disposition, ExternalRef, Refund, canonical_id
from tradewire.errors import Conflict, NotFound
from tradewire.flows import refund_sync, return_inspect
from tradewire.governance.permissions import Permission
from tradewire.returns.machine import IllegalTransition, due_postings, inspect, record_refund
from tradewire.returns.model import RefundOrigin, Rma
from tradewire.runtime.store.port import IngestItem, NewRun, Store
from tradewire.runtime.store.port_returns import RmaFilter, StoredRma
from tradewire.tenancy.context import client_scope

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def rma_to_dict(stored: StoredRma) -> dict[str, Any]:
    """An RMA as the CLI and API show it (JSON-ready)."""
    rma = Rma.model_validate(stored.body)
    return {
        "id": rma.id,
        "number": rma.number,
        "state": rma.state.value,
        "outcome": rma.outcome.value,
        "order_id": rma.order_id,
        "order_number": rma.order_number,
        "source": {
            "system": rma.source_system,
            "connection_id": rma.source_connection_id,
            "external_id": rma.source_external_id,
        },
        "currency": rma.currency,
        "refund_total": format(rma.refund_total(), "f"),
        "refund": {
            "ref": rma.refund_ref,
            "origin": rma.refund_origin.value if rma.refund_origin else None,
            "amount": format(rma.refund_amount, "f") if rma.refund_amount is not None else None,
        },
        "credit_memo": rma.credit_memo_ref,
        "due": [p.value for p in due_postings(rma)],
        "lines": [
            {
                "line_id": line.line_id,
                "sku": line.sku,
                "title": line.title,
                "expected": line.expected,
                "received": line.received,
                "disposition": line.disposition.value if line.disposition else None,
                "refund_amount": format(line.refund_amount, "f"),
            }
            for line in rma.lines
        ],
        "version": rma.version,
        "updated_at": stored.updated_at.isoformat(),
    }


class Returns:
    """The returns an operator looks after, for one client."""

    def __init__(
        self,
        store: Store,
        client_id: str,
        *,
        actor: str,
        require: Callable[[Permission], None] | None = None,
        source: str | None = None,
    ) -> None:
        self.store = store
        self.client_id = client_id
        self.actor = actor
        self.require = require or (lambda _permission: None)
        """Raises unless the caller may (the API passes ``Operations.require``; the CLI may do anything)."""
        self.source = source

    def list(self, *, state: str | None = None, order_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """RMAs, most recently changed first."""
        with client_scope(self.client_id):
            return [
                rma_to_dict(r) for r in self.store.list_rmas(RmaFilter(state=state, order_id=order_id, limit=limit))
            ]

    def _find(self, ref: str) -> StoredRma:
        stored = self.store.get_rma(ref)
        if stored is not None:
            return stored
        matches = [r for r in self.store.list_rmas(RmaFilter(limit=1000)) if r.body.get("number") == ref]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise Conflict(
                f"several returns are numbered {ref!r}; use the RMA id: {', '.join(m.rma_id for m in matches)}"
            )
        raise NotFound(f"no return {ref!r} (give the RMA id or the source's return number)")

    def show(self, ref: str) -> dict[str, Any]:
        """One RMA by id or by the source's return number.

        Raises:
            NotFound: no such RMA.
            Conflict: the number is ambiguous.
        """
        with client_scope(self.client_id):
            return rma_to_dict(self._find(ref))

    def inspect(self, ref: str, *, line_id: str, received: int, disposition: str) -> dict[str, Any]:
        """Queue the inspection of one line (checked first; repeating the same command is a no-op).

        Raises:
            NotFound: no such RMA.
            Conflict: the state machine refuses it (the message says why), or the disposition is unknown.
        """
        self.require(Permission.OPERATE)
        try:
            chosen = Disposition(disposition)
        except ValueError:
            raise Conflict(
                f"unknown disposition {disposition!r}; one of: {', '.join(d.value for d in Disposition)}"
            ) from None
        now = datetime.now(UTC)
        with client_scope(self.client_id):
            stored = self._find(ref)
            rma = Rma.model_validate(stored.body)
            try:
                after = inspect(rma, line_id, received, chosen, now)
            except IllegalTransition as exc:
                raise Conflict(str(exc)) from None
            command = {
                "rma_id": rma.id,
                "line_id": line_id,
                "received": received,
                "disposition": chosen.value,
                "actor": self.actor,
            }
            run = NewRun(
                flow=return_inspect.NAME, flow_version=return_inspect.VERSION, ordering_key=rma.ordering_key,
                ordering_seq=(now - _EPOCH) // _MICRO,
            )  # fmt: skip
            item = IngestItem(
                client_id=self.client_id, connection_id=rma.source_connection_id, source="operator:returns",
                topic=return_inspect.TOPIC, idempotency_key=f"inspect:{rma.id}:{line_id}:{received}:{chosen.value}",
                body=json.dumps(command).encode(), headers={}, runs=(run,), received_at=now,
            )  # fmt: skip
            result = self.store.ingest([item], now=now)[0]
            self.store.append_audit(self.actor, "returns.inspect", f"return:{rma.id}", command, now, source=self.source)
        return {
            "rma_id": rma.id,
            "line_id": line_id,
            "queued": not result.duplicate,
            "run_ids": list(result.run_ids),
            "state_after": after.state.value,
            "due_after": [p.value for p in due_postings(after)],
        }

    def record_manual_refund(self, ref: str, *, refund_ref: str, amount: Decimal | None = None) -> dict[str, Any]:
        """Note a refund a person made on the channel by hand (a channel without a refund sink).

        The RMA is then refunded (never again by Tradewire) and its credit memo follows once it is
        inspected, in a ``return_refund`` run on the RMA's ordering key.

        Raises:
            NotFound: no such RMA, or its order is unknown.
            Conflict: the RMA is cancelled or already refunded by another refund.
        """
        self.require(Permission.OPERATE)
        now = datetime.now(UTC)
        with client_scope(self.client_id):
            stored = self._find(ref)
            rma = Rma.model_validate(stored.body)
            order = self.store.get_object("order", rma.order_id)
            if order is None:
                raise NotFound(f"order {rma.order_number} of return {ref} is not stored")
            money = amount if amount is not None else rma.refund_total()
            try:
                record_refund(rma, refund_ref, RefundOrigin.CHANNEL, money, now)
            except IllegalTransition as exc:
                raise Conflict(str(exc)) from None
            channel = self.store.get_connection(rma.channel_connection_id)
            refund = Refund(
                id=canonical_id(self.client_id, "refund", f"manual:{rma.id}:{refund_ref}"), client_id=self.client_id,
                source=ExternalRef(system=channel.system, connection_id=channel.id, object="refund", external_id=refund_ref),
                order_external_id=str(order.body["source"]["external_id"]), order_number=rma.order_number,
                created_at=now, currency=rma.currency, amount=money, note=f"recorded by {self.actor}",
            )  # fmt: skip
            run = NewRun(
                flow=refund_sync.CHILD, flow_version=refund_sync.VERSION, ordering_key=rma.ordering_key,
                ordering_seq=(now - _EPOCH) // _MICRO, input={"rma_id": rma.id, "refund": refund.model_dump(mode="json")},
            )  # fmt: skip
            item = IngestItem(
                client_id=self.client_id, connection_id=rma.channel_connection_id, source="operator:returns",
                topic="return.refunded_by_hand", idempotency_key=f"manual-refund:{rma.id}:{refund_ref}",
                body=json.dumps(refund.model_dump(mode="json")).encode(), headers={}, runs=(run,), received_at=now,
            )  # fmt: skip
            result = self.store.ingest([item], now=now)[0]
            detail = {"refund": refund_ref, "amount": format(money, "f")}
            self.store.append_audit(
                self.actor, "returns.refunded_by_hand", f"return:{rma.id}", detail, now, source=self.source
            )
        return {"rma_id": rma.id, "refund": refund_ref, "amount": format(money, "f"), "queued": not result.duplicate}


_MICRO = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH
