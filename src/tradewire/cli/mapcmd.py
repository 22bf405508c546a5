"""``tradewire map SYSTEM OBJECT FILE [--to SYSTEM]``: see what a mapping does to one record."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tradewire.cli.common import emit_json, fail
from tradewire.errors import TradewireError
from tradewire.services.mapping import map_record


def map_command(
    system: Annotated[str, typer.Argument(help="System the record comes from, e.g. shopify.")],
    object_type: Annotated[str, typer.Argument(metavar="OBJECT", help="Object type, e.g. order.")],
    file: Annotated[Path, typer.Argument(help="One vendor record as JSON (a webhook body or one list element).")],
    to: Annotated[
        str | None, typer.Option("--to", help="Print this system's request payload instead of canonical JSON.")
    ] = None,
) -> None:
    """Map one vendor record to canonical JSON (or to another system's request payload)."""
    try:
        raw = file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")
    try:
        emit_json(map_record(system, object_type, raw, to=to))
    except TradewireError as exc:
        fail(f"{file}: {exc}")
