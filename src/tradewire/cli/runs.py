"""``tradewire runs …`` and ``tradewire dead-letters …``: look, and replay."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from tradewire.cli.common import ClientOpt, DatabaseUrl, JsonOut, emit_json, fail, load_settings, out
from tradewire.errors import TradewireError
from tradewire.services.operations import Operations, pick_client
from tradewire.services.processes import store_for
from tradewire.services.views import run_to_dict

runs_app = typer.Typer(help="Look at runs and replay them.", no_args_is_help=True)
connections_app = typer.Typer(help="Pause and resume connections.", no_args_is_help=True)
dead_app = typer.Typer(help="Dead letters: runs that stopped for good, with their reasons.", no_args_is_help=True)

StateOpt = Annotated[str | None, typer.Option(help="queued, running, waiting, retry_scheduled, succeeded, dead")]
FlowOpt = Annotated[str | None, typer.Option(help="Only runs of this flow.")]
LimitOpt = Annotated[int, typer.Option(help="At most this many.", min=1, max=10_000)]


def _ops(database_url: str | None, client: str | None) -> Operations:
    settings = load_settings(database_url)
    try:
        store = store_for(settings)
        return Operations(store, pick_client(store, client), actor="cli")
    except TradewireError as exc:
        fail(str(exc))
    except Exception as exc:
        fail(f"cannot open {settings.database.url}: {str(exc).splitlines()[0]} (run `tradewire migrate`?)")


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--since {value!r} is not an ISO date or time (e.g. 2026-11-23 or 2026-11-23T10:00:00Z)")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _print_runs(rows: list[dict[str, object]], title: str) -> None:
    table = Table(title=title)
    for col in ("id", "flow", "state", "attempt", "failures", "updated_at", "last_error"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            *(
                str(r[c] if r[c] is not None else "")
                for c in ("id", "flow", "state", "attempt", "failures", "updated_at", "last_error")
            )
        )
    out.print(table)


@runs_app.command("list")
def list_runs(
    database_url: DatabaseUrl = None,
    client: ClientOpt = None,
    state: StateOpt = None,
    flow: FlowOpt = None,
    limit: LimitOpt = 50,
    json_out: JsonOut = False,
) -> None:
    """Runs, newest first."""
    from tradewire.runtime.store.port import RunFilter, RunState

    if state is not None and state not in {s.value for s in RunState}:
        fail(f"unknown state {state!r}; one of: {', '.join(s.value for s in RunState)}")
    ops = _ops(database_url, client)
    rows = [
        run_to_dict(r) for r in ops.runs(RunFilter(state=RunState(state) if state else None, flow=flow, limit=limit))
    ]
    if json_out:
        emit_json(rows)
    else:
        _print_runs(rows, f"runs ({len(rows)})")


@runs_app.command("show")
def show_run(
    run_id: Annotated[int, typer.Argument(help="Run id.")],
    database_url: DatabaseUrl = None,
    client: ClientOpt = None,
    json_out: JsonOut = False,
) -> None:
    """One run with its steps and their outputs."""
    ops = _ops(database_url, client)
    try:
        data = run_to_dict(ops.run(run_id), steps=True)
    except TradewireError as exc:
        fail(str(exc))
    if json_out:
        emit_json(data)
        return
    out.print_json(data=data, default=str)


@runs_app.command("replay")
def replay_runs(
    run_ids: Annotated[list[int] | None, typer.Argument(help="Run ids (or select them with the filters).")] = None,
    from_step: Annotated[
        str | None, typer.Option("--from-step", help="Start at this step (earlier steps keep their output).")
    ] = None,
    flow: FlowOpt = None,
    state: Annotated[str | None, typer.Option(help="With filters: succeeded or dead (default dead).")] = None,
    since: Annotated[str | None, typer.Option(help="With filters: runs that ended after this ISO time.")] = None,
    error_contains: Annotated[
        str | None, typer.Option("--error-contains", help="With filters: text the run's last error contains.")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="With filters: replay (without it, only count).")] = False,
    database_url: DatabaseUrl = None,
    client: ClientOpt = None,
    json_out: JsonOut = False,
) -> None:
    """Queue ended runs again, from the start or from a step; by id, or in bulk by filter (count first)."""
    from tradewire.runtime.store.port import RunState
    from tradewire.services.bulk_replay import ReplaySelection, bulk_replay

    filtering = any(v is not None for v in (flow, state, since, error_contains))
    if run_ids and filtering:
        fail("give run ids or filters (--flow, --state, --since, --error-contains), not both")
    if not run_ids and not filtering:
        fail("give run ids, or select runs with --flow, --state, --since or --error-contains")
    if state is not None and state not in (RunState.SUCCEEDED.value, RunState.DEAD.value):
        fail(f"--state {state!r}: only ended runs (succeeded, dead) can be replayed")
    ops = _ops(database_url, client)
    if run_ids:
        try:
            report = ops.replay(run_ids, from_step=from_step)
        except TradewireError as exc:
            fail(str(exc))
        if json_out:
            emit_json({"queued": report.queued, "from_step": report.from_step})
        else:
            out.print(f"queued {len(report.queued)} run(s): {', '.join(map(str, report.queued))}")
        return
    selection = ReplaySelection(
        flow=flow,
        state=RunState(state or "dead"),
        since=_since(since),
        error_contains=error_contains,
        from_step=from_step,
    )
    try:
        bulk = bulk_replay(ops, selection, dry_run=not yes)
    except TradewireError as exc:
        fail(str(exc))
    if json_out:
        emit_json(
            {
                "matched": len(bulk.matched),
                "run_ids": bulk.matched,
                "queued": bulk.queued,
                "dry_run": bulk.dry_run,
                "from_step": from_step,
            }
        )
    elif bulk.dry_run:
        out.print(f"{len(bulk.matched)} run(s) match (dry run); add --yes to replay them")
    else:
        out.print(f"queued {len(bulk.queued)} of {len(bulk.matched)} matching run(s)")


@dead_app.command("list")
def list_dead(
    database_url: DatabaseUrl = None,
    client: ClientOpt = None,
    flow: FlowOpt = None,
    since: Annotated[str | None, typer.Option(help="Only runs that died after this ISO time.")] = None,
    limit: LimitOpt = 50,
    json_out: JsonOut = False,
) -> None:
    """Dead letters with the reason a person can act on."""
    ops = _ops(database_url, client)
    rows = [run_to_dict(r) for r in ops.dead_letters(since=_since(since), flow=flow, limit=limit)]
    if json_out:
        emit_json(rows)
    else:
        _print_runs(rows, f"dead letters ({len(rows)})")


@dead_app.command("replay")
def replay_dead(
    run_ids: Annotated[list[int] | None, typer.Argument(help="Dead run ids (or use --all / --since).")] = None,
    all_dead: Annotated[bool, typer.Option("--all", help="Replay every dead letter.")] = False,
    since: Annotated[str | None, typer.Option(help="Replay those that died after this ISO time.")] = None,
    flow: FlowOpt = None,
    database_url: DatabaseUrl = None,
    client: ClientOpt = None,
    json_out: JsonOut = False,
) -> None:
    """Replay dead letters from the start (one, several, all, or since a time)."""
    if not run_ids and not all_dead and since is None:
        fail("name run ids, or use --all or --since")
    ops = _ops(database_url, client)
    try:
        if run_ids:
            report = ops.replay(run_ids)
        else:
            with Progress(transient=True, disable=json_out) as progress:
                progress.add_task("replaying dead letters", total=None)
                report = ops.replay_dead(since=_since(since), flow=flow)
    except TradewireError as exc:
        fail(str(exc))
    if json_out:
        emit_json({"queued": report.queued})
    else:
        out.print(f"queued {len(report.queued)} dead letter(s) for replay")


@connections_app.command("resume")
def resume_connection(
    connection_id: Annotated[str, typer.Argument(help="Connection id.")],
    database_url: DatabaseUrl = None,
    client: ClientOpt = None,
    json_out: JsonOut = False,
) -> None:
    """Resume a connection paused after refused credentials; its parked runs go on by themselves."""
    ops = _ops(database_url, client)
    try:
        status = ops.set_connection_status(connection_id, paused=False)
    except TradewireError as exc:
        fail(str(exc))
    _print_status(connection_id, status, json_out)


@connections_app.command("pause")
def pause_connection(
    connection_id: Annotated[str, typer.Argument(help="Connection id.")],
    reason: Annotated[str, typer.Option(help="Why (shown on parked runs).")] = "paused by an operator",
    database_url: DatabaseUrl = None,
    client: ClientOpt = None,
    json_out: JsonOut = False,
) -> None:
    """Stop calling a connection's system; runs that need it wait until it is resumed."""
    ops = _ops(database_url, client)
    try:
        status = ops.set_connection_status(connection_id, paused=True, reason=reason)
    except TradewireError as exc:
        fail(str(exc))
    _print_status(connection_id, status, json_out)


def _print_status(connection_id: str, status: str, json_out: bool) -> None:
    if json_out:
        emit_json({"id": connection_id, "status": status})
    else:
        out.print(f"{connection_id}: {status}")
