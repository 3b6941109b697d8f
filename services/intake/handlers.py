"""intake's use cases on an incident once it is filed (filing is `reports.py`): the report
rules the app is built with, follow-ups, photos, the coordinator's decision, reading
incidents. Each runs in one unit of work: the state change and the events it causes
commit together (the outbox), or neither does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID, uuid4

from sqlalchemy import ColumnElement, func
from sqlmodel import col, select

from services.intake.domain import (
    DuplicateRule,
    IncidentStatus,
    PhotoFacts,
    check_reporter_nik,
    destination_for_verification,
    ensure_open_for_decision,
    ensure_open_for_follow_up,
    nik_digest,
)
from services.intake.models import (
    FollowUpIn,
    IncidentRow,
    IncidentUpdateRow,
    PhotoRow,
    RejectionIn,
    VerificationIn,
)
from services.intake.privacy import reporter_vault, sealed_phone
from services.intake.settings import IntakeSettings
from shared.auth import visible_to_caller
from shared.contracts.envelope import NeedLine
from shared.contracts.intake import IncidentRejected, IncidentUpdated, IncidentVerified, Reporter
from shared.errors import NotFound, Unprocessable
from shared.paging import Page, cursor_position, keyset
from shared.privacy import PersonalDataVault
from shared.records import record_for_caller
from shared.regions import Regions, regions
from shared.unit_of_work import UnitOfWork

MAX_LINE_QUANTITY = 1_000_000


@dataclass(frozen=True)
class ReportPolicy:
    """The rules a report is held to, built once from the settings."""

    duplicate_rule: DuplicateRule
    nik_key: bytes
    hierarchy: Regions
    # Reporters' phone numbers are stored as Fernet tokens under INTAKE_DATA_KEY.
    vault: PersonalDataVault

    @classmethod
    def from_settings(cls, settings: IntakeSettings) -> ReportPolicy:
        """The policy the settings describe (loads the region data on first use)."""
        return cls(
            duplicate_rule=DuplicateRule(
                radius_m=settings.duplicate_radius_m,
                window=timedelta(hours=settings.duplicate_window_h),
            ),
            nik_key=settings.nik_hash_key.get_secret_value().encode(),
            hierarchy=regions(),
            vault=reporter_vault(settings),
        )


def follow_up(
    uow: UnitOfWork, incident_id: UUID, update: FollowUpIn, policy: ReportPolicy
) -> tuple[IncidentUpdateRow, bool]:
    """Apply a follow-up to an open incident and announce it; a resend returns the first
    (False). Counts are new totals; added needs come on top of those stated."""
    incident = get_incident(uow, incident_id, for_update=True)
    if update.client_update_id is not None:
        existing = uow.session.exec(
            select(IncidentUpdateRow).where(
                IncidentUpdateRow.incident_id == incident_id,
                IncidentUpdateRow.client_update_id == update.client_update_id,
            )
        ).first()
        if existing is not None:
            return existing, False
    ensure_open_for_follow_up(incident.status)
    if (
        update.households_affected is None
        and update.people_affected is None
        and not update.added_needs
        and not update.note
    ):
        raise Unprocessable(
            "a follow-up must change a count, add needs or say something",
            code="empty_update",
        )
    if update.reporter.nik is not None:
        check_reporter_nik(update.reporter.nik)
    added = merge_lines(update.added_needs) if update.added_needs else ()
    now = uow.now()
    row = IncidentUpdateRow(
        id=uuid4(),
        incident_id=incident.id,
        client_update_id=update.client_update_id,
        received_at=now,
        reporter_name=update.reporter.name,
        reporter_role=update.reporter.role,
        reporter_phone=sealed_phone(policy.vault, update.reporter.phone),
        reporter_nik_hash=(
            nik_digest(update.reporter.nik, policy.nik_key)
            if update.reporter.nik is not None
            else None
        ),
        households_affected=update.households_affected,
        people_affected=update.people_affected,
        added_needs=list(added),
        note=update.note,
    )
    uow.session.add(row)
    if update.households_affected is not None:
        incident.households_affected = update.households_affected
    if update.people_affected is not None:
        incident.people_affected = update.people_affected
    if added:
        incident.stated_needs = list(merge_lines([*incident.stated_needs, *added]))
    uow.session.add(incident)
    uow.announce(
        IncidentUpdated,
        office_id=incident.office_id,
        case_id=incident.id,
        update_id=row.id,
        reporter=Reporter(name=update.reporter.name, role=update.reporter.role),
        households_affected=update.households_affected,
        people_affected=update.people_affected,
        added_needs=added,
        note=update.note,
    )
    return row, True


def incident_updates(uow: UnitOfWork, incident_id: UUID) -> Sequence[IncidentUpdateRow]:
    """Follow-ups of the incident, oldest first."""
    return _attached(uow, IncidentUpdateRow, incident_id, col(IncidentUpdateRow.received_at))


def add_photo(
    uow: UnitOfWork, incident_id: UUID, facts: PhotoFacts, photo_dir: Path
) -> tuple[PhotoRow, bool]:
    """Keep a checked photo of the incident, as cleaned (no metadata); the same picture
    again returns the first (False).

    The file is written before the row commits and is named by its hash, so a retried or
    failed transaction leaves at most an identical file, never a row without its file.
    """
    incident = get_incident(uow, incident_id)
    existing = uow.session.exec(
        select(PhotoRow).where(PhotoRow.incident_id == incident.id, PhotoRow.sha256 == facts.sha256)
    ).first()
    if existing is not None:
        return existing, False
    row = PhotoRow(
        id=uuid4(),
        incident_id=incident.id,
        sha256=facts.sha256,
        media_type=facts.media_type,
        extension=facts.extension,
        width=facts.width,
        height=facts.height,
        size_bytes=facts.size_bytes,
        uploaded_at=uow.now(),
    )
    keep_file(photo_dir / str(incident.id) / row.file_name, facts.data)
    uow.session.add(row)
    return row, True


def keep_file(target: Path, data: bytes) -> None:
    """Write `data` to `target` (named by its hash, so an existing file is the same
    bytes) through a partial file, so a crash never leaves half a file under the name."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        partial = target.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(target)


def incident_photos(uow: UnitOfWork, incident_id: UUID) -> Sequence[PhotoRow]:
    """Photos of the incident, oldest first."""
    return _attached(uow, PhotoRow, incident_id, col(PhotoRow.uploaded_at))


Attachment = TypeVar("Attachment", IncidentUpdateRow, PhotoRow)


def _attached(
    uow: UnitOfWork, model: type[Attachment], incident_id: UUID, oldest_first: Any
) -> Sequence[Attachment]:
    """What was attached to a known incident (404 otherwise), in `oldest_first` order."""
    get_incident(uow, incident_id)
    query = select(model).where(col(model.incident_id) == incident_id).order_by(oldest_first)
    return uow.session.exec(query).all()


def get_photo(uow: UnitOfWork, photo_id: UUID) -> PhotoRow:
    """A photo's row, or 404 (also when its incident is another office's)."""
    row = uow.session.get(PhotoRow, photo_id)
    incident = uow.session.get(IncidentRow, row.incident_id) if row is not None else None
    if row is None or incident is None or not visible_to_caller(incident.office_id):
        raise NotFound(f"no photo {photo_id}", code="photo_not_found")
    return row


def get_incident(uow: UnitOfWork, incident_id: UUID, *, for_update: bool = False) -> IncidentRow:
    """The incident, or 404 (also for another office's: its id reveals nothing)."""
    return record_for_caller(
        uow,
        IncidentRow,
        incident_id,
        what="incident",
        code="incident_not_found",
        for_update=for_update,
    )


def verify_incident(uow: UnitOfWork, incident_id: UUID, decision: VerificationIn) -> IncidentRow:
    """Validate a report with the needs to send; logistics takes it from here."""
    row = get_incident(uow, incident_id, for_update=True)
    ensure_open_for_decision(row.status)
    needs = decision.assessed_needs
    if not needs:
        raise Unprocessable(
            "give assessed_needs: the request names none and no rapid assessment of this "
            "incident lists any",
            code="assessed_needs_missing",
        )
    destination, corrected = destination_for_verification(row.location(), decision.location)
    now = uow.now()
    row.status = IncidentStatus.VERIFIED
    row.lat, row.lon = destination.lat, destination.lon
    if corrected is not None:
        row.location_source = corrected
    row.assessed_needs = list(needs)
    row.decided_by, row.decided_at = decision.verified_by, now
    uow.session.add(row)
    uow.announce(
        IncidentVerified,
        office_id=row.office_id,
        case_id=row.id,
        reported_at=row.reported_at,
        destination=destination,
        assessed_needs=merge_lines(needs),
        verified_by=decision.verified_by,
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
    uow.announce(
        IncidentRejected,
        office_id=row.office_id,
        case_id=row.id,
        reason=decision.reason,
        rejected_by=decision.rejected_by,
    )
    return row


def list_incidents(
    uow: UnitOfWork,
    *,
    status: IncidentStatus | None,
    office_id: str | None,
    after: str | None,
    limit: int,
) -> Page[IncidentRow]:
    """Newest reports first, a page of `limit` after the cursor `after`, with how many
    match (a count on the indexed office and status)."""
    position = cursor_position(after, (datetime, UUID))
    conditions: list[ColumnElement[bool]] = []
    if status is not None:
        conditions.append(col(IncidentRow.status) == status)
    if office_id is not None:
        conditions.append(col(IncidentRow.office_id) == office_id)
    query = keyset(
        select(IncidentRow).where(*conditions),
        (col(IncidentRow.reported_at), col(IncidentRow.id)),
        newest_first=True,
        after=position,
    )
    rows = uow.session.exec(query.limit(limit + 1)).all()
    total = uow.session.exec(select(func.count()).select_from(IncidentRow).where(*conditions)).one()
    return Page.of(rows, limit, lambda row: (row.reported_at, row.id), total=int(total))


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
