"""The office's program and relief screens in a real headless chromium, against
distribution served by uvicorn with sign-in required (the page's script must send the
CSRF token with the cookie), as a coordinator: recipients are found by name or village and
enrolled, rounds are opened (outside their window only with the recorded override, the
refusal told in words), a round's parcels are followed, a sandang request is recorded and
its procurement started and followed to the handover, and relief waiting for a team is
given to a Tagana team, who then sees it on its field screen. Each action is taken in
Bahasa Indonesia (the default) and in English; the outcome is read back from the API.

With `DISTRIBUTION_SCREENSHOTS=<folder>` the tests also save the screens' pictures for
docs/distribution.md (phone and desktop)."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from services.distribution import deliveries, runs
from services.distribution.app import create_app
from services.distribution.settings import DistributionSettings
from shared.auth import TOKEN_COOKIE, AuthSettings, Principal, Role, issue_token
from shared.clock import office_today
from shared.contracts.envelope import CaseType
from shared.contracts.intake import IncidentReported
from shared.contracts.logistics import DispatchReleased
from shared.runtime import ServiceRuntime
from shared.tansu import TansuBroker
from shared.unit_of_work import UnitOfWork
from tests.distribution.field_support import incident_events
from tests.distribution.programs_support import HUB, institution, person, release_for, signature
from tests.distribution.test_field_screen import free_port, ok, wait_for
from tests.support.access import SECRET
from tests.support.browser import click_and_load
from tests.support.services import settings_for

COORDINATOR = "Kabid Linjamsos"
SCREENSHOTS = os.environ.get("DISTRIBUTION_SCREENSHOTS")


@dataclass(frozen=True)
class Live:
    """distribution served with sign-in required, and an API client of a coordinator."""

    url: str
    auth: AuthSettings
    runtime: ServiceRuntime
    token: str

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, timeout=10, headers={"Authorization": f"Bearer {self.token}"}
        )


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One broker and one distribution for the module (a service start costs seconds)."""
    folder = tmp_path_factory.mktemp("program-screens")
    auth = AuthSettings(required=True, secret=SECRET)
    with (folder / "tansu.log").open("wb") as log, TansuBroker.start(log=log) as broker:
        settings = settings_for(
            DistributionSettings, broker, f"sqlite:///{folder / 'distribution.sqlite3'}"
        ).model_copy(update={"auth": auth})
        port = free_port()
        app = create_app(settings)
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _healthy(base), timeout=45)
        principal = Principal(
            subject="kabid-linjamsos",
            name=COORDINATOR,
            office_id="kukar",
            roles=frozenset({Role.COORDINATOR}),
        )
        try:
            yield Live(
                base, auth, app.state.runtime, issue_token(principal, auth, datetime.now(UTC))
            )
        finally:
            server.should_exit = True
            thread.join(timeout=20)


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def sign_in(browser: WebDriver, live: Live) -> None:
    browser.get(f"{live.url}/health")  # a page of the host, to set its cookie on
    browser.add_cookie({"name": TOKEN_COOKIE, "value": live.token, "httpOnly": True})


def snap(browser: WebDriver, name: str) -> None:
    """The screen as a phone and as a desktop shows it, when pictures are asked for."""
    if not SCREENSHOTS:
        return
    folder = Path(SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    for size, (width, height) in {"phone": (412, 915), "desktop": (1280, 900)}.items():
        browser.set_window_size(width, height)
        if size == "desktop":  # the whole screen fits: shown from its top
            browser.execute_script("window.scrollTo(0, 0)")
        time.sleep(0.3)
        browser.save_screenshot(str(folder / f"distribution-{name}-{size}.png"))
    browser.set_window_size(412, 915)


def no_sideways_scrolling(browser: WebDriver) -> None:
    overflow = browser.execute_script(
        "return document.documentElement.scrollWidth - window.innerWidth"
    )
    assert overflow <= 0, "no sideways scrolling on a phone"


def click(browser: WebDriver, selector: str, within: Any = None, *, loads: bool = False) -> None:
    """Click what `selector` finds; with `loads`, wait until the page it opens replaced
    this one."""
    element = (within or browser).find_element(By.CSS_SELECTOR, selector)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    if loads:
        click_and_load(browser, element)
    else:
        element.click()


def flash(browser: WebDriver) -> str:
    """The outcome the page shows after the change reloaded it (read once: hidden then,
    so the next call waits for the next outcome)."""
    return str(
        wait_for(
            lambda: browser.execute_script(
                "const f = document.getElementById('flash');"
                "if (!f || f.hidden) return ''; f.hidden = true; return f.textContent;"
            )
        )
    )


def answer_of(browser: WebDriver, container: str) -> str:
    return str(
        wait_for(
            lambda: browser.execute_script(
                "const a = document.querySelector(arguments[0] + ' .answer .notice.error');"
                "return a ? a.textContent : ''",
                container,
            )
        )
    )


def round_status(api: httpx.Client, program_id: str, number: int) -> dict[str, Any]:
    rounds = ok(api.get(f"/permakanan/programs/{program_id}"))["rounds"]
    found: dict[str, Any] = rounds[number - 1]
    return found


def test_program_staff_enrol_recipients_and_open_rounds_with_the_recorded_override(
    live: Live, browser: WebDriver
) -> None:
    api = live.api()
    people = [
        ok(api.post("/recipients", json=person(s).model_dump(mode="json"))) for s in (1, 2, 3, 7)
    ]
    unverified = ok(
        api.post(
            "/recipients",
            json=person(4, name="Belum Verifikasi", verified=False).model_dump(mode="json"),
        )
    )
    program = ok(
        api.post(
            "/permakanan/programs",
            json={
                "name": "Permakanan Lansia 2026",
                "start_date": office_today().isoformat(),
                "parcel": [{"item_code": "RICE-5KG", "quantity": 2}],
                "hub": HUB.model_dump(),
            },
        )
    )
    program_id = program["id"]
    sign_in(browser, live)

    # Indonesian: from the list of programs to the recipients tab (the choice is kept).
    browser.get(f"{live.url}/programs?lang=id")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Program permakanan"
    click(browser, f'article[data-program="{program_id}"] h2 a', loads=True)
    click(browser, "nav.tabs a:nth-child(2)", loads=True)
    browser.find_element(By.NAME, "q").send_keys("penerima")  # by name, any case
    click(browser, "form.search button", loads=True)
    listed = browser.find_elements(By.CSS_SELECTOR, 'form.enrol input[name="recipient"]')
    assert {box.get_attribute("value") for box in listed} == {p["id"] for p in people}
    assert "64020601******01" in browser.page_source  # NIK masked, as the API masks it
    assert people[0]["nik"] == "64020601******01"
    for someone in people[:2]:
        click(browser, f'input[value="{someone["id"]}"]')
    click(browser, "form.enrol button[type=submit]")
    assert "Terdaftar dalam program: Penerima 001, Penerima 002" in flash(browser)
    browser.find_element(By.NAME, "q").clear()
    browser.find_element(By.NAME, "q").send_keys("Timbau")  # by village: Penerima 003
    click(browser, "form.search button", loads=True)
    listed = browser.find_elements(By.CSS_SELECTOR, 'form.enrol input[name="recipient"]')
    assert [box.get_attribute("data-name") for box in listed] == ["Penerima 003"]
    browser.find_element(By.NAME, "q").clear()
    browser.find_element(By.NAME, "q").send_keys("Belum")
    click(browser, "form.search button", loads=True)
    click(browser, f'input[value="{unverified["id"]}"]')
    click(browser, "form.enrol button[type=submit]")
    refusal = answer_of(browser, "form.enrol")
    assert "Belum Verifikasi: Belum diverifikasi di rumah" in refusal
    enrolled = ok(api.get(f"/permakanan/programs/{program_id}/enrolments"))
    assert {e["recipient_id"] for e in enrolled} == {people[0]["id"], people[1]["id"]}
    assert all(e["status"] == "active" for e in enrolled)

    # English: a third person, queued as a candidate.
    browser.get(f"{live.url}/programs/{program_id}/enrolments?lang=en&q=Penerima%20003")
    assert browser.find_element(By.CSS_SELECTOR, "#enrolled-title").text.startswith("Enrolled")
    click(browser, f'input[value="{people[2]["id"]}"]')
    click(browser, 'input[name="as_candidate"]')
    click(browser, "form.enrol button[type=submit]")
    assert flash(browser).startswith("Enrolled: Penerima 003")
    candidate = ok(
        api.get(f"/permakanan/programs/{program_id}/enrolments", params={"status": "candidate"})
    )
    assert [e["recipient_id"] for e in candidate] == [people[2]["id"]]
    row = browser.find_element(By.CSS_SELECTOR, f'li[data-recipient="{people[2]["id"]}"]')
    assert "Candidate" in row.text
    no_sideways_scrolling(browser)
    browser.get(f"{live.url}/programs/{program_id}/enrolments?lang=id&q=tenggarong")
    snap(browser, "enrolments")

    # Indonesian: round 1 opens in its window; round 2 is refused in words, then opened
    # with the override and its reason.
    browser.get(f"{live.url}/programs/{program_id}?lang=id")
    rounds = browser.find_elements(By.CSS_SELECTOR, "li.round")
    assert len(rounds) == 6
    first = f'li.round[data-round="{program["rounds"][0]["id"]}"]'
    second = f'li.round[data-round="{program["rounds"][1]["id"]}"]'
    assert "bisa dibuka sekarang" in browser.find_element(By.CSS_SELECTOR, first).text
    click(browser, f"{first} button.open-round")
    assert flash(browser).startswith("Tahap dibuka")
    assert round_status(api, program_id, 1)["status"] == "open"
    click(browser, f"{second} button.open-round")
    refusal = answer_of(browser, second)
    assert refusal.startswith("Belum bisa sekarang: tahap hanya dapat dibuka mulai 30 hari")
    # Words for the code, not the API's English detail (there are words for it).
    assert "round_outside_window" not in refusal and "round 2 covers" not in refusal
    assert round_status(api, program_id, 2)["status"] == "planned"
    override = browser.find_element(By.CSS_SELECTOR, f"{second} form.override")
    assert override.is_displayed()
    assert override.find_element(By.NAME, "by").get_attribute("value") == COORDINATOR
    snap(browser, "rounds")
    override.find_element(By.NAME, "reason").send_keys("Banjir: jalan ke desa putus bulan depan")
    click(browser, "button", within=override)
    assert "izin dan alasannya dicatat" in flash(browser)
    opened = round_status(api, program_id, 2)
    assert opened["status"] == "open"
    assert opened["opening_override_by"] == COORDINATOR
    assert opened["opening_override_reason"] == "Banjir: jalan ke desa putus bulan depan"
    shown = browser.find_element(By.CSS_SELECTOR, f"{second} .override").text
    assert "Banjir: jalan ke desa putus bulan depan" in shown and COORDINATOR in shown

    # English: round 3 refused in words, then opened with the override.
    browser.get(f"{live.url}/programs/{program_id}?lang=en")
    third = f'li.round[data-round="{program["rounds"][2]["id"]}"]'
    click(browser, f"{third} button.open-round")
    assert answer_of(browser, third).startswith(
        "Not now: a round may be opened only from 30 days before its period"
    )
    form = browser.find_element(By.CSS_SELECTOR, f"{third} form.override")
    form.find_element(By.NAME, "reason").send_keys("Budget closes early this year")
    click(browser, "button", within=form)
    assert "override and its reason are recorded" in flash(browser)
    assert round_status(api, program_id, 3)["opening_override_reason"] == (
        "Budget closes early this year"
    )
    assert round_status(api, program_id, 4)["status"] == "planned"

    # Following round 1: its parcels, to whom and in which state, as they go out.
    click(browser, f"{first} a.button", loads=True)
    parcels = browser.find_elements(By.CSS_SELECTOR, "li.parcel")
    assert sorted(p.find_element(By.TAG_NAME, "b").text for p in parcels) == [
        "Penerima 001",
        "Penerima 002",
    ]
    assert {p.get_attribute("data-status") for p in parcels} == {"created"}
    assert "Created: 2" in browser.find_element(By.CSS_SELECTOR, ".counts").text
    round_one = program["rounds"][0]["id"]
    _apply(
        live.runtime,
        release_for(uuid.UUID(round_one), CaseType.PERMAKANAN_ROUND, [("RICE-5KG", 4)]),
    )
    parcel_of = {
        d["recipient_id"]: d for d in ok(api.get("/deliveries", params={"case_id": round_one}))
    }
    handed, missed = parcel_of[people[0]["id"]], parcel_of[people[1]["id"]]
    for parcel in (handed, missed):
        ok(api.post(f"/deliveries/{parcel['id']}/assignment", json={"team": "Tim A"}))
        ok(api.post(f"/deliveries/{parcel['id']}/departure"))
    ok(
        api.post(
            f"/deliveries/{handed['id']}/completion",
            json={
                "received_by": "Ibu Siti",
                "relation": "spouse",
                "position": handed["destination"],
                "signature_png_base64": signature(),
            },
        )
    )
    ok(api.post(f"/deliveries/{missed['id']}/failure", json={"reason_code": "moved"}))
    browser.get(f"{live.url}/rounds/{round_one}?lang=id")
    parcel_text = {
        p.get_attribute("data-delivery"): p.text
        for p in browser.find_elements(By.CSS_SELECTOR, "li.parcel")
    }
    assert "Diserahkan" in parcel_text[handed["id"]] and "Ibu Siti" in parcel_text[handed["id"]]
    assert "Gagal" in parcel_text[missed["id"]] and "Tim A" in parcel_text[missed["id"]]
    counts = browser.find_element(By.CSS_SELECTOR, ".counts").text
    assert "Diserahkan: 1" in counts and "Gagal: 1" in counts
    no_sideways_scrolling(browser)
    snap(browser, "round")


def test_sandang_is_followed_to_its_handover_and_relief_is_given_to_a_team(
    live: Live, browser: WebDriver
) -> None:
    api = live.api()
    dormitory = ok(
        api.post(
            "/recipients",
            json=institution("Asrama SLB Negeri Tenggarong").model_dump(mode="json"),
        )
    )
    ok(api.post("/recipients", json=institution("Loka Bina Karya").model_dump(mode="json")))
    this_year = office_today().year
    sign_in(browser, live)

    # Indonesian: this year's budget is refused in words (T-1); next year's is recorded.
    browser.get(f"{live.url}/sandang?lang=id")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Sandang: pakaian untuk lembaga"
    form = browser.find_element(By.CSS_SELECTOR, "form.sandang-request")
    Select(form.find_element(By.NAME, "institution_id")).select_by_value(dormitory["id"])
    year = form.find_element(By.NAME, "budget_year")
    year.clear()
    year.send_keys(str(this_year))
    form.find_element(By.NAME, "item_code").send_keys("seragam-sd")
    form.find_element(By.NAME, "quantity").send_keys("40")
    click(browser, "button.add-line")
    last_line = form.find_elements(By.CSS_SELECTOR, "fieldset.lines .line")[-1]
    last_line.find_element(By.NAME, "item_code").send_keys("HYGIENE-KIT")
    last_line.find_element(By.NAME, "quantity").send_keys("25")
    click(browser, 'form.sandang-request button[type="submit"]')
    assert answer_of(browser, "form.sandang-request").startswith(
        "Tahun anggaran itu sudah berjalan: permohonan diajukan satu tahun sebelumnya (T-1)."
    )
    assert ok(api.get("/sandang/requests")) == []
    year.clear()
    year.send_keys(str(this_year + 1))
    click(browser, 'form.sandang-request button[type="submit"]')
    assert flash(browser) == "Permohonan dicatat."
    [recorded] = ok(api.get("/sandang/requests"))
    assert recorded["institution_id"] == dormitory["id"]
    assert recorded["budget_year"] == this_year + 1
    assert recorded["lines"] == [
        {"item_code": "SERAGAM-SD", "quantity": 40},
        {"item_code": "HYGIENE-KIT", "quantity": 25},
    ]
    assert recorded["status"] == "requested"

    # English: procurement starts (the sandang clock starts there).
    browser.get(f"{live.url}/sandang?lang=en")
    card = f'article[data-request="{recorded["id"]}"]'
    started_by = browser.find_element(By.CSS_SELECTOR, f"{card} input[name=started_by]")
    assert started_by.get_attribute("value") == COORDINATOR
    click(browser, f"{card} form.procurement button")
    assert flash(browser).startswith("Procurement started")
    started = ok(api.get(f"/sandang/requests/{recorded['id']}"))
    assert (started["status"], started["procurement_started_by"]) == ("procurement", COORDINATOR)
    assert started["procurement_started_at"] is not None
    assert (
        "Waiting for the goods to leave the warehouse"
        in browser.find_element(By.CSS_SELECTOR, card).text
    )

    # Followed to the handover: the goods are released, the team hands them over.
    release = release_for(
        uuid.UUID(recorded["id"]),
        CaseType.SANDANG_REQUEST,
        [("SERAGAM-SD", 40), ("HYGIENE-KIT", 25)],
    )
    _apply(live.runtime, release)
    delivery_id = ok(api.get(f"/sandang/requests/{recorded['id']}"))["delivery_id"]
    browser.refresh()
    assert "handover delivery: Created" in browser.find_element(By.CSS_SELECTOR, card).text
    ok(api.post(f"/deliveries/{delivery_id}/assignment", json={"team": "Tim Sandang"}))
    ok(api.post(f"/deliveries/{delivery_id}/departure"))
    ok(
        api.post(
            f"/deliveries/{delivery_id}/completion",
            json={
                "received_by": "Ibu Pengasuh",
                "relation": "caretaker",
                "position": {"lat": -0.4301, "lon": 116.9822},
                "signature_png_base64": signature(),
            },
        )
    )
    handed = ok(api.get(f"/sandang/requests/{recorded['id']}"))
    bast = ok(api.get(f"/sandang/handovers/{handed['handover_id']}"))
    browser.refresh()
    shown = browser.find_element(By.CSS_SELECTOR, card).text
    assert "Handed over" in shown and bast["number"] in shown and "Ibu Pengasuh" in shown
    no_sideways_scrolling(browser)
    browser.get(f"{live.url}/sandang?lang=id")
    snap(browser, "sandang")

    # Relief waiting for a team: one given in Indonesian, one in English.
    waiting = [_waiting_relief(live.runtime, village) for village in ("Sukarame", "Panji")]
    browser.get(f"{live.url}/relief?lang=id")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Bantuan menunggu tim"
    first = f'li.relief[data-delivery="{waiting[0]}"]'
    assert browser.find_element(By.CSS_SELECTOR, f"{first} h2").text == (
        "Banjir · Sukarame, Tenggarong"
    )
    snap(browser, "relief")
    browser.find_element(By.CSS_SELECTOR, f"{first} input[name=team]").send_keys(
        "Tagana Tenggarong 2"
    )
    click(browser, f"{first} form.assign button")
    assert flash(browser).startswith("Ditugaskan.")
    assigned = ok(api.get(f"/deliveries/{waiting[0]}"))
    assert (assigned["status"], assigned["team"]) == ("assigned", "Tagana Tenggarong 2")
    under_way = browser.find_element(
        By.CSS_SELECTOR, f'ol.under-way li[data-delivery="{waiting[0]}"]'
    )
    assert "Tagana Tenggarong 2" in under_way.text

    browser.get(f"{live.url}/relief?lang=en")
    second = f'li.relief[data-delivery="{waiting[1]}"]'
    assert browser.find_element(By.CSS_SELECTOR, f"{second} h2").text == "Flood · Panji, Tenggarong"
    # The team chooser offers the teams the office has given work to.
    offered = browser.execute_script(
        "return [...document.querySelectorAll('#teams option')].map((o) => o.value)"
    )
    assert offered == sorted(offered) and {"Tagana Tenggarong 2", "Tim Sandang"} <= set(offered)
    browser.find_element(By.CSS_SELECTOR, f"{second} input[name=team]").send_keys("Tim Sandang")
    click(browser, f"{second} form.assign button")
    assert flash(browser).startswith("Assigned. The team sees it on its field screen.")
    assert ok(api.get(f"/deliveries/{waiting[1]}"))["team"] == "Tim Sandang"
    assert browser.find_elements(By.CSS_SELECTOR, "li.relief") == []
    no_sideways_scrolling(browser)

    # The team sees it on its field screen, reached from the relief screen's list.
    click(browser, f'ol.under-way li[data-delivery="{waiting[0]}"] a', loads=True)
    assert browser.find_element(By.CSS_SELECTOR, f'li.stop[data-delivery="{waiting[0]}"]')
    nav = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, ".bar nav a")]
    assert [href.removeprefix(live.url) for href in nav if href] == [
        "/relief",
        "/programs",
        "/sandang",
        "/field",
    ]


def _apply(runtime: ServiceRuntime, event: DispatchReleased | IncidentReported) -> None:
    """An event applied as distribution's agent applies it (logistics and intake are not
    running here)."""
    if isinstance(event, IncidentReported):
        runtime.run(lambda uow: runs.on_incident_reported(uow, event))
    else:
        runtime.run(lambda uow: deliveries.on_dispatch_released(uow, event))


def _waiting_relief(runtime: ServiceRuntime, village: str) -> str:
    """A relief delivery whose goods were released and that no team has taken yet."""
    report, release = incident_events(village=village)
    _apply(runtime, report)
    _apply(runtime, release)

    def delivery_of(uow: UnitOfWork) -> str:
        [row] = deliveries.list_deliveries(uow, status=None, case_id=report.case_id, limit=2).items
        return str(row.id)

    return runtime.run(delivery_of)
