"""logistics' settings (`LOGISTICS_*`), on top of the shared ones."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class LogisticsSettings(ServiceSettings):
    """Where logistics listens, its database, and the office's local time zone."""

    model_config = SettingsConfigDict(env_prefix="LOGISTICS_", extra="ignore")

    port: int = Field(default=8002, ge=1, le=65535)
    # Relief must arrive within this many hours of the report; a lot has to stay good
    # until then to be sent.
    delivery_window_hours: int = Field(default=24, ge=1, le=24 * 90)
    # Program goods (permakanan, sandang) must stay good this many days after the date
    # they are due out: the time the deliveries of a round take.
    program_delivery_days: int = Field(default=7, ge=0, le=90)
    # How often expired lots are quarantined and near-expiry alerts sent (0: never, only
    # through POST /alerts/scan).
    alert_scan_interval_s: float = Field(default=3600, ge=0)


@lru_cache
def get_settings() -> LogisticsSettings:
    """Settings from the environment, read once per process."""
    return LogisticsSettings()
