"""The warehouse keeper's screens in a real headless chromium (phone-sized), against
logistics' pages served by uvicorn: pick and release today's dispatch, read the stock
card, post a count, check a delivery in, see alerts; Bahasa Indonesia first, English on
request. A screenshot of each page is saved under the test's tmp dir (or, with
`DINSOS_SCREENS_DIR` set, in that folder at phone and desktop sizes: docs/screens)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from services.logistics import allocation, procurement, queries, ui
from services.logistics.app import ACCESS
from services.logistics.models.procurement import (
    ProcurementLineIn,
    PurchaseOrderIn,
    PurchaseRequestIn,
)
from services.logistics.routes import router
from shared.auth import AuthSettings, protect
from shared.demo import load_demo_data
from shared.http import install_error_handlers
from shared.pages import assets_router
from shared.passwords import hash_password
from shared.runtime import ServiceRuntime
from shared.service_api import guard_requests
from shared.tansu import free_port
from tests.logistics.support import TODAY, allocate, receive, settings, verified
from tests.logistics.test_warehouse_pages import place, reported
from tests.support.access import SECRET
from tests.support.browser import browser, click_and_load  # noqa: F401  the fixture


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The screens are the same on either database: SQLite only, to keep the suite fast."""
    return f"sqlite:///{tmp_path / f'{request.param}.sqlite3'}"


@pytest.fixture
def site(runtime: ServiceRuntime) -> Iterator[str]:
    """logistics' API and pages over real HTTP (no broker: the screens need none)."""
    soon = receive(runtime, 30, date(2026, 3, 1), expires_on=TODAY + timedelta(days=12))
    later = receive(runtime, 100, date(2026, 9, 1), expires_on=date(2027, 9, 1))
    receive(runtime, 15, date(2026, 8, 1), warehouse="GDG-SMD", expires_on=TODAY + timedelta(20))
    place(runtime, soon, "A-12")
    place(runtime, later, "A-03")
    incident = verified(("RICE-5KG", 40))
    runtime.run(
        lambda uow: allocation.on_incident_event(uow, reported(incident.case_id), settings(runtime))
    )
    allocate(runtime, incident)
    request = runtime.run(
        lambda uow: procurement.request_by_hand(
            uow,
            PurchaseRequestIn(
                source="buffer_stock",
                lines=[ProcurementLineIn(item_code="FAMILY-KIT", quantity=50)],
                requested_by="Kabid",
            ),
            settings(runtime),
        )
    )
    runtime.run(
        lambda uow: procurement.place_order(
            uow,
            PurchaseOrderIn(
                request_id=request.id,
                number="PO-088/DINSOS/2026",
                supplier="CV Kutai Sandang",
                warehouse_code="GDG-TGR",
                expected_on=TODAY + timedelta(days=3),
                lines=[ProcurementLineIn(item_code="FAMILY-KIT", quantity=50)],
            ),
            settings(runtime),
        )
    )
    with served(runtime) as url:
        yield url


@contextmanager
def served(runtime: ServiceRuntime, auth: AuthSettings | None = None) -> Iterator[str]:
    """logistics' API and pages on `runtime`, served by uvicorn on a free port; with
    `auth`, sign-in is required as logistics' access rules say."""
    app = FastAPI()
    app.state.runtime = runtime
    guard_requests(app, service=runtime.name, common=runtime.settings.common)
    install_error_handlers(app)
    if auth is not None:
        protect(app, ACCESS, auth, office="kukar")
    app.include_router(router)
    app.include_router(ui.router)
    app.include_router(assets_router)
    with uvicorn_on_a_free_port(app) as url:
        yield url


@contextmanager
def uvicorn_on_a_free_port(app: FastAPI) -> Iterator[str]:
    """`app` served by uvicorn on 127.0.0.1 until the block ends."""
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


def title(browser: WebDriver) -> str:  # noqa: F811  the fixture's name
    return browser.find_element(By.TAG_NAME, "h1").text


def nav(browser: WebDriver, path: str) -> WebElement:  # noqa: F811  the fixture's name
    """The menu's link to a screen."""
    return browser.find_element(By.CSS_SELECTOR, f".bar nav a[href='{path}']")


def picture(browser: WebDriver, tmp_path: Path, name: str) -> None:  # noqa: F811  the fixture's name
    """A screenshot of the page: in the test's tmp dir, or at phone and desktop sizes in
    `DINSOS_SCREENS_DIR` (how docs/screens is made)."""
    folder = os.environ.get("DINSOS_SCREENS_DIR")
    if not folder:
        browser.save_screenshot(str(tmp_path / f"{name}.png"))
        return
    for size, width in (("phone", 412), ("desktop", 1280)):
        browser.set_window_size(width, 900)
        browser.save_screenshot(str(Path(folder) / f"logistics-{name}-{size}.png"))
    browser.set_window_size(412, 900)


def test_a_keeper_picks_releases_counts_receives_and_reads_the_stock_card(
    browser: WebDriver,  # noqa: F811  the fixture imported above
    site: str,
    tmp_path: Path,
) -> None:
    browser.get(f"{site}/ui?lang=id")  # the browser asks for English; the keeper chose
    assert title(browser) == "Ambil barang"
    (card,) = browser.find_elements(By.CSS_SELECTOR, ".dispatch")
    assert "Banjir · Sukarame, Tenggarong · 30 KK" in card.text
    # Walk order: the 10 from the later lot on A-03 first, then the 30 expiring on A-12.
    bins = [cell.text for cell in card.find_elements(By.CSS_SELECTOR, "td.bin")]
    quantities = [cell.text for cell in card.find_elements(By.CSS_SELECTOR, ".qty")]
    assert (bins, quantities) == (["A-03", "A-12"], ["10", "30"])
    picture(browser, tmp_path, "picking")
    click_and_load(browser, card.find_element(By.CSS_SELECTOR, "button.sign"))
    assert browser.find_element(By.ID, "ok").is_displayed()
    card = browser.find_element(By.CSS_SELECTOR, ".dispatch")
    # Signed by whoever is signed in, never a typed name; these pages are served here
    # without the sign-in check, so nobody is.
    assert "Ditandatangani oleh anonymous" in card.text
    click_and_load(browser, card.find_element(By.CSS_SELECTOR, "button.release"))
    assert "Tidak ada pengiriman" in browser.find_element(By.TAG_NAME, "main").text
    assert "Banjir · Sukarame" in browser.find_element(By.ID, "released").text

    click_and_load(browser, nav(browser, "/ui/find"))
    browser.find_element(By.ID, "q").send_keys("rice")
    click_and_load(browser, browser.find_element(By.ID, "find"))
    found = browser.find_element(By.CSS_SELECTOR, ".found[data-item=RICE-5KG]")
    assert "kedaluwarsa dalam 20 hari" in found.text  # the Samarinda lot; A-12 went out
    picture(browser, tmp_path, "find")

    click_and_load(browser, nav(browser, "/ui/stock"))
    click_and_load(
        browser,
        browser.find_element(
            By.CSS_SELECTOR, "tr[data-warehouse=GDG-TGR][data-item=RICE-5KG] a.card-link"
        ),
    )
    assert title(browser) == "Kartu stok"
    balances = [
        row.find_elements(By.TAG_NAME, "td")[-1].text
        for row in browser.find_elements(By.CSS_SELECTOR, "#card tbody tr")
    ]
    assert balances == ["30", "130", "120", "90"]
    assert browser.find_element(By.ID, "closing").text == "90"

    click_and_load(browser, nav(browser, "/ui/counts"))
    browser.find_element(By.CSS_SELECTOR, "#count-warehouse option[value=GDG-TGR]").click()
    click_and_load(browser, browser.find_element(By.ID, "count-choose"))
    first_lot = browser.find_elements(By.CSS_SELECTOR, "input.counted")[0]
    first_lot.clear()
    first_lot.send_keys("88")  # two sacks short on the shelf
    for name, value in (("counted_by", "Rina"), ("reason", "opname")):
        browser.find_element(By.NAME, name).send_keys(value)
    click_and_load(browser, browser.find_element(By.ID, "post-count"))
    assert browser.find_element(By.ID, "ok").is_displayed()
    picture(browser, tmp_path, "counts")

    click_and_load(browser, nav(browser, "/ui/receiving"))
    order = browser.find_element(By.CSS_SELECTOR, ".order")
    assert "PO-088/DINSOS/2026" in order.text
    for field, value in (("delivered-0", "50"), ("accepted-0", "45")):
        box = browser.find_element(By.ID, field)
        box.clear()
        box.send_keys(value)
    click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "button.receive"))
    # 5 not accepted without a reason: refused, with the rule's words, nothing booked,
    # and what was typed still in the boxes.
    assert "Barang belum diterima." in browser.find_element(By.ID, "error").text
    for field, value in (("delivered-0", "50"), ("accepted-0", "45")):
        assert browser.find_element(By.ID, field).get_attribute("value") == value
    picture(browser, tmp_path, "receiving")
    order = browser.find_element(By.CSS_SELECTOR, ".order")
    order.find_element(By.CSS_SELECTOR, "select[name=reject_reason] option[value=damaged]").click()
    click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "button.receive"))
    assert browser.find_element(By.ID, "ok").is_displayed()
    assert "45" in browser.find_element(By.CSS_SELECTOR, ".order").text  # accepted so far

    browser.get(f"{site}/ui/stock-card?item_code=RICE-5KG&warehouse_code=GDG-TGR")
    assert browser.find_element(By.ID, "closing").text == "88"
    click_and_load(browser, browser.find_element(By.CSS_SELECTOR, ".bar a.lang"))
    assert title(browser) == "Stock card"
    assert browser.find_element(By.ID, "closing").text == "88"
    click_and_load(browser, nav(browser, "/ui/alerts"))
    assert title(browser) == "Alerts"
    assert "GDG-SMD" in browser.find_element(By.ID, "near-expiry").text
    picture(browser, tmp_path, "alerts-en")


def test_the_demo_data_of_make_run_loads_and_shows_on_the_screens(
    runtime: ServiceRuntime,
    browser: WebDriver,  # noqa: F811  the fixture imported above
) -> None:
    with served(runtime) as url:
        summary = load_demo_data(url, today=TODAY)
        # The fixture already holds GDG-TGR, RICE-5KG and FAMILY-KIT; a second run adds
        # nothing (make run loads the demo on every start).
        assert "new: 2 warehouses, 5 items, 10 lots" in summary
        assert "new: 0 warehouses, 0 items, 0 lots" in load_demo_data(url, today=TODAY)
        browser.get(f"{url}/ui/receiving?lang=en")
        assert "CV Kutai Sandang Lestari" in browser.find_element(By.CSS_SELECTOR, ".order").text
        browser.get(f"{url}/ui/alerts")
        assert "FAMILY-KIT" in browser.find_element(By.ID, "below-minimum").text


def test_a_signed_in_keeper_signs_a_pick_list_and_a_page_on_another_port_cannot(
    site: str,
    runtime: ServiceRuntime,
    browser: WebDriver,  # noqa: F811  the fixture imported above
    tmp_path: Path,
) -> None:
    users = tmp_path / "users.toml"
    users.write_text(
        '[[user]]\nusername = "rina"\nname = "Rina"\noffice_id = "kukar"\n'
        f'roles = ["warehouse"]\npassword_scrypt = "{hash_password("gudang-tgr-2026")}"\n'
    )
    auth = AuthSettings(required=True, secret=SECRET, users_file=users)
    with served(runtime, auth) as url:
        browser.get(f"{url}/ui?lang=en")  # not signed in: the sign-in form
        browser.find_element(By.ID, "username").send_keys("rina")
        browser.find_element(By.ID, "password").send_keys("gudang-tgr-2026")
        click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "button[type=submit]"))
        assert title(browser) == "Picking"
        # The day's dispatch, named as the coordinator's report named the incident.
        assert (
            "Flood · Sukarame, Tenggarong · 30 households"
            in browser.find_element(By.CSS_SELECTOR, ".dispatch h2").text
        )
        dispatch_id = browser.find_element(By.CSS_SELECTOR, ".dispatch").get_attribute("data-id")

        # Another service's port on the same host serves a page with a forged form: the
        # sign-in cookie goes along (same site), the token cannot.
        hostile = FastAPI()

        @hostile.get("/")
        def forged_form() -> HTMLResponse:
            return HTMLResponse(
                f'<form method="post" action="{url}/ui/picking/{dispatch_id}/sign?lang=en">'
                '<input name="name" value="Mallory"><button id="go">Go</button></form>'
            )

        with uvicorn_on_a_free_port(hostile) as hostile_url:
            browser.get(hostile_url)
            click_and_load(browser, browser.find_element(By.ID, "go"))
            assert '"error":"csrf"' in browser.find_element(By.TAG_NAME, "body").text

        browser.get(f"{url}/ui/picking?lang=en")
        card = browser.find_element(By.CSS_SELECTOR, ".dispatch")
        assert "Mallory" not in card.text
        # No name to type: the signed-in keeper signs.
        click_and_load(browser, card.find_element(By.CSS_SELECTOR, "button.sign"))
        assert browser.find_element(By.ID, "ok").is_displayed()
        card = browser.find_element(By.CSS_SELECTOR, ".dispatch")
        assert "Signed by Rina" in card.text
        click_and_load(browser, card.find_element(By.CSS_SELECTOR, "button.release"))
        assert browser.find_element(By.ID, "ok").text == "Dispatch loaded and released."
        assert browser.find_elements(By.CSS_SELECTOR, ".dispatch") == []
        released = handlers_released(runtime)
        assert released == [("released", "Rina")]


def handlers_released(runtime: ServiceRuntime) -> list[tuple[str, str | None]]:
    """Status and releaser of every dispatch, as the database holds them."""
    rows = runtime.run(
        lambda uow: queries.list_dispatches(uow, case_id=None, status=None, limit=10).items
    )
    return [(row.status.value, row.released_by) for row in rows]
