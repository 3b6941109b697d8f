"""Benchmark, side by side in one run on this machine against Tansu (issue: "how fast"):

1. pipeline throughput and latency (report -> verify over HTTP -> allocation -> outbox ->
   DispatchPlanned on the topic) for N incidents sent at once, against the raw round trip
   of the same number of messages through the same broker with aiokafka alone (one
   producer, one consumer, the same fetch wait the services use). The ratio is the
   figure to improve;
2. intake's HTTP requests per second (POST /reports, validation, geo checks, duplicate
   search, one transaction with the outbox) against a bare FastAPI endpoint taking the
   same body, both under uvicorn on the same machine, the same concurrency;
3. memory (RSS) of each service at rest and its peak under that load.

Asserts nothing about time; prints the figures.

    python -m bench.compare [--incidents 200] [--http-seconds 5] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.pipeline import (
    Breakdown,
    PlannedWatcher,
    describe,
    describe_breakdown,
    distinct_site,
    hop_breakdown,
    load_stock,
    report_and_verify,
    service_hops,
)
from shared.settings import KafkaSettings
from shared.stack import SERVICES, Stack
from shared.tansu import broker_version, free_port

BARE_APP = """
from typing import Any
from fastapi import FastAPI, status
app = FastAPI()

@app.post("/reports", status_code=status.HTTP_201_CREATED)
async def reports(body: dict[str, Any]) -> dict[str, str]:
    return {"id": "00000000-0000-0000-0000-000000000000"}
"""


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    """Resident memory of a process (VmRSS now, VmHWM its peak), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")


async def raw_round_trip(bootstrap: str, count: int, payload_size: int) -> dict[str, Any]:
    """Produce `count` messages at once and time them out of a consumer."""
    topic = f"bench-raw-{uuid.uuid4().hex[:6]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)])
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=KafkaSettings().fetch_max_wait_ms or 500,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    sent_at: dict[bytes, float] = {}
    latency: list[float] = []
    try:
        await consumer.getmany(timeout_ms=200)  # positions resolved before we start
        started = time.perf_counter()
        padding = b"x" * payload_size

        async def send(n: int) -> None:
            key = str(n).encode()
            sent_at[key] = time.perf_counter()
            await producer.send_and_wait(topic, value=padding, key=key)

        receiving = asyncio.create_task(_receive(consumer, sent_at, latency, count))
        await asyncio.gather(*(send(n) for n in range(count)))
        await asyncio.wait_for(receiving, timeout=120)
        elapsed = time.perf_counter() - started
    finally:
        await producer.stop()
        await consumer.stop()
    return {"count": count, "seconds": elapsed, "latency": latency}


async def _receive(
    consumer: AIOKafkaConsumer, sent_at: dict[bytes, float], latency: list[float], count: int
) -> None:
    while len(latency) < count:
        batches = await consumer.getmany(timeout_ms=50)
        now = time.perf_counter()
        for records in batches.values():
            latency.extend(now - sent_at[record.key] for record in records)


async def pipeline_burst(stack: Stack, count: int, data_dir: Path) -> dict[str, Any]:
    watcher = PlannedWatcher(stack.broker.bootstrap_servers)
    await watcher.start()
    intake = stack.url("intake")
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            warm = [await report_and_verify(client, intake) for _ in range(3)]
            await watcher.wait_for([t.case_id for t in warm])
            before = await service_hops(stack)
            started = time.perf_counter()
            results = await asyncio.gather(
                *(report_and_verify(client, intake) for _ in range(count))
            )
            http_s = time.perf_counter() - started
            await watcher.wait_for([t.case_id for t in results], timeout_s=300)
            elapsed = time.perf_counter() - started
            after = await service_hops(stack)
    finally:
        await watcher.stop()
    return {
        "count": count,
        "seconds": elapsed,
        "http_seconds": http_s,
        "latency": [watcher.seen[t.case_id] - t.sent for t in results],
        "breakdown": Breakdown(hop_breakdown(data_dir, watcher, results), before, after),
    }


def report_body() -> dict[str, Any]:
    return {
        "reporter": {"name": "Bench Tagana", "role": "tagana"},
        "hazard": "flood",
        "happened_at": (datetime.now(UTC) - timedelta(minutes=30)).isoformat(),
        "location": distinct_site(),
        "households_affected": 3,
        "people_affected": 10,
    }


async def requests_per_second(url: str, seconds: float, concurrency: int) -> float:
    """POST /reports from `concurrency` clients for `seconds`; completed 2xx per second."""
    done = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            response = await client.post(f"{url}/reports", json=report_body())
            response.raise_for_status()
            done += 1

    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return done / (time.perf_counter() - started)


def start_bare_app(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    (folder / "bare_app.py").write_text(BARE_APP)
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bare_app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(folder)},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process, f"http://127.0.0.1:{port}"
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("bare FastAPI app did not start")


async def run(incidents: int, http_seconds: float, concurrency: int) -> None:
    with tempfile.TemporaryDirectory(prefix="dinsos-compare-") as tmp:
        root = Path(tmp)
        with Stack.start(data_dir=root / "data") as stack:
            with httpx.Client(base_url=stack.url("logistics"), timeout=30) as logistics:
                load_stock(logistics, incidents + 50)
            await asyncio.sleep(2.0)  # let start-up settle before "at rest"
            at_rest = {n: rss_kib(stack.services[n].process.pid) for n in SERVICES}

            pipeline = await pipeline_burst(stack, incidents, root / "data")
            raw = await raw_round_trip(stack.broker.bootstrap_servers, incidents * 2, 600)
            intake_rps = await requests_per_second(stack.url("intake"), http_seconds, concurrency)
            peak = {n: rss_kib(stack.services[n].process.pid, "VmHWM") for n in SERVICES}
        bare, bare_url = start_bare_app(root)
        try:
            bare_rps = await requests_per_second(bare_url, http_seconds, concurrency)
        finally:
            bare.terminate()
            bare.wait()

    pipeline_rate = pipeline["count"] / pipeline["seconds"]
    raw_rate = raw["count"] / raw["seconds"]
    print(f"broker: {broker_version()}; services on SQLite; {os.cpu_count()} CPUs")
    print()
    print("1. pipeline vs raw broker round trip")
    print(
        f"   pipeline: {pipeline['count']} incidents (2 HTTP calls, 2 broker hops each) in "
        f"{pipeline['seconds']:.2f} s = {pipeline_rate:.1f} incidents/s"
    )
    print("   " + describe("pipeline report -> DispatchPlanned", pipeline["latency"]))
    print(
        f"   (the {2 * pipeline['count']} HTTP calls were all answered after "
        f"{pipeline['http_seconds']:.2f} s)"
    )
    print("   where each incident's time went (p50 ... max per hop):")
    print(describe_breakdown(pipeline["breakdown"], "     "))
    print(
        f"   raw aiokafka: {raw['count']} messages (= the pipeline's broker hops) in "
        f"{raw['seconds']:.2f} s = {raw_rate:.1f} msg/s"
    )
    print("   " + describe("raw produce -> consume", raw["latency"]))
    hop_rate = 2 * pipeline_rate
    print(
        f"   ratio: pipeline moves {hop_rate:.1f} broker hops/s = "
        f"{hop_rate / raw_rate:.2%} of the raw round-trip rate; p50 latency x"
        f"{statistics.median(pipeline['latency']) / statistics.median(raw['latency']):.1f}"
    )
    print()
    print(f"2. HTTP, {concurrency} concurrent clients for {http_seconds:.0f} s each")
    print(f"   intake POST /reports: {intake_rps:8.1f} req/s")
    print(f"   bare FastAPI POST   : {bare_rps:8.1f} req/s")
    print(f"   ratio: intake does {intake_rps / bare_rps:.1%} of a bare endpoint's rate")
    print()
    print("3. memory (RSS, MiB): at rest -> peak under the load above")
    for name in SERVICES:
        print(f"   {name:<13} {at_rest[name] / 1024:7.1f} -> {peak[name] / 1024:7.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description="pipeline vs raw broker, HTTP, memory")
    parser.add_argument("--incidents", type=int, default=200)
    parser.add_argument("--http-seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(run(args.incidents, args.http_seconds, args.concurrency))


if __name__ == "__main__":
    main()
