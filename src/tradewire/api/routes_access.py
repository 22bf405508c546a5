"""API v1: the caller's clients and sub-accounts, API keys, and the audit log.

Keys and clients are partner-wide things: the request's client (``X-Tradewire-Client``) only
has to be one the caller can see. What each route needs beyond the method's default
(``read`` for GET, ``operate`` otherwise) is published as ``x-permission`` in the OpenAPI document.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from tradewire.api.deps import OperationsDep
from tradewire.governance.permissions import Permission, Role
from tradewire.runtime.store.port_access import ApiKeyRecord, ClientRecord
from tradewire.services.access import AccessKeys
from tradewire.services.audit import entry_to_dict
from tradewire.services.operations import Operations
from tradewire.services.tenants import Tenants
from tradewire.tenancy.context import client_scope

router = APIRouter(prefix="/v1", tags=["access"])

KeyId = Annotated[str, Path(min_length=1, max_length=64, description="API key id")]


def needs(permission: Permission) -> dict[str, Any]:
    """The OpenAPI extension that documents (and lets tests check) a route's permission."""
    return {"x-permission": permission.value}


class ClientOut(BaseModel):
    """A client or sub-account."""

    id: str
    partner_id: str
    parent_id: str | None
    name: str
    created_at: datetime

    @classmethod
    def of(cls, c: ClientRecord) -> ClientOut:
        return cls(id=c.id, partner_id=c.partner_id, parent_id=c.parent_id, name=c.name, created_at=c.created_at)


class ClientIn(BaseModel):
    """A new client of the caller's partner, or a sub-account under ``parent_id``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    parent_id: str | None = Field(default=None, max_length=64)
    id: str | None = Field(default=None, max_length=63, description="2-63 lower-case letters, digits, dashes")


class KeyOut(BaseModel):
    """An API key as listed: its prefix, never the key."""

    id: str
    prefix: str
    name: str
    role: str
    client_id: str | None
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, k: ApiKeyRecord) -> KeyOut:
        return cls(
            id=k.id, prefix=k.prefix, name=k.name, role=k.role, client_id=k.client_id, created_at=k.created_at,
            created_by=k.created_by, expires_at=k.expires_at, revoked_at=k.revoked_at, last_used_at=k.last_used_at,
        )  # fmt: skip


class IssuedKeyOut(KeyOut):
    """A new key: ``key`` is shown this once and never again."""

    key: str


class KeyIn(BaseModel):
    """A new key of the caller's partner."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    role: Role
    client_id: str | None = Field(default=None, max_length=64, description="Required for client roles")
    expires_in_days: int | None = Field(default=None, ge=1, le=730)


class RotateIn(BaseModel):
    """Lifetime of the replacement key."""

    model_config = ConfigDict(extra="forbid")

    expires_in_days: int | None = Field(default=None, ge=1, le=730)


def _partner(ops: Operations) -> str:
    return ops.caller.partner_id if ops.caller is not None else ops.store.get_client(ops.client_id).partner_id


def _days(value: int | None) -> timedelta | None:
    return timedelta(days=value) if value is not None else None


@router.get("/clients", response_model=list[ClientOut], summary="The clients and sub-accounts the caller can see")
def list_clients(ops: OperationsDep) -> list[ClientOut]:
    tree = Tenants(ops.store, actor=ops.actor, caller=ops.caller).tree(_partner(ops))
    return [ClientOut.of(c) for c in tree.clients]


@router.post(
    "/clients", response_model=ClientOut, status_code=201, summary="Create a client or sub-account",
    openapi_extra=needs(Permission.MANAGE_CLIENTS),
)  # fmt: skip
def create_client(body: ClientIn, ops: OperationsDep) -> ClientOut:
    ops.require(Permission.MANAGE_CLIENTS)
    tenants = Tenants(ops.store, actor=ops.actor, caller=ops.caller)
    partner = None if body.parent_id else _partner(ops)
    return ClientOut.of(
        tenants.create_client(body.name, partner_id=partner, parent_id=body.parent_id, client_id=body.id)
    )


@router.get("/keys", response_model=list[KeyOut], summary="API keys", openapi_extra=needs(Permission.MANAGE_ACCESS))
def list_keys(ops: OperationsDep) -> list[KeyOut]:
    ops.require(Permission.MANAGE_ACCESS)
    return [KeyOut.of(k) for k in AccessKeys(ops.store, actor=ops.actor, caller=ops.caller).list(_partner(ops))]


@router.post(
    "/keys", response_model=IssuedKeyOut, status_code=201, summary="Issue an API key (shown once)",
    openapi_extra=needs(Permission.MANAGE_ACCESS),
)  # fmt: skip
def issue_key(body: KeyIn, ops: OperationsDep) -> IssuedKeyOut:
    ops.require(Permission.MANAGE_ACCESS)
    keys = AccessKeys(ops.store, actor=ops.actor, caller=ops.caller)
    issued = keys.issue(
        partner_id=_partner(ops), role=body.role, name=body.name, client_id=body.client_id,
        expires_in=_days(body.expires_in_days),
    )  # fmt: skip
    return IssuedKeyOut(**KeyOut.of(issued.record).model_dump(), key=issued.secret)


@router.post(
    "/keys/{key_id}/revoke", response_model=KeyOut, summary="Revoke an API key",
    openapi_extra=needs(Permission.MANAGE_ACCESS),
)  # fmt: skip
def revoke_key(key_id: KeyId, ops: OperationsDep) -> KeyOut:
    ops.require(Permission.MANAGE_ACCESS)
    return KeyOut.of(AccessKeys(ops.store, actor=ops.actor, caller=ops.caller).revoke(key_id))


@router.post(
    "/keys/{key_id}/rotate", response_model=IssuedKeyOut, summary="Replace an API key (the old one is revoked)",
    openapi_extra=needs(Permission.MANAGE_ACCESS),
)  # fmt: skip
def rotate_key(key_id: KeyId, body: RotateIn, ops: OperationsDep) -> IssuedKeyOut:
    ops.require(Permission.MANAGE_ACCESS)
    issued = AccessKeys(ops.store, actor=ops.actor, caller=ops.caller).rotate(
        key_id, expires_in=_days(body.expires_in_days)
    )
    return IssuedKeyOut(**KeyOut.of(issued.record).model_dump(), key=issued.secret)


@router.get("/audit", summary="The client's audit log, newest first (who, what, when, from where)")
def list_audit(
    ops: OperationsDep,
    action: Annotated[str | None, Query(max_length=80)] = None,
    before_seq: Annotated[int | None, Query(ge=1, description="Page: entries before this sequence number")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    with client_scope(ops.client_id):
        entries = ops.store.list_audit(limit=limit, before_seq=before_seq, action=action)
    return [entry_to_dict(e) for e in entries]
