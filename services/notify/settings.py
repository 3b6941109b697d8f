"""notify's settings (`NOTIFY_*`), on top of the shared ones."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings, is_loopback

# How the connection to the SMTP server is protected: STARTTLS (submission, 587),
# implicit TLS (submissions, 465), or nothing at all (a relay on this machine only).
SmtpSecurity = Literal["starttls", "tls", "none"]
SMTP_DEFAULT_PORTS: dict[SmtpSecurity, int] = {"starttls": 587, "tls": 465, "none": 25}


class NotifySettings(ServiceSettings):
    """Where notify listens, how often it checks clocks, and how it delivers webhooks."""

    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    port: int = Field(default=8004, ge=1, le=65535)
    # How often open clocks are compared with the time; a warning is late by at most this.
    tick_interval_s: float = Field(default=5.0, gt=0, le=3600)
    # A folder of `<office_id>.toml` standards; None means the files shipped in the package.
    standards_dir: Path | None = None
    webhook_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="Whole-request limit for one POST."
    )
    webhook_max_attempts: int = Field(default=8, ge=1, le=100)
    webhook_retry_base_s: float = Field(default=2.0, gt=0, le=3600)
    webhook_retry_cap_s: float = Field(default=300.0, gt=0, le=86_400)
    # How often the sender looks for due notifications (real time, not business time).
    webhook_poll_interval_s: float = Field(default=1.0, gt=0, le=60)
    # At most this many POSTs in flight at once, across all endpoints.
    webhook_concurrency: int = Field(default=20, ge=1, le=500)
    # Webhooks go to public internet addresses only (see services/notify/egress.py). Tests
    # and a local demo receive them on loopback; production refuses to start with this on.
    webhook_allow_private_networks: bool = False

    smtp_host: str = Field(default="127.0.0.1", description="SMTP server for e-mail.")
    # None: the usual port of `smtp_security` (587, 465 or 25).
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_sender: str = Field(default="notify@dinsos.local", max_length=320)
    # A provider's submission port wants STARTTLS; it is required, never opportunistic:
    # a server (or something in between) that does not offer it gets no mail at all.
    smtp_security: SmtpSecurity = "starttls"
    smtp_username: str | None = Field(default=None, min_length=1, max_length=320)
    smtp_password: SecretStr | None = None
    smtp_timeout_s: float = Field(
        default=30.0, gt=0, le=300, description="Whole-conversation limit for one e-mail."
    )
    # The office's own relay may carry a certificate of the office's own CA: trust that
    # CA (a PEM bundle) instead of the system's. None: the system's CAs.
    smtp_ca_file: Path | None = None
    # How often the live feed (SSE) looks for new entries.
    feed_poll_interval_s: float = Field(default=1.0, gt=0, le=60)

    # How often the board's page asks for its rows again (new cases, time left), besides
    # whenever the live feed announces something.
    board_refresh_s: float = Field(default=30.0, ge=0.5, le=3600)
    # Links from a case page to the other services' screens of the same case: URL
    # templates with `{case_id}` (e.g. `https://intake.dinsos.example/inbox/{case_id}`);
    # None leaves the link out. notify never calls them, a browser follows them.
    intake_case_url: str | None = Field(
        default=None, max_length=500, pattern=r"^https?://[^\s]*\{case_id\}[^\s]*$"
    )
    logistics_picking_url: str | None = Field(
        default=None, max_length=500, pattern=r"^https?://[^\s]*\{case_id\}[^\s]*$"
    )
    # A complaint's page in intake (`https://intake.dinsos.example/pengaduan/kelola/{case_id}`).
    intake_complaint_url: str | None = Field(
        default=None, max_length=500, pattern=r"^https?://[^\s]*\{case_id\}[^\s]*$"
    )

    # The board's map: raster tiles from the office's own tile server or a public one, as
    # a URL template with {z}, {x}, {y}; absolute with one host (its origin joins the
    # page's CSP img-src, so no {s} subdomains) or a path on this host. None: no tiles,
    # the map shows the regency's coast, districts and villages from
    # shared/regions_data/boundaries alone.
    map_tile_url: str | None = Field(
        default=None,
        max_length=500,
        pattern=r"^(https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?)?/[^\s\"'<>]*\{z\}[^\s\"'<>]*$",
    )
    # Whose tiles they are (a public server's terms ask for it), shown in the map's corner.
    map_tile_attribution: str = Field(default="", max_length=300)

    @field_validator("map_tile_url", mode="before")
    @classmethod
    def _empty_means_no_tiles(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _cap_not_below_base(self) -> Self:
        if self.webhook_retry_cap_s < self.webhook_retry_base_s:
            raise ValueError("NOTIFY_WEBHOOK_RETRY_CAP_S must be >= NOTIFY_WEBHOOK_RETRY_BASE_S")
        return self

    @field_validator("smtp_port", "smtp_username", "smtp_password", "smtp_ca_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # docker-compose passes an unset `${NOTIFY_SMTP_USERNAME:-}` as an empty string.
        return None if value == "" else value

    @model_validator(mode="after")
    def _smtp_login_and_security_agree(self) -> Self:
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError(
                "NOTIFY_SMTP_USERNAME and NOTIFY_SMTP_PASSWORD are set together or not at all"
            )
        if self.smtp_security == "none" and not is_loopback(self.smtp_host):
            if self.smtp_username is not None:
                raise ValueError(
                    "NOTIFY_SMTP_SECURITY=none would send the SMTP password in clear to "
                    f"{self.smtp_host}: use starttls (587) or tls (465)"
                )
            if self.common.environment == "production":
                raise ValueError(
                    "NOTIFY_SMTP_SECURITY=none is for a relay on this machine only "
                    f"(127.0.0.1, ::1, localhost), not {self.smtp_host}: use starttls or tls"
                )
        if self.smtp_ca_file is not None and not self.smtp_ca_file.is_file():
            raise ValueError(f"NOTIFY_SMTP_CA_FILE {self.smtp_ca_file} is not a readable file")
        return self

    def smtp_port_in_use(self) -> int:
        """The configured port, or the usual one of the security mode."""
        return self.smtp_port or SMTP_DEFAULT_PORTS[self.smtp_security]

    @model_validator(mode="after")
    def _public_webhooks_only_in_production(self) -> Self:
        if self.common.environment == "production" and self.webhook_allow_private_networks:
            raise ValueError(
                "NOTIFY_WEBHOOK_ALLOW_PRIVATE_NETWORKS is for tests and local demos only: "
                "in production a webhook must not reach the office's internal network"
            )
        return self


@lru_cache
def get_settings() -> NotifySettings:
    """Settings from the environment, read once per process."""
    return NotifySettings()


def notify_settings(runtime: ServiceRuntime) -> NotifySettings:
    """The runtime's settings as notify's own class (background tasks need its fields)."""
    settings = runtime.settings
    if not isinstance(settings, NotifySettings):
        raise TypeError(f"notify needs NotifySettings, got {type(settings).__name__}")
    return settings
