"""Cursor paging for every JSON list a service answers.

A list keeps its array body (clients that read one page keep working) and says where the
next page starts in a `Link: <...?after=TOKEN>; rel="next"` header (RFC 8288), the way
GitHub's API does; `X-Total-Count` carries the number of matching rows where counting is
cheap. The cursor is keyset, not an offset: the sort values and the id of the last row
sent, so a row written while someone pages is neither skipped nor shown twice, and a
page deep in a long list costs what the first one costs.

A use case pages a query in three steps:

    position = cursor_position(after, (datetime, UUID))  # 422 `bad_cursor` if forged
    rows = uow.session.exec(keyset(query, (Row.reported_at, Row.id), newest_first=True,
                                   after=position).limit(limit + 1)).all()
    page = Page.of(rows, limit, lambda row: (row.reported_at, row.id))

and the route answers `page.items`, after `link_next_page(request, response, page)`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from fastapi import Query, Request, Response
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import ColumnElement, tuple_
from sqlalchemy.orm import Mapped
from sqlalchemy.sql import Select

from shared.errors import Unprocessable

Row = TypeVar("Row")
QueryT = TypeVar("QueryT", bound=Select[Any])
Position = tuple[Any, ...]
# Enough for a timestamp, a uuid and a code, base64-encoded; anything longer is forged.
MAX_CURSOR_LENGTH = 400

After = Annotated[
    str | None,
    Query(
        max_length=MAX_CURSOR_LENGTH,
        description=(
            "Where the page starts: the `after` of the previous page's "
            '`Link: <...>; rel="next"` header. Leave out for the first page.'
        ),
    ),
]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


def cursor_token(position: Position) -> str:
    """The opaque `after` value for a page that starts after `position`."""
    raw = json.dumps([_plain(value) for value in position], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def cursor_position(token: str | None, types: tuple[type, ...]) -> Position | None:
    """The sort values a cursor stands for, typed as the list's sort key (`types`), or a
    422 `bad_cursor` for a token this service did not write."""
    if token is None:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        position = _typed(values, types)
    except (binascii.Error, UnicodeDecodeError, ValueError, ValidationError) as error:
        raise Unprocessable(
            "the `after` cursor is not one this list gave out: start again without it",
            code="bad_cursor",
        ) from error
    return position


def _typed(values: Any, types: tuple[type, ...]) -> Position:
    if not isinstance(values, list) or len(values) != len(types):
        raise ValueError("a cursor holds one value per sort column")
    return tuple(
        TypeAdapter(kind).validate_python(value) for kind, value in zip(types, values, strict=True)
    )


def keyset(
    query: QueryT,
    columns: Sequence[ColumnElement[Any] | Mapped[Any]],
    *,
    newest_first: bool,
    after: Position | None,
) -> QueryT:
    """`query` ordered by `columns` (all descending when `newest_first`), starting after
    `after`. The last column must make the order total (an id)."""
    ordered = query.order_by(
        *(column.desc() if newest_first else column.asc() for column in columns)
    )
    if after is None:
        return ordered
    key, start = tuple_(*columns), tuple_(*after)
    return ordered.where(key < start if newest_first else key > start)


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of a list and the cursor of the next one (None on the last page)."""

    items: Sequence[Row]
    next_after: str | None
    total: int | None = None

    @classmethod
    def of(
        cls,
        rows: Sequence[Row],
        limit: int,
        position_of: Callable[[Row], Position],
        *,
        total: int | None = None,
    ) -> Page[Row]:
        """The page from `rows` fetched with `limit + 1`: the extra row only says that
        another page follows."""
        items = rows[:limit]
        more = len(rows) > limit and bool(items)
        return cls(
            items=items,
            next_after=cursor_token(position_of(items[-1])) if more else None,
            total=total,
        )


def link_next_page(request: Request, response: Response, page: Page[Any]) -> None:
    """Tell the client where the next page is (and how many rows match, if counted)."""
    if page.next_after is not None:
        url = request.url.include_query_params(after=page.next_after)
        response.headers["Link"] = f'<{url}>; rel="next"'
    if page.total is not None:
        response.headers["X-Total-Count"] = str(page.total)


_PAGED_HEADERS: dict[str, Any] = {
    "Link": {
        "description": 'Where the next page is: `<url>; rel="next"`; absent on the last page.',
        "schema": {"type": "string"},
    },
    "X-Total-Count": {
        "description": "How many rows match, where counting is cheap.",
        "schema": {"type": "integer"},
    },
}
# `responses=PAGED` on a paged route declares the two headers in its OpenAPI answer.
PAGED: dict[int | str, dict[str, Any]] = {200: {"headers": _PAGED_HEADERS}}
