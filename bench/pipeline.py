"""Benchmark: time from a field report to a planned dispatch, through the real stack.

Starts Tansu and the four services as processes (SQLite, as in the local run), loads
stock, then:
  1. sequential: one incident at a time, report -> verify -> DispatchPlanned observed on
     the dispatches topic; latency of the automated hop (verify -> planned) and of the
     whole path (report sent -> planned);
  2. burst: N incidents reported and verified by concurrent clients; time until every
     DispatchPlanned is on the topic (incidents per second).
Prints the figures; asserts nothing about time (figures belong here, not in tests).

    python -m bench.pipeline [--sequential 50] [--burst 100]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from shared.events import DispatchPlanned, parse_event
from shared.stack import Stack
from shared.tansu import broker_version
from shared.topics import DISPATCHES

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
        f"{label:<34} n={len(ms):<4} p50={statistics.median(ms):7.1f} ms  "
        f"p90={percentile(ms, 0.9):7.1f} ms  p99={percentile(ms, 0.99):7.1f} ms  "
        f"max={max(ms):7.1f} ms"
    )


class PlannedWatcher:
    """Reads the dispatches topic and notes when each case's DispatchPlanned arrives."""

    def __init__(self, bootstrap: str) -> None:
        self.seen: dict[str, float] = {}
        self._consumer = AIOKafkaConsumer(
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
                    event = parse_event(record.value)
                    if isinstance(event, DispatchPlanned):
                        self.seen.setdefault(str(event.case_id), now)

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


async def report_and_verify(client: httpx.AsyncClient, intake: str) -> tuple[str, float, float]:
    """Returns case id, time the report was sent, time the verification was sent."""
    sent = time.perf_counter()
    response = await client.post(
        f"{intake}/reports",
        json={
            "reporter": {"name": "Bench Tagana", "role": "tagana"},
            "hazard": "flood",
            "happened_at": (datetime.now(UTC) - timedelta(minutes=30)).isoformat(),
            "location": distinct_site(),
            "households_affected": 3,
            "people_affected": 10,
        },
    )
    response.raise_for_status()
    case_id = str(response.json()["id"])
    verify_sent = time.perf_counter()
    verified = await client.post(
        f"{intake}/incidents/{case_id}/verification",
        json={
            "verified_by": "Bench",
            "assessed_needs": [
                {"item_code": "RICE-5KG", "quantity": 1},
                {"item_code": "FAMILY-KIT", "quantity": 1},
            ],
        },
    )
    verified.raise_for_status()
    return case_id, sent, verify_sent


def load_stock(logistics: str, incidents: int) -> None:
    today = datetime.now(UTC).date()
    with httpx.Client(base_url=logistics, timeout=30) as client:
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
        load_stock(stack.url("logistics"), sequential + burst)
        watcher = PlannedWatcher(stack.broker.bootstrap_servers)
        await watcher.start()
        intake = stack.url("intake")
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                # warm-up: first requests pay for imports, connections and group joins
                warm = [await report_and_verify(client, intake) for _ in range(3)]
                await watcher.wait_for([c for c, _, _ in warm])

                whole, automated = [], []
                for _ in range(sequential):
                    case_id, sent, verify_sent = await report_and_verify(client, intake)
                    await watcher.wait_for([case_id])
                    whole.append(watcher.seen[case_id] - sent)
                    automated.append(watcher.seen[case_id] - verify_sent)

                started = time.perf_counter()
                results = await asyncio.gather(
                    *(report_and_verify(client, intake) for _ in range(burst))
                )
                await watcher.wait_for([c for c, _, _ in results])
                burst_s = time.perf_counter() - started
                burst_latency = [watcher.seen[c] - v for c, _, v in results]
        finally:
            await watcher.stop()
        return {
            "whole": whole,
            "automated": automated,
            "burst": burst,
            "burst_s": burst_s,
            "burst_latency": burst_latency,
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


if __name__ == "__main__":
    main()
