"""outbox acknowledgements, parked events

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 15:30:56.093347
"""

from collections.abc import Sequence

from shared.migrations import steps

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Bring the schema from '0002' to '0003'."""
    steps.record_broker_acknowledgements()


def downgrade() -> None:
    """Back to '0002' (a restored backup is the way back with data)."""
    steps.forget_broker_acknowledgements()
