"""Tagana's rapid assessment in a real headless chromium, against intake under uvicorn
with sign-in required: a Tagana team member records it on a phone-sized window in Bahasa
Indonesia (a refused count is said in words and keeps what was typed), then the
coordinator opens the report on a desktop-sized window in English and finds it, with
the verify form starting from the needs the team found.

004 (Balangan): "a. Pengkajian secara cepat dan tepat terhadap lokasi, kerusakan dan
sumberdaya"; 001 (Lubuklinggau): "Pendataan Tim Tagana"; 003 (OKU Selatan): "survei
lokasi dan evakuasi oleh petugas Tagana". Runs on SQLite only: the queries run on both
databases in test_assessment.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from shared.auth import AuthSettings
from shared.passwords import hash_password
from shared.tansu import TansuBroker
from tests.intake.test_coordinator_screens import Intake, line, retype, shown_text
from tests.intake.test_form import intake_settings, served, wait_until
from tests.support.access import SECRET
from tests.support.browser import click_and_load
from tests.support.signin import CHEAP_N

PASSWORD = "kaji-cepat-2026"


@pytest.fixture
def intake(broker: TansuBroker, tmp_path: Path) -> Iterator[Intake]:
    """intake under uvicorn; Rahmat is a Tagana team member and Sari a coordinator of kukar."""
    scrypt = hash_password(PASSWORD, n=CHEAP_N)
    users = tmp_path / "users.toml"
    users.write_text(
        '[[user]]\nusername = "rahmat"\nname = "Rahmat Hidayat"\noffice_id = "kukar"\n'
        f'roles = ["field_team"]\npassword_scrypt = "{scrypt}"\n\n'
        '[[user]]\nusername = "sari"\nname = "Sari Rahmawati"\noffice_id = "kukar"\n'
        f'roles = ["coordinator"]\npassword_scrypt = "{scrypt}"\n'
    )
    auth = AuthSettings(
        required=True, secret=SECRET, users_file=users, environment="test", scrypt_n=CHEAP_N
    )
    settings = intake_settings(broker, tmp_path).model_copy(update={"auth": auth})
    with served(settings) as url:
        yield Intake(url, auth)


def sign_in(browser: WebDriver, intake: Intake, username: str, next_path: str, lang: str) -> None:
    # Every cookie, also the refresh token's under /auth (WebDriver's delete sees only
    # the current path's): the next user signs in afresh, as on a shared phone.
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})
    browser.get(f"{intake.url}/login?{urlencode({'next': next_path, 'lang': lang})}")
    browser.find_element(By.ID, "username").send_keys(username)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "button[type=submit]"))


def field(browser: WebDriver, name: str) -> WebElement:
    return browser.find_element(By.CSS_SELECTOR, f'#assessment-form [name="{name}"]')


def picture(browser: WebDriver, name: str, element_id: str) -> None:
    """A screenshot from `element_id` down, for docs/screens when `DINSOS_SCREENS_DIR`
    is set."""
    folder = os.environ.get("DINSOS_SCREENS_DIR")
    if folder:
        browser.execute_script(
            "document.getElementById(arguments[0]).scrollIntoView();", element_id
        )
        browser.save_screenshot(str(Path(folder) / f"intake-{name}.png"))


def test_a_tagana_team_records_an_assessment_on_the_phone_and_the_coordinator_verifies_from_it(
    browser: WebDriver, intake: Intake
) -> None:
    incident = intake.file(households_affected=30, stated_needs=[])

    # The Tagana team, on a phone, in Bahasa Indonesia.
    sign_in(browser, intake, "rahmat", "/lapor/kajian?lang=id", "id")
    wait_until(lambda: browser.find_elements(By.ID, "to-assess"), "the incidents to assess")
    assert "Belum dikaji" in browser.find_element(By.ID, "to-assess").text
    click_and_load(browser, browser.find_element(By.CSS_SELECTOR, f'a[href$="{incident}"]'))
    assert "Belum ada kajian cepat" in browser.find_element(By.ID, "assessment").text

    field(browser, "team").send_keys("Tagana Kecamatan Tenggarong")
    field(browser, "affected.people").send_keys("120")
    field(browser, "affected.households").send_keys("150")
    field(browser, "affected.elderly").send_keys("14")
    field(browser, "affected.under_five").send_keys("11")
    field(browser, "affected.displaced").send_keys("40")
    field(browser, "damage.houses_heavy").send_keys("3")
    field(browser, "damage.houses_light").send_keys("21")
    browser.find_element(By.ID, "add-shelter").click()
    field(browser, "shelter_name").send_keys("Balai Desa Sukarame")
    field(browser, "shelter_capacity").send_keys("60")
    field(browser, "shelter_location").send_keys("RT 03, dekat masjid")
    needs = browser.find_elements(By.CSS_SELECTOR, "#assessment-need-lines .need-line")
    needs[0].find_element(By.NAME, "item_code").send_keys("RICE-5KG")
    needs[0].find_element(By.NAME, "quantity").send_keys("24")
    browser.find_element(By.ID, "add-assessment-need").click()
    needs = browser.find_elements(By.CSS_SELECTOR, "#assessment-need-lines .need-line")
    needs[1].find_element(By.NAME, "item_code").send_keys("family-kit")
    needs[1].find_element(By.NAME, "quantity").send_keys("35")

    # More families than people: refused in words, everything typed kept.
    browser.find_element(By.ID, "assessment-submit").click()
    said = shown_text(browser, "assessment-outcome")
    assert said.startswith("Jumlah KK lebih banyak dari jiwa terdampak")
    assert field(browser, "shelter_name").get_attribute("value") == "Balai Desa Sukarame"

    retype(field(browser, "affected.households"), "35")
    browser.find_element(By.ID, "assessment-submit").click()

    def summary() -> str | None:
        try:
            text = browser.find_element(By.ID, "assessment").text
        except StaleElementReferenceException:  # the page was reloading
            return None
        return text if "Terakhir:" in text else None

    shown = wait_until(summary, "the stored assessment")
    assert "oleh Tagana Kecamatan Tenggarong" in shown
    assert "120 jiwa, 35 KK" in shown
    assert "Balai Desa Sukarame · daya tampung 60" in shown
    assert "FAMILY-KIT 35" in shown
    picture(browser, "assessment-phone", "assessment")

    # The coordinator, at a desk, in English.
    browser.set_window_size(1280, 900)
    sign_in(browser, intake, "sari", f"/koordinator/{incident}?lang=en", "en")
    wait_until(lambda: browser.find_elements(By.ID, "decision"), "the report page")
    card = browser.find_element(By.ID, "assessment").text
    assert "Latest:" in card and "by Tagana Kecamatan Tenggarong" in card
    assert "120 people, 35 families (KK)" in card
    assert "recorded by Rahmat Hidayat" in card
    assert (
        "those of the rapid assessment of"
        in browser.find_element(By.ID, "needs-from-assessment").text
    )
    assert [
        (item.get_attribute("value"), quantity.get_attribute("value"))
        for item, quantity in (line(browser, 0), line(browser, 1))
    ] == [("RICE-5KG", "24"), ("FAMILY-KIT", "35")]
    picture(browser, "report-assessment-desktop", "assessment")
    assert intake.incident(incident)["status"] == "reported"
