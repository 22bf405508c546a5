"""Audit use cases: verify every chain, list a client's entries, export them as JSON lines."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import orjson

from tradewire.governance.audit_chain import AuditEntry, AuditSigner, ChainReport, verify_chain
from tradewire.runtime.store.port import Store

PAGE = 1000


def chain_entries(store: Store, chain: str) -> Iterator[AuditEntry]:
    """A chain's entries in sequence order, read a page at a time (a long log never sits in memory)."""
    after = -1
    while True:
        page = store.audit_entries(chain, after_seq=after, limit=PAGE)
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1].seq


@dataclass(frozen=True)
class AuditVerification:
    """The verdict on every chain."""

    chains: tuple[ChainReport, ...]

    @property
    def intact(self) -> bool:
        """True when no chain shows tampering."""
        return all(c.intact for c in self.chains)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``tradewire audit verify --json``)."""
        return {
            "intact": self.intact,
            "chains": [
                {
                    "chain": c.chain,
                    "entries": c.entries,
                    "unverifiable": c.unverifiable,
                    "intact": c.intact,
                    "problems": [{"seq": p.seq, "problem": p.problem} for p in c.problems],
                }
                for c in self.chains
            ],
        }


def verify_audit(store: Store, signer: AuditSigner, chains: list[str] | None = None) -> AuditVerification:
    """Verify ``chains`` (default: all) against their seals and heads."""
    names = chains if chains is not None else store.audit_chains()
    return AuditVerification(
        tuple(verify_chain(name, chain_entries(store, name), store.audit_head(name), signer) for name in names)
    )


def entry_to_dict(entry: AuditEntry) -> dict[str, Any]:
    """One entry as operators read it: who did what, when, from where (and its seal)."""
    return {
        "chain": entry.chain,
        "seq": entry.seq,
        "client_id": entry.client_id,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "source": entry.source,
        "action": entry.action,
        "target": entry.target,
        "detail": entry.detail,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
        "key_id": entry.key_id,
    }


def export_audit(store: Store, chain: str, sink: IO[bytes]) -> int:
    """Write a chain as JSON lines (one entry per line, sequence order); returns entries written."""
    count = 0
    for entry in chain_entries(store, chain):
        sink.write(orjson.dumps(entry_to_dict(entry), option=orjson.OPT_SORT_KEYS) + b"\n")
        count += 1
    return count
