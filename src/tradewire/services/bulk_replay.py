"""Bulk replay by filter: pick ended runs by flow, state, time and error text; count, then replay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tradewire.errors import Conflict
from tradewire.runtime.store.port import RunFilter, RunRecord, RunState
from tradewire.services.operations import MAX_BULK_REPLAY, Operations

PAGE = 1000
MAX_ERROR_TEXT = 200


@dataclass(frozen=True)
class ReplaySelection:
    """Which runs a bulk replay takes (fields combined with AND)."""

    flow: str | None = None
    state: RunState = RunState.DEAD
    since: datetime | None = None
    """Runs that ended (changed) at or after this time."""
    error_contains: str | None = None
    """Case-insensitive text the run's last error must contain."""
    from_step: str | None = None


@dataclass(frozen=True)
class BulkReplayReport:
    """What a bulk replay found and (unless a dry run) queued."""

    matched: list[int]
    queued: list[int]
    dry_run: bool


def select_runs(ops: Operations, selection: ReplaySelection) -> list[RunRecord]:
    """The runs a selection matches, oldest first.

    Raises:
        Conflict: the state is not an ended state, the error text is too long, or too many runs match.
    """
    if not selection.state.terminal:
        raise Conflict(f"only ended runs can be replayed; --state {selection.state.value} is not succeeded or dead")
    needle = (selection.error_contains or "").lower()
    if len(needle) > MAX_ERROR_TEXT:
        raise Conflict(f"--error-contains is {len(needle)} characters; at most {MAX_ERROR_TEXT}")
    found: list[RunRecord] = []
    before: int | None = None
    while True:
        page = ops.runs(
            RunFilter(
                state=selection.state, flow=selection.flow, changed_since=selection.since, limit=PAGE, before_id=before
            )
        )
        found.extend(r for r in page if not needle or needle in (r.last_error or "").lower())
        if len(found) > MAX_BULK_REPLAY:
            raise Conflict(
                f"more than {MAX_BULK_REPLAY} runs match; narrow it with --since, --flow or --error-contains"
            )
        if len(page) < PAGE:
            break
        before = page[-1].id
    return sorted(found, key=lambda r: r.id)


def bulk_replay(ops: Operations, selection: ReplaySelection, *, dry_run: bool) -> BulkReplayReport:
    """Count the matching runs and, unless ``dry_run``, replay them (audited by :meth:`Operations.replay`)."""
    matched = [r.id for r in select_runs(ops, selection)]
    if dry_run or not matched:
        return BulkReplayReport(matched, [], dry_run)
    report = ops.replay(matched, from_step=selection.from_step)
    return BulkReplayReport(matched, report.queued, dry_run)
