"""Reading what the clocks recorded, for the API, the board and the reports: clocks,
warnings with their events, a case's timeline, the cases an evaluation counts."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement
from sqlmodel import col, func, select

from services.notify import evaluation
from services.notify.models import AlertRow, ClockFilter, ClockRow, FeedRow, TimelineRow
from services.notify.standards import OfficeStandard, Standards
from shared.paging import Page, cursor_position, keyset
from shared.records import record_for_caller
from shared.unit_of_work import UnitOfWork

DOCUMENT_ATTACHED = "IncidentDocumentAttached"

# --- reading clocks -----------------------------------------------------------------


def list_clocks(
    uow: UnitOfWork, *, state: ClockFilter, office_id: str | None, after: str | None, limit: int
) -> Page[ClockRow]:
    """Open clocks soonest deadline first; closed ones most recently stopped first; a page
    of `limit` after the cursor `after`, with how many match (indexed columns)."""
    open_clocks = state is ClockFilter.OPEN
    sort = col(ClockRow.deadline) if open_clocks else col(ClockRow.stopped_at)
    stopped = col(ClockRow.stopped_at)
    conditions: list[ColumnElement[bool]] = [
        stopped.is_(None) if open_clocks else stopped.is_not(None)
    ]
    if office_id is not None:
        conditions.append(col(ClockRow.office_id) == office_id)
    query = keyset(
        select(ClockRow).where(*conditions),
        (sort, col(ClockRow.case_id)),
        newest_first=not open_clocks,
        after=cursor_position(after, (datetime, UUID)),
    )
    rows = uow.session.exec(query.limit(limit + 1)).all()
    total = uow.session.exec(select(func.count()).select_from(ClockRow).where(*conditions)).one()

    def position(row: ClockRow) -> tuple[datetime | None, UUID]:
        return (row.deadline if open_clocks else row.stopped_at), row.case_id

    return Page.of(rows, limit, position, total=int(total))


def clocks_by_id(uow: UnitOfWork, case_ids: Collection[UUID]) -> Sequence[ClockRow]:
    """The clocks of these cases (for naming the cases of warnings)."""
    return uow.session.exec(select(ClockRow).where(col(ClockRow.case_id).in_(case_ids))).all()


# A warning and the payload of the event that raised it (what a screen puts in words).
AlertWithEvent = tuple[AlertRow, dict[str, Any]]


def alerts_with_events(
    uow: UnitOfWork,
    *,
    office_id: str | None,
    case_id: UUID | None = None,
    open_only: bool = True,
    limit: int,
) -> list[AlertWithEvent]:
    """Warnings newest first with their event's payload (kept in the feed under the same
    event id), so a screen says which stage is late instead of a stored sentence."""
    query = (
        select(AlertRow, FeedRow.payload)
        .join(FeedRow, col(FeedRow.event_id) == col(AlertRow.id), isouter=True)
        .order_by(col(AlertRow.raised_at).desc())
        .limit(limit)
    )
    if office_id is not None:
        query = query.where(AlertRow.office_id == office_id)
    if case_id is not None:
        query = query.where(AlertRow.case_id == case_id)
    if open_only:
        query = query.where(col(AlertRow.acknowledged_at).is_(None))
    return [(alert, dict(payload or {})) for alert, payload in uow.session.exec(query).all()]


def get_clock(uow: UnitOfWork, case_id: UUID) -> ClockRow:
    """The case's clock, or 404 (also another office's: answered as an unknown case)."""
    return record_for_caller(
        uow, ClockRow, case_id, what="response clock for case", code="clock_not_found"
    )


# --- timeline and reports ------------------------------------------------------------


def timeline(uow: UnitOfWork, case_id: UUID) -> Sequence[TimelineRow]:
    """The case's steps in the order they happened (404 when notify has no clock)."""
    get_clock(uow, case_id)
    return uow.session.exec(
        select(TimelineRow)
        .where(TimelineRow.case_id == case_id)
        .order_by(col(TimelineRow.occurred_at), col(TimelineRow.event_type))
    ).all()


def evaluated_cases(
    uow: UnitOfWork, standards: Standards, *, office_id: str, months: Collection[str] | None
) -> list[evaluation.EvaluatedCase]:
    """Every clock of the office, open or stopped, served or not, as evaluations count
    them: by the day its deadline fell in the office's time zone (`months` keeps those
    whose deadline month is listed), judged at the unit of work's now."""
    office = standards.for_office(office_id)
    zone = office.zone
    now = uow.now()
    rows = uow.session.exec(select(ClockRow).where(ClockRow.office_id == office_id)).all()
    attached = documents_attached(uow, office_id)
    cases = []
    for row in rows:
        deadline_day = row.deadline.astimezone(zone).date()
        if months is not None and f"{deadline_day:%Y-%m}" not in months:
            continue
        verdict = evaluation.verdict(row.state(), row.deadline, now)
        served = verdict in (evaluation.Verdict.MET, evaluation.Verdict.LATE)
        cases.append(
            evaluation.EvaluatedCase(
                service_code=row.service_code,
                deadline_day=deadline_day,
                district=row.district or evaluation.UNKNOWN_DISTRICT,
                verdict=verdict,
                response_seconds=(row.response_seconds or 0.0) if served else None,
                missing_documents=evaluation.missing_documents(
                    _required_documents(office, row.service_code), attached.get(row.case_id, ())
                ),
            )
        )
    return cases


def _required_documents(office: OfficeStandard, service_code: str) -> tuple[str, ...]:
    service = office.services.get(service_code)
    return () if service is None else tuple(kind.value for kind in service.required_documents)


def required_documents(standards: Standards, office_id: str, service_code: str) -> tuple[str, ...]:
    """The document kinds the office's decree asks of a case of this service."""
    return _required_documents(standards.for_office(office_id), service_code)


def document_kind_of(step: TimelineRow) -> str:
    """The kind of an IncidentDocumentAttached step, kept as its detail's code
    (`kind: title`, see `case_clocks`)."""
    return (step.detail or "").split(":", 1)[0]


def documents_attached(uow: UnitOfWork, office_id: str) -> dict[UUID, list[str]]:
    """The kinds of document attached to each case of the office, read from the steps
    notify kept of intake's IncidentDocumentAttached."""
    steps = uow.session.exec(
        select(TimelineRow)
        .join(ClockRow, col(ClockRow.case_id) == col(TimelineRow.case_id))
        .where(ClockRow.office_id == office_id)
        .where(TimelineRow.event_type == DOCUMENT_ATTACHED)
    ).all()
    kinds: dict[UUID, list[str]] = {}
    for step in steps:
        kinds.setdefault(step.case_id, []).append(document_kind_of(step))
    return kinds
