"""The coordinator's board in a real headless chromium: open cases named in words and
ordered by time left, the map, a new case appearing without a reload, English on request,
one case's timeline; and a signed-in coordinator acknowledging a warning from the board."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from services.notify import alerting
from services.notify.app import ACCESS, router
from services.notify.board import board_router
from services.notify.board_map import map_router
from shared.auth import AuthSettings, protect
from shared.http import install_error_handlers
from shared.pages import assets_router
from shared.passwords import hash_password
from shared.service_api import guard_requests
from shared.tansu import free_port
from tests.notify.test_board_pages import NOW, Office, incident, play
from tests.support.access import SECRET
from tests.support.browser import browser, click_and_load  # noqa: F401  the fixture

HOUR = timedelta(hours=1)


@contextmanager
def served(office: Office, auth: AuthSettings | None = None) -> Iterator[str]:
    """notify's API and pages on the office's data over real HTTP; with `auth`, sign-in
    is required as notify's access rules say."""
    app = FastAPI()
    app.state.runtime, app.state.standards = office.runtime, office.standards
    guard_requests(app, service="notify", common=office.runtime.settings.common)
    install_error_handlers(app)
    if auth is not None:
        protect(app, ACCESS, auth, office="kukar")
    app.include_router(router)
    app.include_router(board_router)
    app.include_router(map_router)
    app.include_router(assets_router)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        office.runtime.engine.dispose()


def texts(browser: WebDriver, selector: str) -> list[str]:  # noqa: F811  the fixture's name
    """The visible text of every element `selector` picks, read at one instant: the board
    replaces its rows while it is read, so elements found one call earlier may be gone."""
    found = browser.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map((e) => e.innerText.trim())",
        selector,
    )
    assert isinstance(found, list)
    return [str(text) for text in found]


def names(browser: WebDriver) -> list[str]:  # noqa: F811  the fixture's name
    return texts(browser, "#open li.case a.name")


def test_the_board_names_cases_by_time_left_shows_the_map_and_takes_new_cases_live(
    browser: WebDriver,  # noqa: F811  the fixture imported above
    tmp_path: Path,
) -> None:
    office = Office(tmp_path, board_refresh_s=0.5)
    with served(office) as url:
        browser.get(url + "/?lang=id")
        assert browser.find_element(By.TAG_NAME, "h1").text == "Papan koordinator"
        # Four of five open cases are the incidents and the procurement; the one that
        # arrived is closed. Least time left first.
        assert names(browser)[:3] == [
            "Banjir · Sukarame, Tenggarong · 30 KK",
            "Tanah longsor · Loa Kulu Kota, Loa Kulu · 12 KK",
            "Banjir · Sebulu Ilir, Sebulu · 7 KK",
        ]
        assert texts(browser, "#open li.case .countdown")[:3] == ["4 jam", "18 jam", "22 jam"]
        assert "(terlambat)" in texts(browser, "#open li.case")[1]
        WebDriverWait(browser, 10).until(
            lambda b: b.find_element(By.ID, "map").get_attribute("data-base-map") == "drawn"
        )
        assert len(browser.find_elements(By.CSS_SELECTOR, "#map path.case")) == 3
        assert len(browser.find_elements(By.CSS_SELECTOR, "#map .map-truck")) == 1

        # A report comes in while the page is open: it appears without a reload.
        play(office.runtime, office.standards, incident(
            uuid.uuid4(), NOW - HOUR, district="Loa Kulu", village="Jonggon Jaya", households=3,
        ))  # fmt: skip
        WebDriverWait(browser, 10).until(
            lambda b: "Banjir · Jonggon Jaya, Loa Kulu · 3 KK" in names(b)
        )

        click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "a.lang"))
        assert browser.find_element(By.TAG_NAME, "h1").text == "Coordinator's board"
        browser.get(f"{url}/cases/{office.sukarame}?lang=en")
        assert browser.find_element(By.TAG_NAME, "h1").text == (
            "Flood · Sukarame, Tenggarong · 30 households"
        )
        steps = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#timeline tbody tr")]
        assert "Reported" in steps[0] and "Pak RT Sukarame" in steps[0]
        assert "Verified" in steps[1] and "Kasi Linjamsos Rahmat" in steps[1]
        assert any("Petugas gudang Sari" in step for step in steps)


def test_a_signed_in_coordinator_acknowledges_a_warning_from_the_board(
    browser: WebDriver,  # noqa: F811  the fixture imported above
    tmp_path: Path,
) -> None:
    users = tmp_path / "users.toml"
    users.write_text(
        '[[user]]\nusername = "sari"\nname = "Sari Koordinator"\noffice_id = "kukar"\n'
        f'roles = ["coordinator"]\npassword_scrypt = "{hash_password("pantau-24-jam")}"\n'
    )
    office = Office(tmp_path)
    auth = AuthSettings(required=True, secret=SECRET, users_file=users)
    with served(office, auth) as url:
        browser.get(f"{url}/?lang=id")  # not signed in: the sign-in form first
        browser.find_element(By.ID, "username").send_keys("sari")
        browser.find_element(By.ID, "password").send_keys("pantau-24-jam")
        click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "button[type=submit]"))
        assert browser.find_element(By.TAG_NAME, "h1").text == "Papan koordinator"
        warning = browser.find_element(By.CSS_SELECTOR, "#alerts li.alert")
        alert_id = warning.get_attribute("data-alert")
        warning.find_element(By.CSS_SELECTOR, "button.ack").click()
        WebDriverWait(browser, 10).until(
            lambda b: (
                b.find_element(By.CSS_SELECTOR, f'[data-alert="{alert_id}"] .acked').text
                == "Ditanggapi oleh Sari Koordinator"
            )
        )
        assert not browser.find_elements(By.CSS_SELECTOR, f'[data-alert="{alert_id}"] button')
        acknowledged = office.runtime.run(
            lambda uow: alerting.list_alerts(
                uow, office_id="kukar", open_only=False, after=None, limit=50
            )
        ).items
        assert [a.acknowledged_by for a in acknowledged if str(a.id) == alert_id] == [
            "Sari Koordinator"
        ]
        browser.refresh()  # an acknowledged warning waits for nobody any more
        assert alert_id not in [
            li.get_attribute("data-alert")
            for li in browser.find_elements(By.CSS_SELECTOR, "#alerts li.alert")
        ]

        # The other warning, from its case page in English.
        other = browser.find_element(By.CSS_SELECTOR, "#alerts li.alert")
        other_id = other.get_attribute("data-alert")
        case_link = other.find_element(By.CSS_SELECTOR, "a").get_attribute("href")
        browser.get(f"{case_link}?lang=en")
        browser.find_element(By.CSS_SELECTOR, f'[data-alert="{other_id}"] button.ack').click()
        WebDriverWait(browser, 10).until(
            lambda b: (
                b.find_element(By.CSS_SELECTOR, f'[data-alert="{other_id}"] .acked').text
                == "Acknowledged by Sari Koordinator"
            )
        )
        browser.refresh()
        assert browser.find_element(
            By.CSS_SELECTOR, f'[data-alert="{other_id}"] .acked'
        ).text.startswith("Acknowledged by Sari Koordinator, 29 Nov 2026")
