"""notify's tables as they were when migrations began (until then `create_all` made
them; `shared.migrations` stamps such a database at this revision).

Revision ID: 0001
Revises:
Create Date: 2026-11-29 14:36:05.706876
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
        "alert",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column("correlation_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("level_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_office_id"), ["office_id"], unique=False)
    op.create_table(
        "case_clock",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column("service_code", sa.String(length=40), nullable=False),
        sa.Column("case_type", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("limit", sa.Float(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("target_seconds", sa.Float(), nullable=False),
        sa.Column("warn_at", sa.JSON(), nullable=False),
        sa.Column("warned_fractions", sa.JSON(), nullable=False),
        sa.Column("next_alert_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Enum("MET", "LATE", "CANCELLED", name="outcome"), nullable=True),
        sa.Column("response_seconds", sa.Float(), nullable=True),
        sa.Column(
            "hazard",
            sa.Enum(
                "FLOOD",
                "LANDSLIDE",
                "FIRE",
                "SETTLEMENT_FIRE",
                "EARTHQUAKE",
                "STORM",
                "TSUNAMI",
                "VOLCANIC_ERUPTION",
                "DROUGHT",
                "SOCIAL_CONFLICT",
                "OTHER",
                name="hazardtype",
            ),
            nullable=True,
        ),
        sa.Column("people_affected", sa.Integer(), nullable=True),
        sa.Column("district", sa.String(length=200), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("site_lat", sa.Float(), nullable=True),
        sa.Column("site_lon", sa.Float(), nullable=True),
        sa.Column("warehouse_code", sa.String(length=200), nullable=True),
        sa.Column("origin_lat", sa.Float(), nullable=True),
        sa.Column("origin_lon", sa.Float(), nullable=True),
        sa.Column("distance_km", sa.Float(), nullable=True),
        sa.Column("departed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("travel_speed_kmh", sa.Float(), nullable=False),
        sa.Column("predicted_arrival", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breach_predicted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stages", sa.JSON(), nullable=False),
        sa.Column("correlation_id", sa.Uuid(), nullable=False),
        sa.Column("last_event_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("case_id"),
    )
    with op.batch_alter_table("case_clock", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_clock_deadline"), ["deadline"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_case_clock_next_alert_at"), ["next_alert_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_case_clock_office_id"), ["office_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_case_clock_service_code"), ["service_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_case_clock_stopped_at"), ["stopped_at"], unique=False)
    op.create_table(
        "case_timeline",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("case_id", "event_id"),
    )
    op.create_table(
        "feed_entry",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("event_id"),
    )
    with op.batch_alter_table("feed_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feed_entry_office_id"), ["office_id"], unique=False)
    op.create_table(
        "subscription",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("office_id", sa.String(length=40), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=True),
        sa.Column("url", sa.String(length=2083), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subscription_active"), ["active"], unique=False)
        batch_op.create_index(batch_op.f("ix_subscription_office_id"), ["office_id"], unique=False)
    op.create_table(
        "notification_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("PENDING", "SENT", "FAILED", name="notificationstatus"),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscription.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subscription_id", "event_id"),
    )
    with op.batch_alter_table("notification_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_log_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_notification_log_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_notification_log_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_notification_log_subscription_id"), ["subscription_id"], unique=False
        )


def downgrade() -> None:
    """Back to None (a restored backup is the way back with data)."""
    with op.batch_alter_table("notification_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_log_subscription_id"))
        batch_op.drop_index(batch_op.f("ix_notification_log_status"))
        batch_op.drop_index(batch_op.f("ix_notification_log_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_notification_log_case_id"))
    op.drop_table("notification_log")
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscription_office_id"))
        batch_op.drop_index(batch_op.f("ix_subscription_active"))
    op.drop_table("subscription")
    with op.batch_alter_table("feed_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feed_entry_office_id"))
    op.drop_table("feed_entry")
    op.drop_table("case_timeline")
    with op.batch_alter_table("case_clock", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_clock_stopped_at"))
        batch_op.drop_index(batch_op.f("ix_case_clock_service_code"))
        batch_op.drop_index(batch_op.f("ix_case_clock_office_id"))
        batch_op.drop_index(batch_op.f("ix_case_clock_next_alert_at"))
        batch_op.drop_index(batch_op.f("ix_case_clock_deadline"))
    op.drop_table("case_clock")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_office_id"))
        batch_op.drop_index(batch_op.f("ix_alert_case_id"))
    op.drop_table("alert")
    # PostgreSQL keeps an enum's type after its tables are gone.
    for enum_name in ("hazardtype", "notificationstatus", "outcome"):
        sa.Enum(name=enum_name).drop(op.get_bind(), checkfirst=True)
    steps.drop_tables_every_service_keeps()
