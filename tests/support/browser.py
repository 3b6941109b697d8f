"""A real headless browser (Debian's chromium, driven through its own chromedriver) for
the tests of the screens. `make test` installs both (scripts/chromium.sh)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chromium.webdriver import ChromiumDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait


def chromium_paths() -> tuple[str, str] | None:
    """(chromium, chromedriver) if both are installed."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def csp_violations(browser: WebDriver) -> list[str]:
    """The Content Security Policy refusals chromium logged to the console since the last
    call (a screen whose script or style the policy blocks is broken for its users)."""
    assert isinstance(browser, ChromiumDriver)  # the console log is chromium's
    return [
        entry["message"]
        for entry in browser.get_log("browser")  # type: ignore[no-untyped-call]  # selenium leaves it untyped
        if "Content Security Policy" in entry["message"]
    ]


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    """A headless chromium with a phone-sized window and its own profile. A test whose
    pages broke the Content Security Policy fails at the end."""
    paths = chromium_paths()
    if paths is None:
        pytest.fail("chromium/chromedriver missing: run the suite through `make test`")
    binary, driver_path = paths
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=412,915",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
        violations = csp_violations(driver)
    finally:
        driver.quit()
    assert violations == [], "the pages broke their Content Security Policy"


def _is_gone(element: WebElement) -> bool:
    """Whether the page holding `element` was replaced. chromedriver says so either as a
    stale reference or, while the new document is being attached, as a node that "does
    not belong to the document" (which selenium's own staleness_of does not recognise)."""
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as error:
        if "does not belong to the document" in str(error):
            return True
        raise
    return False


def click_and_load(browser: WebDriver, element: WebElement, timeout_s: float = 15.0) -> None:
    """Click something that loads a new page (a form post, a link) and wait until the new
    page has replaced the old one, so the next lookup cannot read the page being left."""
    old_page = browser.find_element(By.TAG_NAME, "html")
    try:
        element.click()
    except WebDriverException as error:
        # chromedriver may report the clicked node as gone when the click itself already
        # navigated away; the wait below still fails if no new page came.
        gone = isinstance(error, StaleElementReferenceException) or (
            "does not belong to the document" in str(error)
        )
        if not gone:
            raise
    WebDriverWait(browser, timeout_s).until(lambda _: _is_gone(old_page))
    WebDriverWait(browser, timeout_s).until(
        lambda driver: driver.execute_script("return document.readyState") == "complete"
    )
