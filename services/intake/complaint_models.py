"""Complaints as intake keeps them (tables: the complaint and its handling notes) and as
its API takes and shows them (services/intake/complaints.py holds the use cases)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints
from sqlalchemy import Column
from sqlmodel import Field as SQLField

from services.intake.complaint_rules import (
    ComplaintStatus,
    masked_contact,
    shown_lookup_code,
)
from services.intake.models import IntakeTable
from shared.columns import UTCDateTime
from shared.contracts.envelope import ShortText
from shared.contracts.intake import ComplaintChannel
from shared.http import ApiModel
from shared.privacy import PersonalDataVault
from shared.text import FREE_TEXT

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
