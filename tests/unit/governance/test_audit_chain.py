"""The audit chain shows every kind of tampering: 1,000+ random trials, all detected."""

from __future__ import annotations

import hashlib
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tradewire.governance.audit_chain import (
    GENESIS_HASH,
    LEGACY_KEY_ID,
    AuditEntry,
    AuditHead,
    AuditSigner,
    entry_fields,
    verify_chain,
)

SIGNER = AuditSigner(["a-long-random-master-secret-for-tests-0001"])
T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)
CHAIN = "client-1"


def build(n: int, signer: AuditSigner = SIGNER) -> tuple[list[AuditEntry], AuditHead]:
    entries: list[AuditEntry] = []
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        at = T0 + timedelta(seconds=seq, microseconds=seq * 7)
        detail = {"runs": [seq, seq + 1], "reason": f"replay {seq}"}
        fields = entry_fields(CHAIN, seq, f"user{seq % 3}@agency", "runs.replay", f"run:{seq}", detail, at, "10.0.0.1")
        digest = signer.seal(prev, fields)
        entries.append(
            AuditEntry(
                seq,
                CHAIN,
                CHAIN,
                seq,
                f"user{seq % 3}@agency",
                "runs.replay",
                f"run:{seq}",
                detail,
                at,
                "10.0.0.1",
                signer.key_id,
                prev,
                digest,
            )
        )
        prev = digest
    return entries, AuditHead(CHAIN, n, prev)


def test_an_untouched_chain_is_intact() -> None:
    entries, head = build(30)
    report = verify_chain(CHAIN, entries, head, SIGNER)
    assert report.intact
    assert (report.entries, report.unverifiable) == (30, 0)


def test_an_empty_chain_without_a_head_is_intact_but_a_lost_log_is_not() -> None:
    assert verify_chain(CHAIN, [], None, SIGNER).intact
    _, head = build(3)
    assert not verify_chain(CHAIN, [], head, SIGNER).intact


def modify(entries: list[AuditEntry], rng: random.Random) -> list[AuditEntry]:
    i = rng.randrange(len(entries))
    e = entries[i]
    changes = {
        "actor": {"actor": e.actor + "x"},
        "action": {"action": "config.apply"},
        "target": {"target": "run:999"},
        "detail": {"detail": {**e.detail, "reason": "nothing to see"}},
        "at": {"at": e.at + timedelta(microseconds=1)},
        "source": {"source": "192.0.2.66"},
        "seq": {"seq": e.seq + rng.choice((-1, 1, 1000))},
        "prev": {"prev_hash": "f" * 64},
        "hash": {"hash": hashlib.sha256(e.hash.encode()).hexdigest()},
    }
    field = rng.choice(sorted(changes))
    return [*entries[:i], replace(e, **changes[field]), *entries[i + 1 :]]  # type: ignore[arg-type]


def delete(entries: list[AuditEntry], rng: random.Random) -> list[AuditEntry]:
    i = rng.randrange(len(entries))
    count = rng.choice((1, 1, 2, 3))
    return entries[:i] + entries[i + count :]


def insert(entries: list[AuditEntry], rng: random.Random) -> list[AuditEntry]:
    """A forger without the key: links the new entry to its neighbour and may renumber the rest."""
    i = rng.randrange(len(entries) + 1)
    prev = entries[i - 1].hash if i else GENESIS_HASH
    seq = i + 1
    at = T0 + timedelta(seconds=seq, microseconds=3)
    fields = entry_fields(CHAIN, seq, "intruder", "secrets.rotate_key", "installation", {}, at, None)
    guessed_key = AuditSigner([f"guess-{rng.random()}"])
    digest = rng.choice((guessed_key.seal(prev, fields), hashlib.sha256(repr(fields).encode()).hexdigest()))
    forged = AuditEntry(
        0,
        CHAIN,
        CHAIN,
        seq,
        "intruder",
        "secrets.rotate_key",
        "installation",
        {},
        at,
        None,
        SIGNER.key_id,
        prev,
        digest,
    )
    rest = entries[i:]
    if rng.random() < 0.5:  # renumber what follows so the sequence has no gap
        rest = [replace(e, seq=e.seq + 1) for e in rest]
    return [*entries[:i], forged, *rest]


def reorder(entries: list[AuditEntry], rng: random.Random) -> list[AuditEntry]:
    i, j = sorted(rng.sample(range(len(entries)), 2))
    moved = list(entries)
    moved[i], moved[j] = moved[j], moved[i]
    if rng.random() < 0.5:  # also swap their numbers back into order
        moved[i], moved[j] = replace(moved[i], seq=entries[i].seq), replace(moved[j], seq=entries[j].seq)
    return moved


@pytest.mark.parametrize("tamper", [modify, delete, insert, reorder])
def test_every_random_tampering_is_detected(tamper: object) -> None:
    rng = random.Random(f"audit-{getattr(tamper, '__name__', '')}")
    entries, head = build(25)
    for trial in range(300):  # 4 × 300 = 1,200 trials
        tampered = tamper(entries, rng)  # type: ignore[operator]
        report = verify_chain(CHAIN, tampered, head, SIGNER)
        assert not report.intact, f"trial {trial}: {tamper} went unnoticed"


def test_a_whole_chain_rebuilt_with_another_key_is_detected() -> None:
    entries, _ = build(10, AuditSigner(["the-attackers-own-key-of-enough-length"]))
    forged_head = AuditHead(CHAIN, 10, entries[-1].hash)
    forged = [replace(e, key_id=SIGNER.key_id) for e in entries]
    assert not verify_chain(CHAIN, forged, forged_head, SIGNER).intact


def test_entries_under_a_key_no_longer_held_are_counted_not_condemned() -> None:
    old = AuditSigner(["the-previous-master-secret-of-length-32"])
    entries, head = build(5, old)
    report = verify_chain(CHAIN, entries, head, SIGNER)
    assert report.intact
    assert report.unverifiable == 5
    rotating = AuditSigner(["a-long-random-master-secret-for-tests-0001", "the-previous-master-secret-of-length-32"])
    assert verify_chain(CHAIN, entries, head, rotating).unverifiable == 0


def test_legacy_entries_from_before_chains_are_unverifiable_but_later_links_are_checked() -> None:
    entries, head = build(4)
    legacy = [replace(e, key_id=LEGACY_KEY_ID, prev_hash="9" * 64) for e in entries[:2]]
    report = verify_chain(CHAIN, [*legacy, *entries[2:]], head, SIGNER)
    assert report.intact
    assert report.unverifiable == 2


def test_a_signer_needs_a_key() -> None:
    with pytest.raises(ValueError, match="at least one"):
        AuditSigner([])
