"""distribution's tables as they were when migrations began (until then `create_all` made
them; `shared.migrations` stamps such a database at this revision).

Revision ID: 0001
Revises:
Create Date: 2026-11-29 14:36:05.426044
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
        "delivery",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("INCIDENT", "PERMAKANAN", "SANDANG", name="deliverykind"),
            nullable=False,
        ),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column(
            "case_type",
            sa.Enum(
                "INCIDENT",
                "PERMAKANAN_ROUND",
                "SANDANG_REQUEST",
                "PROCUREMENT",
                "STOCK",
                name="casetype",
            ),
            nullable=False,
        ),
        sa.Column("correlation_id", sa.Uuid(), nullable=False),
        sa.Column("dispatch_id", sa.Uuid(), nullable=True),
        sa.Column("warehouse_code", sa.String(length=200), nullable=True),
        sa.Column("origin_lat", sa.Float(), nullable=True),
        sa.Column("origin_lon", sa.Float(), nullable=True),
        sa.Column("destination_lat", sa.Float(), nullable=False),
        sa.Column("destination_lon", sa.Float(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("lots", sa.JSON(), nullable=True),
        sa.Column("recipient_id", sa.Uuid(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("previous_attempt_id", sa.Uuid(), nullable=True),
        sa.Column("goods_ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("run_position", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "CREATED",
                "ASSIGNED",
                "IN_TRANSIT",
                "ARRIVED",
                "DELIVERED",
                "FAILED",
                name="deliverystatus",
            ),
            nullable=False,
        ),
        sa.Column("team", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("departed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("arrival_lat", sa.Float(), nullable=True),
        sa.Column("arrival_lon", sa.Float(), nullable=True),
        sa.Column("arrival_distance_m", sa.Float(), nullable=True),
        sa.Column("received_by", sa.String(length=200), nullable=True),
        sa.Column("received_relation", sa.String(length=200), nullable=True),
        sa.Column("proof_lat", sa.Float(), nullable=True),
        sa.Column("proof_lon", sa.Float(), nullable=True),
        sa.Column("proof_distance_m", sa.Float(), nullable=True),
        sa.Column("far_from_address", sa.Boolean(), nullable=False),
        sa.Column("has_signature", sa.Boolean(), nullable=False),
        sa.Column("has_photo", sa.Boolean(), nullable=False),
        sa.Column("failure_reason", sa.String(length=2000), nullable=True),
        sa.Column(
            "failure_code",
            sa.Enum(
                "NOT_AT_HOME",
                "MOVED",
                "IN_HOSPITAL",
                "DECEASED",
                "REFUSED",
                "ADDRESS_NOT_FOUND",
                name="failurereason",
            ),
            nullable=True,
        ),
        sa.Column(
            "resolution", sa.Enum("REATTEMPTED", "RETURNED", name="resolution"), nullable=True
        ),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_event_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dispatch_id"),
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_office_id"), ["office_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_delivery_recipient_id"), ["recipient_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_delivery_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_status"), ["status"], unique=False)
    op.create_table(
        "delivery_run",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column("team", sa.String(length=200), nullable=False),
        sa.Column("vehicle", sa.String(length=200), nullable=False),
        sa.Column("run_date", sa.Date(), nullable=False),
        sa.Column("start_lat", sa.Float(), nullable=False),
        sa.Column("start_lon", sa.Float(), nullable=False),
        sa.Column(
            "status", sa.Enum("PLANNED", "UNDERWAY", "FINISHED", name="runstatus"), nullable=False
        ),
        sa.Column("stops", sa.JSON(), nullable=False),
        sa.Column("legs_km", sa.JSON(), nullable=False),
        sa.Column("total_km", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("departed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("delivery_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_run_office_id"), ["office_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_run_run_date"), ["run_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_run_team"), ["team"], unique=False)
    op.create_table(
        "handover",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("received_by", sa.String(length=200), nullable=False),
        sa.Column("relation", sa.String(length=200), nullable=False),
        sa.Column("handed_over_by", sa.String(length=200), nullable=True),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("delivery_id"),
        sa.UniqueConstraint("number"),
        sa.UniqueConstraint("request_id"),
    )
    op.create_table(
        "permakanan_enrolment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("CANDIDATE", "ACTIVE", "ENDED", name="enrolmentstatus"),
            nullable=False,
        ),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=2000), nullable=True),
        sa.Column("replaced_by", sa.Uuid(), nullable=True),
        sa.Column("replaces", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("program_id", "recipient_id"),
    )
    with op.batch_alter_table("permakanan_enrolment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_permakanan_enrolment_program_id"), ["program_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_permakanan_enrolment_recipient_id"), ["recipient_id"], unique=False
        )
    op.create_table(
        "permakanan_program",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("parcel", sa.JSON(), nullable=False),
        sa.Column("hub_lat", sa.Float(), nullable=False),
        sa.Column("hub_lon", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("permakanan_program", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_permakanan_program_office_id"), ["office_id"], unique=False
        )
    op.create_table(
        "permakanan_round",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("PLANNED", "OPEN", "GOODS_RELEASED", "COMPLETED", name="roundstatus"),
            nullable=False,
        ),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.Column("returned", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("goods_released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dispatch_ids", sa.JSON(), nullable=False),
        sa.Column("last_event_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("program_id", "number"),
    )
    with op.batch_alter_table("permakanan_round", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_permakanan_round_program_id"), ["program_id"], unique=False
        )
    op.create_table(
        "proof_image",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("delivery_id", "purpose"),
    )
    with op.batch_alter_table("proof_image", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_proof_image_delivery_id"), ["delivery_id"], unique=False
        )
    op.create_table(
        "recipient",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.Enum("PERSON", "INSTITUTION", name="recipientkind"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("institution_type", sa.String(length=100), nullable=True),
        sa.Column("contact_person", sa.String(length=200), nullable=True),
        sa.Column("nik_token", sa.String(length=500), nullable=True),
        sa.Column("nik_hash", sa.String(length=64), nullable=True),
        sa.Column("kk_token", sa.String(length=500), nullable=True),
        sa.Column("phone_token", sa.String(length=500), nullable=True),
        sa.Column("street", sa.String(length=2000), nullable=True),
        sa.Column("village", sa.String(length=200), nullable=False),
        sa.Column("village_code", sa.String(length=20), nullable=False),
        sa.Column("district", sa.String(length=200), nullable=False),
        sa.Column("regency", sa.String(length=200), nullable=False),
        sa.Column("province", sa.String(length=200), nullable=False),
        sa.Column("postal_code", sa.String(length=5), nullable=True),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("review_reason", sa.String(length=40), nullable=True),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("nik_hash"),
    )
    with op.batch_alter_table("recipient", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recipient_office_id"), ["office_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_recipient_village_code"), ["village_code"], unique=False
        )
    op.create_table(
        "sandang_request",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("needed_by", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("REQUESTED", "GOODS_RELEASED", "HANDED_OVER", name="sandangstatus"),
            nullable=False,
        ),
        sa.Column("delivery_id", sa.Uuid(), nullable=True),
        sa.Column("handover_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_event_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sandang_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sandang_request_institution_id"), ["institution_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sandang_request_office_id"), ["office_id"], unique=False
        )


def downgrade() -> None:
    """Back to None (a restored backup is the way back with data)."""
    with op.batch_alter_table("sandang_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sandang_request_office_id"))
        batch_op.drop_index(batch_op.f("ix_sandang_request_institution_id"))
    op.drop_table("sandang_request")
    with op.batch_alter_table("recipient", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recipient_village_code"))
        batch_op.drop_index(batch_op.f("ix_recipient_office_id"))
    op.drop_table("recipient")
    with op.batch_alter_table("proof_image", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proof_image_delivery_id"))
    op.drop_table("proof_image")
    with op.batch_alter_table("permakanan_round", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_permakanan_round_program_id"))
    op.drop_table("permakanan_round")
    with op.batch_alter_table("permakanan_program", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_permakanan_program_office_id"))
    op.drop_table("permakanan_program")
    with op.batch_alter_table("permakanan_enrolment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_permakanan_enrolment_recipient_id"))
        batch_op.drop_index(batch_op.f("ix_permakanan_enrolment_program_id"))
    op.drop_table("permakanan_enrolment")
    op.drop_table("handover")
    with op.batch_alter_table("delivery_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_run_team"))
        batch_op.drop_index(batch_op.f("ix_delivery_run_run_date"))
        batch_op.drop_index(batch_op.f("ix_delivery_run_office_id"))
    op.drop_table("delivery_run")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_status"))
        batch_op.drop_index(batch_op.f("ix_delivery_run_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_recipient_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_office_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_kind"))
        batch_op.drop_index(batch_op.f("ix_delivery_created_at"))
        batch_op.drop_index(batch_op.f("ix_delivery_case_id"))
    op.drop_table("delivery")
    # PostgreSQL keeps an enum's type after its tables are gone.
    for enum_name in (
        "casetype",
        "deliverykind",
        "deliverystatus",
        "enrolmentstatus",
        "failurereason",
        "recipientkind",
        "resolution",
        "roundstatus",
        "runstatus",
        "sandangstatus",
    ):
        sa.Enum(name=enum_name).drop(op.get_bind(), checkfirst=True)
    steps.drop_tables_every_service_keeps()
