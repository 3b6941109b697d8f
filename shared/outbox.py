"""The outbox and processed-event tables every service keeps in its own database.

The outbox makes "change state and announce it" one transaction: the event row commits
with the state, and `shared.kafka.OutboxRelay` publishes it afterwards. The processed-event
table makes consumption idempotent: the id of a handled event commits with its effect, so
a redelivery finds it and does nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from shared.broker_log import AcknowledgedPartition, AcknowledgedTopic
from shared.columns import UTCDateTime
from shared.contracts.envelope import EventBase
from shared.contracts.union import serialize_event
from shared.topics import key_for, topic_for


@dataclass(frozen=True)
class OutboxRow:
    """An unpublished event, as the relay needs it."""

    sequence: int
    event_id: str
    topic: str
    key: bytes
    payload: bytes
    event_type: str
    created_at: datetime
    republished: int = 0


@dataclass(frozen=True)
class Acknowledgement:
    """The broker took an outbox row at this partition and offset."""

    sequence: int
    partition: int
    offset: int


_CLUSTER_ID = "broker_cluster_id"


def _rowcount(result: object) -> int:
    """Rows an UPDATE or DELETE touched (a CursorResult's rowcount)."""
    return int(getattr(result, "rowcount", 0) or 0)


class Messaging:
    """The outbox and processed-event tables of one service's database, and the id of
    the broker cluster the outbox's recorded offsets belong to (`messaging_state`)."""

    def __init__(self, metadata: MetaData) -> None:
        # A process may build several runtimes on one service's metadata (tests do).
        if "outbox" in metadata.tables:
            self.outbox = metadata.tables["outbox"]
            self.processed = metadata.tables["processed_event"]
            self.state = metadata.tables["messaging_state"]
            self.parked = metadata.tables["parked_event"]
        else:
            self._define_tables(metadata)
        # Statements built once and executed with parameters: building `insert().values()`
        # anew costs ~0.2 ms of Python each time, more than SQLite takes to run it, and
        # every event consumed or emitted runs these.
        self._insert_outbox = insert(self.outbox)
        # RETURNING says whether the row went in (rowcount is -1 here with psycopg).
        self._claim = {
            "sqlite": sqlite_insert(self.processed)
            .on_conflict_do_nothing()
            .returning(self.processed.c.event_id),
            "postgresql": postgres_insert(self.processed)
            .on_conflict_do_nothing()
            .returning(self.processed.c.event_id),
        }
        self._find_processed = select(self.processed.c.event_id).where(
            self.processed.c.consumer == bindparam("consumer"),
            self.processed.c.event_id == bindparam("event_id"),
        )
        self._mark = (
            update(self.outbox)
            .where(self.outbox.c.sequence == bindparam("b_sequence"))
            .values(
                published_at=bindparam("b_at"),
                broker_partition=bindparam("b_partition"),
                broker_offset=bindparam("b_offset"),
            )
        )

    def _define_tables(self, metadata: MetaData) -> None:
        self.outbox = Table(
            "outbox",
            metadata,
            Column(
                "sequence",
                BigInteger().with_variant(Integer, "sqlite"),
                primary_key=True,
                autoincrement=True,
            ),
            Column("event_id", String(36), nullable=False, unique=True),
            Column("event_type", String(64), nullable=False),
            Column("topic", String(200), nullable=False),
            Column("message_key", LargeBinary, nullable=False),
            Column("payload", LargeBinary, nullable=False),
            Column("created_at", UTCDateTime, nullable=False),
            Column("published_at", UTCDateTime, nullable=True, index=True),
            # Where the broker acknowledged the row (NULL until it did): what the log
            # check compares with the broker, and what retention compares with the
            # consumer groups' committed offsets.
            Column("broker_partition", Integer, nullable=True),
            Column("broker_offset", BigInteger, nullable=True),
            # How many times the row was published again after a loss or by an operator.
            Column("republished", Integer, nullable=False, default=0, server_default="0"),
            Index("ix_outbox_broker_position", "topic", "broker_partition", "broker_offset"),
        )
        self.processed = Table(
            "processed_event",
            metadata,
            Column("consumer", String(100), primary_key=True),
            Column("event_id", String(36), primary_key=True),
            Column("event_type", String(64), nullable=False),
            Column("processed_at", UTCDateTime, nullable=False, index=True),
        )
        # Events a consumer could not apply yet (`shared.kafka.NotApplicableYet`), kept
        # out of the stream's way and tried again until their case's start arrives.
        self.parked = Table(
            "parked_event",
            metadata,
            Column("consumer", String(100), primary_key=True),
            Column("event_id", String(36), primary_key=True),
            Column("topic", String(200), nullable=False),
            Column("source_partition", Integer, nullable=False),
            Column("source_offset", BigInteger, nullable=False),
            Column("message_key", LargeBinary, nullable=True),
            Column("payload", LargeBinary, nullable=False),
            Column("parked_at", UTCDateTime, nullable=False, index=True),
        )
        self.state = Table(
            "messaging_state",
            metadata,
            Column("name", String(100), primary_key=True),
            Column("value", String(500), nullable=False),
            Column("updated_at", UTCDateTime, nullable=False),
        )

    def emit(self, session: Session, event: EventBase) -> None:
        """Queue `event` for publication in the caller's transaction."""
        session.execute(
            self._insert_outbox,
            {
                "event_id": str(event.event_id),
                "event_type": type(event).model_fields["event_type"].default,
                "topic": topic_for(event).name,
                "message_key": key_for(event),
                "payload": serialize_event(event),
                "created_at": datetime.now(UTC),
                "published_at": None,
            },
        )

    def claim(self, session: Session, consumer: str, event_id: UUID, event_type: str) -> bool:
        """Record the event as applied by `consumer` in the caller's transaction; False
        when it already was (nothing is written). One statement instead of a look-up and
        an insert; on PostgreSQL a concurrent claim of the same event waits for the first
        transaction and then finds it claimed."""
        statement = self._claim[session.get_bind().dialect.name]
        inserted = session.execute(
            statement,
            {
                "consumer": consumer,
                "event_id": str(event_id),
                "event_type": event_type,
                "processed_at": datetime.now(UTC),
            },
        ).first()
        return inserted is not None

    def already_processed(self, session: Session, consumer: str, event_id: UUID) -> bool:
        """Whether `consumer` has already applied this event."""
        found = session.execute(
            self._find_processed, {"consumer": consumer, "event_id": str(event_id)}
        ).first()
        return found is not None

    def pending(
        self, session: Session, limit: int, exclude: Collection[int] = ()
    ) -> list[OutboxRow]:
        """The oldest unpublished events, in the order they were written, but for the
        sequences in `exclude` (on the broker already, not marked yet)."""
        query = select(self.outbox).where(self.outbox.c.published_at.is_(None))
        if exclude:
            query = query.where(self.outbox.c.sequence.not_in(list(exclude)))
        rows = session.execute(query.order_by(self.outbox.c.sequence).limit(limit)).all()
        return [
            OutboxRow(
                sequence=row.sequence,
                event_id=row.event_id,
                topic=row.topic,
                key=row.message_key,
                payload=row.payload,
                event_type=row.event_type,
                created_at=row.created_at,
                republished=row.republished,
            )
            for row in rows
        ]

    def mark_published(self, session: Session, acknowledged: list[Acknowledgement]) -> None:
        """Record that these outbox rows reached the broker, and where it put them."""
        if acknowledged:
            now = datetime.now(UTC)
            session.execute(
                self._mark,
                [
                    {
                        "b_sequence": ack.sequence,
                        "b_at": now,
                        "b_partition": ack.partition,
                        "b_offset": ack.offset,
                    }
                    for ack in acknowledged
                ],
            )

    # --- the outbox as the log of record -------------------------------------------------

    def cluster_id(self, session: Session) -> str | None:
        """The broker cluster the recorded offsets belong to (None: never checked)."""
        value = session.execute(
            select(self.state.c.value).where(self.state.c.name == _CLUSTER_ID)
        ).scalar_one_or_none()
        return None if value is None else str(value)

    def set_cluster_id(self, session: Session, cluster_id: str) -> None:
        """Record the cluster the outbox publishes to from now on."""
        now = datetime.now(UTC)
        updated = session.execute(
            update(self.state)
            .where(self.state.c.name == _CLUSTER_ID)
            .values(value=cluster_id, updated_at=now)
        )
        if not _rowcount(updated):
            session.execute(
                insert(self.state).values(name=_CLUSTER_ID, value=cluster_id, updated_at=now)
            )

    def published_topics(self, session: Session) -> list[str]:
        """Every topic the outbox holds rows for."""
        return list(session.execute(select(self.outbox.c.topic).distinct()).scalars())

    def acknowledged(self, session: Session, topic: str) -> AcknowledgedTopic:
        """Per partition of `topic`, the end of what the broker acknowledged and the event
        it acknowledged last, with the cluster those offsets belong to."""
        outbox = self.outbox
        ends = (
            select(
                outbox.c.broker_partition.label("partition"),
                func.max(outbox.c.broker_offset).label("last"),
            )
            .where(outbox.c.topic == topic, outbox.c.broker_offset.is_not(None))
            .group_by(outbox.c.broker_partition)
            .subquery()
        )
        rows = session.execute(
            select(ends.c.partition, ends.c.last, outbox.c.event_id)
            .join(
                outbox,
                (outbox.c.topic == topic)
                & (outbox.c.broker_partition == ends.c.partition)
                & (outbox.c.broker_offset == ends.c.last),
            )
            .order_by(ends.c.partition)
        ).all()
        return AcknowledgedTopic(
            topic=topic,
            cluster_id=self.cluster_id(session),
            partitions=tuple(
                AcknowledgedPartition(int(row.partition), int(row.last) + 1, row.event_id)
                for row in rows
            ),
        )

    def reset_for_republish(
        self,
        session: Session,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        from_sequence: int | None = None,
        partition: int | None = None,
        from_offset: int | None = None,
    ) -> int:
        """Mark published rows unpublished again, so the relay sends them once more in
        their original order; returns how many. Narrowed by topic, by the time they were
        written, by outbox sequence, or by where the broker had put them."""
        outbox = self.outbox
        query = update(outbox).where(outbox.c.published_at.is_not(None))
        if topic is not None:
            query = query.where(outbox.c.topic == topic)
        if since is not None:
            query = query.where(outbox.c.created_at >= since)
        if from_sequence is not None:
            query = query.where(outbox.c.sequence >= from_sequence)
        if partition is not None:
            query = query.where(outbox.c.broker_partition == partition)
        if from_offset is not None:
            query = query.where(outbox.c.broker_offset >= from_offset)
        result = session.execute(
            query.values(
                published_at=None,
                broker_partition=None,
                broker_offset=None,
                republished=outbox.c.republished + 1,
            )
        )
        return _rowcount(result)

    def purge_consumed(
        self, session: Session, topic: str, partition: int, below_offset: int, before: datetime
    ) -> int:
        """Delete rows of a partition that every consumer group has committed past
        (`broker_offset < below_offset`) and that were written before `before`."""
        outbox = self.outbox
        result = session.execute(
            delete(outbox).where(
                outbox.c.topic == topic,
                outbox.c.broker_partition == partition,
                outbox.c.broker_offset < below_offset,
                outbox.c.created_at < before,
            )
        )
        return _rowcount(result)

    def purge_processed(self, session: Session, before: datetime) -> int:
        """Forget event ids applied before `before`."""
        result = session.execute(
            delete(self.processed).where(self.processed.c.processed_at < before)
        )
        return _rowcount(result)

    def park(
        self,
        session: Session,
        *,
        consumer: str,
        event_id: str,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        payload: bytes,
    ) -> None:
        """Keep an event `consumer` cannot apply yet (once: a second copy changes nothing)."""
        dialect = session.get_bind().dialect.name
        statement = (postgres_insert if dialect == "postgresql" else sqlite_insert)(self.parked)
        session.execute(
            statement.on_conflict_do_nothing(),
            {
                "consumer": consumer,
                "event_id": event_id,
                "topic": topic,
                "source_partition": partition,
                "source_offset": offset,
                "message_key": key,
                "payload": payload,
                "parked_at": datetime.now(UTC),
            },
        )

    def parked_events(self, session: Session, limit: int = 500) -> list[Any]:
        """Parked events, oldest first."""
        return list(
            session.execute(
                select(self.parked).order_by(self.parked.c.parked_at).limit(limit)
            ).all()
        )

    def unpark(self, session: Session, consumer: str, event_id: str) -> None:
        """Forget a parked event (applied, or given up on)."""
        session.execute(
            delete(self.parked).where(
                self.parked.c.consumer == consumer, self.parked.c.event_id == event_id
            )
        )

    def figures(self, session: Session) -> dict[str, Any]:
        """Rows kept, the oldest, how many wait and were republished, for /health."""
        outbox, processed = self.outbox, self.processed
        kept = session.execute(
            select(
                func.count(),
                func.min(outbox.c.created_at),
                func.count(outbox.c.published_at),
                func.coalesce(func.sum(outbox.c.republished), 0),
            ).select_from(outbox)
        ).one()
        remembered = session.execute(
            select(func.count(), func.min(processed.c.processed_at)).select_from(processed)
        ).one()
        oldest_row = UTCDateTime().process_result_value(kept[1], session.get_bind().dialect)
        oldest_id = UTCDateTime().process_result_value(remembered[1], session.get_bind().dialect)
        return {
            "outbox_rows": int(kept[0]),
            "outbox_pending": int(kept[0]) - int(kept[2]),
            "outbox_oldest": oldest_row.isoformat() if oldest_row else None,
            "outbox_republished_rows": int(kept[3]),
            "parked_rows": int(
                session.execute(select(func.count()).select_from(self.parked)).scalar_one()
            ),
            "processed_rows": int(remembered[0]),
            "processed_oldest": oldest_id.isoformat() if oldest_id else None,
        }

    def unpublished_count(self, session: Session) -> int:
        """How many events wait for the relay (for /health and tests)."""
        rows = session.execute(
            select(self.outbox.c.sequence).where(self.outbox.c.published_at.is_(None))
        ).all()
        return len(rows)
