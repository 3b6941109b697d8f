"""intake's use cases. Each runs in one unit of work: the state change and the events it
causes commit together (the outbox), or neither does."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID, uuid4

from sqlmodel import col, select

from services.intake.domain import (
    IncidentStatus,
    LocationSource,
    check_happened_at,
    check_where,
    destination_for_verification,
    ensure_open_for_decision,
)
from services.intake.models import IncidentRow, RejectionIn, ReportIn, VerificationIn
from shared.events import (
    GeoPoint,
    IncidentRejected,
    IncidentReported,
    IncidentVerified,
    NeedLine,
    Reporter,
)
from shared.http import NotFound, Unprocessable
from shared.runtime import UnitOfWork

MAX_LINE_QUANTITY = 1_000_000


def find_by_client_id(uow: UnitOfWork, office_id: str, client_report_id: str) -> IncidentRow | None:
    """The incident a phone already created with this report id, if any."""
    return uow.session.exec(
        select(IncidentRow).where(
            IncidentRow.office_id == office_id, IncidentRow.client_report_id == client_report_id
        )
    ).first()


def report_incident(
    uow: UnitOfWork, report: ReportIn, office_id: str, geocoded: GeoPoint | None
) -> tuple[IncidentRow, bool]:
    """Record a report and announce it; a resent report returns the first one (False)."""
    if report.client_report_id is not None:
        existing = find_by_client_id(uow, office_id, report.client_report_id)
        if existing is not None:
            return existing, False
    received_at = uow.now()
    check_happened_at(report.happened_at, received_at)
    check_where(report.location, report.address)
    location = report.location or geocoded
    source = (
        LocationSource.GPS
        if report.location
        else LocationSource.GEOCODED
        if geocoded
        else LocationSource.UNRESOLVED
    )
    row = IncidentRow(
        id=uuid4(),
        office_id=office_id,
        client_report_id=report.client_report_id,
        hazard=report.hazard,
        happened_at=report.happened_at,
        reported_at=received_at,
        reporter_name=report.reporter.name,
        reporter_role=report.reporter.role,
        reporter_phone=report.reporter.phone,
        lat=location.lat if location else None,
        lon=location.lon if location else None,
        location_source=source,
        address=report.address.model_dump(mode="json") if report.address else None,
        households_affected=report.households_affected,
        people_affected=report.people_affected,
        stated_needs=[need.model_dump(mode="json") for need in report.stated_needs],
        description=report.description,
    )
    uow.session.add(row)
    uow.emit(
        IncidentReported.first(
            office_id=office_id,
            case_id=row.id,
            producer="intake",
            occurred_at=received_at,
            hazard=report.hazard,
            happened_at=report.happened_at,
            reporter=Reporter(name=report.reporter.name, role=report.reporter.role),
            location=location,
            address=report.address,
            households_affected=report.households_affected,
            people_affected=report.people_affected,
            stated_needs=tuple(report.stated_needs),
            description=report.description,
        )
    )
    return row, True


def get_incident(uow: UnitOfWork, incident_id: UUID, *, for_update: bool = False) -> IncidentRow:
    """The incident, or 404."""
    query = select(IncidentRow).where(IncidentRow.id == incident_id)
    if for_update:
        query = query.with_for_update()
    row = uow.session.exec(query).first()
    if row is None:
        raise NotFound(f"no incident {incident_id}", code="incident_not_found")
    return row


def verify_incident(uow: UnitOfWork, incident_id: UUID, decision: VerificationIn) -> IncidentRow:
    """Validate a report with the needs to send; logistics takes it from here."""
    row = get_incident(uow, incident_id, for_update=True)
    ensure_open_for_decision(row.status)
    destination, corrected = destination_for_verification(row.location(), decision.location)
    now = uow.now()
    row.status = IncidentStatus.VERIFIED
    row.lat, row.lon = destination.lat, destination.lon
    if corrected is not None:
        row.location_source = corrected
    row.assessed_needs = [need.model_dump(mode="json") for need in decision.assessed_needs]
    row.decided_by, row.decided_at = decision.verified_by, now
    uow.session.add(row)
    uow.emit(
        IncidentVerified.first(
            office_id=row.office_id,
            case_id=row.id,
            producer="intake",
            occurred_at=now,
            reported_at=row.reported_at,
            destination=destination,
            assessed_needs=merge_lines(decision.assessed_needs),
            verified_by=decision.verified_by,
        )
    )
    return row


def reject_incident(uow: UnitOfWork, incident_id: UUID, decision: RejectionIn) -> IncidentRow:
    """Refuse a report with the reason; its response clock is cancelled."""
    row = get_incident(uow, incident_id, for_update=True)
    ensure_open_for_decision(row.status)
    now = uow.now()
    row.status = IncidentStatus.REJECTED
    row.rejection_reason = decision.reason
    row.decided_by, row.decided_at = decision.rejected_by, now
    uow.session.add(row)
    uow.emit(
        IncidentRejected.first(
            office_id=row.office_id,
            case_id=row.id,
            producer="intake",
            occurred_at=now,
            reason=decision.reason,
            rejected_by=decision.rejected_by,
        )
    )
    return row


def list_incidents(
    uow: UnitOfWork, *, status: IncidentStatus | None, office_id: str | None, limit: int
) -> Sequence[IncidentRow]:
    """Newest reports first."""
    query = select(IncidentRow).order_by(col(IncidentRow.reported_at).desc()).limit(limit)
    if status is not None:
        query = query.where(IncidentRow.status == status)
    if office_id is not None:
        query = query.where(IncidentRow.office_id == office_id)
    return uow.session.exec(query).all()


def merge_lines(lines: Sequence[NeedLine]) -> tuple[NeedLine, ...]:
    """One line per item: the same item named twice is summed, in first-seen order."""
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.item_code] = totals.get(line.item_code, 0) + line.quantity
    too_many = [code for code, qty in totals.items() if qty > MAX_LINE_QUANTITY]
    if too_many:
        raise Unprocessable(
            f"more than {MAX_LINE_QUANTITY} units of {', '.join(too_many)}",
            code="quantity_too_large",
        )
    return tuple(NeedLine(item_code=code, quantity=qty) for code, qty in totals.items())
