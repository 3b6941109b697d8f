"""Talking to the real broker from tests: send raw bytes, collect what a topic holds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

T = TypeVar("T")


async def send_raw(
    bootstrap: str, topic: str, value: bytes | None, key: bytes | None = None
) -> None:
    """Publish one message exactly as given."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


async def collect(
    bootstrap: str,
    topic: str,
    *,
    match: Callable[[Any], bool],
    count: int,
    timeout_s: float = 30.0,
) -> list[Any]:
    """Read `topic` from the start until `count` records match, or the deadline passes.

    Reads from the beginning rather than the end: Tansu's end offsets are unreliable after
    a multi-record batch, and filtering on ids this test created is exact.
    """
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    found: list[Any] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(found) < count and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                found.extend(record for record in records if match(record))
    finally:
        await consumer.stop()
    return found


async def eventually(
    probe: Callable[[], T | None], *, timeout_s: float = 30.0, interval_s: float = 0.1
) -> T:
    """Poll `probe` until it returns a truthy value; fail with the last value at the deadline."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while time.monotonic() < deadline:
        last = await asyncio.to_thread(probe)
        if last:
            return last
        await asyncio.sleep(interval_s)
    raise AssertionError(f"condition not met within {timeout_s}s (last value: {last!r})")
