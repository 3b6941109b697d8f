"""One incident from report to handover through the screens alone, in real headless
chromium against the four services as processes on a real Tansu broker (the local run's
`Stack` on its SQLite defaults, with the demo stock of `make run`), every person signed in
under their own account and role:

1. a Tagana team member reports a flood on the phone form (GPS, needs, a photo);
2. the coordinator finds it in the inbox, attaches the village's request letter, records
   the leadership's disposition (Kukar's standard) and verifies it with the needs;
3. the warehouse keeper finds the dispatch on the picking list, signs it, releases it and
   records the handover, whose BAST opens as a PDF;
4. the coordinator gives the relief to the Tagana team, which takes it on its phone from
   assigned through departed and arrived to handed over with a drawn signature;
5. the coordinator's board, open all along, says without a reload that the case's clock
   stopped and drops it from the open cases; the case page shows it met, with its trail.

Each step asserts what its user sees, in the language the browser asks for (Bahasa
Indonesia, then English, through `Accept-Language` as shared/pages.py chooses). The test
makes no call to the JSON API (the demo stock aside, loaded as `make run` loads it): every
request of the walk is the browser's, from its pages and their scripts. With
`DINSOS_SCREENS_DIR` set, the Indonesian walk saves a screenshot of each step there
(docs/screens/walk-NN-<step>-<size>.png, linked from docs/architecture.md)."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest
from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select

from shared.auth import AuthSettings, Role
from shared.demo import load_demo_data
from shared.passwords import hash_password
from shared.stack import Stack
from tests.support.access import SECRET, token_for
from tests.support.browser import chromium_paths, click_and_load, csp_violations
from tests.support.case_records import LETTER_PDF
from tests.support.signin import CHEAP_N

T = TypeVar("T")
PHONE = (412, 900)
DESK = (1280, 900)
PASSWORD = "satu-kejadian-2026"
# A Tagana team signs in under its team's name: the name relief is given to.
TEAM = "Tagana Tenggarong 2"
USERS = (
    ("sari", "Sari Rahmawati", "coordinator"),
    ("rina", "Rina Wulandari", "warehouse"),
    ("tagana2", TEAM, "field_team"),
)


@dataclass(frozen=True)
class Place:
    """Where a walk's flood is: a village of Tenggarong and its GPS point (the two walks
    are ~5 km apart, so intake does not join the second report to the first)."""

    village: str
    lat: float
    lon: float


PLACES = {"id": Place("Sukarame", -0.4230, 116.9860), "en": Place("Melayu", -0.3780, 116.9860)}

# What the screens say at each step, in the walk's language.
WORDS: dict[str, dict[str, str]] = {
    "id": {
        "form_title": "Lapor Kejadian Bencana",
        "send": "Kirim laporan",
        "sent": "Terkirim: kejadian",
        "inbox": "Laporan baru",
        "case": "Banjir · {village}, Tenggarong · 30 KK",
        "letter": "Surat permohonan",
        "disposed": "dicatat oleh Sari Rahmawati",
        "verified": "Terverifikasi",
        "picking": "Ambil barang",
        "signed": "Daftar ambil ditandatangani.",
        "signed_by": "Ditandatangani oleh Rina Wulandari",
        "released": "Pengiriman dimuat dan dikirim.",
        "handed_over": "Serah terima dicatat: BAST siap dicetak.",
        "relief": "Bantuan menunggu tim",
        "field": "Tugas hari ini",
        "assigned": "Ditugaskan",
        "delivered": "Diserahkan",
        "board": "Papan koordinator",
        "clock_stopped": "Jam respons berhenti",
        "met": "Tepat waktu",
        "trail": "Dilaporkan|Dokumen dilampirkan|Disposisi pimpinan|Diverifikasi|"
        "Pengiriman direncanakan|Dikeluarkan dari gudang|Pengiriman dijadwalkan|"
        "Tim ditugaskan|Berangkat|Tiba di lokasi|Diserahkan",
    },
    "en": {
        "form_title": "Report a disaster",
        "send": "Send report",
        "sent": "Sent: incident",
        "inbox": "New reports",
        "case": "Flood · {village}, Tenggarong · 30 households",
        "letter": "Request letter",
        "disposed": "recorded by Sari Rahmawati",
        "verified": "Verified",
        "picking": "Picking",
        "signed": "Pick list signed.",
        "signed_by": "Signed by Rina Wulandari",
        "released": "Dispatch loaded and released.",
        "handed_over": "Handover recorded: its BAST is ready to print.",
        "relief": "Relief waiting for a team",
        "field": "Today's work",
        "assigned": "Assigned",
        "delivered": "Handed over",
        "board": "Coordinator's board",
        "clock_stopped": "Clock stopped",
        "met": "Within the standard",
        "trail": "Reported|Document attached|Leadership's disposition|Verified|"
        "Dispatch planned|Released from the warehouse|Delivery scheduled|Team assigned|"
        "Departed|Arrived|Handed over",
    },
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The local run (`make run`): the four services on a Tansu broker, SQLite, the demo
    warehouses and stock; sign-in required, a coordinator, a keeper and a Tagana team."""
    root = tmp_path_factory.mktemp("walk")
    users = root / "users.toml"
    hashed = hash_password(PASSWORD, n=CHEAP_N)
    users.write_text(
        "\n".join(
            f'[[user]]\nusername = "{username}"\nname = "{name}"\noffice_id = "kukar"\n'
            f'roles = ["{role}"]\npassword_scrypt = "{hashed}"\n'
            for username, name, role in USERS
        )
    )
    with Stack.start(
        data_dir=root / "data",
        extra_env={
            "DINSOS_ENVIRONMENT": "test",
            "DINSOS_AUTH_REQUIRED": "true",
            "DINSOS_AUTH_SECRET": SECRET,
            "DINSOS_AUTH_USERS_FILE": str(users),
            "DINSOS_AUTH_SCRYPT_N": str(CHEAP_N),
            "NOTIFY_TICK_INTERVAL_S": "0.5",
            "NOTIFY_BOARD_REFRESH_S": "1",
        },
    ) as running:
        keeper = token_for(AuthSettings(required=True, secret=SECRET), *Role)
        load_demo_data(running.url("logistics"), headers={"Authorization": f"Bearer {keeper}"})
        yield running


def chromium(lang: str, profile: Path) -> WebDriver:
    """A headless chromium whose user asks for `lang` (the Accept-Language header and
    `navigator.languages`), as a phone or PC set to that language does."""
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
        f"--window-size={DESK[0]},{DESK[1]}",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    asked = "id-ID,id" if lang == "id" else "en-GB,en"
    options.add_experimental_option("prefs", {"intl.accept_languages": asked})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(30)
    return driver


def size(browser: WebDriver, width_height: tuple[int, int]) -> None:
    """The viewport of a phone (412 px, touch) or an office PC (1280 px), whatever the
    headless window's own minimum width."""
    width, height = width_height
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def wait_until(probe: Callable[[], T | None], what: str, timeout_s: float = 30.0) -> T:
    """The first truthy answer of `probe`; a page being replaced counts as not yet."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            found = probe()
        except StaleElementReferenceException:
            found = None
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout_s}s: {what}")


def text_of(browser: WebDriver, css: str) -> str:
    """The visible words of the first element `css` picks ('' if there is none)."""
    found = browser.find_elements(By.CSS_SELECTOR, css)
    return str(found[0].text) if found else ""


def shows(browser: WebDriver, css: str, words: str, what: str) -> str:
    """Wait until the element `css` picks shows `words`; its text."""
    return wait_until(lambda: t if words in (t := text_of(browser, css)) else None, what)


def one_with(browser: WebDriver, css: str, words: str) -> WebElement | None:
    """The first element `css` picks that shows `words`."""
    return next((e for e in browser.find_elements(By.CSS_SELECTOR, css) if words in e.text), None)


def the_one(browser: WebDriver, css: str, words: str) -> WebElement:
    """The element `css` picks that shows `words`; there must be one."""
    found = one_with(browser, css, words)
    assert found is not None, f"no {css} shows {words!r}"
    return found


def reload_until(browser: WebDriver, css: str, words: str, what: str) -> WebElement:
    """Reload the page until an element `css` picks shows `words` (what arrives over the
    broker meanwhile: a planned dispatch, goods ready for a team); that element."""

    def found() -> WebElement | None:
        element = one_with(browser, css, words)
        if element is None:
            browser.refresh()
        return element

    return wait_until(found, what)


def sign_in(browser: WebDriver, base: str, username: str, then: str) -> None:
    """`username` signs in on the service at `base` and lands on `then`. Whoever used the
    browser before leaves no cookie behind (the refresh cookie, path /auth, included)."""
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})
    browser.get(f"{base}/login?next={then}")
    browser.find_element(By.ID, "username").send_keys(username)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "button[type=submit]"))


def open_cases(browser: WebDriver) -> list[str]:
    """The names of the board's open cases, read at one instant (the rows are replaced
    while the board is open)."""
    names = browser.execute_script(
        "return [...document.querySelectorAll('#open a.name')].map((a) => a.textContent)"
    )
    return [str(name) for name in names]


@dataclass
class Walk:
    """One language's walk: the stack, a phone and an office PC, what they should say."""

    stack: Stack
    lang: str
    phone: WebDriver
    desk: WebDriver
    tmp_path: Path
    incident: str = ""
    board: str = ""  # the office PC's tab holding the board
    taken: int = field(default=0)

    @property
    def words(self) -> dict[str, str]:
        return WORDS[self.lang]

    @property
    def place(self) -> Place:
        return PLACES[self.lang]

    @property
    def case_name(self) -> str:
        return self.words["case"].format(village=self.place.village)

    def url(self, service: str) -> str:
        return self.stack.url(service)

    def picture(self, browser: WebDriver, step: str, css: str | None = None) -> None:
        """A screenshot of the step, scrolled to `css` (the top without): in
        `DINSOS_SCREENS_DIR` for the Indonesian walk, else beside the test's files."""
        self.taken += 1
        folder = os.environ.get("DINSOS_SCREENS_DIR")
        where = Path(folder) if folder and self.lang == "id" else self.tmp_path
        if css:
            browser.execute_script(
                "document.querySelector(arguments[0]).scrollIntoView({block: 'start'});", css
            )
        else:
            browser.execute_script("window.scrollTo(0, 0);")
        kind = "phone" if browser.execute_script("return window.innerWidth") < 600 else "desktop"
        browser.save_screenshot(str(where / f"walk-{self.taken:02d}-{step}-{kind}.png"))

    def stand_at(self, origin: str, lat: float, lon: float) -> None:
        """The phone's GPS, allowed for `origin`."""
        self.phone.execute_cdp_cmd(
            "Browser.grantPermissions", {"origin": origin, "permissions": ["geolocation"]}
        )
        self.phone.execute_cdp_cmd(
            "Emulation.setGeolocationOverride", {"latitude": lat, "longitude": lon, "accuracy": 10}
        )

    # --- 1. the Tagana team member's phone ------------------------------------------------

    def report(self) -> None:
        phone, intake, place = self.phone, self.url("intake"), self.place
        size(phone, PHONE)
        sign_in(phone, intake, "tagana2", "/lapor")
        assert phone.find_element(By.TAG_NAME, "h1").text == self.words["form_title"]
        assert phone.find_element(By.ID, "submit").text == self.words["send"]
        self.stand_at(intake, place.lat, place.lon)
        phone.find_element(By.ID, "reporter-name").send_keys("Rahmat, Tagana Tenggarong")
        Select(phone.find_element(By.ID, "reporter-role")).select_by_value("tagana")
        Select(phone.find_element(By.ID, "hazard")).select_by_value("flood")
        phone.find_element(By.ID, "use-gps").click()
        wait_until(lambda: phone.find_element(By.ID, "lat").get_attribute("value"), "GPS")
        for box, value in (
            ("village", place.village),
            ("district", "Tenggarong"),
            ("households", "30"),
            ("people", "110"),
        ):
            phone.find_element(By.ID, box).clear()
            phone.find_element(By.ID, box).send_keys(value)
        phone.find_element(By.ID, "add-need").click()
        phone.find_element(By.CSS_SELECTOR, "#needs .need-item").send_keys("RICE-5KG")
        phone.find_element(By.CSS_SELECTOR, "#needs .need-qty").send_keys("30")
        photo = self.tmp_path / "banjir.jpg"
        picture = io.BytesIO()
        Image.new("RGB", (320, 240), (40, 90, 150)).save(picture, format="JPEG")
        photo.write_bytes(picture.getvalue())
        phone.find_element(By.ID, "photo").send_keys(str(photo))
        self.picture(phone, "report", "#needs")
        phone.find_element(By.ID, "submit").click()

        sent = "#outbox li[data-state=sent]"
        self.incident = wait_until(
            lambda: phone.execute_script(
                f"const li = document.querySelector('{sent}'); return li && li.dataset.incident"
            ),
            "the report is sent",
        )
        assert self.words["sent"] in text_of(phone, sent)
        self.picture(phone, "report-sent", "#outbox")

    # --- 2. the coordinator at the office -------------------------------------------------

    def verify(self) -> None:
        desk, words = self.desk, self.words
        size(desk, DESK)
        sign_in(desk, self.url("intake"), "sari", "/koordinator")
        assert desk.find_element(By.TAG_NAME, "h1").text == words["inbox"]
        link = desk.find_element(By.PARTIAL_LINK_TEXT, self.case_name)
        self.picture(desk, "inbox")
        click_and_load(desk, link)
        assert desk.find_element(By.TAG_NAME, "h1").text == self.case_name
        assert desk.find_elements(By.CSS_SELECTOR, "#photos img"), "the report's photo"

        letter = self.tmp_path / "surat-permohonan.pdf"
        letter.write_bytes(LETTER_PDF)
        desk.find_element(By.ID, "document-title").send_keys("Desa 140/27/XI/2026")
        desk.find_element(By.ID, "document-file").send_keys(str(letter))
        desk.find_element(By.ID, "document-submit").click()
        attached = shows(desk, "#document-list", "Desa 140/27/XI/2026", "the letter is listed")
        assert words["letter"] in attached

        desk.find_element(By.ID, "disposition-by").send_keys("Drs. H. Hamly")
        desk.find_element(By.ID, "disposition-position").send_keys("Kepala Dinas Sosial")
        desk.find_element(By.ID, "disposition-instruction").send_keys(
            "Kabid Linjamsos: validasi dan siapkan logistik"
        )
        desk.find_element(By.ID, "disposition-submit").click()
        given = shows(desk, "#disposition-list", "Drs. H. Hamly", "the disposition is shown")
        assert words["disposed"] in given

        rows = desk.find_elements(By.CSS_SELECTOR, "#need-lines .need-line")
        assert [
            (
                row.find_element(By.NAME, "item_code").get_attribute("value"),
                row.find_element(By.NAME, "quantity").get_attribute("value"),
            )
            for row in rows
        ] == [("RICE-5KG", "30")]  # the form starts from what the team asked for
        desk.find_element(By.ID, "verify-submit").click()
        decided = shows(desk, "#decided", words["verified"], "the verification is shown")
        assert "Sari Rahmawati" in decided and "RICE-5KG 30" in decided
        self.picture(desk, "verified")

    # --- 3. the warehouse keeper ---------------------------------------------------------

    def release(self) -> None:
        desk, words, name = self.desk, self.words, self.case_name
        sign_in(desk, self.url("logistics"), "rina", "/ui/picking")
        assert desk.find_element(By.TAG_NAME, "h1").text == words["picking"]
        card = reload_until(desk, ".dispatch", name, "the dispatch on the picking list")
        assert [q.text for q in card.find_elements(By.CSS_SELECTOR, ".qty")] == ["30"]
        self.picture(desk, "picking", ".dispatch")
        click_and_load(desk, card.find_element(By.CSS_SELECTOR, "button.sign"))
        assert desk.find_element(By.ID, "ok").text == words["signed"]
        card = the_one(desk, ".dispatch", name)
        assert words["signed_by"] in card.text
        click_and_load(desk, card.find_element(By.CSS_SELECTOR, "button.release"))
        assert desk.find_element(By.ID, "ok").text == words["released"]

        row = the_one(desk, "#released tbody tr", name)
        row.find_element(By.CSS_SELECTOR, "details.handover summary").click()
        row.find_element(By.NAME, "received_by").send_keys("Rahmat Hidayat")
        row.find_element(By.NAME, "receiver_organisation").send_keys(TEAM)
        row.find_element(By.NAME, "place").send_keys("Gudang Tenggarong")
        self.picture(desk, "handover-form", "#released")
        click_and_load(desk, row.find_element(By.CSS_SELECTOR, "button.hand-over"))
        assert desk.find_element(By.ID, "ok").text == words["handed_over"]
        row = the_one(desk, "#released tbody tr", name)
        bast = row.find_element(By.CSS_SELECTOR, "a.bast")
        self.picture(desk, "bast", "#released")
        click_and_load(desk, bast)
        assert desk.execute_script("return document.contentType") == "application/pdf"

    # --- 4. the coordinator gives the relief to a team; the team delivers it ------------

    def open_board(self) -> None:
        """The coordinator's board, in a tab left open for the rest of the walk."""
        desk = self.desk
        sign_in(desk, self.url("notify"), "sari", "/")
        assert desk.find_element(By.TAG_NAME, "h1").text == self.words["board"]
        wait_until(lambda: self.case_name in open_cases(desk), "the case open on the board")
        self.board = desk.current_window_handle

    def give_to_the_team(self) -> None:
        # One host here: the coordinator's sign-in on the board holds for this port too.
        desk, village = self.desk, self.place.village
        desk.switch_to.new_window("tab")
        size(desk, DESK)
        desk.get(f"{self.url('distribution')}/relief")
        assert desk.find_element(By.TAG_NAME, "h1").text == self.words["relief"]
        waiting = reload_until(desk, "li.relief", village, "the relief waits for a team")
        waiting.find_element(By.NAME, "team").send_keys(TEAM)
        self.picture(desk, "relief", "li.relief")
        waiting.find_element(By.CSS_SELECTOR, "form.assign button").click()
        shows(desk, "ol.under-way", village, "the relief under way with the team")

    def deliver(self) -> None:
        phone, distribution, place = self.phone, self.url("distribution"), self.place
        sign_in(phone, distribution, "tagana2", "/field")
        assert phone.find_element(By.TAG_NAME, "h1").text == self.words["field"]
        # At the village hall, some 60 m from the reported point.
        self.stand_at(distribution, place.lat + 0.0004, place.lon + 0.0004)
        stop = the_one(phone, "li[data-delivery]", place.village)
        here = f'li[data-delivery="{stop.get_attribute("data-delivery")}"]'

        def status() -> str:
            return phone.find_element(By.CSS_SELECTOR, here).get_attribute("data-status") or ""

        def tap(selector: str) -> None:
            button = phone.find_element(By.CSS_SELECTOR, f"{here} {selector}")
            phone.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
            button.click()

        assert (status(), text_of(phone, f"{here} .status")) == ("assigned", self.words["assigned"])
        self.picture(phone, "field", here)
        tap('[data-step="departure"]')
        wait_until(lambda: status() == "in_transit", "departed")
        tap('[data-step="arrival"]')
        wait_until(lambda: status() == "arrived", "arrived")
        tap('[data-open="handover"]')
        stop = phone.find_element(By.CSS_SELECTOR, here)
        stop.find_element(By.NAME, "received_by").send_keys("Pak Rahmat, Kepala Desa")
        Select(stop.find_element(By.NAME, "relation")).select_by_value("self")
        canvas = stop.find_element(By.CSS_SELECTOR, "canvas.signature")
        phone.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
        ActionChains(phone).move_to_element_with_offset(
            canvas, -60, 0
        ).click_and_hold().move_by_offset(40, 15).move_by_offset(40, -20).release().perform()
        self.picture(phone, "handover", here)
        stop.find_element(By.CSS_SELECTOR, "form.handover button.send").click()
        wait_until(lambda: status() == "delivered", "handed over")
        shows(phone, f"{here} .status", self.words["delivered"], "handed over, in words")
        self.picture(phone, "delivered", here)

    # --- 5. the coordinator's board and the case page -------------------------------------

    def see_it_closed(self) -> None:
        desk, words = self.desk, self.words
        desk.switch_to.window(self.board)
        news = f"{words['clock_stopped']} · {self.case_name}"
        wait_until(lambda: news in text_of(desk, "#feed"), "the feed: the case's clock stopped")
        wait_until(lambda: self.case_name not in open_cases(desk), "the case leaves the board")
        self.picture(desk, "board")
        desk.get(f"{self.url('notify')}/cases/{self.incident}")
        assert desk.find_element(By.TAG_NAME, "h1").text == self.case_name
        state = desk.find_element(By.ID, "state")
        assert state.text == words["met"]
        assert "ok" in (state.get_attribute("class") or "").split()  # green, not a warning
        self.picture(desk, "case")
        steps = desk.find_elements(By.CSS_SELECTOR, "#timeline tbody tr td:nth-child(2)")
        assert [step.text for step in steps] == words["trail"].split("|")
        self.picture(desk, "trail", "#timeline")


@pytest.mark.parametrize("lang", ["id", "en"])
def test_one_incident_goes_from_report_to_handover_through_the_screens_alone(
    stack: Stack, lang: str, tmp_path: Path
) -> None:
    phone = chromium(lang, tmp_path / "phone-profile")
    desk = chromium(lang, tmp_path / "desk-profile")
    walk = Walk(stack, lang, phone, desk, tmp_path)
    try:
        walk.report()
        walk.verify()
        walk.release()
        walk.open_board()
        walk.give_to_the_team()
        walk.deliver()
        walk.see_it_closed()
        for browser in (phone, desk):
            assert csp_violations(browser) == [], "a page broke its Content Security Policy"
    except BaseException:
        # What each user saw when the walk stopped, beside the test's other files.
        for name, browser in (("phone", phone), ("desk", desk)):
            (tmp_path / f"stopped-{name}.html").write_text(browser.page_source)
            browser.save_screenshot(str(tmp_path / f"stopped-{name}.png"))
        raise
    finally:
        phone.quit()
        desk.quit()
