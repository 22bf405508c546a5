"""Store methods for partners, clients and sub-accounts, and API keys (system scope: they decide access)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select, update

from tradewire.errors import Conflict, NotFound
from tradewire.runtime.store.port_access import ApiKeyRecord, ClientRecord, PartnerRecord
from tradewire.runtime.store.sql_base import SqlBase
from tradewire.runtime.store.tables import api_keys, clients, partners

MAX_DEPTH = 8


def _client(row: Row[Any]) -> ClientRecord:
    m = row._mapping
    return ClientRecord(m["id"], m["partner_id"], m["name"], m["created_at"], m["parent_id"])


def _key(row: Row[Any]) -> ApiKeyRecord:
    m = row._mapping
    return ApiKeyRecord(**{f.name: m[f.name] for f in dataclasses.fields(ApiKeyRecord)})


class AccessMethods(SqlBase):
    """Partners → clients → sub-accounts, and the API keys that act on them."""

    def list_partners(self) -> list[PartnerRecord]:
        """Every partner, by name."""
        with self.read() as conn:
            rows = conn.execute(select(partners).order_by(partners.c.name, partners.c.id))
            return [PartnerRecord(r.id, r.name, r.created_at) for r in rows]

    def get_partner(self, partner_id: str) -> PartnerRecord:
        """One partner.

        Raises:
            NotFound: no such partner.
        """
        with self.read() as conn:
            row = conn.execute(select(partners).where(partners.c.id == partner_id)).first()
        if row is None:
            raise NotFound(f"partner {partner_id!r} does not exist")
        return PartnerRecord(row.id, row.name, row.created_at)

    def get_client(self, client_id: str) -> ClientRecord:
        """One client.

        Raises:
            NotFound: no such client.
        """
        with self.read() as conn:
            row = conn.execute(select(clients).where(clients.c.id == client_id)).first()
        if row is None:
            raise NotFound(f"client {client_id!r} does not exist")
        return _client(row)

    def list_client_records(self, partner_id: str | None = None) -> list[ClientRecord]:
        """Clients (of one partner, or all), parents before their sub-accounts' siblings, by name."""
        query = select(clients).order_by(clients.c.partner_id, clients.c.name, clients.c.id)
        if partner_id is not None:
            query = query.where(clients.c.partner_id == partner_id)
        with self.read() as conn:
            return [_client(r) for r in conn.execute(query)]

    def client_ancestors(self, client_id: str) -> tuple[str, ...]:
        """The client's parent, grandparent… (nearest first)."""
        chain: list[str] = []
        current = self.get_client(client_id).parent_id
        while current is not None and len(chain) < MAX_DEPTH:
            chain.append(current)
            current = self.get_client(current).parent_id
        return tuple(chain)

    def create_sub_account(self, parent_id: str, name: str, now: datetime, *, client_id: str) -> ClientRecord:
        """Create a client under ``parent_id`` (same partner).

        Raises:
            NotFound: the parent does not exist.
            Conflict: the id is taken, or the tree would be deeper than allowed.
        """
        parent = self.get_client(parent_id)
        if len(self.client_ancestors(parent_id)) + 1 >= MAX_DEPTH:
            raise Conflict(f"sub-accounts nest at most {MAX_DEPTH} deep")
        with self.write() as conn:
            if conn.execute(select(clients.c.id).where(clients.c.id == client_id)).first() is not None:
                raise Conflict(f"client id {client_id!r} is taken")
            conn.execute(
                insert(clients).values(
                    id=client_id, partner_id=parent.partner_id, parent_id=parent_id, name=name, created_at=now
                )
            )
        return self.get_client(client_id)

    # --- API keys ------------------------------------------------------------------------------

    def insert_api_key(self, record: ApiKeyRecord) -> None:
        """Store a new key's record (its hash, never the key)."""
        with self.write() as conn:
            conn.execute(insert(api_keys).values(**dataclasses.asdict(record)))

    def api_key_by_prefix(self, prefix: str) -> ApiKeyRecord | None:
        """The key with this visible prefix, if any."""
        with self.read() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.prefix == prefix)).first()
        return _key(row) if row is not None else None

    def get_api_key(self, key_id: str) -> ApiKeyRecord:
        """One key's record.

        Raises:
            NotFound: no such key.
        """
        with self.read() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
        if row is None:
            raise NotFound(f"API key {key_id!r} does not exist")
        return _key(row)

    def list_api_keys(self, partner_id: str, client_ids: list[str] | None = None) -> list[ApiKeyRecord]:
        """A partner's keys (only those of ``client_ids`` when given), newest first."""
        query = select(api_keys).where(api_keys.c.partner_id == partner_id)
        if client_ids is not None:
            query = query.where(api_keys.c.client_id.in_(client_ids))
        with self.read() as conn:
            return [_key(r) for r in conn.execute(query.order_by(api_keys.c.created_at.desc(), api_keys.c.id))]

    def revoke_api_key(self, key_id: str, now: datetime) -> bool:
        """Revoke a key (False when it was already revoked)."""
        with self.write() as conn:
            done = conn.execute(
                update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None)).values(revoked_at=now)
            ).rowcount
        return bool(done == 1)

    def touch_api_key(self, key_id: str, now: datetime) -> None:
        """Record that a key was used (at most a write per key and minute is enough for reports)."""
        with self.write() as conn:
            conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=now))
