"""The coordinator's dashboard in a real headless chromium: the map, open cases ordered by
time left with countdowns that tick, English on request, and one incident's timeline.
A screenshot of each page is saved under the test's tmp dir."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from services.notify import handlers
from services.notify.app import router
from services.notify.board import board_router
from services.notify.migrations import HISTORY
from services.notify.models import NotifyTable
from services.notify.settings import NotifySettings
from services.notify.standards import load_standards
from shared.clock import SystemClock
from shared.events import EventBase
from shared.http import install_error_handlers
from shared.runtime import ServiceRuntime, guard_requests
from shared.settings import CommonSettings
from shared.tansu import free_port
from tests.notify.test_cases import arrived, departed, planned, released, reported, verified
from tests.support.browser import browser, click_and_load  # noqa: F401  the fixture

HOUR = timedelta(hours=1)


@pytest.fixture
def board_url(tmp_path: Path) -> Iterator[tuple[str, list[uuid.UUID]]]:
    """notify's pages over real HTTP, on a database holding a few live incidents."""
    standards = load_standards()
    settings = NotifySettings(
        database_url=f"sqlite:///{tmp_path / 'notify.sqlite3'}",
        common=CommonSettings(environment="test"),
    )
    runtime = ServiceRuntime(
        name="notify",
        settings=settings,
        metadata=NotifyTable.metadata,
        migrations=HISTORY,
        clock=SystemClock(),
    )
    runtime.create_tables()
    now = datetime.now(UTC)
    cases = [uuid.uuid4() for _ in range(4)]
    flows: list[list[EventBase]] = [
        [reported(cases[0], now - 20 * HOUR, "Tenggarong"), verified(cases[0], now - 18 * HOUR),
         planned(cases[0], now - 17 * HOUR, 60), released(cases[0], now - 16 * HOUR),
         departed(cases[0], now - HOUR)],
        [reported(cases[1], now - 6 * HOUR, "Loa Kulu")],
        [reported(cases[2], now - 2 * HOUR, "Sebulu"), verified(cases[2], now - HOUR)],
        [reported(cases[3], now - 30 * HOUR, "Tenggarong"), verified(cases[3], now - 29 * HOUR),
         planned(cases[3], now - 28 * HOUR), released(cases[3], now - 27 * HOUR),
         departed(cases[3], now - 26 * HOUR), arrived(cases[3], now - 25 * HOUR)],
    ]  # fmt: skip
    for flow in flows:
        for event in flow:
            runtime.apply_event(
                "notify:t", lambda uow, e: handlers.apply_event(uow, e, standards), event
            )
    runtime.run(lambda uow: handlers.tick(uow, standards))
    app = FastAPI()
    app.state.runtime, app.state.standards = runtime, standards
    guard_requests(app, service=runtime.name, common=settings.common)
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(board_router)
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
        yield f"http://127.0.0.1:{port}", cases
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        runtime.engine.dispose()


def test_the_board_shows_the_map_and_cases_by_time_left_with_live_countdowns(
    browser: WebDriver,  # noqa: F811  the fixture imported above
    board_url: tuple[str, list[uuid.UUID]],
    tmp_path: Path,
) -> None:
    url, cases = board_url
    browser.get(url + "/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Papan koordinator"
    rows = browser.find_elements(By.CSS_SELECTOR, "#open tr.case")
    # Three open cases (the fourth arrived), the one with least time left first.
    assert [r.find_element(By.TAG_NAME, "a").get_attribute("href") for r in rows] == [
        f"{url}/cases/{case}?lang=id" for case in (cases[0], cases[1], cases[2])
    ]
    first = rows[0].find_element(By.CLASS_NAME, "countdown").text
    assert first.startswith("3j ") or first.startswith("4j ")
    assert "terlambat" in rows[1].text  # verification past its 4-hour budget
    assert (
        len(browser.find_elements(By.CSS_SELECTOR, "#map circle.incident")) == 3
    )  # open ones only
    assert len(browser.find_elements(By.CSS_SELECTOR, "#map circle.delivery")) == 1
    time.sleep(1.2)
    assert rows[0].find_element(By.CLASS_NAME, "countdown").text != first, "it ticks"
    browser.save_screenshot(str(tmp_path / "board-id.png"))

    click_and_load(browser, browser.find_element(By.ID, "lang"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Coordinator's board"
    browser.get(f"{url}/cases/{cases[0]}?lang=en")
    steps = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#timeline tbody tr")]
    assert [s.split(" ", 2)[2].split(" ")[0] for s in steps][:2] == ["Reported", "Verified"]
    assert any("Kasi Linjamsos Rahmat" in s for s in steps)
    assert any("Petugas gudang Sari" in s for s in steps)
    browser.save_screenshot(str(tmp_path / "timeline-en.png"))
    assert (tmp_path / "board-id.png").stat().st_size > 10_000
