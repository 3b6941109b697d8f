"""The coordinator's inbox and report page in a real headless chromium, against intake
served by uvicorn with sign-in required: a coordinator signs in, opens the inbox, opens a
report and verifies it with the assessed needs, or rejects it with a reason; every
refusal of the API (a quantity of 0, a code not in the catalogue's form, a report decided
meanwhile, no network) is shown in words and leaves the form as it was typed.

Runs on SQLite only: the pages' queries run on both databases in test_screens.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select

from shared.auth import AuthSettings, Role
from shared.passwords import hash_password
from shared.tansu import TansuBroker
from tests.intake.test_api import report
from tests.intake.test_form import intake_settings, served, set_offline, wait_until
from tests.support.access import SECRET, token_for
from tests.support.browser import click_and_load
from tests.support.case_records import LETTER_PDF, record_disposition
from tests.support.signin import CHEAP_N

PASSWORD = "putuskan-2026-kukar"
SUKARAME = {"village": "Sukarame", "district": "Tenggarong", "regency": "Kutai Kartanegara"}


@dataclass
class Intake:
    url: str
    auth: AuthSettings

    def headers(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_for(self.auth, role)}"}

    def file(self, **overrides: Any) -> str:
        body = report(happened_at=(datetime.now(UTC) - timedelta(hours=1)).isoformat())
        body.update(overrides)
        answer = httpx.post(
            f"{self.url}/reports", json=body, headers=self.headers(Role.FIELD_TEAM), timeout=10
        )
        assert answer.status_code == 201, answer.text
        incident: str = answer.json()["id"]
        return incident

    def incident(self, incident: str) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(
            f"{self.url}/incidents/{incident}", headers=self.headers(Role.COORDINATOR), timeout=10
        ).json()
        return answer


@pytest.fixture
def intake(broker: TansuBroker, tmp_path: Path) -> Iterator[Intake]:
    with coordinator_intake(broker, tmp_path) as served_intake:
        yield served_intake


@contextmanager
def coordinator_intake(broker: TansuBroker, tmp_path: Path) -> Iterator[Intake]:
    """intake under uvicorn with sign-in required; Sari is a coordinator of kukar."""
    users = tmp_path / "users.toml"
    users.write_text(
        '[[user]]\nusername = "sari"\nname = "Sari Rahmawati"\noffice_id = "kukar"\n'
        f'roles = ["coordinator"]\npassword_scrypt = "{hash_password(PASSWORD, n=CHEAP_N)}"\n'
    )
    auth = AuthSettings(
        required=True, secret=SECRET, users_file=users, environment="test", scrypt_n=CHEAP_N
    )
    settings = intake_settings(broker, tmp_path).model_copy(update={"auth": auth})
    with served(settings) as url:
        yield Intake(url, auth)


def sign_in(browser: WebDriver, intake: Intake, lang: str) -> None:
    browser.get(f"{intake.url}/login?next=%2Fkoordinator%3Flang%3D{lang}&lang={lang}")
    browser.find_element(By.ID, "username").send_keys("sari")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    wait_until(lambda: browser.find_elements(By.ID, "waiting"), "the inbox after sign-in")


def open_report(browser: WebDriver, headline: str) -> None:
    link = browser.find_element(By.PARTIAL_LINK_TEXT, headline)
    click_and_load(browser, link)
    wait_until(lambda: browser.find_elements(By.ID, "decision"), "the report page")


def shown_text(browser: WebDriver, element_id: str) -> str:
    """The element's words once the page has shown it."""

    def words() -> str | None:
        element = browser.find_element(By.ID, element_id)
        return str(element.text) if element.is_displayed() and element.text else None

    return wait_until(words, f"#{element_id} is shown")


def line(browser: WebDriver, index: int) -> tuple[WebElement, WebElement]:
    row = browser.find_elements(By.CSS_SELECTOR, "#need-lines .need-line")[index]
    return (
        row.find_element(By.NAME, "item_code"),
        row.find_element(By.NAME, "quantity"),
    )


def retype(field: WebElement, text: str) -> None:
    field.clear()
    field.send_keys(text)


def set_value(browser: WebDriver, element_id: str, value: str) -> None:
    """A date field's value as the browser keeps it (typing one depends on the locale)."""
    browser.execute_script(
        "document.getElementById(arguments[0]).value = arguments[1];", element_id, value
    )


def stored_and_shown(browser: WebDriver, button_id: str, list_id: str, words: str) -> str:
    """Press a record's button; the card's list once the reloaded page shows `words`."""
    browser.find_element(By.ID, button_id).click()

    def listed() -> str | None:
        try:
            found = browser.find_elements(By.ID, list_id)
            return str(found[0].text) if found and words in found[0].text else None
        except StaleElementReferenceException:  # the page was reloading
            return None

    return wait_until(listed, f"#{list_id} shows {words}")


def submit_and_wait(browser: WebDriver, button_id: str, notice_id: str) -> str:
    """Press a decision button; the words of the refusal it brings."""
    browser.execute_script(
        "document.getElementById(arguments[0]).hidden = true;", notice_id
    )  # the previous answer goes, so the wait below reads the new one
    browser.find_element(By.ID, button_id).click()
    return shown_text(browser, notice_id)


def test_a_coordinator_verifies_a_report_with_the_assessed_needs(
    browser: WebDriver, intake: Intake
) -> None:
    incident = intake.file(
        location=None,
        address=SUKARAME,
        households_affected=30,
        stated_needs=[{"item_code": "RICE-5KG", "quantity": 40}],
    )
    sign_in(browser, intake, "id")
    assert "Menunggu keputusan: 1" in browser.find_element(By.ID, "waiting").text
    open_report(browser, "Banjir · Sukarame, Tenggarong · 30 KK")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Banjir · Sukarame, Tenggarong · 30 KK"

    # Kukar's standard (000): "Disposisi pimpinan dan validasi informasi". The page asks
    # for the disposition first; one with a field left empty is refused in words.
    assert "catat sebelum memverifikasi" in browser.find_element(By.ID, "disposition").text
    browser.find_element(By.ID, "disposition-by").send_keys("Drs. H. Hamly")
    said = submit_and_wait(browser, "disposition-submit", "disposition-outcome")
    assert said == "Lengkapi: Jabatan, Isi disposisi."
    browser.find_element(By.ID, "disposition-position").send_keys("Kepala Dinas Sosial")
    browser.find_element(By.ID, "disposition-instruction").send_keys(
        "Kabid Linjamsos: validasi dan siapkan logistik"
    )
    given = stored_and_shown(browser, "disposition-submit", "disposition-list", "Drs. H. Hamly")
    assert "Kepala Dinas Sosial" in given and "dicatat oleh Sari Rahmawati" in given

    item, quantity = line(browser, 0)
    assert (item.get_attribute("value"), quantity.get_attribute("value")) == ("RICE-5KG", "40")
    retype(quantity, "0")
    said = submit_and_wait(browser, "verify-submit", "verify-outcome")
    assert "Baris 1: jumlah harus lebih dari 0." in said
    assert quantity.get_attribute("value") == "0"

    retype(quantity, "-3")
    browser.find_element(By.ID, "add-line").click()
    retype(line(browser, 1)[0], "beras 5 kg")
    retype(line(browser, 1)[1], "10")
    said = submit_and_wait(browser, "verify-submit", "verify-outcome")
    assert "Baris 1: jumlah harus lebih dari 0." in said
    assert "Baris 2: “BERAS 5 KG” bukan kode katalog" in said
    assert line(browser, 1)[0].get_attribute("value") == "beras 5 kg"

    retype(quantity, "30")
    retype(line(browser, 1)[0], "BLANKET")
    said = submit_and_wait(browser, "verify-submit", "verify-outcome")
    assert said == "Laporan ini belum punya titik peta: isi lintang dan bujur lokasinya."

    retype(browser.find_element(By.ID, "lat"), "-0,4230")
    retype(browser.find_element(By.ID, "lon"), "116.9860")
    set_offline(browser, offline=True)
    said = submit_and_wait(browser, "verify-submit", "verify-outcome")
    assert said.startswith("Tidak ada sambungan ke server: belum ada yang terkirim.")
    assert browser.find_element(By.ID, "lat").get_attribute("value") == "-0,4230"
    assert intake.incident(incident)["status"] == "reported"

    set_offline(browser, offline=False)
    browser.find_element(By.ID, "verify-submit").click()
    decided = shown_text(browser, "decided")
    assert "Terverifikasi" in decided
    assert "Sari Rahmawati" in decided
    assert "RICE-5KG 30" in decided and "BLANKET 10" in decided
    assert not browser.find_elements(By.ID, "verify-form")
    stored = intake.incident(incident)
    assert stored["status"] == "verified"
    assert stored["decided_by"] == "Sari Rahmawati"
    assert stored["assessed_needs"] == [
        {"item_code": "RICE-5KG", "quantity": 30},
        {"item_code": "BLANKET", "quantity": 10},
    ]
    assert stored["location"] == {"lat": -0.423, "lon": 116.986}

    click_and_load(browser, browser.find_element(By.LINK_TEXT, "← Laporan baru"))
    assert "Menunggu keputusan: 0" in browser.find_element(By.ID, "waiting").text


def test_a_coordinator_rejects_a_report_with_a_reason_in_english(
    browser: WebDriver, intake: Intake, tmp_path: Path
) -> None:
    decided_meanwhile = intake.file(households_affected=5)
    to_reject = intake.file(
        hazard="landslide",
        location={"lat": -0.5012, "lon": 117.1530},
        households_affected=4,
    )
    sign_in(browser, intake, "en")
    open_report(browser, "Flood · GPS point -0.4230, 116.9860 · 5 households")

    # Another coordinator decides it while this page is open: the page says so in words
    # and keeps what was typed.
    record_disposition(httpx, decided_meanwhile, intake.headers(Role.COORDINATOR), base=intake.url)
    verified = httpx.post(
        f"{intake.url}/incidents/{decided_meanwhile}/verification",
        json={"assessed_needs": [{"item_code": "RICE-5KG", "quantity": 5}]},
        headers=intake.headers(Role.COORDINATOR),
        timeout=10,
    )
    assert verified.status_code == 200, verified.text
    browser.find_element(By.ID, "reason-text").send_keys("Sudah ditangani BPBD")
    said = submit_and_wait(browser, "reject-submit", "reject-outcome")
    assert said == (
        "Someone has already decided this report; a decision is final. Reload the page to see it."
    )
    assert browser.find_element(By.ID, "reason-text").get_attribute("value") == (
        "Sudah ditangani BPBD"
    )

    click_and_load(browser, browser.find_element(By.LINK_TEXT, "← New reports"))
    open_report(browser, "Landslide · GPS point -0.5012, 117.1530 · 4 households")

    # The case's records, in English: the village's request letter (000), a file that
    # only pretends to be a PDF, and the emergency status (004) with its dates checked.
    fake = tmp_path / "surat-palsu.pdf"
    fake.write_bytes(b"MZ\x90\x00 not a letter")
    letter = tmp_path / "surat-permohonan.pdf"
    letter.write_bytes(LETTER_PDF)
    browser.find_element(By.ID, "document-title").send_keys("Request of Desa Loa Ipuh 140/9")
    browser.find_element(By.ID, "document-file").send_keys(str(fake))
    said = submit_and_wait(browser, "document-submit", "document-outcome")
    assert said == "The file is named a PDF but is not one: export or scan it again as a PDF."
    browser.find_element(By.ID, "document-file").send_keys(str(letter))
    documents = stored_and_shown(
        browser, "document-submit", "document-list", "Request of Desa Loa Ipuh 140/9"
    )
    assert "Request letter" in documents and "Sari Rahmawati" in documents

    browser.find_element(By.ID, "emergency-by").send_keys("Bupati Kutai Kartanegara")
    browser.find_element(By.ID, "emergency-decree").send_keys("188.45/212/2026")
    set_value(browser, "emergency-from", "2026-12-12")
    set_value(browser, "emergency-until", "2026-11-29")
    said = submit_and_wait(browser, "emergency-submit", "emergency-outcome")
    assert said == "The status ends before it starts: check the two dates."
    set_value(browser, "emergency-from", "2026-11-29")
    set_value(browser, "emergency-until", "2026-12-12")
    status = stored_and_shown(browser, "emergency-submit", "emergency-list", "Emergency response")
    assert "29 Nov 2026 to 12 Dec 2026" in status
    assert "Declared by Bupati Kutai Kartanegara, decree 188.45/212/2026" in status

    said = submit_and_wait(browser, "reject-submit", "reject-outcome")
    assert said == "Write the reason (at least 3 characters)."
    Select(browser.find_element(By.ID, "reason-kind")).select_by_visible_text(
        "Duplicate of another report"
    )
    browser.find_element(By.ID, "reason-text").send_keys("same slope as the report of 07.50")
    browser.find_element(By.ID, "reject-submit").click()
    decided = shown_text(browser, "decided")
    assert "Rejected" in decided and "Sari Rahmawati" in decided
    reason = "Duplicate of another report: same slope as the report of 07.50"
    assert reason in decided
    assert intake.incident(to_reject)["rejection_reason"] == reason
