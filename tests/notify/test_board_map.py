"""The coordinator's map: Leaflet served by the service itself (and nothing else from the
assets folder), each office's offline base map (coast, districts, villages), the cases,
warehouses and deliveries as data on the board and the case page, tiles only from the
configured server (the CSP allows that origin and no other), and in a real browser the
map drawn with its base map and markers and no CSP refusal."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Response
from fastapi.testclient import TestClient
from pydantic import ValidationError
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from services.notify.app import create_app, router
from services.notify.board import board_router
from services.notify.board_map import BOUNDARIES, map_router
from services.notify.settings import NotifySettings
from services.notify.standards import load_standards
from shared.clock import FixedClock
from shared.contracts.envelope import Address, GeoPoint, HazardType, NeedLine
from shared.contracts.intake import IncidentReported, IncidentVerified, Reporter
from shared.contracts.logistics import DispatchPlanned, DispatchReleased
from shared.http import install_error_handlers
from shared.pages import ASSETS_DIR, assets_router
from shared.regions import normalise, regions
from shared.runtime import ServiceRuntime
from shared.service_api import guard_requests
from shared.settings import CommonSettings
from tests.logistics.test_screens import uvicorn_on_a_free_port
from tests.notify.test_board_pages import HOUR, NOW, make_runtime, play
from tests.notify.test_cases import DEPOT, LINE, departed, envelope
from tests.support.access import signed_in
from tests.support.browser import browser  # noqa: F401  the fixture

OFFICE_REGENCIES = {
    "kukar": "64.02",
    "balangan": "63.11",
    "tarakan": "65.71",
    "lubuklinggau": "16.73",
    "oku-selatan": "16.09",
}
TILES = "https://tiles.dinsos-kukar.example/{z}/{x}/{y}.png"
# Real villages of Kutai Kartanegara, where the base map puts them.
SUKARAME = GeoPoint(lat=-0.4038, lon=116.9767)
LOA_KULU_KOTA = GeoPoint(lat=-0.5209, lon=117.0374)


def incident_at(case: uuid.UUID, place: GeoPoint, district: str, village: str) -> IncidentReported:
    return IncidentReported.following(
        **envelope(case, NOW - 6 * HOUR, "intake"),
        hazard=HazardType.FLOOD,
        happened_at=NOW - 7 * HOUR,
        reporter=Reporter(name="Pak RT", role="rt"),
        location=place,
        address=Address(district=district, village=village, regency="Kutai Kartanegara"),
        households_affected=30,
        people_affected=120,
        stated_needs=(NeedLine(item_code="RICE-5KG", quantity=30),),
    )


def verified_at(case: uuid.UUID, place: GeoPoint) -> IncidentVerified:
    return IncidentVerified.following(
        **envelope(case, NOW - 5 * HOUR, "intake"),
        reported_at=NOW - 6 * HOUR,
        destination=place,
        assessed_needs=(NeedLine(item_code="RICE-5KG", quantity=30),),
        verified_by="Kasi Linjamsos Rahmat",
    )


def planned_to(case: uuid.UUID, place: GeoPoint) -> DispatchPlanned:
    return DispatchPlanned.following(
        **envelope(case, NOW - 4 * HOUR, "logistics"),
        dispatch_id=uuid.uuid4(),
        warehouse_code="GUDANG-TGR",
        origin=DEPOT,
        destination=place,
        distance_km=20.0,
        lines=(LINE,),
    )


def released_to(case: uuid.UUID, place: GeoPoint) -> DispatchReleased:
    return DispatchReleased.following(
        **envelope(case, NOW - 3 * HOUR, "logistics"),
        dispatch_id=uuid.uuid4(),
        warehouse_code="GUDANG-TGR",
        origin=DEPOT,
        destination=place,
        lines=(LINE,),
        released_by="Petugas gudang Sari",
    )


class MapOffice:
    """kukar at 10.00 WITA: a flood in Sukarame with its delivery on the road from the
    Tenggarong warehouse, and a flood in Loa Kulu Kota not yet planned."""

    def __init__(self, tmp_path: Path, **settings: object) -> None:
        standards = load_standards()
        clock = FixedClock(NOW - 6 * HOUR)
        self.runtime: ServiceRuntime = make_runtime(tmp_path, clock, **settings)
        self.sukarame, self.loa_kulu = uuid.uuid4(), uuid.uuid4()
        play(
            self.runtime,
            standards,
            incident_at(self.sukarame, SUKARAME, "Tenggarong", "Sukarame"),
            verified_at(self.sukarame, SUKARAME),
            planned_to(self.sukarame, SUKARAME),
            released_to(self.sukarame, SUKARAME),
            departed(self.sukarame, NOW - HOUR // 2),
            incident_at(self.loa_kulu, LOA_KULU_KOTA, "Loa Kulu", "Loa Kulu Kota"),
        )
        clock.set(NOW)
        app = FastAPI()
        app.state.runtime, app.state.standards = self.runtime, standards
        guard_requests(app, service="notify", common=CommonSettings(environment="test"))
        install_error_handlers(app)
        for part in (router, board_router, map_router, assets_router):
            app.include_router(part)
        self.app = app


@pytest.fixture
def office(tmp_path: Path) -> Iterator[MapOffice]:
    office = MapOffice(tmp_path)
    yield office
    office.runtime.engine.dispose()


def map_data(html: str) -> dict[str, Any]:
    found = re.search(r'id="map"[^>]*data-map="([^"]*)"', html)
    assert found is not None, "the page has no map container with its data"
    data: dict[str, Any] = json.loads(unescape(found.group(1)))
    return data


def img_sources(policy: str) -> list[str]:
    (directive,) = [d.strip() for d in policy.split(";") if d.strip().startswith("img-src")]
    return directive.split()[1:]


def test_leaflet_its_style_and_its_pictures_are_served_from_the_assets(office: MapOffice) -> None:
    client = TestClient(office.app)
    script = client.get("/assets/leaflet/leaflet.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert b"Leaflet 1.9.4" in script.content
    assert client.get("/assets/leaflet/leaflet.css").headers["content-type"].startswith("text/css")
    picture = client.get("/assets/leaflet/images/marker-icon.png")
    assert picture.status_code == 200
    assert picture.content.startswith(b"\x89PNG")
    assert (ASSETS_DIR / "leaflet" / "LICENSE").read_text().startswith("BSD 2-Clause License")


@pytest.mark.parametrize(
    "hostile",
    [
        "leaflet/../../pages.py",
        "leaflet/..%2F..%2Fpages.py",
        "..%2Fregions_data%2Fboundaries%2Fkukar.geojson",
        "leaflet/LICENSE",
        "leaflet/VERSION",
        "leaflet/.hidden.js",
        "leaflet/images/../../../http.py",
        "other/leaflet.js",
        "leaflet/images/nothing.png",
        "%2Fetc%2Fpasswd",
    ],
)
def test_nothing_but_the_assets_themselves_is_served_from_the_assets_path(
    office: MapOffice, hostile: str
) -> None:
    answer = TestClient(office.app).get(f"/assets/{hostile}")
    assert answer.status_code == 404, answer.text[:200]


@pytest.mark.parametrize(("office_id", "regency_code"), sorted(OFFICE_REGENCIES.items()))
def test_each_office_has_a_base_map_with_its_own_districts_and_villages(
    office_id: str, regency_code: str
) -> None:
    base = json.loads((BOUNDARIES / f"{office_id}.geojson").read_text())
    everything = regions()
    districts = {d.name for d in everything.within(regency_code, "district")}
    kinds: dict[str, list[dict[str, Any]]] = {}
    for feature in base["features"]:
        kinds.setdefault(feature["properties"]["kind"], []).append(feature)
    drawn = {f["properties"]["name"] for f in kinds["district"]}
    assert drawn == districts
    west, south, east, north = base["bbox"]
    for feature in kinds["district"] + kinds["place"]:
        lon, lat = feature["geometry"]["coordinates"]
        assert west <= lon <= east and south <= lat <= north
    for place in kinds["place"]:
        assert place["properties"]["district"] in districts
        village = everything.by_code[place["properties"]["code"]]
        assert normalise(village.name) == normalise(place["properties"]["name"])
    assert len(kinds["place"]) >= 0.8 * sum(
        len(everything.within(d.code, "village"))
        for d in everything.within(regency_code, "district")
    )
    assert kinds["land"][0]["geometry"]["type"] == "MultiPolygon"


def test_the_base_maps_stay_small() -> None:
    total = sum(path.stat().st_size for path in BOUNDARIES.glob("*.geojson"))
    assert total < 300_000


def test_the_base_map_is_served_for_a_known_office_and_refused_for_any_other(
    office: MapOffice,
) -> None:
    client = TestClient(office.app)
    answer = client.get("/map/base.geojson?office_id=kukar")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/geo+json"
    assert answer.json()["regency_code"] == "64.02"
    refused = client.get("/map/base.geojson?office_id=jakarta")
    assert refused.status_code == 404
    assert refused.json()["error"] == "map_not_found"
    for hostile in ("..%2Fkukar", "KUKAR", "kukar%00"):
        assert client.get(f"/map/base.geojson?office_id={hostile}").status_code == 422


def test_the_board_carries_the_cases_warehouse_and_delivery_for_its_map(office: MapOffice) -> None:
    html = TestClient(office.app).get("/").text
    data = map_data(html)
    assert data["boundary"] == "map/base.geojson?office_id=kukar"
    assert data["tiles"] is None
    assert data["bbox"][0] < SUKARAME.lon < data["bbox"][2]
    by_href = {m["href"]: m for m in data["markers"]}
    moving = by_href[f"cases/{office.sukarame}"]
    assert moving["name"] == "Banjir · Sukarame, Tenggarong · 30 KK"
    assert moving["site"] == [SUKARAME.lat, SUKARAME.lon]
    assert moving["warehouse"] == "GUDANG-TGR"
    assert moving["truck"] is not None and moving["arrival"]
    waiting = by_href[f"cases/{office.loa_kulu}"]
    assert waiting["warehouse"] is None and waiting["truck"] is None
    assert {m["state"] for m in data["markers"]} <= {"ok", "warn", "late"}
    assert '<script src="/assets/leaflet/leaflet.js"></script>' in html
    # Without a script the empty map stays hidden and the page lists what it shows.
    assert re.search(r'<div class="map" id="map" hidden', html)
    assert '<details class="map-list" id="map-list" open>' in html
    assert f'<a href="cases/{office.loa_kulu}">' in html


def test_the_case_page_carries_its_own_case_for_the_map(office: MapOffice) -> None:
    data = map_data(TestClient(office.app).get(f"/cases/{office.sukarame}").text)
    assert data["boundary"] == "../map/base.geojson?office_id=kukar"
    assert [m["href"] for m in data["markers"]] == [f"../cases/{office.sukarame}"]


def test_without_a_tile_server_the_page_loads_images_from_itself_only(office: MapOffice) -> None:
    answer = TestClient(office.app).get("/")
    assert img_sources(answer.headers["content-security-policy"]) == ["'self'", "data:", "blob:"]


def test_a_configured_tile_server_is_allowed_on_the_map_pages_and_nowhere_else(
    tmp_path: Path,
) -> None:
    office = MapOffice(tmp_path, map_tile_url=TILES, map_tile_attribution="© Dinsos Kukar")
    client = TestClient(office.app)
    for page in ("/", f"/cases/{office.sukarame}"):
        answer = client.get(page)
        assert img_sources(answer.headers["content-security-policy"]) == [
            "'self'",
            "data:",
            "blob:",
            "https://tiles.dinsos-kukar.example",
        ]
        assert map_data(answer.text)["tiles"] == TILES
    for elsewhere in ("/reports/view", "/clocks", "/map/base.geojson"):
        policy = client.get(elsewhere).headers["content-security-policy"]
        assert "tiles.dinsos-kukar.example" not in policy
    office.runtime.engine.dispose()


@pytest.mark.parametrize(
    "bad",
    [
        "javascript:alert(1)//{z}",
        "https://tiles.example/{x}/{y}.png",  # no zoom: not a tile template
        "https://tiles.example; script-src *; /{z}/{x}/{y}.png",
        "ftp://tiles.example/{z}/{x}/{y}.png",
    ],
)
def test_a_tile_url_that_is_no_tile_template_is_refused_at_start(bad: str) -> None:
    with pytest.raises(ValidationError):
        NotifySettings(map_tile_url=bad)


def test_an_empty_tile_url_means_no_tiles() -> None:
    assert NotifySettings(map_tile_url="").map_tile_url is None


def test_the_map_is_drawn_with_the_regency_and_the_markers_in_a_browser(
    office: MapOffice,
    browser: WebDriver,  # noqa: F811  the fixture imported above
) -> None:
    with uvicorn_on_a_free_port(office.app) as url:
        browser.get(f"{url}/")
        WebDriverWait(browser, 15).until(
            lambda b: b.find_element(By.ID, "map").get_attribute("data-base-map") == "drawn"
        )
        container = browser.find_element(By.ID, "map")
        assert "leaflet-container" in (container.get_attribute("class") or "")
        assert container.find_elements(By.CSS_SELECTOR, "path.land")
        labels = {e.text for e in container.find_elements(By.CSS_SELECTOR, ".district-label")}
        assert {"Tenggarong", "Loa Kulu", "Sebulu", "Tabang"} <= labels
        assert len(container.find_elements(By.CSS_SELECTOR, "path.place")) > 200
        assert len(container.find_elements(By.CSS_SELECTOR, "path.case")) == 2
        assert len(container.find_elements(By.CSS_SELECTOR, ".map-warehouse")) == 1
        container.find_element(By.CSS_SELECTOR, ".map-warehouse").click()
        popup = WebDriverWait(browser, 5).until(
            lambda b: b.find_element(By.CSS_SELECTOR, ".leaflet-popup-content a.open")
        )
        assert popup.get_attribute("href") == f"{url}/cases/{office.sukarame}"


def test_the_map_library_and_script_load_before_anyone_signs_in_the_base_map_after(
    tmp_path: Path,
) -> None:
    app = create_app(signed_in(NotifySettings, tmp_path))
    app.state.runtime.create_tables()
    client = TestClient(app)
    for path in (
        "/assets/leaflet/leaflet.js",
        "/assets/leaflet/images/layers.png",
        "/map.js",
    ):
        assert client.get(path).status_code == 200, path
    assert client.get("/map/base.geojson").status_code == 401
    board = client.get("/", headers={"accept": "text/html"}, follow_redirects=False)
    assert board.status_code in (302, 303, 307, 401)


def test_tiles_from_the_configured_server_load_under_the_pages_policy(
    tmp_path: Path,
    browser: WebDriver,  # noqa: F811  the fixture imported above
) -> None:
    tile_server = FastAPI()
    tile = (ASSETS_DIR / "leaflet" / "images" / "layers.png").read_bytes()
    asked: list[str] = []

    @tile_server.get("/{z}/{x}/{y}.png")
    def one_tile(z: int, x: int, y: int) -> Response:
        asked.append(f"{z}/{x}/{y}")
        return Response(tile, media_type="image/png")

    with uvicorn_on_a_free_port(tile_server) as tiles:
        office = MapOffice(tmp_path, map_tile_url=tiles + "/{z}/{x}/{y}.png")
        with uvicorn_on_a_free_port(office.app) as url:
            browser.get(f"{url}/")
            WebDriverWait(browser, 15).until(
                lambda b: b.find_elements(By.CSS_SELECTOR, "#map img.leaflet-tile-loaded")
            )
        office.runtime.engine.dispose()
    assert asked
