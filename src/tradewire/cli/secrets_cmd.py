"""``tradewire secrets …``: rotate the master key without downtime."""

from __future__ import annotations

from typing import Annotated

import typer

from tradewire.cli.common import DatabaseUrl, JsonOut, emit_json, fail, load_settings, out
from tradewire.errors import TradewireError
from tradewire.governance.audit_chain import AuditSigner
from tradewire.services.processes import store_for
from tradewire.services.secrets import KeyStatus, key_status, rotate_key
from tradewire.tenancy.secrets import SecretBox

secrets_app = typer.Typer(
    help=(
        "Master key rotation. Set the new TRADEWIRE_SECRET_KEY and put the old one in "
        "TRADEWIRE_PREVIOUS_SECRET_KEYS, run `rotate-key`, then remove the old key."
    ),
    no_args_is_help=True,
)


def _print_status(status: KeyStatus) -> None:
    out.print(f"connections: {status.connections_total}")
    out.print(f"  still encrypted with a previous key: {len(status.connections_on_old_key)}")
    if status.connections_unreadable:
        out.print(f"  [red]no key held opens: {', '.join(status.connections_unreadable)}[/red]")
    out.print(f"audit chains sealed with a previous key: {len(status.audit_chains_on_old_key)}")
    verdict = "[green]yes[/green]" if status.done else "no (run `tradewire secrets rotate-key`)"
    out.print(f"previous keys can be removed: {verdict}")


@secrets_app.command("status")
def status(database_url: DatabaseUrl = None, json_out: JsonOut = False) -> None:
    """How many credentials and audit chains still need a previous key (never shows a secret)."""
    settings = load_settings(database_url)
    store = store_for(settings)
    try:
        result = key_status(store, SecretBox.from_settings(settings), AuditSigner(settings.secret_keys()))
    finally:
        store.close()
    if json_out:
        emit_json(result.as_dict())
    else:
        _print_status(result)


@secrets_app.command("rotate-key")
def rotate(
    database_url: DatabaseUrl = None,
    actor: Annotated[str, typer.Option(help="Who rotates, for the audit log.")] = "cli",
    json_out: JsonOut = False,
) -> None:
    """Re-encrypt every connection's credentials with the current key and re-seal the audit chains."""
    settings = load_settings(database_url)
    if not settings.previous_secret_keys:
        out.print("note: TRADEWIRE_PREVIOUS_SECRET_KEYS is empty; only rows already on the current key can be read")
    store = store_for(settings)
    try:
        report = rotate_key(store, SecretBox.from_settings(settings), AuditSigner(settings.secret_keys()), actor=actor)
    except TradewireError as exc:
        fail(str(exc))
    finally:
        store.close()
    if json_out:
        emit_json(
            {
                "connections_rotated": report.connections_rotated,
                "audit_entries_resealed": report.audit_entries_resealed,
                **report.status_after.as_dict(),
            }
        )
        return
    out.print(f"re-encrypted {report.connections_rotated} connection(s)")
    out.print(f"re-sealed {report.audit_entries_resealed} audit entr(ies)")
    _print_status(report.status_after)
