"""intake's rules, free of I/O: where an incident is, and who may decide on it when."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from shared.events import Address, GeoPoint
from shared.geo import outside_indonesia_detail, within_indonesia
from shared.http import Conflict, Unprocessable

# A report may describe something that happened a while ago (a village without signal),
# but not in the future beyond a phone clock's plausible drift.
CLOCK_DRIFT_ALLOWANCE = timedelta(minutes=15)
OLDEST_REPORTABLE = timedelta(days=30)


class IncidentStatus(enum.StrEnum):
    """Where a report stands in validation."""

    REPORTED = "reported"
    VERIFIED = "verified"
    REJECTED = "rejected"


class LocationSource(enum.StrEnum):
    """How intake knows where the incident is."""

    GPS = "gps"
    GEOCODED = "geocoded"
    COORDINATOR = "coordinator"
    UNRESOLVED = "unresolved"


def check_position(point: GeoPoint) -> GeoPoint:
    """A position we can serve, or a 422 saying what is wrong with it."""
    if not within_indonesia(point):
        raise Unprocessable(outside_indonesia_detail(point), code="location_outside_indonesia")
    return point


def check_happened_at(happened_at: datetime, received_at: datetime) -> None:
    """The disaster time must be before the report (allowing clock drift) and recent."""
    if happened_at > received_at + CLOCK_DRIFT_ALLOWANCE:
        raise Unprocessable(
            f"happened_at {happened_at.isoformat()} is in the future "
            f"(report received {received_at.isoformat()})",
            code="happened_in_future",
        )
    if happened_at < received_at - OLDEST_REPORTABLE:
        raise Unprocessable(
            f"happened_at {happened_at.isoformat()} is more than "
            f"{OLDEST_REPORTABLE.days} days before the report; file it as a late case",
            code="happened_too_long_ago",
        )


def check_where(location: GeoPoint | None, address: Address | None) -> None:
    """A report must say where: coordinates, or an address down to the village."""
    if location is not None:
        check_position(location)
        return
    if address is None or not (address.village and (address.district or address.regency)):
        raise Unprocessable(
            "give the GPS position, or an address with at least the village and its "
            "district or regency",
            code="location_missing",
        )


def geocoding_query(address: Address) -> str:
    """The free-text query a geocoder understands, most specific part first."""
    parts = [address.village, address.district, address.regency, address.province]
    return ", ".join(part for part in parts if part) + ", Indonesia"


def ensure_open_for_decision(status: IncidentStatus) -> None:
    """Only a report not yet decided can be verified or rejected."""
    if status is not IncidentStatus.REPORTED:
        raise Conflict(
            f"incident is already {status.value}; a decision is final",
            code="incident_already_decided",
        )


def destination_for_verification(
    known: GeoPoint | None, given_by_coordinator: GeoPoint | None
) -> tuple[GeoPoint, LocationSource | None]:
    """Where aid must go: the coordinator's point wins; without any point, refuse."""
    if given_by_coordinator is not None:
        return check_position(given_by_coordinator), LocationSource.COORDINATOR
    if known is None:
        raise Unprocessable(
            "the incident has no coordinates (its address could not be geocoded); "
            "give `location` with the verification",
            code="destination_unknown",
        )
    return known, None
