"""Revision steps for the tables every service keeps (the outbox and inbox of
shared.outbox, the audit chain of shared.audit): each service's revision calls the step, so
the four histories apply one and the same change.

A step is frozen once released, like a revision: a later change to these tables is a
new step, called from new revisions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def create_tables_every_service_keeps() -> None:
    """Revision 0001: the outbox and inbox (shared.outbox) and the audit chain (shared.audit),
    as they were when migrations began."""
    op.create_table(
        "audit_entry",
        sa.Column("sequence", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("office_id", sa.String(length=40), nullable=True),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("entity", sa.String(length=100), nullable=False),
        sa.Column("entity_id", sa.String(length=100), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("previous_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("sequence"),
        sa.UniqueConstraint("hash"),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entry_entity_id"), ["entity_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entry_office_id"), ["office_id"], unique=False)
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "outbox",
        sa.Column(
            "sequence",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("message_key", sa.LargeBinary(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("sequence"),
        sa.UniqueConstraint("event_id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_published_at"), ["published_at"], unique=False)
    op.create_table(
        "processed_event",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
    )


def drop_tables_every_service_keeps() -> None:
    """Back from revision 0001."""
    op.drop_table("processed_event")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_published_at"))
    op.drop_table("outbox")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entry_office_id"))
        batch_op.drop_index(batch_op.f("ix_audit_entry_entity_id"))
    op.drop_table("audit_entry")


def key_the_audit_chain() -> None:
    """Revision 0002: each entry says how it was hashed (NULL: plain SHA-256, from before
    the chain was keyed) and under which key; the head carries its seal."""
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scheme", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("key_id", sa.String(length=16), nullable=True))

    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tag", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("key_id", sa.String(length=16), nullable=True))


def unkey_the_audit_chain() -> None:
    """Back from revision 0002."""
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.drop_column("key_id")
        batch_op.drop_column("tag")

    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_column("key_id")
        batch_op.drop_column("scheme")


def record_broker_acknowledgements() -> None:
    """Revision 0003: where the broker put each outbox row, the messaging state (cluster
    id, checks), events parked until their case's start arrives, and the indexes the
    retention reads by."""
    op.create_table(
        "messaging_state",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "parked_event",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("source_partition", sa.Integer(), nullable=False),
        sa.Column("source_offset", sa.BigInteger(), nullable=False),
        sa.Column("message_key", sa.LargeBinary(), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("parked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
    )
    with op.batch_alter_table("parked_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_parked_event_parked_at"), ["parked_at"], unique=False)

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("broker_partition", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("broker_offset", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("republished", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_index(
            "ix_outbox_broker_position",
            ["topic", "broker_partition", "broker_offset"],
            unique=False,
        )

    with op.batch_alter_table("processed_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_processed_event_processed_at"), ["processed_at"], unique=False
        )


def forget_broker_acknowledgements() -> None:
    """Back from revision 0003."""
    with op.batch_alter_table("processed_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processed_event_processed_at"))

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_broker_position")
        batch_op.drop_column("republished")
        batch_op.drop_column("broker_offset")
        batch_op.drop_column("broker_partition")

    with op.batch_alter_table("parked_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_parked_event_parked_at"))

    op.drop_table("parked_event")
    op.drop_table("messaging_state")
