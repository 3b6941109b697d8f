"""The affected families page in a real browser (issue 15 items 11 and 13): a Tagana team
lists a family on a phone in Bahasa Indonesia (a KK that cannot be real refused in words,
what was typed kept), and a coordinator, in English, files its aid application and
records the decision."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select

from tests.intake.test_affected_families import KK, NIK
from tests.intake.test_assessment_screens import (  # noqa: F401  the fixture `intake`
    intake,
    picture,
    sign_in,
)
from tests.intake.test_coordinator_screens import Intake, retype
from tests.intake.test_form import wait_until
from tests.support.browser import click_and_load


def in_form(browser: WebDriver, form: str, name: str) -> WebElement:
    return browser.find_element(By.CSS_SELECTOR, f'{form} [name="{name}"]')


def notice_of(form: WebElement) -> str:
    notice = form.find_element(By.CSS_SELECTOR, ".notice")
    return wait_until(lambda: notice.text if notice.is_displayed() else None, "the notice")


def test_a_tagana_team_lists_a_family_and_the_coordinator_files_and_decides_its_application(
    browser: WebDriver,
    intake: Intake,  # noqa: F811  the fixture imported above
) -> None:
    incident = intake.file()
    page = f"/koordinator/{incident}/keluarga"

    # The Tagana team, on a phone, in Bahasa Indonesia.
    sign_in(browser, intake, "rahmat", f"{page}?lang=id", "id")
    assert "Belum ada keluarga tercatat" in browser.find_element(By.ID, "families").text
    add = "#family-form"
    in_form(browser, add, "head_name").send_keys("Rusdi bin Hasan")
    in_form(browser, add, "kk").send_keys("9999991203150007")
    in_form(browser, add, "head_nik").send_keys(NIK)
    in_form(browser, add, "members").send_keys("5")
    retype(in_form(browser, add, "vulnerable.under_five"), "2")
    in_form(browser, add, "address").send_keys("Jl. Sungai Mahakam, RT 05/RW 02")
    Select(in_form(browser, add, "shelter")).select_by_value("evacuation_shelter")
    in_form(browser, add, "shelter_place").send_keys("Balai Desa Sukarame")
    form = browser.find_element(By.CSS_SELECTOR, add)
    browser.find_element(By.ID, "family-submit").click()
    assert notice_of(form).startswith("Nomor KK tidak sah")
    assert in_form(browser, add, "shelter_place").get_attribute("value") == "Balai Desa Sukarame"

    retype(in_form(browser, add, "kk"), KK)
    click_and_load(browser, browser.find_element(By.ID, "family-submit"))
    listed = browser.find_element(By.CSS_SELECTOR, "section.family").text
    assert "Rusdi bin Hasan" in listed and "KK 64020612******07" in listed
    assert "Balita: 2" in listed and KK not in browser.page_source
    # A Tagana team lists families; filing an application is the coordinator's.
    assert "Ajukan permohonan bantuan" not in browser.page_source
    picture(browser, "families-phone", "totals")

    # The coordinator, in English.
    sign_in(browser, intake, "sari", f"{page}?lang=en", "en")
    browser.find_element(By.CSS_SELECTOR, "section.family details summary").click()
    filing = browser.find_element(By.CSS_SELECTOR, 'form[data-url="/aid-applications"]')
    Select(filing.find_element(By.NAME, "kind")).select_by_value("disaster_aid_proposal")
    filing.find_element(By.NAME, "documents_complete").click()
    click_and_load(browser, filing.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "Papers complete, awaiting decision" in browser.find_element(By.ID, "families").text

    decide = browser.find_element(By.CSS_SELECTOR, 'form[data-url$="/settlement"]')
    decide.find_element(By.XPATH, "./..").find_element(By.TAG_NAME, "summary").click()
    Select(decide.find_element(By.NAME, "outcome")).select_by_value("declined")
    decide.find_element(By.NAME, "decided_by").send_keys("Kepala Dinas Sosial")
    decide.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert notice_of(decide) == "Say why the application is declined."

    Select(decide.find_element(By.NAME, "outcome")).select_by_value("proposed")
    click_and_load(browser, decide.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    shown = browser.find_element(By.ID, "families").text
    assert "Proposed (Daftar Usulan)" in shown and "by Kepala Dinas Sosial" in shown
    browser.set_window_size(1280, 900)
    picture(browser, "families-desktop", "totals")
