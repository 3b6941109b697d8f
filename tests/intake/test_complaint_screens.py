"""The complaint screens in a real headless chromium, against intake served by uvicorn
with sign-in required: a staff member records a complaint, notes its handling, answers
and closes it; the complainant, signed out, types the lookup code on the public page and
sees the state, the dates and the answer, and nothing personal. Once in Bahasa
Indonesia, once in English (with the refusals the pages put into words).

Runs on SQLite only: the API's queries run on both databases in test_complaints.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from shared.tansu import TansuBroker
from tests.intake.test_coordinator_screens import (
    PASSWORD,
    Intake,
    coordinator_intake,
    shown_text,
)
from tests.intake.test_form import wait_until
from tests.support.browser import click_and_load

NAME = "Siti Aminah"
PHONE = "081234567890"
WORDS = "Paket permakanan bulan ini tidak sampai ke rumah ibu saya."
ANSWER = "Paket diantar ulang tanggal 3; petugas memastikan sudah diterima."


@pytest.fixture
def intake(broker: TansuBroker, tmp_path: Path) -> Iterator[Intake]:
    """intake under uvicorn with sign-in required; Sari is a coordinator of kukar."""
    with coordinator_intake(broker, tmp_path) as served:
        yield served


def sign_in_to(browser: WebDriver, intake: Intake, target: str, lang: str) -> None:
    browser.get(f"{intake.url}/login?next={target}%3Flang%3D{lang}&lang={lang}")
    browser.find_element(By.ID, "username").send_keys("sari")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "button[type=submit]"))


def record(browser: WebDriver, channel: str) -> str:
    """Fill the new-complaint form, send it, and read the lookup code on the page it opens."""
    Select(browser.find_element(By.ID, "channel")).select_by_visible_text(channel)
    browser.find_element(By.ID, "name").send_keys(NAME)
    browser.find_element(By.ID, "contact").send_keys(PHONE)
    text = browser.find_element(By.ID, "text")
    text.clear()
    text.send_keys(WORDS)
    click_and_load(browser, browser.find_element(By.ID, "record"))
    code = wait_until(lambda: browser.find_elements(By.ID, "lookup-code"), "the complaint page")
    return str(code[0].text)


def press(browser: WebDriver, button_id: str) -> None:
    """A button whose success loads the page again."""
    click_and_load(browser, browser.find_element(By.ID, button_id))


def look_up(browser: WebDriver, intake: Intake, code: str, lang: str) -> str:
    browser.get(f"{intake.url}/pengaduan?lang={lang}")
    browser.find_element(By.ID, "code").send_keys(code)
    click_and_load(browser, browser.find_element(By.ID, "look-up"))
    return str(browser.find_element(By.TAG_NAME, "main").text)


def test_staff_record_and_answer_a_complaint_and_the_complainant_reads_the_answer(
    browser: WebDriver, intake: Intake
) -> None:
    sign_in_to(browser, intake, "/pengaduan/kelola/baru", "id")
    code = record(browser, "WhatsApp")
    assert len(code) == 11 and code[5] == "-"
    status = browser.find_element(By.CSS_SELECTOR, ".status-line .badge").text
    assert status == "Diterima"
    assert "0812******90" in browser.find_element(By.ID, "complainant").text

    browser.find_element(By.ID, "note-text").send_keys("Dicek ke kurir: salah alamat.")
    press(browser, "add-note")
    assert browser.find_element(By.CSS_SELECTOR, ".status-line .badge").text == "Sedang ditangani"
    browser.find_element(By.ID, "answer-input").send_keys(ANSWER)
    press(browser, "send-answer")
    assert browser.find_element(By.ID, "answer-text").text == ANSWER
    assert "Sari Rahmawati" in browser.find_element(By.ID, "answered").text

    browser.delete_all_cookies()  # the complainant's own phone: nobody signed in
    shown = look_up(browser, intake, code.lower().replace("-", " "), "id")
    assert "Sudah dijawab" in shown and ANSWER in shown
    assert "Diterima kantor" in shown and "WhatsApp" in shown
    for private in (NAME, PHONE, "0812******90", WORDS, "salah alamat", "Sari"):
        assert private not in shown
    assert not browser.find_elements(By.CSS_SELECTOR, "button.sign-out")


def test_in_english_a_refusal_is_shown_in_words_and_a_wrong_code_opens_nothing(
    browser: WebDriver, intake: Intake
) -> None:
    sign_in_to(browser, intake, "/pengaduan/kelola/baru", "en")
    browser.find_element(By.ID, "name").send_keys(NAME)
    browser.find_element(By.ID, "record").click()
    said = shown_text(browser, "form-outcome")
    assert said.startswith("Check the fields: the name, the channel and the complaint")
    assert browser.find_element(By.ID, "name").get_attribute("value") == NAME
    browser.find_element(By.ID, "name").clear()
    code = record(browser, "In person")

    browser.find_element(By.ID, "close").click()
    said = shown_text(browser, "close-outcome")
    assert said == "An unanswered complaint cannot be closed: answer it first."
    browser.find_element(By.ID, "answer-input").send_keys(ANSWER)
    press(browser, "send-answer")
    press(browser, "close")
    assert browser.find_element(By.CSS_SELECTOR, ".status-line .badge").text == "Closed"
    click_and_load(browser, browser.find_element(By.LINK_TEXT, "← Complaints"))
    click_and_load(browser, browser.find_element(By.LINK_TEXT, "Closed"))
    assert NAME in browser.find_element(By.ID, "complaints").text

    browser.delete_all_cookies()
    wrong = look_up(browser, intake, "K7QM2-XR9TD", "en")
    assert "No complaint has this code." in wrong
    shown = look_up(browser, intake, code, "en")
    assert "Closed" in shown and ANSWER in shown and "In person" in shown
    assert NAME not in shown and WORDS not in shown
