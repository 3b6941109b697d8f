"""One record by its id for the current request, or 404. An unknown id and another
office's record get the same answer, so an id reveals nothing (tenancy); a record read to
be changed is locked until the transaction ends and read fresh, so two requests changing
it at once take turns. Records whose office is their parent's (a lot's warehouse, a
round's program, a photo's incident) look the parent up in their own service."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar
from uuid import UUID

from shared.auth import visible_to_caller
from shared.errors import NotFound
from shared.unit_of_work import UnitOfWork


class OfficeOwned(Protocol):
    office_id: str


Owned = TypeVar("Owned", bound=OfficeOwned)


def record_for_caller(
    uow: UnitOfWork,
    model: type[Owned],
    record_id: UUID,
    *,
    what: str,
    code: str,
    for_update: bool = False,
) -> Owned:
    """The `model` row with primary key `record_id` if the caller may see it, else 404
    `code` ("no <what> <id>")."""
    options: dict[str, Any] = (
        {"with_for_update": True, "populate_existing": True} if for_update else {}
    )
    row: Owned | None = uow.session.get(model, record_id, **options)
    if row is None or not visible_to_caller(row.office_id):
        raise NotFound(f"no {what} {record_id}", code=code)
    return row
