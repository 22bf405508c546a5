"""The audit log: append (sealed, per-client chain), read, and re-seal after a key rotation.

See :mod:`tradewire.governance.audit_chain` for what the seal covers and how tampering shows.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, union, update

from tradewire.governance.audit_chain import (
    GENESIS_HASH,
    AuditEntry,
    AuditHead,
    AuditSigner,
    chain_of,
    entry_fields,
)
from tradewire.runtime.store.sql_base import SqlBase
from tradewire.runtime.store.tables import audit, audit_heads
from tradewire.tenancy.context import require_client

log = logging.getLogger("tradewire.audit")
UNCONFIGURED_AUDIT_SECRET = "tradewire-unconfigured-audit-key"  # noqa: S105 - tests; processes pass the real key


def to_entry(row: Row[Any]) -> AuditEntry:
    """A stored audit row as an entry."""
    m = row._mapping
    return AuditEntry(
        id=m["id"],
        client_id=m["client_id"],
        chain=m["chain"],
        seq=m["seq"],
        actor=m["actor"],
        action=m["action"],
        target=m["target"],
        detail=dict(m["detail"]),
        at=m["at"],
        source=m["source"],
        key_id=m["key_id"],
        prev_hash=m["prev_hash"],
        hash=m["hash"],
    )


class AuditMethods(SqlBase):
    """Append-only audit entries, one sealed chain per client (and one for system actions)."""

    audit_signer: AuditSigner = AuditSigner([UNCONFIGURED_AUDIT_SECRET])
    """Seals new entries; processes set it from ``TRADEWIRE_SECRET_KEY`` (``open_store(…, audit_signer=…)``)."""

    def append_audit(
        self,
        actor: str,
        action: str,
        target: str,
        detail: dict[str, Any],
        now: datetime,
        *,
        source: str | None = None,
    ) -> str:
        """Append an entry to this client's chain; returns its seal.

        ``source`` says from where (``203.0.113.7``, ``cli@host``); ``detail`` must never hold secrets.
        """
        return self._append(require_client(), actor, action, target, detail, now, source)

    def append_system_audit(
        self, actor: str, action: str, target: str, detail: dict[str, Any], now: datetime, *, source: str | None = None
    ) -> str:
        """Append an entry to the system chain (actions above any one client, e.g. a key rotation)."""
        return self._append(None, actor, action, target, detail, now, source)

    def _append(
        self,
        client_id: str | None,
        actor: str,
        action: str,
        target: str,
        detail: dict[str, Any],
        now: datetime,
        source: str | None,
    ) -> str:
        chain = chain_of(client_id)
        with self.write() as conn:
            self.lock_name(conn, f"audit:{chain}")
            head = self._head(conn, chain)
            seq = head.seq + 1 if head else 1
            prev = head.hash if head else GENESIS_HASH
            digest = self.audit_signer.seal(prev, entry_fields(chain, seq, actor, action, target, detail, now, source))
            conn.execute(
                insert(audit).values(
                    client_id=client_id,
                    chain=chain,
                    seq=seq,
                    actor=actor,
                    action=action,
                    target=target,
                    detail=detail,
                    at=now,
                    source=source,
                    key_id=self.audit_signer.key_id,
                    prev_hash=prev,
                    hash=digest,
                )
            )
            self._set_head(conn, chain, seq, digest, now, exists=head is not None)
        # The head also goes to the logs: a copy outside the database is what shows a truncated tail.
        log.info("audit appended", extra={"chain": chain, "seq": seq, "hash": digest, "action": action})
        return digest

    @staticmethod
    def _head(conn: Connection, chain: str) -> AuditHead | None:
        row = conn.execute(select(audit_heads).where(audit_heads.c.chain == chain)).first()
        return AuditHead(chain, row.seq, row.hash) if row is not None else None

    @staticmethod
    def _set_head(conn: Connection, chain: str, seq: int, digest: str, now: datetime, *, exists: bool) -> None:
        values = {"seq": seq, "hash": digest, "updated_at": now}
        if exists:
            conn.execute(update(audit_heads).where(audit_heads.c.chain == chain).values(**values))
        else:
            conn.execute(insert(audit_heads).values(chain=chain, **values))

    def list_audit(
        self, *, limit: int = 100, before_seq: int | None = None, action: str | None = None
    ) -> list[AuditEntry]:
        """This client's entries, newest first."""
        query = select(audit).where(audit.c.chain == chain_of(require_client()))
        if before_seq is not None:
            query = query.where(audit.c.seq < before_seq)
        if action is not None:
            query = query.where(audit.c.action == action)
        with self.read() as conn:
            return [to_entry(r) for r in conn.execute(query.order_by(audit.c.seq.desc()).limit(limit))]

    # --- system scope: verification, export and re-sealing across every chain --------------

    def audit_chains(self) -> list[str]:
        """Every chain that has entries or a head."""
        query = union(select(audit_heads.c.chain), select(audit.c.chain).distinct())
        with self.read() as conn:
            return sorted(str(r[0]) for r in conn.execute(query))

    def audit_head(self, chain: str) -> AuditHead | None:
        """A chain's recorded head."""
        with self.read() as conn:
            return self._head(conn, chain)

    def audit_entries(self, chain: str, *, after_seq: int = 0, limit: int = 1000) -> list[AuditEntry]:
        """A chain's entries after ``after_seq``, in sequence order (page through with the last seq)."""
        query = (
            select(audit)
            .where(audit.c.chain == chain, audit.c.seq > after_seq)
            .order_by(audit.c.seq, audit.c.id)
            .limit(limit)
        )
        with self.read() as conn:
            return [to_entry(r) for r in conn.execute(query)]

    def reseal_audit(self, chain: str, now: datetime) -> int:
        """Re-seal a whole chain with the current key (after a key rotation); returns entries re-sealed.

        The caller verifies the chain first: re-sealing makes whatever is stored the truth.
        """
        with self.write() as conn:
            self.lock_name(conn, f"audit:{chain}")
            rows = conn.execute(select(audit).where(audit.c.chain == chain).order_by(audit.c.seq, audit.c.id)).all()
            prev = GENESIS_HASH
            for row in rows:
                e = to_entry(row)
                fields = entry_fields(chain, e.seq, e.actor, e.action, e.target, e.detail, e.at, e.source)
                digest = self.audit_signer.seal(prev, fields)
                conn.execute(
                    update(audit)
                    .where(audit.c.id == e.id)
                    .values(prev_hash=prev, hash=digest, key_id=self.audit_signer.key_id)
                )
                prev = digest
            if rows:
                last_seq = int(rows[-1].seq)
                self._set_head(conn, chain, last_seq, prev, now, exists=self._head(conn, chain) is not None)
        return len(rows)
