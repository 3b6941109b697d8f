"""The procurement screens in a real headless chromium against logistics served by
uvicorn, in Bahasa Indonesia and in English: raise a purchase request for an incident's
shortage, follow it in the list (by stage, a page at a time), order it from a supplier and
receive the goods against the order; each refusal of the API is shown in place, in words,
with what was typed kept. Outcomes are read back through the JSON API.

With `DINSOS_SCREENS_DIR` set, the screenshots go there at phone and desktop sizes (how
docs/screens is made: `DINSOS_SCREENS_DIR=docs/screens pytest` on this file)."""

from __future__ import annotations

import html
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from services.logistics import alerts, allocation, procurement, program_goods
from services.logistics.models.catalogue import MinimumLevelIn
from services.logistics.models.procurement import (
    ProcurementLineIn,
    PurchaseOrderIn,
    PurchaseRequestOut,
)
from services.logistics.ui.procurement import clock_of
from shared.auth import AuthSettings, Role
from shared.passwords import hash_password
from shared.runtime import ServiceRuntime
from tests.logistics.support import NOW, TODAY, allocate, clock, receive, settings, verified
from tests.logistics.test_procurement import goods_request
from tests.logistics.test_screens import nav, served, title
from tests.logistics.test_warehouse_pages import client, reported  # noqa: F401  a fixture
from tests.support.access import SECRET, token_for
from tests.support.browser import browser, click_and_load  # noqa: F401  the fixture


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The screens are the same on either database: SQLite only, to keep the suite fast."""
    return f"sqlite:///{tmp_path / f'{request.param}.sqlite3'}"


@dataclass(frozen=True)
class Site:
    """logistics served with sign-in required, and a warehouse token to read its API."""

    url: str
    token: str


@pytest.fixture
def site(runtime: ServiceRuntime, tmp_path: Path) -> Iterator[Site]:
    """A flood short of 170 sacks of rice (30 in stock, 200 needed), and an older sandang
    procurement already on order, served over real HTTP with sign-in required (keeper
    Rina of the warehouse)."""
    receive(runtime, 30, TODAY - timedelta(days=30))
    incident = verified(("RICE-5KG", 200))
    runtime.run(
        lambda uow: allocation.on_incident_event(uow, reported(incident.case_id), settings(runtime))
    )
    allocate(runtime, incident)
    clock(runtime).set(NOW - timedelta(days=80))
    older = runtime.run(
        lambda uow: procurement.raise_request(
            uow,
            office_id="kukar",
            source="sandang_request",
            source_case_id=None,
            correlation_id=None,
            causation_id=None,
            lines=[("FAMILY-KIT", 40)],
            needed_by=None,
            requested_by="logistics (goods request)",
        )
    )
    runtime.run(
        lambda uow: procurement.place_order(
            uow,
            PurchaseOrderIn(
                request_id=older.id,
                number="PO-071/DINSOS/2026",
                supplier="CV Kutai Sandang",
                warehouse_code="GDG-TGR",
                expected_on=TODAY - timedelta(days=70),
                lines=[ProcurementLineIn(item_code="FAMILY-KIT", quantity=40)],
            ),
            settings(runtime),
        )
    )
    clock(runtime).set(NOW)
    users = tmp_path / "users.toml"
    users.write_text(
        '[[user]]\nusername = "rina"\nname = "Rina"\noffice_id = "kukar"\n'
        f'roles = ["warehouse"]\npassword_scrypt = "{hash_password("gudang-tgr-2026")}"\n'
    )
    auth = AuthSettings(required=True, secret=SECRET, users_file=users)
    with served(runtime, auth) as url:
        yield Site(url, token_for(auth, Role.WAREHOUSE))


def picture(browser: WebDriver, tmp_path: Path, name: str) -> None:  # noqa: F811
    """The whole page, top to bottom: in the test's tmp dir, or at phone and desktop widths
    in `DINSOS_SCREENS_DIR` (how docs/screens is made)."""
    folder = os.environ.get("DINSOS_SCREENS_DIR")
    sizes = (("phone", 412), ("desktop", 1280)) if folder else (("phone", 412),)
    for size, width in sizes:
        browser.set_window_size(width, 900)
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(width, min(int(height) + 140, 3000))
        path = Path(folder) / f"logistics-{name}-{size}.png" if folder else tmp_path / f"{name}.png"
        browser.save_screenshot(str(path))
    browser.set_window_size(412, 915)


def api(site: Site, path: str) -> Any:
    """An answer of logistics' JSON API, asked as an API client of the same office."""
    response = httpx.get(
        f"{site.url}{path}", headers={"Authorization": f"Bearer {site.token}"}, timeout=10
    )
    response.raise_for_status()
    return response.json()


def refusal(browser: WebDriver) -> tuple[str, str]:  # noqa: F811  the fixture's name
    """The code and words of the refusal the page's script shows above its form."""
    notice = browser.find_element(By.ID, "form-error")
    WebDriverWait(browser, 10).until(lambda _: notice.is_displayed())
    return str(notice.get_attribute("data-refused")), notice.text


def typed(browser: WebDriver, box_id: str, value: str) -> None:  # noqa: F811
    """Type into a box, replacing what it held."""
    box = browser.find_element(By.ID, box_id)
    box.clear()
    box.send_keys(value)


def dated(browser: WebDriver, box_id: str, value: date) -> None:  # noqa: F811
    """Set a date box (how a date is typed depends on the browser's locale; picked here)."""
    box = browser.find_element(By.ID, box_id)
    browser.execute_script("arguments[0].value = arguments[1]", box, value.isoformat())


WORDS = {
    "id": {
        "title": "Pengadaan",
        "duplicate": "Satu barang muncul dua kali",
        "raised": "Permintaan pembelian dibuat.",
        "order_exists": "Nomor pesanan itu sudah dipakai",
        "ordered": "Pesanan dikirim ke penyedia.",
        "not_received": "Barang belum diterima.",
        "left": "lagi",
    },
    "en": {
        "title": "Procurement",
        "duplicate": "An item appears twice",
        "raised": "Purchase request raised.",
        "order_exists": "That order number is already used",
        "ordered": "Order placed with the supplier.",
        "not_received": "The delivery was not received.",
        "left": "left",
    },
}


def test_a_keeper_raises_orders_and_receives_a_procurement_in_both_languages(
    browser: WebDriver,  # noqa: F811  the fixture imported above
    site: Site,
    runtime: ServiceRuntime,
    tmp_path: Path,
) -> None:
    browser.get(f"{site.url}/ui/procurement?lang=id")  # not signed in: the sign-in form
    browser.find_element(By.ID, "username").send_keys("rina")
    browser.find_element(By.ID, "password").send_keys("gudang-tgr-2026")
    click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    for number, lang in enumerate(("id", "en"), start=1):
        clock(runtime).advance(timedelta(hours=1))  # each request at its own time
        words = WORDS[lang]
        browser.get(f"{site.url}/ui/procurement?lang={lang}")
        assert title(browser) == words["title"]
        if number == 1:
            # The older sandang procurement: on order, 80 of its 92 days gone (3 months).
            (older,) = browser.find_elements(By.CSS_SELECTOR, ".procurement")
            assert older.get_attribute("data-stage") == "on_order"
            assert "PO-071/DINSOS/2026" in older.text
            assert words["left"] in older.find_element(By.CSS_SELECTOR, ".badge.clock").text
            # Its supplier promised the goods 70 days ago: said late.
            assert older.find_elements(By.CSS_SELECTOR, ".late-order")
        click_and_load(browser, browser.find_element(By.ID, "new-request"))

        # The flood's shortage chosen: its missing rice fills the lines.
        form = browser.find_element(By.ID, "request-form")
        case = Select(form.find_element(By.ID, "source_case_id"))
        case.select_by_index(1)
        boxes = form.find_elements(By.CSS_SELECTOR, "#request-lines input[name=quantity]")
        assert [box.get_attribute("value") for box in boxes] == ["170"]
        # The same item on a second line: the API refuses; the words say so in place.
        browser.find_element(By.ID, "add-line").click()
        rows = form.find_elements(By.CSS_SELECTOR, "#request-lines tbody tr")
        Select(rows[1].find_element(By.NAME, "item_code")).select_by_value("RICE-5KG")
        rows[1].find_element(By.NAME, "quantity").send_keys("5")
        dated(browser, "needed_by", TODAY + timedelta(days=10))
        form.find_element(By.ID, "raise").click()
        code, said = refusal(browser)
        assert (code, words["duplicate"] in said) == ("duplicate_item", True)
        assert len(api(site, "/purchase-requests")) == number  # nothing raised
        if number == 1:
            picture(browser, tmp_path, "procurement-new")
        rows[1].find_element(By.CSS_SELECTOR, ".remove-line").click()
        click_and_load(browser, form.find_element(By.ID, "raise"))
        assert browser.find_element(By.ID, "ok").text == words["raised"]
        request_id = browser.find_element(By.ID, "summary").get_attribute("data-id")
        raised = api(site, f"/purchase-requests/{request_id}")
        assert raised["lines"] == [{"item_code": "RICE-5KG", "quantity": 170}]
        assert (raised["source"], raised["status"]) == ("shortage", "open")
        # Sent by the page's script with the sign-in's cookie and CSRF token: the API
        # records the signed-in keeper, not a typed name.
        assert raised["requested_by"] == "Rina"
        assert raised["needed_by"] == str(TODAY + timedelta(days=10))

        # Order 100 of the 170 from a supplier; the first number is taken by the older one.
        typed(browser, "number", "PO-071/DINSOS/2026")
        typed(browser, "supplier", "UD Beras Mahakam")
        quantity = browser.find_element(By.CSS_SELECTOR, "#order-lines input[name=quantity]")
        assert quantity.get_attribute("value") == "170"
        quantity.clear()
        quantity.send_keys("100")
        browser.find_element(By.ID, "place-order").click()
        code, said = refusal(browser)
        assert (code, words["order_exists"] in said) == ("order_exists", True)
        assert browser.find_element(By.ID, "supplier").get_attribute("value") == "UD Beras Mahakam"
        typed(browser, "number", f"PO-09{number}/DINSOS/2026")
        click_and_load(browser, browser.find_element(By.ID, "place-order"))
        assert browser.find_element(By.ID, "ok").text == words["ordered"]
        (order,) = [
            o for o in api(site, "/purchase-orders") if o["number"] == f"PO-09{number}/DINSOS/2026"
        ]
        assert (order["request_id"], order["supplier"]) == (request_id, "UD Beras Mahakam")
        assert order["lines"] == [{"item_code": "RICE-5KG", "ordered": 100, "accepted": 0}]

        # Receive against it from the procurement: the receiving screen with this order only.
        click_and_load(browser, browser.find_element(By.CSS_SELECTOR, ".order .receive-link"))
        (shown,) = browser.find_elements(By.CSS_SELECTOR, "section.order")
        assert f"PO-09{number}/DINSOS/2026" in shown.text
        typed(browser, "delivered-0", "100")
        typed(browser, "accepted-0", "96")
        dated(browser, "expires-0", TODAY + timedelta(days=300))
        typed(browser, "bin-0", "B-04")
        click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "button.receive"))
        assert words["not_received"] in browser.find_element(By.ID, "error").text
        assert browser.find_element(By.ID, "accepted-0").get_attribute("value") == "96"
        Select(browser.find_element(By.ID, "reason-0")).select_by_value("damaged")
        click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "button.receive"))
        # Back on the procurement: 96 received against the line, the lot among its papers.
        assert browser.find_element(By.ID, "summary").get_attribute("data-id") == request_id
        line = browser.find_element(By.CSS_SELECTOR, "#lines tr[data-item=RICE-5KG]")
        assert line.find_element(By.CSS_SELECTOR, ".received").text == "96"
        (order,) = [o for o in api(site, "/purchase-orders") if o["id"] == order["id"]]
        assert order["lines"] == [{"item_code": "RICE-5KG", "ordered": 100, "accepted": 96}]
        lots = api(site, "/lots?item_code=RICE-5KG")
        (lot,) = [lot for lot in lots if lot["source"].startswith(order["number"])]
        assert (lot["on_hand"], lot["bin_location"]) == (96, "B-04")
        assert lot["id"][:8].upper() in browser.find_element(By.ID, "documents").text
        kinds = [
            item.get_attribute("data-kind")
            for item in browser.find_elements(By.CSS_SELECTOR, "#history li")
        ]
        # The 30 sacks the flood got from stock before the rest had to be bought, then
        # this procurement's steps.
        assert kinds == ["planned", "requested", "ordered", "received"]
        if number == 2:
            picture(browser, tmp_path, "procurement-detail-en")

    # Following: two awaiting delivery of the rest (to order: 70 each), the older on order.
    click_and_load(browser, nav(browser, "/ui/procurement"))
    click_and_load(browser, browser.find_element(By.ID, "stage-to_order"))
    staged = browser.find_elements(By.CSS_SELECTOR, ".procurement")
    assert [card.get_attribute("data-stage") for card in staged] == ["to_order", "to_order"]
    browser.get(f"{site.url}/ui/procurement?limit=2")
    first = [
        card.get_attribute("data-id")
        for card in browser.find_elements(By.CSS_SELECTOR, ".procurement")
    ]
    click_and_load(browser, browser.find_element(By.ID, "next-page"))
    rest = [
        card.get_attribute("data-id")
        for card in browser.find_elements(By.CSS_SELECTOR, ".procurement")
    ]
    everything = [row["id"] for row in api(site, "/purchase-requests")]
    assert first + rest == everything  # newest first, each once
    browser.get(f"{site.url}/ui/procurement?lang=id")
    picture(browser, tmp_path, "procurement")


def test_a_suggested_order_on_the_alerts_opens_a_purchase_request_filled_in(
    runtime: ServiceRuntime,
    client: TestClient,  # noqa: F811  the fixture imported above
) -> None:
    level = MinimumLevelIn(item_code="FAMILY-KIT", warehouse_code="GDG-TGR", minimum=25)
    runtime.run(lambda uow: alerts.set_minimum(uow, level))
    page = client.get("/ui/alerts?lang=id")
    link = re.search(r'class="order-this" href="([^"]+)"', page.text)
    assert link is not None
    assert "Buat permintaan pembelian" in page.text
    form = client.get(html.unescape(link.group(1)))
    assert form.status_code == 200
    first_line = form.text.split('class="request-line"')[1]
    assert '<option value="FAMILY-KIT" selected>' in first_line
    assert 'name="quantity" value="25"' in first_line
    assert '<option value="buffer_stock" selected>' in form.text


@pytest.mark.parametrize(
    ("lang", "words"),
    [("id", "Tidak ada pengadaan itu di kantor Anda."), ("en", "There is no such procurement")],
)
def test_an_unknown_procurement_is_said_plainly_with_404(
    client: TestClient,  # noqa: F811  the fixture imported above
    lang: str,
    words: str,
) -> None:
    answer = client.get(f"/ui/procurement/{uuid.uuid4()}?lang={lang}")
    assert answer.status_code == 404
    assert words in answer.text
    assert 'data-refused="request_not_found"' in answer.text


def request_out(**changes: Any) -> PurchaseRequestOut:
    """A purchase request as the API answers it, raised at NOW, with `changes`."""
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "source": "shortage",
        "source_case_id": None,
        "lines": [{"item_code": "RICE-5KG", "quantity": 10}],
        "needed_by": None,
        "status": "open",
        "requested_by": "Kabid",
        "requested_at": NOW,
        "completed_at": None,
        "handed_over_at": None,
        "lead_time_days": 0,
        "standard_days": None,
        "overdue": False,
        "waiting_dispatch": False,
    }
    return PurchaseRequestOut(**(fields | changes))


def test_the_clock_runs_to_the_end_of_the_day_needed_in_the_offices_zone() -> None:
    wita = ZoneInfo("Asia/Makassar")
    out = request_out(needed_by=TODAY + timedelta(days=2))
    clock = clock_of(out, wita, NOW)
    assert clock.deadline == datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # midnight WITA
    assert (clock.basis, clock.late) == ("needed_by", False)
    assert clock_of(out, wita, datetime(2026, 11, 25, 16, 1, tzinfo=UTC)).late
    done_in_time = request_out(needed_by=TODAY, completed_at=NOW + timedelta(hours=3))
    assert not clock_of(done_in_time, wita, NOW + timedelta(days=30)).late


def test_an_open_procurement_past_its_standard_by_hours_is_late_before_a_whole_day() -> None:
    wita = ZoneInfo("Asia/Makassar")
    out = request_out(source="permakanan_round", standard_days=60, lead_time_days=60)
    deadline = NOW + timedelta(days=60)
    assert clock_of(out, wita, deadline - timedelta(hours=1)).late is False
    assert clock_of(out, wita, deadline + timedelta(hours=1)).late is True
    assert clock_of(request_out(), wita, NOW).deadline is None


def test_a_procurement_a_program_waits_for_says_so_and_names_its_purpose(
    runtime: ServiceRuntime,
    client: TestClient,  # noqa: F811  the fixture imported above
) -> None:
    # Nothing in stock: the whole request is bought, and the program's dispatch waits.
    request = goods_request(("FAMILY-KIT", 12))
    runtime.run(lambda uow: program_goods.plan_goods_request(uow, request, settings(runtime)))
    (raised,) = client.get("/purchase-requests").json()
    page = client.get(f"/ui/procurement/{raised['id']}?lang=id")
    assert page.status_code == 200
    assert 'id="waiting"' in page.text
    assert "setelah semuanya diterima" in page.text
    listed = client.get("/ui/procurement?stage=to_order&lang=id").text
    assert f'data-id="{raised["id"]}"' in listed
    assert client.get("/ui/procurement?stage=completed").text.count('class="card procurement"') == 0
