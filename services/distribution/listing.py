"""One page of any of distribution's lists, API and screens alike: ordered by a total key
(sort columns, then the id), `limit` rows after the cursor, and the cursor of the next
page (`shared.paging`). A list gives its key's columns and their Python types once; a
forged cursor is refused 422 `bad_cursor` before the database is asked."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Query, Request
from sqlmodel import Session
from sqlmodel.sql.expression import Select, SelectOfScalar

from shared.paging import MAX_CURSOR_LENGTH, Page, Position, cursor_position, keyset

Row = TypeVar("Row")


def page_of(
    session: Session,
    query: Select[*tuple[Any, ...]] | SelectOfScalar[Any],
    key: Sequence[Any],
    *,
    types: tuple[type, ...],
    after: str | None,
    limit: int,
    newest_first: bool = False,
    position_of: Callable[[Any], Position] | None = None,
    total: int | None = None,
) -> Page[Any]:
    """`limit` rows of `query` after the cursor `after`, in the order of `key` (its last
    column the id). Rows are read back by the key's attribute names unless the query
    selects several entities, which then say where a row stands with `position_of`."""
    position = cursor_position(after, types)
    ordered = keyset(query, key, newest_first=newest_first, after=position)
    rows = session.exec(ordered.limit(limit + 1)).all()
    where = position_of or (lambda row: tuple(getattr(row, column.key) for column in key))
    return Page.of(rows, limit, where, total=total)


# A screen's `?after=`: the same cursor as the API's lists.
ScreenAfter = Annotated[
    str | None,
    Query(max_length=MAX_CURSOR_LENGTH, description="Where the page starts (its Next link)."),
]


def pager_links(request: Request, page: Page[Any]) -> dict[str, str | None]:
    """A screen's pager: back to the first page (when not on it), on to the next (when
    there is one); the screen's other query parameters (a search) are kept."""
    kept = [(name, value) for name, value in request.query_params.multi_items() if name != "after"]
    path = request.url.path
    first = f"{path}?{urlencode(kept)}" if kept else path
    return {
        "first_url": first if "after" in request.query_params else None,
        "next_url": f"{path}?{urlencode([*kept, ('after', page.next_after)])}"
        if page.next_after
        else None,
    }
