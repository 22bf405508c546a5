"""Store methods of the inventory engine: positions, the dirty-SKU outbox, listings, policies.

All are client-scoped (the client comes from the context). Facts (movements, commitments,
on-hand figures) are written by :mod:`tradewire.runtime.store.sql_inventory_facts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select

from tradewire.runtime.store.port_inventory import (
    ChannelListing,
    ChannelPosition,
    DirtySku,
    PolicyVersion,
    Publication,
    StockPosition,
)
from tradewire.runtime.store.sql_base import SqlBase
from tradewire.runtime.store.sql_inventory_rows import mark_dirty
from tradewire.runtime.store.tables import (
    inventory_dirty,
    inventory_listings,
    inventory_policies,
    inventory_publications,
    stock_channel_positions,
    stock_positions,
)
from tradewire.tenancy.context import require_client


def _position(row: Any) -> StockPosition:
    m = row._mapping
    return StockPosition(
        m["sku"], m["location"], m["on_hand"], m["on_hand_as_of"], m["adjust"], m["committed"], m["updated_at"]
    )


def _policy(row: Any) -> PolicyVersion:
    m = row._mapping
    return PolicyVersion(m["version"], dict(m["document"]), m["actor"], m["created_at"])


class InventoryMethods(SqlBase):
    """The inventory ledger as the engine and operators read it."""

    def stock_positions(self, skus: Sequence[str] | None = None) -> list[StockPosition]:
        """This client's positions (of ``skus``, or all), by SKU and location."""
        client_id = require_client()
        query = select(stock_positions).where(stock_positions.c.client_id == client_id)
        if skus is not None:
            if not skus:
                return []
            query = query.where(stock_positions.c.sku.in_(sorted(set(skus))))
        with self.read() as conn:
            rows = conn.execute(query.order_by(stock_positions.c.sku, stock_positions.c.location))
            return [_position(r) for r in rows]

    def dirty_skus(self, limit: int = 500) -> list[DirtySku]:
        """SKUs changed since their last publication, oldest change first."""
        client_id = require_client()
        with self.read() as conn:
            rows = conn.execute(
                select(inventory_dirty)
                .where(inventory_dirty.c.client_id == client_id)
                .order_by(inventory_dirty.c.changed_at, inventory_dirty.c.sku)
                .limit(limit)
            )
            return [DirtySku(r.sku, r.seq, r.changed_at) for r in rows]

    def clear_dirty(self, handled: Sequence[DirtySku]) -> int:
        """Clear marks the publisher handled; a SKU that changed again meanwhile (new ``seq``) stays dirty."""
        client_id = require_client()
        if not handled:
            return 0
        cleared = 0
        with self.write() as conn:
            for item in handled:
                cleared += conn.execute(
                    delete(inventory_dirty).where(
                        inventory_dirty.c.client_id == client_id,
                        inventory_dirty.c.sku == item.sku,
                        inventory_dirty.c.seq == item.seq,
                    )
                ).rowcount
        return cleared

    def mark_skus_dirty(self, skus: Sequence[str] | None, now: datetime) -> int:
        """Ask for these SKUs (None: every SKU in the ledger) to be recomputed and published."""
        client_id = require_client()
        with self.write() as conn:
            if skus is None:
                skus = list(
                    conn.execute(
                        select(stock_positions.c.sku).where(stock_positions.c.client_id == client_id).distinct()
                    ).scalars()
                )
            mark_dirty(self, conn, client_id, skus, now)
        return len(set(skus))

    def channel_listings(self, skus: Sequence[str]) -> list[ChannelListing]:
        """What was last published for these SKUs, on every channel."""
        client_id = require_client()
        if not skus:
            return []
        with self.read() as conn:
            rows = conn.execute(
                select(inventory_listings).where(
                    inventory_listings.c.client_id == client_id, inventory_listings.c.sku.in_(sorted(set(skus)))
                )
            )
            return [
                ChannelListing(r.sku, r.connection_id, r.quantity, r.policy_version, r.published_at, r.sold_at_publish)
                for r in rows
            ]

    def channel_positions(self, skus: Sequence[str]) -> list[ChannelPosition]:
        """Units of these SKUs held by each channel's orders."""
        client_id = require_client()
        if not skus:
            return []
        with self.read() as conn:
            rows = conn.execute(
                select(stock_channel_positions).where(
                    stock_channel_positions.c.client_id == client_id,
                    stock_channel_positions.c.sku.in_(sorted(set(skus))),
                )
            )
            return [ChannelPosition(r.sku, r.connection_id, r.open, r.sold) for r in rows]

    def record_publications(self, publications: Sequence[Publication], now: datetime) -> None:
        """Log each quantity sent; accepted ones become the channel's current listing."""
        client_id = require_client()
        if not publications:
            return
        stmt = self.dialect_insert(inventory_listings)
        upsert = stmt.on_conflict_do_update(
            index_elements=[
                inventory_listings.c.client_id,
                inventory_listings.c.sku,
                inventory_listings.c.connection_id,
            ],
            set_={
                "quantity": stmt.excluded.quantity,
                "policy_version": stmt.excluded.policy_version,
                "published_at": stmt.excluded.published_at,
                "sold_at_publish": stmt.excluded.sold_at_publish,
            },
        )
        log_rows = [
            {
                "client_id": client_id,
                "sku": p.sku,
                "connection_id": p.connection_id,
                "quantity": p.quantity,
                "policy_version": p.policy_version,
                "accepted": p.accepted,
                "error": p.error,
                "changed_at": p.changed_at,
                "published_at": now,
            }
            for p in publications
        ]
        accepted = [
            {
                "client_id": client_id,
                "sku": p.sku,
                "connection_id": p.connection_id,
                "quantity": p.quantity,
                "policy_version": p.policy_version,
                "published_at": now,
                "sold_at_publish": p.sold_at_publish,
            }
            for p in publications
            if p.accepted
        ]
        with self.write() as conn:
            conn.execute(inventory_publications.insert(), log_rows)
            if accepted:
                conn.execute(upsert, accepted)

    def list_publications(self, sku: str | None = None, limit: int = 100) -> list[Publication]:
        """Quantities sent to channels, newest first (of one SKU, or all)."""
        client_id = require_client()
        query = select(inventory_publications).where(inventory_publications.c.client_id == client_id)
        if sku is not None:
            query = query.where(inventory_publications.c.sku == sku)
        with self.read() as conn:
            rows = conn.execute(query.order_by(inventory_publications.c.id.desc()).limit(limit))
            return [
                Publication(
                    r.sku,
                    r.connection_id,
                    r.quantity,
                    r.policy_version,
                    r.accepted,
                    r.error,
                    r.changed_at,
                    r.published_at,
                )
                for r in rows
            ]

    def put_inventory_policy(self, document: dict[str, Any], actor: str, now: datetime) -> PolicyVersion:
        """Store ``document`` as this client's next policy version, audited, and mark every SKU dirty."""
        client_id = require_client()
        with self.write() as conn:
            self.lock_name(conn, f"inventory-policy:{client_id}")
            last = conn.execute(
                select(func.max(inventory_policies.c.version)).where(inventory_policies.c.client_id == client_id)
            ).scalar()
            version = int(last or 0) + 1
            conn.execute(
                inventory_policies.insert(),
                {"client_id": client_id, "version": version, "document": document, "actor": actor, "created_at": now},
            )
        self.append_audit(actor, "inventory.policy.apply", f"inventory-policy:{version}", {"version": version}, now)
        self.mark_skus_dirty(None, now)
        return PolicyVersion(version, document, actor, now)

    def get_inventory_policy(self, version: int | None = None) -> PolicyVersion | None:
        """This client's policy (the newest, or ``version``), or None."""
        client_id = require_client()
        query = select(inventory_policies).where(inventory_policies.c.client_id == client_id)
        if version is not None:
            query = query.where(inventory_policies.c.version == version)
        with self.read() as conn:
            row = conn.execute(query.order_by(inventory_policies.c.version.desc()).limit(1)).first()
        return _policy(row) if row is not None else None

    def inventory_policy_history(self, limit: int = 20) -> list[PolicyVersion]:
        """This client's policy versions, newest first."""
        client_id = require_client()
        with self.read() as conn:
            rows = conn.execute(
                select(inventory_policies)
                .where(inventory_policies.c.client_id == client_id)
                .order_by(inventory_policies.c.version.desc())
                .limit(limit)
            )
            return [_policy(r) for r in rows]

    if TYPE_CHECKING:  # provided by the tenant methods

        def append_audit(self, actor: str, action: str, target: str, detail: dict[str, Any], now: datetime) -> str: ...
