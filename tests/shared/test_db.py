"""SQLite plumbing: writers take turns in order (the relay first), a writer that waits
too long fails like a busy database would, read-only snapshots never wait, and an event
is claimed once."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import MetaData, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from shared.db import WriterQueue, create_db_engine, read_transaction, run_transaction
from shared.outbox import Messaging


def _start_waiter(queue: WriterQueue, order: list[str], name: str, *, urgent: bool) -> None:
    def wait_turn() -> None:
        with queue.turn(urgent=urgent):
            order.append(name)

    threading.Thread(target=wait_turn, daemon=True).start()
    time.sleep(0.05)  # queued before the next one


def test_writers_take_turns_in_order_with_urgent_ones_first() -> None:
    queue = WriterQueue()
    order: list[str] = []
    queue.acquire()
    for name, urgent in (("first", False), ("second", False), ("relay", True)):
        _start_waiter(queue, order, name, urgent=urgent)
    assert order == []  # all waiting for the holder
    queue.release()
    deadline = time.monotonic() + 5
    while len(order) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert order == ["relay", "first", "second"]


def test_the_turn_is_reentrant_and_a_long_wait_fails_as_transient() -> None:
    queue = WriterQueue()
    with queue.turn(), queue.turn():  # the same thread again: no deadlock
        failures: list[BaseException] = []

        def impatient() -> None:
            try:
                queue.acquire(timeout_s=0.1)
            except OperationalError as exc:
                failures.append(exc)

        waiter = threading.Thread(target=impatient)
        waiter.start()
        waiter.join(5)
        assert len(failures) == 1
    queue.acquire(timeout_s=0.1)  # the turn was handed on cleanly: free again
    queue.release()


def test_a_read_only_snapshot_does_not_wait_for_the_writer(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    run_transaction(engine, lambda s: s.execute(text("CREATE TABLE t (x INTEGER)")))
    run_transaction(engine, lambda s: s.execute(text("INSERT INTO t VALUES (1)")))
    holding, release = threading.Event(), threading.Event()

    def long_writer() -> None:
        def work(session: Session) -> None:
            session.execute(text("INSERT INTO t VALUES (2)"))
            holding.set()
            release.wait(5)

        run_transaction(engine, work)

    writer = threading.Thread(target=long_writer)
    writer.start()
    assert holding.wait(5)
    started = time.monotonic()
    seen = read_transaction(engine, lambda s: s.execute(text("SELECT COUNT(*) FROM t")).scalar())
    assert seen == 1 and time.monotonic() - started < 1  # the committed snapshot, at once
    release.set()
    writer.join(5)
    assert read_transaction(engine, lambda s: s.execute(text("SELECT COUNT(*) FROM t")).scalar())


def test_an_event_is_claimed_once_per_consumer(tmp_path: Path) -> None:
    """(On PostgreSQL: tests/shared/test_runtime_on_broker.py applies events once.)"""
    metadata = MetaData()
    messaging = Messaging(metadata)
    engine = create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    metadata.create_all(engine)
    event_id = uuid.uuid4()

    def claim(consumer: str) -> bool:
        return run_transaction(
            engine, lambda s: messaging.claim(s, consumer, event_id, "IncidentVerified")
        )

    assert claim("logistics:incidents") is True
    assert claim("logistics:incidents") is False
    assert claim("notify:incidents") is True
    assert run_transaction(
        engine, lambda s: messaging.already_processed(s, "logistics:incidents", event_id)
    )
