"""Key rotation: re-encrypt every connection's credentials and re-seal the audit chains.

Run after setting a new ``TRADEWIRE_SECRET_KEY`` with the old one in
``TRADEWIRE_PREVIOUS_SECRET_KEYS``; afterwards the old key can be removed. Nothing here ever
prints or logs a credential.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tradewire.errors import ConfigError, Conflict
from tradewire.governance.audit_chain import AuditSigner
from tradewire.runtime.store.port import Store
from tradewire.services.audit import chain_entries, verify_audit
from tradewire.tenancy.secrets import SecretBox


@dataclass
class KeyStatus:
    """How many rows still depend on a previous key."""

    connections_total: int = 0
    connections_on_old_key: list[str] = field(default_factory=list)
    connections_unreadable: list[str] = field(default_factory=list)
    audit_chains_on_old_key: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        """True when nothing needs a previous key any more (it can be removed)."""
        return not (self.connections_on_old_key or self.connections_unreadable or self.audit_chains_on_old_key)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "connections_total": self.connections_total,
            "connections_on_old_key": self.connections_on_old_key,
            "connections_unreadable": self.connections_unreadable,
            "audit_chains_on_old_key": self.audit_chains_on_old_key,
            "old_keys_can_be_removed": self.done,
        }


def key_status(store: Store, box: SecretBox, signer: AuditSigner) -> KeyStatus:
    """Which connections and audit chains still need a previous key (none: it can be removed)."""
    status = KeyStatus()
    for connection_id, _client, sealed in store.connection_secrets():
        status.connections_total += 1
        if box.is_current(sealed):
            continue
        try:
            box.open(sealed)
        except ConfigError:
            status.connections_unreadable.append(connection_id)
        else:
            status.connections_on_old_key.append(connection_id)
    for chain in store.audit_chains():
        if any(e.key_id != signer.key_id for e in chain_entries(store, chain)):
            status.audit_chains_on_old_key.append(chain)
    return status


@dataclass(frozen=True)
class RotationReport:
    """What a rotation did."""

    connections_rotated: int
    audit_entries_resealed: int
    status_after: KeyStatus


def rotate_key(store: Store, box: SecretBox, signer: AuditSigner, *, actor: str) -> RotationReport:
    """Re-encrypt every credential with the current key and re-seal audit chains sealed with an older one.

    The audit chains are verified first, with every key held: re-sealing a tampered chain would
    launder the tampering, so a chain with problems stops the rotation.

    Raises:
        Conflict: a connection's credentials cannot be decrypted with any key held, or an audit
            chain shows tampering (run ``tradewire audit verify``).
    """
    before = key_status(store, box, signer)
    if before.connections_unreadable:
        ids = ", ".join(before.connections_unreadable)
        raise Conflict(f"no key held decrypts the credentials of connection(s) {ids}; add the key they need")
    verification = verify_audit(store, signer, before.audit_chains_on_old_key)
    if not verification.intact:
        broken = ", ".join(c.chain for c in verification.chains if not c.intact)
        raise Conflict(f"audit chain(s) {broken} show tampering; not re-sealing them (see `tradewire audit verify`)")
    rotated = 0
    for connection_id in before.connections_on_old_key:
        sealed = store.get_connection(connection_id).secrets
        if store.swap_connection_secrets(connection_id, sealed, box.rotate(sealed)):
            rotated += 1
    now = datetime.now(UTC)
    resealed = sum(store.reseal_audit(chain, now) for chain in before.audit_chains_on_old_key)
    store.append_system_audit(
        actor,
        "secrets.rotate_key",
        "installation",
        {"connections_rotated": rotated, "audit_entries_resealed": resealed, "key_id": signer.key_id},
        now,
    )
    return RotationReport(rotated, resealed, key_status(store, box, signer))
