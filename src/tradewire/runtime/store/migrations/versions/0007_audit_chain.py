"""audit chain: one chain per client, sequence numbers, heads, keyed seals

Entries written before this revision keep their hashes and get key id ``legacy``: ``tradewire
audit verify`` counts them as unverifiable (not as tampered) until ``tradewire secrets
rotate-key`` re-seals the chains with the current key.

Revision ID: 0007
Revises: 0002
Create Date: 2026-11-23 13:58:16.265360
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "audit_heads",
        sa.Column("chain", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_audit_heads")),
    )
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain", sa.String(length=64), server_default="system", nullable=False))
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("source", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("key_id", sa.String(length=16), server_default="legacy", nullable=False))
    _number_existing_entries()
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_audit_chain_seq"), ["chain", "seq"])


def _number_existing_entries() -> None:
    """Give entries written before chains their chain (their client) and sequence number, and record heads."""
    conn = op.get_bind()
    audit = sa.table(
        "audit", sa.column("id"), sa.column("client_id"), sa.column("chain"), sa.column("seq"), sa.column("hash")
    )
    heads = sa.table("audit_heads", sa.column("chain"), sa.column("seq"), sa.column("hash"), sa.column("updated_at"))
    last: dict[str, tuple[int, str]] = {}
    for row in conn.execute(sa.select(audit.c.id, audit.c.client_id, audit.c.hash).order_by(audit.c.id)).all():
        chain = row.client_id if row.client_id is not None else "system"
        seq = last.get(chain, (0, ""))[0] + 1
        conn.execute(sa.update(audit).where(audit.c.id == row.id).values(chain=chain, seq=seq))
        last[chain] = (seq, row.hash)
    now = datetime.now(UTC)
    for chain, (seq, digest) in last.items():
        conn.execute(sa.insert(heads).values(chain=chain, seq=seq, hash=digest, updated_at=now))


def downgrade() -> None:

    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_chain_seq"), type_="unique")
        batch_op.drop_column("key_id")
        batch_op.drop_column("source")
        batch_op.drop_column("seq")
        batch_op.drop_column("chain")

    op.drop_table("audit_heads")
