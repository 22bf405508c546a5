"""The order timeline: every message, run, step, outbound call, document id and hold of one
order across systems, in time order (``GET /v1/orders/{id}/timeline``, ``tradewire orders timeline``).

Runs are found through the order's ordering key (every channel event of the order carries it)
and through the run ids on its timeline events, exceptions and hold (flows started elsewhere,
such as a shipment from the ERP, name the order on the timeline).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tradewire.errors import NotFound
from tradewire.runtime.store.port import RunFilter, RunRecord, Store
from tradewire.runtime.store.port_facts import ExceptionFilter
from tradewire.services.orders import FoundOrder
from tradewire.tenancy.context import client_scope

MAX_RUNS = 500
# Same instant: a message comes before its run, a run before its steps, a step before its calls.
_KIND_ORDER = {"message": 0, "run": 1, "step": 2, "call": 3, "event": 4, "hold": 5, "exception": 6, "run_end": 7}


@dataclass
class OrderTimeline:
    """An order's story; ``entries`` are sorted by time."""

    order: FoundOrder
    entries: list[dict[str, Any]] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "order": {
                "id": self.order.id,
                "number": self.order.number,
                "connection_id": self.order.connection_id,
                "external_id": self.order.external_id,
            },
            "documents": self.documents,
            "entries": self.entries,
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _entry(at: datetime | str | None, kind: str, **detail: Any) -> dict[str, Any]:
    return {"at": at.isoformat() if isinstance(at, datetime) else at, "kind": kind, **detail}


def build_timeline(store: Store, client_id: str, order: FoundOrder) -> OrderTimeline:
    """Gather the order's timeline from the store (read-only)."""
    story = OrderTimeline(order)
    with client_scope(client_id):
        events = store.timeline("order", order.id)
        exceptions = store.list_exceptions(ExceptionFilter(state=None, object_type="order", canonical_id=order.id))
        hold = store.get_hold(order.id)
        run_ids = {r.id for r in store.list_runs(RunFilter(ordering_key=order.ordering_key, limit=MAX_RUNS))}
        run_ids |= {e.run_id for e in events if e.run_id is not None}
        run_ids |= {x.run_id for x in exceptions if x.run_id is not None}
        if hold is not None and hold.run_id is not None:
            run_ids.add(hold.run_id)
        runs: list[RunRecord] = []
        for run_id in sorted(run_ids)[:MAX_RUNS]:
            try:
                runs.append(store.get_run(run_id))
            except NotFound:  # purged after retention
                continue
        seen_messages: set[int] = set()
        for run in runs:
            if run.message_id is not None and run.message_id not in seen_messages:
                seen_messages.add(run.message_id)
                try:
                    message = store.get_message(run.message_id)
                except NotFound:
                    message = None
                if message is not None:
                    story.entries.append(
                        _entry(
                            message.received_at,
                            "message",
                            message_id=message.id,
                            source=message.source,
                            topic=message.topic,
                            idempotency_key=message.idempotency_key,
                            bytes=len(message.body),
                        )
                    )
            _add_run(story, run)
    for e in events:
        story.entries.append(
            _entry(
                e.at,
                "event",
                event=e.event,
                system=e.system,
                connection_id=e.connection_id,
                external_id=e.external_id,
                run_id=e.run_id,
                detail=e.detail,
            )
        )
        if e.external_id:
            document = {"system": e.system, "connection_id": e.connection_id, "external_id": e.external_id}
            if document not in story.documents:
                story.documents.append(document)
    story.documents.insert(
        0,
        {
            "system": order.body.get("source", {}).get("system"),
            "connection_id": order.connection_id,
            "external_id": order.external_id,
        },
    )
    if hold is not None:
        story.entries.append(
            _entry(hold.held_at, "hold", state="held", by=hold.held_by, reasons=hold.reasons, run_id=hold.run_id)
        )
        if hold.released_at is not None:
            story.entries.append(
                _entry(hold.released_at, "hold", state="released", by=hold.released_by, reason=hold.release_reason)
            )
    for x in exceptions:
        story.entries.append(
            _entry(
                x.opened_at,
                "exception",
                exception_id=x.id,
                exception_kind=x.kind,
                state=x.state.value,
                message=x.message,
                run_id=x.run_id,
                resolved_at=_iso(x.resolved_at),
                resolution=x.resolution,
            )
        )
    story.entries.sort(key=lambda e: (e["at"] or "", _KIND_ORDER.get(e["kind"], 9)))
    return story


def _add_run(story: OrderTimeline, run: RunRecord) -> None:
    story.entries.append(
        _entry(
            run.created_at,
            "run",
            run_id=run.id,
            flow=run.flow,
            flow_version=run.flow_version,
            message_id=run.message_id,
            state=run.state.value,
        )
    )
    for step in run.steps:
        story.entries.append(
            _entry(
                step.started_at,
                "step",
                run_id=run.id,
                step=step.name,
                attempt=step.attempt,
                ms=round((step.ended_at - step.started_at).total_seconds() * 1000, 1),
                calls=len(step.calls),
            )
        )
        for call in step.calls:
            story.entries.append(
                _entry(
                    call.get("at"),
                    "call",
                    run_id=run.id,
                    step=step.name,
                    **{k: v for k, v in call.items() if k != "at"},
                )
            )
    if run.ended_at is not None or run.last_error:
        story.entries.append(
            _entry(
                run.ended_at or run.updated_at,
                "run_end",
                run_id=run.id,
                flow=run.flow,
                state=run.state.value,
                last_error=run.last_error,
            )
        )
