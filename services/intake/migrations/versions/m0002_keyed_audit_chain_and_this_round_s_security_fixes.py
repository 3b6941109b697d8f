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


def upgrade() -> None:
    """Bring the schema from '0001' to '0002'."""
    steps.key_the_audit_chain()

    with op.batch_alter_table("field_report", schema=None) as batch_op:
        batch_op.alter_column(
            "reporter_phone",
            existing_type=sa.VARCHAR(length=30),
            type_=sa.String(length=200),
            existing_nullable=True,
        )

    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.alter_column(
            "reporter_phone",
            existing_type=sa.VARCHAR(length=30),
            type_=sa.String(length=200),
            existing_nullable=True,
        )

    with op.batch_alter_table("incident_update", schema=None) as batch_op:
        batch_op.alter_column(
            "reporter_phone",
            existing_type=sa.VARCHAR(length=30),
            type_=sa.String(length=200),
            existing_nullable=True,
        )


def downgrade() -> None:
    """Back to '0001' (a restored backup is the way back with data)."""
    with op.batch_alter_table("incident_update", schema=None) as batch_op:
        batch_op.alter_column(
            "reporter_phone",
            existing_type=sa.String(length=200),
            type_=sa.VARCHAR(length=30),
            existing_nullable=True,
        )

    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.alter_column(
            "reporter_phone",
            existing_type=sa.String(length=200),
            type_=sa.VARCHAR(length=30),
            existing_nullable=True,
        )

    with op.batch_alter_table("field_report", schema=None) as batch_op:
        batch_op.alter_column(
            "reporter_phone",
            existing_type=sa.String(length=200),
            type_=sa.VARCHAR(length=30),
            existing_nullable=True,
        )

    steps.unkey_the_audit_chain()
