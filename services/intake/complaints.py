"""Complaints (pengaduan): what the public complains about through the channels each
decree publishes (SP4N-LAPOR, WhatsApp, Instagram, e-mail, telephone, in person, the
complaint box), recorded by office staff, handled, answered and closed; and the lookup
code with which the complainant follows it on a public page (004: "Pengadu mendapatkan
informasi tentang proses dan hasil penanganan pengaduannya").

The complainant's contact is personal data, kept like a reporter's phone (Fernet under
`INTAKE_DATA_KEY`, masked in every answer); the name is kept like a reporter's name.
Neither, nor the complaint's text, the answer or the lookup code, travels in events
(`shared/events_complaints.py`): notify sees channels and times only.

States: received → in_handling (the first handling note) → answered → closed. Only an
answered complaint can be closed; a closed one takes nothing more.
"""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints
from sqlalchemy import Column, ColumnElement, func
from sqlmodel import Field as SQLField
from sqlmodel import col, select

from services.intake import handlers
from services.intake.models import IntakeTable
from shared.columns import UTCDateTime
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events import CaseType, EventBase, ShortText
from shared.events_complaints import (
    ComplaintAnswered,
    ComplaintChannel,
    ComplaintClosed,
    ComplaintHandlingStarted,
    ComplaintReceived,
)
from shared.http import ApiModel
from shared.paging import Page, cursor_position, keyset
from shared.privacy import PersonalDataVault, mask_phone
from shared.records import record_for_caller
from shared.signin_state import SignInThrottle
from shared.text import FREE_TEXT
from shared.unit_of_work import UnitOfWork

# --- rules (pure) -----------------------------------------------------------------------


class ComplaintStatus(enum.StrEnum):
    """Where a complaint stands."""

    RECEIVED = "received"
    IN_HANDLING = "in_handling"
    ANSWERED = "answered"
    CLOSED = "closed"


OPEN_STATUSES = (ComplaintStatus.RECEIVED, ComplaintStatus.IN_HANDLING)

# Digits and capitals a person reads off paper or a phone and types back without doubt:
# no 0/O, 1/I/L, and no U (read as V). 30 symbols, 10 of them: 30^10 ≈ 5.9e14 codes
# (49 bits), so guessing one of even a million complaints takes ~10^8 tries on average,
# and the public page allows a client 10 wrong ones per 15 minutes.
LOOKUP_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
LOOKUP_LENGTH = 10
_TYPED_SEPARATORS = re.compile(r"[\s\-.]")


def new_lookup_code() -> str:
    """A fresh lookup code from a cryptographic source, e.g. 'K7QM2XR9TD'."""
    return "".join(secrets.choice(LOOKUP_ALPHABET) for _ in range(LOOKUP_LENGTH))


def normalised_lookup_code(typed: str) -> str | None:
    """The code as stored from what someone typed (any case, with spaces or dashes), or
    None when it cannot be a code at all."""
    code = _TYPED_SEPARATORS.sub("", typed).upper()
    if len(code) != LOOKUP_LENGTH or any(symbol not in LOOKUP_ALPHABET for symbol in code):
        return None
    return code


def shown_lookup_code(code: str) -> str:
    """The code as printed for the complainant: two groups of five, 'K7QM2-XR9TD'."""
    half = LOOKUP_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


def status_after_note(status: ComplaintStatus) -> ComplaintStatus:
    """A handling note takes a received complaint into handling; a closed one takes none."""
    if status is ComplaintStatus.CLOSED:
        raise Conflict("the complaint is closed: nothing more is added", code="complaint_closed")
    return ComplaintStatus.IN_HANDLING if status is ComplaintStatus.RECEIVED else status


def check_answerable(status: ComplaintStatus) -> None:
    """Only an open complaint is answered (once: the answer is what the complainant read)."""
    if status is ComplaintStatus.CLOSED:
        raise Conflict("the complaint is closed", code="complaint_closed")
    if status is ComplaintStatus.ANSWERED:
        raise Conflict("the complaint was answered already", code="complaint_already_answered")


def check_closable(status: ComplaintStatus) -> None:
    """Only an answered complaint is closed: the complainant must have had an answer."""
    if status is ComplaintStatus.CLOSED:
        raise Conflict("the complaint is closed already", code="complaint_closed")
    if status is not ComplaintStatus.ANSWERED:
        raise Conflict(
            "an unanswered complaint cannot be closed: answer it first",
            code="complaint_not_answered",
        )


# A complaint written down after it arrived (the complaint box is opened weekly, a
# WhatsApp message read the next morning) keeps its own arrival time, within limits.
CLOCK_DRIFT = timedelta(minutes=15)
OLDEST_RECEIVED = timedelta(days=30)


def check_received_at(received_at: datetime, now: datetime) -> None:
    """When the office received it: not in the future, not more than 30 days ago."""
    if received_at > now + CLOCK_DRIFT:
        raise Unprocessable("received_at lies in the future", code="received_in_future")
    if received_at < now - OLDEST_RECEIVED:
        raise Unprocessable(
            "received_at is more than 30 days ago: record it with the day it is written down",
            code="received_too_long_ago",
        )


_EMAIL = re.compile(r"^([^@\s]+)@([^@\s]+\.[^@\s]+)$")


def masked_contact(contact: str) -> str:
    """A contact as shown on screens and in answers: a phone as '0812******90', an e-mail
    as 'bu****@mail.com', a handle as '@li******'."""
    email = _EMAIL.match(contact)
    if email is not None:
        local = email.group(1)
        return f"{local[:2]}{'*' * max(1, len(local) - 2)}@{email.group(2)}"
    if contact.startswith("@"):
        return contact[:3] + "*" * max(1, len(contact) - 3)
    return mask_phone(contact)


# --- tables -------------------------------------------------------------------------------


class ComplaintRow(IntakeTable, table=True):
    """One complaint, its handling state and its answer."""

    __tablename__ = "complaint"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    office_id: str = SQLField(index=True, max_length=40)
    status: ComplaintStatus = SQLField(default=ComplaintStatus.RECEIVED, index=True, max_length=20)
    channel: str = SQLField(max_length=20)
    received_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False, index=True))
    recorded_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    recorded_by: str = SQLField(max_length=200)
    complainant_name: str = SQLField(max_length=200)
    # A Fernet token under INTAKE_DATA_KEY (as a reporter's phone), never in clear.
    complainant_contact: str | None = SQLField(default=None, max_length=600)
    about_incident_id: UUID | None = SQLField(default=None, index=True)
    about_reference: str | None = SQLField(default=None, max_length=200)
    text: str = SQLField(max_length=4000)
    # The lookup code: its keyed hash (vault fingerprint) to find it, and a Fernet token so
    # staff can read it out again to a complainant who lost it.
    lookup_digest: str = SQLField(max_length=64, unique=True)
    lookup_code: str = SQLField(max_length=200)
    handling_started_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
    answer: str | None = SQLField(default=None, max_length=4000)
    answered_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
    answered_by: str | None = SQLField(default=None, max_length=200)
    closed_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
    closed_by: str | None = SQLField(default=None, max_length=200)


class ComplaintNoteRow(IntakeTable, table=True):
    """A handling note: what someone in the office did or found, and when. Internal: never
    shown on the public page."""

    __tablename__ = "complaint_note"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    complaint_id: UUID = SQLField(index=True)
    written_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    written_by: str = SQLField(max_length=200)
    text: str = SQLField(max_length=4000)


# --- API shapes ---------------------------------------------------------------------------

ComplaintText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=4000), FREE_TEXT
]
Contact = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        max_length=200,
        pattern=r"^(\+?[0-9][0-9 -]{5,25}|[^@\s]+@[^@\s]+\.[^@\s]+|@[A-Za-z0-9._]{1,60})$",
    ),
]
Reference = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _./:-]{0,79}$")
]


class ComplainantIn(ApiModel):
    """Who complains: a name, and how to reach them (optional: in person, the box)."""

    name: ShortText
    contact: Contact | None = Field(
        default=None,
        description="A phone or WhatsApp number, an e-mail address or an @handle; kept "
        "encrypted in intake, shown masked, never sent on.",
    )


class ComplaintIn(ApiModel):
    """A complaint as office staff record it."""

    channel: ComplaintChannel
    received_at: AwareDatetime | None = Field(
        default=None,
        description="When the office received it (defaults to now); at most 30 days ago.",
    )
    complainant: ComplainantIn
    about_incident_id: UUID | None = Field(
        default=None, description="The incident it is about, of the caller's office."
    )
    about_reference: Reference | None = Field(
        default=None,
        description="A program delivery it is about: the reference the complainant gave "
        "(a delivery or round number); not checked, distribution owns deliveries.",
    )
    text: ComplaintText = Field(description="The complaint, as the complainant put it.")


class NoteIn(ApiModel):
    """A handling note."""

    text: ComplaintText


class AnswerIn(ApiModel):
    """The office's answer, shown to the complainant on the public page."""

    text: ComplaintText


class LookupIn(ApiModel):
    """A lookup code as the complainant typed it."""

    code: Annotated[str, StringConstraints(max_length=40)]


class NoteOut(BaseModel):
    """A handling note as staff see it."""

    id: UUID
    written_at: datetime
    written_by: str
    text: str


class ComplaintOut(BaseModel):
    """A complaint as office staff see it: the contact masked."""

    id: UUID
    office_id: str
    status: ComplaintStatus
    channel: ComplaintChannel
    received_at: datetime
    recorded_at: datetime
    recorded_by: str
    complainant_name: str
    complainant_contact: str | None = Field(description="Masked, e.g. 0812******90.")
    about_incident_id: UUID | None
    about_reference: str | None
    text: str
    lookup_code: str = Field(description="For the complainant's public lookup, 'K7QM2-XR9TD'.")
    handling_started_at: datetime | None
    answer: str | None
    answered_at: datetime | None
    answered_by: str | None
    closed_at: datetime | None
    closed_by: str | None
    notes: list[NoteOut]

    @classmethod
    def of(
        cls, row: ComplaintRow, notes: Sequence[ComplaintNoteRow], vault: PersonalDataVault
    ) -> ComplaintOut:
        """The staff's view of a row, its contact decrypted only to be masked."""
        contact = (
            masked_contact(vault.decrypt(row.complainant_contact))
            if row.complainant_contact
            else None
        )
        return cls.model_validate(
            row.model_dump(exclude={"complainant_contact", "lookup_code", "lookup_digest"})
            | {
                "complainant_contact": contact,
                "lookup_code": shown_lookup_code(vault.decrypt(row.lookup_code)),
                "notes": [NoteOut.model_validate(note.model_dump()) for note in notes],
            }
        )


class ComplaintLookupOut(BaseModel):
    """What the public page shows for a lookup code: the state, the dates and the
    answer. Nothing personal (no name, contact, text, staff names or notes)."""

    status: ComplaintStatus
    channel: ComplaintChannel
    received_at: datetime
    handling_started_at: datetime | None
    answered_at: datetime | None
    answer: str | None
    closed_at: datetime | None

    @classmethod
    def of(cls, row: ComplaintRow) -> ComplaintLookupOut:
        """The public view of a row."""
        return cls.model_validate(row.model_dump(include=set(cls.model_fields)))


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
