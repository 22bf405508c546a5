"""``tradewire demo``: everything on one machine, with faults, and a ledger check at the end."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.live import Live
from rich.table import Table

from tradewire.api.app import create_app
from tradewire.cli.common import DatabaseUrl, JsonOut, console, emit_json, load_settings, start_logging
from tradewire.services.demo import Demo, DemoOptions, DemoReport


def _table(report: DemoReport) -> Table:
    table = Table(title="Tradewire demo — Shopify → NetSuite", show_header=False, min_width=56)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("API", report.api_url),
        ("orders sent (Shopify)", str(report.orders_sent)),
        ("orders in NetSuite", f"{report.orders_in_erp}  ({report.missing_in_erp} on the way)"),
        ("duplicates in NetSuite", str(report.duplicates_in_erp)),
        ("cancellations sent / applied", f"{report.cancellations_sent} / {report.cancelled_in_erp}"),
        ("webhook deliveries (duplicates)", f"{report.webhook_deliveries} ({report.duplicate_deliveries})"),
        ("NetSuite faults injected", ", ".join(f"{k} {v}" for k, v in sorted(report.erp_faults.items())) or "none"),
        ("runs", ", ".join(f"{k} {v}" for k, v in sorted(report.runs.items())) or "none"),
        ("dead letters", str(report.dead_letters)),
        ("orders/s, p50, p99", f"{report.orders_per_second} /s, {report.p50_ms} ms, {report.p99_ms} ms"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def demo(
    orders: Annotated[
        int | None, typer.Option(help="Send this many orders (default: keep going until Ctrl-C).", min=1, max=1_000_000)
    ] = None,
    exit_when_done: Annotated[
        bool, typer.Option("--exit", help="Wait until every order settled; exit 0 only if each is in NetSuite once.")
    ] = False,
    json_out: JsonOut = False,
    database_url: DatabaseUrl = None,
    port: Annotated[int | None, typer.Option(help="API port (default: a free one).", min=0, max=65535)] = None,
    rate: Annotated[float, typer.Option(help="Orders per second to create.", min=0.1, max=5000)] = 50.0,
    faults: Annotated[bool, typer.Option(help="Inject 429s, 5xx, timeouts and duplicate webhooks.")] = True,
    seed: Annotated[int | None, typer.Option(help="Seed for repeatable orders and faults.")] = None,
    settle_timeout: Annotated[float, typer.Option(help="Seconds to wait for the last orders.", min=1)] = 300.0,
) -> None:
    """Run the API, a worker, the scheduler and the Shopify and NetSuite sandboxes on 127.0.0.1."""
    settings = load_settings(database_url or f"sqlite:///{Path.cwd() / 'tradewire-demo.db'}")
    settings.dev_mode = True
    settings.log.level = "ERROR" if not json_out else "CRITICAL"
    start_logging(settings)
    if exit_when_done and orders is None:
        orders = 200
    options = DemoOptions(orders=orders, rate=rate, faults=faults, seed=seed, settle_timeout=settle_timeout, port=port)
    runner = Demo(settings, options, create_app)

    async def main() -> DemoReport:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if json_out:
            return await runner.run(stop)
        with Live(_table(runner.report), console=console, refresh_per_second=4) as live:
            return await runner.run(stop, progress=lambda r: live.update(_table(r)))

    report = asyncio.run(main())
    if json_out:
        emit_json(report.as_dict())
    else:  # the live table already shows the final figures
        verdict = (
            "[green]every order is in NetSuite exactly once[/green]" if report.ok else "[red]ledger mismatch[/red]"
        )
        console.print(verdict)
    if exit_when_done and not report.ok:
        raise typer.Exit(1)
