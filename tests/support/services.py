"""Settings that point a service at the test broker and a test database, and a client
that yields only once the service is ready."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.auth import AuthSettings
from shared.settings import CommonSettings, KafkaSettings, MessagingSettings, ServiceSettings
from shared.tansu import TansuBroker

S = TypeVar("S", bound=ServiceSettings)

READY_TIMEOUT_S = 45.0


def settings_for(cls: type[S], broker: TansuBroker, database_url: str, **extra: Any) -> S:
    """`cls` configured for a test: its own database, the test's broker."""
    return cls(
        database_url=database_url,
        common=CommonSettings(environment="test"),
        kafka=KafkaSettings(bootstrap_servers=broker.bootstrap_servers),
        # Service tests are about behaviour; tests/*/test_access.py walk each access matrix.
        auth=AuthSettings(required=False),
        **{"messaging": MessagingSettings(not_yet_wait_s=1.0), **extra},
    )


def settings_without_broker(cls: type[S], database_url: str, **extra: Any) -> S:
    """`cls` configured to test its HTTP API alone: its own database and no broker (what
    it announces waits in its outbox, where the test can read it)."""
    return cls(
        database_url=database_url,
        common=CommonSettings(environment="test"),
        auth=AuthSettings(required=False),
        **{"messaging": MessagingSettings(broker_enabled=False), **extra},
    )


@contextmanager
def ready_client(app: FastAPI) -> Iterator[TestClient]:
    """A client for `app`, given once /health says database, broker and consumer are up.

    Waiting for the consumer's partitions keeps a test's timeouts about its own events,
    not about a slow group join on a loaded machine.
    """
    with TestClient(app) as client:
        deadline = time.monotonic() + READY_TIMEOUT_S
        health = client.get("/health")
        while health.status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
            health = client.get("/health")
        assert health.status_code == 200, f"not ready in {READY_TIMEOUT_S}s: {health.text}"
        yield client
