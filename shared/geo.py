"""Geography every service agrees on: what counts as a position in Indonesia, and the
geodesic distance between two points (WGS84 ellipsoid, via geopy)."""

from __future__ import annotations

from geopy.distance import geodesic

from shared.events import GeoPoint

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


def distance_km(a: GeoPoint, b: GeoPoint) -> float:
    """Geodesic distance in kilometres."""
    return float(geodesic((a.lat, a.lon), (b.lat, b.lon)).km)
