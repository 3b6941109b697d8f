"""Settings that point a service at the test broker and a test database."""

from __future__ import annotations

from typing import Any, TypeVar

from shared.settings import CommonSettings, KafkaSettings, ServiceSettings
from shared.tansu import TansuBroker

S = TypeVar("S", bound=ServiceSettings)


def settings_for(cls: type[S], broker: TansuBroker, database_url: str, **extra: Any) -> S:
    """`cls` configured for a test: its own database, the session's broker."""
    return cls(
        database_url=database_url,
        common=CommonSettings(environment="test"),
        kafka=KafkaSettings(bootstrap_servers=broker.bootstrap_servers),
        **extra,
    )
