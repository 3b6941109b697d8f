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
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import Column
from sqlmodel import Field as SQLField
from sqlmodel import col, select

from services.intake import handlers
from services.intake.dependencies import InCallersOffice, SettingsDep
from services.intake.domain import CLOCK_DRIFT_ALLOWANCE
from services.intake.families import (
    AffectedFamilyRow,
    VaultDep,
    family_for_change,
    family_of_caller,
)
from services.intake.models import IncidentRow, IntakeTable
from services.intake.settings import FilingLimit, IntakeSettings
from shared.actors import ActingUserName
from shared.auth import Access, Policy, Role, confine, office_scope
from shared.columns import UTCDateTime
from shared.contracts.envelope import CaseType, LongText, ShortText
from shared.contracts.intake_disaster_aid import (
    AidApplicationDocumentsCompleted,
    AidApplicationFiled,
    AidApplicationSettled,
    AidApplicationWithdrawn,
    AidKind,
    AidOutcome,
    DamageGrade,
)
from shared.errors import Conflict, NotFound, Unprocessable
from shared.exports import XLSX_MEDIA_TYPE, Kind, xlsx
from shared.exports import Column as SheetColumn
from shared.http import ERROR_RESPONSES, ApiModel
from shared.openapi import file_answer
from shared.privacy import PersonalDataVault, mask_number
from shared.service_api import RuntimeDep
from shared.unit_of_work import UnitOfWork

ApplicationStatus = Literal[
    "filed", "documents_complete", "proposed", "granted", "declined", "withdrawn"
]

# --- table ------------------------------------------------------------------------------


class AidApplicationRow(IntakeTable, table=True):
    """An aid application and each of its steps."""

    __tablename__ = "aid_application"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    office_id: str = SQLField(index=True, max_length=40)
    incident_id: UUID = SQLField(index=True)
    family_id: UUID = SQLField(index=True)
    kind: str = SQLField(max_length=30)  # an AidKind
    damage: str | None = SQLField(default=None, max_length=20)  # a DamageGrade
    filed_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    recorded_by: str = SQLField(max_length=200)
    recorded_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    documents_complete_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
    documents_recorded_by: str | None = SQLField(default=None, max_length=200)
    outcome: str | None = SQLField(default=None, max_length=20)  # an AidOutcome
    reason: str = SQLField(default="", max_length=2000)
    decided_by: str | None = SQLField(default=None, max_length=200)
    settled_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
    withdrawn_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))

    @property
    def status(self) -> ApplicationStatus:
        """Where the application stands."""
        if self.withdrawn_at is not None:
            return "withdrawn"
        outcomes: dict[str | None, ApplicationStatus] = {
            "proposed": "proposed",
            "granted": "granted",
            "declined": "declined",
        }
        if self.outcome in outcomes:
            return outcomes[self.outcome]
        return "documents_complete" if self.documents_complete_at is not None else "filed"


# --- API shapes -------------------------------------------------------------------------


class AidApplicationIn(ApiModel):
    """An application as received at the office."""

    family_id: UUID = Field(
        description="The family it is for, as listed for its incident (the incident is "
        "the family's)."
    )
    kind: AidKind = Field(
        description="house_damage (Balangan's assistance for a damaged house) or "
        "disaster_aid_proposal (OKU Selatan's aid proposal)."
    )
    damage: DamageGrade | None = Field(
        default=None, description="The house's damage grade; required for house_damage."
    )
    filed_at: AwareDatetime | None = Field(
        default=None, description="When the office received it; omitted: now."
    )
    documents_complete: bool = Field(
        default=False, description="The required papers came complete and correct with it."
    )


class StepIn(ApiModel):
    """When a step happened, if not now."""

    at: AwareDatetime | None = Field(default=None, description="Omitted: now.")


class SettlementIn(ApiModel):
    """The office's decision on the application."""

    outcome: AidOutcome = Field(
        description="proposed (entered in the Daftar Usulan Bencana Sosial), granted or declined."
    )
    decided_by: ShortText = Field(description="Who decided, e.g. 'Kepala Dinas Sosial'.")
    reason: LongText = Field(default="", description="Why; required when declined.")
    at: AwareDatetime | None = Field(default=None, description="When; omitted: now.")


class WithdrawalIn(ApiModel):
    """Why the application is withdrawn."""

    reason: Annotated[LongText, Field(min_length=3)]


class AidApplicationOut(BaseModel):
    """An application and where it stands; the family's KK masked."""

    id: UUID
    incident_id: UUID
    family_id: UUID
    head_name: str
    kk_masked: str
    members: int
    kind: AidKind
    damage: DamageGrade | None
    status: ApplicationStatus
    filed_at: datetime
    recorded_by: str
    documents_complete_at: datetime | None
    outcome: AidOutcome | None
    reason: str
    decided_by: str | None
    settled_at: datetime | None
    withdrawn_at: datetime | None

    @classmethod
    def of(
        cls, row: AidApplicationRow, family: AffectedFamilyRow, vault: PersonalDataVault
    ) -> AidApplicationOut:
        """The API view of an application with its family."""
        return cls(
            **row.model_dump(exclude={"office_id", "recorded_at", "documents_recorded_by"}),
            status=row.status,
            head_name=family.head_name,
            kk_masked=mask_number(vault.decrypt(family.kk_number)),
            members=family.members,
        )


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


# --- the Daftar Usulan Bencana Sosial (003's product) -----------------------------------

DAFTAR_COLUMNS = (
    SheetColumn("No", Kind.INTEGER, width=5),
    SheetColumn("Nama Kepala Keluarga"),
    SheetColumn("No. KK"),
    SheetColumn("Jumlah Jiwa", Kind.INTEGER),
    SheetColumn("Alamat"),
    SheetColumn("Desa/Kelurahan"),
    SheetColumn("Kecamatan"),
    SheetColumn("Jenis Bencana"),
    SheetColumn("Tanggal Kejadian", Kind.DATE),
    SheetColumn("Jenis Bantuan"),
    SheetColumn("Tingkat Kerusakan"),
    SheetColumn("Tanggal Permohonan", Kind.DATETIME),
    SheetColumn("Tanggal Diusulkan", Kind.DATETIME),
    SheetColumn("Diputuskan oleh"),
)
KIND_WORDS = {
    "house_damage": "Bantuan rumah rusak",
    "disaster_aid_proposal": "Usulan bantuan bencana",
}
DAMAGE_WORDS = {"heavy": "Rusak berat", "moderate": "Rusak sedang", "light": "Rusak ringan"}
HAZARD_WORDS = {
    "flood": "Banjir",
    "landslide": "Tanah longsor",
    "fire": "Kebakaran",
    "settlement_fire": "Kebakaran permukiman",
    "earthquake": "Gempa bumi",
    "storm": "Angin puting beliung",
    "tsunami": "Tsunami",
    "volcanic_eruption": "Letusan gunung api",
    "drought": "Kekeringan",
    "social_conflict": "Konflik sosial",
    "other": "Lainnya",
}


def daftar_usulan(
    listed: Sequence[Listed], vault: PersonalDataVault, zone: ZoneInfo, *, caption: str
) -> bytes:
    """The proposed applications as the office's list (XLSX), KK masked: the list is
    sent on to the regency, and a full KK number is not needed to read it."""
    rows = []
    for number, item in enumerate(listed, start=1):
        address = item.incident.address or {}
        rows.append(
            (
                number,
                item.family.head_name,
                mask_number(vault.decrypt(item.family.kk_number)),
                item.family.members,
                item.family.address,
                address.get("village"),
                address.get("district"),
                HAZARD_WORDS.get(item.incident.hazard.value, item.incident.hazard.value),
                item.incident.happened_at.astimezone(zone).date(),
                KIND_WORDS[item.row.kind],
                DAMAGE_WORDS.get(item.row.damage or ""),
                item.row.filed_at,
                item.row.settled_at,
                item.row.decided_by,
            )
        )
    return xlsx(
        "Daftar Usulan Bencana Sosial",
        DAFTAR_COLUMNS,
        rows,
        zone=zone,
        caption=("DAFTAR USULAN BENCANA SOSIAL", caption),
    )


# --- HTTP -------------------------------------------------------------------------------

aid_router = APIRouter(responses=ERROR_RESPONSES, tags=["aid applications"])


def _limit_and_zone(
    settings: IntakeSettings, office_id: str
) -> tuple[FilingLimit | None, ZoneInfo]:
    return settings.aid_filing_limits.get(office_id), settings.zone(office_id)


@aid_router.post(
    "/aid-applications",
    status_code=status.HTTP_201_CREATED,
    summary="File an aid application for an affected family",
)
def post_application(
    application: AidApplicationIn,
    runtime: RuntimeDep,
    settings: SettingsDep,
    vault: VaultDep,
    actor: ActingUserName,
) -> AidApplicationOut:
    """For a family on an incident's list (404 `family_not_found` otherwise). In an
    office with a filing limit (INTAKE_AID_FILING_LIMITS; Balangan: 3 months, 004) a
    later filing is refused, 422 `filing_period_over`, quoting the decree. Announced as
    `AidApplicationFiled` (and `AidApplicationDocumentsCompleted` when the papers came
    complete)."""

    def file(uow: UnitOfWork) -> tuple[AidApplicationRow, AffectedFamilyRow]:
        _, incident = family_of_caller(uow, application.family_id)
        limit, zone = _limit_and_zone(settings, incident.office_id)
        row = file_application(uow, application, limit=limit, zone=zone, recorded_by=actor)
        return row, _family_of(uow, row)

    row, family = runtime.run(file)
    return AidApplicationOut.of(row, family, vault)


def _family_of(uow: UnitOfWork, row: AidApplicationRow) -> AffectedFamilyRow:
    family = uow.session.get(AffectedFamilyRow, row.family_id)
    if family is None:
        raise NotFound(f"the family of application {row.id} is gone", code="family_not_found")
    return family


@aid_router.get(
    "/incidents/{incident_id}/aid-applications",
    dependencies=InCallersOffice,
    summary="An incident's aid applications",
)
def list_incident_applications(
    incident_id: UUID, runtime: RuntimeDep, vault: VaultDep
) -> list[AidApplicationOut]:
    """Oldest filing first."""

    def read(uow: UnitOfWork) -> list[Listed]:
        handlers.get_incident(uow, incident_id)  # 404 for another office's
        return applications(uow, office_ids=None, incident_id=incident_id)

    return [AidApplicationOut.of(i.row, i.family, vault) for i in runtime.run(read)]


def _step(
    runtime: RuntimeDep,
    vault: PersonalDataVault,
    action: Any,
) -> AidApplicationOut:
    def run(uow: UnitOfWork) -> tuple[AidApplicationRow, AffectedFamilyRow]:
        row = action(uow)
        return row, _family_of(uow, row)

    row, family = runtime.run(run)
    return AidApplicationOut.of(row, family, vault)


@aid_router.post(
    "/aid-applications/{application_id}/documents-complete",
    summary="Record an application's papers complete",
)
def post_documents_complete(
    application_id: UUID, step: StepIn, runtime: RuntimeDep, vault: VaultDep, actor: ActingUserName
) -> AidApplicationOut:
    """Announced as `AidApplicationDocumentsCompleted`: OKU Selatan's 2 working days
    start here (003). 409 `documents_already_complete`, `application_closed`."""
    return _step(
        runtime, vault, lambda uow: complete_documents(uow, application_id, step, recorded_by=actor)
    )


@aid_router.post(
    "/aid-applications/{application_id}/settlement",
    summary="Record the decision on an application",
)
def post_settlement(
    application_id: UUID,
    settlement: SettlementIn,
    runtime: RuntimeDep,
    vault: VaultDep,
    actor: ActingUserName,
) -> AidApplicationOut:
    """proposed, granted or declined (with the reason); 409 `documents_incomplete` before
    the papers are complete. Announced as `AidApplicationSettled`, which stops its clock."""
    return _step(
        runtime, vault, lambda uow: settle(uow, application_id, settlement, recorded_by=actor)
    )


@aid_router.post(
    "/aid-applications/{application_id}/withdrawal",
    summary="Withdraw an application",
)
def post_withdrawal(
    application_id: UUID,
    withdrawal: WithdrawalIn,
    runtime: RuntimeDep,
    vault: VaultDep,
    actor: ActingUserName,
) -> AidApplicationOut:
    """Announced as `AidApplicationWithdrawn`: its clock stops as cancelled."""
    return _step(
        runtime, vault, lambda uow: withdraw(uow, application_id, withdrawal, recorded_by=actor)
    )


@aid_router.get(
    "/aid-applications/daftar-usulan.xlsx",
    summary="The Daftar Usulan Bencana Sosial (proposed applications) as XLSX",
    response_class=Response,
    responses=file_answer(XLSX_MEDIA_TYPE, description="The list of proposals"),
)
def get_daftar_usulan(
    *,
    runtime: RuntimeDep,
    settings: SettingsDep,
    vault: VaultDep,
    request: Request,
    office_id: Annotated[
        str | None,
        Query(min_length=2, max_length=40, description="The office; omitted: the caller's."),
    ] = None,
    proposed_from: Annotated[date | None, Query(description="First day of proposal.")] = None,
    proposed_to: Annotated[date | None, Query(description="Last day of proposal.")] = None,
) -> Response:
    """Every application proposed in the period (its decision's day in the office's
    zone): head of family, KK masked, members, address, the disaster, the aid asked.
    003's product of the service ("Produk pelayanan: Daftar Usulan Bencana Sosial")."""
    scope = office_scope(request)
    office_id = office_id or scope
    if office_id is None:
        raise Unprocessable("say which office's list: office_id", code="office_id_missing")
    confine(scope, office_id, "office")
    zone = settings.zone(office_id)

    def read(uow: UnitOfWork) -> list[Listed]:
        return applications(uow, office_ids=[office_id], status_is="proposed")

    listed = [
        item
        for item in runtime.run(read)
        if _in_period(item.row.settled_at, zone, proposed_from, proposed_to)
    ]
    period = f"{proposed_from or '...'} s.d. {proposed_to or '...'}"
    data = daftar_usulan(listed, vault, zone, caption=f"{office_id} · {period}")
    name = f"daftar-usulan-bencana-sosial-{office_id}.xlsx"
    return Response(
        data,
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _in_period(at: datetime | None, zone: ZoneInfo, first: date | None, last: date | None) -> bool:
    if at is None:
        return False
    day = at.astimezone(zone).date()
    return (first is None or day >= first) and (last is None or day <= last)


AID_ACCESS: Policy = {
    "POST /aid-applications": Access.of(Role.COORDINATOR),
    "GET /incidents/{incident_id}/aid-applications": Access.of(Role.FIELD_TEAM, Role.COORDINATOR),
    "POST /aid-applications/{application_id}/documents-complete": Access.of(Role.COORDINATOR),
    "POST /aid-applications/{application_id}/settlement": Access.of(Role.COORDINATOR),
    "POST /aid-applications/{application_id}/withdrawal": Access.of(Role.COORDINATOR),
    "GET /aid-applications/daftar-usulan.xlsx": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN),
}
