"""distribution's settings (`DISTRIBUTION_*`), on top of the shared ones."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class DistributionSettings(ServiceSettings):
    """Where distribution listens, its database, and how near an arrival must be."""

    model_config = SettingsConfigDict(env_prefix="DISTRIBUTION_", extra="ignore")

    port: int = Field(default=8003, ge=1, le=65535)
    # Phone GPS in a flooded village is rarely better than a few hundred metres, and the
    # posko may sit at the edge of the affected area: 2 km accepts that, but not a team
    # that reports "arrived" from the warehouse or the next village.
    arrival_tolerance_m: float = Field(
        default=2000,
        gt=0,
        description="Farthest an arrival position may be from the destination, in metres.",
    )


@lru_cache
def get_settings() -> DistributionSettings:
    """Settings from the environment, read once per process."""
    return DistributionSettings()
