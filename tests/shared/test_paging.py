"""Cursor paging (`shared.paging`) on a real table, SQLite and PostgreSQL: every row once,
in order, whatever is written while a client pages; a forged cursor is a clear 422."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated

import pytest
from fastapi import FastAPI, Query, Request, Response
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import registry
from sqlmodel import Field, Session, SQLModel, col, create_engine, select

from shared.columns import UTCDateTime
from shared.errors import Unprocessable
from shared.http import install_error_handlers
from shared.paging import PAGED, After, Page, cursor_position, cursor_token, keyset

START = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)


class PagingTable(SQLModel, registry=registry()):
    """This test's own metadata: nothing it defines joins a service's tables."""


class PagedReport(PagingTable, table=True):
    __tablename__ = "paged_report"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    reported_at: datetime = Field(sa_type=UTCDateTime)
    village: str


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    PagingTable.metadata.create_all(engine)
    yield engine
    engine.dispose()


def add_reports(engine: Engine, times: list[datetime]) -> None:
    with Session(engine) as session:
        for n, at in enumerate(times):
            session.add(PagedReport(reported_at=at, village=f"desa {n}"))
        session.commit()


def one_page(engine: Engine, after: str | None, limit: int) -> Page[PagedReport]:
    position = cursor_position(after, (datetime, uuid.UUID))
    query = keyset(
        select(PagedReport),
        (col(PagedReport.reported_at), col(PagedReport.id)),
        newest_first=True,
        after=position,
    )
    with Session(engine) as session:
        rows = session.exec(query.limit(limit + 1)).all()
    return Page.of(rows, limit, lambda row: (row.reported_at, row.id))


def every_page(engine: Engine, limit: int) -> Iterator[Page[PagedReport]]:
    after: str | None = None
    while True:
        page = one_page(engine, after, limit)
        yield page
        if page.next_after is None:
            return
        after = page.next_after


def test_paging_through_a_list_gives_every_row_once_newest_first_even_with_equal_times(
    engine: Engine,
) -> None:
    # Seven reports share one instant: only the id keeps their order total.
    times = [START + timedelta(minutes=n // 7) for n in range(23)]
    add_reports(engine, times)

    pages = list(every_page(engine, limit=5))
    seen = [(row.reported_at, row.id) for page in pages for row in page.items]

    assert [len(page.items) for page in pages] == [5, 5, 5, 5, 3]
    assert len(set(seen)) == 23
    assert seen == sorted(seen, reverse=True)


def test_a_report_written_while_someone_pages_neither_moves_nor_repeats_the_rest(
    engine: Engine,
) -> None:
    add_reports(engine, [START + timedelta(minutes=n) for n in range(10)])
    first = one_page(engine, None, 4)
    add_reports(engine, [START + timedelta(hours=5)])  # newest: belongs before page one

    rest = one_page(engine, first.next_after, 10)

    villages = [row.village for row in [*first.items, *rest.items]]
    assert villages == [f"desa {n}" for n in range(9, -1, -1)]


def test_the_last_page_has_no_next_cursor_and_an_exact_fit_gives_no_empty_page(
    engine: Engine,
) -> None:
    add_reports(engine, [START + timedelta(minutes=n) for n in range(6)])

    pages = list(every_page(engine, limit=3))

    assert [len(page.items) for page in pages] == [3, 3]
    assert pages[-1].next_after is None


@pytest.mark.parametrize(
    "token",
    [
        "not base64 at all!",
        cursor_token(("yesterday", uuid.UUID(int=7))),
        cursor_token((START,)),
        cursor_token((START, "not-a-uuid")),
        "W10",  # an empty list
    ],
    ids=["not-base64", "not-a-time", "one-value-short", "not-a-uuid", "empty-list"],
)
def test_a_cursor_this_list_did_not_give_out_is_refused_as_bad_cursor(token: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        cursor_position(token, (datetime, uuid.UUID))

    assert refused.value.error_code == "bad_cursor"


def test_a_paged_route_links_the_next_page_and_answers_a_forged_cursor_with_422(
    engine: Engine,
) -> None:
    add_reports(engine, [START + timedelta(minutes=n) for n in range(5)])
    api = FastAPI()
    install_error_handlers(api)

    @api.get("/reports", responses=PAGED)
    def reports(
        request: Request,
        response: Response,
        after: After = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 2,
    ) -> list[str]:
        from shared.paging import link_next_page  # noqa: PLC0415 - keeps the test's imports about paging itself

        page = one_page(engine, after, limit)
        link_next_page(request, response, page)
        return [row.village for row in page.items]

    client = TestClient(api)
    first = client.get("/reports?limit=2")
    second = client.get(first.links["next"]["url"])
    last = client.get(second.links["next"]["url"])
    forged = client.get("/reports", params={"after": "eyJ4Ijox"})

    assert [first.json(), second.json(), last.json()] == [
        ["desa 4", "desa 3"],
        ["desa 2", "desa 1"],
        ["desa 0"],
    ]
    assert "next" not in last.links
    assert "limit=2" in first.links["next"]["url"]
    assert (forged.status_code, forged.json()["error"]) == (422, "bad_cursor")
    headers = api.openapi()["paths"]["/reports"]["get"]["responses"]["200"]["headers"]
    assert set(headers) == {"Link", "X-Total-Count"}
