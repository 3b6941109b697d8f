"""Which Kafka the tests run on: testcontainers where a Docker engine answers, Maven
Central's jars elsewhere, and in both cases the version docker-compose.yml runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.apache_kafka import SERVICE_ENV
from tests.kafka.backends import (
    ROOT,
    KafkaBed,
    compose_kafka_image,
    compose_service_kafka_env,
    docker_engine_available,
    select_backend,
)


def fake_docker(directory: Path, exit_code: int) -> str:
    """A `docker` command whose `docker info` exits with `exit_code`; a PATH holding it."""
    command = directory / "docker"
    command.write_text(f"#!/bin/sh\nexit {exit_code}\n")
    command.chmod(0o755)
    return str(directory)


def test_a_machine_with_a_docker_engine_runs_the_kafka_tests_on_testcontainers() -> None:
    assert select_backend(docker_engine=True) == "testcontainers"


def test_a_machine_without_a_docker_engine_runs_kafka_from_maven_central() -> None:
    assert select_backend(docker_engine=False) == "maven"


def test_a_docker_engine_counts_only_when_docker_info_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", fake_docker(tmp_path, 0))
    assert docker_engine_available() is True
    monkeypatch.setenv("PATH", fake_docker(tmp_path, 1))  # a CLI without an engine, as here
    assert docker_engine_available() is False
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert docker_engine_available() is False


def test_the_testcontainers_modules_the_docker_path_needs_import() -> None:
    from testcontainers.community.postgres import PostgresContainer  # noqa: PLC0415
    from testcontainers.core.container import DockerContainer  # noqa: PLC0415

    assert issubclass(PostgresContainer, DockerContainer)


def test_the_maven_broker_is_the_kafka_version_docker_compose_runs() -> None:
    pom = (ROOT / "deploy" / "kafka" / "pom.xml").read_text()
    pinned = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom)
    assert pinned is not None
    assert compose_kafka_image() == f"apache/kafka:{pinned.group(1)}"


def test_the_broker_reports_the_version_it_runs(apache_kafka: KafkaBed) -> None:
    assert apache_kafka.description.startswith("Apache Kafka ")
    assert compose_kafka_image().rsplit(":", 1)[1] in apache_kafka.description


def test_services_on_apache_kafka_get_the_settings_docker_compose_gives_them() -> None:
    assert compose_service_kafka_env() == SERVICE_ENV
    assert SERVICE_ENV["KAFKA_ENABLE_IDEMPOTENCE"] == "true"
