"""handover signers: NIPs, place, the head of office who signs Mengetahui (BAST, 004:
signed and stamped); nullable, older records print lines to write on

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 20:23:12.762562
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Bring the schema from '0005' to '0006'."""
    with op.batch_alter_table("handover", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handed_over_by_nip", sa.String(length=18), nullable=True))
        batch_op.add_column(sa.Column("received_by_nip", sa.String(length=18), nullable=True))
        batch_op.add_column(sa.Column("place", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("head_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("head_nip", sa.String(length=18), nullable=True))
        batch_op.add_column(sa.Column("head_title", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("head_rank", sa.String(length=200), nullable=True))


def downgrade() -> None:
    """Back to '0005' (a restored backup is the way back with data)."""
    with op.batch_alter_table("handover", schema=None) as batch_op:
        batch_op.drop_column("head_rank")
        batch_op.drop_column("head_title")
        batch_op.drop_column("head_nip")
        batch_op.drop_column("head_name")
        batch_op.drop_column("place")
        batch_op.drop_column("received_by_nip")
        batch_op.drop_column("handed_over_by_nip")
