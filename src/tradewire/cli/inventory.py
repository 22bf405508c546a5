"""``tradewire inventory …``: allocation policies, on-hand counts, preview and publish."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from tradewire.cli.common import ClientOpt, DatabaseUrl, JsonOut, emit_json, fail, load_settings, out
from tradewire.errors import TradewireError
from tradewire.services.inventory import InventoryService, policy_as_yaml, publish_now
from tradewire.services.operations import pick_client
from tradewire.services.processes import store_for

inventory_app = typer.Typer(help="Inventory availability: policies, on hand, preview, publish.", no_args_is_help=True)
policy_app = typer.Typer(help="The allocation policy (YAML, versioned, audited).", no_args_is_help=True)
inventory_app.add_typer(policy_app, name="policy")

SkuOpt = Annotated[list[str] | None, typer.Option("--sku", help="Only this SKU (repeatable).")]
ChannelOpt = Annotated[str | None, typer.Option("--channel", help="Only this channel connection id.")]


def _service(database_url: str | None, client: str | None) -> InventoryService:
    settings = load_settings(database_url)
    try:
        store = store_for(settings)
        return InventoryService(store, pick_client(store, client), actor="cli")
    except TradewireError as exc:
        fail(str(exc))
    except Exception as exc:
        fail(f"cannot open {settings.database.url}: {str(exc).splitlines()[0]} (run `tradewire migrate`?)")


@policy_app.command("show")
def policy_show(database_url: DatabaseUrl = None, client: ClientOpt = None, json_out: JsonOut = False) -> None:
    """Print the current policy (YAML) and its version."""
    try:
        current = _service(database_url, client).policy()
    except TradewireError as exc:
        fail(str(exc))
    if json_out:
        emit_json({"version": current.version, "actor": current.actor, "policy": current.document})
        return
    out.print(f"# version {current.version}, applied by {current.actor} at {current.created_at:%Y-%m-%d %H:%M:%S}Z")
    out.print(policy_as_yaml(current), highlight=False)


@policy_app.command("apply")
def policy_apply(
    file: Annotated[Path, typer.Argument(help="The policy YAML file.", exists=True, dir_okay=False)],
    database_url: DatabaseUrl = None,
    client: ClientOpt = None,
    json_out: JsonOut = False,
) -> None:
    """Validate FILE and store it as the next policy version (audited); every SKU is republished."""
    try:
        applied = _service(database_url, client).apply_policy(file.read_text(encoding="utf-8"))
    except TradewireError as exc:
        fail(str(exc))
    if json_out:
        emit_json({"version": applied.version})
    else:
        out.print(f"policy version {applied.version} applied; every SKU will be republished")


@policy_app.command("history")
def policy_history(database_url: DatabaseUrl = None, client: ClientOpt = None, json_out: JsonOut = False) -> None:
    """List policy versions, newest first."""
    versions = _service(database_url, client).policy_history()
    if json_out:
        emit_json([{"version": v.version, "actor": v.actor, "created_at": v.created_at} for v in versions])
        return
    table = Table(title="inventory policy versions")
    for col in ("version", "applied by", "at", "channels"):
        table.add_column(col)
    for v in versions:
        channels = ", ".join(str(c.get("connection")) for c in v.document.get("channels", []))
        table.add_row(str(v.version), v.actor, f"{v.created_at:%Y-%m-%d %H:%M:%S}", channels)
    out.print(table)


@inventory_app.command("set-on-hand")
def set_on_hand(
    sku: Annotated[str, typer.Argument(help="The SKU.")],
    quantity: Annotated[int, typer.Argument(help="Units on hand now.", min=0)],
    location: Annotated[str | None, typer.Option(help="The location (default: the only one).")] = None,
    database_url: DatabaseUrl = None,
    client: ClientOpt = None,
    json_out: JsonOut = False,
) -> None:
    """Record an on-hand count for a SKU (audited), as an ERP or WMS would."""
    try:
        _service(database_url, client).set_on_hand(sku, quantity, location)
    except (TradewireError, ValueError) as exc:
        fail(str(exc))
    if json_out:
        emit_json({"sku": sku, "location": location, "on_hand": quantity})
    else:
        out.print(f"{sku}: {quantity} on hand" + (f" at {location}" if location else ""))


@inventory_app.command("preview")
def preview(
    sku: SkuOpt = None,
    channel: ChannelOpt = None,
    database_url: DatabaseUrl = None,
    client: ClientOpt = None,
    json_out: JsonOut = False,
) -> None:
    """Dry run: what each channel would get now, what it lists, and why. Nothing is sent."""
    try:
        lines = _service(database_url, client).preview(sku, channel)
    except TradewireError as exc:
        fail(str(exc))
    if json_out:
        emit_json([line.as_dict() for line in lines])
        return
    table = Table(title="inventory preview (nothing sent)")
    for col in ("sku", "channel", "would list", "lists now", "why"):
        table.add_column(col, overflow="fold")
    for line in lines:
        listed = "" if line.listed is None else str(line.listed)
        table.add_row(line.sku, line.connection_id, str(line.quantity), listed, "; ".join(line.why))
    out.print(table)


@inventory_app.command("publish")
def publish(database_url: DatabaseUrl = None, client: ClientOpt = None, json_out: JsonOut = False) -> None:
    """Send changed quantities to the channels now (the scheduler does this every tick)."""
    service = _service(database_url, client)
    settings = load_settings(database_url)
    try:
        if json_out:
            report = asyncio.run(publish_now(settings, service.store, service.client_id))
        else:
            with Progress(transient=True) as bar:
                task = bar.add_task("publishing", total=None)
                report = asyncio.run(
                    publish_now(
                        settings,
                        service.store,
                        service.client_id,
                        lambda done, todo: bar.update(task, completed=done, total=todo),
                    )
                )
    except TradewireError as exc:
        fail(str(exc))
    summary = {**report.as_dict(), "calls": report.calls, "deferred": report.deferred}
    if json_out:
        emit_json(summary)
        return
    out.print(f"{report.sent} quantities sent, {report.refused} refused, {report.unchanged} unchanged")
    for connection_id, why in report.deferred.items():
        out.print(f"[yellow]{connection_id} waits for the next tick:[/yellow] {why}", highlight=False)
