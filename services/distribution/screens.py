"""The field team's phone screen: today's relief deliveries and program runs of one team,
each stop named in words with what to hand over and a `geo:` link for the phone's
navigation app. Rendered from `templates/field.html` on the shared layout; the steps are
sent by `static/field.js`, which keeps them on the phone while there is no signal.

Also the run's small map (an SVG for `GET /runs/{id}/map.svg`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote
from uuid import UUID

from services.distribution.domain import DeliveryKind, DeliveryStatus, FailureReason
from services.distribution.models.deliveries import DeliveryRow, IncidentPlaceRow
from services.distribution.models.registry import RecipientRow
from services.distribution.models.runs import RunOut, RunRow
from shared.pages import Pages

pages = Pages(
    Path(__file__).with_name("templates"),
    Path(__file__).with_name("locale"),
    service_title="Dinsos · Distribusi",
)

RELATIONS: Final = ("self", "spouse", "child", "relative", "neighbour", "caretaker")
FAILURE_REASONS: Final = tuple(reason.value for reason in FailureReason)
OPEN_STATUSES: Final = (DeliveryStatus.ASSIGNED, DeliveryStatus.IN_TRANSIT, DeliveryStatus.ARRIVED)


def geo_link(lat: float, lon: float, label: str) -> str:
    """A `geo:` URI (RFC 5870, with Android's `q=` label) that opens the phone's
    navigation app on the stop, named as the screen names it."""
    point = f"{lat:.6f},{lon:.6f}"
    return f"geo:{point}?q={point}({quote(label, safe='')})"


def place_words(village: str | None, district: str | None, lat: float, lon: float) -> str:
    """ "Sukarame, Tenggarong"; the coordinates when the report gave no address."""
    named = [part for part in (village, district) if part]
    return ", ".join(named) if named else f"{lat:.4f}, {lon:.4f}"


@dataclass(frozen=True)
class Stop:
    """One place to bring goods to, as the team's screen shows it."""

    delivery_id: UUID
    kind: DeliveryKind
    status: DeliveryStatus
    number: int
    hazard: str | None  # incident relief: the hazard code (shown through `word`)
    recipient: str | None  # program parcel: the recipient's (or institution's) name
    place: str
    lines: list[tuple[str, int]]
    lat: float
    lon: float
    leg_km: float | None
    households: int | None
    received_by: str | None
    failure_code: str | None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def departs_alone(self) -> bool:
        """Relief leaves on its own; a program parcel leaves with its run's vehicle."""
        return self.kind is DeliveryKind.INCIDENT


@dataclass(frozen=True)
class Run:
    """A vehicle's round of program parcels, in visiting order."""

    id: UUID
    vehicle: str
    status: str
    total_km: float
    stops: list[Stop]


def item_lines(row: DeliveryRow) -> list[tuple[str, int]]:
    """Quantities per item code, by code (a released dispatch lists one line per lot)."""
    totals: Counter[str] = Counter()
    for line in row.lines:
        totals[line.item_code] += line.quantity
    return sorted(totals.items())


def _stop(
    row: DeliveryRow,
    number: int,
    *,
    place: IncidentPlaceRow | None = None,
    person: RecipientRow | None = None,
    leg_km: float | None = None,
) -> Stop:
    if person is not None:
        where = place_words(
            person.village, person.district, row.destination_lat, row.destination_lon
        )
    else:
        where = place_words(
            place.village if place else None,
            place.district if place else None,
            row.destination_lat,
            row.destination_lon,
        )
    return Stop(
        delivery_id=row.id,
        kind=row.kind,
        status=row.status,
        number=number,
        hazard=place.hazard if place else ("other" if row.kind is DeliveryKind.INCIDENT else None),
        recipient=person.name if person else None,
        place=where,
        lines=item_lines(row),
        lat=row.destination_lat,
        lon=row.destination_lon,
        leg_km=leg_km,
        households=place.households_affected if place else None,
        received_by=row.received_by,
        failure_code=row.failure_code.value if row.failure_code else None,
    )


def incident_stops(rows: list[tuple[DeliveryRow, IncidentPlaceRow | None]]) -> list[Stop]:
    """Relief deliveries numbered in the order they were assigned."""
    return [_stop(row, number, place=place) for number, (row, place) in enumerate(rows, 1)]


def run_view(run: RunRow, stops: list[tuple[DeliveryRow, RecipientRow | None]]) -> Run:
    """A run with its stops in visiting order."""
    return Run(
        id=run.id,
        vehicle=run.vehicle,
        status=run.status.value,
        total_km=run.total_km,
        stops=[
            _stop(
                row,
                row.run_position or 0,
                person=person,
                leg_km=run.legs_km[(row.run_position or 1) - 1],
            )
            for row, person in stops
        ],
    )


def field_context(
    *,
    nav: list[tuple[str, str]],
    team: str | None,
    teams: list[str],
    today: date,
    incidents: list[Stop],
    runs: list[Run],
) -> dict[str, Any]:
    """What `field.html` shows."""
    return {
        "nav": nav,
        "current": "/field",
        "team": team,
        "teams": teams,
        "today": today,
        "incidents": incidents,
        "runs": runs,
        "relations": RELATIONS,
        "failure_reasons": FAILURE_REASONS,
        "geo_link": geo_link,
    }


def run_svg(run: RunOut, *, width: int = 360, height: int = 240) -> str:
    """The start (square) and the stops (numbered circles) joined in visiting order,
    projected equirectangularly onto the run's bounding box."""
    points = [(run.start.lon, run.start.lat)] + [
        (stop.destination.lon, stop.destination.lat) for stop in run.stops
    ]
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    span_lon = max(max(lons) - min(lons), 1e-4)
    span_lat = max(max(lats) - min(lats), 1e-4)
    margin = 18

    def xy(lon: float, lat: float) -> tuple[float, float]:
        x = margin + (lon - min(lons)) / span_lon * (width - 2 * margin)
        y = margin + (max(lats) - lat) / span_lat * (height - 2 * margin)
        return round(x, 1), round(y, 1)

    placed = [xy(lon, lat) for lon, lat in points]
    path = " ".join(f"{x},{y}" for x, y in placed)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="route map" class="map">',
        f'<rect width="{width}" height="{height}" fill="#eef4f0"/>',
        f'<polyline points="{path}" fill="none" stroke="#2d6a4f" stroke-width="2"/>',
        f'<rect x="{placed[0][0] - 6}" y="{placed[0][1] - 6}" width="12" height="12" '
        'fill="#1b4332"/>',
    ]
    for stop, (x, y) in zip(run.stops, placed[1:], strict=True):
        color = {"delivered": "#40916c", "failed": "#c1121f"}.get(stop.status.value, "#f4a261")
        parts.append(
            f'<g class="stop"><circle cx="{x}" cy="{y}" r="9" fill="{color}"/>'
            f'<text x="{x}" y="{y + 4}" font-size="10" text-anchor="middle" fill="#fff">'
            f"{stop.position}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)
