"""Each office's service standard (Standar Pelayanan), kept as data: one TOML file per
office in `standards/`, named by its office id, plus `default.toml` for an office with no
file of its own.

Offices publish different limits for the same service, so the limits are data, not code.
Every file is validated when the service starts: a wrong target, warning fractions out
of order, an event name that does not exist or an unknown time zone stops the start with
the file and field named, instead of surfacing as a wrong clock weeks later.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from shared.events import event_types

# The service every incident is clocked against: emergency relief within 1x24 hours (1 x 24 jam).
EMERGENCY_RELIEF = "emergency_relief"
DEFAULT_FILE = "default.toml"
_OFFICE_FILE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")

_EVENT_NAMES = frozenset(cls.model_fields["event_type"].default for cls in event_types())
# notify's own events cannot start or stop a clock: the clock would drive itself.
_NOTIFY_EVENT_NAMES = frozenset(
    cls.model_fields["event_type"].default
    for cls in event_types()
    if cls.__name__.startswith("Response")
)

ServiceCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]


class StandardError(ValueError):
    """A standards file that cannot be used; the message names the file and the field."""


class _StandardModel(BaseModel):
    # A misspelt key (`target_hour`) must be refused, not silently ignored.
    model_config = ConfigDict(frozen=True, extra="forbid")


class ServiceStandard(_StandardModel):
    """The time limit of one service and the events that start and stop its clock."""

    name: str = Field(default="", description="The service as the decree names it.")
    target_hours: float = Field(gt=0, le=24 * 366, description="Time limit in hours.")
    warn_at: tuple[float, ...] = Field(
        default=(), description="Fractions of the target at which to warn, increasing."
    )
    starts_on: str = Field(description="Event type that starts the clock.")
    stops_on: str = Field(description="Event type that stops it (aid at the location).")

    @field_validator("warn_at")
    @classmethod
    def _fractions_increase_within_zero_one(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        outside = [f for f in value if not 0 < f < 1]
        if outside:
            raise ValueError(f"warning fractions must lie strictly between 0 and 1: {outside}")
        if any(a >= b for a, b in itertools.pairwise(value)):
            raise ValueError(f"warning fractions must be strictly increasing: {list(value)}")
        return value

    @field_validator("starts_on", "stops_on")
    @classmethod
    def _known_event(cls, value: str) -> str:
        if value not in _EVENT_NAMES:
            known = ", ".join(sorted(_EVENT_NAMES))
            raise ValueError(f"unknown event type {value!r}; known: {known}")
        if value in _NOTIFY_EVENT_NAMES:
            raise ValueError(f"{value!r} is notify's own event and cannot drive a clock")
        return value

    @model_validator(mode="after")
    def _start_differs_from_stop(self) -> Self:
        if self.starts_on == self.stops_on:
            raise ValueError(f"starts_on and stops_on are both {self.starts_on!r}")
        return self

    @property
    def target_seconds(self) -> float:
        """The time limit in seconds."""
        return self.target_hours * 3600


class OfficeStandard(_StandardModel):
    """One office's published standard: its name, its time zone and its services."""

    office_name: str = Field(min_length=1, description="The office, as its decree names it.")
    time_zone: str = Field(
        description="IANA zone of the office (WIB Asia/Jakarta, WITA "
        "Asia/Makassar, WIT Asia/Jayapura)."
    )
    source: str = Field(default="", description="The decree this standard comes from.")
    services: dict[ServiceCode, ServiceStandard]

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("services")
    @classmethod
    def _has_emergency_relief(cls, value: dict[str, ServiceStandard]) -> dict[str, ServiceStandard]:
        if EMERGENCY_RELIEF not in value:
            raise ValueError(
                f"[services.{EMERGENCY_RELIEF}] is missing; every incident is clocked against it"
            )
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The office's time zone, for showing deadlines in local time."""
        return ZoneInfo(self.time_zone)


@dataclass(frozen=True)
class Standards:
    """Every office's standard, and the default for an office without its own file."""

    offices: Mapping[str, OfficeStandard]
    default: OfficeStandard

    def for_office(self, office_id: str) -> OfficeStandard:
        """The office's own standard, or the default."""
        return self.offices.get(office_id, self.default)

    def service(self, office_id: str, code: str = EMERGENCY_RELIEF) -> ServiceStandard:
        """One service of an office's standard (the default office's when it lacks one)."""
        standard = self.for_office(office_id)
        return standard.services.get(code) or self.default.services[code]


def parse_standard(text: str, source: str) -> OfficeStandard:
    """Parse and validate one file's text; `source` names it in every error."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StandardError(f"{source}: not valid TOML: {exc}") from exc
    try:
        return OfficeStandard.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc']) or '(file)'}: "
            f"{err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise StandardError(f"{source}: {problems}") from None


def packaged_standards() -> Traversable:
    """The standards folder shipped inside the package."""
    return files("services.notify").joinpath("standards")


def load_standards(directory: Path | Traversable | None = None) -> Standards:
    """Read every `*.toml` of `directory` (default: the shipped files) and validate them.

    Raises `StandardError` (a ValueError) naming the file and field of the first problem.
    """
    folder = directory if directory is not None else packaged_standards()
    if not folder.is_dir():
        raise StandardError(f"{folder}: standards folder not found")
    entries = sorted(
        (e for e in folder.iterdir() if e.name.endswith(".toml")), key=lambda e: e.name
    )
    return _standards_from(entries, folder)


def _standards_from(entries: Iterable[Traversable], folder: Path | Traversable) -> Standards:
    offices: dict[str, OfficeStandard] = {}
    default: OfficeStandard | None = None
    for entry in entries:
        source = str(entry)
        office_id = entry.name.removesuffix(".toml")
        standard = parse_standard(entry.read_text(encoding="utf-8"), source)
        if entry.name == DEFAULT_FILE:
            default = standard
        elif _OFFICE_FILE.match(office_id):
            offices[office_id] = standard
        else:
            raise StandardError(
                f"{source}: file name must be an office id "
                "(lowercase letters, digits, '-') or 'default'"
            )
    if default is None:
        raise StandardError(
            f"{folder}: {DEFAULT_FILE} is missing; it serves offices without their own file"
        )
    return Standards(offices=MappingProxyType(offices), default=default)
