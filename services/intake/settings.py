"""intake's settings (`INTAKE_*`), on top of the shared ones."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.privacy import check_data_keys
from shared.settings import ServiceSettings


class FilingLimit(BaseModel):
    """How long after a disaster an office takes aid applications, in its decree's words."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    months: int = Field(ge=1, le=60)
    quote: str = Field(min_length=1, max_length=500)


def balangan_filing_limit() -> dict[str, FilingLimit]:
    """Balangan's rule (004, "Bantuan Sosial Korban Bencana", Sistem, Mekanisme dan
    Prosedur a.): the one office of the five that publishes a filing deadline."""
    return {
        "balangan": FilingLimit(
            months=3,
            quote="Permohonan proposal bantuan korban bencana disampaikan dalam batas waktu "
            "paling lambat 3 (tiga) bulan sejak terjadinya peristiwa bencana (Keputusan "
            "Kepala Dinas Sosial Kabupaten Balangan Nomor 188.45/076/DINSOS-BLG/2024)",
        )
    }


# Only good for development and tests: production must set its own (see the validator).
DEVELOPMENT_NIK_KEY = "dev-only-nik-key-change-me"


class IntakeSettings(ServiceSettings):
    """Where intake listens, its database, the geocoder, and the field-report rules."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    port: int = Field(default=8001, ge=1, le=65535)
    # A Nominatim-compatible service, e.g. https://nominatim.openstreetmap.org or an
    # office's own instance. Empty: addresses are kept and the coordinator sets the point.
    geocoder_url: str = ""
    geocoder_user_agent: str = "dinsos-logistics/0.1 (Dinas Sosial relief logistics)"
    geocoder_timeout_s: float = Field(default=5.0, gt=0, le=60)

    # Two reports of the same hazard this close in space and time describe one event.
    # Either set to 0 switches duplicate linking off (e.g. for load tests at one site).
    duplicate_radius_m: float = Field(default=1_000.0, ge=0, le=100_000)
    duplicate_window_h: float = Field(default=6.0, ge=0, le=24 * 7)

    photo_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)
    # Photos live on disk here; empty: `<DINSOS_DATA_DIR>/intake-photos`.
    photo_dir: Path | None = None

    # Documents of a case (letters, site surveys): a PDF, JPEG or PNG up to this size,
    # kept on disk here (empty: `<DINSOS_DATA_DIR>/intake-documents`).
    document_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)
    document_dir: Path | None = None
    # Offices whose Standar Pelayanan puts the leadership's disposition before validation:
    # Kukar's (000) "Disposisi pimpinan dan validasi informasi". A verification there is
    # refused until one is recorded. JSON list, e.g. INTAKE_DISPOSITION_REQUIRED_OFFICES=
    # '["kukar","balangan"]'; '[]' for none.
    disposition_required_offices: frozenset[str] = frozenset({"kukar"})
    # Offices whose Standar Pelayanan sets a last day for filing an aid application after
    # the disaster (services/intake/aid_applications.py): calendar months from the day it
    # happened, and the decree's words quoted when a later one is refused. JSON, e.g.
    # INTAKE_AID_FILING_LIMITS='{"balangan": {"months": 3, "quote": "..."}}'; '{}': none.
    aid_filing_limits: dict[str, FilingLimit] = Field(default_factory=balangan_filing_limit)

    # A NIK is stored only as HMAC-SHA256 under this key, never in clear.
    nik_hash_key: SecretStr = SecretStr(DEVELOPMENT_NIK_KEY)
    # Fernet keys (urlsafe base64 of 32 bytes) for reporters' phone numbers at rest,
    # newest first and comma-separated during a rotation (`NEW,OLD`). In development one
    # is generated into the data folder once; production must set it.
    data_key: SecretStr | None = Field(
        default=None, description="Fernet key(s) for phone numbers, newest first."
    )

    @model_validator(mode="after")
    def _refuse_default_nik_key_in_production(self) -> Self:
        if (
            self.common.environment == "production"
            and self.nik_hash_key.get_secret_value() == DEVELOPMENT_NIK_KEY
        ):
            raise ValueError("INTAKE_NIK_HASH_KEY must be set to a secret in production")
        check_data_keys(
            self.common.environment,
            self.data_key,
            setting="INTAKE_DATA_KEY",
            protects="reporters' phone numbers",
        )
        return self

    def resolved_photo_dir(self) -> Path:
        """Where uploaded photos are kept."""
        return self.photo_dir or self.common.data_dir / "intake-photos"

    def resolved_document_dir(self) -> Path:
        """Where the documents of cases are kept."""
        return self.document_dir or self.common.data_dir / "intake-documents"


@lru_cache
def get_settings() -> IntakeSettings:
    """Settings from the environment, read once per process."""
    return IntakeSettings()
