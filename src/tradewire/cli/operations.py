"""``tradewire orders|exceptions|reconcile …``: holds, the order timeline, exceptions, reconciliation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.table import Table

from tradewire.cli.common import ClientOpt, DatabaseUrl, JsonOut, emit_json, fail, load_settings, out
from tradewire.errors import TradewireError
from tradewire.runtime.store.port import Store
from tradewire.runtime.store.port_operations import HoldRecord
from tradewire.services.exceptions import ExceptionOperations, exception_to_dict, parse_state
from tradewire.services.operations import pick_client
from tradewire.services.order_timeline import build_timeline
from tradewire.services.orders import OrderOperations
from tradewire.services.processes import store_for
from tradewire.services.reconcile import checks_named, reconcile

orders_app = typer.Typer(help="Orders: holds and the timeline across systems.", no_args_is_help=True)
exceptions_app = typer.Typer(help="Problems a person must fix (unknown SKU, drift…).", no_args_is_help=True)
reconcile_app = typer.Typer(help="Compare systems, open exceptions for drift, heal what is safe.", no_args_is_help=True)

NumberArg = Annotated[str, typer.Argument(help="The channel's order number (1001 or #1001) or the canonical id.")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail; at most 500 characters).")]
ConnectionOpt = Annotated[
    str | None, typer.Option("--connection", help="The channel connection, when several have this number.")
]


@contextmanager
def _session(database_url: str | None, client: str | None) -> Iterator[tuple[Store, str]]:
    """The store and the client to act for; the store is closed afterwards."""
    settings = load_settings(database_url)
    try:
        store = store_for(settings)
    except Exception as exc:
        fail(f"cannot open {settings.database.url}: {str(exc).splitlines()[0]} (run `tradewire migrate`?)")
    try:
        try:
            client_id = pick_client(store, client)
        except TradewireError as exc:
            fail(str(exc))
        yield store, client_id
    finally:
        store.close()


def _print_hold(hold: HoldRecord, json_out: bool) -> None:
    if json_out:
        emit_json(hold.to_dict())
        return
    why = "; ".join(f"{r.get('rule')}: {r.get('detail')}" for r in hold.reasons)
    out.print(f"order {hold.order_number}: {hold.state.value} ({why})", highlight=False)
    if hold.released_at is not None:
        out.print(f"released by {hold.released_by}: {hold.release_reason}", highlight=False)


@orders_app.command("hold")
def hold_order(
    number: NumberArg,
    reason: ReasonOpt,
    connection: ConnectionOpt = None,
    database_url: DatabaseUrl = None,
    client: ClientOpt = None,
    json_out: JsonOut = False,
) -> None:
    """Hold an order: it does not go to the ERP until released."""
    with _session(database_url, client) as (store, client_id):
        try:
            hold = OrderOperations(store, client_id, actor="cli").hold(number, reason, connection_id=connection)
        except TradewireError as exc:
            fail(str(exc))
        _print_hold(hold, json_out)


@orders_app.command("release")
def release_order(
    number: NumberArg,
    reason: ReasonOpt,
    connection: ConnectionOpt = None,
    database_url: DatabaseUrl = None,
    client: ClientOpt = None,
    json_out: JsonOut = False,
) -> None:
    """Release a held order; it goes on to the ERP at once."""
    with _session(database_url, client) as (store, client_id):
        try:
            hold = OrderOperations(store, client_id, actor="cli").release(number, reason, connection_id=connection)
        except TradewireError as exc:
            fail(str(exc))
        _print_hold(hold, json_out)


@orders_app.command("holds")
def list_holds(
    all_holds: Annotated[bool, typer.Option("--all", help="Released holds too.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many.", min=1, max=10_000)] = 100,
    database_url: DatabaseUrl = None,
    client: ClientOpt = None,
    json_out: JsonOut = False,
) -> None:
    """Held orders, newest first."""
    with _session(database_url, client) as (store, client_id):
        ops = OrderOperations(store, client_id, actor="cli")
        holds = ops.holds(state=None, limit=limit) if all_holds else ops.holds(limit=limit)
        if json_out:
            emit_json([h.to_dict() for h in holds])
            return
        table = Table(title=f"holds ({len(holds)})")
        for col in ("order", "state", "reasons", "held_at", "released_by"):
            table.add_column(col, overflow="fold")
        for h in holds:
            why = "; ".join(f"{r.get('rule')}: {r.get('detail')}" for r in h.reasons)
            table.add_row(h.order_number, h.state.value, why, h.held_at.isoformat(), h.released_by or "")
        out.print(table)


@orders_app.command("timeline")
def order_timeline(
    number: NumberArg,
    connection: ConnectionOpt = None,
    database_url: DatabaseUrl = None,
    client: ClientOpt = None,
    json_out: JsonOut = False,
) -> None:
    """Every message, run, step, vendor call and document id of an order, in time order."""
    with _session(database_url, client) as (store, client_id):
        try:
            order = OrderOperations(store, client_id, actor="cli").find(number, connection_id=connection)
            story = build_timeline(store, client_id, order)
        except TradewireError as exc:
            fail(str(exc))
        if json_out:
            emit_json(story.to_dict())
            return
        docs = ", ".join(f"{d['system']}:{d['external_id']}" for d in story.documents)
        out.print(f"order {order.number} ({order.id}) documents: {docs}", highlight=False)
        table = Table()
        for col in ("at", "kind", "what"):
            table.add_column(col, overflow="fold")
        for e in story.entries:
            table.add_row(str(e["at"]), e["kind"], _describe(e))
        out.print(table)


def _describe(e: dict[str, Any]) -> str:
    kind = e["kind"]
    if kind == "message":
        return f"message {e['message_id']} {e['source']} {e['topic']} ({e['bytes']} bytes)"
    if kind == "run":
        return f"run {e['run_id']} {e['flow']} v{e['flow_version']} created"
    if kind == "run_end":
        return f"run {e['run_id']} {e['state']}" + (f": {e['last_error']}" if e.get("last_error") else "")
    if kind == "step":
        return f"run {e['run_id']} step {e['step']} ({e['ms']} ms, {e['calls']} calls)"
    if kind == "call":
        return f"  {e['method']} {e['host']}{e['path']} → {e['status']} ({e['ms']} ms)"
    if kind == "event":
        ext = f" {e['system']}:{e['external_id']}" if e.get("external_id") else ""
        return f"{e['event']}{ext}"
    if kind == "hold":
        return f"hold {e['state']} by {e['by']}"
    return f"exception {e['exception_id']} {e['exception_kind']} ({e['state']}): {e['message']}"


@exceptions_app.command("list")
def list_exceptions(
    state: Annotated[str, typer.Option(help="open, resolved or all.")] = "open",
    kind: Annotated[str | None, typer.Option(help="Only this kind (unknown_sku, order_not_in_erp…).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.", min=1, max=10_000)] = 100,
    database_url: DatabaseUrl = None,
    client: ClientOpt = None,
    json_out: JsonOut = False,
) -> None:
    """Exceptions, newest first."""
    with _session(database_url, client) as (store, client_id):
        try:
            rows = ExceptionOperations(store, client_id, actor="cli").list(
                state=parse_state(state), kind=kind, limit=limit
            )
        except TradewireError as exc:
            fail(str(exc))
        if json_out:
            emit_json([exception_to_dict(x) for x in rows])
            return
        table = Table(title=f"exceptions ({len(rows)})")
        for col in ("id", "kind", "state", "object", "occurrences", "message"):
            table.add_column(col, overflow="fold")
        for x in rows:
            table.add_row(
                str(x.id), x.kind, x.state.value, f"{x.object_type}:{x.canonical_id}", str(x.occurrences), x.message
            )
        out.print(table)


@exceptions_app.command("show")
def show_exception(
    exception_id: Annotated[int, typer.Argument(help="Exception id.")],
    database_url: DatabaseUrl = None,
    client: ClientOpt = None,
    json_out: JsonOut = False,
) -> None:
    """One exception with its detail."""
    with _session(database_url, client) as (store, client_id):
        try:
            data = exception_to_dict(ExceptionOperations(store, client_id, actor="cli").show(exception_id))
        except TradewireError as exc:
            fail(str(exc))
        if json_out:
            emit_json(data)
        else:
            out.print_json(data=data, default=str)


@exceptions_app.command("resolve")
def resolve_exception(
    exception_id: Annotated[int, typer.Argument(help="Exception id.")],
    reason: ReasonOpt,
    database_url: DatabaseUrl = None,
    client: ClientOpt = None,
    json_out: JsonOut = False,
) -> None:
    """Mark an exception resolved (when it was fixed outside a replay)."""
    with _session(database_url, client) as (store, client_id):
        try:
            record = ExceptionOperations(store, client_id, actor="cli").resolve(exception_id, reason)
        except TradewireError as exc:
            fail(str(exc))
        if json_out:
            emit_json(exception_to_dict(record))
        else:
            out.print(f"exception {record.id} resolved", highlight=False)


@reconcile_app.command("run")
def reconcile_run(
    check: Annotated[list[str] | None, typer.Option("--check", help="Only this check (repeatable).")] = None,
    grace_minutes: Annotated[
        float | None, typer.Option(help="Findings only for objects older than this (default: scheduler setting).")
    ] = None,
    no_heal: Annotated[bool, typer.Option("--no-heal", help="Only report and open exceptions.")] = False,
    database_url: DatabaseUrl = None,
    client: ClientOpt = None,
    json_out: JsonOut = False,
) -> None:
    """Run reconciliation checks now for one client."""
    settings = load_settings(database_url)
    with _session(database_url, client) as (store, client_id):
        if grace_minutes is not None and grace_minutes < 0:
            fail("--grace-minutes must be 0 or more")
        grace = (
            timedelta(minutes=grace_minutes)
            if grace_minutes is not None
            else timedelta(seconds=settings.scheduler.reconcile_grace_seconds)
        )
        try:
            checks = checks_named(check)
            reports = reconcile(store, client_id, datetime.now(UTC), checks=checks, grace=grace, heal=not no_heal)
        except TradewireError as exc:
            fail(str(exc))
        if json_out:
            emit_json([r.to_dict() for r in reports])
            return
        for r in reports:
            status = f"error: {r.error}" if r.error else f"{len(r.findings)} finding(s), {len(r.healed)} healed"
            out.print(f"{r.check}: {status}, {r.resolved} resolved", highlight=False)
            for f in r.findings:
                out.print(f"  {f['message']}", highlight=False)


@reconcile_app.command("list")
def reconcile_list(json_out: JsonOut = False) -> None:
    """The registered checks."""
    checks = checks_named(None)
    if json_out:
        emit_json([{"name": c.name, "description": c.description} for c in checks])
        return
    for c in checks:
        out.print(f"{c.name}: {c.description}", highlight=False)
