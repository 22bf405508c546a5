"""``tradewire config check|apply FILE``: tenants and connections from YAML (secrets from the environment)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from tradewire.cli.common import DatabaseUrl, JsonOut, emit_json, fail, load_settings, out
from tradewire.errors import TradewireError
from tradewire.services import config as tenants_config
from tradewire.services.processes import store_for
from tradewire.tenancy.secrets import SecretBox

config_app = typer.Typer(help="Partners, clients and connections as YAML that can live in git.", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="The tenants YAML file (see docs/configuration.md).")]


def _read(file: Path) -> tenants_config.TenantsFile:
    try:
        raw = file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")
    try:
        return tenants_config.parse(raw)
    except TradewireError as exc:
        fail(f"{file}: {exc}")


@config_app.command("check")
def check(file: FileArg, json_out: JsonOut = False) -> None:
    """Validate the file (structure, ids, vendor settings, routes) without touching the database."""
    parsed = _read(file)
    count = sum(len(c.connections) for c in parsed.clients)
    if json_out:
        emit_json({"ok": True, "clients": len(parsed.clients), "connections": count})
    else:
        out.print(f"{file}: ok ({len(parsed.clients)} client(s), {count} connection(s))")


@config_app.command("apply")
def apply(
    file: FileArg,
    database_url: DatabaseUrl = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")] = False,
    json_out: JsonOut = False,
) -> None:
    """Create or update the partner, clients and connections in the file (secrets from ${ENV} vars)."""
    parsed = _read(file)
    settings = load_settings(database_url)
    try:
        settings.check_for_production()  # secrets sealed with the placeholder key could not be opened later
        store = store_for(settings)
    except TradewireError as exc:
        fail(str(exc))
    try:
        plan = tenants_config.apply(store, SecretBox.from_settings(settings), parsed, dry_run=dry_run)
    except TradewireError as exc:
        fail(f"{file}: {exc}")
    except Exception as exc:
        fail(f"cannot write to {settings.database.url}: {str(exc).splitlines()[0]} (run `tradewire migrate`?)")
    finally:
        store.close()
    if json_out:
        emit_json(asdict(plan) | {"dry_run": dry_run})
        return
    verb = "would create" if dry_run else "created"
    out.print(f"{verb}: {', '.join(plan.created) or 'nothing'}")
    out.print(f"{'would update' if dry_run else 'updated'}: {', '.join(plan.updated) or 'nothing'}")
