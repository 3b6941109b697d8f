"""intake's settings (`INTAKE_*`), on top of the shared ones."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    """Where intake listens, its database, and the geocoder it asks for coordinates."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    port: int = Field(default=8001, ge=1, le=65535)
    # A Nominatim-compatible service, e.g. https://nominatim.openstreetmap.org or an
    # office's own instance. Empty: addresses are kept and the coordinator sets the point.
    geocoder_url: str = ""
    geocoder_user_agent: str = "dinsos-logistics/0.1 (Dinas Sosial relief logistics)"
    geocoder_timeout_s: float = Field(default=5.0, gt=0, le=60)


@lru_cache
def get_settings() -> IntakeSettings:
    """Settings from the environment, read once per process."""
    return IntakeSettings()
