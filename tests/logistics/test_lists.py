"""Every JSON list of logistics a page at a time (`shared.paging`), on SQLite and
PostgreSQL: following `Link: rel="next"` gives every row once, in the list's own order; the
last page has no link; a cursor the list did not give out is a 422 `bad_cursor`; and the
screens that list dispatches and orders offer the next page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from functools import partial
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.logistics import alerts, procurement, stock_changes
from services.logistics.models.catalogue import MinimumLevelIn
from services.logistics.models.procurement import (
    ProcurementLineIn,
    PurchaseOrderIn,
    PurchaseRequestIn,
)
from services.logistics.models.stock import CountIn, CountLineIn
from shared.paging import cursor_token
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork
from tests.logistics.support import TODAY, allocate, receive, settings, unsigned_client, verified

LISTS = (
    "/warehouses",
    "/items",
    "/lots",
    "/counts",
    "/stock",
    "/movements",
    "/dispatches",
    "/purchase-requests",
    "/purchase-orders",
    "/minimum-levels",
    "/reorder-suggestions",
    "/shortages",
)


@pytest.fixture
def client(runtime: ServiceRuntime) -> Iterator[TestClient]:
    """logistics' API and screens on `runtime`, without sign-in."""
    with unsigned_client(runtime) as test_client:
        yield test_client


def request_and_order(uow: UnitOfWork, runtime: ServiceRuntime, number: int) -> None:
    """A purchase request for family kits and its order, expected in `number` days."""
    lines = [ProcurementLineIn(item_code="FAMILY-KIT", quantity=10 + number)]
    request = procurement.request_by_hand(
        uow,
        PurchaseRequestIn(source="buffer_stock", lines=lines, requested_by="Kabid"),
        settings(runtime),
    )
    procurement.place_order(
        uow,
        PurchaseOrderIn(
            request_id=request.id,
            number=f"PO-{number:03d}/DINSOS/2026",
            supplier="CV Kutai Sandang",
            warehouse_code="GDG-TGR" if number % 2 else "GDG-SMD",
            expected_on=TODAY + timedelta(days=number % 2),  # equal days: the id decides
            lines=lines,
        ),
        settings(runtime),
    )


@pytest.fixture
def every_list_filled(runtime: ServiceRuntime) -> None:
    """At least three rows in every list, many of them written at one instant (the fixed
    clock), so only the id keeps the order total."""
    lots = [
        receive(runtime, 20, date(2026, 3, 1 + n % 2), item=item, warehouse=warehouse)
        for n in range(2)
        for item in ("RICE-5KG", "FAMILY-KIT")
        for warehouse in ("GDG-TGR", "GDG-SMD")
    ]
    for lot_id in lots[::2][:3]:  # GDG-TGR's
        count = CountIn(
            warehouse_code="GDG-TGR",
            counted_by="Relawan",
            approved_by="Kabid",
            reason="opname bulanan",
            lines=[CountLineIn(lot_id=lot_id, counted=19)],
        )
        runtime.run(partial(stock_changes.post_count, body=count, settings=settings(runtime)))
    for _ in range(3):  # after the counts: a lot being picked is not counted
        allocate(runtime, verified(("RICE-5KG", 1), ("VELBED", 2)))
    for number in range(3):
        runtime.run(partial(request_and_order, runtime=runtime, number=number))
    for item in ("RICE-5KG", "FAMILY-KIT"):
        for warehouse in ("GDG-TGR", "GDG-SMD"):
            level = MinimumLevelIn(item_code=item, warehouse_code=warehouse, minimum=500)
            runtime.run(partial(alerts.set_minimum, body=level))


def next_link(answer: Any) -> str | None:
    found = re.fullmatch(r'<([^>]+)>; rel="next"', answer.headers.get("link", ""))
    return found.group(1) if found else None


@pytest.mark.usefixtures("every_list_filled")
def test_following_next_links_gives_every_row_of_every_list_once_in_the_lists_order(
    client: TestClient,
) -> None:
    for path in LISTS:
        whole = client.get(path, params={"limit": 500})
        assert whole.status_code == 200, path
        assert next_link(whole) is None, path
        paged: list[Any] = []
        url: str | None = f"{path}?limit=1"
        pages = 0
        while url is not None:
            answer = client.get(url)
            assert answer.status_code == 200, (path, answer.text)
            assert len(answer.json()) == 1, path
            paged += answer.json()
            url, pages = next_link(answer), pages + 1
        assert pages >= 2, path
        assert paged == whole.json(), path


@pytest.mark.usefixtures("every_list_filled")
def test_the_last_page_of_a_list_that_fits_exactly_has_no_next_link(client: TestClient) -> None:
    first = client.get("/lots", params={"limit": 4})
    assert next_link(first) is not None
    last = client.get(next_link(first) or "")
    assert len(last.json()) == 4
    assert next_link(last) is None


@pytest.mark.usefixtures("every_list_filled")
def test_the_lots_come_in_fifo_order_and_the_ledger_in_ledger_order_across_pages(
    client: TestClient,
) -> None:
    lots = client.get("/lots", params={"limit": 3}).json()
    lots += client.get("/lots", params={"limit": 3, "after": cursor_of(lots[-1])}).json()
    keys = [(lot["item_code"], lot["warehouse_code"], lot["received_on"]) for lot in lots]
    assert keys == sorted(keys)
    entries = client.get("/movements", params={"limit": 500}).json()
    assert [entry["effective_on"] for entry in entries] == sorted(
        entry["effective_on"] for entry in entries
    )


def cursor_of(lot: dict[str, Any]) -> str:
    return cursor_token(
        (lot["item_code"], lot["warehouse_code"], lot["received_on"], uuid.UUID(lot["id"]))
    )


def test_the_warehouses_and_items_say_how_many_there_are(client: TestClient) -> None:
    answer = client.get("/warehouses", params={"limit": 1})
    assert answer.headers["x-total-count"] == "2"
    assert len(answer.json()) == 1
    assert client.get("/items").headers["x-total-count"] == "2"


@pytest.mark.parametrize(
    "cursor", ["not base64 at all!", cursor_token(("yesterday", "x", 3)), "W10"]
)
def test_a_cursor_a_list_did_not_give_out_is_refused_as_bad_cursor_in_the_error_shape(
    client: TestClient, cursor: str
) -> None:
    for path in LISTS:
        answer = client.get(path, params={"after": cursor})
        assert answer.status_code == 422, path
        assert answer.json()["error"] == "bad_cursor", path
        assert answer.json()["detail"], path


def test_the_picking_screen_offers_the_next_page_of_dispatches(
    client: TestClient, runtime: ServiceRuntime
) -> None:
    receive(runtime, 10, date(2026, 3, 1))
    for _ in range(3):
        allocate(runtime, verified(("RICE-5KG", 1)))
    html = client.get("/ui/picking?limit=2").text
    assert html.count('class="card dispatch"') == 2
    (link,) = re.findall(r'id="next-page" href="([^"]+)"', html)
    rest = client.get(link.replace("&amp;", "&")).text
    assert rest.count('class="card dispatch"') == 1
    assert 'id="next-page"' not in rest


def test_a_damaged_cursor_on_a_screen_starts_again_at_the_first_page(client: TestClient) -> None:
    for screen in ("/ui/picking", "/ui/receiving", "/ui/stock"):
        answer = client.get(screen, params={"after": "damaged"}, follow_redirects=False)
        assert answer.status_code == 303, screen
        assert answer.headers["location"] == screen


def test_the_receiving_screen_offers_the_next_page_of_open_orders(
    client: TestClient, runtime: ServiceRuntime
) -> None:
    for number in range(3):
        runtime.run(partial(request_and_order, runtime=runtime, number=number))
    html = client.get("/ui/receiving?limit=2").text
    assert html.count('class="card order"') == 2
    (link,) = re.findall(r'id="next-page" href="([^"]+)"', html)
    rest = client.get(link.replace("&amp;", "&")).text
    assert rest.count('class="card order"') == 1
