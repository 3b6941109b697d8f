"""the aid application case type

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 00:05:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Bring the schema from '0007' to '0008': a victim family's aid application is a case
    too (intake announces it, shared/events_disaster_aid.py; distribution's copy of the
    case types must know the name). PostgreSQL keeps the names in an enum type; SQLite
    stores the text as it is."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TYPE casetype ADD VALUE IF NOT EXISTS 'AID_APPLICATION'")


def downgrade() -> None:
    """Back to '0007'. PostgreSQL cannot drop an enum value: 'AID_APPLICATION' stays,
    unused."""
