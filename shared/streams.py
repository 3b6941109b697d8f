"""The faust app every service runs its agents in, tuned for the broker it talks to.

faust hard-codes `fetch_max_wait_ms=1500` in its aiokafka driver. Against Tansu, which
sleeps half the remaining fetch wait and is not woken by a produce, that costs ~0.4 s per
hop, so when `KAFKA_FETCH_MAX_WAIT_MS` is set the app uses a transport whose consumer
takes that value instead. Against Apache Kafka leave it unset: Kafka answers a fetch as
soon as data arrives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust
from faust.transport import drivers
from faust.transport.drivers import aiokafka as faust_aiokafka

from shared.settings import KafkaSettings
from shared.topics import consumer_group

_TUNED_SCHEME = "kafkatuned"


class _TunedConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        wait_ms = getattr(self.app, "fetch_max_wait_ms_override", None)
        if wait_ms is not None:
            # Read by AIOKafkaConsumer.start() when it builds its Fetcher.
            consumer._fetch_max_wait_ms = wait_ms
        return consumer


class _TunedConsumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> Any:
        return _TunedConsumerThread(self, loop=self.loop, beacon=self.beacon)


class TunedTransport(faust_aiokafka.Transport):
    """faust's aiokafka transport with a configurable fetch long-poll."""

    Consumer = _TunedConsumer


drivers.TRANSPORTS.aliases[_TUNED_SCHEME] = f"{__name__}:TunedTransport"


def create_stream_app(service: str, kafka: KafkaSettings, data_dir: Path) -> faust.App:
    """A faust app for one service: at-least-once, in-memory store, no faust web server.

    Built per process (never at import time) so it binds to the loop that runs it. faust
    makes a folder for table state even with the memory store; it goes under the service's
    `data_dir` (DINSOS_DATA_DIR), not faust's default of the working directory, where it
    would litter a checkout or fail in a read-only container.
    """
    scheme = _TUNED_SCHEME if kafka.fetch_max_wait_ms is not None else "kafka"
    datadir = data_dir / "faust" / consumer_group(service)
    datadir.parent.mkdir(parents=True, exist_ok=True)  # faust makes the last step only
    servers = ";".join(kafka.bootstrap_servers.split(","))
    app = faust.App(
        consumer_group(service),
        broker=f"{scheme}://{servers}",
        store="memory://",
        web_enabled=False,
        autodiscover=False,
        datadir=str(datadir),
        processing_guarantee="at_least_once",
        broker_session_timeout=kafka.session_timeout_s,
        broker_heartbeat_interval=kafka.heartbeat_interval_s,
        broker_rebalance_timeout=kafka.rebalance_timeout_s,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        topic_partitions=kafka.topic_partitions,
        topic_replication_factor=kafka.replication_factor,
        topic_allow_declare=False,
        # No leader election (no `on_leader` timers here): otherwise every worker also
        # subscribes to `<app id>-__assignor-__leader`, which nobody creates. Tansu
        # auto-created it; Kafka with auto-creation off (production) only logs it missing.
        topic_disable_leader=True,
        producer_acks=-1,
        producer_max_request_size=kafka.max_request_size,
    )
    app.fetch_max_wait_ms_override = kafka.fetch_max_wait_ms  # type: ignore[attr-defined]  # our own attribute on faust's app
    return app


def raw_topic(app: faust.App, name: str) -> Any:
    """A topic read as raw bytes: validation happens in our handler, not in faust."""
    return app.topic(
        name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        allow_empty=True,
    )
