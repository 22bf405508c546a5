"""Roles, permissions and the one function that decides who may do what to which client.

A principal (an API key, later a dashboard user) belongs to a partner and has one role.
Partner roles act on every client of their partner; client roles act on their client and its
sub-accounts. Outside that scope a client does not exist for the principal (404, never 403);
inside it, a missing permission is 403.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Permission(StrEnum):
    """What a principal may do."""

    READ = "read"
    """Runs, messages, timelines, exceptions, audit, reports."""
    OPERATE = "operate"
    """Replay, discard, pause and resume connections, resolve exceptions, release holds."""
    CONFIGURE = "configure"
    """Connections' settings, mappings, flow settings, allocation policies."""
    CREDENTIALS = "credentials"
    """Set or change connections' credentials."""
    MANAGE_ACCESS = "manage_access"
    """Issue, rotate and revoke API keys (never above the issuer's own role and scope)."""
    MANAGE_CLIENTS = "manage_clients"
    """Create clients and sub-accounts under the partner."""


class Role(StrEnum):
    """A named set of permissions, at partner or client level."""

    PARTNER_ADMIN = "partner_admin"
    PARTNER_OPERATOR = "partner_operator"
    CLIENT_ADMIN = "client_admin"
    CLIENT_OPERATOR = "client_operator"
    CLIENT_VIEWER = "client_viewer"

    @property
    def partner_level(self) -> bool:
        """True for roles that span every client of the partner."""
        return self in (Role.PARTNER_ADMIN, Role.PARTNER_OPERATOR)


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.PARTNER_ADMIN: frozenset(Permission),
    Role.PARTNER_OPERATOR: frozenset({P.READ, P.OPERATE}),
    Role.CLIENT_ADMIN: frozenset({P.READ, P.OPERATE, P.CONFIGURE, P.CREDENTIALS, P.MANAGE_ACCESS}),
    Role.CLIENT_OPERATOR: frozenset({P.READ, P.OPERATE}),
    Role.CLIENT_VIEWER: frozenset({P.READ}),
}
RANK = {
    Role.CLIENT_VIEWER: 0,
    Role.CLIENT_OPERATOR: 1,
    Role.CLIENT_ADMIN: 2,
    Role.PARTNER_OPERATOR: 3,
    Role.PARTNER_ADMIN: 4,
}


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key (``kind`` "api_key") of a partner, maybe bound to one client."""

    kind: str
    id: str
    name: str
    partner_id: str
    role: Role
    client_id: str | None = None


@dataclass(frozen=True)
class ClientRef:
    """A client as authorisation sees it: its partner and its ancestors (parent first)."""

    id: str
    partner_id: str
    ancestors: tuple[str, ...] = ()


class Decision(StrEnum):
    """The verdict of :func:`authorize`."""

    ALLOWED = "allowed"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"


def in_scope(principal: Principal, client: ClientRef) -> bool:
    """True when ``client`` exists for ``principal`` (its partner's, or its own client or a sub-account)."""
    if client.partner_id != principal.partner_id:
        return False
    if principal.role.partner_level:
        return True
    return principal.client_id is not None and (
        client.id == principal.client_id or principal.client_id in client.ancestors
    )


def authorize(principal: Principal, permission: Permission, client: ClientRef | None) -> Decision:
    """May ``principal`` do ``permission`` on ``client`` (None: partner-level things, e.g. listing clients)?"""
    if client is None:
        if not principal.role.partner_level and permission is not Permission.READ:
            return Decision.FORBIDDEN
    elif not in_scope(principal, client):
        return Decision.NOT_FOUND
    return Decision.ALLOWED if permission in ROLE_PERMISSIONS[principal.role] else Decision.FORBIDDEN


def can_grant(principal: Principal, role: Role, client: ClientRef | None) -> Decision:
    """May ``principal`` issue a key with ``role`` (for ``client``; None for a partner-level key)?

    Never above one's own role, never outside one's own scope; partner roles need no client and
    client roles need one.
    """
    target = client if not role.partner_level else None
    decision = authorize(principal, Permission.MANAGE_ACCESS, target)
    if decision is not Decision.ALLOWED:
        return decision
    if role.partner_level != (client is None) or RANK[role] > RANK[principal.role]:
        return Decision.FORBIDDEN
    return Decision.ALLOWED


def roles_named(names: Sequence[str]) -> list[Role]:
    """Roles from their names (ValueError names the unknown one and lists the known)."""
    known = {r.value: r for r in Role}
    out: list[Role] = []
    for name in names:
        if name not in known:
            raise ValueError(f"unknown role {name!r}; roles: {', '.join(known)}")
        out.append(known[name])
    return out
