"""``tradewire audit …``: who did what, when, from where; verify the chains; export them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tradewire.cli.common import ClientOpt, DatabaseUrl, JsonOut, emit_json, fail, load_settings, out
from tradewire.errors import TradewireError
from tradewire.governance.audit_chain import AuditSigner, chain_of
from tradewire.services.audit import entry_to_dict, export_audit, verify_audit
from tradewire.services.operations import pick_client
from tradewire.services.processes import store_for
from tradewire.tenancy.context import client_scope

audit_app = typer.Typer(help="The audit log: list, verify the hash chains, export.", no_args_is_help=True)

ChainOpt = Annotated[
    str | None, typer.Option("--chain", help="One chain: a client id, or 'system'. Default: every chain.")
]


@audit_app.command("verify")
def verify(database_url: DatabaseUrl = None, chain: ChainOpt = None, json_out: JsonOut = False) -> None:
    """Check every entry's seal, sequence and link, and each chain's head. Exit 1 when tampering shows."""
    settings = load_settings(database_url)
    store = store_for(settings)
    try:
        result = verify_audit(store, AuditSigner(settings.secret_keys()), [chain] if chain else None)
    finally:
        store.close()
    if json_out:
        emit_json(result.as_dict())
    else:
        table = Table(title="Audit chains")
        for col in ("chain", "entries", "unverifiable", "verdict"):
            table.add_column(col)
        for report in result.chains:
            verdict = "[green]intact[/green]" if report.intact else f"[red]{len(report.problems)} problem(s)[/red]"
            table.add_row(report.chain, str(report.entries), str(report.unverifiable), verdict)
        out.print(table)
        for report in result.chains:
            for problem in report.problems:
                out.print(f"[red]{report.chain} #{problem.seq}[/red]: {problem.problem}", highlight=False)
    if not result.intact:
        raise typer.Exit(1)


@audit_app.command("list")
def list_entries(
    database_url: DatabaseUrl = None,
    client: ClientOpt = None,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. runs.replay.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.", min=1, max=10_000)] = 50,
    json_out: JsonOut = False,
) -> None:
    """A client's audit entries, newest first."""
    store = store_for(load_settings(database_url))
    try:
        with client_scope(pick_client(store, client)):
            entries = [entry_to_dict(e) for e in store.list_audit(limit=limit, action=action)]
    except TradewireError as exc:
        fail(str(exc))
    finally:
        store.close()
    if json_out:
        emit_json(entries)
        return
    table = Table(title="Audit")
    for col in ("seq", "at", "actor", "source", "action", "target"):
        table.add_column(col, overflow="fold")
    for e in entries:
        table.add_row(
            *(str(e[c] if e[c] is not None else "") for c in ("seq", "at", "actor", "source", "action", "target"))
        )
    out.print(table)


@audit_app.command("export")
def export(
    database_url: DatabaseUrl = None,
    client: ClientOpt = None,
    chain: ChainOpt = None,
    output: Annotated[Path | None, typer.Option("--out", help="File to write (default: standard output).")] = None,
) -> None:
    """Write one chain as JSON lines, oldest first (each line carries its seal for later checks)."""
    store = store_for(load_settings(database_url))
    try:
        name = chain or chain_of(pick_client(store, client))
        if output is None:
            count = export_audit(store, name, sys.stdout.buffer)
        else:
            with output.open("wb") as sink:
                count = export_audit(store, name, sink)
    except TradewireError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}")
    finally:
        store.close()
    if output is not None:
        out.print(f"{count} entries of chain {name} written to {output}")
