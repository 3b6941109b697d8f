"""intake's tables as they were when migrations began (until then `create_all` made
them; `shared.migrations` stamps such a database at this revision).

Revision ID: 0001
Revises:
Create Date: 2026-11-29 14:36:04.505082
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
        "field_report",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column("client_report_id", sa.String(length=80), nullable=True),
        sa.Column("linked", sa.Boolean(), nullable=False),
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
            nullable=False,
        ),
        sa.Column("happened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reporter_name", sa.String(length=200), nullable=False),
        sa.Column(
            "reporter_role",
            sa.Enum("TAGANA", "RT", "LURAH", "KEPALA_DESA", "CAMAT", "PUBLIC", name="reporterrole"),
            nullable=False,
        ),
        sa.Column("reporter_phone", sa.String(length=30), nullable=True),
        sa.Column("reporter_nik_hash", sa.String(length=64), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("region_code", sa.String(length=20), nullable=True),
        sa.Column("address", sa.JSON(), nullable=True),
        sa.Column("households_affected", sa.Integer(), nullable=False),
        sa.Column("people_affected", sa.Integer(), nullable=False),
        sa.Column("stated_needs", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("minutes_apart", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("office_id", "client_report_id"),
    )
    with op.batch_alter_table("field_report", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_field_report_incident_id"), ["incident_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_field_report_office_id"), ["office_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_field_report_region_code"), ["region_code"], unique=False
        )
    op.create_table(
        "incident",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("office_id", sa.String(length=40), nullable=False),
        sa.Column("client_report_id", sa.String(length=80), nullable=True),
        sa.Column(
            "status",
            sa.Enum("REPORTED", "VERIFIED", "REJECTED", name="incidentstatus"),
            nullable=False,
        ),
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
            nullable=False,
        ),
        sa.Column("happened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reporter_name", sa.String(length=200), nullable=False),
        sa.Column(
            "reporter_role",
            sa.Enum("TAGANA", "RT", "LURAH", "KEPALA_DESA", "CAMAT", "PUBLIC", name="reporterrole"),
            nullable=False,
        ),
        sa.Column("reporter_phone", sa.String(length=30), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column(
            "location_source",
            sa.Enum("GPS", "GEOCODED", "COORDINATOR", "UNRESOLVED", name="locationsource"),
            nullable=False,
        ),
        sa.Column("address", sa.JSON(), nullable=True),
        sa.Column("households_affected", sa.Integer(), nullable=False),
        sa.Column("people_affected", sa.Integer(), nullable=False),
        sa.Column("stated_needs", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("assessed_needs", sa.JSON(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejection_reason", sa.String(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("office_id", "client_report_id"),
    )
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_office_id"), ["office_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_incident_reported_at"), ["reported_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_incident_status"), ["status"], unique=False)
    op.create_table(
        "incident_photo",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("extension", sa.String(length=8), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "sha256"),
    )
    with op.batch_alter_table("incident_photo", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_photo_incident_id"), ["incident_id"], unique=False
        )
    op.create_table(
        "incident_update",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("client_update_id", sa.String(length=80), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reporter_name", sa.String(length=200), nullable=False),
        sa.Column(
            "reporter_role",
            sa.Enum("TAGANA", "RT", "LURAH", "KEPALA_DESA", "CAMAT", "PUBLIC", name="reporterrole"),
            nullable=False,
        ),
        sa.Column("reporter_phone", sa.String(length=30), nullable=True),
        sa.Column("reporter_nik_hash", sa.String(length=64), nullable=True),
        sa.Column("households_affected", sa.Integer(), nullable=True),
        sa.Column("people_affected", sa.Integer(), nullable=True),
        sa.Column("added_needs", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "client_update_id"),
    )
    with op.batch_alter_table("incident_update", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_update_incident_id"), ["incident_id"], unique=False
        )


def downgrade() -> None:
    """Back to None (a restored backup is the way back with data)."""
    with op.batch_alter_table("incident_update", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_update_incident_id"))
    op.drop_table("incident_update")
    with op.batch_alter_table("incident_photo", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_photo_incident_id"))
    op.drop_table("incident_photo")
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_status"))
        batch_op.drop_index(batch_op.f("ix_incident_reported_at"))
        batch_op.drop_index(batch_op.f("ix_incident_office_id"))
    op.drop_table("incident")
    with op.batch_alter_table("field_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_field_report_region_code"))
        batch_op.drop_index(batch_op.f("ix_field_report_office_id"))
        batch_op.drop_index(batch_op.f("ix_field_report_incident_id"))
    op.drop_table("field_report")
    # PostgreSQL keeps an enum's type after its tables are gone.
    for enum_name in ("hazardtype", "incidentstatus", "locationsource", "reporterrole"):
        sa.Enum(name=enum_name).drop(op.get_bind(), checkfirst=True)
    steps.drop_tables_every_service_keeps()
