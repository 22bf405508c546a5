"""API v1: order holds and timeline, exceptions, bulk replay by filter, reconciliation (audited as ``api``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from tradewire.api.deps import OperationsDep
from tradewire.runtime.store.port import RunState
from tradewire.runtime.store.port_operations import HoldRecord, HoldState
from tradewire.services.bulk_replay import MAX_ERROR_TEXT, ReplaySelection, bulk_replay
from tradewire.services.exceptions import MAX_EXCEPTION_ID, ExceptionOperations, exception_to_dict, parse_state
from tradewire.services.operations import Operations
from tradewire.services.order_timeline import build_timeline
from tradewire.services.orders import MAX_REASON, OrderOperations
from tradewire.services.reconcile import checks_named, reconcile

router = APIRouter(prefix="/v1", tags=["operations"])

OrderRef = Annotated[str, Path(min_length=1, max_length=64, description="Canonical order id or channel order number")]
ExceptionId = Annotated[int, Path(ge=1, le=MAX_EXCEPTION_ID, description="Exception id")]


class ReasonIn(BaseModel):
    """Why an operator acts (kept in the audit trail)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=MAX_REASON)


class HoldOut(BaseModel):
    """An order's hold."""

    order_id: str
    order_number: str
    connection_id: str | None
    state: str
    reasons: list[dict[str, Any]]
    run_id: int | None
    held_by: str
    held_at: datetime
    release_at: datetime | None
    released_at: datetime | None
    released_by: str | None
    release_reason: str | None

    @classmethod
    def of(cls, hold: HoldRecord) -> HoldOut:
        """From the store's record."""
        return cls.model_validate(hold.to_dict())


class ExceptionOut(BaseModel):
    """A problem a person must fix."""

    id: int
    key: str
    kind: str
    object_type: str
    canonical_id: str
    state: str
    message: str
    detail: dict[str, Any]
    occurrences: int
    run_id: int | None
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None


class TimelineEntryOut(BaseModel):
    """One entry of an order's timeline (``kind``: message, run, step, call, event, hold, exception, run_end)."""

    model_config = ConfigDict(extra="allow")

    at: str | None
    kind: str


class OrderTimelineOut(BaseModel):
    """An order's story across systems, in time order."""

    order: dict[str, str]
    documents: list[dict[str, Any]]
    entries: list[TimelineEntryOut]


def _orders(ops: Operations) -> OrderOperations:
    return OrderOperations(ops.store, ops.client_id, actor=ops.actor)


@router.get("/orders/{order_ref}/timeline", response_model=OrderTimelineOut, summary="An order's timeline")
def order_timeline(order_ref: OrderRef, ops: OperationsDep) -> OrderTimelineOut:
    """Every message, run, step, vendor call, document id, hold and exception of the order."""
    order = _orders(ops).find(order_ref)
    return OrderTimelineOut.model_validate(build_timeline(ops.store, ops.client_id, order).to_dict())


@router.post("/orders/{order_ref}/release", response_model=HoldOut, summary="Release a held order")
def release_order(order_ref: OrderRef, body: ReasonIn, ops: OperationsDep) -> HoldOut:
    """Release the hold; the order's parked run goes on to the ERP at once."""
    return HoldOut.of(_orders(ops).release(order_ref, body.reason))


@router.post("/orders/{order_ref}/hold", response_model=HoldOut, summary="Hold an order")
def hold_order(order_ref: OrderRef, body: ReasonIn, ops: OperationsDep) -> HoldOut:
    """Hold the order by hand: it does not go to the ERP until released."""
    return HoldOut.of(_orders(ops).hold(order_ref, body.reason))


@router.get("/holds", response_model=list[HoldOut], summary="Held orders")
def list_holds(
    ops: OperationsDep,
    state: HoldState | None = HoldState.HELD,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[HoldOut]:
    return [HoldOut.of(h) for h in _orders(ops).holds(state=state, limit=limit)]


@router.get("/exceptions", response_model=list[ExceptionOut], summary="Exceptions, newest first")
def list_exceptions(
    ops: OperationsDep,
    state: Annotated[str, Query(pattern="^(open|resolved|all)$")] = "open",
    kind: Annotated[str | None, Query(max_length=80)] = None,
    object_type: Annotated[str | None, Query(max_length=40)] = None,
    canonical_id: Annotated[str | None, Query(max_length=255)] = None,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_EXCEPTION_ID, description="Page: older than this")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ExceptionOut]:
    rows = ExceptionOperations(ops.store, ops.client_id, actor=ops.actor).list(
        state=parse_state(state),
        kind=kind,
        object_type=object_type,
        canonical_id=canonical_id,
        limit=limit,
        before_id=before_id,
    )
    return [ExceptionOut.model_validate(exception_to_dict(x)) for x in rows]


@router.get("/exceptions/{exception_id}", response_model=ExceptionOut, summary="One exception")
def get_exception(exception_id: ExceptionId, ops: OperationsDep) -> ExceptionOut:
    record = ExceptionOperations(ops.store, ops.client_id, actor=ops.actor).show(exception_id)
    return ExceptionOut.model_validate(exception_to_dict(record))


@router.post("/exceptions/{exception_id}/resolve", response_model=ExceptionOut, summary="Resolve an exception")
def resolve_exception(exception_id: ExceptionId, body: ReasonIn, ops: OperationsDep) -> ExceptionOut:
    """Mark it resolved (when the problem was fixed outside a replay); audited."""
    record = ExceptionOperations(ops.store, ops.client_id, actor=ops.actor).resolve(exception_id, body.reason)
    return ExceptionOut.model_validate(exception_to_dict(record))


class ReplayFilterIn(BaseModel):
    """Which ended runs to replay; ``dry_run`` (the default) only counts them."""

    model_config = ConfigDict(extra="forbid")

    flow: str | None = Field(default=None, max_length=80)
    state: Literal["dead", "succeeded"] = "dead"
    since: datetime | None = None
    error_contains: str | None = Field(default=None, min_length=1, max_length=MAX_ERROR_TEXT)
    from_step: str | None = Field(default=None, max_length=80)
    dry_run: bool = True


class ReplayFilterOut(BaseModel):
    """What matched and what was queued."""

    matched: list[int]
    queued: list[int]
    dry_run: bool


@router.post("/runs/replay-by-filter", response_model=ReplayFilterOut, summary="Count, then replay runs by filter")
def replay_by_filter(body: ReplayFilterIn, ops: OperationsDep) -> ReplayFilterOut:
    """Bulk replay (audited): ``dry_run: true`` first to see how many runs match."""
    selection = ReplaySelection(
        flow=body.flow,
        state=RunState(body.state),
        since=body.since,
        error_contains=body.error_contains,
        from_step=body.from_step,
    )
    report = bulk_replay(ops, selection, dry_run=body.dry_run)
    return ReplayFilterOut(matched=report.matched, queued=report.queued, dry_run=report.dry_run)


class ReconcileIn(BaseModel):
    """Which checks to run now (all when empty), and whether to heal."""

    model_config = ConfigDict(extra="forbid")

    checks: list[str] = Field(default_factory=list, max_length=50)
    grace_minutes: float = Field(default=30.0, ge=0, le=525_600)
    heal: bool = True


@router.post("/reconcile", summary="Run reconciliation checks now")
def run_reconcile(body: ReconcileIn, ops: OperationsDep) -> list[dict[str, Any]]:
    """Each finding opens an exception; safe findings are healed by replaying their run (audited)."""
    checks = checks_named(body.checks)
    reports = reconcile(
        ops.store,
        ops.client_id,
        datetime.now(UTC),
        checks=checks,
        grace=timedelta(minutes=body.grace_minutes),
        heal=body.heal,
    )
    return [r.to_dict() for r in reports]
