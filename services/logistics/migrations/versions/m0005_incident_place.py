"""incident place: what names a dispatch on the picking list (hazard, village, district,
households), learnt from IncidentReported

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 17:26:05.755684
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Bring the schema from '0004' to '0005'."""
    op.create_table(
        "incident_place",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column("hazard", sa.String(length=40), nullable=False),
        sa.Column("village", sa.String(length=200), nullable=True),
        sa.Column("district", sa.String(length=200), nullable=True),
        sa.Column("households_affected", sa.Integer(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id"),
    )


def downgrade() -> None:
    """Back to '0004' (a restored backup is the way back with data)."""
    op.drop_table("incident_place")
