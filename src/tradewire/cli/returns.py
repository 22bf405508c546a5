"""``tradewire returns …``: list and show RMAs, inspect returned lines."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import typer
from rich.table import Table

from tradewire.cli.common import ClientOpt, DatabaseUrl, JsonOut, emit_json, fail, load_settings, out
from tradewire.errors import TradewireError
from tradewire.services.operations import pick_client
from tradewire.services.processes import store_for
from tradewire.services.returns import Returns

returns_app = typer.Typer(help="Returns (RMAs): list, show, inspect.", no_args_is_help=True)

RmaArg = Annotated[str, typer.Argument(help="RMA id, or the source's return number (e.g. Loop's return id).")]


def _returns(database_url: str | None, client: str | None) -> Returns:
    settings = load_settings(database_url)
    try:
        store = store_for(settings)
        return Returns(store, pick_client(store, client), actor="cli")
    except TradewireError as exc:
        fail(str(exc))
    except Exception as exc:
        fail(f"cannot open {settings.database.url}: {str(exc).splitlines()[0]} (run `tradewire migrate`?)")


@returns_app.command("list")
def list_returns(
    database_url: DatabaseUrl = None,
    client: ClientOpt = None,
    state: Annotated[
        str | None, typer.Option(help="requested, authorized, in_transit, received, inspected, closed, cancelled")
    ] = None,
    order: Annotated[str | None, typer.Option(help="Only returns of this canonical order id.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.", min=1, max=1000)] = 50,
    json_out: JsonOut = False,
) -> None:
    """RMAs, most recently changed first."""
    rows = _returns(database_url, client).list(state=state, order_id=order, limit=limit)
    if json_out:
        emit_json(rows)
        return
    table = Table(title=f"returns ({len(rows)})")
    for col in ("id", "number", "order", "state", "refund", "credit memo", "due", "updated"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            r["id"], r["number"] or "", r["order_number"], r["state"], r["refund"]["ref"] or "",
            r["credit_memo"] or "", ", ".join(r["due"]), r["updated_at"],
        )  # fmt: skip
    out.print(table)


@returns_app.command("show")
def show_return(
    rma: RmaArg, database_url: DatabaseUrl = None, client: ClientOpt = None, json_out: JsonOut = False
) -> None:
    """One RMA with its lines, postings and what it still owes."""
    try:
        data = _returns(database_url, client).show(rma)
    except TradewireError as exc:
        fail(str(exc))
    if json_out:
        emit_json(data)
        return
    out.print_json(data=data, default=str)


@returns_app.command("inspect")
def inspect_return(
    rma: RmaArg,
    line: Annotated[str, typer.Option("--line", help="The line id (see `returns show`).")],
    received: Annotated[int, typer.Option("--received", help="Units counted.", min=0)],
    disposition: Annotated[str, typer.Option("--disposition", help="restock, refurbish or write_off")],
    database_url: DatabaseUrl = None,
    client: ClientOpt = None,
    json_out: JsonOut = False,
) -> None:
    """Count one returned line and decide what happens to it; the refund and credit memo follow once all lines are in."""
    try:
        result = _returns(database_url, client).inspect(rma, line_id=line, received=received, disposition=disposition)
    except TradewireError as exc:
        fail(str(exc))
    if json_out:
        emit_json(result)
        return
    verb = "queued" if result["queued"] else "already queued"
    due = ", ".join(result["due_after"]) or "nothing"
    out.print(f"inspection of line {line} {verb}; the return will be {result['state_after']}, then owes: {due}")


@returns_app.command("refunded")
def refunded_by_hand(
    rma: RmaArg,
    ref: Annotated[str, typer.Option("--ref", help="The channel's refund id (as the channel shows it).")],
    amount: Annotated[str | None, typer.Option("--amount", help="Amount refunded (default: what came back).")] = None,
    database_url: DatabaseUrl = None,
    client: ClientOpt = None,
    json_out: JsonOut = False,
) -> None:
    """Record a refund made on the channel by hand; Tradewire will not refund again and books the credit memo."""
    try:
        money = Decimal(amount) if amount is not None else None
    except ArithmeticError:
        fail(f"--amount {amount!r} is not an amount")
    try:
        result = _returns(database_url, client).record_manual_refund(rma, refund_ref=ref, amount=money)
    except TradewireError as exc:
        fail(str(exc))
    if json_out:
        emit_json(result)
        return
    out.print(f"refund {ref} ({result['amount']}) recorded on return {result['rma_id']}; the credit memo follows")
