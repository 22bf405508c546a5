"""``tradewire partners|clients|keys …``: the partner → client → sub-account tree and its API keys.

The CLI acts for the installation: whoever runs it with the database's URL may do anything.
Every change is audited.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table

from tradewire.cli.common import DatabaseUrl, JsonOut, emit_json, fail, load_settings, out
from tradewire.errors import TradewireError
from tradewire.governance.permissions import Role
from tradewire.runtime.store.port import Store
from tradewire.runtime.store.port_access import ApiKeyRecord, ClientRecord
from tradewire.services.access import AccessKeys
from tradewire.services.processes import store_for
from tradewire.services.tenants import Tenants

partners_app = typer.Typer(help="Partners: the agencies that run Tradewire for their clients.", no_args_is_help=True)
clients_app = typer.Typer(help="Clients (retailers) and their sub-accounts (stores, brands).", no_args_is_help=True)
keys_app = typer.Typer(help="API keys: issue (shown once), list, rotate, revoke.", no_args_is_help=True)

ACTOR = "cli"
T = TypeVar("T")
PartnerOpt = Annotated[str, typer.Option("--partner", help="Partner id.")]


def _with_store(database_url: str | None, action: Callable[[Store], T]) -> T:
    store = store_for(load_settings(database_url))
    try:
        return action(store)
    except TradewireError as exc:
        fail(str(exc))
    finally:
        store.close()


def parse_lifetime(value: str | None) -> timedelta | None:
    """``90d``, ``12h``, ``30m`` → a timedelta (None: never expires)."""
    if value is None:
        return None
    match = re.fullmatch(r"(\d{1,6})([mhd])", value.strip())
    if match is None:
        fail(f"--expires-in {value!r}: use a number and m, h or d (e.g. 90d)")
    unit = {"m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


def client_dict(c: ClientRecord) -> dict[str, Any]:
    """A client for ``--json``."""
    return {
        "id": c.id,
        "partner_id": c.partner_id,
        "parent_id": c.parent_id,
        "name": c.name,
        "created_at": c.created_at,
    }


def key_dict(k: ApiKeyRecord) -> dict[str, Any]:
    """A key for ``--json`` (never its hash)."""
    return {
        "id": k.id,
        "prefix": k.prefix,
        "name": k.name,
        "partner_id": k.partner_id,
        "client_id": k.client_id,
        "role": k.role,
        "created_at": k.created_at,
        "created_by": k.created_by,
        "expires_at": k.expires_at,
        "revoked_at": k.revoked_at,
        "last_used_at": k.last_used_at,
        "replaces": k.replaces,
    }


@partners_app.command("create")
def create_partner(
    name: Annotated[str, typer.Argument(help="Display name.")],
    partner_id: Annotated[str | None, typer.Option("--id", help="Id (default: a new UUID).")] = None,
    database_url: DatabaseUrl = None,
    json_out: JsonOut = False,
) -> None:
    """Create a partner."""
    record = _with_store(database_url, lambda s: Tenants(s, actor=ACTOR).create_partner(name, partner_id=partner_id))
    if json_out:
        emit_json({"id": record.id, "name": record.name, "created_at": record.created_at})
    else:
        out.print(f"partner {record.id} ({record.name}) created")


@partners_app.command("list")
def list_partners(database_url: DatabaseUrl = None, json_out: JsonOut = False) -> None:
    """Every partner."""
    rows = _with_store(database_url, lambda s: s.list_partners())
    if json_out:
        emit_json([{"id": p.id, "name": p.name, "created_at": p.created_at} for p in rows])
        return
    table = Table(title="Partners")
    table.add_column("id")
    table.add_column("name")
    for p in rows:
        table.add_row(p.id, p.name)
    out.print(table)


@clients_app.command("create")
def create_client(
    name: Annotated[str, typer.Argument(help="Display name.")],
    partner: Annotated[str | None, typer.Option("--partner", help="Partner of a new client.")] = None,
    parent: Annotated[str | None, typer.Option("--parent", help="Parent client of a new sub-account.")] = None,
    client_id: Annotated[str | None, typer.Option("--id", help="Id (default: a new UUID).")] = None,
    database_url: DatabaseUrl = None,
    json_out: JsonOut = False,
) -> None:
    """Create a client of a partner, or a sub-account (a store, a brand) under a client."""
    record = _with_store(
        database_url,
        lambda s: Tenants(s, actor=ACTOR).create_client(
            name, partner_id=partner, parent_id=parent, client_id=client_id
        ),
    )
    if json_out:
        emit_json(client_dict(record))
    else:
        under = f"under {record.parent_id}" if record.parent_id else f"of partner {record.partner_id}"
        out.print(f"client {record.id} ({record.name}) created {under}")


@clients_app.command("list")
def list_clients(partner: PartnerOpt, database_url: DatabaseUrl = None, json_out: JsonOut = False) -> None:
    """A partner's clients, sub-accounts under their parents."""
    tree = _with_store(database_url, lambda s: Tenants(s, actor=ACTOR).tree(partner))
    if json_out:
        emit_json([client_dict(c) for c in tree.clients])
        return
    children: dict[str | None, list[ClientRecord]] = {}
    for c in tree.clients:
        children.setdefault(c.parent_id, []).append(c)
    out.print(f"[bold]{tree.partner.name}[/bold] ({tree.partner.id})")

    def show(parent: str | None, depth: int) -> None:
        for c in children.get(parent, []):
            out.print(f"{'  ' * depth}- {c.name} ({c.id})", highlight=False)
            show(c.id, depth + 1)

    show(None, 1)


@keys_app.command("create")
def create_key(
    partner: PartnerOpt,
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(r.value for r in Role)}.")],
    name: Annotated[str, typer.Option(help="What the key is for (shown in lists and the audit log).")],
    client: Annotated[str | None, typer.Option("--client", help="Client of a client role.")] = None,
    expires_in: Annotated[str | None, typer.Option(help="Lifetime, e.g. 90d, 12h (default: never).")] = None,
    database_url: DatabaseUrl = None,
    json_out: JsonOut = False,
) -> None:
    """Issue an API key. The key is printed once; only its hash is stored."""
    try:
        chosen = Role(role)
    except ValueError:
        fail(f"unknown role {role!r}; roles: {', '.join(r.value for r in Role)}")
    lifetime = parse_lifetime(expires_in)
    issued = _with_store(
        database_url,
        lambda s: AccessKeys(s, actor=ACTOR).issue(
            partner_id=partner, role=chosen, name=name, client_id=client, expires_in=lifetime
        ),
    )
    if json_out:
        emit_json({**key_dict(issued.record), "key": issued.secret})
        return
    out.print(f"API key {issued.record.prefix} ({chosen.value}) issued. It is shown once; store it now:")
    out.print(issued.secret, highlight=False)


@keys_app.command("list")
def list_keys(
    partner: PartnerOpt,
    client: Annotated[
        str | None, typer.Option("--client", help="Only keys of this client and its sub-accounts.")
    ] = None,
    database_url: DatabaseUrl = None,
    json_out: JsonOut = False,
) -> None:
    """Keys of a partner, by prefix (never the key)."""
    rows = _with_store(database_url, lambda s: AccessKeys(s, actor=ACTOR).list(partner, client))
    if json_out:
        emit_json([key_dict(k) for k in rows])
        return
    table = Table(title="API keys")
    for col in ("id", "prefix", "name", "role", "client", "expires", "revoked", "last used"):
        table.add_column(col, overflow="fold")
    for k in rows:
        table.add_row(
            k.id, k.prefix, k.name, k.role, k.client_id or "(partner)",
            str(k.expires_at or ""), str(k.revoked_at or ""), str(k.last_used_at or ""),
        )  # fmt: skip
    out.print(table)


@keys_app.command("revoke")
def revoke_key(
    key_id: Annotated[str, typer.Argument(help="Key id (see `keys list`).")],
    database_url: DatabaseUrl = None,
    json_out: JsonOut = False,
) -> None:
    """Revoke a key: from now on it gets 401 everywhere."""
    record = _with_store(database_url, lambda s: AccessKeys(s, actor=ACTOR).revoke(key_id))
    if json_out:
        emit_json(key_dict(record))
    else:
        out.print(f"API key {record.prefix} revoked")


@keys_app.command("rotate")
def rotate_key(
    key_id: Annotated[str, typer.Argument(help="Key id (see `keys list`).")],
    expires_in: Annotated[str | None, typer.Option(help="Lifetime of the new key, e.g. 90d.")] = None,
    database_url: DatabaseUrl = None,
    json_out: JsonOut = False,
) -> None:
    """Issue a replacement with the same role and scope, and revoke the old key."""
    lifetime = parse_lifetime(expires_in)
    issued = _with_store(database_url, lambda s: AccessKeys(s, actor=ACTOR).rotate(key_id, expires_in=lifetime))
    if json_out:
        emit_json({**key_dict(issued.record), "key": issued.secret})
        return
    out.print(f"API key {issued.record.prefix} replaces the old one (now revoked). Shown once:")
    out.print(issued.secret, highlight=False)
