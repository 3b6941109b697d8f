"""distribution's use cases. Each runs in one unit of work: the new state and the events
announcing it commit together (the outbox), or neither does.

Three kinds of delivery share one state machine: incident relief (one per released
dispatch), permakanan parcels (one per enrolled recipient per round, to their door) and
sandang handovers (one per clothing request, at the institution).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, select

from services.distribution.domain import (
    DeliveryKind,
    DeliveryStatus,
    FailureReason,
    Move,
    Resolution,
    check_arrival,
    check_image,
    check_in_indonesia,
    check_proof_position,
    check_reattempt,
    check_return,
    check_transition,
    expired_lots,
    needs_review,
    parcels_covered,
    plan_rounds,
    plan_route,
    share_lots,
    tally,
)
from services.distribution.eligibility_rules import (
    checked_eligibility,
    decision_of,
    eligibility_columns,
    mask_register_id,
    refuse_ineligible,
)
from services.distribution.models import (
    AddressIn,
    ArrivalIn,
    AssignmentIn,
    CompletionIn,
    CorrectionIn,
    DeliveryRow,
    EnrolmentIn,
    EnrolmentRow,
    EnrolmentStatus,
    EvaluationOut,
    FailureIn,
    HandoverRow,
    IncidentPlaceRow,
    OpeningOverride,
    ProcurementStartIn,
    ProgramIn,
    ProgramRow,
    ProofImageRow,
    RecipientIn,
    RecipientKind,
    RecipientOut,
    RecipientRow,
    ReplacementIn,
    ReturnIn,
    RoundOut,
    RoundRow,
    RoundStatus,
    RunIn,
    RunRow,
    RunStatus,
    SandangRequestIn,
    SandangRequestRow,
    SandangStatus,
    StepReceiptRow,
)
from services.distribution.privacy import PersonalDataVault
from shared.auth import scoped_office, visible_to_caller
from shared.clock import DEFAULT_OFFICE_ZONE
from shared.errors import Conflict, NotFound, PermanentEventError, Unprocessable
from shared.events import (
    AnyEvent,
    CaseType,
    DeliveryArrived,
    DeliveryAssigned,
    DeliveryCompleted,
    DeliveryDeparted,
    DeliveryFailed,
    DeliveryScheduled,
    DispatchReleased,
    EventBase,
    IncidentReported,
    NeedLine,
)
from shared.events_programs import (
    DeliveryReturned,
    DeliveryRunDeparted,
    DeliveryRunPlanned,
    GoodsRequested,
    PermakananRoundCompleted,
    PermakananRoundScheduled,
    RecipientFlaggedForReview,
    ReturnedLine,
    SandangHandedOver,
    SandangProcurementStarted,
    SandangRequested,
)
from shared.privacy import mask_number, mask_phone
from shared.regions import (
    AddressProblem,
    InvalidNik,
    Region,
    check_nik,
    postal_code_well_formed,
    regions,
)
from shared.runtime import UnitOfWork

E = TypeVar("E", bound=EventBase)
OFFICE_ZONE = ZoneInfo(DEFAULT_OFFICE_ZONE)


@dataclass(frozen=True)
class Policy:
    """What the use cases need from settings: tolerances, the office's area, the vault."""

    office_id: str
    province: str
    regency: str
    arrival_tolerance_m: float
    proof_tolerance_m: float
    max_image_bytes: int
    vault: PersonalDataVault
    zone_for: Callable[[str | None], ZoneInfo]  # the zone each office keeps its dates in


# --- registry -------------------------------------------------------------------------


def register_recipient(uow: UnitOfWork, policy: Policy, body: RecipientIn) -> RecipientRow:
    """Register a person or institution after checking position, address and numbers.

    The NIK is checked for form, region and birth date, then stored only encrypted and
    as a keyed hash; a NIK already registered is a 409 naming the existing recipient.
    """
    check_in_indonesia(body.position)
    province, regency, district, village = _checked_address(policy, body.address)
    nik_hash = _checked_nik(uow, policy, body.nik) if body.nik is not None else None
    eligibility = checked_eligibility(body, today=uow.now().date())
    if body.kk is not None:
        _check_kk(body.kk)
    row = RecipientRow(
        office_id=scoped_office() or policy.office_id,
        kind=body.kind,
        name=body.name,
        institution_type=body.institution_type,
        contact_person=body.contact_person,
        nik_token=policy.vault.encrypt(body.nik) if body.nik else None,
        nik_hash=nik_hash,
        kk_token=policy.vault.encrypt(body.kk) if body.kk else None,
        phone_token=policy.vault.encrypt(body.phone) if body.phone else None,
        street=body.address.street,
        village=village.name,
        village_code=village.code,
        district=district.name,
        regency=regency.name,
        province=province.name,
        postal_code=body.address.postal_code,
        lat=body.position.lat,
        lon=body.position.lon,
        verified=body.verified,
        created_at=uow.now(),
        **eligibility_columns(eligibility, policy.vault),
    )
    uow.session.add(row)
    return row


def _checked_address(policy: Policy, address: AddressIn) -> tuple[Region, Region, Region, Region]:
    province, regency = _office_area(policy.province, policy.regency)
    try:
        district = regions().find("district", address.district, regency.code)
        village = regions().find("village", address.village, district.code)
    except AddressProblem as problem:
        raise Unprocessable(str(problem), code="address_not_in_regency") from problem
    if address.postal_code is not None and not postal_code_well_formed(address.postal_code):
        raise Unprocessable("a kode pos is 5 digits, 10000-99999", code="invalid_postal_code")
    return province, regency, district, village


def _checked_nik(
    uow: UnitOfWork, policy: Policy, nik: str, *, except_recipient: UUID | None = None
) -> str:
    """The NIK's keyed hash, once its form, region and birth date hold and no other
    recipient has it."""
    try:
        check_nik(nik, today=uow.now().date())
    except InvalidNik as invalid:
        raise Unprocessable(f"{invalid.reason}: {invalid}", code="invalid_nik") from invalid
    # Every key's hash: a recipient stored before a key rotation keeps the old key's
    # hash until `dinsos-admin data rewrap` recomputes it under the newest.
    existing = uow.session.exec(
        select(RecipientRow.id, RecipientRow.office_id).where(
            col(RecipientRow.nik_hash).in_(policy.vault.fingerprints(nik))
        )
    ).first()
    if existing is not None and existing[0] != except_recipient:
        # One person is one recipient nationally (no double aid across offices), but
        # another office's recipient is theirs: no id, no name, not even which office.
        if not visible_to_caller(existing[1]):
            raise Conflict(
                "this NIK is already registered with another office; the person is moved "
                "between offices there, not registered twice",
                code="duplicate_nik",
            )
        raise Conflict(
            f"this NIK is already registered as recipient {existing[0]}", code="duplicate_nik"
        )
    return policy.vault.fingerprint(nik)


def _check_kk(kk: str) -> None:
    if not re.fullmatch(r"\d{16}", kk):
        raise Unprocessable("a family-card (KK) number is exactly 16 digits", code="invalid_kk")


def correct_recipient(
    uow: UnitOfWork, policy: Policy, recipient_id: UUID, body: CorrectionIn
) -> RecipientRow:
    """A data subject's correction (UU PDP): the same checks as registration, and an audit
    entry naming the fields changed and why (never their values)."""
    row = get_recipient(uow, recipient_id)
    changed: list[str] = []
    if body.name is not None and body.name != row.name:
        row.name = body.name
        changed.append("name")
    if body.nik is not None:
        row.nik_hash = _checked_nik(uow, policy, body.nik, except_recipient=row.id)
        row.nik_token = policy.vault.encrypt(body.nik)
        changed.append("nik")
    if body.kk is not None:
        _check_kk(body.kk)
        row.kk_token = policy.vault.encrypt(body.kk)
        changed.append("kk")
    if body.phone is not None:
        row.phone_token = policy.vault.encrypt(body.phone)
        changed.append("phone")
    if body.address is not None:
        province, regency, district, village = _checked_address(policy, body.address)
        row.street = body.address.street
        row.village, row.village_code = village.name, village.code
        row.district, row.regency, row.province = district.name, regency.name, province.name
        row.postal_code = body.address.postal_code
        changed.append("address")
    if body.position is not None:
        check_in_indonesia(body.position)
        row.lat, row.lon = body.position.lat, body.position.lon
        changed.append("position")
    if not changed:
        raise Unprocessable("nothing to correct", code="empty_correction")
    uow.session.add(row)
    uow.audit(
        action="PersonalDataCorrected",
        entity="recipient",
        entity_id=str(row.id),
        office_id=row.office_id,
        details={"fields": changed, "reason": body.reason},
    )
    return row


def personal_data_export(
    uow: UnitOfWork, policy: Policy, recipient_id: UUID, purpose: str
) -> dict[str, Any]:
    """Everything distribution holds about one person, for a data-subject request: the
    registry entry in clear, program memberships, every delivery with its proof, and who
    read or corrected the record. The export itself is audited."""
    row = get_recipient(uow, recipient_id)
    enrolments = uow.session.exec(
        select(EnrolmentRow).where(EnrolmentRow.recipient_id == recipient_id)
    ).all()
    deliveries = uow.session.exec(
        select(DeliveryRow)
        .where(DeliveryRow.recipient_id == recipient_id)
        .order_by(DeliveryRow.created_at)  # type: ignore[arg-type]
    ).all()
    trail = (
        uow.audit_trail.list(uow.session, entity_id=str(recipient_id)) if uow.audit_trail else []
    )
    uow.audit(
        action="PersonalDataExported",
        entity="recipient",
        entity_id=str(recipient_id),
        office_id=row.office_id,
        details={"purpose": purpose},
    )
    return {
        "recipient": recipient_view(row, policy.vault, reveal=True).model_dump(mode="json"),
        "enrolments": [e.model_dump(mode="json") for e in enrolments],
        "deliveries": [
            {
                "id": str(d.id),
                "case_id": str(d.case_id),
                "kind": d.kind,
                "status": d.status,
                "attempt": d.attempt,
                "created_at": d.created_at.isoformat(),
                "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None,
                "received_by": d.received_by,
                "relation": d.received_relation,
                "failure_reason": d.failure_code,
                "far_from_address": d.far_from_address,
            }
            for d in deliveries
        ],
        "access_log": [
            {
                "at": entry["recorded_at"].isoformat(),
                "actor": entry["actor"],
                "action": entry["action"],
                "details": entry["details"],
            }
            for entry in trail
        ],
    }


@lru_cache(maxsize=8)
def _office_area(province: str, regency: str) -> tuple[Region, Region]:
    # Finding a province scans the whole country's regions; the office's never changes.
    found_province, found_regency = regions().resolve(province=province, regency=regency)
    return found_province, found_regency


def recipient_view(row: RecipientRow, vault: PersonalDataVault, *, reveal: bool) -> RecipientOut:
    """The API view: personal numbers masked, or in clear when `reveal`."""

    def shown(token: str | None, mask: Any) -> str | None:
        if token is None:
            return None
        clear = vault.decrypt(token)
        return clear if reveal else str(mask(clear))

    return RecipientOut(
        id=row.id,
        kind=row.kind,
        name=row.name,
        nik=shown(row.nik_token, mask_number),
        kk=shown(row.kk_token, mask_number),
        phone=shown(row.phone_token, mask_phone),
        revealed=reveal,
        institution_type=row.institution_type,
        contact_person=row.contact_person,
        street=row.street,
        village=row.village,
        village_code=row.village_code,
        district=row.district,
        regency=row.regency,
        province=row.province,
        postal_code=row.postal_code,
        position=row.position(),
        verified=row.verified,
        review_reason=row.review_reason,
        flagged_at=row.flagged_at,
        created_at=row.created_at,
        birth_date=row.birth_date,
        social_register=row.social_register,
        social_register_id=shown(row.social_register_id_token, mask_register_id),
        disability=row.disability,
        neglected_child=row.neglected_child,
        receives_pkh=row.receives_pkh,
        receives_sembako=row.receives_sembako,
    )


OfficeRecord = TypeVar("OfficeRecord", RecipientRow, ProgramRow, SandangRequestRow, RunRow)


def _office_record(
    uow: UnitOfWork,
    model: type[OfficeRecord],
    record_id: UUID,
    what: str,
    *,
    code: str | None = None,
) -> OfficeRecord:
    """A record by id, or 404 `<what>_not_found` when it is unknown or of another office."""
    row = uow.session.get(model, record_id)
    if row is None or not visible_to_caller(row.office_id):
        error_code = f"{code or what.replace(' ', '_')}_not_found"
        raise NotFound(f"no {what} {record_id}", code=error_code)
    return row


def get_recipient(uow: UnitOfWork, recipient_id: UUID) -> RecipientRow:
    """The recipient, or 404."""
    return _office_record(uow, RecipientRow, recipient_id, "recipient")


def list_recipients(
    uow: UnitOfWork, *, kind: RecipientKind | None, flagged: bool | None, limit: int
) -> Sequence[RecipientRow]:
    """Recipients by name; `flagged` lists those up for review."""
    query = select(RecipientRow).order_by(col(RecipientRow.name)).limit(limit)
    if (scope := scoped_office()) is not None:
        query = query.where(RecipientRow.office_id == scope)
    if kind is not None:
        query = query.where(RecipientRow.kind == kind)
    if flagged is True:
        query = query.where(col(RecipientRow.review_reason).is_not(None))
    elif flagged is False:
        query = query.where(col(RecipientRow.review_reason).is_(None))
    return uow.session.exec(query).all()


def verify_recipient(uow: UnitOfWork, recipient_id: UUID) -> RecipientRow:
    """A social worker checked the recipient at home; a review flag is cleared."""
    row = get_recipient(uow, recipient_id)
    row.verified, row.review_reason, row.flagged_at = True, None, None
    uow.session.add(row)
    return row


# --- permakanan -----------------------------------------------------------------------


def create_program(uow: UnitOfWork, policy: Policy, body: ProgramIn) -> ProgramRow:
    """A 12-month plan with its 6 rounds, 2 months apart, all still planned."""
    check_in_indonesia(body.hub)
    program = ProgramRow(
        office_id=scoped_office() or policy.office_id,
        name=body.name,
        start_date=body.start_date,
        parcel=[line.model_dump(mode="json") for line in body.parcel],
        hub_lat=body.hub.lat,
        hub_lon=body.hub.lon,
        created_at=uow.now(),
    )
    uow.session.add(program)
    for plan in plan_rounds(body.start_date):
        uow.session.add(
            RoundRow(
                program_id=program.id,
                number=plan.number,
                period_start=plan.period_start,
                period_end=plan.period_end,
            )
        )
    return program


def get_program(uow: UnitOfWork, program_id: UUID) -> ProgramRow:
    """The program, or 404."""
    return _office_record(uow, ProgramRow, program_id, "permakanan program", code="program")


def list_programs(uow: UnitOfWork) -> list[ProgramRow]:
    """The caller's office's programs, the latest start first."""
    query = select(ProgramRow).order_by(col(ProgramRow.start_date).desc(), col(ProgramRow.id))
    if (scope := scoped_office()) is not None:
        query = query.where(ProgramRow.office_id == scope)
    return list(uow.session.exec(query).all())


def rounds_of(uow: UnitOfWork, program_id: UUID) -> list[RoundRow]:
    """The program's rounds in order."""
    return list(
        uow.session.exec(
            select(RoundRow).where(RoundRow.program_id == program_id).order_by(col(RoundRow.number))
        ).all()
    )


def get_round(uow: UnitOfWork, round_id: UUID, *, for_update: bool = False) -> RoundRow:
    """The round, or 404."""
    query = select(RoundRow).where(RoundRow.id == round_id)
    if for_update:
        query = query.with_for_update()
    row = uow.session.exec(query).first()
    program = uow.session.get(ProgramRow, row.program_id) if row is not None else None
    if row is None or program is None or not visible_to_caller(program.office_id):
        raise NotFound(f"no permakanan round {round_id}", code="round_not_found")
    return row


def round_view(row: RoundRow) -> RoundOut:
    """The API view of a round."""
    return RoundOut.model_validate(row, from_attributes=True)


def enrol(
    uow: UnitOfWork, program_id: UUID, body: EnrolmentIn, *, today: date | None = None
) -> EnrolmentRow:
    """Enrol a verified person who meets permakanan's requirements (or queue them as a
    candidate); enrolling again changes nothing and answers with the enrolment as it is.
    `today` is the office's date (the age of 60 counts from it)."""
    get_program(uow, program_id)
    recipient = get_recipient(uow, body.recipient_id)
    if recipient.kind is not RecipientKind.PERSON:
        raise Unprocessable("only persons receive permakanan", code="not_a_person")
    if not recipient.verified:
        raise Unprocessable(
            "the recipient has not been verified at home yet", code="recipient_not_verified"
        )
    if recipient.review_reason is not None:
        raise Conflict(
            f"the recipient is under review ({recipient.review_reason})",
            code="recipient_under_review",
        )
    refuse_ineligible(recipient, on=today or uow.now().astimezone(OFFICE_ZONE).date())
    if body.decision_id is not None:
        decision_of(uow, program_id, body.decision_id)
    existing = uow.session.exec(
        select(EnrolmentRow).where(
            EnrolmentRow.program_id == program_id, EnrolmentRow.recipient_id == body.recipient_id
        )
    ).first()
    if existing is not None:
        return existing
    now = uow.now()
    row = EnrolmentRow(
        program_id=program_id,
        recipient_id=body.recipient_id,
        status=EnrolmentStatus.CANDIDATE if body.as_candidate else EnrolmentStatus.ACTIVE,
        queued_at=now,
        active_from=None if body.as_candidate else now,
        decision_id=body.decision_id,
    )
    uow.session.add(row)
    return row


def enrolments_of(
    uow: UnitOfWork, program_id: UUID, status: EnrolmentStatus | None = None
) -> list[EnrolmentRow]:
    """A program's enrolments, in queue order."""
    query = (
        select(EnrolmentRow)
        .where(EnrolmentRow.program_id == program_id)
        .order_by(col(EnrolmentRow.queued_at), col(EnrolmentRow.id))
    )
    if status is not None:
        query = query.where(EnrolmentRow.status == status)
    return list(uow.session.exec(query).all())


# How long before its period a round may be opened: its goods are asked for at opening
# and must be ready by the period's first day.
ROUND_OPENING_LEAD = timedelta(days=30)


def round_window(round_row: RoundRow) -> tuple[date, date]:
    """The days a round may be opened on: from ROUND_OPENING_LEAD before its period to
    the period's last day ("setiap 2 bulan sekali", 000: one round per 2-month period)."""
    return round_row.period_start - ROUND_OPENING_LEAD, round_row.period_end


def open_round(
    uow: UnitOfWork, policy: Policy, round_id: UUID, override: OpeningOverride | None = None
) -> RoundRow:
    """Open a planned round: one parcel delivery per active recipient to their home, the
    round announced, and the goods requested from logistics. Opening again is a no-op.

    Only inside its window (`round_window`, the office's date), so six rounds cannot be
    opened in one week; outside it only with an override, kept in the round row and the
    audit trail (`422 round_outside_window` without one)."""
    round_row = get_round(uow, round_id, for_update=True)
    if round_row.status is not RoundStatus.PLANNED:
        return round_row
    program = get_program(uow, round_row.program_id)
    if round_row.number > 1:
        previous = uow.session.exec(
            select(RoundRow).where(
                RoundRow.program_id == program.id, RoundRow.number == round_row.number - 1
            )
        ).one()
        if previous.status is RoundStatus.PLANNED:
            raise Conflict(
                f"round {previous.number} has not been opened yet", code="previous_round_not_open"
            )
    today = uow.now().astimezone(policy.zone_for(program.office_id)).date()
    first_day, last_day = round_window(round_row)
    outside = not first_day <= today <= last_day
    if outside and override is None:
        raise Unprocessable(
            f"round {round_row.number} covers {round_row.period_start} to "
            f"{round_row.period_end} and opens from {first_day} to {last_day}; today is "
            f"{today}. To open it anyway, give an override with who and why",
            code="round_outside_window",
        )
    people = uow.session.exec(
        select(RecipientRow)
        .join(EnrolmentRow, col(EnrolmentRow.recipient_id) == col(RecipientRow.id))
        .where(
            EnrolmentRow.program_id == program.id,
            EnrolmentRow.status == EnrolmentStatus.ACTIVE,
        )
        .order_by(col(RecipientRow.id))
    ).all()
    if not people:
        raise Conflict("no active recipients in this program", code="no_recipients")
    now = uow.now()
    if outside and override is not None:
        round_row.opening_override_by = override.by
        round_row.opening_override_reason = override.reason
        round_row.opening_override_at = now
        uow.audit(
            action="RoundOpenedOutsideWindow",
            entity="permakanan_round",
            entity_id=str(round_row.id),
            office_id=program.office_id,
            details={
                "by": override.by,
                "reason": override.reason,
                "today": today.isoformat(),
                "window": [first_day.isoformat(), last_day.isoformat()],
            },
        )
    parcel = program.parcel_lines()
    scheduled = PermakananRoundScheduled.first(
        office_id=program.office_id,
        case_id=round_row.id,
        producer="distribution",
        occurred_at=now,
        case_type=CaseType.PERMAKANAN_ROUND,
        program_id=program.id,
        round_number=round_row.number,
        period_start=round_row.period_start,
        period_end=round_row.period_end,
        recipients=len(people),
        program_name=program.name,
    )
    requested = GoodsRequested.caused_by(
        scheduled,
        producer="distribution",
        occurred_at=now,
        purpose="permakanan_round",
        lines=tuple(
            NeedLine(item_code=line.item_code, quantity=line.quantity * len(people))
            for line in parcel
        ),
        needed_by=round_row.period_start,
        destination=program.hub(),
        keep_until=round_row.period_end,
    )
    for person in people:
        uow.session.add(
            DeliveryRow(
                office_id=program.office_id,
                kind=DeliveryKind.PERMAKANAN,
                case_id=round_row.id,
                case_type=CaseType.PERMAKANAN_ROUND,
                correlation_id=round_row.id,
                destination_lat=person.lat,
                destination_lon=person.lon,
                lines=list(program.parcel),
                recipient_id=person.id,
                created_at=now,
                last_event_id=scheduled.event_id,
            )
        )
    round_row.status, round_row.opened_at, round_row.recipients = RoundStatus.OPEN, now, len(people)
    round_row.last_event_id = requested.event_id
    uow.session.add(round_row)
    uow.emit(scheduled)
    uow.emit(requested)
    return round_row


def _on_round_released(uow: UnitOfWork, event: DispatchReleased) -> None:
    """The round's goods left the warehouse: its parcels are ready to go out, each
    knowing the lots it came from."""
    round_row = uow.session.exec(
        select(RoundRow).where(RoundRow.id == event.case_id).with_for_update()
    ).first()
    if round_row is None:
        raise PermanentEventError("unknown_round", f"no permakanan round {event.case_id}")
    program = uow.session.get(ProgramRow, round_row.program_id)
    if program is None or program.office_id != event.office_id:
        raise PermanentEventError(
            "other_office", f"permakanan round {round_row.id} is not of office {event.office_id}"
        )
    if str(event.dispatch_id) in round_row.dispatch_ids:
        return  # the same release announced again under a new event id
    round_row.dispatch_ids = [*round_row.dispatch_ids, str(event.dispatch_id)]
    uow.session.add(round_row)
    waiting = list(
        uow.session.exec(
            select(DeliveryRow)
            .where(
                DeliveryRow.case_id == round_row.id,
                col(DeliveryRow.goods_ready_at).is_(None),
            )
            .order_by(col(DeliveryRow.created_at), col(DeliveryRow.id))
        ).all()
    )
    if waiting:
        # A partial release (the rest bought first, or from another warehouse) readies
        # only the parcels it fully covers; the others wait for the next one.
        covered = parcels_covered(
            [(line.item_code, line.quantity) for line in event.lines],
            [(line["item_code"], int(line["quantity"])) for line in waiting[0].lines],
        )
        waiting = waiting[:covered]
    now = uow.now()
    shares = share_lots(
        [(line.item_code, str(line.lot_id), line.quantity) for line in event.lines],
        [
            (row.id, line["item_code"], int(line["quantity"]))
            for row in waiting
            for line in row.lines
        ],
    )
    expiry = {str(line.lot_id): line.expires_on for line in event.lines}
    for row in waiting:
        row.goods_ready_at, row.warehouse_code = now, event.warehouse_code
        row.origin_lat, row.origin_lon = event.origin.lat, event.origin.lon
        row.lots = [
            {
                "item_code": s.item_code,
                "lot_id": s.lot_id,
                "quantity": s.quantity,
                "expires_on": _iso(expiry.get(s.lot_id or "")),
            }
            for s in shares.get(row.id, [])
        ]
        uow.session.add(row)
    if round_row.status is RoundStatus.OPEN:
        round_row.status, round_row.goods_released_at = RoundStatus.GOODS_RELEASED, now
        uow.session.add(round_row)


def evaluate_round(uow: UnitOfWork, round_id: UUID) -> EvaluationOut:
    """After (or during) a round: its tally, failures by reason, and who to review."""
    round_row = get_round(uow, round_id)
    rows = uow.session.exec(select(DeliveryRow).where(DeliveryRow.case_id == round_id)).all()
    counted = tally([(row.status, row.resolution) for row in rows])
    failures = Counter(row.failure_code.value for row in rows if row.failure_code is not None)
    to_review = sorted(
        {
            row.recipient_id
            for row in rows
            if row.recipient_id is not None and needs_review(row.failure_code)
        },
        key=str,
    )
    return EvaluationOut(
        round=round_view(round_row),
        open=counted.open,
        to_review=to_review,
        failures=dict(failures),
    )


def replace_recipient(
    uow: UnitOfWork, program_id: UUID, body: ReplacementIn
) -> tuple[EnrolmentRow, EnrolmentRow | None]:
    """End the enrolment of a recipient who no longer qualifies and activate the next
    verified candidate not under review (None when the queue is empty). Asking again
    answers with the same pair."""
    get_program(uow, program_id)
    ended = uow.session.exec(
        select(EnrolmentRow)
        .where(
            EnrolmentRow.program_id == program_id, EnrolmentRow.recipient_id == body.recipient_id
        )
        .with_for_update()
    ).first()
    if ended is None:
        raise NotFound("the recipient is not enrolled in this program", code="not_enrolled")
    if ended.status is EnrolmentStatus.ENDED:
        successor = uow.session.get(EnrolmentRow, ended.replaced_by) if ended.replaced_by else None
        return ended, successor
    if ended.status is EnrolmentStatus.CANDIDATE:
        raise Conflict("a candidate is not receiving yet", code="not_active")
    now = uow.now()
    successor = uow.session.exec(
        select(EnrolmentRow)
        .join(RecipientRow, col(RecipientRow.id) == col(EnrolmentRow.recipient_id))
        .where(
            EnrolmentRow.program_id == program_id,
            EnrolmentRow.status == EnrolmentStatus.CANDIDATE,
            col(RecipientRow.verified).is_(True),
            col(RecipientRow.review_reason).is_(None),
        )
        .order_by(col(EnrolmentRow.queued_at), col(EnrolmentRow.id))
        .limit(1)
        .with_for_update()
    ).first()
    ended.status, ended.ended_at, ended.end_reason = EnrolmentStatus.ENDED, now, body.reason
    if successor is not None:
        successor.status, successor.active_from = EnrolmentStatus.ACTIVE, now
        successor.replaces, ended.replaced_by = ended.id, successor.id
        uow.session.add(successor)
    uow.session.add(ended)
    return ended, successor


def _settle_round(uow: UnitOfWork, delivery: DeliveryRow) -> None:
    """When a parcel reaches its end, the round may be complete: announce it once."""
    if delivery.kind is not DeliveryKind.PERMAKANAN:
        return
    uow.session.flush()
    still_open = uow.session.exec(
        select(func.count())
        .select_from(DeliveryRow)
        .where(
            DeliveryRow.case_id == delivery.case_id,
            DeliveryRow.status != DeliveryStatus.DELIVERED,
            col(DeliveryRow.resolution).is_(None),
        )
    ).one()
    if still_open:
        return
    round_row = get_round(uow, delivery.case_id, for_update=True)
    if round_row.status is RoundStatus.COMPLETED:
        return
    rows = uow.session.exec(
        select(DeliveryRow.status, DeliveryRow.resolution).where(
            DeliveryRow.case_id == delivery.case_id
        )
    ).all()
    counted = tally(
        [
            (DeliveryStatus(status), Resolution(resolution) if resolution else None)
            for status, resolution in rows
        ]
    )
    now = uow.now()
    completed = PermakananRoundCompleted.following(
        office_id=delivery.office_id,
        case_id=round_row.id,
        correlation_id=round_row.id,
        causation_id=delivery.last_event_id,
        producer="distribution",
        occurred_at=now,
        case_type=CaseType.PERMAKANAN_ROUND,
        program_id=round_row.program_id,
        round_number=round_row.number,
        delivered=counted.delivered,
        returned=counted.returned,
    )
    round_row.status, round_row.completed_at = RoundStatus.COMPLETED, now
    round_row.delivered, round_row.returned = counted.delivered, counted.returned
    round_row.last_event_id = completed.event_id
    uow.session.add(round_row)
    uow.emit(completed)


# --- sandang --------------------------------------------------------------------------


def request_sandang(uow: UnitOfWork, policy: Policy, body: SandangRequestIn) -> SandangRequestRow:
    """An institution's clothing needs become a request for a budget year, filed before
    that year starts (000: "Permohonan diajukan 1 tahun sebelum tahun anggaran berjalan
    (T-1)"). No goods are asked for yet: that is procurement, which starts later
    (`start_sandang_procurement`)."""
    institution = get_recipient(uow, body.institution_id)
    if institution.kind is not RecipientKind.INSTITUTION:
        raise Unprocessable(
            "sandang goes to an institution (dormitory, shelter)", code="not_an_institution"
        )
    office_id = scoped_office() or policy.office_id
    now = uow.now()
    this_year = now.astimezone(policy.zone_for(office_id)).year
    if body.budget_year <= this_year:
        raise Unprocessable(
            f"a sandang request is filed before its budget year starts (T-1): budget year "
            f"{body.budget_year} has begun (it is {this_year}); file it for {this_year + 1}",
            code="budget_year_started",
        )
    request_id = uuid4()
    lines = tuple(body.lines)
    requested = SandangRequested.first(
        office_id=office_id,
        case_id=request_id,
        producer="distribution",
        occurred_at=now,
        case_type=CaseType.SANDANG_REQUEST,
        institution_id=institution.id,
        institution_name=institution.name,
        lines=lines,
        budget_year=body.budget_year,
    )
    row = SandangRequestRow(
        id=request_id,
        office_id=office_id,
        institution_id=institution.id,
        lines=[line.model_dump(mode="json") for line in lines],
        needed_by=body.needed_by,
        budget_year=body.budget_year,
        created_at=now,
        last_event_id=requested.event_id,
    )
    uow.session.add(row)
    uow.emit(requested)
    return row


def start_sandang_procurement(
    uow: UnitOfWork, request_id: UUID, body: ProcurementStartIn
) -> SandangRequestRow:
    """Procurement of the request's goods starts: the decree's 3 months run from here to
    the handover (000: "Proses Pengadaan Barang sampai dengan Serah Terima Barang
    membutuhkan waktu 3 (tiga) bulan"), and logistics is asked for the goods (from
    stock, or bought for what is missing)."""
    request = get_sandang_request(uow, request_id)
    if request.status is not SandangStatus.REQUESTED:
        raise Conflict(
            f"procurement of sandang request {request.id} started at "
            f"{request.procurement_started_at} (status {request.status.value})",
            code="procurement_already_started",
        )
    if request.budget_year is None:
        raise Unprocessable(
            f"sandang request {request.id} names no budget year", code="no_budget_year"
        )
    institution = get_recipient(uow, request.institution_id)
    now = uow.now()
    lines = tuple(NeedLine.model_validate(line) for line in request.lines)
    started = SandangProcurementStarted.first(
        office_id=request.office_id,
        case_id=request.id,
        producer="distribution",
        occurred_at=now,
        case_type=CaseType.SANDANG_REQUEST,
        institution_id=institution.id,
        institution_name=institution.name,
        lines=lines,
        budget_year=request.budget_year,
        started_by=body.started_by,
    )
    goods = GoodsRequested.caused_by(
        started,
        producer="distribution",
        occurred_at=now,
        purpose="sandang_request",
        lines=lines,
        needed_by=request.needed_by,
        destination=institution.position(),
    )
    request.status = SandangStatus.PROCUREMENT
    request.procurement_started_at, request.procurement_started_by = now, body.started_by
    request.last_event_id = goods.event_id
    uow.session.add(request)
    uow.emit(started)
    uow.emit(goods)
    return request


def get_sandang_request(uow: UnitOfWork, request_id: UUID) -> SandangRequestRow:
    """The request, or 404."""
    return _office_record(uow, SandangRequestRow, request_id, "sandang request")


def list_sandang_requests(
    uow: UnitOfWork, *, status: SandangStatus | None = None, limit: int = 200
) -> list[SandangRequestRow]:
    """The caller's office's clothing requests, newest first."""
    query = (
        select(SandangRequestRow)
        .order_by(col(SandangRequestRow.created_at).desc(), col(SandangRequestRow.id))
        .limit(limit)
    )
    if status is not None:
        query = query.where(SandangRequestRow.status == status)
    if (scope := scoped_office()) is not None:
        query = query.where(SandangRequestRow.office_id == scope)
    return list(uow.session.exec(query).all())


def get_handover(uow: UnitOfWork, handover_id: UUID) -> HandoverRow:
    """The BAST, or 404."""
    row = uow.session.get(HandoverRow, handover_id)
    request = uow.session.get(SandangRequestRow, row.request_id) if row is not None else None
    if row is None or request is None or not visible_to_caller(request.office_id):
        raise NotFound(f"no handover record {handover_id}", code="handover_not_found")
    return row


def _on_sandang_released(uow: UnitOfWork, event: DispatchReleased) -> None:
    """The clothing left the warehouse: open the handover delivery to the institution."""
    request = uow.session.exec(
        select(SandangRequestRow).where(SandangRequestRow.id == event.case_id).with_for_update()
    ).first()
    if request is None:
        raise PermanentEventError("unknown_sandang_request", f"no sandang request {event.case_id}")
    if request.office_id != event.office_id:
        raise PermanentEventError(
            "other_office", f"sandang request {request.id} is not of office {event.office_id}"
        )
    if request.delivery_id is not None:
        return
    institution = get_recipient(uow, request.institution_id)
    delivery = _open_released_delivery(
        uow, event, kind=DeliveryKind.SANDANG, destination_row=institution
    )
    request.status, request.delivery_id = SandangStatus.GOODS_RELEASED, delivery.id
    uow.session.add(request)


def _record_handover(uow: UnitOfWork, delivery: DeliveryRow, completion: CompletionIn) -> None:
    """A completed sandang delivery leaves a BAST and announces the handover."""
    request = get_sandang_request(uow, delivery.case_id)
    now = uow.now()
    handover_id = uuid4()
    lines = _need_lines(delivery.lines)
    uow.session.add(
        HandoverRow(
            id=handover_id,
            number=f"BAST/{delivery.office_id.upper()}/{now:%Y%m%d}/{str(handover_id)[:8].upper()}",
            request_id=request.id,
            delivery_id=delivery.id,
            institution_id=request.institution_id,
            received_by=completion.received_by,
            relation=completion.relation or "",
            handed_over_by=delivery.team,
            lines=[line.model_dump(mode="json") for line in lines],
            handed_over_at=now,
        )
    )
    request.status, request.handover_id = SandangStatus.HANDED_OVER, handover_id
    uow.session.add(request)
    uow.emit(
        SandangHandedOver.following(
            office_id=delivery.office_id,
            case_id=request.id,
            correlation_id=request.id,
            causation_id=delivery.last_event_id,
            producer="distribution",
            occurred_at=now,
            case_type=CaseType.SANDANG_REQUEST,
            institution_id=request.institution_id,
            handover_id=handover_id,
            received_by=completion.received_by,
            lines=tuple(lines),
        )
    )


def _need_lines(lines: list[dict[str, Any]]) -> list[NeedLine]:
    """Quantities per item, summed over lots."""
    totals: Counter[str] = Counter()
    for line in lines:
        totals[line["item_code"]] += int(line["quantity"])
    return [NeedLine(item_code=item, quantity=qty) for item, qty in sorted(totals.items())]


# --- released dispatches --------------------------------------------------------------


def on_dispatch_released(uow: UnitOfWork, event: AnyEvent) -> None:
    """A released dispatch: for an incident, open its delivery (one per dispatch, however
    often it comes); for a permakanan round, its parcels are ready; for a sandang
    request, open the handover delivery.

    The dispatches topic also carries plans and shortages: nothing leaves the warehouse
    for those, so there is nothing to deliver.
    """
    if not isinstance(event, DispatchReleased):
        return
    if event.case_type is CaseType.PERMAKANAN_ROUND:
        _on_round_released(uow, event)
        return
    if event.case_type is CaseType.SANDANG_REQUEST:
        _on_sandang_released(uow, event)
        return
    if event.case_type is not CaseType.INCIDENT:
        return
    _open_released_delivery(uow, event, kind=DeliveryKind.INCIDENT, destination_row=None)


def _open_released_delivery(
    uow: UnitOfWork,
    event: DispatchReleased,
    *,
    kind: DeliveryKind,
    destination_row: RecipientRow | None,
) -> DeliveryRow:
    # The runtime dedupes by event id; this also absorbs a release re-announced under a
    # new event id (the unique dispatch_id backs it against a concurrent consumer).
    existing = uow.session.exec(
        select(DeliveryRow).where(DeliveryRow.dispatch_id == event.dispatch_id)
    ).first()
    if existing is not None:
        if existing.office_id != event.office_id:
            raise PermanentEventError(
                "other_office", f"dispatch {event.dispatch_id} is delivered for another office"
            )
        return existing
    now: datetime = uow.now()
    destination = destination_row.position() if destination_row else event.destination
    delivery_id = uuid4()
    scheduled = DeliveryScheduled.caused_by(
        event,
        producer="distribution",
        occurred_at=now,
        delivery_id=delivery_id,
        dispatch_id=event.dispatch_id,
        destination=destination,
    )
    row = DeliveryRow(
        id=delivery_id,
        office_id=event.office_id,
        kind=kind,
        case_id=event.case_id,
        case_type=event.case_type,
        correlation_id=event.correlation_id,
        dispatch_id=event.dispatch_id,
        warehouse_code=event.warehouse_code,
        origin_lat=event.origin.lat,
        origin_lon=event.origin.lon,
        destination_lat=destination.lat,
        destination_lon=destination.lon,
        lines=[line.model_dump(mode="json") for line in event.lines],
        recipient_id=destination_row.id if destination_row else None,
        goods_ready_at=now,
        status=DeliveryStatus.CREATED,
        created_at=now,
        last_event_id=scheduled.event_id,
    )
    uow.session.add(row)
    uow.emit(scheduled)
    return row


# --- delivery steps -------------------------------------------------------------------


def get_delivery(uow: UnitOfWork, delivery_id: UUID, *, for_update: bool = False) -> DeliveryRow:
    """The delivery, or 404."""
    query = select(DeliveryRow).where(DeliveryRow.id == delivery_id)
    if for_update:
        # Two phones of one team may post the same step at once: the second waits and
        # then finds the step already done.
        query = query.with_for_update()
    row = uow.session.exec(query).first()
    if row is None or not visible_to_caller(row.office_id):
        raise NotFound(f"no delivery {delivery_id}", code="delivery_not_found")
    return row


def list_deliveries(
    uow: UnitOfWork,
    *,
    status: DeliveryStatus | None,
    case_id: UUID | None,
    limit: int,
    kind: DeliveryKind | None = None,
) -> Sequence[DeliveryRow]:
    """Newest deliveries first."""
    query = (
        select(DeliveryRow)
        .order_by(col(DeliveryRow.created_at).desc(), col(DeliveryRow.id))
        .limit(limit)
    )
    if status is not None:
        query = query.where(DeliveryRow.status == status)
    if case_id is not None:
        query = query.where(DeliveryRow.case_id == case_id)
    if kind is not None:
        query = query.where(DeliveryRow.kind == kind)
    if (scope := scoped_office()) is not None:
        query = query.where(DeliveryRow.office_id == scope)
    return uow.session.exec(query).all()


def _check_goods_ready(row: DeliveryRow) -> None:
    if row.goods_ready_at is None:
        raise Conflict(
            "the goods for this parcel have not left the warehouse yet", code="goods_not_released"
        )


def assign(uow: UnitOfWork, delivery_id: UUID, assignment: AssignmentIn) -> DeliveryRow:
    """A field team takes the delivery."""
    row = get_delivery(uow, delivery_id, for_update=True)
    return _assign(uow, row, assignment.team)


def _assign(uow: UnitOfWork, row: DeliveryRow, team: str) -> DeliveryRow:
    if check_transition(row.status, DeliveryStatus.ASSIGNED, row.kind) is Move.ALREADY_THERE:
        return row
    _check_goods_ready(row)
    now: datetime = uow.now()
    row.status, row.team, row.assigned_at = DeliveryStatus.ASSIGNED, team, now
    _announce(uow, row, DeliveryAssigned, now, team=team)
    return row


def depart(uow: UnitOfWork, delivery_id: UUID) -> DeliveryRow:
    """The goods leave for the location (in transit)."""
    row = get_delivery(uow, delivery_id, for_update=True)
    return _depart(uow, row)


def _depart(uow: UnitOfWork, row: DeliveryRow) -> DeliveryRow:
    if check_transition(row.status, DeliveryStatus.IN_TRANSIT, row.kind) is Move.ALREADY_THERE:
        return row
    now: datetime = uow.now()
    row.status, row.departed_at = DeliveryStatus.IN_TRANSIT, now
    _announce(uow, row, DeliveryDeparted, now)
    return row


def arrive(
    uow: UnitOfWork,
    delivery_id: UUID,
    arrival: ArrivalIn,
    *,
    tolerance_m: float,
    proof_tolerance_m: float | None = None,
) -> DeliveryRow:
    """The team is at the location, as its GPS position shows. For an incident this stops
    the response clock, so a position too far from the destination is refused; for a
    program parcel it is kept and flagged as far from the address."""
    row = get_delivery(uow, delivery_id, for_update=True)
    if check_transition(row.status, DeliveryStatus.ARRIVED, row.kind) is Move.ALREADY_THERE:
        return row
    if row.kind is DeliveryKind.INCIDENT:
        distance_m = check_arrival(arrival.position, row.destination(), tolerance_m)
    else:
        checked = check_proof_position(
            arrival.position, row.destination(), proof_tolerance_m or tolerance_m
        )
        distance_m = checked.distance_m
        row.far_from_address = row.far_from_address or checked.far_from_address
    now: datetime = uow.now()
    row.status, row.arrived_at = DeliveryStatus.ARRIVED, now
    row.arrival_lat, row.arrival_lon = arrival.position.lat, arrival.position.lon
    row.arrival_distance_m = distance_m
    _announce(
        uow,
        row,
        DeliveryArrived,
        now,
        position=arrival.position,
        distance_to_destination_m=distance_m,
    )
    return row


def _decode_signature(encoded: str) -> bytes:
    payload = encoded.split(",", 1)[1] if encoded.startswith("data:") else encoded
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Unprocessable("the signature is not valid base64", code="not_an_image") from exc


def complete(
    uow: UnitOfWork, delivery_id: UUID, completion: CompletionIn, *, policy: Policy | None = None
) -> DeliveryRow:
    """The goods are handed over (serah terima). A program parcel needs its proof: the
    receiver's relation, a GPS position (far from the address is kept but flagged), and a
    signature or an uploaded photo. Confirming again changes nothing; confirming a failed
    delivery is refused."""
    row = get_delivery(uow, delivery_id, for_update=True)
    if check_transition(row.status, DeliveryStatus.DELIVERED, row.kind) is Move.ALREADY_THERE:
        return row
    now: datetime = uow.now()
    if row.kind is not DeliveryKind.INCIDENT:
        if policy is None:
            raise RuntimeError("a program delivery is completed with the service's policy")
        _refuse_expired_goods(row, now.astimezone(policy.zone_for(row.office_id)).date())
        _record_proof(uow, row, completion, policy, now)
    elif completion.signature_png_base64 is not None and policy is not None:
        # Relief at a posko needs no proof beyond the receiver's name, but a signature
        # the receiver gave is kept with the BAST rather than dropped.
        _store_signature(uow, row, completion.signature_png_base64, policy, now)
    row.status, row.delivered_at = DeliveryStatus.DELIVERED, now
    row.received_by = completion.received_by
    row.received_relation = completion.relation
    _announce(uow, row, DeliveryCompleted, now, received_by=completion.received_by)
    if row.kind is DeliveryKind.SANDANG:
        _record_handover(uow, row, completion)
    _settle_round(uow, row)
    return row


def _refuse_expired_goods(row: DeliveryRow, today: date) -> None:
    """000: food is handed over "tidak cacat dan tidak kadaluwarsa": a parcel holding goods
    of a lot that has expired by the office's date is not handed over."""
    expired = expired_lots(row.lots or [], today)
    if expired:
        raise Unprocessable(
            "the parcel holds expired goods ("
            + ", ".join(f"{item} of lot {lot[:8]}, expired {day}" for item, lot, day in expired)
            + "); it cannot be handed over: record the delivery as failed and ask the "
            "warehouse for a replacement",
            code="goods_expired",
        )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _record_proof(
    uow: UnitOfWork, row: DeliveryRow, completion: CompletionIn, policy: Policy, now: datetime
) -> None:
    if completion.relation is None:
        raise Unprocessable(
            "say who received the parcel in relation to the recipient (e.g. self, spouse)",
            code="proof_relation_missing",
        )
    if completion.position is None:
        raise Unprocessable(
            "a proof of delivery needs the GPS position", code="proof_position_missing"
        )
    checked = check_proof_position(completion.position, row.destination(), policy.proof_tolerance_m)
    if completion.signature_png_base64 is not None:
        _store_signature(uow, row, completion.signature_png_base64, policy, now)
    if not (row.has_signature or row.has_photo):
        raise Unprocessable(
            "a proof of delivery needs the receiver's signature or a photo", code="proof_missing"
        )
    row.proof_lat, row.proof_lon = completion.position.lat, completion.position.lon
    row.proof_distance_m = checked.distance_m
    row.far_from_address = row.far_from_address or checked.far_from_address


def _store_signature(
    uow: UnitOfWork, row: DeliveryRow, encoded: str, policy: Policy, now: datetime
) -> None:
    info = check_image(_decode_signature(encoded), max_bytes=policy.max_image_bytes)
    _store_image(
        uow,
        row.id,
        purpose="signature",
        content_type=info.content_type,
        data=info.data,
        now=now,
        replacing=row.has_signature,
    )
    row.has_signature = True


def _store_image(
    uow: UnitOfWork,
    delivery_id: UUID,
    *,
    purpose: str,
    content_type: str,
    data: bytes,
    now: datetime,
    replacing: bool,
) -> None:
    existing = (
        uow.session.exec(
            select(ProofImageRow).where(
                ProofImageRow.delivery_id == delivery_id, ProofImageRow.purpose == purpose
            )
        ).first()
        if replacing
        else None
    )
    image = existing or ProofImageRow(
        delivery_id=delivery_id, purpose=purpose, content_type=content_type, data=data, taken_at=now
    )
    image.content_type, image.data, image.taken_at = content_type, data, now
    uow.session.add(image)


def upload_photo(uow: UnitOfWork, policy: Policy, delivery_id: UUID, data: bytes) -> DeliveryRow:
    """A photo of the handover, checked as a real image; a later one replaces it until
    the delivery is settled."""
    row = get_delivery(uow, delivery_id, for_update=True)
    if row.status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED):
        raise Conflict(f"the delivery is already {row.status.value}", code="delivery_settled")
    info = check_image(data, max_bytes=policy.max_image_bytes)
    _store_image(
        uow,
        row.id,
        purpose="photo",
        content_type=info.content_type,
        data=info.data,
        now=uow.now(),
        replacing=row.has_photo,
    )
    row.has_photo = True
    uow.session.add(row)
    return row


def proof_image(uow: UnitOfWork, delivery_id: UUID, purpose: str) -> ProofImageRow:
    """A stored photo or signature of a delivery of the caller's office, or 404."""
    # Through the delivery: a handover photo shows a recipient's face and home, and a
    # signature is theirs, so another office's ids answer as unknown.
    get_delivery(uow, delivery_id)
    image = uow.session.exec(
        select(ProofImageRow).where(
            ProofImageRow.delivery_id == delivery_id, ProofImageRow.purpose == purpose
        )
    ).first()
    if image is None:
        raise NotFound(f"no {purpose} for delivery {delivery_id}", code="image_not_found")
    return image


def fail(uow: UnitOfWork, delivery_id: UUID, failure: FailureIn) -> DeliveryRow:
    """The delivery cannot be completed; the reason is kept. A program parcel needs a
    structured reason, and moved, deceased or address-not-found flag the recipient for
    review in the registry."""
    row = get_delivery(uow, delivery_id, for_update=True)
    if check_transition(row.status, DeliveryStatus.FAILED, row.kind) is Move.ALREADY_THERE:
        return row
    if row.kind is not DeliveryKind.INCIDENT and failure.reason_code is None:
        raise Unprocessable(
            "a program parcel's failure needs reason_code: "
            + ", ".join(reason.value for reason in FailureReason),
            code="failure_reason_required",
        )
    words = failure.reason or (failure.reason_code.value if failure.reason_code else "")
    if failure.reason and failure.reason_code:
        words = f"{failure.reason_code.value}: {failure.reason}"
    now: datetime = uow.now()
    row.status, row.failed_at, row.failure_reason = DeliveryStatus.FAILED, now, words
    row.failure_code = failure.reason_code
    failed = _announce(uow, row, DeliveryFailed, now, reason=words.replace("_", " "))
    if row.recipient_id is not None and needs_review(failure.reason_code):
        assert failure.reason_code is not None
        recipient = get_recipient(uow, row.recipient_id)
        if recipient.review_reason is None:
            recipient.review_reason, recipient.flagged_at = failure.reason_code.value, now
            uow.session.add(recipient)
            uow.emit(
                RecipientFlaggedForReview.caused_by(
                    failed,
                    producer="distribution",
                    occurred_at=now,
                    recipient_id=recipient.id,
                    reason=failure.reason_code.value,
                )
            )
    return row


def reattempt(uow: UnitOfWork, delivery_id: UUID) -> DeliveryRow:
    """Send the goods of a failed delivery to the same recipient again, as a new delivery
    (the failed one stays failed). Asking again answers with the same re-attempt."""
    row = get_delivery(uow, delivery_id, for_update=True)
    if row.status is not DeliveryStatus.FAILED:
        raise Conflict(f"the delivery is {row.status.value}, not failed", code="not_failed")
    if check_reattempt(row.failure_code, row.resolution) is Move.ALREADY_THERE:
        return uow.session.exec(
            select(DeliveryRow).where(DeliveryRow.previous_attempt_id == row.id)
        ).one()
    now = uow.now()
    again = DeliveryRow(
        office_id=row.office_id,
        kind=row.kind,
        case_id=row.case_id,
        case_type=row.case_type,
        correlation_id=row.correlation_id,
        warehouse_code=row.warehouse_code,
        origin_lat=row.origin_lat,
        origin_lon=row.origin_lon,
        destination_lat=row.destination_lat,
        destination_lon=row.destination_lon,
        lines=list(row.lines),
        lots=list(row.lots) if row.lots is not None else None,
        recipient_id=row.recipient_id,
        attempt=row.attempt + 1,
        previous_attempt_id=row.id,
        goods_ready_at=row.goods_ready_at,
        created_at=now,
        last_event_id=row.last_event_id,
    )
    row.resolution, row.resolved_at = Resolution.REATTEMPTED, now
    uow.session.add(row)
    uow.session.add(again)
    return again


def return_goods(uow: UnitOfWork, delivery_id: UUID, body: ReturnIn) -> DeliveryRow:
    """The goods of a failed delivery go back to the warehouse they left: logistics books
    them in from `DeliveryReturned`. Returning again changes nothing."""
    row = get_delivery(uow, delivery_id, for_update=True)
    if row.status is not DeliveryStatus.FAILED:
        raise Conflict(f"the delivery is {row.status.value}, not failed", code="not_failed")
    if check_return(row.resolution) is Move.ALREADY_THERE:
        return row
    if row.warehouse_code is None:
        raise Conflict(
            "the goods never left the warehouse; nothing to return", code="goods_not_released"
        )
    now = uow.now()
    row.resolution, row.resolved_at = Resolution.RETURNED, now
    _announce(
        uow,
        row,
        DeliveryReturned,
        now,
        dispatch_id=row.dispatch_id,
        warehouse_code=row.warehouse_code,
        lines=tuple(_returned_lines(row)),
        condition=body.condition,
        reason=row.failure_reason or "failed delivery",
    )
    _settle_round(uow, row)
    return row


def _returned_lines(row: DeliveryRow) -> list[ReturnedLine]:
    if row.lots is not None:
        return [
            ReturnedLine(
                item_code=lot["item_code"],
                quantity=int(lot["quantity"]),
                lot_id=UUID(lot["lot_id"]) if lot["lot_id"] else None,
            )
            for lot in row.lots
        ]
    return [
        ReturnedLine(
            item_code=line["item_code"],
            quantity=int(line["quantity"]),
            lot_id=UUID(line["lot_id"]) if line.get("lot_id") else None,
        )
        for line in row.lines
    ]


# --- runs -----------------------------------------------------------------------------


def create_run(uow: UnitOfWork, body: RunIn, *, office_id: str) -> RunRow:
    """Group deliveries for one vehicle and team: visiting order by nearest neighbour and
    2-opt on geodesic distance, and each delivery assigned to the team."""
    check_in_indonesia(body.start, code="start_outside_indonesia")
    if len(set(body.delivery_ids)) != len(body.delivery_ids):
        raise Unprocessable("a delivery is listed twice", code="duplicate_delivery_in_run")
    rows = {
        row.id: row
        for row in uow.session.exec(
            select(DeliveryRow)
            .where(col(DeliveryRow.id).in_(body.delivery_ids), DeliveryRow.office_id == office_id)
            .with_for_update()
        ).all()
    }
    # Another office's parcel is unknown here: a run would show its recipient's name,
    # village and home, and send this office's team to it.
    missing = [str(i) for i in body.delivery_ids if i not in rows]
    if missing:
        raise NotFound(f"no delivery {', '.join(missing)}", code="delivery_not_found")
    for row in rows.values():
        if row.run_id is not None or row.status is not DeliveryStatus.CREATED:
            raise Conflict(
                f"delivery {row.id} is {row.status.value} and cannot join a new run",
                code="delivery_not_assignable",
            )
        _check_goods_ready(row)
    route = plan_route(
        body.start, [(row_id, rows[row_id].destination()) for row_id in body.delivery_ids]
    )
    run = RunRow(
        office_id=office_id,
        team=body.team,
        vehicle=body.vehicle,
        run_date=body.run_date,
        start_lat=body.start.lat,
        start_lon=body.start.lon,
        stops=[str(stop) for stop in route.order],
        legs_km=list(route.legs_km),
        total_km=route.total_km,
        created_at=uow.now(),
    )
    uow.session.add(run)
    now = uow.now()
    by_case: dict[UUID, list[DeliveryRow]] = {}
    # One flush for the whole run rather than one before each outbox row.
    with uow.session.no_autoflush:
        for position, stop in enumerate(route.order, start=1):
            row = rows[UUID(str(stop))]
            row.run_id, row.run_position = run.id, position
            if row.kind is DeliveryKind.INCIDENT:
                # notify follows each incident delivery: keep its per-delivery events.
                _assign(uow, row, body.team)
            else:
                row.status, row.team, row.assigned_at = DeliveryStatus.ASSIGNED, body.team, now
                by_case.setdefault(row.case_id, []).append(row)
        for case_rows in by_case.values():
            _announce_run(
                uow,
                case_rows,
                DeliveryRunPlanned,
                now,
                run_id=run.id,
                team=body.team,
                vehicle=body.vehicle,
                run_date=body.run_date,
                total_km=route.total_km,
            )
    return run


def _announce_run(
    uow: UnitOfWork, rows: list[DeliveryRow], event_type: type[E], now: datetime, **payload: Any
) -> E:
    """One event for a run's program deliveries of one case, continuing their chain."""
    first = rows[0]
    event = event_type.following(
        office_id=first.office_id,
        case_id=first.case_id,
        correlation_id=first.correlation_id,
        causation_id=first.last_event_id,
        producer="distribution",
        occurred_at=now,
        case_type=first.case_type,
        delivery_ids=tuple(row.id for row in rows),
        **payload,
    )
    for row in rows:
        row.last_event_id = event.event_id
        uow.session.add(row)
    uow.emit(event)
    return event


def get_run(uow: UnitOfWork, run_id: UUID) -> RunRow:
    """The run, or 404."""
    return _office_record(uow, RunRow, run_id, "run")


def run_stops(uow: UnitOfWork, run: RunRow) -> list[tuple[DeliveryRow, RecipientRow | None]]:
    """The run's deliveries in visiting order, with their recipients."""
    rows = uow.session.exec(
        select(DeliveryRow)
        .where(DeliveryRow.run_id == run.id)
        .order_by(col(DeliveryRow.run_position))
    ).all()
    ids = [row.recipient_id for row in rows if row.recipient_id is not None]
    people = {
        person.id: person
        for person in uow.session.exec(
            select(RecipientRow).where(col(RecipientRow.id).in_(ids))
        ).all()
    }
    return [(row, people.get(row.recipient_id) if row.recipient_id else None) for row in rows]


def depart_run(uow: UnitOfWork, run_id: UUID) -> RunRow:
    """The vehicle leaves: every assigned delivery of the run is in transit."""
    run = get_run(uow, run_id)
    if run.status is not RunStatus.PLANNED:
        return run
    now = uow.now()
    by_case: dict[UUID, list[DeliveryRow]] = {}
    with uow.session.no_autoflush:
        for row, _ in run_stops(uow, run):
            if row.status is not DeliveryStatus.ASSIGNED:
                continue
            if row.kind is DeliveryKind.INCIDENT:
                _depart(uow, row)
            else:
                row.status, row.departed_at = DeliveryStatus.IN_TRANSIT, now
                by_case.setdefault(row.case_id, []).append(row)
        for case_rows in by_case.values():
            _announce_run(uow, case_rows, DeliveryRunDeparted, now, run_id=run.id)
    run.status, run.departed_at = RunStatus.UNDERWAY, now
    uow.session.add(run)
    return run


def runs_for(uow: UnitOfWork, *, team: str | None, on: date) -> Sequence[RunRow]:
    """The runs of a day (of one team, if given)."""
    query = select(RunRow).where(RunRow.run_date == on).order_by(col(RunRow.created_at))
    if (scope := scoped_office()) is not None:
        query = query.where(RunRow.office_id == scope)
    if team is not None:
        query = query.where(RunRow.team == team)
    return uow.session.exec(query).all()


def _announce(
    uow: UnitOfWork, row: DeliveryRow, event_type: type[E], now: datetime, **payload: Any
) -> E:
    """Emit the event of the step just taken, caused by the delivery's previous event."""
    event = event_type.following(
        office_id=row.office_id,
        case_id=row.case_id,
        correlation_id=row.correlation_id,
        causation_id=row.last_event_id,
        producer="distribution",
        occurred_at=now,
        case_type=row.case_type,
        delivery_id=row.id,
        **payload,
    )
    row.last_event_id = event.event_id
    uow.session.add(row)
    uow.emit(event)
    return event


# --- the field team's steps under the phone's idempotency key --------------------------


def answered_step(
    uow: UnitOfWork, key: UUID, delivery_id: UUID, step: str
) -> dict[str, Any] | None:
    """The answer a step sent earlier under `key` got, or None for a new key. Called with
    the delivery locked, so a resend racing its original waits and then finds it."""
    receipt = uow.session.get(StepReceiptRow, key)
    if receipt is None:
        return None
    if (
        receipt.delivery_id != delivery_id
        or receipt.step != step
        or not visible_to_caller(receipt.office_id)
    ):
        # One key names one step: a phone never reuses it, so this is a bug or a guess,
        # and another office's answer is not shown.
        raise Unprocessable(
            "this idempotency key was already used for another step; make a new one per step",
            code="idempotency_key_reused",
        )
    return receipt.answer


def remember_step(
    uow: UnitOfWork,
    key: UUID,
    row: DeliveryRow,
    step: str,
    answer: dict[str, Any],
) -> None:
    """Keep the answer of a step taken under `key` for its resends."""
    uow.session.add(
        StepReceiptRow(
            key=key,
            office_id=row.office_id,
            delivery_id=row.id,
            step=step,
            answer=answer,
            received_at=uow.now(),
        )
    )


# --- incidents as the field team names them ------------------------------------------


def on_incident_reported(uow: UnitOfWork, event: AnyEvent) -> None:
    """Keep the hazard and the place of a reported incident, so the team's screen can say
    "Banjir · Sukarame, Tenggarong" instead of an id. A repeat changes nothing."""
    if not isinstance(event, IncidentReported):
        return
    if uow.session.get(IncidentPlaceRow, event.case_id) is not None:
        return
    address = event.address
    uow.session.add(
        IncidentPlaceRow(
            case_id=event.case_id,
            office_id=event.office_id,
            hazard=event.hazard.value,
            village=address.village if address else None,
            district=address.district if address else None,
            households_affected=event.households_affected,
            reported_at=event.occurred_at,
        )
    )


OPEN_FOR_THE_TEAM = (DeliveryStatus.ASSIGNED, DeliveryStatus.IN_TRANSIT, DeliveryStatus.ARRIVED)


def incident_work(
    uow: UnitOfWork, *, team: str, settled_since: datetime
) -> list[tuple[DeliveryRow, IncidentPlaceRow | None]]:
    """Relief deliveries assigned to `team` outside a run: the open ones, and those it
    settled since `settled_since` (so the day's handovers stay on its screen), in the
    order they were assigned, each with its incident's hazard and place if known."""
    query = (
        select(DeliveryRow, IncidentPlaceRow)
        .join(
            IncidentPlaceRow,
            col(IncidentPlaceRow.case_id) == col(DeliveryRow.case_id),
            isouter=True,
        )
        .where(
            DeliveryRow.kind == DeliveryKind.INCIDENT,
            DeliveryRow.team == team,
            col(DeliveryRow.run_id).is_(None),
        )
        .where(
            col(DeliveryRow.status).in_(OPEN_FOR_THE_TEAM)
            | (col(DeliveryRow.delivered_at) >= settled_since)
            | (col(DeliveryRow.failed_at) >= settled_since)
        )
        .order_by(col(DeliveryRow.assigned_at), col(DeliveryRow.id))
    )
    scope = scoped_office()
    if scope is not None:
        query = query.where(DeliveryRow.office_id == scope)
    return [(row, place) for row, place in uow.session.exec(query).all()]


def teams_at_work(uow: UnitOfWork, *, on: date) -> list[str]:
    """The teams with a run on `on` or relief open, for the screen's team chooser."""
    scope = scoped_office()
    runs = select(RunRow.team).where(RunRow.run_date == on)
    relief = select(DeliveryRow.team).where(
        col(DeliveryRow.team).is_not(None), col(DeliveryRow.status).in_(OPEN_FOR_THE_TEAM)
    )
    if scope is not None:
        runs = runs.where(RunRow.office_id == scope)
        relief = relief.where(DeliveryRow.office_id == scope)
    names = {*uow.session.exec(runs).all(), *uow.session.exec(relief).all()}
    return sorted(name for name in names if name)
