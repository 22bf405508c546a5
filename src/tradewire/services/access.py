"""API keys: issue (shown once), list, revoke, rotate, and authenticate a presented key.

Every change is audited in the key's client chain (partner-level keys: the system chain), with
the key's id and visible prefix, never the key.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tradewire.errors import Conflict, Forbidden, NotFound, Unauthenticated
from tradewire.governance.api_keys import generate_key, matches, split_key
from tradewire.governance.permissions import Decision, Principal, Role, can_grant
from tradewire.runtime.store.port import Store
from tradewire.runtime.store.port_access import ApiKeyRecord
from tradewire.services.tenants import check_name, client_ref, refs_of
from tradewire.tenancy.context import client_scope

MAX_LIFETIME = timedelta(days=730)


@dataclass(frozen=True)
class IssuedKey:
    """A new key: ``secret`` is the whole key, shown once."""

    record: ApiKeyRecord
    secret: str


def principal_of(record: ApiKeyRecord) -> Principal:
    """The principal a key acts as."""
    return Principal("api_key", record.id, record.name, record.partner_id, Role(record.role), record.client_id)


class AccessKeys:
    """Issue and manage API keys, for the installation (``caller`` None) or a principal."""

    def __init__(self, store: Store, *, actor: str, caller: Principal | None = None) -> None:
        self.store = store
        self.actor = actor
        self.caller = caller

    def issue(
        self,
        *,
        partner_id: str,
        role: Role,
        name: str,
        client_id: str | None = None,
        expires_in: timedelta | None = None,
        replaces: str | None = None,
    ) -> IssuedKey:
        """A new key for a partner (partner roles) or one of its clients (client roles).

        Raises:
            NotFound: the partner or client does not exist (for the caller).
            Conflict: role and client do not fit, bad name or lifetime.
            Forbidden: the caller may not grant this role.
        """
        self.store.get_partner(partner_id)
        if self.caller is not None and self.caller.partner_id != partner_id:
            raise NotFound(f"partner {partner_id!r} does not exist")
        if role.partner_level and client_id is not None:
            raise Conflict(f"{role.value} spans the partner's clients; do not give --client")
        if not role.partner_level and client_id is None:
            raise Conflict(f"{role.value} acts on one client; give --client")
        ref = client_ref(self.store, client_id) if client_id is not None else None
        if ref is not None and ref.partner_id != partner_id:
            raise NotFound(f"client {client_id!r} does not exist")
        if expires_in is not None and not timedelta(minutes=1) <= expires_in <= MAX_LIFETIME:
            raise Conflict("a key lives between one minute and two years")
        if self.caller is not None:
            decision = can_grant(self.caller, role, ref)
            if decision is Decision.NOT_FOUND:
                raise NotFound(f"client {client_id!r} does not exist")
            if decision is Decision.FORBIDDEN:
                raise Forbidden(f"role {self.caller.role.value} may not issue {role.value} keys here")
        now = datetime.now(UTC)
        new = generate_key()
        record = ApiKeyRecord(
            id=str(uuid.uuid4()),
            prefix=new.prefix,
            digest=new.digest,
            name=check_name(name, "key"),
            partner_id=partner_id,
            client_id=client_id,
            role=role.value,
            created_at=now,
            created_by=self.actor,
            expires_at=now + expires_in if expires_in is not None else None,
            replaces=replaces,
        )
        self.store.insert_api_key(record)
        self._audit("api_key.issue", record, now, role=role.value, expires_at=_iso(record.expires_at))
        return IssuedKey(record, new.secret)

    def list(self, partner_id: str, client_id: str | None = None) -> list[ApiKeyRecord]:
        """Keys of a partner (or of one client and its sub-accounts) the caller may see."""
        if self.caller is not None and self.caller.partner_id != partner_id:
            raise NotFound(f"partner {partner_id!r} does not exist")
        scope = client_id or (self.caller.client_id if self.caller and not self.caller.role.partner_level else None)
        if scope is None:
            return self.store.list_api_keys(partner_id)
        refs = refs_of(self.store.list_client_records(partner_id))
        ids = [cid for cid, ref in refs.items() if cid == scope or scope in ref.ancestors]
        return self.store.list_api_keys(partner_id, ids)

    def revoke(self, key_id: str) -> ApiKeyRecord:
        """Revoke a key at once; it gets 401 everywhere from now on.

        Raises:
            NotFound: no such key (for the caller).
            Conflict: already revoked.
        """
        record = self._visible(key_id)
        now = datetime.now(UTC)
        if not self.store.revoke_api_key(key_id, now):
            raise Conflict(f"API key {record.prefix} is already revoked")
        self._audit("api_key.revoke", record, now)
        return self.store.get_api_key(key_id)

    def rotate(self, key_id: str, *, expires_in: timedelta | None = None) -> IssuedKey:
        """A new key with the same partner, client, role and name; the old one is revoked."""
        old = self._visible(key_id)
        if old.revoked_at is not None:
            raise Conflict(f"API key {old.prefix} is revoked; issue a new one instead")
        issued = self.issue(
            partner_id=old.partner_id,
            role=Role(old.role),
            name=old.name,
            client_id=old.client_id,
            expires_in=expires_in,
            replaces=old.id,
        )
        self.revoke(old.id)
        return issued

    def _visible(self, key_id: str) -> ApiKeyRecord:
        try:
            record = self.store.get_api_key(key_id)
        except NotFound:
            raise NotFound(f"API key {key_id!r} does not exist") from None
        if self.caller is not None:
            ref = client_ref(self.store, record.client_id) if record.client_id else None
            if (
                record.partner_id != self.caller.partner_id
                or can_grant(self.caller, Role(record.role), ref) is Decision.NOT_FOUND
            ):
                raise NotFound(f"API key {key_id!r} does not exist")
        return record

    def _audit(self, action: str, record: ApiKeyRecord, now: datetime, **detail: object) -> None:
        payload = {"key_id": record.id, "prefix": record.prefix, "name": record.name, **detail}
        if record.client_id is None:
            self.store.append_system_audit(self.actor, action, f"partner:{record.partner_id}", payload, now)
            return
        with client_scope(record.client_id):
            self.store.append_audit(self.actor, action, f"api_key:{record.prefix}", payload, now)


def authenticate(store: Store, presented: str | None, now: datetime) -> Principal:
    """The principal of a presented key.

    Raises:
        Unauthenticated: no key, a malformed, unknown, wrong, revoked or expired one (one message
            for all but the first two, so probing learns nothing).
    """
    if not presented:
        raise Unauthenticated("an API key is required: 'Authorization: Bearer tw_…'")
    prefix = split_key(presented)
    record = store.api_key_by_prefix(prefix)
    if record is None or not matches(presented, record.digest) or not record.usable(now):
        raise Unauthenticated("the API key is not valid (unknown, revoked or expired)")
    if record.last_used_at is None or now - record.last_used_at > timedelta(minutes=1):
        store.touch_api_key(record.id, now)
    return principal_of(record)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
