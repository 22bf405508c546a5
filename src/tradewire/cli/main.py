"""``tradewire``: the command line of every process and operator task."""

from __future__ import annotations

import typer

from tradewire import __version__
from tradewire.cli.audit import audit_app
from tradewire.cli.config import config_app
from tradewire.cli.connectors_cmd import connectors_app
from tradewire.cli.demo import demo
from tradewire.cli.inventory import inventory_app
from tradewire.cli.mapcmd import map_command
from tradewire.cli.operations import exceptions_app, orders_app, reconcile_app
from tradewire.cli.processes import migrate, scheduler, serve, worker
from tradewire.cli.returns import returns_app
from tradewire.cli.runs import connections_app, dead_app, runs_app
from tradewire.cli.secrets_cmd import secrets_app
from tradewire.cli.tenants import clients_app, keys_app, partners_app

app = typer.Typer(
    name="tradewire",
    help="Tradewire: retail integration platform (channels, ERPs, durable flows).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(demo)
app.command()(serve)
app.command()(worker)
app.command()(scheduler)
app.command()(migrate)
app.command("map")(map_command)
app.add_typer(runs_app, name="runs")
app.add_typer(dead_app, name="dead-letters")
app.add_typer(config_app, name="config")
app.add_typer(connections_app, name="connections")
app.add_typer(connectors_app, name="connectors")
app.add_typer(audit_app, name="audit")
app.add_typer(secrets_app, name="secrets")
app.add_typer(partners_app, name="partners")
app.add_typer(clients_app, name="clients")
app.add_typer(keys_app, name="keys")
app.add_typer(returns_app, name="returns")
app.add_typer(orders_app, name="orders")
app.add_typer(exceptions_app, name="exceptions")
app.add_typer(reconcile_app, name="reconcile")
app.add_typer(inventory_app, name="inventory")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)
