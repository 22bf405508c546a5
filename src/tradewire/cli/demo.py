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
from tradewire.cli.common import DatabaseUrl, JsonOut, console, emit_json, fail, load_settings, start_logging
from tradewire.services.demo import Demo, DemoOptions, DemoReport
from tradewire.services.demo_systems import CHANNELS, ERPS


def _table(report: DemoReport) -> Table:
    channels = ", ".join(report.channels) or "…"
    erp = report.erp or "…"
    table = Table(title=f"Tradewire demo — {channels} → {erp}", show_header=False, min_width=56)
    table.add_column(style="bold")
    table.add_column(justify="right")
    by_channel = ", ".join(f"{name} {count}" for name, count in report.orders_by_channel.items())
    rows = [
        ("API", report.api_url),
        ("API key (Authorization: Bearer …)", report.api_key or "…"),
        ("orders sent", f"{report.orders_sent}  ({by_channel})" if by_channel else str(report.orders_sent)),
        (f"orders in {erp}", f"{report.orders_in_erp}  ({report.missing_in_erp} on the way)"),
        (f"duplicates in {erp}", str(report.duplicates_in_erp)),
        ("cancellations sent / applied", f"{report.cancellations_sent} / {report.cancelled_in_erp}"),
        ("notifications sent (duplicates)", f"{report.webhook_deliveries} ({report.duplicate_deliveries})"),
        (f"{erp} faults injected", ", ".join(f"{k} {v}" for k, v in sorted(report.erp_faults.items())) or "none"),
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
        bool, typer.Option("--exit", help="Wait until every order settled; exit 0 only if each is in the ERP once.")
    ] = False,
    json_out: JsonOut = False,
    database_url: DatabaseUrl = None,
    port: Annotated[int | None, typer.Option(help="API port (default: a free one).", min=0, max=65535)] = None,
    rate: Annotated[float, typer.Option(help="Orders per second to create.", min=0.1, max=5000)] = 50.0,
    faults: Annotated[bool, typer.Option(help="Inject 429s, 5xx, timeouts and duplicate webhooks.")] = True,
    seed: Annotated[int | None, typer.Option(help="Seed for repeatable orders and faults.")] = None,
    settle_timeout: Annotated[float, typer.Option(help="Seconds to wait for the last orders.", min=1)] = 300.0,
    channels: Annotated[str, typer.Option(help=f"Comma-separated sales channels: {', '.join(CHANNELS)}.")] = "shopify",
    erp: Annotated[str, typer.Option(help=f"The ERP orders go to: {' or '.join(ERPS)}.")] = "netsuite",
) -> None:
    """Run the API, a worker, the scheduler and the channels' and ERP's sandboxes on 127.0.0.1."""
    chosen = tuple(dict.fromkeys(name.strip().lower() for name in channels.split(",") if name.strip()))
    unknown = [name for name in chosen if name not in CHANNELS]
    if not chosen or unknown:
        fail(f"--channels: unknown {', '.join(unknown) or '(empty)'}; choose from {', '.join(CHANNELS)}")
    if erp.lower() not in ERPS:
        fail(f"--erp: unknown {erp!r}; choose {' or '.join(ERPS)}")
    settings = load_settings(database_url or f"sqlite:///{Path.cwd() / 'tradewire-demo.db'}")
    settings.dev_mode = True
    settings.log.level = "ERROR" if not json_out else "CRITICAL"
    start_logging(settings)
    if exit_when_done and orders is None:
        orders = 200
    options = DemoOptions(
        orders=orders,
        rate=rate,
        faults=faults,
        seed=seed,
        settle_timeout=settle_timeout,
        port=port,
        channels=chosen,
        erp=erp.lower(),
    )
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
            f"[green]every order is in {report.erp} exactly once[/green]" if report.ok else "[red]ledger mismatch[/red]"
        )
        console.print(verdict)
    if exit_when_done and not report.ok:
        raise typer.Exit(1)
