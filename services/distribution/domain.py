"""distribution's rules, free of I/O: the steps of a delivery, when the team has really
arrived, failure reasons and what follows them, the permakanan plan, visiting order of a
run, masking of personal data, and what counts as a proof image."""

from __future__ import annotations

import calendar
import enum
import itertools
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Protocol, TypeVar

# geographiclib (geopy's own geodesic engine) ships no type information.
from geographiclib.geodesic import Geodesic  # type: ignore[import-untyped]  # geographiclib ships no types

from shared.contracts.envelope import GeoPoint
from shared.errors import Conflict, Unprocessable
from shared.geo import distance_km, outside_indonesia_detail, within_indonesia
from shared.images import DEFAULT_MAX_PIXELS, NotAPicture, TooManyPixels, clean_picture
from shared.invariants import present

K = TypeVar("K", bound=Hashable)


class DeliveryStatus(enum.StrEnum):
    """Where a delivery stands, from the released dispatch to the handover."""

    CREATED = "created"
    ASSIGNED = "assigned"
    IN_TRANSIT = "in_transit"
    ARRIVED = "arrived"
    DELIVERED = "delivered"
    FAILED = "failed"


class DeliveryKind(enum.StrEnum):
    """What a delivery is for: incident relief, a permakanan parcel, a sandang handover."""

    INCIDENT = "incident"
    PERMAKANAN = "permakanan"
    SANDANG = "sandang"


# Each step forward, and failure from anywhere before the handover. A handed-over
# delivery is settled, and a failed one stays failed: goods are re-sent as a new
# delivery (a re-attempt) or returned, never by reviving an old delivery.
TRANSITIONS: dict[DeliveryStatus, frozenset[DeliveryStatus]] = {
    DeliveryStatus.CREATED: frozenset({DeliveryStatus.ASSIGNED, DeliveryStatus.FAILED}),
    DeliveryStatus.ASSIGNED: frozenset({DeliveryStatus.IN_TRANSIT, DeliveryStatus.FAILED}),
    DeliveryStatus.IN_TRANSIT: frozenset({DeliveryStatus.ARRIVED, DeliveryStatus.FAILED}),
    DeliveryStatus.ARRIVED: frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.FAILED}),
    DeliveryStatus.DELIVERED: frozenset(),
    DeliveryStatus.FAILED: frozenset(),
}
# A program parcel's proof of delivery carries its own GPS position and time, so the
# team may confirm the handover straight from "in transit" with one tap.
PROGRAM_SHORTCUTS: dict[DeliveryStatus, frozenset[DeliveryStatus]] = {
    DeliveryStatus.IN_TRANSIT: frozenset({DeliveryStatus.DELIVERED}),
}


class Move(enum.Enum):
    """What a requested transition amounts to."""

    APPLY = "apply"
    # The step that produced the current state, sent again (a phone that lost the
    # response retries): answer with the delivery as it is and announce nothing.
    ALREADY_THERE = "already_there"


def check_transition(
    current: DeliveryStatus, wanted: DeliveryStatus, kind: DeliveryKind = DeliveryKind.INCIDENT
) -> Move:
    """Whether a delivery in `current` may become `wanted`; a refusal is a 409."""
    if current == wanted:
        return Move.ALREADY_THERE
    allowed = TRANSITIONS[current]
    if kind is not DeliveryKind.INCIDENT:
        allowed = allowed | PROGRAM_SHORTCUTS.get(current, frozenset())
    if wanted in allowed:
        return Move.APPLY
    then = f"next it can be {' or '.join(sorted(allowed))}" if allowed else "that is final"
    raise Conflict(
        f"delivery is {current.value} and cannot become {wanted.value}; {then}",
        code="invalid_delivery_transition",
    )


def check_in_indonesia(position: GeoPoint, *, code: str = "position_outside_indonesia") -> None:
    """A position outside Indonesia is a typo, not a place: 422."""
    if not within_indonesia(position):
        raise Unprocessable(outside_indonesia_detail(position), code=code)


def check_arrival(position: GeoPoint, destination: GeoPoint, tolerance_m: float) -> float:
    """The distance in metres from `position` to `destination`, if it counts as arrived.

    A position outside Indonesia is a typo, not a place; one farther than the tolerance
    means the team is not there yet (or the phone's fix is stale). Both are a 422.
    """
    check_in_indonesia(position)
    distance_m = distance_km(position, destination) * 1000
    if distance_m > tolerance_m:
        raise Unprocessable(
            f"position is {distance_m:.0f} m from the destination; arrival counts within "
            f"{tolerance_m:.0f} m",
            code="arrival_too_far",
        )
    return distance_m


@dataclass(frozen=True)
class PositionCheck:
    """How far a reported position is from the address, and whether that is suspicious."""

    distance_m: float
    far_from_address: bool


def check_proof_position(
    position: GeoPoint, address: GeoPoint, tolerance_m: float
) -> PositionCheck:
    """A program parcel's position is kept however far it is (the recipient may have
    met the team at the roadside), but beyond the tolerance it is flagged for review."""
    check_in_indonesia(position)
    distance_m = distance_km(position, address) * 1000
    return PositionCheck(distance_m=distance_m, far_from_address=distance_m > tolerance_m)


# --- failure and what follows ---------------------------------------------------------


class FailureReason(enum.StrEnum):
    """Why a parcel could not be handed over at the door."""

    NOT_AT_HOME = "not_at_home"
    MOVED = "moved"
    IN_HOSPITAL = "in_hospital"
    DECEASED = "deceased"
    REFUSED = "refused"
    ADDRESS_NOT_FOUND = "address_not_found"


class Resolution(enum.StrEnum):
    """What became of a failed delivery's goods."""

    REATTEMPTED = "reattempted"  # a new delivery carries them to the same recipient
    RETURNED = "returned"  # they went back to the warehouse


# The registry is wrong about these people: the coordinator must review them before the
# next round (and usually replace them with the next verified candidate).
REVIEW_REASONS = frozenset(
    {FailureReason.MOVED, FailureReason.DECEASED, FailureReason.ADDRESS_NOT_FOUND}
)
# Trying the same door again cannot succeed for these: the goods go back.
NO_REATTEMPT_REASONS = frozenset({FailureReason.MOVED, FailureReason.DECEASED})


def needs_review(reason: FailureReason | None) -> bool:
    """Whether a failure with this reason flags the recipient for review."""
    return reason in REVIEW_REASONS


def check_reattempt(reason: FailureReason | None, resolution: Resolution | None) -> Move:
    """Whether a failed delivery may be re-attempted (409 otherwise)."""
    if resolution is Resolution.REATTEMPTED:
        return Move.ALREADY_THERE
    if resolution is Resolution.RETURNED:
        raise Conflict("the goods were already returned to the warehouse", code="already_returned")
    if reason in NO_REATTEMPT_REASONS:
        reason = present(reason, "the failure's reason")
        raise Conflict(
            f"a recipient who {reason.value.replace('_', ' ')} cannot be visited again; "
            "return the goods and review the recipient",
            code="reattempt_pointless",
        )
    return Move.APPLY


def check_return(resolution: Resolution | None) -> Move:
    """Whether a failed delivery's goods may go back to the warehouse (409 otherwise)."""
    if resolution is Resolution.RETURNED:
        return Move.ALREADY_THERE
    if resolution is Resolution.REATTEMPTED:
        raise Conflict(
            "the goods went out again on a re-attempt; return that delivery instead",
            code="already_reattempted",
        )
    return Move.APPLY


@dataclass(frozen=True)
class Tally:
    """Where the parcels of a round (or any set of deliveries) stand."""

    delivered: int
    returned: int
    open: int

    @property
    def settled(self) -> bool:
        """Every parcel reached its end: handed over or back in the warehouse."""
        return self.open == 0


def tally(outcomes: Sequence[tuple[DeliveryStatus, Resolution | None]]) -> Tally:
    """Count delivered and returned parcels; a failure re-attempted is counted through its
    re-attempt, so it is neither here nor open."""
    delivered = returned = still_open = 0
    for status, resolution in outcomes:
        if status is DeliveryStatus.DELIVERED:
            delivered += 1
        elif resolution is Resolution.RETURNED:
            returned += 1
        elif resolution is Resolution.REATTEMPTED:
            continue
        else:
            still_open += 1
    return Tally(delivered=delivered, returned=returned, open=still_open)


# --- permakanan plan --------------------------------------------------------------


ROUNDS_PER_YEAR = 6
MONTHS_BETWEEN_ROUNDS = 2


@dataclass(frozen=True)
class RoundPlan:
    """One bimonthly round: its number and the days its parcels may arrive."""

    number: int
    period_start: date
    period_end: date


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clipped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def plan_rounds(start: date) -> list[RoundPlan]:
    """Twelve months from `start` in 6 rounds of 2 months, back to back: each round ends
    the day before the next begins, the last the day before the plan's anniversary."""
    starts = [add_months(start, MONTHS_BETWEEN_ROUNDS * i) for i in range(ROUNDS_PER_YEAR + 1)]
    return [
        RoundPlan(
            number=i + 1, period_start=starts[i], period_end=starts[i + 1] - timedelta(days=1)
        )
        for i in range(ROUNDS_PER_YEAR)
    ]


# --- route of a run ---------------------------------------------------------------


@lru_cache(maxsize=200_000)
def _leg_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    # The same WGS84 geodesic as shared.geo.distance_km, asked for the distance only
    # (geopy's wrapper also computes azimuths): a run of 25 stops needs 325 legs.
    # Symmetric, and the same stops come back every round: memoised.
    if a > b:
        a, b = b, a
    return float(Geodesic.WGS84.Inverse(a[0], a[1], b[0], b[1], Geodesic.DISTANCE)["s12"]) / 1000


def leg_km(a: GeoPoint, b: GeoPoint) -> float:
    """Geodesic distance between two points, in km."""
    return _leg_km((a.lat, a.lon), (b.lat, b.lon))


def path_km(start: GeoPoint, points: Sequence[GeoPoint]) -> float:
    """Length of the path from `start` through `points` in order (no return leg)."""
    total, here = 0.0, start
    for point in points:
        total += leg_km(here, point)
        here = point
    return total


@dataclass(frozen=True)
class Route:
    """A visiting order: the stops' keys in order, each leg's length, and the total."""

    order: tuple[Hashable, ...]
    legs_km: tuple[float, ...]
    total_km: float


def _matrix(start: GeoPoint, points: Sequence[GeoPoint]) -> list[list[float]]:
    """Leg lengths between every pair; index 0 is the start, i + 1 is points[i]."""
    places = [start, *points]
    return [[leg_km(a, b) if a != b else 0.0 for b in places] for a in places]


def nearest_neighbour(start: GeoPoint, stops: Sequence[tuple[K, GeoPoint]]) -> list[int]:
    """Indexes of `stops` visited greedily, always to the nearest unvisited stop."""
    legs = _matrix(start, [point for _, point in stops])
    return _nearest_neighbour(legs)


def _nearest_neighbour(legs: list[list[float]]) -> list[int]:
    remaining = list(range(len(legs) - 1))
    order: list[int] = []
    here = 0
    while remaining:
        # Ties broken by index, so the same stops always give the same order.
        nearest = min(remaining, key=lambda i: (legs[here][i + 1], i))
        order.append(nearest)
        remaining.remove(nearest)
        here = nearest + 1
    return order


def two_opt(start: GeoPoint, points: Sequence[GeoPoint], order: list[int]) -> list[int]:
    """Improve an open path from `start` by reversing segments while that shortens it.

    Reversing order[i..j] replaces legs (p[i-1], p[i]) and (p[j], p[j+1]) by (p[i-1], p[j])
    and (p[i], p[j+1]); the path end has no leg after it. Only strict improvements are
    taken, so the result is never longer than the input.
    """
    return _two_opt(_matrix(start, points), order)


def _two_opt(legs: list[list[float]], order: list[int]) -> list[int]:
    # Work on matrix indexes: 0 is the start, stop k is k + 1.
    best = [0] + [k + 1 for k in order]
    n = len(best)
    improved = True
    while improved:
        improved = False
        for i in range(1, n - 1):
            for j in range(i + 1, n):
                before = legs[best[i - 1]][best[i]]
                after = legs[best[i - 1]][best[j]]
                if j + 1 < n:
                    before += legs[best[j]][best[j + 1]]
                    after += legs[best[i]][best[j + 1]]
                if after < before - 1e-9:
                    best[i : j + 1] = reversed(best[i : j + 1])
                    improved = True
    return [k - 1 for k in best[1:]]


def plan_route(start: GeoPoint, stops: Sequence[tuple[K, GeoPoint]]) -> Route:
    """A short visiting order from `start`: nearest neighbour, then 2-opt."""
    points = [point for _, point in stops]
    legs = _matrix(start, points)
    order = _two_opt(legs, _nearest_neighbour(legs))
    path = [0] + [k + 1 for k in order]
    lengths = tuple(legs[a][b] for a, b in itertools.pairwise(path))
    return Route(order=tuple(stops[i][0] for i in order), legs_km=lengths, total_km=sum(lengths))


# --- lots of a shared release -------------------------------------------------------


@dataclass(frozen=True)
class LotShare:
    """Part of one parcel's item, taken from one lot (None: the release did not cover it)."""

    item_code: str
    lot_id: str | None
    quantity: int


def parcels_covered(released: Sequence[tuple[str, int]], parcel: Sequence[tuple[str, int]]) -> int:
    """How many whole parcels (item, quantity per parcel) a release (item, quantity)
    makes up."""
    totals: dict[str, int] = {}
    for item, quantity in released:
        totals[item] = totals.get(item, 0) + quantity
    return min((totals.get(item, 0) // quantity for item, quantity in parcel), default=0)


@dataclass
class _Remaining:
    lot_id: str
    quantity: int


def share_lots(
    released: Sequence[tuple[str, str, int]], parcels: Sequence[tuple[K, str, int]]
) -> dict[K, list[LotShare]]:
    """Split released lots (item, lot, quantity), in the order given, over parcels (key,
    item, quantity), so a returned parcel names the lot it came from. What the release
    does not cover is shared with lot None rather than invented."""
    left: dict[str, list[_Remaining]] = {}
    for item, lot, quantity in released:
        left.setdefault(item, []).append(_Remaining(lot_id=lot, quantity=quantity))
    shares: dict[K, list[LotShare]] = {}
    for key, item, quantity in parcels:
        wanted = quantity
        taken: list[LotShare] = []
        for remaining in left.get(item, []):
            if wanted == 0:
                break
            portion = min(remaining.quantity, wanted)
            if portion == 0:
                continue
            remaining.quantity -= portion
            wanted -= portion
            taken.append(LotShare(item_code=item, lot_id=remaining.lot_id, quantity=portion))
        if wanted > 0:
            taken.append(LotShare(item_code=item, lot_id=None, quantity=wanted))
        shares.setdefault(key, []).extend(taken)
    return shares


# --- personal data and proof images -------------------------------------------------


@dataclass(frozen=True)
class ImageInfo:
    """A checked proof image, as it is stored: re-encoded without its metadata."""

    format: str
    width: int
    height: int
    data: bytes

    @property
    def content_type(self) -> str:
        """The MIME type to serve it with."""
        return f"image/{self.format.lower()}"


def check_image(data: bytes, *, max_bytes: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageInfo:
    """A photo or signature must be a real JPEG/PNG/WebP no larger than `max_bytes` and
    `max_pixels`; the file name and declared type are not trusted, the bytes are decoded.
    What is kept is the picture upright and stripped of EXIF (a handover photo's GPS is
    the recipient's home), XMP and ICC metadata."""
    if not data:
        raise Unprocessable("the image is empty", code="image_empty")
    if len(data) > max_bytes:
        raise Unprocessable(
            f"the image is {len(data)} bytes; at most {max_bytes} are accepted",
            code="image_too_large",
        )
    try:
        picture = clean_picture(data, max_pixels=max_pixels)
    except TooManyPixels as exc:
        raise Unprocessable(str(exc), code="image_too_many_pixels") from exc
    except NotAPicture as exc:
        raise Unprocessable(
            f"{exc}; send a JPEG, PNG or WebP picture", code="not_an_image"
        ) from exc
    return ImageInfo(
        format=picture.format, width=picture.width, height=picture.height, data=picture.data
    )


class Lot(Protocol):
    """A part of a released lot, as a parcel carries it."""

    item_code: str
    lot_id: str | None
    expires_on: date | None


def expired_lots(lots: Sequence[Lot], on: date) -> list[tuple[str, str, str]]:
    """(item, lot id, expiry) of the parcel's lots that have expired by `on` (expiry on or
    before that day); lots whose expiry is unknown or absent are not counted."""
    return [
        (lot.item_code, lot.lot_id or "", lot.expires_on.isoformat())
        for lot in lots
        if lot.expires_on is not None and lot.expires_on <= on
    ]
