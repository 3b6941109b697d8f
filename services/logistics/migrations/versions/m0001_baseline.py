"""logistics' tables as they were when migrations began (until then `create_all` made
them; `shared.migrations` stamps such a database at this revision).

Revision ID: 0001
Revises:
Create Date: 2026-11-29 14:36:05.138265
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.migrations import steps

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Bring the schema from None to '0001'."""
    steps.create_tables_every_service_keeps()
    op.create_table(
        "item",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("near_expiry_days", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "purchase_request",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("source_case_id", sa.Uuid(), nullable=True),
        sa.Column("correlation_id", sa.Uuid(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("needed_by", sa.Date(), nullable=True),
        sa.Column("status", sa.Enum("OPEN", "COMPLETED", name="requeststatus"), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pending_goods_request", sa.String(), nullable=True),
        sa.Column("pending_lines", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("purchase_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_purchase_request_source_case_id"), ["source_case_id"], unique=False
        )
    op.create_table(
        "shortage",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("item_code", sa.String(length=40), nullable=False),
        sa.Column("requested", sa.Integer(), nullable=False),
        sa.Column("allocated", sa.Integer(), nullable=False),
        sa.Column("missing", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("shortage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shortage_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_shortage_office_id"), ["office_id"], unique=False)
    op.create_table(
        "warehouse",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    with op.batch_alter_table("warehouse", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_warehouse_office_id"), ["office_id"], unique=False)
    op.create_table(
        "dispatch",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("case_type", sa.String(length=30), nullable=False),
        sa.Column("must_last_until", sa.Date(), nullable=True),
        sa.Column("picked_by", sa.String(length=200), nullable=True),
        sa.Column("picked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("correlation_id", sa.Uuid(), nullable=False),
        sa.Column("warehouse_code", sa.String(length=40), nullable=False),
        sa.Column(
            "status",
            sa.Enum("PLANNED", "RELEASED", "CANCELLED", name="dispatchstatus"),
            nullable=False,
        ),
        sa.Column("dest_lat", sa.Float(), nullable=False),
        sa.Column("dest_lon", sa.Float(), nullable=False),
        sa.Column("distance_km", sa.Float(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("planned_event_id", sa.Uuid(), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["warehouse_code"],
            ["warehouse.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dispatch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispatch_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispatch_status"), ["status"], unique=False)
    op.create_table(
        "lot",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("item_code", sa.String(length=40), nullable=False),
        sa.Column("warehouse_code", sa.String(length=40), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("quantity_received", sa.Integer(), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("removal_key", sa.Date(), nullable=False),
        sa.Column("condition", sa.String(length=20), nullable=False),
        sa.Column("quarantine_reason", sa.String(length=20), nullable=True),
        sa.Column("bin_location", sa.String(length=40), nullable=True),
        sa.Column("parent_lot_id", sa.Uuid(), nullable=True),
        sa.Column("near_expiry_alerted", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "condition = 'good' OR reserved = 0", name="lot_quarantine_never_reserved"
        ),
        sa.CheckConstraint("on_hand >= 0", name="lot_on_hand_not_negative"),
        sa.CheckConstraint("reserved <= on_hand", name="lot_reserved_within_on_hand"),
        sa.CheckConstraint("reserved >= 0", name="lot_reserved_not_negative"),
        sa.ForeignKeyConstraint(
            ["item_code"],
            ["item.code"],
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_code"],
            ["warehouse.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("lot", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lot_fifo", ["item_code", "warehouse_code", "received_on", "id"], unique=False
        )
        batch_op.create_index(
            "ix_lot_issue_order",
            ["item_code", "warehouse_code", "removal_key", "received_on", "id"],
            unique=False,
            sqlite_where=sa.text("condition = 'good' AND on_hand > reserved"),
            postgresql_where=sa.text("condition = 'good' AND on_hand > reserved"),
        )
    op.create_table(
        "minimum_level",
        sa.Column("item_code", sa.String(length=40), nullable=False),
        sa.Column("warehouse_code", sa.String(length=40), nullable=False),
        sa.Column("minimum", sa.Integer(), nullable=False),
        sa.Column("basis", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_code"],
            ["item.code"],
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_code"],
            ["warehouse.code"],
        ),
        sa.PrimaryKeyConstraint("item_code", "warehouse_code"),
    )
    op.create_table(
        "purchase_order",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("supplier", sa.String(length=200), nullable=False),
        sa.Column("warehouse_code", sa.String(length=40), nullable=False),
        sa.Column("expected_on", sa.Date(), nullable=False),
        sa.Column("status", sa.Enum("OPEN", "CLOSED", name="orderstatus"), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("placed_event_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["purchase_request.id"],
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_code"],
            ["warehouse.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    with op.batch_alter_table("purchase_order", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_purchase_order_request_id"), ["request_id"], unique=False
        )
    op.create_table(
        "stock_count",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("warehouse_code", sa.String(length=40), nullable=False),
        sa.Column("counted_on", sa.Date(), nullable=False),
        sa.Column("counted_by", sa.String(length=200), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["warehouse_code"],
            ["warehouse.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "transfer",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("from_warehouse", sa.String(length=40), nullable=False),
        sa.Column("to_warehouse", sa.String(length=40), nullable=False),
        sa.Column("item_code", sa.String(length=40), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("moved_by", sa.String(length=200), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_warehouse"],
            ["warehouse.code"],
        ),
        sa.ForeignKeyConstraint(
            ["to_warehouse"],
            ["warehouse.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "goods_receipt",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("received_by", sa.String(length=200), nullable=False),
        sa.Column("accepted", sa.JSON(), nullable=False),
        sa.Column("rejected", sa.JSON(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["purchase_order.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("goods_receipt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_goods_receipt_order_id"), ["order_id"], unique=False)
    op.create_table(
        "handover",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dispatch_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("handed_over_by", sa.String(length=200), nullable=False),
        sa.Column("received_by", sa.String(length=200), nullable=False),
        sa.Column("receiver_organisation", sa.String(length=200), nullable=False),
        sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispatch_id"],
            ["dispatch.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dispatch_id"),
    )
    op.create_table(
        "stock_movement",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("lot_id", sa.Uuid(), nullable=False),
        sa.Column("item_code", sa.String(length=40), nullable=False),
        sa.Column("warehouse_code", sa.String(length=40), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "RECEIPT",
                "RESERVATION",
                "RESERVATION_RELEASE",
                "ISSUE",
                "RETURN",
                "TRANSFER_OUT",
                "TRANSFER_IN",
                "ADJUSTMENT",
                "QUARANTINE",
                "REVERSAL",
                name="movementkind",
            ),
            nullable=False,
        ),
        sa.Column("on_hand_delta", sa.Integer(), nullable=False),
        sa.Column("reserved_delta", sa.Integer(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("dispatch_id", sa.Uuid(), nullable=True),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("reverses_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lot_id"],
            ["lot.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reverses_id", name="uq_movement_reversed_once"),
    )
    with op.batch_alter_table("stock_movement", schema=None) as batch_op:
        batch_op.create_index(
            "ix_movement_card", ["item_code", "warehouse_code", "effective_on"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_stock_movement_dispatch_id"), ["dispatch_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_stock_movement_lot_id"), ["lot_id"], unique=False)


def downgrade() -> None:
    """Back to None (a restored backup is the way back with data)."""
    with op.batch_alter_table("stock_movement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_movement_lot_id"))
        batch_op.drop_index(batch_op.f("ix_stock_movement_dispatch_id"))
        batch_op.drop_index("ix_movement_card")
    op.drop_table("stock_movement")
    op.drop_table("handover")
    with op.batch_alter_table("goods_receipt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_goods_receipt_order_id"))
    op.drop_table("goods_receipt")
    op.drop_table("transfer")
    op.drop_table("stock_count")
    with op.batch_alter_table("purchase_order", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchase_order_request_id"))
    op.drop_table("purchase_order")
    op.drop_table("minimum_level")
    with op.batch_alter_table("lot", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_lot_issue_order",
            sqlite_where=sa.text("condition = 'good' AND on_hand > reserved"),
            postgresql_where=sa.text("condition = 'good' AND on_hand > reserved"),
        )
        batch_op.drop_index("ix_lot_fifo")
    op.drop_table("lot")
    with op.batch_alter_table("dispatch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispatch_status"))
        batch_op.drop_index(batch_op.f("ix_dispatch_case_id"))
    op.drop_table("dispatch")
    with op.batch_alter_table("warehouse", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warehouse_office_id"))
    op.drop_table("warehouse")
    with op.batch_alter_table("shortage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shortage_office_id"))
        batch_op.drop_index(batch_op.f("ix_shortage_case_id"))
    op.drop_table("shortage")
    with op.batch_alter_table("purchase_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchase_request_source_case_id"))
    op.drop_table("purchase_request")
    op.drop_table("item")
    # PostgreSQL keeps an enum's type after its tables are gone.
    for enum_name in ("dispatchstatus", "movementkind", "orderstatus", "requeststatus"):
        sa.Enum(name=enum_name).drop(op.get_bind(), checkfirst=True)
    steps.drop_tables_every_service_keeps()
