"""Complaints (pengaduan): what the public complains about through the channels each
decree publishes (SP4N-LAPOR, WhatsApp, Instagram, e-mail, telephone, in person, the
complaint box), recorded by office staff, handled, answered and closed; and the lookup
code with which the complainant follows it on a public page (004: "Pengadu mendapatkan
informasi tentang proses dan hasil penanganan pengaduannya").

The complainant's contact is personal data, kept like a reporter's phone (Fernet under
`INTAKE_DATA_KEY`, masked in every answer); the name is kept like a reporter's name.
Neither, nor the complaint's text, the answer or the lookup code, travels in events
(`shared/contracts/intake.py`): notify sees channels and times only.

States: received → in_handling (the first handling note) → answered → closed. Only an
answered complaint can be closed; a closed one takes nothing more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import ColumnElement, func
from sqlmodel import col, select

from services.intake import handlers
from services.intake.complaint_models import (
    AnswerIn,
    ComplaintIn,
    ComplaintNoteRow,
    ComplaintRow,
    NoteIn,
)
from services.intake.complaint_rules import (
    OPEN_STATUSES,
    ComplaintStatus,
    check_answerable,
    check_closable,
    check_received_at,
    new_lookup_code,
    normalised_lookup_code,
    status_after_note,
)
from shared.contracts.envelope import CaseType, EventBase
from shared.contracts.intake import (
    ComplaintAnswered,
    ComplaintClosed,
    ComplaintHandlingStarted,
    ComplaintReceived,
)
from shared.errors import NotFound, Unprocessable
from shared.paging import Page, cursor_position, keyset
from shared.privacy import PersonalDataVault
from shared.records import record_for_caller
from shared.signin_state import SignInThrottle
from shared.unit_of_work import UnitOfWork

# --- use cases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """A complaint just recorded, and its lookup code (in clear, to hand over)."""

    row: ComplaintRow
    code: str


def _announce(
    uow: UnitOfWork,
    kind: type[EventBase],
    row: ComplaintRow,
    *,
    occurred_at: datetime | None = None,
    **payload: Any,
) -> None:
    """Announce a step of the complaint: a person's action on it starts each chain."""
    uow.announce(
        kind,
        office_id=row.office_id,
        case_id=row.id,
        occurred_at=occurred_at,
        case_type=CaseType.COMPLAINT,
        **payload,
    )


def record_complaint(
    uow: UnitOfWork, body: ComplaintIn, office_id: str, actor: str, vault: PersonalDataVault
) -> Recorded:
    """Keep a complaint with a fresh lookup code; `ComplaintReceived` starts its clock in
    notify at the time the office received it."""
    now = uow.now()
    received_at = body.received_at or now
    check_received_at(received_at, now)
    if body.about_incident_id is not None:
        try:
            handlers.get_incident(uow, body.about_incident_id)
        except NotFound as exc:
            raise Unprocessable(
                f"no incident {body.about_incident_id} in your office",
                code="unknown_incident",
            ) from exc
    code = new_lookup_code()
    row = ComplaintRow(
        id=uuid4(),
        office_id=office_id,
        status=ComplaintStatus.RECEIVED,
        channel=body.channel,
        received_at=received_at,
        recorded_at=now,
        recorded_by=actor,
        complainant_name=body.complainant.name,
        complainant_contact=(
            vault.encrypt(body.complainant.contact) if body.complainant.contact else None
        ),
        about_incident_id=body.about_incident_id,
        about_reference=body.about_reference,
        text=body.text,
        lookup_digest=vault.fingerprint(code),
        lookup_code=vault.encrypt(code),
    )
    uow.session.add(row)
    _announce(
        uow,
        ComplaintReceived,
        row,
        occurred_at=received_at,
        channel=body.channel,
        about_incident_id=body.about_incident_id,
        about_reference=body.about_reference,
        recorded_by=actor,
    )
    return Recorded(row, code)


def get_complaint(uow: UnitOfWork, complaint_id: UUID, *, for_update: bool = False) -> ComplaintRow:
    """The complaint, or 404 (also another office's: its id reveals nothing)."""
    return record_for_caller(
        uow,
        ComplaintRow,
        complaint_id,
        what="complaint",
        code="complaint_not_found",
        for_update=for_update,
    )


def notes_of(uow: UnitOfWork, complaint_id: UUID) -> Sequence[ComplaintNoteRow]:
    """A complaint's handling notes, oldest first."""
    return uow.session.exec(
        select(ComplaintNoteRow)
        .where(ComplaintNoteRow.complaint_id == complaint_id)
        .order_by(col(ComplaintNoteRow.written_at))
    ).all()


def notes_by_complaint(
    uow: UnitOfWork, complaint_ids: Sequence[UUID]
) -> dict[UUID, list[ComplaintNoteRow]]:
    """The handling notes of several complaints in one query, oldest first each."""
    found: dict[UUID, list[ComplaintNoteRow]] = {complaint_id: [] for complaint_id in complaint_ids}
    if not complaint_ids:
        return found
    for note in uow.session.exec(
        select(ComplaintNoteRow)
        .where(col(ComplaintNoteRow.complaint_id).in_(list(complaint_ids)))
        .order_by(col(ComplaintNoteRow.written_at))
    ).all():
        found[note.complaint_id].append(note)
    return found


def add_note(uow: UnitOfWork, complaint_id: UUID, body: NoteIn, actor: str) -> ComplaintRow:
    """A handling note; the first takes the complaint into handling
    (`ComplaintHandlingStarted`)."""
    row = get_complaint(uow, complaint_id, for_update=True)
    now = uow.now()
    status = ComplaintStatus(row.status)
    after = status_after_note(status)
    uow.session.add(
        ComplaintNoteRow(
            id=uuid4(), complaint_id=row.id, written_at=now, written_by=actor, text=body.text
        )
    )
    # The note's words stay out of the audit entry: they may quote the complainant.
    uow.audit(
        action="ComplaintNoteAdded",
        entity=CaseType.COMPLAINT.value,
        entity_id=str(row.id),
        office_id=row.office_id,
    )
    if after is not status:
        row.status = after
        row.handling_started_at = now
        _announce(uow, ComplaintHandlingStarted, row, handled_by=actor)
    uow.session.add(row)
    return row


def answer_complaint(
    uow: UnitOfWork, complaint_id: UUID, body: AnswerIn, actor: str
) -> ComplaintRow:
    """The office's answer: shown on the public page, and it stops the answer's clock."""
    row = get_complaint(uow, complaint_id, for_update=True)
    check_answerable(ComplaintStatus(row.status))
    now = uow.now()
    row.status = ComplaintStatus.ANSWERED
    row.answer, row.answered_at, row.answered_by = body.text, now, actor
    uow.session.add(row)
    _announce(uow, ComplaintAnswered, row, answered_by=actor)
    return row


def close_complaint(uow: UnitOfWork, complaint_id: UUID, actor: str) -> ComplaintRow:
    """Close an answered complaint."""
    row = get_complaint(uow, complaint_id, for_update=True)
    check_closable(ComplaintStatus(row.status))
    now = uow.now()
    row.status = ComplaintStatus.CLOSED
    row.closed_at, row.closed_by = now, actor
    uow.session.add(row)
    _announce(uow, ComplaintClosed, row, closed_by=actor)
    return row


def list_complaints(
    uow: UnitOfWork,
    *,
    office_id: str | None,
    statuses: Sequence[ComplaintStatus],
    after: str | None,
    limit: int,
) -> Page[ComplaintRow]:
    """Complaints in `statuses`, a page of `limit` after the cursor `after`: open ones
    oldest first (the first to run out of time), answered and closed ones newest first;
    with how many match (a count on the indexed office and status)."""
    position = cursor_position(after, (datetime, UUID))
    conditions: list[ColumnElement[bool]] = [col(ComplaintRow.status).in_(list(statuses))]
    if office_id is not None:
        conditions.append(col(ComplaintRow.office_id) == office_id)
    query = keyset(
        select(ComplaintRow).where(*conditions),
        (col(ComplaintRow.received_at), col(ComplaintRow.id)),
        newest_first=not all(status in OPEN_STATUSES for status in statuses),
        after=position,
    )
    rows = uow.session.exec(query.limit(limit + 1)).all()
    total = uow.session.exec(
        select(func.count()).select_from(ComplaintRow).where(*conditions)
    ).one()
    return Page.of(rows, limit, lambda row: (row.received_at, row.id), total=int(total))


def find_by_code(uow: UnitOfWork, code: str, vault: PersonalDataVault) -> ComplaintRow | None:
    """The complaint a well-formed lookup code opens, whatever office the caller is of
    (the code is the complainant's credential); hashes under older keys are tried too."""
    return uow.session.exec(
        select(ComplaintRow).where(col(ComplaintRow.lookup_digest).in_(vault.fingerprints(code)))
    ).first()


# --- guessing the public lookup -------------------------------------------------------------

LOOKUP_FAILURES_ALLOWED = 10
LOOKUP_WINDOW = timedelta(minutes=15)
LOOKUP_LOCKOUT = timedelta(minutes=15)


class LookupGuard:
    """Counts wrong lookup codes per client address (the sign-in's throttle): 10 within
    15 minutes lock that address out of the lookup for 15 minutes. In memory, per
    process, like the sign-in's counters (docs/architecture.md, "Sign-in")."""

    def __init__(self) -> None:
        self._throttle = SignInThrottle(
            max_user_failures=LOOKUP_FAILURES_ALLOWED,
            max_address_failures=LOOKUP_FAILURES_ALLOWED,
            window=LOOKUP_WINDOW,
            lockout=LOOKUP_LOCKOUT,
        )

    def retry_after(self, address: str, now: datetime) -> int | None:
        """Seconds until `address` may look up again; None: now."""
        return self._throttle.retry_after(key=f"lookup:{address}", address=address, now=now)

    def failed(self, address: str, now: datetime) -> None:
        """A code that opened nothing."""
        self._throttle.failed(key=f"lookup:{address}", address=address, now=now)


class LookupLocked(Exception):
    """Too many wrong codes from one address: answered 429 with Retry-After."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many wrong lookup codes; try again in {retry_after} seconds")
        self.retry_after = retry_after


def look_up(
    uow: UnitOfWork, typed: str, *, vault: PersonalDataVault, guard: LookupGuard, address: str
) -> ComplaintRow:
    """The complaint a typed code opens, under the guard: a malformed or unknown code is
    404 `complaint_not_found` alike (nothing tells which codes exist) and counts against
    the address; a locked address is refused before the code is looked at."""
    now = uow.now()
    wait = guard.retry_after(address, now)
    if wait is not None:
        raise LookupLocked(wait)
    code = normalised_lookup_code(typed)
    row = find_by_code(uow, code, vault) if code is not None else None
    if row is None:
        guard.failed(address, now)
        raise NotFound("no complaint has this lookup code", code="complaint_not_found")
    return row
