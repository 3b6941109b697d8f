"""intake's events: a disaster report and its life (verified, rejected, followed up,
linked to a duplicate), the records an audited office keeps on the case (documents, the
leadership's disposition, the emergency-status decision, Tagana's rapid assessment) and
complaints (pengaduan). Published on intake's topic, keyed by the case (`case_id`).

No personal data travels here: not a reporter's phone or NIK, not a complainant's name,
contact or text, not a complaint's answer or lookup code (a bearer secret of the public
page). They stay in intake; other services see what happened, when, and who on the staff
acted.

Indonesian words kept as they are: Tagana (trained disaster volunteers who report from the
field), Lurah / Kepala Desa / Camat (village / district heads), RT (neighbourhood unit).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal, Self
from uuid import UUID

from pydantic import AwareDatetime, Field, model_validator

from shared.contracts.envelope import (
    Address,
    CaseType,
    Contract,
    EventBase,
    GeoPoint,
    HazardType,
    LongText,
    NeedLine,
    ShortText,
)


class ReporterRole(enum.StrEnum):
    """Who may report an incident (000, 001: RT, Lurah, Camat, Desa, Tagana)."""

    TAGANA = "tagana"
    RT = "rt"
    LURAH = "lurah"
    KEPALA_DESA = "kepala_desa"
    CAMAT = "camat"
    PUBLIC = "public"


class Reporter(Contract):
    """The person who reported; no contact data travels in events."""

    name: ShortText = Field(description="Reporter's name as given.")
    role: ReporterRole = Field(description="Reporter's role in the field.")


class IncidentReported(EventBase):
    """A disaster report was received; the response clock starts at `occurred_at`."""

    event_type: Literal["IncidentReported"] = "IncidentReported"
    schema_version: Literal[1] = 1
    hazard: HazardType
    happened_at: AwareDatetime = Field(description="When the disaster happened, as reported.")
    reporter: Reporter
    location: GeoPoint | None = Field(
        description="Where it happened; None while an address could not be geocoded."
    )
    address: Address | None = Field(default=None, description="Address as reported.")
    households_affected: int = Field(ge=0, le=10_000_000)
    people_affected: int = Field(ge=0, le=100_000_000)
    stated_needs: tuple[NeedLine, ...] = Field(description="Needs as the reporter stated them.")
    description: LongText = Field(default="", description="Free text from the reporter.")


class IncidentVerified(EventBase):
    """A coordinator validated the report and set the needs to send."""

    event_type: Literal["IncidentVerified"] = "IncidentVerified"
    schema_version: Literal[1] = 1
    reported_at: AwareDatetime = Field(description="When the report was received.")
    destination: GeoPoint = Field(description="Where the aid must arrive.")
    assessed_needs: tuple[NeedLine, ...] = Field(min_length=1, description="What to send.")
    verified_by: ShortText


class IncidentRejected(EventBase):
    """A coordinator found the report invalid; nothing will be sent."""

    event_type: Literal["IncidentRejected"] = "IncidentRejected"
    schema_version: Literal[1] = 1
    reason: LongText
    rejected_by: ShortText


class IncidentUpdated(EventBase):
    """A follow-up report (laporan susulan) on an open incident: new counts and/or extra
    needs.

    Counts are the new totals (not deltas); `added_needs` come on top of what was stated
    or assessed so far. After verification, logistics may allocate the added needs.
    """

    event_type: Literal["IncidentUpdated"] = "IncidentUpdated"
    schema_version: Literal[1] = 1
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
    schema_version: Literal[1] = 1
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
    schema_version: Literal[1] = 1
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
    schema_version: Literal[1] = 1
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
    schema_version: Literal[1] = 1
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


# --- Tagana's rapid assessment (issue 15 item 10) ----------------------------------------

# A head or house count as counted on site: a whole number, 0 when none were found.
Count = Annotated[int, Field(ge=0, le=10_000_000)]


class HouseDamage(Contract):
    """Damage found on site: houses by the usual three grades (rusak berat, sedang,
    ringan) and the public facilities (schools, clinics, places of worship, bridges)."""

    houses_heavy: Count = Field(default=0, description="Houses heavily damaged (rusak berat).")
    houses_moderate: Count = Field(
        default=0, description="Houses moderately damaged (rusak sedang)."
    )
    houses_light: Count = Field(default=0, description="Houses lightly damaged (rusak ringan).")
    public_facilities: Count = Field(default=0, description="Public facilities damaged.")
    public_facilities_note: LongText = Field(
        default="", description="Which ones, e.g. 'SDN 2 Sukarame, jembatan desa'."
    )


class AffectedPeople(Contract):
    """The people affected, with the vulnerable groups the response protects first (004:
    "Perlindungan terhadap kelompok rentan") and those displaced; each group is part of
    `people`, so none may exceed it (see `count_problems`)."""

    people: Count = Field(default=0, description="People affected in all.")
    households: Count = Field(
        default=0, description="Families (KK) affected; not more than the people."
    )
    elderly: Count = Field(default=0, description="Elderly people (lansia, 60 and over).")
    disabled: Count = Field(default=0, description="People with disabilities.")
    under_five: Count = Field(default=0, description="Children under five (balita).")
    pregnant_or_breastfeeding: Count = Field(
        default=0, description="Pregnant or breastfeeding women."
    )
    displaced: Count = Field(default=0, description="People who left their homes (pengungsi).")


# The groups counted within `AffectedPeople.people`.
PEOPLE_GROUPS = ("elderly", "disabled", "under_five", "pregnant_or_breastfeeding", "displaced")


@dataclass(frozen=True)
class CountProblem:
    """A count that cannot be right: a part larger than its whole."""

    field: str
    code: str
    message: str


def count_problems(affected: AffectedPeople) -> list[CountProblem]:
    """What is impossible in the counts: more families than people, or a group of the
    affected larger than all of them. The groups may overlap (an elderly person with a
    disability is counted in both), so only each alone is held against the total."""
    problems = []
    if affected.households > affected.people:
        problems.append(
            CountProblem(
                "households",
                "households_exceed_people",
                f"{affected.households} families (KK) but {affected.people} people: each "
                "family is at least one person",
            )
        )
    for group in PEOPLE_GROUPS:
        counted: int = getattr(affected, group)
        if counted > affected.people:
            problems.append(
                CountProblem(
                    group,
                    "group_exceeds_people",
                    f"{group} {counted} is more than the {affected.people} people affected",
                )
            )
    return problems


class Shelter(Contract):
    """Where displaced people stay (a posko, a school, a mosque, tents)."""

    name: ShortText = Field(description="e.g. 'Balai Desa Sukarame'.")
    capacity: Count = Field(description="How many people it can hold.")
    location: ShortText = Field(description="Where it is, e.g. 'RT 03, dekat masjid'.")


class RapidAssessmentRecorded(EventBase):
    """A Tagana team's rapid assessment of the incident `case_id` (004: "Pengkajian secara
    cepat dan tepat terhadap lokasi, kerusakan dan sumberdaya"; 001: "Pendataan Tim
    Tagana"): damage, people affected by vulnerable group, the displaced and their
    shelters, resources on site and the needs found. A later assessment gives the newer
    picture; the latest by `assessed_at` counts."""

    event_type: Literal["RapidAssessmentRecorded"] = "RapidAssessmentRecorded"
    schema_version: Literal[1] = 1
    assessment_id: UUID
    team: ShortText = Field(description="The team that assessed, e.g. 'Tagana Tenggarong'.")
    assessed_at: AwareDatetime = Field(description="When it was assessed on site.")
    damage: HouseDamage
    affected: AffectedPeople
    shelters: tuple[Shelter, ...] = Field(default=(), max_length=50)
    resources_on_site: LongText = Field(
        default="", description="What is already there: posko, field kitchen, boats, clinic."
    )
    site_conditions: LongText = Field(
        default="", description="The location: access, water level, what still threatens."
    )
    needs: tuple[NeedLine, ...] = Field(
        default=(), max_length=100, description="The needs found, one line per item."
    )
    recorded_by: ShortText = Field(description="The signed-in user who recorded it.")

    @model_validator(mode="after")
    def _parts_within_their_whole(self) -> Self:
        problems = count_problems(self.affected)
        if problems:
            raise ValueError("; ".join(problem.message for problem in problems))
        return self


# --- complaints (pengaduan) ------------------------------------------------------------

# The channels the five decrees publish for complaints: SP4N-LAPOR (000, 002), WhatsApp
# (000, 004), Instagram (000, 004), e-mail (001), telephone (001), in person at the office
# (000, 002, 003, 004) and the complaint box (000, 002). Lubuklinggau's "Media Sosial"
# (001) arrives as whatever medium it was (WhatsApp, Instagram).
ComplaintChannel = Literal[
    "sp4n_lapor", "whatsapp", "instagram", "email", "phone", "in_person", "complaint_box"
]
COMPLAINT_CHANNELS: tuple[ComplaintChannel, ...] = (
    "sp4n_lapor",
    "whatsapp",
    "instagram",
    "email",
    "phone",
    "in_person",
    "complaint_box",
)


class _ComplaintEvent(EventBase):
    """An event of a complaint case: `case_type` is always "complaint"."""

    @model_validator(mode="after")
    def _complaint_case(self) -> Self:
        if self.case_type is not CaseType.COMPLAINT:
            raise ValueError(f"a complaint's event has case_type 'complaint', not {self.case_type}")
        return self


class ComplaintReceived(_ComplaintEvent):
    """Office staff recorded a complaint; `occurred_at` is when the office received it
    (the answer's clock starts there, even when it was written down later)."""

    event_type: Literal["ComplaintReceived"] = "ComplaintReceived"
    schema_version: Literal[1] = 1
    channel: ComplaintChannel = Field(description="How the complaint reached the office.")
    about_incident_id: UUID | None = Field(
        default=None, description="The incident (intake's case id) it is about, if any."
    )
    about_reference: ShortText | None = Field(
        default=None,
        description="A program delivery it is about (distribution's reference as the "
        "complainant gave it), if any.",
    )
    recorded_by: ShortText = Field(description="The staff member who recorded it.")


class ComplaintHandlingStarted(_ComplaintEvent):
    """The first handling note: someone in the office is working on it."""

    event_type: Literal["ComplaintHandlingStarted"] = "ComplaintHandlingStarted"
    schema_version: Literal[1] = 1
    handled_by: ShortText


class ComplaintAnswered(_ComplaintEvent):
    """The office answered the complainant (the answer is on the public lookup page);
    stops the answer's clock."""

    event_type: Literal["ComplaintAnswered"] = "ComplaintAnswered"
    schema_version: Literal[1] = 1
    answered_by: ShortText


class ComplaintClosed(_ComplaintEvent):
    """The answered complaint was closed: nothing more will be done on it."""

    event_type: Literal["ComplaintClosed"] = "ComplaintClosed"
    schema_version: Literal[1] = 1
    closed_by: ShortText
