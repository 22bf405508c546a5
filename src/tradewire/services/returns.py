"""Operator use cases of the returns engine: list and show RMAs, inspect a returned line.

An inspection is checked against the state machine here (a clear error at once), then sent to
the worker as a message on the RMA's ordering key (``return_inspect`` flow), which applies it
after every event of the return received before it and runs the postings it unlocks.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tradewire.canonical import Disposition
from tradewire.errors import Conflict, NotFound
from tradewire.flows import return_inspect
from tradewire.returns.machine import IllegalTransition, due_postings, inspect
from tradewire.returns.model import Rma
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

    def __init__(self, store: Store, client_id: str, *, actor: str) -> None:
        self.store = store
        self.client_id = client_id
        self.actor = actor

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
            self.store.append_audit(self.actor, "returns.inspect", f"return:{rma.id}", command, now)
        return {
            "rma_id": rma.id,
            "line_id": line_id,
            "queued": not result.duplicate,
            "run_ids": list(result.run_ids),
            "state_after": after.state.value,
            "due_after": [p.value for p in due_postings(after)],
        }


_MICRO = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH
