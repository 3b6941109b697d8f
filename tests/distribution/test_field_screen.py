"""The field team's phone screen in a real headless chromium, against distribution served
by uvicorn on the real broker: a permakanan round's goods are released over Kafka, the
run is planned, and the team departs, confirms one parcel with a drawn signature and
fails another as "moved", each in a tap or two on a phone-sized window."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from services.distribution.app import create_app
from services.distribution.settings import DistributionSettings
from shared.auth import TOKEN_COOKIE, AuthSettings, Role
from shared.clock import office_today
from shared.events import CaseType, serialize_event
from shared.tansu import TansuBroker
from shared.topics import DISPATCHES
from tests.distribution.programs_support import HUB, person, release_for
from tests.support.access import SECRET, token_for
from tests.support.kafka import send_raw
from tests.support.services import settings_for


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Live:
    """distribution served: its address, and the sign-in settings when sign-in is on."""

    url: str
    auth: AuthSettings | None


@pytest.fixture(params=["sign-in off", "signed in"])
def live(request: pytest.FixtureRequest, broker: TansuBroker, tmp_path: Path) -> Iterator[Live]:
    """distribution under uvicorn on a free port, ready (consumer included); once as the
    local run has it (sign-in off), once with sign-in required (the screen's script must
    send the CSRF token that goes with the cookie)."""
    settings = settings_for(
        DistributionSettings, broker, f"sqlite:///{tmp_path / 'distribution.sqlite3'}"
    )
    auth = AuthSettings(required=True, secret=SECRET) if request.param == "signed in" else None
    if auth is not None:
        settings = settings.model_copy(update={"auth": auth})
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    else:
        pytest.fail("distribution did not become healthy")
    try:
        yield Live(base, auth)
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json()


def wait_for(condition: Any, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    pytest.fail("condition not met in time")


def status_of(browser: WebDriver, delivery_id: str) -> str:
    return (
        browser.find_element(By.CSS_SELECTOR, f'li[data-delivery="{delivery_id}"]').get_attribute(
            "data-status"
        )
        or ""
    )


def test_a_team_works_todays_run_from_a_phone(
    live: Live, broker: TansuBroker, browser: WebDriver
) -> None:
    headers = {}
    if live.auth is not None:
        token = token_for(live.auth, *Role)
        headers = {"Authorization": f"Bearer {token}"}
        browser.get(f"{live.url}/health")  # a page of the host, to set its cookie on
        browser.add_cookie({"name": TOKEN_COOKIE, "value": token, "httpOnly": True})
    api = httpx.Client(base_url=live.url, timeout=10, headers=headers)
    people = [
        ok(api.post("/recipients", json=person(s).model_dump(mode="json"))) for s in (1, 2, 3)
    ]
    assert people[0]["nik"] == "64020601******01"
    program = ok(
        api.post(
            "/permakanan/programs",
            json={
                "name": "Permakanan 2026",
                "start_date": office_today().isoformat(),
                "parcel": [{"item_code": "RICE-5KG", "quantity": 2}],
                "hub": HUB.model_dump(),
            },
        )
    )
    for someone in people:
        ok(
            api.post(
                f"/permakanan/programs/{program['id']}/enrolments",
                json={"recipient_id": someone["id"]},
            )
        )
    round_id = program["rounds"][0]["id"]
    ok(api.post(f"/permakanan/rounds/{round_id}/opening"))
    # logistics releases the round's goods: over the real broker, into the real agent.
    release = release_for(uuid.UUID(round_id), CaseType.PERMAKANAN_ROUND, [("RICE-5KG", 6)])
    asyncio.run(
        send_raw(
            broker.bootstrap_servers,
            DISPATCHES.name,
            serialize_event(release),
            key=round_id.encode(),
        )
    )
    parcels = wait_for(
        lambda: (
            [
                d
                for d in ok(api.get("/deliveries", params={"case_id": round_id}))
                if d["goods_ready_at"] is not None
            ]
            if len(ok(api.get("/deliveries", params={"case_id": round_id, "status": "created"})))
            == 3
            else None
        )
    )
    assert len(parcels) == 3
    run = ok(
        api.post(
            "/runs",
            json={
                "team": "Tim A",
                "vehicle": "KT 8001 DS",
                "run_date": office_today().isoformat(),
                "start": HUB.model_dump(),
                "delivery_ids": [d["id"] for d in parcels],
            },
        )
    )
    order = [stop["delivery_id"] for stop in run["stops"]]
    names = [stop["recipient_name"] for stop in run["stops"]]

    browser.get(f"{live.url}/field?team=Tim%20A")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Pengiriman hari ini"
    shown = [
        li.get_attribute("data-delivery")
        for li in browser.find_elements(By.CSS_SELECTOR, "li.stop")
    ]
    assert shown == order
    assert all(name in browser.page_source for name in names)
    assert f"{run['total_km']:.1f} km" in browser.find_element(By.CSS_SELECTOR, ".total").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.map g.stop")) == 3
    overflow = browser.execute_script(
        "return document.documentElement.scrollWidth - window.innerWidth"
    )
    assert overflow <= 0, "no sideways scrolling on a phone"

    browser.find_element(By.CSS_SELECTOR, "button.depart").click()
    wait_for(lambda: status_of(browser, order[0]) == "in_transit")

    first = next(d for d in parcels if d["id"] == order[0])
    browser.execute_cdp_cmd(
        "Browser.grantPermissions", {"origin": live.url, "permissions": ["geolocation"]}
    )
    browser.execute_cdp_cmd(
        "Emulation.setGeolocationOverride",
        {
            "latitude": first["destination"]["lat"],
            "longitude": first["destination"]["lon"],
            "accuracy": 5,
        },
    )
    stop = browser.find_element(By.CSS_SELECTOR, f'li[data-delivery="{order[0]}"]')
    stop.find_element(By.CSS_SELECTOR, "button.deliver").click()
    stop.find_element(By.NAME, "received_by").send_keys("Ibu Siti")
    Select(stop.find_element(By.NAME, "relation")).select_by_value("spouse")
    canvas = stop.find_element(By.CSS_SELECTOR, "canvas.signature")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    ActionChains(browser).move_to_element_with_offset(
        canvas, -60, 0
    ).click_and_hold().move_by_offset(40, 15).move_by_offset(40, -20).release().perform()
    stop.find_element(By.CSS_SELECTOR, ".deliver-form button.send").click()
    wait_for(lambda: status_of(browser, order[0]) == "delivered")

    second = browser.find_element(By.CSS_SELECTOR, f'li[data-delivery="{order[1]}"]')
    second.find_element(By.CSS_SELECTOR, "button.fail").click()
    Select(second.find_element(By.NAME, "reason_code")).select_by_value("moved")
    second.find_element(By.CSS_SELECTOR, ".fail-form button.send").click()
    wait_for(lambda: status_of(browser, order[1]) == "failed")

    delivered = ok(api.get(f"/deliveries/{order[0]}"))
    assert (delivered["received_by"], delivered["received_relation"]) == ("Ibu Siti", "spouse")
    assert delivered["has_signature"] and not delivered["far_from_address"]
    assert delivered["proof_distance_m"] < 50
    assert api.get(f"/deliveries/{order[0]}/signature").headers["content-type"] == "image/png"
    failed = ok(api.get(f"/deliveries/{order[1]}"))
    assert failed["failure_code"] == "moved"
    flagged = ok(api.get("/recipients", params={"flagged": True}))
    assert [r["id"] for r in flagged] == [failed["recipient_id"]]

    browser.get(f"{live.url}/field?team=Tim%20A&lang=en")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Today's deliveries"
    assert (
        "delivered"
        in browser.find_element(By.CSS_SELECTOR, f'li[data-delivery="{order[0]}"] .status').text
    )
