"""The recipient screens in a real headless chromium on a phone-sized window, signed in
(so that the import's upload carries the CSRF header and the forms their token), in both
languages: the office's spreadsheet is checked, then imported, with the refused row shown
with its reason; one person is registered through the form and found in the list with a
masked NIK; a registration the rules refuse comes back in place with the words."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from services.distribution.app import create_app
from shared.auth import TOKEN_COOKIE, AuthSettings, Role
from tests.distribution.programs_support import make_settings, nik
from tests.distribution.test_field_screen import free_port
from tests.support.access import SECRET, token_for

HEADER = "NIK;Nama;Tanggal Lahir;Alamat;Desa/Kelurahan;Kecamatan;Lintang;Bujur;ID DTKS;PKH"


@dataclass(frozen=True)
class Served:
    url: str
    auth: AuthSettings


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """distribution under uvicorn, sign-in required; no broker: these screens announce
    nothing (the lifespan that starts the relay and the consumer is left out)."""
    auth = AuthSettings(required=True, secret=SECRET)
    settings = make_settings(f"sqlite:///{tmp_path / 'distribution.sqlite3'}").model_copy(
        update={"auth": auth}
    )
    app = create_app(settings)
    app.state.runtime.create_tables()
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/ui/recipients.css", timeout=2)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    try:
        yield Served(url, auth)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        app.state.runtime.engine.dispose()


def sheet(tmp_path: Path, name: str, *serials: int, bad_nik: bool = False) -> str:
    lines = [HEADER]
    for serial in serials:
        lines.append(
            f"{nik(serial)};Lansia {serial};01/01/1950;Jl. Mulawarman;Sukarame;Tenggarong;"
            f"-0,428;116,985;DTKS-{serial};Tidak"
        )
    if bad_nik:
        lines.append("64020601015;Salah Ketik;01/01/1950;Jl. A;Sukarame;Tenggarong;-0,43;116,98;;")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return str(path)


def report_of(browser: WebDriver) -> tuple[str, str, str]:
    report = WebDriverWait(browser, 20).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, "#report .import-report")
    )[0]
    return (
        report.get_attribute("data-dry-run") or "",
        report.get_attribute("data-accepted") or "",
        report.get_attribute("data-refused") or "",
    )


def fill(browser: WebDriver, values: dict[str, str]) -> None:
    for name, value in values.items():
        field = browser.find_element(By.ID, name)
        field.clear()
        field.send_keys(value)


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        (
            "id",
            {
                "refused": "Baris yang ditolak",
                "reason": "NIK tidak mungkin benar",
                "done": "Penerima sudah terdaftar.",
                "not_eligible": "penerima PKH",
            },
        ),
        (
            "en",
            {
                "refused": "Refused rows",
                "reason": "The NIK cannot be right",
                "done": "The recipient is registered.",
                "not_eligible": "receives PKH",
            },
        ),
    ],
)
def test_an_office_imports_its_sheet_and_registers_one_person_from_a_phone(
    served: Served, browser: WebDriver, tmp_path: Path, lang: str, words: dict[str, str]
) -> None:
    browser.get(f"{served.url}/ui/recipients.css")  # a page of the host, to set its cookie on
    token = token_for(served.auth, Role.COORDINATOR)
    browser.add_cookie({"name": TOKEN_COOKIE, "value": token, "httpOnly": True})

    browser.get(f"{served.url}/ui/recipients/import?lang={lang}")
    upload = sheet(tmp_path, "dtks.csv", 1, 2, bad_nik=True)
    browser.find_element(By.ID, "file").send_keys(upload)
    browser.find_element(By.ID, "check").click()
    assert report_of(browser) == ("true", "2", "1")
    browser.find_element(By.ID, "file").send_keys(upload)
    browser.find_element(By.ID, "import").click()
    WebDriverWait(browser, 20).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, '#report [data-dry-run="false"]')
    )
    assert report_of(browser) == ("false", "2", "1")
    refused = browser.find_element(By.CSS_SELECTOR, "table.refused-rows tr[data-row]")
    assert (refused.get_attribute("data-row"), refused.get_attribute("data-error")) == (
        "4",
        "invalid_nik",
    )
    assert words["refused"] in browser.page_source
    assert words["reason"] in refused.text

    browser.get(f"{served.url}/ui/recipients/new")
    fill(
        browser,
        {
            "name": "Ibu Siti Aminah",
            "nik": nik(7),
            "street": "Jl. Panji RT 04",
            "district": "Tenggarong",
            "village": "Melayu",
            "lat": "-0.4301",
            "lon": "116.9822",
            "social_register_id": "DTSEN-77",
        },
    )
    Select(browser.find_element(By.ID, "social_register")).select_by_value("dtsen")
    browser.find_element(By.NAME, "receives_pkh").click()
    browser.find_element(By.ID, "register").click()
    done = WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.ID, "done"))[0]
    assert done.text == words["done"]
    row = browser.find_element(By.CSS_SELECTOR, "table.recipients tbody tr")
    assert "Ibu Siti Aminah" in row.text
    assert "64020601******07" in row.text
    assert words["not_eligible"] in row.text

    # The same NIK again: refused in place, the form kept as typed.
    browser.get(f"{served.url}/ui/recipients/new")
    fill(
        browser,
        {
            "name": "Orang Lain",
            "nik": nik(7),
            "district": "Tenggarong",
            "village": "Melayu",
            "lat": "-0.43",
            "lon": "116.98",
        },
    )
    browser.find_element(By.ID, "register").click()
    error = WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.ID, "error"))[0]
    assert error.get_attribute("data-refused") == "duplicate_nik"
    assert browser.find_element(By.ID, "name").get_attribute("value") == "Orang Lain"

    browser.get(f"{served.url}/ui/recipients?q=lansia")
    assert len(browser.find_elements(By.CSS_SELECTOR, "table.recipients tbody tr")) == 2
    overflow = browser.execute_script(
        "return document.documentElement.scrollWidth - window.innerWidth"
    )
    assert overflow <= 0, "no sideways scrolling on a phone"
