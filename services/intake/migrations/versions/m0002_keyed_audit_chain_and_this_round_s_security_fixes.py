"""keyed audit chain, and this round's security fixes

The reporter's phone columns widen to hold a Fernet token. The numbers an older version
kept in clear are encrypted by the service at its next start
(`services.intake.privacy.encrypting_clear_phones_at_start`): only the service holds
INTAKE_DATA_KEY, and this migration also runs in compose's key-less one-shot step.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 15:24:19.012710
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.migrations import steps

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Frozen here rather than imported from services.intake.privacy: a revision must mean
# the same thing whatever the application's code becomes.
PHONE_TABLES = ("field_report", "incident", "incident_update")


def _reporter_phone_width(old: int, new: int) -> None:
    for table in PHONE_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                "reporter_phone",
                existing_type=sa.String(length=old),
                type_=sa.String(length=new),
                existing_nullable=True,
            )


def upgrade() -> None:
    """Bring the schema from '0001' to '0002'."""
    steps.key_the_audit_chain()
    _reporter_phone_width(30, 200)


def downgrade() -> None:
    """Back to '0001' (a restored backup is the way back with data)."""
    _reporter_phone_width(200, 30)
    steps.unkey_the_audit_chain()
