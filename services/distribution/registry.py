"""The recipient registry, one recipient at a time: registering a person or institution
(position, address and NIK checked; personal numbers stored only encrypted), a data
subject's correction and export (UU PDP), the API view with numbers masked, lookups and
the home visit's verification. The list's use cases (spreadsheet import, eligibility,
the office's decision, search) are in `recipients.py`."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from uuid import UUID

from sqlalchemy import and_, func, or_, true
from sqlmodel import col, select

from services.distribution.common import Policy
from services.distribution.domain import check_in_indonesia
from services.distribution.eligibility_rules import (
    checked_eligibility,
    eligibility_columns,
    mask_register_id,
)
from services.distribution.listing import page_of
from services.distribution.models.deliveries import DeliveryRow
from services.distribution.models.permakanan import EnrolmentRow
from services.distribution.models.registry import (
    AddressIn,
    CorrectionIn,
    RecipientIn,
    RecipientKind,
    RecipientOut,
    RecipientRow,
)
from services.distribution.privacy import PersonalDataVault
from shared.auth import scoped_office, visible_to_caller
from shared.errors import Conflict, Unprocessable
from shared.paging import Page
from shared.privacy import mask_number, mask_phone
from shared.records import record_for_caller
from shared.regions import (
    AddressProblem,
    InvalidNik,
    Region,
    check_nik,
    postal_code_well_formed,
    regions,
)
from shared.unit_of_work import UnitOfWork


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
        .order_by(DeliveryRow.created_at)  # type: ignore[arg-type]  # a SQLModel column, typed as its Python value
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


def get_recipient(uow: UnitOfWork, recipient_id: UUID) -> RecipientRow:
    """The recipient, or 404."""
    return record_for_caller(
        uow, RecipientRow, recipient_id, what="recipient", code="recipient_not_found"
    )


def list_recipients(
    uow: UnitOfWork,
    vault: PersonalDataVault,
    *,
    query: str = "",
    kind: RecipientKind | None = None,
    flagged: bool | None = None,
    after: str | None = None,
    limit: int,
    count: bool = False,
) -> Page[RecipientRow]:
    """A page of the caller's office's recipients by name, found by a part of their
    name, village or district, or exactly by a 16-digit NIK (through its keyed hash: the
    NIK is never searched in clear); `flagged` lists those up for review. `count` adds
    how many match (the office's rows: its index keeps it cheap)."""
    condition = _search_condition(vault, query.strip())
    if (scope := scoped_office()) is not None:
        condition = and_(condition, col(RecipientRow.office_id) == scope)
    if kind is not None:
        condition = and_(condition, col(RecipientRow.kind) == kind)
    if flagged is not None:
        reviewed = col(RecipientRow.review_reason)
        condition = and_(condition, reviewed.is_not(None) if flagged else reviewed.is_(None))
    total = (
        uow.session.exec(select(func.count()).select_from(RecipientRow).where(condition)).one()
        if count
        else None
    )
    return page_of(
        uow.session,
        select(RecipientRow).where(condition),
        (col(RecipientRow.name), col(RecipientRow.id)),
        types=(str, UUID),
        after=after,
        limit=limit,
        total=total,
    )


def is_whole_nik(query: str) -> bool:
    """Whether a search is a person's whole NIK (looked up by its keyed hash)."""
    return re.fullmatch(r"\d{16}", query.strip()) is not None


def _search_condition(vault: PersonalDataVault, wanted: str) -> Any:
    if is_whole_nik(wanted):
        return col(RecipientRow.nik_hash).in_(vault.fingerprints(wanted))
    if not wanted:
        return true()
    # What was typed is searched as typed: its % and _ are not wildcards.
    literal = wanted.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{literal}%"
    return or_(
        func.lower(RecipientRow.name).like(pattern, escape="\\"),
        func.lower(RecipientRow.village).like(pattern, escape="\\"),
        func.lower(RecipientRow.district).like(pattern, escape="\\"),
    )


def verify_recipient(uow: UnitOfWork, recipient_id: UUID) -> RecipientRow:
    """A social worker checked the recipient at home; a review flag is cleared."""
    row = get_recipient(uow, recipient_id)
    row.verified, row.review_reason, row.flagged_at = True, None, None
    uow.session.add(row)
    return row
