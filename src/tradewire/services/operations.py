"""Operator use cases: look at runs, messages, dead letters and timelines; replay; all audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tradewire.errors import Conflict, NotFound
from tradewire.flows.registry import get_flow
from tradewire.governance.permissions import Permission, Principal
from tradewire.runtime.store.port import MessageRecord, RunFilter, RunRecord, RunState, Store, TimelineEvent
from tradewire.services.tenants import client_ref, require
from tradewire.tenancy.context import client_scope

MAX_BULK_REPLAY = 10_000


def pick_client(store: Store, client_id: str | None) -> str:
    """The client to act for: the one given, or the only one there is.

    Raises:
        NotFound: the client does not exist, or there are several and none was given.
    """
    clients = store.list_clients()
    if client_id is not None:
        if client_id not in {c[0] for c in clients}:
            raise NotFound(f"client {client_id!r} does not exist")
        return client_id
    if len(clients) == 1:
        return clients[0][0]
    if not clients:
        raise NotFound("no clients yet: run `tradewire demo` or create one")
    names = ", ".join(f"{cid} ({name})" for cid, name in clients)
    raise NotFound(f"several clients exist; choose one with --client: {names}")


@dataclass(frozen=True)
class ReplayReport:
    """What a replay did."""

    queued: list[int]
    from_step: str | None


class Operations:
    """Everything an operator does, for one client."""

    def __init__(
        self,
        store: Store,
        client_id: str,
        *,
        actor: str,
        caller: Principal | None = None,
        source: str | None = None,
    ) -> None:
        self.store = store
        self.client_id = client_id
        self.actor = actor
        self.caller = caller
        """Who acts through the API (None: the installation, e.g. the CLI); checked on every change."""
        self.source = source
        """From where (an IP address), for the audit log."""

    def require(self, permission: Permission) -> None:
        """Raise ``Forbidden`` unless the caller may do ``permission`` on this client (the CLI always may)."""
        require(self.caller, permission, client_ref(self.store, self.client_id), f"client {self.client_id!r}")

    def audit(self, action: str, target: str, detail: dict[str, Any], now: datetime) -> None:
        """Append an entry to this client's audit chain, with who and from where."""
        with client_scope(self.client_id):
            self.store.append_audit(self.actor, action, target, detail, now, source=self.source)

    def runs(self, run_filter: RunFilter) -> list[RunRecord]:
        """Runs, newest first."""
        with client_scope(self.client_id):
            return self.store.list_runs(run_filter)

    def run(self, run_id: int) -> RunRecord:
        """One run with its steps."""
        with client_scope(self.client_id):
            return self.store.get_run(run_id)

    def message(self, message_id: int) -> MessageRecord:
        """One stored message."""
        with client_scope(self.client_id):
            return self.store.get_message(message_id)

    def dead_letters(
        self, *, since: datetime | None = None, flow: str | None = None, limit: int = 100
    ) -> list[RunRecord]:
        """Dead runs (newest first) with their reasons; ``since`` = died after."""
        return self.runs(RunFilter(state=RunState.DEAD, changed_since=since, flow=flow, limit=limit))

    def timeline(self, object_type: str, canonical_id: str) -> list[TimelineEvent]:
        """Business events of one object across systems."""
        with client_scope(self.client_id):
            return self.store.timeline(object_type, canonical_id)

    def set_connection_status(self, connection_id: str, *, paused: bool, reason: str | None = None) -> str:
        """Pause or resume one of this client's connections (audited); returns the new status.

        Runs that need a paused connection are parked and go on by themselves once it is resumed.

        Raises:
            NotFound: no such connection for this client.
        """
        self.require(Permission.OPERATE)
        status = "paused" if paused else "active"
        with client_scope(self.client_id):
            self.store.get_connection(connection_id)  # NotFound for other clients' connections
            self.store.set_connection_status(connection_id, status, reason if paused else None)
            detail: dict[str, Any] = {"status": status, "reason": reason}
            self.audit(
                f"connection.{'pause' if paused else 'resume'}",
                f"connection:{connection_id}",
                detail,
                datetime.now(UTC),
            )
        return status

    def counts(self) -> dict[str, int]:
        """Runs per state."""
        with client_scope(self.client_id):
            return self.store.count_by_state()

    def replay(self, run_ids: Sequence[int], *, from_step: str | None = None) -> ReplayReport:
        """Queue ended runs again, from the start or from a named step (checked against each flow).

        Raises:
            NotFound: a run does not exist.
            Conflict: a run is active, or its flow has no step ``from_step``.
        """
        self.require(Permission.OPERATE)
        if len(run_ids) > MAX_BULK_REPLAY:
            raise Conflict(f"at most {MAX_BULK_REPLAY} runs per replay; narrow it with --since or --flow")
        with client_scope(self.client_id):
            if from_step is not None:
                for run_id in run_ids:
                    run = self.store.get_run(run_id)
                    flow = get_flow(run.flow)
                    if flow is None or from_step not in flow.step_names():
                        names = ", ".join(flow.step_names()) if flow else "none"
                        raise Conflict(f"run {run_id} ({run.flow}) has no step {from_step!r}; its steps: {names}")
            now = datetime.now(UTC)
            queued = self.store.replay(run_ids, from_step, now)
            detail: dict[str, Any] = {"runs": list(queued), "from_step": from_step}
            self.audit("runs.replay", f"runs:{len(queued)}", detail, now)
        return ReplayReport(queued, from_step)

    def replay_dead(self, *, since: datetime | None = None, flow: str | None = None) -> ReplayReport:
        """Replay every dead run (optionally since a time, of one flow) from the start."""
        self.require(Permission.OPERATE)
        with client_scope(self.client_id):
            ids = self.store.dead_run_ids(since, flow)
        if not ids:
            return ReplayReport([], None)
        return self.replay(ids)
