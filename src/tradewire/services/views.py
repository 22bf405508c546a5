"""Plain-dict views of records for CLI JSON output."""

from __future__ import annotations

from typing import Any

from tradewire.runtime.store.port import RunRecord


def run_to_dict(run: RunRecord, *, steps: bool = False) -> dict[str, Any]:
    """A run as JSON-ready data."""
    data: dict[str, Any] = {
        "id": run.id,
        "flow": run.flow,
        "flow_version": run.flow_version,
        "state": run.state.value,
        "connection_id": run.connection_id,
        "message_id": run.message_id,
        "ordering_key": run.ordering_key,
        "attempt": run.attempt,
        "failures": run.failures,
        "next_at": run.next_at.isoformat() if run.next_at else None,
        "last_error": run.last_error,
        "error_type": run.error_type,
        "created_at": run.created_at.isoformat(),
        "updated_at": run.updated_at.isoformat(),
        "ended_at": run.ended_at.isoformat() if run.ended_at else None,
    }
    if steps:
        data["input"] = run.input
        data["steps"] = [
            {
                "name": s.name,
                "attempt": s.attempt,
                "output": s.output,
                "error": s.error,
                "started_at": s.started_at.isoformat(),
                "ended_at": s.ended_at.isoformat(),
            }
            for s in run.steps
        ]
    return data
