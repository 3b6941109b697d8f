"""intake's contracts beyond the first report: follow-ups and duplicates of an incident,
and the records an audited office keeps on it (documents, the leadership's disposition,
the emergency-status decision).

Published on intake's topic, keyed by the incident (`case_id`). None carries the
reporter's phone or NIK: those stay in intake.
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Literal, Self
from uuid import UUID

from pydantic import AwareDatetime, Field, model_validator

from shared.events import EventBase, LongText, NeedLine, Reporter, ShortText


class IncidentUpdated(EventBase):
    """A follow-up report (laporan susulan) on an open incident: new counts and/or extra
    needs.

    Counts are the new totals (not deltas); `added_needs` come on top of what was stated
    or assessed so far. After verification, logistics may allocate the added needs.
    """

    event_type: Literal["IncidentUpdated"] = "IncidentUpdated"
    update_id: UUID = Field(description="The follow-up report's id.")
    reporter: Reporter = Field(description="Who sent the follow-up.")
    households_affected: int | None = Field(
        default=None, ge=0, le=10_000_000, description="New total of households; None: unchanged."
    )
    people_affected: int | None = Field(
        default=None, ge=0, le=100_000_000, description="New total of people; None: unchanged."
    )
    added_needs: tuple[NeedLine, ...] = Field(
        default=(), description="Needs on top of those known, one line per item."
    )
    note: LongText = Field(default="", description="Free text from the reporter.")


class ReportLinkedToIncident(EventBase):
    """A new report of the same hazard close in space and time was linked to the open
    incident `case_id` instead of opening a new one."""

    event_type: Literal["ReportLinkedToIncident"] = "ReportLinkedToIncident"
    report_id: UUID = Field(description="The duplicate report's own id.")
    reporter: Reporter = Field(description="Who sent the duplicate report.")
    distance_m: float = Field(
        ge=0, description="From the incident's location (0: same village, no coordinates)."
    )
    minutes_apart: float = Field(ge=0, description="Between the two reported times.")


# --- the case's records (issue 15 items 9 and 12) ---------------------------------------


class DocumentKind(enum.StrEnum):
    """The documents the decrees ask of a disaster case."""

    # 000: "Surat Permohonan Bantuan Korban Bencana Alam dan Sosial dari Desa, Kelurahan
    # atau Kecamatan kepada Dinas Sosial".
    REQUEST_LETTER = "request_letter"
    # 003: "Surat pengantar/ laporan dari Kepala Desa/Lurah dan camat"; 001: "surat
    # laporan dari RT/Lurah/Camat".
    COVERING_LETTER = "covering_letter"
    # 003: "Hasil Survei lokasi oleh petugas".
    SITE_SURVEY = "site_survey"
    # 001: "Pendataan Tim Tagana".
    TAGANA_DATA = "tagana_data"
    OTHER = "other"


class IncidentDocumentAttached(EventBase):
    """A document of the case (a letter, a survey) was attached to incident `case_id`.
    The file stays in intake (`GET /documents/{document_id}`); the event says what it is,
    so notify can show it and an evaluation can count cases missing one."""

    event_type: Literal["IncidentDocumentAttached"] = "IncidentDocumentAttached"
    document_id: UUID = Field(description="The stored document's id in intake.")
    kind: DocumentKind
    title: ShortText = Field(description="As the uploader named it, e.g. the letter's number.")
    media_type: Literal["application/pdf", "image/jpeg", "image/png"]
    size_bytes: int = Field(ge=1, description="Of the stored file.")
    uploaded_by: ShortText = Field(description="The signed-in user who attached it.")


class DispositionRecorded(EventBase):
    """The leadership's disposition on the report (000: "Disposisi pimpinan dan validasi
    informasi": the Kepala Dinas instructs Linjamsos to validate it and prepare the
    logistics), recorded before validation."""

    event_type: Literal["DispositionRecorded"] = "DispositionRecorded"
    disposition_id: UUID
    given_by: ShortText = Field(description="Who gave it, e.g. the Kepala Dinas's name.")
    position: ShortText = Field(description="Their position (jabatan).")
    instruction: LongText = Field(description="The instruction as written.")
    given_at: AwareDatetime = Field(description="When it was given (may precede its recording).")
    recorded_by: ShortText = Field(description="The signed-in user who recorded it.")


class EmergencyPhase(enum.StrEnum):
    """The emergency statuses of Indonesian disaster management (UU 24/2007)."""

    ALERT = "alert"  # siaga darurat
    RESPONSE = "response"  # tanggap darurat
    TRANSITION = "transition"  # transisi darurat ke pemulihan


class EmergencyLevel(enum.StrEnum):
    """The government that declared it."""

    REGENCY = "regency"  # kabupaten/kota
    PROVINCE = "province"
    NATIONAL = "national"


class EmergencyStatusDeclared(EventBase):
    """An emergency status was declared for the incident's area (004: "Penetapan status
    keadaan darurat bencana"), from one day to another, by a decree. A later declaration
    (an extension, the next phase) is another event."""

    event_type: Literal["EmergencyStatusDeclared"] = "EmergencyStatusDeclared"
    declaration_id: UUID
    phase: EmergencyPhase
    level: EmergencyLevel
    declared_by: ShortText = Field(description="Who declared it, e.g. 'Bupati Balangan'.")
    decree_number: ShortText = Field(description="Nomor surat keputusan.")
    starts_on: date = Field(description="First day of the status.")
    ends_on: date = Field(description="Last day of the status, not before `starts_on`.")
    recorded_by: ShortText = Field(description="The signed-in user who recorded it.")

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> Self:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self
