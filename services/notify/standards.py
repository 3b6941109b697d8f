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
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from services.notify.domain import Unit
from shared.contracts import notify as notify_contracts
from shared.contracts.intake import DocumentKind
from shared.contracts.union import event_types

# The service every incident is clocked against: emergency relief within 1x24 hours (1 x 24 jam).
EMERGENCY_RELIEF = "emergency_relief"
DEFAULT_FILE = "default.toml"
_OFFICE_FILE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")

_EVENT_NAMES = frozenset(cls.model_fields["event_type"].default for cls in event_types())
# notify's own events cannot start or stop a clock: the clock would drive itself.
_NOTIFY_EVENT_NAMES = frozenset(
    cls.model_fields["event_type"].default
    for cls in event_types()
    if cls.__module__ == notify_contracts.__name__
)

# Case kinds a standard may clock (shared.events.CaseType, but for stock).
CaseKind = Literal[
    "incident",
    "permakanan_round",
    "sandang_request",
    "procurement",
    "aid_application",
    "complaint",
]

# Where a limit comes from: the office's published decree, or the office's own choice
# where no decree sets one (shown as such, never filed under a decree).
Basis = Literal["decree", "office_setting"]
ServiceCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]


class StandardError(ValueError):
    """A standards file that cannot be used; the message names the file and the field."""


class _StandardModel(BaseModel):
    # A misspelt key (`target_hour`) must be refused, not silently ignored.
    model_config = ConfigDict(frozen=True, extra="forbid")


class StageBudget(_StandardModel):
    """One leg inside a clock (verify, dispatch, travel) and its share of the limit."""

    name: str = Field(min_length=1, max_length=40, description="The stage, e.g. verified.")
    ends_on: str = Field(description="Event type that completes the stage.")
    budget_hours: float = Field(gt=0, description="Hours the stage may take.")

    @field_validator("ends_on")
    @classmethod
    def _known_event(cls, value: str) -> str:
        return _check_event(value)


def _check_event(value: str) -> str:
    if value not in _EVENT_NAMES:
        known = ", ".join(sorted(_EVENT_NAMES))
        raise ValueError(f"unknown event type {value!r}; known: {known}")
    if value in _NOTIFY_EVENT_NAMES:
        raise ValueError(f"{value!r} is notify's own event and cannot drive a clock")
    return value


class ServiceStandard(_StandardModel):
    """The time limit of one service and the events that start, stop and cancel its clock.

    A service with no `starts_on` is published in the decree but has no events in the
    system (Balangan's filing limit, a rule intake applies): it is listed, and no clock
    can start for it.
    """

    name: str = Field(default="", description="The service as the decree names it.")
    basis: Basis = Field(
        default="decree",
        description="`decree`: the limit is the office's published standard (quote its "
        "words); `office_setting`: no decree sets it, the office chose it itself.",
    )
    quote: str = Field(
        default="", description="The decree's own words for the limit (for an audit)."
    )
    case_type: CaseKind = Field(description="The kind of case this service clocks.")
    limit: float = Field(gt=0, le=24 * 366, description="Time limit, counted in `unit`.")
    unit: Unit = Field(description="hours, days, working_days (hari kerja) or months.")
    warn_at: tuple[float, ...] = Field(
        default=(), description="Fractions of the limit at which to warn, increasing."
    )
    starts_on: str | None = Field(default=None, description="Event type that starts the clock.")
    stops_on: str | None = Field(default=None, description="Event type that stops it.")
    cancelled_by: tuple[str, ...] = Field(
        default=(), description="Event types that stop the clock without a verdict."
    )
    over_period: bool = Field(
        default=False,
        description="The clock runs over the case's own period (a permakanan round's "
        "period_start to period_end, office's dates), not `limit` from the start event: "
        "when the round is opened does not move it.",
    )
    before_start: tuple[str, ...] = Field(
        default=(),
        description="Event types of the case that come before its clock starts (a sandang "
        "request filed a year ahead): no clock waits for them.",
    )
    stages: tuple[StageBudget, ...] = Field(
        default=(), description="Legs inside the limit, in order (hours units only)."
    )
    travel_speed_kmh: float = Field(
        default=30.0, gt=0, le=200, description="Average road speed for predicted arrival."
    )
    required_documents: tuple[DocumentKind, ...] = Field(
        default=(),
        description="Document kinds the decree asks of every case of this service (quote "
        "its words in a comment); a case without one is counted in the evaluation.",
    )

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
    def _known_event(cls, value: str | None) -> str | None:
        return None if value is None else _check_event(value)

    @field_validator("cancelled_by", "before_start")
    @classmethod
    def _known_events(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_event(v) for v in value)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.starts_on is None) != (self.stops_on is None):
            raise ValueError("starts_on and stops_on are given together or not at all")
        if self.starts_on is not None and self.starts_on == self.stops_on:
            raise ValueError(f"starts_on and stops_on are both {self.starts_on!r}")
        if self.unit in (Unit.WORKING_DAYS, Unit.MONTHS) and self.limit != int(self.limit):
            raise ValueError(f"a limit in {self.unit.value} must be a whole number")
        if self.stages:
            if self.unit is not Unit.HOURS:
                raise ValueError("stage budgets need a limit in hours")
            total = sum(stage.budget_hours for stage in self.stages)
            if total > self.limit:
                raise ValueError(
                    f"stage budgets add up to {total:g} h, more than the limit {self.limit:g} h"
                )
        return self

    @property
    def clocked(self) -> bool:
        """Whether events exist that start a clock for this service."""
        return self.starts_on is not None

    @property
    def target_seconds(self) -> float:
        """The limit in seconds, for a limit in hours or days (others depend on the start)."""
        if self.unit is Unit.HOURS:
            return self.limit * 3600
        if self.unit is Unit.DAYS:
            return self.limit * 86400
        raise ValueError(f"a limit in {self.unit.value} has no fixed length")


class Escalation(_StandardModel):
    """How long a warning may wait for an acknowledgement on each rung of the ladder."""

    after_minutes: float = Field(default=30, gt=0, le=7 * 24 * 60)


class OfficeStandard(_StandardModel):
    """One office's published standard: its name, its time zone and its services."""

    office_name: str = Field(min_length=1, description="The office, as its decree names it.")
    time_zone: str = Field(
        description="IANA zone of the office (WIB Asia/Jakarta, WITA "
        "Asia/Makassar, WIT Asia/Jayapura)."
    )
    source: str = Field(default="", description="The decree this standard comes from.")
    escalation: Escalation = Field(default_factory=Escalation)
    closed_days: dict[date, str] = Field(
        default_factory=dict,
        description="Days this office is closed besides the national holidays and cuti "
        "bersama, each with its reason (e.g. the regency's anniversary).",
    )
    services: dict[ServiceCode, ServiceStandard]

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The office's time zone, for showing deadlines in local time."""
        return ZoneInfo(self.time_zone)


def indonesian_holidays() -> Container[date]:
    """The days government offices are closed nationwide, from the maintained `holidays`
    package (any year): public holidays and *cuti bersama*, the joint leave days the
    government adds around them (its GOVERNMENT category). A "hari kerja" of the decrees
    (000: "2 (dua) hari kerja", 004: "7-30 hari kerja") is a day the office is open."""
    return holidays.country_holidays("ID", categories=(holidays.PUBLIC, holidays.GOVERNMENT))


@dataclass(frozen=True)
class OfficeCalendar:
    """The days one office is closed: the nation's, and the office's own from its standard
    file (a regency's anniversary, a local leave day)."""

    national: Container[date]
    own: frozenset[date]

    def __contains__(self, day: object) -> bool:
        return day in self.own or day in self.national


@dataclass(frozen=True)
class Standards:
    """Every office's standard, and the default for an office without its own file."""

    offices: Mapping[str, OfficeStandard]
    default: OfficeStandard
    holidays: Container[date] = field(default_factory=indonesian_holidays)

    @cached_property
    def clocked_case_types(self) -> frozenset[str]:
        """Every case kind a service of some office (or of the default) clocks."""
        standards = (self.default, *self.offices.values())
        return frozenset(
            service.case_type for standard in standards for service in standard.services.values()
        )

    def for_office(self, office_id: str) -> OfficeStandard:
        """The office's own standard, or the default."""
        return self.offices.get(office_id, self.default)

    def closed_days(self, office_id: str) -> OfficeCalendar:
        """Days that are not working days for this office (working-day clocks skip them)."""
        return OfficeCalendar(self.holidays, frozenset(self.for_office(office_id).closed_days))

    def services_starting_on(
        self, office_id: str, event_type: str, case_type: str
    ) -> list[tuple[str, ServiceStandard]]:
        """The office's clocked services whose clock `event_type` starts for `case_type`."""
        return [
            (code, service)
            for code, service in self._services_of(office_id).items()
            if service.starts_on == event_type and service.case_type == case_type
        ]

    def _services_of(self, office_id: str) -> dict[str, ServiceStandard]:
        # An office with a file runs the services it lists and no other: one office's
        # published rules (Kukar's permakanan, sandang) are not another's. The default
        # file serves an office that has no file yet.
        return dict(self.for_office(office_id).services)

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
    if EMERGENCY_RELIEF not in default.services:
        raise StandardError(
            f"{folder}/{DEFAULT_FILE}: [services.{EMERGENCY_RELIEF}] is missing; "
            "every incident is clocked against it"
        )
    return Standards(offices=MappingProxyType(offices), default=default)
