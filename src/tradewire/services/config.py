"""Config as code: partners, clients and connections from a YAML file that can live in git.

Secrets never sit in the file: a secret's value is ``${ENV_VAR}`` and is read from the
environment when the file is applied, then stored encrypted. Applying the same file twice
changes nothing; applying an edited file updates names, settings and secrets in place.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tradewire.connectors import KNOWN_SYSTEMS, get_spec
from tradewire.errors import ConfigError, NotFound
from tradewire.flows.hold_rules import parse_rules
from tradewire.runtime.store.port import Store
from tradewire.tenancy.connections import split_settings
from tradewire.tenancy.context import client_scope
from tradewire.tenancy.secrets import SecretBox

MAX_CONFIG_BYTES = 1024 * 1024
ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{1,62}$"
ENV_REF = re.compile(r"^\$\{([A-Z_][A-Z0-9_]*)\}$")


class ConnectionConfig(BaseModel):
    """One connection: vendor settings (plus ``routes``/``budgets``) and secret references."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    system: str
    name: str = Field(min_length=1, max_length=200)
    settings: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(default_factory=dict)


class ClientConfig(BaseModel):
    """One retailer and its connections."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    connections: list[ConnectionConfig] = Field(default_factory=list, max_length=500)


class PartnerConfig(BaseModel):
    """The partner who runs this Tradewire."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)


class TenantsFile(BaseModel):
    """The whole file."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(default=1, ge=1, le=1)
    partner: PartnerConfig
    clients: list[ClientConfig] = Field(default_factory=list, max_length=10_000)


@dataclass
class ApplyPlan:
    """What applying the file does (or did)."""

    clients: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "file"
    more = f" (and {len(exc.errors()) - 1} more problems)" if len(exc.errors()) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def parse(text: bytes) -> TenantsFile:
    """Read and validate a tenants file.

    Raises:
        ConfigError: not YAML, too large, or the structure, ids, systems, vendor settings or
            routes are wrong (the message says where).
    """
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(f"the file is larger than {MAX_CONFIG_BYTES // 1024} KiB")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError("the file must be a YAML mapping with 'partner' and 'clients'")
    try:
        parsed = TenantsFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    _check(parsed)
    return parsed


def _check(parsed: TenantsFile) -> None:
    seen: set[str] = set()
    for client in parsed.clients:
        if client.id in seen:
            raise ConfigError(f"client {client.id!r} appears twice")
        seen.add(client.id)
        ids = {c.id for c in client.connections}
        if len(ids) != len(client.connections):
            raise ConfigError(f"client {client.id!r} lists a connection id twice")
        for conn in client.connections:
            where = f"clients.{client.id}.connections.{conn.id}"
            if conn.system not in KNOWN_SYSTEMS:
                raise ConfigError(f"{where}: unknown system {conn.system!r}; known: {', '.join(KNOWN_SYSTEMS)}")
            spec = get_spec(conn.system)
            vendor, routes, _ = split_settings(conn.settings)
            try:
                spec.settings_model.model_validate(vendor)
            except ValidationError as exc:
                raise ConfigError(f"{where}.settings.{_describe(exc)}") from None
            if conn.settings.get("holds") is not None:
                check_hold_settings(conn.settings["holds"], f"{where}.settings.holds")
            for route, target in routes.items():
                if target not in ids:
                    raise ConfigError(f"{where}.settings.routes.{route}: {target!r} is not a connection of this client")
            for key, value in conn.secrets.items():
                if not ENV_REF.match(value):
                    raise ConfigError(
                        f"{where}.secrets.{key}: write ${{ENV_VAR}}, not the secret itself (files live in git)"
                    )
            unknown = set(conn.secrets) - set(spec.secrets_model.model_fields)
            # A secrets model that allows extra keys takes secrets by any name (the declarative connector).
            if unknown and spec.secrets_model.model_config.get("extra") != "allow":
                raise ConfigError(f"{where}.secrets: {', '.join(sorted(unknown))} not known to {spec.display_name}")


def check_hold_settings(value: object, where: str) -> None:
    """Order hold rules must be a mapping the rules model accepts.

    Raises:
        ConfigError: not a mapping, or a misspelt or wrong rule.
    """
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: must be a mapping of hold rules (see docs/operations.md)")
    parse_rules(value, where)


def resolve_secrets(conn: ConnectionConfig, env: Mapping[str, str], where: str) -> dict[str, str]:
    """The connection's secrets with ``${VAR}`` replaced from ``env``, checked by the vendor model.

    Raises:
        ConfigError: a variable is unset, or the vendor's secrets model refuses the values.
    """
    values: dict[str, str] = {}
    missing: list[str] = []
    for key, ref in conn.secrets.items():
        match = ENV_REF.match(ref)
        assert match is not None  # checked by parse()
        value = env.get(match.group(1))
        if not value:
            missing.append(match.group(1))
        else:
            values[key] = value
    if missing:
        raise ConfigError(f"{where}: environment variable(s) not set: {', '.join(missing)}")
    try:
        get_spec(conn.system).secrets_model.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(f"{where}.secrets.{_describe(exc)}") from None
    return values


def apply(
    store: Store,
    box: SecretBox,
    parsed: TenantsFile,
    *,
    env: Mapping[str, str] | None = None,
    dry_run: bool = False,
    actor: str = "cli",
) -> ApplyPlan:
    """Create or update everything in the file (all secrets are checked before anything is written).

    Each client's changes are audited (``config.apply``: which connections were created or
    updated, and that their credentials were sealed again; never a value).

    Raises:
        ConfigError: a secret is missing or invalid.
        Conflict: an id already belongs to another client, partner or system.
    """
    environment = os.environ if env is None else env
    sealed: dict[str, bytes] = {}
    for client in parsed.clients:
        for conn in client.connections:
            where = f"clients.{client.id}.connections.{conn.id}"
            sealed[conn.id] = box.seal(resolve_secrets(conn, environment, where))
    plan = ApplyPlan()
    existing = {cid for cid, _ in store.list_clients()}
    for client in parsed.clients:
        plan.clients.append(client.id)
        if not dry_run:
            store.put_tenant((parsed.partner.id, parsed.partner.name), (client.id, client.name))
        done: dict[str, list[str]] = {"created": [], "updated": []}
        for conn in client.connections:
            if dry_run:
                known = client.id in existing and _exists(store, conn.id)
                (plan.updated if known else plan.created).append(conn.id)
                continue
            created = store.put_connection(conn.id, client.id, conn.system, conn.name, conn.settings, sealed[conn.id])
            (plan.created if created else plan.updated).append(conn.id)
            done["created" if created else "updated"].append(conn.id)
        if not dry_run:
            with client_scope(client.id):
                detail = {**done, "credentials_sealed": done["created"] + done["updated"]}
                store.append_audit(actor, "config.apply", f"client:{client.id}", detail, datetime.now(UTC))
    return plan


def _exists(store: Store, connection_id: str) -> bool:
    try:
        store.get_connection(connection_id)
    except NotFound:
        return False
    return True
