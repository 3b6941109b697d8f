"""the complaint case type

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 21:05:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Bring the schema from '0005' to '0006': complaints are cases too (intake announces
    them; distribution's copy of the case types must know the name). PostgreSQL keeps the
    names in an enum type; SQLite stores the text as it is."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TYPE casetype ADD VALUE IF NOT EXISTS 'COMPLAINT'")


def downgrade() -> None:
    """Back to '0005'. PostgreSQL cannot drop an enum value: 'COMPLAINT' stays, unused."""
