"""The board's and case page's map (Leaflet, served from /assets/leaflet/): open cases,
the warehouses they are served from and the deliveries on the road, over the office's
regency. The regency's coast, district names and villages come from
`shared/regions_data/boundaries/<office>.geojson` (scripts/update-boundaries.sh), so the
map means something with no tile server; `NOTIFY_MAP_TILE_URL` adds tiles on top."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from services.notify.models import ClockOut, ClockRow
from services.notify.settings import NotifySettings, notify_settings
from services.notify.tenancy import OfficeFilter
from shared.errors import NotFound
from shared.http import allow_images_from
from shared.pages import SHARED_DIR

BOUNDARIES: Final = SHARED_DIR / "regions_data" / "boundaries"
_OFFICE: Final = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")

map_router = APIRouter(tags=["board"])


@dataclass(frozen=True)
class MapItem:
    """One open case on the map: the site, the warehouse, the truck on its way."""

    case: ClockOut
    site: tuple[float, float] | None
    origin: tuple[float, float] | None
    progress: float | None
    late: bool
    warehouse_code: str | None = None

    @property
    def truck(self) -> tuple[float, float] | None:
        """Where the delivery should be by now, on the straight line (lat, lon)."""
        if self.progress is None or self.site is None or self.origin is None:
            return None
        return (
            round(self.origin[0] + (self.site[0] - self.origin[0]) * self.progress, 5),
            round(self.origin[1] + (self.site[1] - self.origin[1]) * self.progress, 5),
        )


def map_items(rows: Sequence[ClockRow], clocks: Sequence[ClockOut], now: datetime) -> list[MapItem]:
    """Incidents, warehouses and deliveries on the road, as (lat, lon) points."""
    items: list[MapItem] = []
    for row, clock in zip(rows, clocks, strict=True):
        site = (
            (row.site_lat, row.site_lon)
            if row.site_lon is not None and row.site_lat is not None
            else None
        )
        origin = (
            (row.origin_lat, row.origin_lon)
            if row.origin_lon is not None and row.origin_lat is not None
            else None
        )
        progress = None
        if row.departed_at and row.arrived_at is None and row.predicted_arrival is not None:
            total = (row.predicted_arrival - row.departed_at).total_seconds()
            elapsed = (now - row.departed_at).total_seconds()
            progress = min(1.0, max(0.0, elapsed / total)) if total > 0 else 1.0
        late = bool(clock.late_stages) or clock.breached or clock.breach_predicted
        items.append(MapItem(clock, site, origin, progress, late, row.warehouse_code))
    return items


def boundary_path(office_id: str) -> Path | None:
    """The office's base map file, if the office is one we have a map of."""
    if not _OFFICE.fullmatch(office_id):
        return None
    path = BOUNDARIES / f"{office_id}.geojson"
    return path if path.is_file() else None


@cache
def boundary_bbox(office_id: str) -> list[float] | None:
    """[west, south, east, north] of the office's regency (with a margin)."""
    path = boundary_path(office_id)
    if path is None:
        return None
    bbox: list[float] = json.loads(path.read_text())["bbox"]
    return bbox


def map_settings(
    request: Request,
    settings: NotifySettings,
    office_id: str | None,
    depth: str = "",
    *,
    focus: bool = False,
) -> dict[str, Any]:
    """What the page's script needs besides the markers: the base map, where to fit (the
    regency, or with `focus` the markers themselves), and the tiles (whose origin this
    answer's CSP then allows, and no other page's)."""
    office = office_id or settings.common.default_office_id
    tiles = settings.map_tile_url
    if tiles:
        parts = urlsplit(tiles)
        if parts.scheme and parts.netloc:
            allow_images_from(request, f"{parts.scheme}://{parts.netloc}")
    return {
        "boundary": f"{depth}map/base.geojson?{urlencode({'office_id': office})}"
        if boundary_path(office)
        else None,
        "bbox": boundary_bbox(office),
        "tiles": tiles,
        "attribution": settings.map_tile_attribution,
        "focus": focus,
    }


@map_router.get("/map/base.geojson", include_in_schema=False)
def base_map(request: Request, office_id: OfficeFilter) -> FileResponse:
    """The caller's office's base map: the coast, its districts' names and its villages
    (another office's is refused like its cases; public data all the same)."""
    office = office_id or notify_settings(request.app.state.runtime).common.default_office_id
    path = boundary_path(office)
    if path is None:
        raise NotFound(f"no map of office {office!r}", code="map_not_found")
    return FileResponse(
        path,
        media_type="application/geo+json",
        headers={"Cache-Control": "private, max-age=86400"},
    )
