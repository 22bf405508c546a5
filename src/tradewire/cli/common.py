"""Options and helpers every command shares."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console

from tradewire.errors import TradewireError
from tradewire.observability.logging import configure
from tradewire.settings import Settings

console = Console(stderr=True)
out = Console()

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", envvar="TRADEWIRE_DATABASE__URL", help="sqlite:///file.db or postgresql://…"),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]
ClientOpt = Annotated[str | None, typer.Option("--client", help="Client id (optional when only one exists).")]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a one-line reason and exit (never a traceback)."""
    console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def load_settings(database_url: str | None = None, **api: Any) -> Settings:
    """Settings from the environment, with command-line overrides."""
    try:
        settings = Settings()
    except ValidationError as exc:
        fail(f"invalid TRADEWIRE_ settings: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}")
    if database_url:
        settings.database.url = database_url
    for key, value in api.items():
        if value is not None:
            setattr(settings.api, key, value)
    return settings


def start_logging(settings: Settings) -> None:
    """Structured logs to stderr."""
    configure(settings.log.level, json_output=settings.log.json_output)


def emit_json(value: Any) -> None:
    """One JSON document on stdout."""
    sys.stdout.write(json.dumps(value, default=str, sort_keys=True) + "\n")
    sys.stdout.flush()


def guard(error: TradewireError) -> NoReturn:
    """Turn an expected error into a one-line reason and exit 2."""
    fail(str(error))
