"""The phone report form in a real headless chromium against intake served by uvicorn:
a report made offline is kept on the phone and arrives exactly once when back online.

Runs on SQLite only: it tests the page and its outbox; the use cases behind it are
tested on both databases in test_handlers.py and test_api.py."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from shared.auth import AuthSettings, Role
from shared.passwords import hash_password
from shared.tansu import TansuBroker, free_port
from tests.support.access import SECRET, token_for
from tests.support.services import settings_for

T = TypeVar("T")
GPS = {"latitude": -0.4230, "longitude": 116.9860, "accuracy": 12}


def wait_until(probe: Callable[[], T | None], what: str, timeout_s: float = 20.0) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout_s}s: {what}")


def intake_settings(broker: TansuBroker, tmp_path: Path) -> IntakeSettings:
    return settings_for(
        IntakeSettings,
        broker,
        f"sqlite:///{tmp_path / 'intake.sqlite3'}",
        photo_dir=tmp_path / "photos",
    )


@pytest.fixture
def intake_url(broker: TansuBroker, tmp_path: Path) -> Iterator[str]:
    """intake under uvicorn on a free port, as a phone would reach it."""
    with served(intake_settings(broker, tmp_path)) as url:
        yield url


@contextmanager
def served(settings: IntakeSettings) -> Iterator[str]:
    """intake with `settings` under uvicorn on a free port."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="intake-uvicorn", daemon=True)
    thread.start()
    wait_until(lambda: server.started, "uvicorn started")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def set_offline(browser: WebDriver, offline: bool) -> None:
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )


def outbox(browser: WebDriver) -> list[dict[str, str]]:
    """The outbox as shown, read in one go (the list is re-rendered as items change)."""
    items: list[dict[str, str]] = browser.execute_script(
        """return [...document.querySelectorAll('#outbox li')].map((li) => ({
             state: li.dataset.state, incident: li.dataset.incident || '',
             text: li.textContent}))"""
    )
    return items


def outbox_in(browser: WebDriver, state: str) -> list[dict[str, str]] | None:
    items = outbox(browser)
    return items if items and all(item["state"] == state for item in items) else None


def incidents(base: str) -> list[dict[str, Any]]:
    answer: list[dict[str, Any]] = httpx.get(f"{base}/incidents", timeout=10).json()
    return answer


def test_an_offline_report_arrives_once_when_back_online(
    browser: WebDriver, intake_url: str, tmp_path: Path
) -> None:
    # The form speaks the phone's language, as every other screen does (chromium here
    # asks for English); the switch link's `?lang=` wins.
    browser.get(f"{intake_url}/lapor")
    assert browser.find_element(By.ID, "submit").text == "Send report"
    browser.get(f"{intake_url}/lapor?lang=id")
    assert browser.find_element(By.ID, "submit").text == "Kirim laporan"
    # As on a phone that opened the form once with signal: the worker is installed, and
    # the page loaded after that is under its control.
    browser.set_script_timeout(30)
    browser.execute_async_script(
        "navigator.serviceWorker.ready.then(() => arguments[arguments.length - 1]())"
    )
    if not browser.execute_script("return !!navigator.serviceWorker.controller"):
        browser.refresh()
    wait_until(
        lambda: browser.execute_script("return !!navigator.serviceWorker.controller"),
        "the service worker controls the page",
    )
    browser.execute_cdp_cmd(
        "Browser.grantPermissions", {"origin": intake_url, "permissions": ["geolocation"]}
    )
    browser.execute_cdp_cmd("Emulation.setGeolocationOverride", GPS)

    set_offline(browser, offline=True)
    wait_until(
        lambda: browser.find_element(By.ID, "net").get_attribute("data-online") == "false",
        "the page sees it is offline",
    )
    browser.find_element(By.ID, "reporter-name").send_keys("Tim Tagana Tenggarong")
    Select(browser.find_element(By.ID, "hazard")).select_by_value("flood")
    browser.find_element(By.ID, "use-gps").click()
    wait_until(lambda: browser.find_element(By.ID, "lat").get_attribute("value"), "GPS filled in")
    for field, value in (("households", "12"), ("people", "47")):
        box = browser.find_element(By.ID, field)
        box.clear()
        box.send_keys(value)
    photo = tmp_path / "banjir.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 80, 160)).save(buffer, format="JPEG")
    photo.write_bytes(buffer.getvalue())
    browser.find_element(By.ID, "photo").send_keys(str(photo))
    browser.find_element(By.ID, "submit").click()

    (queued,) = wait_until(lambda: outbox_in(browser, "queued"), "the report is queued")
    assert "Menunggu sinyal" in queued["text"]
    time.sleep(1.0)  # give a wrongly eager sender the chance to get through
    assert incidents(intake_url) == []

    browser.refresh()  # offline: the page comes from the service worker, the outbox stays
    wait_until(lambda: outbox_in(browser, "queued"), "the outbox survives a reload")
    assert incidents(intake_url) == []
    # What the phone holds before any answer: put back later as if that answer was lost.
    browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        allItems().then((items) => { window.beforeTheAnswer = items; done(); });
        """
    )

    set_offline(browser, offline=False)
    (sent,) = wait_until(lambda: outbox_in(browser, "sent"), "the report is sent once online")
    (incident,) = incidents(intake_url)
    assert sent["incident"] == incident["id"]
    assert f"Terkirim: kejadian {incident['id']}" in sent["text"]
    assert (incident["people_affected"], incident["households_affected"]) == (47, 12)
    assert incident["location"] == {"lat": GPS["latitude"], "lon": GPS["longitude"]}
    assert incident["location_source"] == "gps"
    photos = httpx.get(f"{intake_url}/incidents/{incident['id']}/photos", timeout=10).json()
    assert [p["media_type"] for p in photos] == ["image/jpeg"]

    # The answer was lost (as on a weak line): the phone sends the same report again.
    browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        (async () => {
          for (const item of window.beforeTheAnswer) await saveItem(item);
          await flush();
          done();
        })();
        """
    )
    browser.refresh()
    wait_until(lambda: outbox_in(browser, "sent"), "the resent report is shown sent")
    assert [i["id"] for i in incidents(intake_url)] == [incident["id"]]

    # A report the office refuses stays on the phone and goes back into the form to fix.
    browser.find_element(By.ID, "reporter-name").send_keys("Kepala Desa Sukarame")
    Select(browser.find_element(By.ID, "hazard")).select_by_value("landslide")
    for field, value in (
        ("village", "Sukaramee"),
        ("district", "Tenggarong"),
        ("regency", "Kutai Kartanegara"),
    ):
        browser.find_element(By.ID, field).send_keys(value)
    browser.find_element(By.ID, "submit").click()
    refused = wait_until(
        lambda: [item for item in outbox(browser) if item["state"] == "refused"],
        "the misspelt village is refused",
    )
    # In the form's language, keyed by the refusal's code, with the region data's spelling.
    assert (
        "Desa/kelurahan tidak dikenal di kecamatan itu. Maksud Anda: Sukarame?"
        in (refused[0]["text"])
    )
    assert "did you mean" not in refused[0]["text"]
    browser.execute_script("document.querySelector('#outbox button.fix').click()")
    village = browser.find_element(By.ID, "village")
    wait_until(lambda: village.get_attribute("value") == "Sukaramee", "the report is back")
    village.clear()
    village.send_keys("Sukarame")
    browser.find_element(By.ID, "submit").click()
    wait_until(
        lambda: len(outbox(browser)) == 2 and outbox_in(browser, "sent"),
        "the corrected report is sent",
    )
    landslide = next(i for i in incidents(intake_url) if i["hazard"] == "landslide")
    assert landslide["address"]["village"] == "Sukarame"
    assert len(incidents(intake_url)) == 2


def test_a_signed_in_phone_sends_its_report_and_photo_with_the_csrf_token(
    browser: WebDriver, broker: TansuBroker, tmp_path: Path
) -> None:
    users = tmp_path / "users.toml"
    users.write_text(
        '[[user]]\nusername = "tagana"\nname = "Tim Tagana"\noffice_id = "kukar"\n'
        f'roles = ["field_team"]\npassword_scrypt = "{hash_password("banjir-2026-tgr")}"\n'
    )
    auth = AuthSettings(required=True, secret=SECRET, users_file=users)
    settings = intake_settings(broker, tmp_path).model_copy(update={"auth": auth})
    with served(settings) as url:
        browser.get(f"{url}/login?next=%2Flapor%3Flang%3Did")
        browser.find_element(By.ID, "username").send_keys("tagana")
        browser.find_element(By.ID, "password").send_keys("banjir-2026-tgr")
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait_until(lambda: browser.find_elements(By.ID, "report-form"), "the form after sign-in")
        browser.execute_cdp_cmd(
            "Browser.grantPermissions", {"origin": url, "permissions": ["geolocation"]}
        )
        browser.execute_cdp_cmd("Emulation.setGeolocationOverride", GPS)
        browser.find_element(By.ID, "reporter-name").send_keys("Tim Tagana Tenggarong")
        browser.find_element(By.ID, "use-gps").click()
        wait_until(lambda: browser.find_element(By.ID, "lat").get_attribute("value"), "GPS")
        photo = tmp_path / "banjir.png"
        Image.new("RGB", (64, 48), (20, 80, 160)).save(photo, format="PNG")
        browser.find_element(By.ID, "photo").send_keys(str(photo))
        browser.find_element(By.ID, "submit").click()
        (sent,) = wait_until(lambda: outbox_in(browser, "sent"), "the report is sent")
        assert "foto ditolak" not in sent["text"]
        bearer = {"Authorization": f"Bearer {token_for(auth, Role.FIELD_TEAM)}"}
        (incident,) = httpx.get(f"{url}/incidents", headers=bearer, timeout=10).json()
        assert sent["incident"] == incident["id"]
        photos = httpx.get(
            f"{url}/incidents/{incident['id']}/photos", headers=bearer, timeout=10
        ).json()
        assert [p["media_type"] for p in photos] == ["image/png"]


NIK = "6402065507850003"
PHONE = "081234567890"


def phone_storage(browser: WebDriver) -> str:
    """Everything the page keeps in the browser (outbox, localStorage, sessionStorage)."""
    stored: str = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        allItems().then((items) => done(JSON.stringify(
          {outbox: items, local: {...localStorage}, session: {...sessionStorage}})));
        """
    )
    return stored


def test_a_sent_report_leaves_no_nik_phone_or_name_on_the_phone(
    browser: WebDriver, intake_url: str
) -> None:
    browser.get(f"{intake_url}/lapor?lang=id")
    browser.set_script_timeout(30)
    for field, value in (
        ("reporter-name", "Ibu Wati Lestari"),
        ("reporter-phone", PHONE),
        ("reporter-nik", NIK),
        ("lat", "-0.4230"),
        ("lon", "116.9860"),
    ):
        browser.find_element(By.ID, field).send_keys(value)
    Select(browser.find_element(By.ID, "hazard")).select_by_value("flood")
    browser.find_element(By.ID, "submit").click()

    (sent,) = wait_until(lambda: outbox_in(browser, "sent"), "the report is sent")
    (incident,) = incidents(intake_url)
    assert sent["incident"] == incident["id"]
    assert incident["reporter"]["phone"] == "0812******90"  # the server has it
    stored = phone_storage(browser)
    assert incident["id"] in stored  # the receipt stays
    for personal in (NIK, PHONE, "Wati"):
        assert personal not in stored

    browser.refresh()  # and the receipt is still shown after a reload
    (shown,) = wait_until(lambda: outbox_in(browser, "sent"), "the receipt is shown")
    assert f"Terkirim: kejadian {incident['id']}" in shown["text"]


def test_a_report_sent_by_an_older_page_is_reduced_to_its_receipt(
    browser: WebDriver, intake_url: str
) -> None:
    browser.get(f"{intake_url}/lapor?lang=id")
    browser.set_script_timeout(30)
    browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        saveItem({id: "old-1", created: Date.now(), state: "sent", incident: "abc",
                  summary: "Banjir, 4 orang",
                  body: {reporter: {name: "Pak Lama", phone: arguments[0], nik: arguments[1]}}})
          .then(() => done());
        """,
        PHONE,
        NIK,
    )
    browser.refresh()
    wait_until(lambda: outbox_in(browser, "sent"), "the old report is shown")
    stored = phone_storage(browser)
    assert "abc" in stored
    for personal in (NIK, PHONE, "Pak Lama"):
        assert personal not in stored
