"""The audit log's chain: each entry is sealed to the one before it, per client.

An entry's ``hash`` is HMAC-SHA256, under a key derived from ``TRADEWIRE_SECRET_KEY``, over the
previous entry's hash and the entry's canonical JSON (chain, sequence number, who, what, target,
detail, when, from where). Sequence numbers run 1, 2, 3… per chain (one chain per client, one for
system actions), and the chain's head (last sequence number and hash) is kept beside it.

So :func:`verify_chain` finds any modified entry (its hash no longer matches), deleted entry (a gap
in the numbers, or a head that points past the end), inserted entry (a number out of place, or a
hash it cannot have without the key) and reordered entries (each entry names its predecessor).
Because the seal is keyed, someone who can write to the database but does not hold the key cannot
rebuild a consistent chain after tampering with it.

No I/O here: the store reads entries and heads, this module judges them.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

GENESIS_HASH = "0" * 64
SYSTEM_CHAIN = "system"
LEGACY_KEY_ID = "legacy"
_DERIVATION = b"tradewire/audit-chain/v1\x00"


def chain_of(client_id: str | None) -> str:
    """The chain an entry of ``client_id`` belongs to (None: system actions)."""
    return client_id if client_id is not None else SYSTEM_CHAIN


@dataclass(frozen=True)
class AuditEntry:
    """One stored audit entry."""

    id: int
    client_id: str | None
    chain: str
    seq: int
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    at: datetime
    source: str | None
    key_id: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class AuditHead:
    """The last entry of a chain, as recorded when it was appended."""

    chain: str
    seq: int
    hash: str


@dataclass(frozen=True)
class ChainProblem:
    """Something :func:`verify_chain` found wrong, with the sequence number where it shows."""

    chain: str
    seq: int
    problem: str


class AuditSigner:
    """Seals entries with the current key; verifies with any key it still holds.

    Keys are derived from master secrets (the current ``TRADEWIRE_SECRET_KEY`` first, then any
    previous ones kept during a rotation); ``key_id`` names a key without revealing it.
    """

    def __init__(self, master_secrets: Sequence[str]) -> None:
        if not master_secrets:
            raise ValueError("an audit signer needs at least one master secret")
        self._keys: dict[str, bytes] = {}
        for secret in master_secrets:
            key = hashlib.sha256(_DERIVATION + secret.encode()).digest()
            self._keys.setdefault(hashlib.sha256(key).hexdigest()[:16], key)
        self.key_id = next(iter(self._keys))

    def knows(self, key_id: str) -> bool:
        """True when this signer holds the key ``key_id``."""
        return key_id in self._keys

    def seal(self, prev_hash: str, fields: Mapping[str, Any], *, key_id: str | None = None) -> str:
        """The hash of an entry with ``fields`` after ``prev_hash`` (under the current key by default)."""
        key = self._keys[key_id or self.key_id]
        payload = orjson.dumps({"prev": prev_hash, **fields}, option=orjson.OPT_SORT_KEYS)
        return hmac.new(key, payload, hashlib.sha256).hexdigest()


def entry_fields(
    chain: str,
    seq: int,
    actor: str,
    action: str,
    target: str,
    detail: Mapping[str, Any],
    at: datetime,
    source: str | None,
) -> dict[str, Any]:
    """What an entry's seal covers (everything but its id, key id and hashes)."""
    return {
        "chain": chain,
        "seq": seq,
        "actor": actor,
        "action": action,
        "target": target,
        "detail": dict(detail),
        "at": at.isoformat(),
        "source": source,
    }


def _fields(entry: AuditEntry) -> dict[str, Any]:
    return entry_fields(
        entry.chain, entry.seq, entry.actor, entry.action, entry.target, entry.detail, entry.at, entry.source
    )


@dataclass(frozen=True)
class ChainReport:
    """The verdict on one chain."""

    chain: str
    entries: int
    problems: tuple[ChainProblem, ...]
    unverifiable: int = 0
    """Entries sealed with a key this signer no longer holds, or written before chains were keyed."""

    @property
    def intact(self) -> bool:
        """True when nothing was found wrong."""
        return not self.problems


def verify_chain(chain: str, entries: Iterable[AuditEntry], head: AuditHead | None, signer: AuditSigner) -> ChainReport:
    """Check one chain's entries (in sequence order) against each other and against its head."""
    problems: list[ChainProblem] = []
    expected_seq = 1
    prev_hash = GENESIS_HASH
    count = 0
    unverifiable = 0
    for entry in entries:
        count += 1
        if entry.chain != chain:
            problems.append(ChainProblem(chain, entry.seq, f"entry {entry.id} belongs to chain {entry.chain!r}"))
        if entry.seq != expected_seq:
            what = "missing" if entry.seq > expected_seq else "repeated or out of place"
            problems.append(ChainProblem(chain, entry.seq, f"expected entry {expected_seq}: entries {what}"))
        legacy = entry.key_id == LEGACY_KEY_ID  # written before chains were per client: links not checkable
        if not legacy and entry.prev_hash != prev_hash:
            problems.append(
                ChainProblem(chain, entry.seq, "does not follow the entry before it (deleted, inserted or moved)")
            )
        if legacy or not signer.knows(entry.key_id):
            unverifiable += 1
        elif not hmac.compare_digest(signer.seal(entry.prev_hash, _fields(entry), key_id=entry.key_id), entry.hash):
            problems.append(ChainProblem(chain, entry.seq, "content does not match its seal (modified)"))
        expected_seq = entry.seq + 1
        prev_hash = entry.hash
    if head is None:
        if count:
            problems.append(ChainProblem(chain, expected_seq - 1, "the chain has entries but no recorded head"))
    elif head.seq != expected_seq - 1 or head.hash != prev_hash:
        problems.append(
            ChainProblem(chain, head.seq, f"the head says entry {head.seq} is last; the log ends at {expected_seq - 1}")
        )
    return ChainReport(chain, count, tuple(problems), unverifiable)
