"""The slower disaster services that follow the emergency (issue 15 item 13): an aid
application for a family the incident affected, filed, its papers completed, settled.

- Balangan (004, "Bantuan Sosial Korban Bencana"): assistance for a damaged house.
  "Permohonan proposal bantuan korban bencana disampaikan dalam batas waktu paling lambat
  3 (tiga) bulan sejak terjadinya peristiwa bencana": a later filing is refused here,
  quoting the decree (`INTAKE_AID_FILING_LIMITS`). Settled in "7-30 hari kerja".
- OKU Selatan (003, "Penanggulangan Bencana"): "Persayaratan diverifikasi oleh petugas
  front office, ditindaklanjuti dengan survei lokasi ... oleh petugas Tagana", "Hasil
  survei dinyatakan layak, maka akan diusulkan bantuan", in "2 (dua) hari kerja, apabila
  persyaratan lengkap dan benar"; its product is the "Daftar Usulan Bencana Sosial", the
  office's list of proposed cases (`GET /aid-applications/daftar-usulan.xlsx`).

Each step is an event of the application's own case (case type `aid_application`,
`shared/events_disaster_aid.py`); notify clocks it with the office's standard, which
says which event starts the clock (Balangan: the filing; OKU Selatan: the papers
complete). An application is for a family on the incident's list (`families.py`): its
name, KK and NIK are that family's, never copied into an event.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from services.intake import handlers
from services.intake.aid_application_models import (
    AidApplicationIn,
    AidApplicationRow,
    SettlementIn,
    StepIn,
    WithdrawalIn,
)
from services.intake.domain import CLOCK_DRIFT_ALLOWANCE
from services.intake.families import family_for_change
from services.intake.family_models import AffectedFamilyRow
from services.intake.models import IncidentRow
from services.intake.settings import FilingLimit
from shared.contracts.envelope import CaseType
from shared.contracts.intake_disaster_aid import (
    AidApplicationDocumentsCompleted,
    AidApplicationFiled,
    AidApplicationSettled,
    AidApplicationWithdrawn,
)
from shared.errors import Conflict, NotFound, Unprocessable
from shared.unit_of_work import UnitOfWork

ApplicationStatus = Literal[
    "filed", "documents_complete", "proposed", "granted", "declined", "withdrawn"
]

# --- rules ------------------------------------------------------------------------------


def filing_deadline(happened_at: datetime, months: int, zone: ZoneInfo) -> datetime:
    """The end of the last day an application may be filed: `months` calendar months
    after the day the disaster happened, in the office's zone (happened 15 March: filed
    by the end of 15 June; 30 November + 3 months: the end of 28/29 February)."""
    local = happened_at.astimezone(zone).date()
    month_index = local.month - 1 + months
    year, month = local.year + month_index // 12, month_index % 12 + 1
    last = date(year, month, min(local.day, calendar.monthrange(year, month)[1]))
    return datetime.combine(last, time(0), tzinfo=zone) + _ONE_DAY


_ONE_DAY = timedelta(days=1)


def check_filing_in_time(
    incident: IncidentRow, filed_at: datetime, limit: FilingLimit | None, zone: ZoneInfo
) -> None:
    """Refuse an application filed after the office's limit, quoting its decree."""
    if limit is None:
        return
    deadline = filing_deadline(incident.happened_at, limit.months, zone)
    if filed_at >= deadline:
        happened = incident.happened_at.astimezone(zone).date()
        last_day = (deadline - _ONE_DAY).date()
        raise Unprocessable(
            f"filed too late: the disaster happened on {happened:%d-%m-%Y}, the last day to "
            f'file was {last_day:%d-%m-%Y} ({limit.months} months). "{limit.quote}"',
            code="filing_period_over",
        )


def _when(given: datetime | None, now: datetime, *, not_before: datetime, what: str) -> datetime:
    at = given or now
    if at > now + CLOCK_DRIFT_ALLOWANCE:
        raise Unprocessable(f"{what} {at.isoformat()} is in the future", code="time_in_future")
    if at < not_before:
        raise Unprocessable(
            f"{what} {at.isoformat()} is before {not_before.isoformat()}, the step before it",
            code="time_before_previous_step",
        )
    return at


# --- use cases --------------------------------------------------------------------------


def file_application(
    uow: UnitOfWork,
    application: AidApplicationIn,
    *,
    limit: FilingLimit | None,
    zone: ZoneInfo,
    recorded_by: str,
) -> AidApplicationRow:
    """Record an application for a listed family, within the office's filing limit."""
    family, incident = family_for_change(uow, application.family_id)
    if application.kind == "house_damage" and application.damage is None:
        raise Unprocessable(
            "say how badly the house is damaged (heavy, moderate or light)", code="damage_missing"
        )
    now = uow.now()
    filed_at = _when(application.filed_at, now, not_before=incident.happened_at, what="filed_at")
    check_filing_in_time(incident, filed_at, limit, zone)
    pending = uow.session.exec(
        select(AidApplicationRow).where(
            AidApplicationRow.family_id == family.id,
            AidApplicationRow.kind == application.kind,
            col(AidApplicationRow.withdrawn_at).is_(None),
        )
    ).first()
    if pending is not None:
        raise Conflict(
            f"this family already has an application of this kind ({pending.id}, "
            f"{pending.status}); withdraw it first to file another",
            code="application_exists",
        )
    row = AidApplicationRow(
        id=uuid4(),
        office_id=incident.office_id,
        incident_id=incident.id,
        family_id=family.id,
        kind=application.kind,
        damage=application.damage,
        filed_at=filed_at,
        recorded_by=recorded_by,
        recorded_at=now,
    )
    address = incident.address or {}
    filed = AidApplicationFiled(
        event_id=uuid4(),
        occurred_at=filed_at,
        office_id=incident.office_id,
        case_id=row.id,
        case_type=CaseType.AID_APPLICATION,
        correlation_id=incident.id,
        producer="intake",
        kind=row.kind,
        incident_id=incident.id,
        incident_happened_at=incident.happened_at,
        hazard=incident.hazard,
        district=address.get("district"),
        village=address.get("village"),
        damage=row.damage,
        members=family.members,
        documents_complete=application.documents_complete,
        recorded_by=recorded_by,
    )
    uow.session.add(row)
    uow.emit(filed)
    if application.documents_complete:
        row.documents_complete_at, row.documents_recorded_by = filed_at, recorded_by
        uow.emit(
            AidApplicationDocumentsCompleted.caused_by(
                filed,
                producer="intake",
                occurred_at=filed_at,
                kind=filed.kind,
                district=filed.district,
                village=filed.village,
                recorded_by=recorded_by,
            )
        )
    return row


def _application(uow: UnitOfWork, application_id: UUID) -> tuple[AidApplicationRow, IncidentRow]:
    row = uow.session.get(AidApplicationRow, application_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no aid application {application_id}", code="application_not_found")
    try:
        incident = handlers.get_incident(uow, row.incident_id)
    except NotFound:
        # Another office's application: its id reveals nothing.
        raise NotFound(
            f"no aid application {application_id}", code="application_not_found"
        ) from None
    return row, incident


def _ensure_open(row: AidApplicationRow) -> None:
    if row.withdrawn_at is not None or row.outcome is not None:
        raise Conflict(
            f"the application is already {row.status}; a settled or withdrawn application "
            "takes no further step",
            code="application_closed",
        )


def _envelope(row: AidApplicationRow, at: datetime) -> dict[str, Any]:
    return {
        "event_id": uuid4(),
        "occurred_at": at,
        "office_id": row.office_id,
        "case_id": row.id,
        "case_type": CaseType.AID_APPLICATION,
        "correlation_id": row.incident_id,
        "producer": "intake",
    }


def complete_documents(
    uow: UnitOfWork, application_id: UUID, step: StepIn, *, recorded_by: str
) -> AidApplicationRow:
    """The papers are complete and correct (003: "apabila persyaratan lengkap dan benar")."""
    row, incident = _application(uow, application_id)
    _ensure_open(row)
    if row.documents_complete_at is not None:
        raise Conflict(
            "the papers are already recorded complete", code="documents_already_complete"
        )
    at = _when(step.at, uow.now(), not_before=row.filed_at, what="at")
    row.documents_complete_at, row.documents_recorded_by = at, recorded_by
    uow.session.add(row)
    address = incident.address or {}
    uow.emit(
        AidApplicationDocumentsCompleted(
            **_envelope(row, at),
            kind=row.kind,
            district=address.get("district"),
            village=address.get("village"),
            recorded_by=recorded_by,
        )
    )
    return row


def settle(
    uow: UnitOfWork, application_id: UUID, settlement: SettlementIn, *, recorded_by: str
) -> AidApplicationRow:
    """Record the office's decision; the papers must be complete first (a decision on an
    incomplete file is not one the decree describes)."""
    row, _ = _application(uow, application_id)
    _ensure_open(row)
    if row.documents_complete_at is None:
        raise Conflict(
            'record the papers complete before the decision (003: "apabila persyaratan '
            'lengkap dan benar")',
            code="documents_incomplete",
        )
    if settlement.outcome == "declined" and not settlement.reason:
        raise Unprocessable("say why the application is declined", code="reason_missing")
    at = _when(settlement.at, uow.now(), not_before=row.documents_complete_at, what="at")
    row.outcome, row.reason, row.decided_by, row.settled_at = (
        settlement.outcome,
        settlement.reason,
        settlement.decided_by,
        at,
    )
    uow.session.add(row)
    uow.emit(
        AidApplicationSettled(
            **_envelope(row, at),
            outcome=settlement.outcome,
            reason=settlement.reason,
            decided_by=settlement.decided_by,
            recorded_by=recorded_by,
        )
    )
    return row


def withdraw(
    uow: UnitOfWork, application_id: UUID, withdrawal: WithdrawalIn, *, recorded_by: str
) -> AidApplicationRow:
    """The applicant withdrew, or it was filed in error: no decision is owed."""
    row, _ = _application(uow, application_id)
    _ensure_open(row)
    at = uow.now()
    row.withdrawn_at, row.reason = at, withdrawal.reason
    uow.session.add(row)
    uow.emit(
        AidApplicationWithdrawn(
            **_envelope(row, at), reason=withdrawal.reason, recorded_by=recorded_by
        )
    )
    return row


@dataclass(frozen=True)
class Listed:
    """An application with its family and incident, as lists show it."""

    row: AidApplicationRow
    family: AffectedFamilyRow
    incident: IncidentRow


def applications(
    uow: UnitOfWork,
    *,
    office_ids: Sequence[str] | None,
    incident_id: UUID | None = None,
    status_is: ApplicationStatus | None = None,
) -> list[Listed]:
    """Applications of the caller's offices (of one incident), oldest filing first."""
    query = (
        select(AidApplicationRow, AffectedFamilyRow, IncidentRow)
        .join(AffectedFamilyRow, col(AffectedFamilyRow.id) == col(AidApplicationRow.family_id))
        .join(IncidentRow, col(IncidentRow.id) == col(AidApplicationRow.incident_id))
        .order_by(col(AidApplicationRow.filed_at), col(AidApplicationRow.id))
    )
    if office_ids is not None:
        query = query.where(col(AidApplicationRow.office_id).in_(office_ids))
    if incident_id is not None:
        query = query.where(AidApplicationRow.incident_id == incident_id)
    found = [Listed(*found) for found in uow.session.exec(query).all()]
    return [item for item in found if status_is is None or item.row.status == status_is]


def remaining_applications(uow: UnitOfWork, family_id: UUID) -> int:
    """How many applications name the family (it cannot leave the list while any do)."""
    query = select(AidApplicationRow.id).where(AidApplicationRow.family_id == family_id)
    return len(uow.session.exec(query).all())
