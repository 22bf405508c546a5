"""Partners → clients → sub-accounts: create and list them, audited.

The CLI acts for the installation (whoever can reach the database can do anything); the API
will act for a :class:`~tradewire.governance.permissions.Principal` and pass it as ``caller``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tradewire.errors import Conflict, Forbidden, NotFound
from tradewire.governance.permissions import ClientRef, Decision, Permission, Principal, authorize, in_scope
from tradewire.runtime.store.port import Store
from tradewire.runtime.store.port_access import ClientRecord, PartnerRecord
from tradewire.tenancy.context import client_scope

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
MAX_NAME = 200


def check_id(value: str | None, what: str) -> str:
    """A caller-chosen id (lower-case letters, digits, dashes), or a fresh UUID.

    Raises:
        Conflict: the id is not acceptable.
    """
    if value is None:
        return str(uuid.uuid4())
    if not ID_PATTERN.match(value):
        raise Conflict(f"{what} id {value!r} must be 2-63 lower-case letters, digits or dashes, starting alphanumeric")
    return value


def check_name(value: str, what: str) -> str:
    """A display name, trimmed, 1–200 characters, no control characters."""
    name = value.strip()
    if not name or len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
        raise Conflict(f"{what} name must be 1-{MAX_NAME} printable characters")
    return name


def client_ref(store: Store, client_id: str) -> ClientRef:
    """The client as authorisation sees it."""
    record = store.get_client(client_id)
    return ClientRef(record.id, record.partner_id, store.client_ancestors(client_id))


def refs_of(records: Sequence[ClientRecord]) -> dict[str, ClientRef]:
    """Every listed client as authorisation sees it, ancestors derived from the parent links (no queries)."""
    by_id = {c.id: c for c in records}

    def ancestors(record: ClientRecord) -> tuple[str, ...]:
        chain: list[str] = []
        parent = record.parent_id
        while parent is not None and parent in by_id and len(chain) < len(by_id):
            chain.append(parent)
            parent = by_id[parent].parent_id
        return tuple(chain)

    return {c.id: ClientRef(c.id, c.partner_id, ancestors(c)) for c in records}


def visible_clients(caller: Principal, records: Sequence[ClientRecord]) -> list[ClientRecord]:
    """The clients of ``records`` that exist for ``caller`` (its partner's, or its client's tree)."""
    refs = refs_of(records)
    return [c for c in records if in_scope(caller, refs[c.id])]


def require(caller: Principal | None, permission: Permission, client: ClientRef | None, what: str) -> None:
    """Raise unless ``caller`` (None: the installation) may do ``permission`` on ``client``.

    Raises:
        NotFound: the client is outside the caller's scope (it does not exist for them).
        Forbidden: in scope, but the caller's role lacks the permission.
    """
    if caller is None:
        return
    decision = authorize(caller, permission, client)
    if decision is Decision.NOT_FOUND:
        raise NotFound(f"{what} does not exist")
    if decision is Decision.FORBIDDEN:
        raise Forbidden(f"role {caller.role.value} may not {permission.value.replace('_', ' ')} here")


@dataclass(frozen=True)
class ClientTree:
    """A partner and its clients (sub-accounts under their parents)."""

    partner: PartnerRecord
    clients: list[ClientRecord]


class Tenants:
    """Partner and client administration."""

    def __init__(self, store: Store, *, actor: str, caller: Principal | None = None) -> None:
        self.store = store
        self.actor = actor
        self.caller = caller

    def create_partner(self, name: str, *, partner_id: str | None = None) -> PartnerRecord:
        """A new partner (installation operators only)."""
        if self.caller is not None:
            raise Forbidden("only the installation's operators create partners")
        pid = check_id(partner_id, "partner")
        if any(p.id == pid for p in self.store.list_partners()):
            raise Conflict(f"partner id {pid!r} is taken")
        self.store.create_partner(check_name(name, "partner"), partner_id=pid)
        self.store.append_system_audit(
            self.actor, "partner.create", f"partner:{pid}", {"name": name}, datetime.now(UTC)
        )
        return self.store.get_partner(pid)

    def create_client(
        self, name: str, *, partner_id: str | None = None, parent_id: str | None = None, client_id: str | None = None
    ) -> ClientRecord:
        """A new client of a partner, or a sub-account under ``parent_id`` (same partner).

        Raises:
            NotFound: the partner or parent does not exist (for the caller).
            Conflict: bad id or name, id taken, or neither/both of partner and parent given.
        """
        if (partner_id is None) == (parent_id is None):
            raise Conflict("give the partner of a new client, or the parent of a new sub-account (one of them)")
        cid = check_id(client_id, "client")
        clean = check_name(name, "client")
        now = datetime.now(UTC)
        if parent_id is not None:
            require(self.caller, Permission.MANAGE_CLIENTS, client_ref(self.store, parent_id), f"client {parent_id!r}")
            record = self.store.create_sub_account(parent_id, clean, now, client_id=cid)
        else:
            assert partner_id is not None
            if self.caller is not None and self.caller.partner_id != partner_id:
                raise NotFound(f"partner {partner_id!r} does not exist")
            require(self.caller, Permission.MANAGE_CLIENTS, None, "partner")
            self.store.get_partner(partner_id)
            if any(c.id == cid for c in self.store.list_client_records()):
                raise Conflict(f"client id {cid!r} is taken")
            self.store.create_client(partner_id, clean, client_id=cid)
            record = self.store.get_client(cid)
        with client_scope(record.id):
            detail = {"name": clean, "partner": record.partner_id, "parent": record.parent_id}
            self.store.append_audit(self.actor, "client.create", f"client:{record.id}", detail, now)
        return record

    def tree(self, partner_id: str) -> ClientTree:
        """A partner's clients as the caller may see them."""
        partner = self.store.get_partner(partner_id)
        if self.caller is not None and self.caller.partner_id != partner_id:
            raise NotFound(f"partner {partner_id!r} does not exist")
        records = self.store.list_client_records(partner_id)
        if self.caller is not None:
            records = visible_clients(self.caller, records)
        return ClientTree(partner, records)
