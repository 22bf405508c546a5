"""Reconciliation: scheduled checks that compare systems, open an exception per finding, and heal
what is safe to heal by re-running the flow.

A check is anything with the :class:`ReconciliationCheck` shape, registered with
:func:`register_check`. Each finding opens (or counts again) the exception
``reconcile:<check>:<finding key>`` of kind ``<check>``; exceptions of the check whose finding
is gone are resolved. Healing goes through the operator use cases (audited as ``reconcile``),
so it never writes to a vendor itself: a replayed run does, idempotently.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from tradewire.errors import Conflict, NotFound, TradewireError
from tradewire.runtime.store.port import Store
from tradewire.runtime.store.port_facts import ExceptionFilter, ExceptionState, OpenException
from tradewire.services.operations import Operations
from tradewire.tenancy.context import client_scope

log = logging.getLogger("tradewire.reconcile")

ACTOR = "reconcile"
MAX_OPEN_PER_CHECK = 10_000


@dataclass(frozen=True)
class Finding:
    """One drift between systems.

    Attributes:
        key: the problem's identity within its check (an order id, ``<sku>:<channel>``…).
        message: one sentence: what differs and what to do.
    """

    key: str
    object_type: str
    canonical_id: str
    message: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReconcileContext:
    """What a check may use: the store (inside the client's scope), the time, and operator actions."""

    store: Store
    client_id: str
    now: datetime
    grace: timedelta
    ops: Operations


class ReconciliationCheck(Protocol):
    """A drift check. ``find`` reads, ``heal`` acts on one finding (or returns None to leave it to a person)."""

    @property
    def name(self) -> str:
        """Stable name: the CLI's ``--check`` and the kind of the exceptions it opens."""
        ...

    @property
    def description(self) -> str:
        """One line for ``tradewire reconcile list``."""
        ...

    def find(self, ctx: ReconcileContext) -> list[Finding]:
        """Every current finding (called inside the client's scope)."""
        ...

    def heal(self, ctx: ReconcileContext, finding: Finding) -> str | None:
        """Try to fix one finding safely; returns what was done, or None."""
        ...


CHECKS: dict[str, ReconciliationCheck] = {}


def register_check(check: ReconciliationCheck) -> ReconciliationCheck:
    """Add a check (its ``name`` is its exception kind and its CLI name)."""
    CHECKS[check.name] = check
    return check


def exception_key(check: str, finding_key: str) -> str:
    """The exception key of a finding."""
    return f"reconcile:{check}:{finding_key}"


@dataclass
class CheckReport:
    """What one check found, healed and resolved."""

    check: str
    findings: list[dict[str, Any]] = field(default_factory=list)
    healed: list[dict[str, str]] = field(default_factory=list)
    resolved: int = 0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "check": self.check,
            "findings": self.findings,
            "healed": self.healed,
            "resolved": self.resolved,
            "error": self.error,
        }


def load_builtin_checks() -> None:
    """Register the checks that ship with Tradewire (each area adds its module here)."""
    import tradewire.services.reconcile_orders  # noqa: F401


def checks_named(names: Sequence[str] | None) -> list[ReconciliationCheck]:
    """The registered checks, or those named.

    Raises:
        NotFound: a name is not a registered check.
    """
    load_builtin_checks()
    if not names:
        return list(CHECKS.values())
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise NotFound(f"no reconciliation check {', '.join(map(repr, unknown))}; known: {', '.join(CHECKS)}")
    return [CHECKS[n] for n in names]


def reconcile(
    store: Store,
    client_id: str,
    now: datetime,
    *,
    checks: Sequence[ReconciliationCheck],
    grace: timedelta,
    heal: bool = True,
) -> list[CheckReport]:
    """Run ``checks`` for one client: open, heal and resolve exceptions. A failing check is reported, not raised."""
    ctx = ReconcileContext(store, client_id, now, grace, Operations(store, client_id, actor=ACTOR))
    reports: list[CheckReport] = []
    for check in checks:
        report = CheckReport(check.name)
        reports.append(report)
        try:
            _run_check(ctx, check, report, heal=heal)
        except TradewireError as exc:
            report.error = str(exc)
            log.warning("reconciliation check failed", extra={"check": check.name, "client": client_id})
    return reports


def _run_check(ctx: ReconcileContext, check: ReconciliationCheck, report: CheckReport, *, heal: bool) -> None:
    with client_scope(ctx.client_id):
        findings = check.find(ctx)
        facts = [
            OpenException(
                exception_key(check.name, f.key), check.name, f.object_type, f.canonical_id, f.message, f.detail
            )
            for f in findings
        ]
        if facts:
            ctx.store.record_facts(facts, ctx.now)
        current = {exception_key(check.name, f.key) for f in findings}
        still_open = ctx.store.list_exceptions(
            ExceptionFilter(state=ExceptionState.OPEN, kind=check.name, limit=MAX_OPEN_PER_CHECK)
        )
        gone = [x.key for x in still_open if x.key not in current]
        report.resolved = ctx.store.resolve_exceptions_by_key(gone, ACTOR, "no longer found by reconciliation", ctx.now)
    for finding in findings:
        report.findings.append(
            {
                "key": finding.key,
                "object_type": finding.object_type,
                "canonical_id": finding.canonical_id,
                "message": finding.message,
                "detail": finding.detail,
            }
        )
        if not heal:
            continue
        try:
            with client_scope(ctx.client_id):
                done = check.heal(ctx, finding)
        except (Conflict, NotFound) as exc:
            done = None
            log.info(
                "reconciliation could not heal", extra={"check": check.name, "key": finding.key, "reason": str(exc)}
            )
        if done:
            report.healed.append({"key": finding.key, "action": done})
