"""``serve``, ``worker``, ``scheduler`` and ``migrate``: the long-running processes."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer

from tradewire.cli.common import DatabaseUrl, JsonOut, emit_json, fail, load_settings, out, start_logging
from tradewire.errors import ConfigError
from tradewire.services import processes


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


def migrate(database_url: DatabaseUrl = None, json_out: JsonOut = False) -> None:
    """Create or upgrade the database schema (safe to run again)."""
    settings = load_settings(database_url)
    try:
        revision = processes.migrate_database(settings)
    except ConfigError as exc:
        fail(str(exc))
    except Exception as exc:
        fail(f"cannot migrate {settings.database.url}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
    if json_out:
        emit_json({"database": settings.database.url, "revision": revision})
    else:
        out.print(f"database {settings.database.url} is at revision {revision}")


def serve(
    database_url: DatabaseUrl = None,
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port.", min=0, max=65535)] = None,
) -> None:
    """Serve the REST API, webhook receivers, /healthz and /metrics."""
    settings = load_settings(database_url, host=host, port=port)
    start_logging(settings)
    try:
        settings.check_for_production()
    except ConfigError as exc:
        fail(str(exc))
    import uvicorn

    from tradewire.api.app import create_app

    store = processes.store_for(settings)
    app = create_app(settings, store, processes.build_ingest(settings, store))
    try:
        uvicorn.run(app, host=settings.api.host, port=settings.api.port, log_level="warning", access_log=False)
    finally:
        store.close()


def worker(
    database_url: DatabaseUrl = None,
    concurrency: Annotated[int | None, typer.Option(help="Runs in flight in this process.", min=1, max=1024)] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve this worker's Prometheus metrics on 127.0.0.1:PORT.", min=1, max=65535)
    ] = None,
) -> None:
    """Claim and execute runs until SIGTERM/SIGINT (then finish what is in flight)."""
    settings = load_settings(database_url)
    if concurrency is not None:
        settings.worker.concurrency = concurrency
    if metrics_port is not None:
        settings.worker.metrics_port = metrics_port
    start_logging(settings)
    try:
        settings.check_for_production()
    except ConfigError as exc:
        fail(str(exc))

    async def main() -> None:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        await processes.run_worker(settings, stop)

    asyncio.run(main())


def scheduler(database_url: DatabaseUrl = None) -> None:
    """Run the scheduler (one leader at a time; others stand by)."""
    settings = load_settings(database_url)
    start_logging(settings)

    async def main() -> None:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        await processes.run_scheduler(settings, stop)

    asyncio.run(main())
