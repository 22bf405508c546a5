"""API v1: runs, steps, messages, dead letters, replay, timelines."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from tradewire.api.deps import OperationsDep
from tradewire.api.schemas import (
    BulkReplayIn,
    ConnectionStatusOut,
    MessageOut,
    PauseIn,
    ReplayIn,
    ReplayOut,
    RunOut,
    TimelineOut,
)
from tradewire.errors import Conflict
from tradewire.runtime.store.port import RunFilter, RunState

router = APIRouter(prefix="/v1", tags=["runs"])


@router.get("/runs", response_model=list[RunOut], summary="List runs, newest first")
def list_runs(
    ops: OperationsDep,
    state: RunState | None = None,
    flow: str | None = None,
    since: datetime | None = None,
    ordering_key: str | None = None,
    before_id: Annotated[int | None, Query(description="Page: runs older than this id")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[RunOut]:
    rows = ops.runs(
        RunFilter(state=state, flow=flow, since=since, ordering_key=ordering_key, limit=limit, before_id=before_id)
    )
    return [RunOut.of(r) for r in rows]


@router.get("/runs/{run_id}", response_model=RunOut, summary="One run with its steps")
def get_run(run_id: int, ops: OperationsDep) -> RunOut:
    return RunOut.of(ops.run(run_id))


@router.post("/runs/{run_id}/replay", response_model=ReplayOut, summary="Replay one run")
def replay_run(run_id: int, body: ReplayIn, ops: OperationsDep) -> ReplayOut:
    report = ops.replay([run_id], from_step=body.from_step)
    return ReplayOut(queued=report.queued, from_step=report.from_step)


@router.post("/runs/replay", response_model=ReplayOut, summary="Replay many runs, or every dead letter")
def replay_bulk(body: BulkReplayIn, ops: OperationsDep) -> ReplayOut:
    if body.dead:
        report = ops.replay_dead(since=body.since, flow=body.flow)
    elif body.run_ids:
        report = ops.replay(body.run_ids, from_step=body.from_step)
    else:
        raise Conflict("give run_ids, or dead=true")
    return ReplayOut(queued=report.queued, from_step=report.from_step)


@router.get("/dead-letters", response_model=list[RunOut], summary="Dead runs with their reasons")
def dead_letters(
    ops: OperationsDep,
    since: datetime | None = None,
    flow: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[RunOut]:
    return [RunOut.of(r) for r in ops.dead_letters(since=since, flow=flow, limit=limit)]


@router.get("/messages/{message_id}", response_model=MessageOut, summary="One stored inbound message")
def get_message(message_id: int, ops: OperationsDep) -> MessageOut:
    return MessageOut.of(ops.message(message_id))


@router.get("/timeline/{object_type}/{canonical_id}", response_model=list[TimelineOut], summary="An object's timeline")
def timeline(object_type: str, canonical_id: str, ops: OperationsDep) -> list[TimelineOut]:
    return [TimelineOut.of(e) for e in ops.timeline(object_type, canonical_id)]


@router.post(
    "/connections/{connection_id}/resume", response_model=ConnectionStatusOut, summary="Resume a paused connection"
)
def resume_connection(connection_id: str, ops: OperationsDep) -> ConnectionStatusOut:
    """Resume a connection paused after refused credentials (parked runs go on by themselves)."""
    return ConnectionStatusOut(id=connection_id, status=ops.set_connection_status(connection_id, paused=False))


@router.post("/connections/{connection_id}/pause", response_model=ConnectionStatusOut, summary="Pause a connection")
def pause_connection(connection_id: str, body: PauseIn, ops: OperationsDep) -> ConnectionStatusOut:
    """Stop calling this connection's system; runs that need it wait until it is resumed."""
    status = ops.set_connection_status(connection_id, paused=True, reason=body.reason)
    return ConnectionStatusOut(id=connection_id, status=status)
