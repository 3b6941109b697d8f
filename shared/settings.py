"""Settings read from environment variables, with defaults that work for the local run.

Shared parts (`DINSOS_*`, `KAFKA_*`) are read by every service; each service adds its
own class with its own prefix (`INTAKE_`, `LOGISTICS_`, ...). Nothing is built at import
time: each service has a `get_settings()` that a test can bypass.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal, Self
from zoneinfo import ZoneInfo, available_timezones

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.audit_keys import AuditSettings
from shared.auth import AuthSettings
from shared.clock import DEFAULT_OFFICE_ZONE, Clock, OffsetFileClock, SystemClock
from shared.offices import office_zone, unknown_zones

Environment = Literal["development", "test", "production"]


class KafkaSettings(BaseSettings):
    """How to reach the broker. Defaults suit the local Tansu broker."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = Field(default="127.0.0.1:9092", description="host:port[,host:port]")
    # Tansu rejects InitProducerId; Apache Kafka supports it (docker-compose turns it on).
    enable_idempotence: bool = False
    # Tansu sleeps half the fetch wait before answering; Kafka answers when data arrives.
    # None keeps the client's default (right for Kafka); 25 ms suits Tansu.
    fetch_max_wait_ms: int | None = Field(default=25, ge=1, le=5000)
    session_timeout_s: float = Field(default=6.0, gt=0)
    heartbeat_interval_s: float = Field(default=1.5, gt=0)
    rebalance_timeout_s: float = Field(default=3.0, gt=0)
    topic_partitions: int = Field(default=4, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    max_request_size: int = Field(default=1_048_576, ge=1024)


class MessagingSettings(BaseSettings):
    """How a service keeps its outbox the log of record and its tables bounded."""

    model_config = SettingsConfigDict(env_prefix="DINSOS_", extra="ignore")

    # How often the broker is asked whether it still holds what it acknowledged.
    log_check_interval_s: float = Field(default=30.0, gt=0)
    # An outbox row is deleted once every consumer group has committed past it AND it is
    # this old; until then a lost broker can be refilled from it.
    outbox_retention_h: float = Field(default=168.0, ge=0)
    # How long a consumer remembers an event id it applied. It must outlast the outbox's
    # retention: a producer republishes anything its outbox still holds.
    processed_retention_h: float = Field(default=720.0, gt=0)
    # How often the retention runs.
    retention_interval_s: float = Field(default=600.0, gt=0)
    # How long a consumer keeps trying an event whose case's start event has not arrived
    # (another topic's, maybe still being republished), parked beside the stream.
    not_yet_wait_s: float = Field(default=600.0, ge=0)
    # Off only to test a service's HTTP API on its own: no producer, relay, log check or
    # consumer starts; what the service announces waits in its outbox (a process with the
    # broker on sends it later). Refused in production.
    broker_enabled: bool = True

    @model_validator(mode="after")
    def _inbox_outlives_outbox(self) -> Self:
        if self.processed_retention_h <= self.outbox_retention_h:
            raise ValueError(
                "DINSOS_PROCESSED_RETENTION_H must exceed DINSOS_OUTBOX_RETENTION_H: an event "
                "id forgotten before its producer stops republishing it could apply twice"
            )
        return self


class CommonSettings(BaseSettings):
    """What every service needs to know about the deployment."""

    model_config = SettingsConfigDict(env_prefix="DINSOS_", extra="ignore")

    environment: Environment = "development"
    default_office_id: str = Field(default="kukar", pattern=r"^[a-z0-9][a-z0-9-]{1,39}$")
    data_dir: Path = Path("data")
    # A file holding seconds to add to the clock: for end-to-end tests and drills only.
    clock_offset_file: Path | None = None
    log_level: str = "INFO"
    # "json": one JSON object a line, for a log collector (docker-compose); "text": one
    # readable line, for a console (the local run). Both carry the request id.
    log_format: Literal["json", "text"] = "text"
    # Largest request body any endpoint takes (a field photo of a few MB, in a form).
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    # Who may say, in X-Forwarded-For/-Proto, which client and scheme a request came from:
    # the HTTPS reverse proxy only (docker-compose gives it a fixed address). Anyone else's
    # headers are ignored, so a client cannot pick the address sign-in throttling counts.
    forwarded_allow_ips: str = "127.0.0.1"

    @model_validator(mode="after")
    def _refuse_test_clock_in_production(self) -> Self:
        if self.environment == "production" and self.clock_offset_file is not None:
            raise ValueError("DINSOS_CLOCK_OFFSET_FILE must not be set in production")
        return self

    def clock(self) -> Clock:
        """The clock this deployment runs on."""
        if self.clock_offset_file is not None:
            return OffsetFileClock(self.clock_offset_file)
        return SystemClock()


class ServiceSettings(BaseSettings):
    """Base of each service's settings: its database, where it listens, shared parts."""

    model_config = SettingsConfigDict(extra="ignore")

    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    common: CommonSettings = Field(default_factory=CommonSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    messaging: MessagingSettings = Field(default_factory=MessagingSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    # The offices' calendars: expiry dates, "today's runs" and due dates are local dates
    # (WIB Asia/Jakarta, WITA Asia/Makassar, WIT Asia/Jayapura), judged in the zone of the
    # record's office (shared.offices); `office_timezone` serves an office none names.
    office_timezone: str = DEFAULT_OFFICE_ZONE
    office_timezones: dict[str, str] = Field(
        default_factory=dict,
        description="Zones of offices beyond the known five (shared.offices), as JSON: "
        '{"samarinda": "Asia/Makassar"}.',
    )

    @model_validator(mode="after")
    def _no_open_door_beyond_this_machine(self) -> Self:
        # Without sign-in every caller acts as a user of every role in every office: fine
        # for a local run on loopback, never for a service the network can reach.
        if not self.auth.required and not is_loopback(self.host):
            prefix = self.model_config.get("env_prefix", "")
            raise ValueError(
                f"sign-in is off (DINSOS_AUTH_REQUIRED=false) but {prefix}HOST={self.host} "
                "would let anyone on the network act with every role. Listen on 127.0.0.1 "
                "(the default) or turn sign-in on."
            )
        return self

    @model_validator(mode="after")
    def _a_broker_in_production(self) -> Self:
        if self.common.environment == "production" and not self.messaging.broker_enabled:
            raise ValueError(
                "DINSOS_BROKER_ENABLED=false is for tests of one service's API: in production "
                "every announcement must reach the broker"
            )
        return self

    @field_validator("office_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in available_timezones():
            raise ValueError(f"unknown time zone {value!r}, e.g. Asia/Makassar")
        return value

    @field_validator("office_timezones")
    @classmethod
    def _known_zones(cls, value: dict[str, str]) -> dict[str, str]:
        if wrong := unknown_zones(value):
            raise ValueError(f"unknown time zones: {', '.join(wrong)} (e.g. Asia/Makassar)")
        return value

    def zone(self, office_id: str | None = None) -> ZoneInfo:
        """The zone an office keeps its calendar in (the default zone without an office)."""
        return office_zone(office_id, self.office_timezones, self.office_timezone)

    def resolved_database_url(self, service_name: str) -> str:
        """The configured URL, or a SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        path = self.common.data_dir / f"{service_name}.sqlite3"
        return f"sqlite:///{path}"


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything
