"""Where the Apache Kafka tests get their broker and PostgreSQL from.

With a Docker engine (`docker info` answers), testcontainers starts the images
docker-compose.yml runs: apache/kafka (KRaft) and postgres. Without one, as on our
machines, Apache Kafka runs as a JVM from the jars scripts/kafka.sh fetches from Maven
Central, and PostgreSQL is the suite's test server (TEST_POSTGRES_URL). Both give the same
`KafkaBed`, so the tests do not know which one they run on; the run prints which.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import yaml

from shared.apache_kafka import ApacheKafka, wait_until_serving
from shared.tansu import port_to_keep
from tests.support.databases import POSTGRES_ENV, postgres_admin_url

ROOT = Path(__file__).resolve().parents[2]
# A new consumer group's first join waits this long for more members (Kafka's default is
# 3 s): the tests start four services and restart the broker four times, each time
# waiting it out on the way to "healthy". The protocol is the same without the wait.
TEST_GROUP_INITIAL_DELAY_MS = "0"
Backend = Literal["testcontainers", "maven"]


class RestartableBroker(Protocol):
    """A broker that keeps its log across `restart()`."""

    @property
    def bootstrap_servers(self) -> str:
        """host:port for Kafka clients."""
        ...

    def restart(self) -> None:
        """Stop and start again on the same address and log."""
        ...

    def stop(self) -> None:
        """Stop the broker."""
        ...


@dataclass
class KafkaBed:
    """A running Apache Kafka and a PostgreSQL server to make databases on."""

    backend: Backend
    broker: RestartableBroker
    postgres_admin_url: str
    description: str


def compose() -> dict[str, Any]:
    """docker-compose.yml, parsed."""
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


def compose_kafka_image() -> str:
    """The Kafka image production runs, e.g. 'apache/kafka:3.9.1'."""
    image: str = compose()["services"]["kafka"]["image"]
    return image


def compose_service_kafka_env() -> dict[str, str]:
    """The KAFKA_* settings docker-compose.yml gives every service (idempotence on, the
    fetch wait and group timings for Kafka), less the address, which each run supplies."""
    env: dict[str, Any] = compose()["x-service-env"]
    return {
        key: str(value)
        for key, value in env.items()
        if key.startswith("KAFKA_") and key != "KAFKA_BOOTSTRAP_SERVERS"
    }


def docker_engine_available() -> bool:
    """Whether a Docker engine answers here (not merely a `docker` command installed)."""
    if shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def select_backend(*, docker_engine: bool) -> Backend:
    """testcontainers where a Docker engine runs; the Maven-fetched JVM broker elsewhere."""
    return "testcontainers" if docker_engine else "maven"


@contextmanager
def kafka_bed(backend: Backend, directory: Path) -> Iterator[KafkaBed]:
    """Start the chosen backend's Kafka (and PostgreSQL, for testcontainers); stop them after."""
    if backend == "testcontainers":
        with _testcontainers_bed() as bed:
            yield bed
        return
    admin = postgres_admin_url()
    if admin is None:
        raise RuntimeError(f"{POSTGRES_ENV} is not set; `make test` starts PostgreSQL")
    with ApacheKafka.start(
        directory / "kafka",
        extra_config={"group.initial.rebalance.delay.ms": TEST_GROUP_INITIAL_DELAY_MS},
    ) as broker:
        yield KafkaBed(
            backend="maven",
            broker=broker,
            postgres_admin_url=admin,
            description=(
                f"Apache Kafka {broker.version} (KRaft, JVM from Maven Central jars, "
                f"log in {broker.log_dir}); PostgreSQL at {POSTGRES_ENV}"
            ),
        )


@dataclass
class ContainerKafka:
    """docker-compose.yml's Kafka image in a testcontainers container, on a fixed host port
    so that its address survives `restart()` (the log stays in the container)."""

    container: Any
    host: str
    port: int

    @property
    def bootstrap_servers(self) -> str:
        """host:port for Kafka clients."""
        return f"{self.host}:{self.port}"

    def restart(self) -> None:
        """`docker restart`: a clean stop, the same container, log and port."""
        self.container.get_wrapped_container().restart()
        wait_until_serving(self.bootstrap_servers, timeout_s=90)

    def stop(self) -> None:
        """Remove the container."""
        self.container.stop()


@contextmanager
def _testcontainers_bed() -> Iterator[KafkaBed]:
    # Imported here: without a Docker engine nothing of it is needed.
    from testcontainers.community.postgres import PostgresContainer  # noqa: PLC0415
    from testcontainers.core.container import DockerContainer  # noqa: PLC0415

    image = compose_kafka_image()
    settings: dict[str, Any] = compose()["services"]["kafka"]["environment"]
    port = port_to_keep()
    kafka = DockerContainer(image).with_bind_ports(9092, port)
    for key, value in settings.items():
        # The compose volume's path is left out: the image's own log directory lives in
        # the container, which `docker restart` keeps.
        if key != "KAFKA_LOG_DIRS":
            kafka.with_env(key, str(value))
    # The compose network's name "kafka" means nothing here: the controller is the
    # container itself and clients reach it through the published port.
    kafka.with_env("KAFKA_ADVERTISED_LISTENERS", f"PLAINTEXT://127.0.0.1:{port}")
    kafka.with_env("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093")
    kafka.with_env("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", TEST_GROUP_INITIAL_DELAY_MS)
    postgres_image = compose()["services"]["postgres"]["image"]
    with kafka, PostgresContainer(postgres_image, driver=None) as postgres:
        broker = ContainerKafka(container=kafka, host="127.0.0.1", port=port)
        wait_until_serving(broker.bootstrap_servers, timeout_s=90)
        yield KafkaBed(
            backend="testcontainers",
            broker=broker,
            postgres_admin_url=postgres.get_connection_url(),
            description=f"Apache Kafka {image} and {postgres_image} (testcontainers)",
        )
