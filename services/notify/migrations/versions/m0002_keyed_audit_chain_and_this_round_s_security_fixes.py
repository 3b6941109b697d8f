"""keyed audit chain, and this round's security fixes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 15:24:25.881917
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
    steps.key_the_audit_chain()

    with op.batch_alter_table("notification_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("response_ms", sa.Integer(), nullable=True))

    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signing_secret", sa.String(length=100), nullable=True))


def downgrade() -> None:
    """Back to '0001' (a restored backup is the way back with data)."""
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.drop_column("signing_secret")

    with op.batch_alter_table("notification_log", schema=None) as batch_op:
        batch_op.drop_column("response_ms")

    steps.unkey_the_audit_chain()
