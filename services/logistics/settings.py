"""logistics' settings (`LOGISTICS_*`), on top of the shared ones."""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from shared.contracts.envelope import ShortText
from shared.nip import Nip
from shared.settings import ServiceSettings


class OfficeHead(BaseModel):
    """Who signs "Mengetahui" on the office's handover records (BAST): the head of the
    office, or the official signing for them ("a.n. Kepala Dinas ..." in `title`)."""

    name: ShortText = Field(examples=["H. RIBOWO, S.Pd, M.AP"])
    nip: Nip
    title: ShortText = Field(examples=["Kepala Dinas Sosial Kabupaten Balangan"])
    rank: ShortText | None = Field(default=None, examples=["Pembina Utama Muda"])
    place: ShortText = Field(
        description="Where the office signs its papers, its seat.", examples=["Paringin"]
    )


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
    # Per office, who signs "Mengetahui" on a BAST (004: papers are signed and stamped).
    # An office without one gets blank lines to fill in by hand.
    office_heads: dict[str, OfficeHead] = Field(
        default_factory=dict,
        description='As JSON: {"balangan": {"name": "H. RIBOWO, S.Pd, M.AP", "nip": '
        '"19661002 199001 1 002", "title": "Kepala Dinas Sosial Kabupaten Balangan", '
        '"rank": "Pembina Utama Muda", "place": "Paringin"}}.',
    )


@lru_cache
def get_settings() -> LogisticsSettings:
    """Settings from the environment, read once per process."""
    return LogisticsSettings()
