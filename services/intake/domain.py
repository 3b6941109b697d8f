"""intake's rules, free of I/O: where an incident is, whether an address and a NIK can be
real, when two reports are one event, what a photo must be, and who may decide when."""

from __future__ import annotations

import enum
import hashlib
import hmac
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar
from uuid import UUID

from shared.contracts.envelope import Address, GeoPoint, HazardType
from shared.errors import Conflict, Oversized, Unprocessable, UnsupportedFormat
from shared.geo import distance_km, outside_indonesia_detail, within_indonesia
from shared.images import DEFAULT_MAX_PIXELS, NotAPicture, TooManyPixels, clean_picture
from shared.regions import AddressProblem, InvalidNik, Region, Regions, check_nik
from shared.regions import postal_code_well_formed as _postal_code_well_formed

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


# --- addresses and NIKs --------------------------------------------------------------


class AddressRefused(Unprocessable):
    """An address part that is not where the report says; carries suggestions."""

    def __init__(self, problem: AddressProblem) -> None:
        super().__init__(str(problem), code=f"{problem.level}_not_found")
        self.level = problem.level
        self.suggestions = list(problem.suggestions)


def check_address(address: Address, hierarchy: Regions) -> Region | None:
    """The most specific region the address names, checked top-down against the
    Kemendagri hierarchy; AddressRefused (with suggestions) at the first wrong part.

    A village given with its regency but without its district is looked for in every
    district of that regency. The data has no postal codes: a kode pos is checked for
    form only.
    """
    if address.postal_code is not None and not _postal_code_well_formed(address.postal_code):
        raise Unprocessable(
            f"kode pos {address.postal_code!r} is not five digits from 10000 to 99999",
            code="postal_code_malformed",
        )
    try:
        if address.village and not address.district and address.regency:
            above = hierarchy.resolve(province=address.province, regency=address.regency)
            return _village_anywhere_in(hierarchy, above[-1], address.village)
        matched = hierarchy.resolve(
            province=address.province,
            regency=address.regency,
            district=address.district,
            village=address.village,
        )
    except AddressProblem as problem:
        raise AddressRefused(problem) from problem
    return matched[-1] if matched else None


def _village_anywhere_in(hierarchy: Regions, regency: Region, village: str) -> Region:
    districts = hierarchy.within(regency.code, "district")
    found: list[Region] = []
    suggestions: list[str] = []
    for district in districts:
        try:
            found.append(hierarchy.find("village", village, district.code))
        except AddressProblem as problem:
            suggestions += [f"{name} ({district.name})" for name in problem.suggestions]
    if len(found) == 1:
        return found[0]
    if found:
        raise AddressProblem(
            "village",
            village,
            f"{regency.name} (several districts have one; give the kecamatan)",
            [f"{v.name} ({hierarchy.by_code[v.parent_code or ''].name})" for v in found],
        )
    raise AddressProblem("village", village, regency.name, suggestions[:3])


def check_reporter_nik(nik: str) -> None:
    """A NIK must have the right form and a real district code, or it is refused.

    The detail never repeats the NIK: it is personal data.
    """
    try:
        check_nik(nik)
    except InvalidNik as invalid:
        raise Unprocessable(f"NIK refused: {invalid}", code=f"nik_{invalid.reason}") from invalid


def nik_digest(nik: str, key: bytes) -> str:
    """A keyed hash of the NIK: equal NIKs match, the NIK cannot be read back."""
    return hmac.new(key, nik.encode(), hashlib.sha256).hexdigest()


# --- duplicates ------------------------------------------------------------------------


@dataclass(frozen=True)
class Sighting:
    """What a report says about the event: what, when, and where (point and/or village)."""

    hazard: HazardType
    happened_at: datetime
    point: GeoPoint | None
    village_code: str | None


@dataclass(frozen=True)
class OpenIncident:
    """An incident a new report could be a duplicate of."""

    id: UUID
    reported_at: datetime
    sighting: Sighting


@dataclass(frozen=True)
class DuplicateRule:
    """How close in space and time two reports of one hazard must be to be one event."""

    radius_m: float
    window: timedelta

    @property
    def enabled(self) -> bool:
        """A zero radius or window switches linking off."""
        return self.radius_m > 0 and self.window > timedelta(0)


@dataclass(frozen=True)
class DuplicateMatch:
    """The incident a report joins, and how far apart the two are."""

    incident_id: UUID
    distance_m: float
    minutes_apart: float


# Lower bounds on lengths on the WGS84 ellipsoid, for a search box that may be too large
# but never too small. The meridian's radius of curvature is smallest at the equator,
# a(1 - e^2) = 6,335,439 m, so no path between two latitudes is shorter than 110,574 m per
# degree between them; and a parallel's radius is N cos(lat) >= a cos(lat), so no path
# that stays between latitudes +-L is shorter than 111,319 m * cos(L) per degree of
# longitude it crosses.
_MIN_M_PER_DEGREE_LAT = 110_574.0
_M_PER_DEGREE_LON_AT_EQUATOR = 111_319.0
_BOX_MARGIN = 1.01  # against rounding; a slightly larger box costs nothing


@dataclass(frozen=True)
class SearchBox:
    """Latitude and longitude bounds holding every point within a radius of a point."""

    lat_min: float
    lat_max: float
    lon_min: float
    lon_max: float


def duplicate_search_box(point: GeoPoint, radius_m: float) -> SearchBox | None:
    """A box around `point` that holds every point within `radius_m` of it (geodesic), so
    the database can skip far incidents before the exact, costly distance is computed.
    None when no cheap bound holds (near a pole).

    A geodesic of length <= r stays within r / 110,574 m degrees of latitude of both its
    ends, so it never comes nearer a pole than |lat| + 2 * that; the longitude bound uses
    that latitude. (Points are inside Indonesia: no box crosses the antimeridian.)
    """
    dlat = radius_m / _MIN_M_PER_DEGREE_LAT * _BOX_MARGIN
    farthest = abs(point.lat) + 2 * dlat
    if farthest >= 89.0:
        return None
    metres_per_degree_lon = _M_PER_DEGREE_LON_AT_EQUATOR * math.cos(math.radians(farthest))
    dlon = radius_m / metres_per_degree_lon * _BOX_MARGIN
    return SearchBox(point.lat - dlat, point.lat + dlat, point.lon - dlon, point.lon + dlon)


def find_duplicate(
    report: Sighting, candidates: Sequence[OpenIncident], rule: DuplicateRule
) -> DuplicateMatch | None:
    """The first-reported open incident of the same hazard within the rule's radius and
    window, or None. Without coordinates on either side, the same village counts as
    close (distance 0); with neither, nothing can be said and no link is made."""
    if not rule.enabled:
        return None
    matches: list[tuple[datetime, DuplicateMatch]] = []
    for incident in candidates:
        seen = incident.sighting
        if seen.hazard is not report.hazard:
            continue
        apart = abs(seen.happened_at - report.happened_at)
        if apart > rule.window:
            continue
        distance = _distance_m(report, seen)
        if distance is None or distance > rule.radius_m:
            continue
        matches.append(
            (
                incident.reported_at,
                DuplicateMatch(incident.id, round(distance, 1), apart.total_seconds() / 60),
            )
        )
    if not matches:
        return None
    return min(matches, key=lambda pair: pair[0])[1]


def _distance_m(a: Sighting, b: Sighting) -> float | None:
    if a.point is not None and b.point is not None:
        return distance_km(a.point, b.point) * 1000
    if a.village_code is not None and a.village_code == b.village_code:
        return 0.0
    return None


# --- follow-ups -------------------------------------------------------------------------


def ensure_open_for_follow_up(status: IncidentStatus) -> None:
    """A rejected incident takes no follow-ups; reported and verified ones do."""
    if status is IncidentStatus.REJECTED:
        raise Conflict(
            "incident was rejected; send a new report instead of a follow-up",
            code="incident_closed",
        )


# --- photos ----------------------------------------------------------------------------

PHOTO_FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}


class PhotoTooLarge(Oversized):
    """The upload is over the size limit."""

    code: ClassVar[str] = "photo_too_large"


class NotAnImage(UnsupportedFormat):
    """The bytes are not a JPEG, PNG or WebP picture, whatever the content type says."""

    code: ClassVar[str] = "not_an_image"


@dataclass(frozen=True)
class PhotoFacts:
    """An accepted photo as it is stored: re-encoded without its metadata."""

    media_type: str
    extension: str
    width: int
    height: int
    size_bytes: int
    sha256: str
    data: bytes


def inspect_photo(data: bytes, max_bytes: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> PhotoFacts:
    """Accept a photo only if it is small enough and its bytes really are a picture; what
    is kept is the picture upright and stripped of EXIF (the reporter's GPS position,
    the phone's make and serial) and every other metadata."""
    if len(data) > max_bytes:
        raise PhotoTooLarge(f"photo is over the limit of {max_bytes // 1024} KiB")
    if not data:
        raise Unprocessable("the photo file is empty", code="photo_empty")
    try:
        picture = clean_picture(data, max_pixels=max_pixels)
    except TooManyPixels as exc:
        raise Unprocessable(str(exc), code="photo_too_many_pixels") from exc
    except NotAPicture as exc:
        raise NotAnImage(f"the file is not a readable JPEG, PNG or WebP picture ({exc})") from exc
    media_type, extension = PHOTO_FORMATS[picture.format]
    return PhotoFacts(
        media_type=media_type,
        extension=extension,
        width=picture.width,
        height=picture.height,
        size_bytes=len(picture.data),
        sha256=hashlib.sha256(picture.data).hexdigest(),
        data=picture.data,
    )
