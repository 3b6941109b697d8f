"""One Apache Kafka for this folder (it starts in seconds, not Tansu's 0.1 s; started once,
and stopped when the folder is done so the rest of the suite does not carry an idle JVM),
on testcontainers where a Docker engine runs and from Maven Central's jars elsewhere; the
run says at its end which one the tests ran on."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.kafka.backends import KafkaBed, docker_engine_available, kafka_bed, select_backend
from tests.support.summaries import section


@pytest.fixture(scope="package")
def apache_kafka(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KafkaBed]:
    """The Apache Kafka (and PostgreSQL server) of tests/kafka, whichever this machine has."""
    backend = select_backend(docker_engine=docker_engine_available())
    started = time.monotonic()
    with kafka_bed(backend, tmp_path_factory.mktemp("apache-kafka")) as bed:
        section(request.config, "Apache Kafka tests ran on").append(
            f"{bed.backend}: {bed.description}; ready in {time.monotonic() - started:.1f} s"
        )
        yield bed
