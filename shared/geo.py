"""Geography every service agrees on: what counts as a position in Indonesia, and the
geodesic distance between two points (WGS84 ellipsoid, via geopy)."""

from __future__ import annotations

from typing import Any, Self

from geopy.distance import geodesic
from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from shared.contracts.envelope import GeoPoint

# Sabang to Merauke and Miangas to Rote, with a margin for offshore islands. A point
# outside is a typo (swapped lat/lon, a missing minus sign), not a place we serve.
INDONESIA_LAT = (-11.5, 6.5)
INDONESIA_LON = (94.5, 141.5)


def within_indonesia(point: GeoPoint) -> bool:
    """True when the point lies inside Indonesia's bounding box."""
    return (
        INDONESIA_LAT[0] <= point.lat <= INDONESIA_LAT[1]
        and INDONESIA_LON[0] <= point.lon <= INDONESIA_LON[1]
    )


def outside_indonesia_detail(point: GeoPoint) -> str:
    """A message telling a field user why the point was refused."""
    return (
        f"position lat={point.lat}, lon={point.lon} is outside Indonesia "
        f"(lat {INDONESIA_LAT[0]}..{INDONESIA_LAT[1]}, "
        f"lon {INDONESIA_LON[0]}..{INDONESIA_LON[1]}); are latitude and longitude swapped "
        "or is the minus sign of a southern latitude missing?"
    )


OUTSIDE_INDONESIA = "outside_indonesia"


class IndonesianPoint(GeoPoint):
    """A position a user gives: inside Indonesia's bounding box, which the schema states.
    A point outside is refused as `<field>_outside_indonesia` (shared.http), with the
    advice of `outside_indonesia_detail`; one beyond ±90/±180 as any invalid field."""

    lat: float = Field(
        ge=-90,
        le=90,
        description="Latitude in decimal degrees, inside Indonesia.",
        json_schema_extra={"minimum": INDONESIA_LAT[0], "maximum": INDONESIA_LAT[1]},
    )
    lon: float = Field(
        ge=-180,
        le=180,
        description="Longitude in decimal degrees, inside Indonesia.",
        json_schema_extra={"minimum": INDONESIA_LON[0], "maximum": INDONESIA_LON[1]},
    )

    @model_validator(mode="before")
    @classmethod
    def _from_any_point(cls, value: Any) -> Any:
        # Code that already holds a GeoPoint (a stored position, a test) passes it as is.
        if isinstance(value, GeoPoint) and not isinstance(value, cls):
            return value.model_dump()
        return value

    @model_validator(mode="after")
    def _inside_indonesia(self) -> Self:
        if not within_indonesia(self):
            raise PydanticCustomError(OUTSIDE_INDONESIA, outside_indonesia_detail(self))
        return self


def distance_km(a: GeoPoint, b: GeoPoint) -> float:
    """Geodesic distance in kilometres."""
    return float(geodesic((a.lat, a.lon), (b.lat, b.lon)).km)
