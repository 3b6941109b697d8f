"""Datfrom shared.contracts.envelope import EventBase
from shared.contracts.union import serialize_event
abase plumbing: engines for SQLite and PostgreSQL and the transactions every use
case runs in. Column types are in `shared.columns`, the outbox and processed-event tables
in `shared.outbox`.

On SQLite a database has one writer at a time. Writers of one process take turns through
`WriterQueue` (woken in order when the previous one commits) rather than through
SQLite's busy handler, which sleeps and polls (1, 2, 5, 10 ... 100 ms) and under a burst
left the lock idle while dozens of threads slept; read-only work (`read_transaction`)
takes no turn at all, as WAL readers never block the writer.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Engine,
    create_engine,
    event,
    text,
)
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session

T = TypeVar("T")

# How long a writer waits for its turn before giving up like SQLite's busy timeout would
# (OperationalError: transient, so retried, or 503 for a request).
WRITER_TURN_TIMEOUT_S = 30.0
_READ_ONLY = "dinsos_read_only"


class WriterQueue:
    """Write transactions of one SQLite database, one at a time, in arrival order, each
    woken by the one before it. `urgent` waiters (the outbox relay marking what reached
    the broker: short, and what lets the pipeline move) go to the front of the line.
    Re-entrant for the thread holding it (a nested transaction then meets SQLite's own
    lock, as before)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._owner: int | None = None
        self._depth = 0
        self._waiting: deque[tuple[int, threading.Lock]] = deque()

    def acquire(self, *, urgent: bool = False, timeout_s: float = WRITER_TURN_TIMEOUT_S) -> None:
        """Wait for this thread's turn; OperationalError after `timeout_s`."""
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                self._depth += 1
                return
            if self._owner is None:
                self._owner, self._depth = me, 1
                return
            gate = threading.Lock()
            gate.acquire()
            ticket = (me, gate)
            if urgent:
                self._waiting.appendleft(ticket)
            else:
                self._waiting.append(ticket)
        if gate.acquire(timeout=timeout_s):
            return  # the previous owner handed the turn over to us
        with self._mutex:
            if self._owner == me:  # handed over just as the wait ran out
                return
            self._waiting.remove(ticket)
        raise OperationalError(
            "waiting for this database's write turn", None, TimeoutError(f"{timeout_s}s")
        )

    def release(self) -> None:
        """End this thread's turn and hand it to the next waiter."""
        with self._mutex:
            self._depth -= 1
            if self._depth:
                return
            if self._waiting:
                self._owner, gate = self._waiting.popleft()
                self._depth = 1
                gate.release()
            else:
                self._owner = None

    @contextmanager
    def turn(self, *, urgent: bool = False) -> Iterator[None]:
        """Hold the turn for the block."""
        self.acquire(urgent=urgent)
        try:
            yield
        finally:
            self.release()


_writer_queues: weakref.WeakKeyDictionary[Engine, WriterQueue] = weakref.WeakKeyDictionary()


@contextmanager
def _writer_turn(engine: Engine, *, urgent: bool = False) -> Iterator[None]:
    queue = _writer_queues.get(engine)
    if queue is None:  # PostgreSQL: row locks, many writers at once
        yield
        return
    with queue.turn(urgent=urgent):
        yield


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
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
        )

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
            if connection.get_execution_options().get(_READ_ONLY):
                # A read-only snapshot: WAL lets it run beside the writer.
                connection.exec_driver_sql("BEGIN")
            else:
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        _writer_queues[engine] = WriterQueue()
        return engine
    # hide_parameters: a statement's values (NIK, phone numbers) never reach an error
    # message or a log line; the statement itself still does.
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=10, hide_parameters=True
    )


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
    urgent: bool = False,
) -> T:
    """Run `work` in one transaction, retrying transient failures a bounded number of times.

    On SQLite the transaction waits for its writer turn first (`urgent`: at the front)."""
    for attempt in range(1, attempts + 1):
        try:
            with (
                _writer_turn(engine, urgent=urgent),
                Session(engine, expire_on_commit=False) as session,
                session.begin(),
            ):
                return work(session)
        except (OperationalError, DBAPIError) as exc:
            if attempt == attempts or not is_transient_db_error(exc):
                raise
            time.sleep(backoff_s * 2 ** (attempt - 1))
    raise AssertionError("unreachable")  # pragma: no cover


def read_transaction(engine: Engine, work: Callable[[Session], T]) -> T:
    """Run read-only `work` in one snapshot. On SQLite it takes no writer turn and no write
    lock (WAL readers run beside the writer); `work` must not write."""
    with (
        Session(engine.execution_options(**{_READ_ONLY: True}), expire_on_commit=False) as session,
        session.begin(),
    ):
        return work(session)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commits on success, rolls back on any exception."""
    with _writer_turn(engine), Session(engine, expire_on_commit=False) as session, session.begin():
        yield session
