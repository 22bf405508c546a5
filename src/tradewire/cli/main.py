"""``tradewire``: the command line of every process and operator task."""

from __future__ import annotations

import typer

from tradewire import __version__
from tradewire.cli.config import config_app
from tradewire.cli.connectors_cmd import connectors_app
from tradewire.cli.demo import demo
from tradewire.cli.inventory import inventory_app
from tradewire.cli.mapcmd import map_command
from tradewire.cli.processes import migrate, scheduler, serve, worker
from tradewire.cli.runs import connections_app, dead_app, runs_app

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
app.add_typer(inventory_app, name="inventory")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)
