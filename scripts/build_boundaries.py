"""Build the offices' offline base maps (`shared/regions_data/boundaries/<office>.geojson`)
from two npm packages unpacked by `scripts/update-boundaries.sh`:

- world-atlas (ISC; the geometry is Natural Earth's 1:10m land, public domain): the coast
  and the islands around the regency, clipped to the regency's box and simplified;
- geografis (MIT): a position for each village (desa/kelurahan), matched by name to the
  villages of shared/regions_data (idn-area-data), so a district split after geografis
  was made still gets its own villages. A district is labelled at the middle (median) of
  its villages; no registry reachable from here carries kecamatan polygons.

Usage: python scripts/build_boundaries.py <world-atlas dir> <geografis dir> <out dir>
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.regions import normalise, regions

# office id -> Kemendagri code of its regency or city
OFFICE_REGENCIES = {
    "kukar": "64.02",
    "balangan": "63.11",
    "tarakan": "65.71",
    "lubuklinggau": "16.73",
    "oku-selatan": "16.09",
}
MARGIN_DEGREES = 0.15
# The coast is kept this far beyond the regency's box, so panning a little or a wide
# screen shows no cut edge of land.
LAND_MARGIN_DEGREES = 1.0
# Douglas-Peucker tolerance in degrees (~200 m): finer than the data's own quantisation
# would show at a regency's zoom, and it keeps each file a few tens of KB.
SIMPLIFY_DEGREES = 0.002
Point = tuple[float, float]
Box = tuple[float, float, float, float]


def topology_rings(topology: dict[str, Any], name: str) -> list[list[Point]]:
    """Every ring (outer and hole) of a TopoJSON polygon collection, in degrees."""
    scale_x, scale_y = topology["transform"]["scale"]
    move_x, move_y = topology["transform"]["translate"]
    arcs: list[list[Point]] = []
    for quantised in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in quantised:
            x, y = x + dx, y + dy
            points.append((x * scale_x + move_x, y * scale_y + move_y))
        arcs.append(points)

    def ring(indexes: list[int]) -> list[Point]:
        points: list[Point] = []
        for index in indexes:
            arc = arcs[index] if index >= 0 else arcs[~index][::-1]
            points.extend(arc[1:] if points else arc)
        return points

    rings: list[list[Point]] = []
    for geometry in topology["objects"][name]["geometries"]:
        polygons = [geometry["arcs"]] if geometry["type"] == "Polygon" else geometry.get("arcs", [])
        for polygon in polygons:
            rings.extend(ring(indexes) for indexes in polygon)
    return rings


def clip(ring: list[Point], box: Box) -> list[Point]:
    """Sutherland-Hodgman: the part of a ring inside the box (the box is convex)."""
    west, south, east, north = box
    edges = [
        (lambda p: p[0] >= west, lambda a, b: _cross_x(a, b, west)),
        (lambda p: p[0] <= east, lambda a, b: _cross_x(a, b, east)),
        (lambda p: p[1] >= south, lambda a, b: _cross_y(a, b, south)),
        (lambda p: p[1] <= north, lambda a, b: _cross_y(a, b, north)),
    ]
    points = ring
    for inside, cross in edges:
        if not points:
            break
        kept: list[Point] = []
        for index, current in enumerate(points):
            previous = points[index - 1]
            if inside(current):
                if not inside(previous):
                    kept.append(cross(previous, current))
                kept.append(current)
            elif inside(previous):
                kept.append(cross(previous, current))
        points = kept
    return points


def _cross_x(a: Point, b: Point, x: float) -> Point:
    t = (x - a[0]) / (b[0] - a[0])
    return (x, a[1] + t * (b[1] - a[1]))


def _cross_y(a: Point, b: Point, y: float) -> Point:
    t = (y - a[1]) / (b[1] - a[1])
    return (a[0] + t * (b[0] - a[0]), y)


def simplify(points: list[Point], tolerance: float) -> list[Point]:
    """Douglas-Peucker, iterative (a coast has thousands of points)."""
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (ax, ay), (bx, by) = points[first], points[last]
        length = ((bx - ax) ** 2 + (by - ay) ** 2) ** 0.5
        farthest, distance = first, 0.0
        for index in range(first + 1, last):
            px, py = points[index]
            if length == 0:
                d = ((px - ax) ** 2 + (py - ay) ** 2) ** 0.5
            else:
                d = abs((bx - ax) * (ay - py) - (ax - px) * (by - ay)) / length
            if d > distance:
                farthest, distance = index, d
        if distance > tolerance:
            keep[farthest] = True
            stack += [(first, farthest), (farthest, last)]
    return [point for point, kept in zip(points, keep, strict=True) if kept]


def village_positions(geografis: list[dict[str, Any]], regency_code: str) -> dict[str, Point]:
    """idn-area-data village code -> (lon, lat), matched by district and village name
    first, then by village name alone (a district split since geografis was built)."""
    in_regency = [v for v in geografis if v["code"].startswith(regency_code + ".")]
    by_both = {(normalise(v["district"]), normalise(v["village"])): v for v in in_regency}
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for v in in_regency:
        by_name[normalise(v["village"])].append(v)
    found: dict[str, Point] = {}
    everything = regions()
    for district in everything.within(regency_code, "district"):
        for village in everything.within(district.code, "village"):
            match = by_both.get((normalise(district.name), normalise(village.name)))
            if match is None and len(by_name[normalise(village.name)]) == 1:
                match = by_name[normalise(village.name)][0]
            if match is not None and match.get("latitude") and match.get("longitude"):
                found[village.code] = (
                    round(float(match["longitude"]), 5),
                    round(float(match["latitude"]), 5),
                )
    return found


def office_map(
    office: str, regency_code: str, land: list[list[Point]], geografis: list[dict[str, Any]]
) -> dict[str, Any]:
    everything = regions()
    regency = everything.by_code[regency_code]
    positions = village_positions(geografis, regency_code)
    if not positions:
        raise SystemExit(f"no village of {regency.name} has a position in geografis")
    lons = [p[0] for p in positions.values()]
    lats = [p[1] for p in positions.values()]
    box = (
        min(lons) - MARGIN_DEGREES,
        min(lats) - MARGIN_DEGREES,
        max(lons) + MARGIN_DEGREES,
        max(lats) + MARGIN_DEGREES,
    )
    features: list[dict[str, Any]] = []
    coast = []
    land_box = (
        box[0] - LAND_MARGIN_DEGREES,
        box[1] - LAND_MARGIN_DEGREES,
        box[2] + LAND_MARGIN_DEGREES,
        box[3] + LAND_MARGIN_DEGREES,
    )
    for ring in land:
        xs = [p[0] for p in ring]
        ys = [p[1] for p in ring]
        if (
            max(xs) < land_box[0]
            or min(xs) > land_box[2]
            or max(ys) < land_box[1]
            or min(ys) > land_box[3]
        ):
            continue
        clipped = simplify(clip(ring, land_box), SIMPLIFY_DEGREES)
        if len(clipped) >= 4:
            coast.append([[round(x, 4), round(y, 4)] for x, y in [*clipped, clipped[0]]])
    features.append(
        {
            "type": "Feature",
            "properties": {"kind": "land", "name": "Natural Earth 1:10m land"},
            "geometry": {"type": "MultiPolygon", "coordinates": [[ring] for ring in coast]},
        }
    )
    for district in everything.within(regency_code, "district"):
        villages = [
            (village, positions[village.code])
            for village in everything.within(district.code, "village")
            if village.code in positions
        ]
        if not villages:
            continue
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "kind": "district",
                    "code": district.code,
                    "name": district.name,
                    "villages": len(villages),
                },
                "geometry": {
                    "type": "Point",
                    "coordinates": [
                        round(statistics.median(p[0] for _, p in villages), 4),
                        round(statistics.median(p[1] for _, p in villages), 4),
                    ],
                },
            }
        )
        features.extend(
            {
                "type": "Feature",
                "properties": {
                    "kind": "place",
                    "code": village.code,
                    "name": village.name,
                    "district": district.name,
                },
                "geometry": {"type": "Point", "coordinates": list(position)},
            }
            for village, position in villages
        )
    return {
        "type": "FeatureCollection",
        "name": regency.name,
        "office_id": office,
        "regency_code": regency_code,
        "bbox": [round(edge, 4) for edge in box],
        "features": features,
    }


def main(world_atlas: Path, geografis_dir: Path, out: Path) -> None:
    land = topology_rings(json.loads((world_atlas / "land-10m.json").read_text()), "land")
    geografis = json.loads((geografis_dir / "data" / "json" / "data.json").read_text())
    out.mkdir(parents=True, exist_ok=True)
    for office, regency_code in OFFICE_REGENCIES.items():
        collection = office_map(office, regency_code, land, geografis)
        path = out / f"{office}.geojson"
        path.write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")) + "\n")
        places = sum(1 for f in collection["features"] if f["properties"]["kind"] == "place")
        print(f"{path}: {path.stat().st_size // 1024} KB, {places} places")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
