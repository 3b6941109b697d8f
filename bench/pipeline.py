"""Benchmark: time from a field report to a planned dispatch, through the real stack.

Starts Tansu and the four services as processes (SQLite, as in the local run), loads
stock, then:
  1. sequential: one incident at a time, report -> verify -> DispatchPlanned observed on
     the dispatches topic; latency of the automated hop (verify -> planned) and of the
     whole path (report sent -> planned);
  2. burst: N incidents reported and verified by concurrent clients; time until every
     DispatchPlanned is on the topic (incidents per second).
Then it breaks both down per hop (`hop_breakdown`): from timestamps the path leaves
anyway (the client's clock, the outbox rows' `created_at`, the record timestamps the
relays' producers set, logistics' `processed_event.processed_at`, written when its
transaction starts, and when the watcher reads the DispatchPlanned), plus each service's
own running totals from /health (time waiting for an event, handling it, relaying).
Last, the CPU time (user + system, from /proc/<pid>/stat) each service process used in
the burst, per incident, less an idle baseline: the CPU the same processes use over the
same wall time with no incidents (relay polling, timers, consumer heartbeats).
Prints the figures; asserts nothing about time (figures belong here, not in tests).

    python -m bench.pipeline [--sequential 50] [--burst 100]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import httpx
from aiokafka import AIOKafkaConsumer
from fastapi.testclient import TestClient

from shared.clock import office_today
from shared.stack import SERVICES, Stack
from shared.tansu import broker_version
from shared.topics import DISPATCHES, INCIDENTS

# Wall-clock instants (database rows, record timestamps) minus this are on the
# perf_counter scale the client measures with.
WALL_MINUS_PERF = time.time() - time.perf_counter()

_sites = itertools.count()


def distinct_site() -> dict[str, float]:
    """A new point ~2 km from any other, so intake does not link reports as duplicates."""
    n = next(_sites)
    return {"lat": round(-0.30 - 0.02 * (n % 40), 4), "lon": round(116.50 + 0.02 * (n // 40), 4)}


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def describe(label: str, seconds: list[float]) -> str:
    """p50/p90/p99/max in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return (
        f"{label:<40} n={len(ms):<4} p50={statistics.median(ms):7.1f} ms  "
        f"p90={percentile(ms, 0.9):7.1f} ms  p99={percentile(ms, 0.99):7.1f} ms  "
        f"max={max(ms):7.1f} ms"
    )


class Trip(NamedTuple):
    """One incident as the client saw it (perf_counter instants)."""

    case_id: str
    sent: float  # the report was sent
    verify_sent: float  # the report was answered and the verification sent
    verified: float  # the verification was answered


class PlannedWatcher:
    """Reads the incidents and dispatches topics: when each case's DispatchPlanned
    arrives here, and the timestamp its producer gave every record (perf_counter scale)."""

    def __init__(self, bootstrap: str) -> None:
        self.seen: dict[str, float] = {}
        self.produced: dict[tuple[str, str], float] = {}
        self._consumer = AIOKafkaConsumer(
            INCIDENTS.name,
            DISPATCHES.name,
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            fetch_max_wait_ms=10,
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=50)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    # The relays put the type in a header and key by case: no parsing.
                    event_type = dict(record.headers).get("event_type", b"").decode()
                    case_id = (record.key or b"").decode()
                    self.produced.setdefault(
                        (event_type, case_id), record.timestamp / 1000 - WALL_MINUS_PERF
                    )
                    if event_type == "DispatchPlanned":
                        self.seen.setdefault(case_id, now)

    async def wait_for(self, case_ids: list[str], timeout_s: float = 120) -> None:
        deadline = time.perf_counter() + timeout_s
        while any(c not in self.seen for c in case_ids):
            if time.perf_counter() > deadline:
                missing = [c for c in case_ids if c not in self.seen]
                raise TimeoutError(f"{len(missing)} incidents never planned")
            await asyncio.sleep(0.002)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self._consumer.stop()


def report_body() -> dict[str, Any]:
    """A Tagana team's flood report at a site no earlier report named."""
    return {
        "reporter": {"name": "Bench Tagana", "role": "tagana"},
        "hazard": "flood",
        "happened_at": (datetime.now(UTC) - timedelta(minutes=30)).isoformat(),
        "location": distinct_site(),
        "households_affected": 3,
        "people_affected": 10,
    }


# Kukar's standard (000) puts the leadership's disposition before validation; it is
# recorded before the verification's clock starts, so the figure stays comparable.
DISPOSITION = {"given_by": "Bench Kadis", "position": "Kepala Dinas", "instruction": "Validasi"}
VERIFICATION = {
    "verified_by": "Bench",
    "assessed_needs": [
        {"item_code": "RICE-5KG", "quantity": 1},
        {"item_code": "FAMILY-KIT", "quantity": 1},
    ],
}


async def report_and_verify(client: httpx.AsyncClient, intake: str) -> Trip:
    """Report an incident and verify it over HTTP, as a Tagana team and a coordinator."""
    sent = time.perf_counter()
    response = await client.post(f"{intake}/reports", json=report_body())
    response.raise_for_status()
    case_id = str(response.json()["id"])
    disposed = await client.post(f"{intake}/incidents/{case_id}/dispositions", json=DISPOSITION)
    disposed.raise_for_status()
    verify_sent = time.perf_counter()
    verified = await client.post(f"{intake}/incidents/{case_id}/verification", json=VERIFICATION)
    verified.raise_for_status()
    return Trip(case_id, sent, verify_sent, time.perf_counter())


# --- where the time goes -------------------------------------------------------------

HOPS = (
    ("report: POST /reports answered", "HTTP, checks, duplicate search, one transaction"),
    ("verify: POST .../verification answered", "HTTP, one transaction with the outbox row"),
    ("intake outbox row -> on the broker", "intake's relay picks the row up and sends it"),
    ("on the broker -> logistics starts it", "fetch, faust, queue behind earlier events"),
    ("logistics starts -> DispatchPlanned row", "the allocation's transaction until its emit"),
    ("logistics outbox row -> on the broker", "commit, then logistics' relay sends it"),
    ("on the broker -> read by the watcher", "a plain consumer's fetch"),
)


def _instant(value: str) -> float:
    """A UTC timestamp as SQLite keeps it, on the perf_counter scale."""
    return datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp() - WALL_MINUS_PERF


def _query(database: Path, sql: str) -> list[tuple[Any, ...]]:
    # Read-only, beside the running service (WAL readers do not disturb it).
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return connection.execute(sql).fetchall()


def hop_breakdown(
    data_dir: Path, watcher: PlannedWatcher, trips: list[Trip]
) -> dict[str, list[float]]:
    """Seconds each of `trips` spent in each of HOPS (SQLite stacks only)."""
    verified = {
        key.decode(): (event_id, _instant(created))
        for key, event_id, created in _query(
            data_dir / "intake.sqlite3",
            "SELECT message_key, event_id, created_at FROM outbox "
            "WHERE event_type = 'IncidentVerified'",
        )
    }
    started = {
        event_id: _instant(at)
        for event_id, at in _query(
            data_dir / "logistics.sqlite3",
            "SELECT event_id, processed_at FROM processed_event "
            f"WHERE consumer = 'logistics:{INCIDENTS.name}'",
        )
    }
    planned = {
        key.decode(): _instant(created)
        for key, created in _query(
            data_dir / "logistics.sqlite3",
            "SELECT message_key, MIN(created_at) FROM outbox "
            "WHERE event_type = 'DispatchPlanned' GROUP BY message_key",
        )
    }
    hops: dict[str, list[float]] = {label: [] for label, _ in HOPS}
    for trip in trips:
        event_id, verify_row = verified[trip.case_id]
        on_broker = watcher.produced[("IncidentVerified", trip.case_id)]
        plan_row = planned[trip.case_id]
        plan_on_broker = watcher.produced[("DispatchPlanned", trip.case_id)]
        spans = (
            trip.verify_sent - trip.sent,
            trip.verified - trip.verify_sent,
            on_broker - verify_row,
            started[event_id] - on_broker,
            plan_row - started[event_id],
            plan_on_broker - plan_row,
            watcher.seen[trip.case_id] - plan_on_broker,
        )
        for (label, _), span in zip(HOPS, spans, strict=True):
            hops[label].append(span)
    return hops


async def service_hops(stack: Stack) -> dict[str, dict[str, dict[str, float]]]:
    """Each service's running hop totals, from /health."""
    async with httpx.AsyncClient(timeout=10) as client:
        return {
            name: (await client.get(f"{stack.url(name)}/health")).json().get("hops", {})
            for name in SERVICES
        }


def describe_service_hops(
    before: dict[str, dict[str, dict[str, float]]],
    after: dict[str, dict[str, dict[str, float]]],
) -> list[str]:
    """Per service, the mean of each hop between two /health readings."""
    lines = []
    for service, hops in after.items():
        for name, totals in hops.items():
            earlier = before.get(service, {}).get(name, {})
            count = int(totals["count"] - earlier.get("count", 0))
            if count <= 0:
                continue
            seconds = totals["total_s"] - earlier.get("total_s", 0.0)
            lines.append(
                f"{service + ' ' + name:<55} n={count:<5} mean={1000 * seconds / count:7.1f} ms"
            )
    return lines


@dataclass
class Breakdown:
    """What `describe_breakdown` prints."""

    hops: dict[str, list[float]]
    services_before: dict[str, dict[str, dict[str, float]]]
    services_after: dict[str, dict[str, dict[str, float]]]


def describe_breakdown(breakdown: Breakdown, indent: str = "") -> str:
    """The per-incident hops (percentiles) and the services' own means."""
    lines = [
        describe(label, spans) + f"  ({what})"
        for (label, what), spans in zip(HOPS, breakdown.hops.values(), strict=True)
    ]
    lines.append("services' own totals over the same interval (/health hops):")
    lines += [
        "  " + line
        for line in describe_service_hops(breakdown.services_before, breakdown.services_after)
    ]
    return "\n".join(indent + line for line in lines)


# --- CPU per incident ----------------------------------------------------------------

# After the last DispatchPlanned is seen, notify and the relays still act on the burst's
# events; the CPU window stays open this long so their work counts as the incidents'.
SETTLE_S = 3.0


def cpu_seconds_from_stat(stat: str, ticks_per_second: int) -> float:
    """User + system CPU seconds from the text of /proc/<pid>/stat.

    The command name (field 2) is in parentheses and may hold spaces or ')', so the
    fields are counted from the last ')': utime and stime are fields 14 and 15 (proc(5)).
    """
    after_name = stat[stat.rindex(")") + 1 :].split()
    # after_name[0] is field 3 (state), so field n is after_name[n - 3].
    utime, stime = int(after_name[11]), int(after_name[12])
    return (utime + stime) / ticks_per_second


def _process_tree(pid: int) -> list[int]:
    """`pid` and every live descendant (a service could spawn workers)."""
    pids, pending = [], [pid]
    while pending:
        current = pending.pop()
        pids.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                pending += [int(child) for child in children.read_text().split()]
            except FileNotFoundError:  # the thread ended between glob and read
                continue
    return pids


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by a process and its live descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for member in _process_tree(pid):
        try:
            total += cpu_seconds_from_stat(Path(f"/proc/{member}/stat").read_text(), ticks)
        except FileNotFoundError:  # it exited since it was listed
            continue
    return total


def services_cpu(stack: Stack) -> dict[str, float]:
    """Each service's CPU seconds so far."""
    return {name: process_cpu_seconds(stack.services[name].process.pid) for name in SERVICES}


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds per service between two readings."""
    return {name: after[name] - before[name] for name in after}


@dataclass
class CpuFigures:
    """What `describe_cpu` prints: CPU seconds per service in the burst's window and in
    an idle window of the same length."""

    incidents: int
    window_s: float
    burst: dict[str, float]
    idle: dict[str, float]


def describe_cpu(figures: CpuFigures) -> str:
    """Per service and in total: CPU ms of the burst less the idle baseline, and per
    incident."""
    lines = [
        f"CPU per incident, burst of {figures.incidents}: user + system from /proc/<pid>/stat "
        f"over {figures.window_s:.1f} s (burst until every DispatchPlanned is seen, "
        f"+ {SETTLE_S:.0f} s for the events after it), less an idle baseline (the same "
        f"processes over {figures.window_s:.1f} s with no incidents)",
        f"  {'service':<14} {'burst ms':>10} {'idle ms':>10} {'work ms':>10} {'ms/incident':>12}",
    ]
    rows = [*SERVICES, "total"]
    burst = {**figures.burst, "total": sum(figures.burst.values())}
    idle = {**figures.idle, "total": sum(figures.idle.values())}
    for name in rows:
        work_ms = 1000 * (burst[name] - idle[name])
        lines.append(
            f"  {name:<14} {1000 * burst[name]:10.0f} {1000 * idle[name]:10.0f} "
            f"{work_ms:10.0f} {work_ms / figures.incidents:12.1f}"
        )
    return "\n".join(lines)


def load_stock(client: httpx.Client | TestClient, incidents: int) -> None:
    """A warehouse with 20 lots of each bench item, enough for `incidents` incidents."""
    today = office_today()
    client.post(
        "/warehouses",
        json={
            "code": "GDG-TGR",
            "name": "Tenggarong",
            "location": {"lat": -0.4186, "lon": 116.9864},
        },
    )
    for code in ("RICE-5KG", "FAMILY-KIT"):
        client.post("/items", json={"code": code, "name": code, "unit": "pcs"})
        for age in range(20):  # 20 lots per item: FIFO has something to choose from
            client.post(
                "/lots",
                json={
                    "item_code": code,
                    "warehouse_code": "GDG-TGR",
                    "quantity": incidents // 10 + 10,
                    "received_on": (today - timedelta(days=age + 1)).isoformat(),
                    "source": "bench",
                    "received_by": "bench",
                },
            ).raise_for_status()


async def run(sequential: int, burst: int) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="dinsos-bench-") as tmp,
        Stack.start(data_dir=Path(tmp)) as stack,
    ):
        with httpx.Client(base_url=stack.url("logistics"), timeout=30) as logistics:
            load_stock(logistics, sequential + burst)
        watcher = PlannedWatcher(stack.broker.bootstrap_servers)
        await watcher.start()
        intake = stack.url("intake")
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                # warm-up: first requests pay for imports, connections and group joins
                warm = [await report_and_verify(client, intake) for _ in range(3)]
                await watcher.wait_for([t.case_id for t in warm])

                seq_before = await service_hops(stack)
                trips = []
                for _ in range(sequential):
                    trip = await report_and_verify(client, intake)
                    await watcher.wait_for([trip.case_id])
                    trips.append(trip)
                seq_after = await service_hops(stack)

                await asyncio.sleep(SETTLE_S)  # the sequential phase's tail, out of the window
                cpu_before = services_cpu(stack)
                started = time.perf_counter()
                results = await asyncio.gather(
                    *(report_and_verify(client, intake) for _ in range(burst))
                )
                await watcher.wait_for([t.case_id for t in results])
                burst_s = time.perf_counter() - started
                burst_after = await service_hops(stack)
                await asyncio.sleep(SETTLE_S)
                cpu_after = services_cpu(stack)
                window_s = time.perf_counter() - started
                # The idle baseline: the same wall time, nothing sent.
                await asyncio.sleep(window_s)
                cpu_idle_end = services_cpu(stack)
        finally:
            await watcher.stop()
        return {
            "whole": [watcher.seen[t.case_id] - t.sent for t in trips],
            "automated": [watcher.seen[t.case_id] - t.verify_sent for t in trips],
            "burst": burst,
            "burst_s": burst_s,
            "burst_latency": [watcher.seen[t.case_id] - t.verify_sent for t in results],
            "sequential_hops": Breakdown(
                hop_breakdown(Path(tmp), watcher, trips), seq_before, seq_after
            ),
            "burst_hops": Breakdown(
                hop_breakdown(Path(tmp), watcher, results), seq_after, burst_after
            ),
            "cpu": CpuFigures(
                incidents=burst,
                window_s=window_s,
                burst=cpu_used(cpu_before, cpu_after),
                idle=cpu_used(cpu_after, cpu_idle_end),
            ),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", type=int, default=50)
    parser.add_argument("--burst", type=int, default=100)
    args = parser.parse_args()
    print(f"broker: {broker_version()}; services on SQLite; run {uuid.uuid4().hex[:6]}")
    figures = asyncio.run(run(args.sequential, args.burst))
    print(describe("report sent -> DispatchPlanned", figures["whole"]))
    print(describe("verify sent -> DispatchPlanned", figures["automated"]))
    print(describe("burst: verify -> DispatchPlanned", figures["burst_latency"]))
    rate = figures["burst"] / figures["burst_s"]
    print(
        f"burst of {figures['burst']} incidents planned in {figures['burst_s']:.2f} s "
        f"= {rate:.1f} incidents/s (report + verify over HTTP, allocation, outbox, Kafka)"
    )
    print()
    print("where one incident's time goes, one at a time:")
    print(describe_breakdown(figures["sequential_hops"], "  "))
    print()
    print(f"where one incident's time goes in the burst of {figures['burst']}:")
    print(describe_breakdown(figures["burst_hops"], "  "))
    print()
    print(describe_cpu(figures["cpu"]))


if __name__ == "__main__":
    main()
