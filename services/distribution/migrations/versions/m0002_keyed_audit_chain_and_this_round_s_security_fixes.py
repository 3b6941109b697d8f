"""keyed audit chain, and this round's security fixes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 15:24:23.546449
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.migrations import steps

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Bring the schema from '0001' to '0002'."""
    op.create_table(
        "personal_data_reveal",
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reveals", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("subject", "day"),
    )
    steps.key_the_audit_chain()


def downgrade() -> None:
    """Back to '0001' (a restored backup is the way back with data)."""
    steps.unkey_the_audit_chain()

    op.drop_table("personal_data_reveal")
