"""distribution's settings (`DISTRIBUTION_*`), on top of the shared ones."""

from __future__ import annotations

from functools import lru_cache
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.privacy import check_data_keys
from shared.settings import ServiceSettings


class DistributionSettings(ServiceSettings):
    """Where distribution listens, its database, how near an arrival must be, the office's
    regency, and the key that protects recipients' personal data."""

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
    # A permakanan parcel is handed over at the door: a proof position farther than this
    # from the registered home is kept but flagged for the coordinator to look at.
    proof_tolerance_m: float = Field(
        default=300,
        gt=0,
        description="Farthest a proof-of-delivery position may be from the address, in metres.",
    )
    province: str = Field(default="Kalimantan Timur", description="The office's province.")
    regency: str = Field(
        default="Kutai Kartanegara", description="The regency (kabupaten) the office serves."
    )
    max_photo_bytes: int = Field(
        default=2_000_000, ge=10_000, description="Largest proof photo or signature accepted."
    )
    # Fernet keys (urlsafe base64 of 32 bytes) for NIK, KK and phone numbers at rest,
    # newest first and comma-separated during a rotation (`NEW,OLD`). In development one
    # is generated into the data folder once; production must set it.
    data_key: SecretStr | None = Field(
        default=None, description="Fernet key(s) for personal data, newest first."
    )
    # A coordinator needs a recipient's numbers a few times a day; reading the registry
    # one reveal at a time is what this stops (services/distribution/reveals.py).
    reveal_daily_limit: int = Field(
        default=50,
        ge=1,
        le=100_000,
        description="Reveals and personal-data exports per user and office day (429 beyond).",
    )

    # The office's DTKS/DTSEN extract for a regency runs to a few thousand people; a
    # larger file is split, so that one import stays one reviewable report.
    max_import_bytes: int = Field(
        default=5_000_000, ge=10_000, description="Largest recipient spreadsheet (413 beyond)."
    )
    max_import_rows: int = Field(
        default=5000, ge=1, le=50_000, description="Most rows in one import (413 beyond)."
    )

    @model_validator(mode="after")
    def _data_keys_well_formed_and_set_in_production(self) -> Self:
        check_data_keys(
            self.common.environment,
            self.data_key,
            setting="DISTRIBUTION_DATA_KEY",
            protects="recipients' NIK, KK and phone numbers",
        )
        return self


@lru_cache
def get_settings() -> DistributionSettings:
    """Settings from the environment, read once per process."""
    return DistributionSettings()
