"""Filing a report from the field: a phone's resent copy found again, the checks a report
must pass, a new incident, or a report linked to an undecided incident of the same
event (a duplicate), and the reports linked to an incident."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import and_, or_
from sqlmodel import col, select

from services.intake.domain import (
    DuplicateMatch,
    IncidentStatus,
    LocationSource,
    OpenIncident,
    Sighting,
    check_address,
    check_happened_at,
    check_reporter_nik,
    check_where,
    duplicate_search_box,
    find_duplicate,
    nik_digest,
)
from services.intake.handlers import (
    ReportPolicy,
    get_incident,
)
from services.intake.models import (
    FieldReportRow,
    IncidentRow,
    ReportIn,
    ReportOutcome,
)
from services.intake.privacy import sealed_phone
from shared.contracts.envelope import GeoPoint
from shared.contracts.intake import IncidentReported, Reporter, ReportLinkedToIncident
from shared.regions import Region, Regions
from shared.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ReportResult:
    """The incident a report created or joined, the report's own row, and the outcome."""

    incident: IncidentRow
    report: FieldReportRow | None
    outcome: ReportOutcome


def find_by_client_id(uow: UnitOfWork, office_id: str, client_report_id: str) -> IncidentRow | None:
    """The incident a phone already created with this report id, if any."""
    return uow.session.exec(
        select(IncidentRow).where(
            IncidentRow.office_id == office_id, IncidentRow.client_report_id == client_report_id
        )
    ).first()


def find_resent(uow: UnitOfWork, office_id: str, client_report_id: str) -> ReportResult | None:
    """What became of a report the phone already sent with this id, if it did."""
    report = uow.session.exec(
        select(FieldReportRow).where(
            FieldReportRow.office_id == office_id,
            FieldReportRow.client_report_id == client_report_id,
        )
    ).first()
    if report is not None:
        incident = get_incident(uow, report.incident_id)
        return ReportResult(incident, report, ReportOutcome.RESENT)
    # Incidents created before reports were kept separately have no report row.
    legacy = find_by_client_id(uow, office_id, client_report_id)
    if legacy is None:
        return None
    return ReportResult(legacy, None, ReportOutcome.RESENT)


def check_report(report: ReportIn, hierarchy: Regions) -> Region | None:
    """Every check on a report that needs no database: where, address, NIK."""
    check_where(report.location, report.address)
    region = check_address(report.address, hierarchy) if report.address else None
    if report.reporter.nik is not None:
        check_reporter_nik(report.reporter.nik)
    return region


def report_incident(
    uow: UnitOfWork,
    report: ReportIn,
    office_id: str,
    geocoded: GeoPoint | None,
    policy: ReportPolicy,
) -> ReportResult:
    """Record a report and announce it. A resent report returns what the first copy
    became; a duplicate of an open incident is linked to it instead of opening another."""
    if report.client_report_id is not None:
        resent = find_resent(uow, office_id, report.client_report_id)
        if resent is not None:
            return resent
    received_at = uow.now()
    check_happened_at(report.happened_at, received_at)
    region = check_report(report, policy.hierarchy)
    location = report.location or geocoded
    village_code = region.code if region is not None and region.level == "village" else None
    sighting = Sighting(report.hazard, report.happened_at, location, village_code)
    match = find_duplicate(
        sighting,
        open_incidents_near_in_time(uow, office_id, sighting, policy),
        policy.duplicate_rule,
    )
    nik_hash = (
        nik_digest(report.reporter.nik, policy.nik_key) if report.reporter.nik is not None else None
    )
    phone_token = sealed_phone(policy.vault, report.reporter.phone)
    if match is not None:
        return _link(
            uow,
            report,
            office_id=office_id,
            location=location,
            region=region,
            nik_hash=nik_hash,
            phone_token=phone_token,
            match=match,
            received_at=received_at,
        )
    source = (
        LocationSource.GPS
        if report.location
        else LocationSource.GEOCODED
        if geocoded
        else LocationSource.UNRESOLVED
    )
    row = IncidentRow(
        id=uuid4(),
        location_source=source,
        **_as_reported(
            report,
            office_id=office_id,
            location=location,
            received_at=received_at,
            phone_token=phone_token,
        ),
    )
    uow.session.add(row)
    first_report = _report_row(
        report,
        report_id=row.id,
        incident_id=row.id,
        office_id=office_id,
        location=location,
        region=region,
        received_at=received_at,
        phone_token=phone_token,
    )
    first_report.reporter_nik_hash = nik_hash
    uow.session.add(first_report)
    uow.announce(
        IncidentReported,
        office_id=office_id,
        case_id=row.id,
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
    return ReportResult(row, first_report, ReportOutcome.CREATED)


def _report_row(
    report: ReportIn,
    *,
    report_id: UUID,
    incident_id: UUID,
    office_id: str,
    location: GeoPoint | None,
    region: Region | None,
    received_at: datetime,
    phone_token: str | None,
) -> FieldReportRow:
    return FieldReportRow(
        id=report_id,
        incident_id=incident_id,
        region_code=region.code if region else None,
        **_as_reported(
            report,
            office_id=office_id,
            location=location,
            received_at=received_at,
            phone_token=phone_token,
        ),
    )


def _as_reported(
    report: ReportIn,
    *,
    office_id: str,
    location: GeoPoint | None,
    received_at: datetime,
    phone_token: str | None,
) -> dict[str, Any]:
    """The columns an incident and each of its field reports keep as the reporter sent
    them (the phone as its encrypted token)."""
    return {
        "office_id": office_id,
        "client_report_id": report.client_report_id,
        "hazard": report.hazard,
        "happened_at": report.happened_at,
        "reported_at": received_at,
        "reporter_name": report.reporter.name,
        "reporter_role": report.reporter.role,
        "reporter_phone": phone_token,
        "lat": location.lat if location else None,
        "lon": location.lon if location else None,
        "address": report.address.model_dump(mode="json") if report.address else None,
        "households_affected": report.households_affected,
        "people_affected": report.people_affected,
        "stated_needs": list(report.stated_needs),
        "description": report.description,
    }


def _link(
    uow: UnitOfWork,
    report: ReportIn,
    *,
    office_id: str,
    location: GeoPoint | None,
    region: Region | None,
    nik_hash: str | None,
    phone_token: str | None,
    match: DuplicateMatch,
    received_at: datetime,
) -> ReportResult:
    incident = get_incident(uow, match.incident_id)
    row = _report_row(
        report,
        report_id=uuid4(),
        incident_id=incident.id,
        office_id=office_id,
        location=location,
        region=region,
        received_at=received_at,
        phone_token=phone_token,
    )
    row.linked = True
    row.reporter_nik_hash = nik_hash
    row.distance_m, row.minutes_apart = match.distance_m, match.minutes_apart
    uow.session.add(row)
    uow.announce(
        ReportLinkedToIncident,
        office_id=office_id,
        case_id=incident.id,
        occurred_at=received_at,
        report_id=row.id,
        reporter=Reporter(name=report.reporter.name, role=report.reporter.role),
        distance_m=match.distance_m,
        minutes_apart=match.minutes_apart,
    )
    return ReportResult(incident, row, ReportOutcome.LINKED)


def open_incidents_near_in_time(
    uow: UnitOfWork, office_id: str, sighting: Sighting, policy: ReportPolicy
) -> list[OpenIncident]:
    """Incidents awaiting a decision, of the same hazard, within the time window.

    Only undecided incidents collect duplicates: once a coordinator has verified or
    rejected one, news about it comes as a follow-up, and a new report opens a new card
    the coordinator can weigh on its own.
    """
    if not policy.duplicate_rule.enabled:
        return []
    window = policy.duplicate_rule.window
    query = select(IncidentRow).where(
        IncidentRow.office_id == office_id,
        IncidentRow.hazard == sighting.hazard,
        IncidentRow.status == IncidentStatus.REPORTED,
        col(IncidentRow.happened_at) >= sighting.happened_at - window,
        col(IncidentRow.happened_at) <= sighting.happened_at + window,
    )
    box = (
        duplicate_search_box(sighting.point, policy.duplicate_rule.radius_m)
        if sighting.point is not None
        else None
    )
    if box is not None:
        # Incidents with a position outside the box are farther than the radius (the
        # exact geodesic is computed for the rest): without this, every report paid one
        # geodesic per open incident, ~0.2 ms each, which made a burst of reports
        # quadratic. Incidents without a position still compete on their village.
        lat, lon = col(IncidentRow.lat), col(IncidentRow.lon)
        query = query.where(
            or_(
                lat.is_(None),
                lon.is_(None),
                and_(lat.between(box.lat_min, box.lat_max), lon.between(box.lon_min, box.lon_max)),
            )
        )
    rows = uow.session.exec(query).all()
    if not rows:
        return []
    regions_of = {
        report.id: report.region_code
        for report in uow.session.exec(
            select(FieldReportRow).where(col(FieldReportRow.id).in_([row.id for row in rows]))
        ).all()
    }
    return [
        OpenIncident(
            id=row.id,
            reported_at=row.reported_at,
            sighting=Sighting(
                row.hazard,
                row.happened_at,
                row.location(),
                _village_only(regions_of.get(row.id)),
            ),
        )
        for row in rows
    ]


def _village_only(code: str | None) -> str | None:
    # Kemendagri village codes have four parts (64.02.06.1007); coarser ones do not say
    # two reports are in the same place.
    return code if code is not None and code.count(".") == 3 else None


def linked_reports(uow: UnitOfWork, incident_id: UUID) -> Sequence[FieldReportRow]:
    """Duplicates joined to the incident, oldest first."""
    get_incident(uow, incident_id)
    return uow.session.exec(
        select(FieldReportRow)
        .where(FieldReportRow.incident_id == incident_id, col(FieldReportRow.linked).is_(True))
        .order_by(col(FieldReportRow.reported_at))
    ).all()
