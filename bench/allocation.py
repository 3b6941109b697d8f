"""Benchmark: the cost of one FIFO allocation as the number of lots in the database grows.

For each size (default 1e2, 1e4, 1e6 lots), a fresh logistics database is filled with
lots of one item in one warehouse, the worst case for a picker: received over ten years,
a third with an expiry date, half of them already emptied by earlier dispatches (as a
real warehouse's history is). Then the same request (20 units for an incident next to
the warehouse) is allocated again and again through the real use case
(`allocate_for_incident`: one transaction with the item lock, the index walk, the guarded
reservations, the ledger entries, their `StockMoved` events and the `DispatchPlanned` in
the outbox), and each allocation is timed.

As a reference, the same run times the query the textbook picker needs: every usable lot
of the item, sorted (what the earlier implementation loaded and locked).

    python -m bench.allocation [--sizes 100 10000 1000000] [--repeat 200]
                               [--postgres-url postgresql://...]

SQLite always; PostgreSQL too when --postgres-url (or TEST_POSTGRES_URL) is given.
Prints figures; asserts nothing (figures belong here, not in tests).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import func, insert, select, text
from sqlmodel import Session

from services.logistics import allocation, catalogue
from services.logistics.migrations import HISTORY
from services.logistics.models.base import LogisticsTable
from services.logistics.models.catalogue import ItemIn, WarehouseIn
from services.logistics.settings import LogisticsSettings
from shared.auth import AuthSettings
from shared.clock import FixedClock
from shared.contracts.envelope import GeoPoint, NeedLine
from shared.contracts.intake import IncidentVerified
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings
from shared.unit_of_work import UnitOfWork

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TODAY = date(2026, 11, 23)
WAREHOUSE = GeoPoint(lat=-0.42, lon=116.98)
LOT = LogisticsTable.metadata.tables["lot"]
REQUEST = 20  # units per allocation: four lots of 5


def lot_rows(count: int, seed: int) -> Iterator[dict[str, object]]:
    """`count` lots of RICE-5KG in GDG-TGR: half emptied, a third with an expiry date."""
    rng = random.Random(seed)
    for _ in range(count):
        received = TODAY - timedelta(days=rng.randrange(1, 3650))
        expires = TODAY + timedelta(days=rng.randrange(30, 900)) if rng.random() < 0.33 else None
        emptied = rng.random() < 0.5
        yield {
            "id": uuid.uuid4(),
            "item_code": "RICE-5KG",
            "warehouse_code": "GDG-TGR",
            "received_on": received,
            "expires_on": expires,
            "source": "bench",
            "quantity_received": 5,
            "on_hand": 0 if emptied else 5,
            "reserved": 0,
            "condition": "good",
            "near_expiry_alerted": False,
            "recorded_at": NOW,
        }


def fill(runtime: ServiceRuntime, count: int) -> None:
    """Insert the lots in bulk (COPY on PostgreSQL), then refresh the planner statistics.

    Only lot rows: the ledger plays no part in allocation, so the bench skips it."""
    engine = runtime.engine
    if engine.dialect.name == "postgresql":
        columns = list(next(lot_rows(1, 0)).keys())
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            with cursor.copy(f"COPY lot ({', '.join(columns)}) FROM STDIN") as copy:
                for row in lot_rows(count, seed=count):
                    copy.write_row([row[c] for c in columns])
            raw.commit()
        finally:
            raw.close()
        with engine.begin() as connection:
            connection.execute(text("ANALYZE lot"))
        return
    batch: list[dict[str, object]] = []
    with engine.begin() as connection:
        for row in lot_rows(count, seed=count):
            batch.append(row)
            if len(batch) == 50_000:
                connection.execute(insert(LOT), batch)
                batch.clear()
        if batch:
            connection.execute(insert(LOT), batch)
        connection.execute(text("ANALYZE"))


def build(url: str) -> ServiceRuntime:
    """A logistics runtime on `url` with one warehouse and one item."""
    # The benchmark measures allocation, not sign-in: no key needed to run it.
    settings = LogisticsSettings(
        database_url=url,
        common=CommonSettings(environment="test"),
        auth=AuthSettings(required=False),
    )
    runtime = ServiceRuntime(
        name="logistics",
        settings=settings,
        metadata=LogisticsTable.metadata,
        migrations=HISTORY,
        clock=FixedClock(NOW),
    )
    runtime.create_tables()
    runtime.run(
        lambda uow: catalogue.register_warehouse(
            uow, WarehouseIn(code="GDG-TGR", name="Gudang", location=WAREHOUSE), "kukar"
        )
    )
    runtime.run(
        lambda uow: catalogue.register_item(uow, ItemIn(code="RICE-5KG", name="Beras", unit="sak"))
    )
    return runtime


def incident() -> IncidentVerified:
    """The same request every time: 20 sacks of rice next to the warehouse."""
    return IncidentVerified.first(
        office_id="kukar",
        case_id=uuid.uuid4(),
        producer="intake",
        occurred_at=NOW,
        reported_at=NOW - timedelta(hours=1),
        destination=GeoPoint(lat=-0.41, lon=116.99),
        verified_by="bench",
        assessed_needs=(NeedLine(item_code="RICE-5KG", quantity=REQUEST),),
    )


def time_allocations(runtime: ServiceRuntime, repeat: int) -> list[float]:
    """Seconds per allocation: its whole transaction up to the commit (every statement
    sent and flushed), then rolled back, so each run faces exactly the same lots."""
    settings = runtime.settings
    assert isinstance(settings, LogisticsSettings)
    timings = []
    for index in range(repeat + 5):
        event = incident()
        with Session(runtime.engine, expire_on_commit=False) as session:
            started = time.perf_counter()
            transaction = session.begin()
            uow = UnitOfWork(session=session, messaging=runtime.messaging, clock=runtime.clock)
            plan = allocation.allocate_for_incident(uow, event, settings)
            session.flush()
            elapsed = time.perf_counter() - started
            transaction.rollback()
        assert not plan.shortfalls and len(uow.emitted) == 5  # 4 StockMoved + DispatchPlanned
        if index >= 5:  # the first few warm caches and prepared statements
            timings.append(elapsed)
    return timings


def time_load_all(runtime: ServiceRuntime, repeat: int = 3) -> float:
    """Median seconds to read every usable lot of the item in FIFO order (the reference)."""
    timings = []
    query = (
        select(LOT.c.id, LOT.c.received_on, LOT.c.expires_on, LOT.c.on_hand, LOT.c.reserved)
        .where(LOT.c.item_code == "RICE-5KG", LOT.c.on_hand > LOT.c.reserved)
        .order_by(LOT.c.received_on, LOT.c.id)
    )
    for _ in range(repeat):
        started = time.perf_counter()
        with runtime.engine.connect() as connection:
            rows = connection.execute(query).all()
        timings.append(time.perf_counter() - started)
        assert rows
    return statistics.median(timings)


@contextmanager
def database(backend: str, workdir: Path, postgres_url: str | None) -> Iterator[str]:
    """A fresh database URL, dropped afterwards (PostgreSQL)."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:8]}.sqlite3'}"
        return
    assert postgres_url is not None
    name = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = postgres_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    """Run the benchmark and print one line per backend and size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_POSTGRES_URL"))
    args = parser.parse_args()
    backends = ["sqlite"] + (["postgresql"] if args.postgres_url else [])
    print(
        f"one allocation of {REQUEST} units (4 lots), {args.repeat} runs after 5 warm-up, "
        "each rolled back so every run meets the same lots"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            medians: dict[int, float] = {}
            for size in args.sizes:
                with database(backend, Path(tmp), args.postgres_url) as url:
                    runtime = build(url)
                    started = time.perf_counter()
                    fill(runtime, size)
                    filled = time.perf_counter() - started
                    timings = time_allocations(runtime, args.repeat)
                    load_all = time_load_all(runtime)
                    with runtime.engine.connect() as connection:
                        lots = connection.execute(select(func.count()).select_from(LOT)).scalar()
                    runtime.engine.dispose()
                ms = sorted(t * 1000 for t in timings)
                medians[size] = statistics.median(ms)
                print(
                    f"{backend:<10} lots={lots:>9,}  allocation p50={medians[size]:6.2f} ms  "
                    f"p90={ms[int(0.9 * len(ms)) - 1]:6.2f} ms  "
                    f"| load-all reference {load_all * 1000:9.1f} ms  (fill {filled:5.1f} s)"
                )
            smallest, largest = min(medians), max(medians)
            if smallest != largest:
                growth = medians[largest] / medians[smallest]
                bound = math.log(largest) / math.log(smallest)
                print(
                    f"{backend:<10} {largest:,} vs {smallest:,} lots: allocation x{growth:.2f}; "
                    f"log n grows x{bound:.2f}; linear would be x{largest / smallest:,.0f}"
                )


if __name__ == "__main__":
    main()
