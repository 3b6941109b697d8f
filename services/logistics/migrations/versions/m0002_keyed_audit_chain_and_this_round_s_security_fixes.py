"""keyed audit chain, and this round's security fixes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 15:24:21.301499
"""

from collections.abc import Sequence

from shared.migrations import steps

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Bring the schema from '0001' to '0002'."""
    steps.key_the_audit_chain()


def downgrade() -> None:
    """Back to '0001' (a restored backup is the way back with data)."""
    steps.unkey_the_audit_chain()
