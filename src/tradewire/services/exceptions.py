"""Operator use cases on exceptions: problems a person must fix (unknown SKU, drift…), audited."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tradewire.errors import Conflict, NotFound
from tradewire.runtime.store.port import Store
from tradewire.runtime.store.port_facts import ExceptionFilter, ExceptionRecord, ExceptionState
from tradewire.services.orders import check_reason
from tradewire.tenancy.context import client_scope

MAX_EXCEPTION_ID = 2**63 - 1


def exception_to_dict(x: ExceptionRecord) -> dict[str, Any]:
    """An exception as JSON-ready data."""
    return {
        "id": x.id,
        "key": x.key,
        "kind": x.kind,
        "object_type": x.object_type,
        "canonical_id": x.canonical_id,
        "state": x.state.value,
        "message": x.message,
        "detail": x.detail,
        "occurrences": x.occurrences,
        "run_id": x.run_id,
        "opened_at": x.opened_at.isoformat(),
        "updated_at": x.updated_at.isoformat(),
        "resolved_at": x.resolved_at.isoformat() if x.resolved_at else None,
        "resolved_by": x.resolved_by,
        "resolution": x.resolution,
    }


def parse_state(value: str | None) -> ExceptionState | None:
    """``open``, ``resolved`` or ``all`` (None).

    Raises:
        Conflict: another word.
    """
    if value is None or value == "all":
        return None
    try:
        return ExceptionState(value)
    except ValueError:
        raise Conflict(f"unknown state {value[:40]!r}; one of: open, resolved, all") from None


class ExceptionOperations:
    """List, show and resolve one client's exceptions."""

    def __init__(self, store: Store, client_id: str, *, actor: str) -> None:
        self.store = store
        self.client_id = client_id
        self.actor = actor

    def list(
        self,
        *,
        state: ExceptionState | None = ExceptionState.OPEN,
        kind: str | None = None,
        object_type: str | None = None,
        canonical_id: str | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> list[ExceptionRecord]:
        """Exceptions, newest first (open ones by default)."""
        wanted = ExceptionFilter(state, kind, object_type, canonical_id, limit, before_id)
        with client_scope(self.client_id):
            return self.store.list_exceptions(wanted)

    def show(self, exception_id: int) -> ExceptionRecord:
        """One exception.

        Raises:
            NotFound: no such exception for this client.
        """
        if not 0 < exception_id <= MAX_EXCEPTION_ID:
            raise NotFound(f"exception {exception_id} does not exist")
        with client_scope(self.client_id):
            return self.store.get_exception(exception_id)

    def resolve(self, exception_id: int, reason: str) -> ExceptionRecord:
        """Mark an exception resolved by this actor (audited).

        Raises:
            NotFound: no such exception.
            Conflict: already resolved, or a bad reason.
        """
        why = check_reason(reason)
        self.show(exception_id)
        now = datetime.now(UTC)
        with client_scope(self.client_id):
            record = self.store.resolve_exception(exception_id, self.actor, why, now)
            self.store.append_audit(
                self.actor, "exception.resolve", f"exception:{exception_id}", {"key": record.key, "reason": why}, now
            )
        return record
