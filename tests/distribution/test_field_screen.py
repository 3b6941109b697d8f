"""The field team's phone screen in a real headless chromium, against distribution served
by uvicorn on the real broker: a permakanan round's goods are released over Kafka, the
run is planned, and the team departs, confirms one parcel with a drawn signature and
fails another as "moved", each in a tap or two on a phone-sized window; a relief
delivery for an incident is taken from assigned to handed over (a step out of order is
refused in words); a step taken without a signal waits on the phone and is sent once
when the signal returns."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select
from sqlmodel import select

from services.distribution.app import create_app
from services.distribution.models.deliveries import StepReceiptRow
from services.distribution.settings import DistributionSettings
from shared.auth import TOKEN_COOKIE, AuthSettings, Principal, Role, issue_token
from shared.clock import office_today
from shared.contracts.envelope import CaseType, GeoPoint
from shared.contracts.union import serialize_event
from shared.runtime import ServiceRuntime
from shared.tansu import TansuBroker
from shared.topics import DISPATCHES
from shared.unit_of_work import UnitOfWork
from tests.distribution.field_support import SUKARAME, TEAM, relief
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
    runtime: ServiceRuntime


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
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
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
        yield Live(base, auth, app.state.runtime)
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

    browser.get(f"{live.url}/field?team=Tim%20A&lang=id")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Tugas hari ini"
    shown = [
        li.get_attribute("data-delivery")
        for li in browser.find_elements(By.CSS_SELECTOR, "li.stop")
    ]
    assert shown == order
    assert all(name in browser.page_source for name in names)
    in_words = f"{run['total_km']:.1f} km".replace(".", ",")  # Indonesian decimal comma
    assert browser.find_element(By.CSS_SELECTOR, ".total").text == in_words
    route_map = browser.find_element(By.CSS_SELECTOR, "img.map")
    assert wait_for(lambda: browser.execute_script("return arguments[0].naturalWidth", route_map))
    overflow = browser.execute_script(
        "return document.documentElement.scrollWidth - window.innerWidth"
    )
    assert overflow <= 0, "no sideways scrolling on a phone"

    browser.find_element(By.CSS_SELECTOR, "button.depart-run").click()
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
    stop.find_element(By.CSS_SELECTOR, 'button[data-open="handover"]').click()
    stop.find_element(By.NAME, "received_by").send_keys("Ibu Siti")
    Select(stop.find_element(By.NAME, "relation")).select_by_value("spouse")
    canvas = stop.find_element(By.CSS_SELECTOR, "canvas.signature")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    ActionChains(browser).move_to_element_with_offset(
        canvas, -60, 0
    ).click_and_hold().move_by_offset(40, 15).move_by_offset(40, -20).release().perform()
    stop.find_element(By.CSS_SELECTOR, "form.handover button.send").click()
    wait_for(lambda: status_of(browser, order[0]) == "delivered")

    second = browser.find_element(By.CSS_SELECTOR, f'li[data-delivery="{order[1]}"]')
    second.find_element(By.CSS_SELECTOR, 'button[data-open="failure"]').click()
    Select(second.find_element(By.NAME, "reason_code")).select_by_value("moved")
    second.find_element(By.CSS_SELECTOR, "form.failure button.send").click()
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
    assert browser.find_element(By.TAG_NAME, "h1").text == "Today's work"
    shown_status = f'li[data-delivery="{order[0]}"] .status'
    assert browser.find_element(By.CSS_SELECTOR, shown_status).text == "Handed over"


# --- relief for an incident, and a step without a signal ---------------------------------


def sign_in_as_team(browser: WebDriver, live: Live) -> httpx.Client:
    """The phone signed in under the team's account; an API client with the same rights."""
    assert live.auth is not None
    principal = Principal(
        subject="tagana-tgr-2", name=TEAM, office_id="kukar", roles=frozenset({Role.FIELD_TEAM})
    )
    token = issue_token(principal, live.auth, datetime.now(UTC))
    browser.get(f"{live.url}/health")  # a page of the host, to set its cookie on
    browser.add_cookie({"name": TOKEN_COOKIE, "value": token, "httpOnly": True})
    return httpx.Client(base_url=live.url, timeout=10, headers={"Authorization": f"Bearer {token}"})


def stand_at(browser: WebDriver, live: Live, where: GeoPoint) -> None:
    browser.execute_cdp_cmd(
        "Browser.grantPermissions", {"origin": live.url, "permissions": ["geolocation"]}
    )
    browser.execute_cdp_cmd(
        "Emulation.setGeolocationOverride",
        {"latitude": where.lat, "longitude": where.lon, "accuracy": 5},
    )


def receipts(browser: WebDriver, delivery_id: uuid.UUID) -> list[tuple[str, str]]:
    """(step, state) of each step the phone keeps for the stop, oldest first (read in one
    go: the screen redraws the list whenever a step changes)."""
    shown: list[list[str]] = browser.execute_script(
        "return [...document.querySelectorAll(arguments[0])]"
        ".map((li) => [li.dataset.step, li.dataset.state]);",
        f'li[data-delivery="{delivery_id}"] ol.outbox li',
    )
    return [(step, state) for step, state in shown]


def tap(browser: WebDriver, delivery_id: uuid.UUID, selector: str) -> None:
    stop = browser.find_element(By.CSS_SELECTOR, f'li[data-delivery="{delivery_id}"]')
    button = stop.find_element(By.CSS_SELECTOR, selector)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()


@pytest.mark.parametrize("live", ["signed in"], indirect=True)
def test_a_team_takes_relief_from_assigned_to_handed_over_and_is_told_when_out_of_order(
    live: Live, browser: WebDriver
) -> None:
    delivery_id = relief(live.runtime)
    api = sign_in_as_team(browser, live)
    stand_at(browser, live, SUKARAME)
    browser.get(f"{live.url}/field?lang=en")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Today's work"
    stop = browser.find_element(By.CSS_SELECTOR, f'li[data-delivery="{delivery_id}"]')
    assert stop.find_element(By.TAG_NAME, "h3").text == "Flood · Sukarame, Tenggarong"
    assert stop.find_element(By.CSS_SELECTOR, "a.navigate").get_attribute("href") == (
        "geo:-0.421000,116.987000?q=-0.421000,116.987000(Flood%20%C2%B7%20Sukarame%2C%20Tenggarong)"
    )

    tap(browser, delivery_id, '[data-step="arrival"]')  # before departing: out of order
    wait_for(lambda: receipts(browser, delivery_id) == [("arrival", "refused")])
    refusal = browser.execute_script(
        "return document.querySelector('ol.outbox li.refused').textContent"
    )
    assert "Not possible now: the steps go depart, arrive, hand over." in refusal
    assert ok(api.get(f"/deliveries/{delivery_id}"))["status"] == "assigned"

    tap(browser, delivery_id, '[data-step="departure"]')
    wait_for(lambda: status_of(browser, str(delivery_id)) == "in_transit")
    tap(browser, delivery_id, '[data-step="arrival"]')
    wait_for(lambda: status_of(browser, str(delivery_id)) == "arrived")
    tap(browser, delivery_id, '[data-open="handover"]')
    stop.find_element(By.NAME, "received_by").send_keys("Pak Rahmat, Kepala Desa")
    Select(stop.find_element(By.NAME, "relation")).select_by_value("self")
    canvas = stop.find_element(By.CSS_SELECTOR, "canvas.signature")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    ActionChains(browser).move_to_element_with_offset(
        canvas, -60, 0
    ).click_and_hold().move_by_offset(40, 15).move_by_offset(40, -20).release().perform()
    stop.find_element(By.CSS_SELECTOR, "form.handover button.send").click()
    wait_for(lambda: status_of(browser, str(delivery_id)) == "delivered")

    assert receipts(browser, delivery_id) == [
        ("arrival", "refused"),
        ("departure", "sent"),
        ("arrival", "sent"),
        ("completion", "sent"),
    ]
    delivered = ok(api.get(f"/deliveries/{delivery_id}"))
    assert (delivered["received_by"], delivered["has_signature"]) == (
        "Pak Rahmat, Kepala Desa",
        True,
    )
    assert api.get(f"/deliveries/{delivery_id}/signature").headers["content-type"] == "image/png"


def arrivals_kept(runtime: ServiceRuntime, delivery_id: uuid.UUID) -> int:
    """How many arrival steps the service took under a phone's key for the delivery."""

    def count(uow: UnitOfWork) -> int:
        found = uow.session.exec(
            select(StepReceiptRow).where(
                StepReceiptRow.delivery_id == delivery_id, StepReceiptRow.step == "arrival"
            )
        ).all()
        return len(found)

    return runtime.run(count)


@pytest.mark.parametrize("live", ["signed in"], indirect=True)
def test_a_step_taken_without_a_signal_waits_on_the_phone_and_is_sent_once_it_returns(
    live: Live, browser: WebDriver
) -> None:
    delivery_id = relief(live.runtime)
    api = sign_in_as_team(browser, live)
    stand_at(browser, live, SUKARAME)
    browser.get(f"{live.url}/field?lang=id")
    tap(browser, delivery_id, '[data-step="departure"]')
    wait_for(lambda: status_of(browser, str(delivery_id)) == "in_transit")
    # The screen is kept for opening without a signal.
    wait_for(
        lambda: browser.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "caches.open('field-v2').then((c) => c.match(location.pathname + location.search))"
            ".then((r) => done(Boolean(r)), () => done(false));"
        )
    )

    browser.set_network_conditions(  # type: ignore[attr-defined]  # chromium's, untyped
        offline=True, latency=0, download_throughput=0, upload_throughput=0
    )
    tap(browser, delivery_id, '[data-step="arrival"]')
    wait_for(lambda: receipts(browser, delivery_id)[-1:] == [("arrival", "queued")])
    waiting = browser.execute_script(
        "return document.querySelector('ol.outbox li.queued').textContent"
    )
    assert "menunggu sinyal" in waiting
    time.sleep(6)  # past a retry round: still no signal, still waiting
    assert receipts(browser, delivery_id)[-1:] == [("arrival", "queued")]
    assert ok(api.get(f"/deliveries/{delivery_id}"))["status"] == "in_transit"

    browser.delete_network_conditions()  # type: ignore[attr-defined]  # chromium's, untyped
    wait_for(lambda: receipts(browser, delivery_id)[-1:] == [("arrival", "sent")], timeout=20)
    assert status_of(browser, str(delivery_id)) == "arrived"
    assert ok(api.get(f"/deliveries/{delivery_id}"))["status"] == "arrived"
    assert arrivals_kept(live.runtime, delivery_id) == 1
    browser.refresh()  # what the phone keeps survives the page
    # The page lists the kept steps once it has read them from IndexedDB (asynchronously).
    wait_for(lambda: receipts(browser, delivery_id) == [("departure", "sent"), ("arrival", "sent")])
