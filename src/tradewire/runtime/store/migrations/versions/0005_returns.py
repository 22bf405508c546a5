"""returns: RMAs

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-23 14:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rmas",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_rmas_client_id_clients")),
        sa.PrimaryKeyConstraint("client_id", "id", name=op.f("pk_rmas")),
    )
    with op.batch_alter_table("rmas", schema=None) as batch_op:
        batch_op.create_index("ix_rmas_client_id_order_id", ["client_id", "order_id"], unique=False)
        batch_op.create_index("ix_rmas_client_id_state_updated_at", ["client_id", "state", "updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rmas", schema=None) as batch_op:
        batch_op.drop_index("ix_rmas_client_id_state_updated_at")
        batch_op.drop_index("ix_rmas_client_id_order_id")
    op.drop_table("rmas")
