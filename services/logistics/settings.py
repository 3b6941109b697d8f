"""logistics' settings (`LOGISTICS_*`), on top of the shared ones."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class LogisticsSettings(ServiceSettings):
    """Where logistics listens, its database, and the office's local time zone."""

    model_config = SettingsConfigDict(env_prefix="LOGISTICS_", extra="ignore")

    port: int = Field(default=8002, ge=1, le=65535)
    # Expiry dates on packaging are local dates: judge them in the office's zone
    # (WIB Asia/Jakarta, WITA Asia/Makassar, WIT Asia/Jayapura).
    office_timezone: str = "Asia/Makassar"
    # Relief must arrive within this many hours of the report; a lot has to stay good
    # until then to be sent.
    delivery_window_hours: int = Field(default=24, ge=1, le=24 * 90)
    # Program goods (permakanan, sandang) must stay good this many days after the date
    # they are due out: the time the deliveries of a round take.
    program_delivery_days: int = Field(default=7, ge=0, le=90)
    # How often expired lots are quarantined and near-expiry alerts sent (0: never, only
    # through POST /alerts/scan).
    alert_scan_interval_s: float = Field(default=3600, ge=0)

    @field_validator("office_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in available_timezones():
            raise ValueError(f"unknown time zone {value!r}, e.g. Asia/Makassar")
        return value

    def zone(self) -> ZoneInfo:
        """The office's time zone."""
        return ZoneInfo(self.office_timezone)


@lru_cache
def get_settings() -> LogisticsSettings:
    """Settings from the environment, read once per process."""
    return LogisticsSettings()
