"""FIFO with an expiry guard: lots leave oldest first, a lot near its expiry before them

A lot's place in the issue order was its expiry date (no expiry last, the `removal_key`
column), so an older lot without expiry waited behind every dated lot. Lots now leave
strictly oldest first, except those inside their item's near-expiry window on the day the
goods must last until, which go first by expiry (services.logistics.domain.issue_key).
Allocation walks two partial indexes for that; `removal_key` goes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 17:45:00
"""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here: a revision means the same thing whatever the application's code becomes.
ISSUABLE = "condition = 'good' AND on_hand > reserved"
NO_EXPIRY = date(9999, 12, 31)


def upgrade() -> None:
    """Bring the schema from '0003' to '0004'."""
    op.drop_index("ix_lot_issue_order", table_name="lot")
    with op.batch_alter_table("lot", schema=None) as batch_op:
        batch_op.drop_column("removal_key")
    op.create_index(
        "ix_lot_near_expiry",
        "lot",
        ["item_code", "warehouse_code", "expires_on", "received_on", "id"],
        unique=False,
        sqlite_where=sa.text(f"{ISSUABLE} AND expires_on IS NOT NULL"),
        postgresql_where=sa.text(f"{ISSUABLE} AND expires_on IS NOT NULL"),
    )
    _issue_order_index(["item_code", "warehouse_code", "received_on", "id"])


def downgrade() -> None:
    """Back to '0003' (a restored backup is the way back with data)."""
    op.drop_index("ix_lot_issue_order", table_name="lot")
    op.drop_index("ix_lot_near_expiry", table_name="lot")
    with op.batch_alter_table("lot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("removal_key", sa.Date(), nullable=True))
    op.execute(
        sa.text("UPDATE lot SET removal_key = COALESCE(expires_on, :never)").bindparams(
            never=NO_EXPIRY
        )
    )
    with op.batch_alter_table("lot", schema=None) as batch_op:
        batch_op.alter_column("removal_key", existing_type=sa.Date(), nullable=False)
    _issue_order_index(["item_code", "warehouse_code", "removal_key", "received_on", "id"])


def _issue_order_index(columns: list[str]) -> None:
    op.create_index(
        "ix_lot_issue_order",
        "lot",
        columns,
        unique=False,
        sqlite_where=sa.text(ISSUABLE),
        postgresql_where=sa.text(ISSUABLE),
    )
