"""Database plumbing: engines for SQLite and PostgreSQL, a UTC timestamp column type,
and the outbox and processed-event tables every service keeps in its own database.

The outbox makes "change state and announce it" one transaction: the event row commits
with the state, and `shared.kafka.OutboxRelay` publishes it afterwards. The processed-event
table makes consumption idempotent: the id of a handled event commits with its effect, so
a redelivery finds it and does nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session

from shared.events import EventBase, serialize_event
from shared.topics import key_for, topic_for

T = TypeVar("T")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no zone and hands back naive values; PostgreSQL keeps timestamptz. A
    naive value on the way in is a bug, so it is refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store aware UTC datetimes only")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain `postgresql://` URLs."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.removeprefix("postgres://")
    return url


def create_db_engine(url: str) -> Engine:
    """An engine for SQLite (WAL, busy timeout, write-locking transactions) or PostgreSQL.

    On SQLite every transaction starts with BEGIN IMMEDIATE: a read-then-write transaction
    that starts deferred fails with SQLITE_BUSY when it upgrades, and taking the write
    lock up front is what makes stock reservations serialisable there.
    """
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        database = url.split("///", 1)[1] if "///" in url else ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, decide when transactions begin.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def ping(engine: Engine) -> None:
    """Raise if the database cannot answer a trivial query."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def is_transient_db_error(exc: BaseException) -> bool:
    """True for failures that a retry may cure: lost connections, locks, serialisation."""
    if isinstance(exc, OperationalError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code in {"40001", "40P01", "55P03", "57P01", "08006", "08003"}


def run_transaction(
    engine: Engine,
    work: Callable[[Session], T],
    *,
    attempts: int = 5,
    backoff_s: float = 0.05,
) -> T:
    """Run `work` in one transaction, retrying transient failures a bounded number of times."""
    for attempt in range(1, attempts + 1):
        try:
            with Session(engine, expire_on_commit=False) as session, session.begin():
                return work(session)
        except (OperationalError, DBAPIError) as exc:
            if attempt == attempts or not is_transient_db_error(exc):
                raise
            time.sleep(backoff_s * 2 ** (attempt - 1))
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commits on success, rolls back on any exception."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


@dataclass(frozen=True)
class OutboxRow:
    """An unpublished event, as the relay needs it."""

    sequence: int
    event_id: str
    topic: str
    key: bytes
    payload: bytes
    event_type: str


class Messaging:
    """The outbox and processed-event tables of one service's database."""

    def __init__(self, metadata: MetaData) -> None:
        # A process may build several runtimes on one service's metadata (tests do).
        if "outbox" in metadata.tables:
            self.outbox = metadata.tables["outbox"]
            self.processed = metadata.tables["processed_event"]
            return
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
        )
        self.processed = Table(
            "processed_event",
            metadata,
            Column("consumer", String(100), primary_key=True),
            Column("event_id", String(36), primary_key=True),
            Column("event_type", String(64), nullable=False),
            Column("processed_at", UTCDateTime, nullable=False),
        )

    def emit(self, session: Session, event: EventBase) -> None:
        """Queue `event` for publication in the caller's transaction."""
        session.execute(
            insert(self.outbox).values(
                event_id=str(event.event_id),
                event_type=type(event).model_fields["event_type"].default,
                topic=topic_for(event).name,
                message_key=key_for(event),
                payload=serialize_event(event),
                created_at=datetime.now(UTC),
                published_at=None,
            )
        )

    def already_processed(self, session: Session, consumer: str, event_id: UUID) -> bool:
        """Whether `consumer` has already applied this event."""
        found = session.execute(
            select(self.processed.c.event_id).where(
                self.processed.c.consumer == consumer,
                self.processed.c.event_id == str(event_id),
            )
        ).first()
        return found is not None

    def mark_processed(
        self, session: Session, consumer: str, event_id: UUID, event_type: str
    ) -> None:
        """Record the event as applied; the primary key refuses a second record."""
        session.execute(
            insert(self.processed).values(
                consumer=consumer,
                event_id=str(event_id),
                event_type=event_type,
                processed_at=datetime.now(UTC),
            )
        )

    def pending(self, session: Session, limit: int) -> list[OutboxRow]:
        """The oldest unpublished events, in the order they were written."""
        rows = session.execute(
            select(self.outbox)
            .where(self.outbox.c.published_at.is_(None))
            .order_by(self.outbox.c.sequence)
            .limit(limit)
        ).all()
        return [
            OutboxRow(
                sequence=row.sequence,
                event_id=row.event_id,
                topic=row.topic,
                key=row.message_key,
                payload=row.payload,
                event_type=row.event_type,
            )
            for row in rows
        ]

    def mark_published(self, session: Session, sequences: list[int]) -> None:
        """Record that these outbox rows reached the broker."""
        if sequences:
            session.execute(
                update(self.outbox)
                .where(self.outbox.c.sequence.in_(sequences))
                .values(published_at=datetime.now(UTC))
            )

    def unpublished_count(self, session: Session) -> int:
        """How many events wait for the relay (for /health and tests)."""
        rows = session.execute(
            select(self.outbox.c.sequence).where(self.outbox.c.published_at.is_(None))
        ).all()
        return len(rows)
