"""``tradewire connectors``: check a declarative connector definition and try its mappings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tradewire.cli.common import JsonOut, console, emit_json, fail, out
from tradewire.errors import TradewireError
from tradewire.services.connectors import map_with_definition, validate_definition

connectors_app = typer.Typer(
    help="Declarative HTTP connector definitions (YAML): validate them and preview their mappings.",
    no_args_is_help=True,
)

DefinitionFile = Annotated[
    Path, typer.Argument(metavar="FILE", help="The definition YAML, e.g. examples/connectors/loyalty-crm.yaml.")
]


@connectors_app.command("validate")
def validate(file: DefinitionFile, json_out: JsonOut = False) -> None:
    """Validate a definition: print each problem with its YAML path and line; exit 1 when there are any."""
    result = validate_definition(file)
    if json_out:
        emit_json(result.to_json())
    elif result.ok:
        summary = result.summary()
        out.print(f"[green]ok[/green] {file}: {summary['name']} ({summary['auth']} auth)", highlight=False)
        out.print(f"  endpoints: {', '.join(summary['endpoints'])}", highlight=False)
        objects = ", ".join(f"{k} → {v}" for k, v in summary["objects"].items()) or "none"
        out.print(f"  objects:   {objects}", highlight=False)
        out.print(f"  pollers:   {', '.join(summary['pollers']) or 'none'}", highlight=False)
        out.print(f"  webhooks:  {'yes' if summary['webhooks'] else 'no'}", highlight=False)
        out.print(f"  secrets the connection must hold: {', '.join(summary['secrets']) or 'none'}", highlight=False)
        for note in result.notes:
            out.print(f"  [yellow]note:[/yellow] {note}", highlight=False)
    else:
        for problem in result.problems:
            where = f"{file}:{problem.line}" if problem.line else str(file)
            console.print(
                f"{where}: [bold]{problem.path or '(top)'}[/bold]: {problem.message}", highlight=False, soft_wrap=True
            )
        console.print(f"[red]{len(result.problems)} problem(s)[/red]", highlight=False)
    if not result.ok:
        raise typer.Exit(1)


@connectors_app.command("map")
def map_record_command(
    file: DefinitionFile,
    object_name: Annotated[
        str, typer.Argument(metavar="OBJECT", help="An object the definition declares, e.g. member.")
    ],
    record: Annotated[
        Path, typer.Argument(metavar="RECORD.json", help="One vendor record as JSON (one list element).")
    ],
) -> None:
    """Print the canonical JSON of one record, mapped by the definition's field expressions."""
    try:
        raw = record.read_bytes()
    except OSError as exc:
        fail(f"cannot read {record}: {exc.strerror or exc}")
    try:
        emit_json(map_with_definition(file, object_name, raw))
    except TradewireError as exc:
        fail(f"{record}: {exc}")
