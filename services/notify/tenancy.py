"""Which office's cases a request may see: the signed-in user's own (tenancy). A filter
naming another office is refused; a case of another office is answered as unknown."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shared.auth import office_scope
from shared.contracts.envelope import OfficeId
from shared.errors import Forbidden


def office_filter(request: Request, office_id: OfficeId | None = None) -> str | None:
    """The office to filter by: the caller's, or the one asked for when sign-in is off."""
    scope = office_scope(request)
    if scope is not None and office_id not in (None, scope):
        raise Forbidden("you see your own office's cases only", code="other_office")
    return scope or office_id


def report_office(request: Request, office_id: OfficeId | None = None) -> str:
    """The office a report is about: the caller's (or, sign-in off, the one asked for)."""
    chosen = office_filter(request, office_id)
    if chosen is None:
        raise Forbidden("name the office (office_id) the report is about", code="office_required")
    return chosen


OfficeFilter = Annotated[str | None, Depends(office_filter)]
ReportOffice = Annotated[str, Depends(report_office)]
