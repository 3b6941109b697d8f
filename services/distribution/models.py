"""distribution's tables and the shapes of its HTTP API."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self
from uuid import UUID, uuid4

from pydantic import BaseModel, Field, StringConstraints, model_validator
from sqlalchemy import JSON, Column, LargeBinary, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from services.distribution.domain import (
    DeliveryKind,
    DeliveryStatus,
    FailureReason,
    Resolution,
)
from services.distribution.eligibility import SocialRegister
from shared.columns import UTCDateTime
from shared.contracts.envelope import CaseType, GeoPoint, NeedLine, ShortText
from shared.contracts.logistics import DispatchLine
from shared.geo import IndonesianPoint
from shared.http import ApiModel
from shared.text import FREE_TEXT


class DistributionTable(SQLModel, registry=registry()):
    """Base of distribution's tables: their own metadata, in distribution's own database."""


def _json() -> Any:
    return SQLField(sa_column=Column(JSON, nullable=False))


def _when(*, index: bool = False, nullable: bool = True) -> Any:
    if nullable:
        return SQLField(default=None, sa_column=Column(UTCDateTime, index=index))
    return SQLField(sa_column=Column(UTCDateTime, nullable=False, index=index))


# --- registry ------------------------------------------------------------------------


class RecipientKind(enum.StrEnum):
    """A person (permakanan) or an institution: dormitory, shelter, orphanage (sandang)."""

    PERSON = "person"
    INSTITUTION = "institution"


class RecipientRow(DistributionTable, table=True):
    """Someone distribution delivers to. NIK, KK and phone are Fernet tokens; the NIK is
    also kept as a keyed hash so a second registration of it is found."""

    __tablename__ = "recipient"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    office_id: str = SQLField(index=True, max_length=40)
    kind: RecipientKind = SQLField(max_length=20)
    name: str = SQLField(max_length=200)
    institution_type: str | None = SQLField(default=None, max_length=100)
    contact_person: str | None = SQLField(default=None, max_length=200)
    nik_token: str | None = SQLField(default=None, max_length=500)
    nik_hash: str | None = SQLField(default=None, unique=True, max_length=64)
    kk_token: str | None = SQLField(default=None, max_length=500)
    phone_token: str | None = SQLField(default=None, max_length=500)
    street: str | None = SQLField(default=None, max_length=2000)
    village: str = SQLField(max_length=200)
    village_code: str = SQLField(max_length=20, index=True)
    district: str = SQLField(max_length=200)
    regency: str = SQLField(max_length=200)
    province: str = SQLField(max_length=200)
    postal_code: str | None = SQLField(default=None, max_length=5)
    lat: float
    lon: float
    verified: bool = False
    review_reason: str | None = SQLField(default=None, max_length=40)
    flagged_at: datetime | None = _when()
    created_at: datetime = _when(nullable=False)
    # What permakanan's eligibility rule asks (services/distribution/eligibility.py). The
    # register's id identifies the person like the NIK does: stored only as a token.
    birth_date: date | None = None
    social_register: SocialRegister | None = SQLField(default=None, max_length=10)
    social_register_id_token: str | None = SQLField(default=None, max_length=500)
    disability: bool = False
    neglected_child: bool = False
    receives_pkh: bool = False
    receives_sembako: bool = False

    def position(self) -> GeoPoint:
        """The registered home (or institution) position."""
        return GeoPoint(lat=self.lat, lon=self.lon)


class PersonalDataRevealRow(DistributionTable, table=True):
    """How many times a user saw recipients' personal numbers in clear on one office day
    (`?reveal=true` and personal-data exports): the counter behind the daily limit."""

    __tablename__ = "personal_data_reveal"

    subject: str = SQLField(primary_key=True, max_length=200)
    day: date = SQLField(primary_key=True)
    reveals: int = SQLField(default=0)


class AddressIn(ApiModel):
    """An address inside the office's regency, down to the village."""

    street: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), FREE_TEXT] | None
    ) = None
    district: ShortText = Field(description="Kecamatan, e.g. 'Tenggarong'.")
    village: ShortText = Field(description="Desa or kelurahan, e.g. 'Sukarame'.")
    postal_code: str | None = Field(default=None, description="Five-digit kode pos.")


Digits = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


RegisterId = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9./-]{1,40}$")
]


class EligibilityIn(ApiModel):
    """A person's standing against permakanan's requirements (000): the social register
    they are in (with its id), birth date (from the NIK when not given), and categories."""

    social_register: SocialRegister | None = Field(
        default=None, description="dtks, dtsen (DTKS's successor) or p3ke."
    )
    social_register_id: RegisterId | None = Field(
        default=None, description="The person's id in that register."
    )
    birth_date: date | None = Field(default=None, description="Read from the NIK when absent.")
    disability: bool = False
    neglected_child: bool = Field(default=False, description="Anak telantar.")
    receives_pkh: bool = Field(default=False, description="Already in PKH.")
    receives_sembako: bool = Field(default=False, description="Already in Sembako (BPNT).")

    @model_validator(mode="after")
    def _register_and_id_together(self) -> Self:
        if (self.social_register is None) != (self.social_register_id is None):
            raise ValueError("a social register is given with the person's id in it")
        return self


class RecipientIn(ApiModel):
    """A person or institution to register."""

    kind: RecipientKind
    name: ShortText
    nik: Digits | None = Field(default=None, description="16-digit NIK (persons only).")
    kk: Digits | None = Field(default=None, description="16-digit family-card number.")
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{8,15}$")] | None = None
    institution_type: ShortText | None = Field(default=None, description="e.g. 'panti asuhan'.")
    contact_person: ShortText | None = None
    address: AddressIn
    position: IndonesianPoint
    verified: bool = Field(default=False, description="Checked at home by a social worker.")
    eligibility: EligibilityIn | None = Field(
        default=None, description="What permakanan's eligibility rule asks (persons)."
    )

    @model_validator(mode="after")
    def _person_has_a_nik(self) -> Self:
        if self.kind is RecipientKind.PERSON and self.nik is None:
            raise ValueError("a person is registered with their NIK")
        return self


class RecipientOut(BaseModel):
    """A recipient as the API shows it: personal numbers masked unless revealed."""

    id: UUID
    kind: RecipientKind
    name: str
    nik: str | None
    kk: str | None
    phone: str | None
    revealed: bool
    institution_type: str | None
    contact_person: str | None
    street: str | None
    village: str
    village_code: str
    district: str
    regency: str
    province: str
    postal_code: str | None
    position: GeoPoint
    verified: bool
    review_reason: str | None
    flagged_at: datetime | None
    created_at: datetime
    birth_date: date | None = None
    social_register: SocialRegister | None = None
    social_register_id: str | None = Field(default=None, description="Masked unless revealed.")
    disability: bool = False
    neglected_child: bool = False
    receives_pkh: bool = False
    receives_sembako: bool = False


# --- permakanan ------------------------------------------------------------------------


class RoundStatus(enum.StrEnum):
    """A round of the plan: planned, opened (deliveries exist), goods out, completed."""

    PLANNED = "planned"
    OPEN = "open"
    GOODS_RELEASED = "goods_released"
    COMPLETED = "completed"


class ProgramRow(DistributionTable, table=True):
    """A 12-month permakanan plan: who gets which parcel, from which hub."""

    __tablename__ = "permakanan_program"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    office_id: str = SQLField(index=True, max_length=40)
    name: str = SQLField(max_length=200)
    start_date: date
    parcel: list[dict[str, Any]] = _json()
    hub_lat: float
    hub_lon: float
    created_at: datetime = _when(nullable=False)

    def hub(self) -> GeoPoint:
        """Where the goods are collected before the runs (a GoodsRequested destination)."""
        return GeoPoint(lat=self.hub_lat, lon=self.hub_lon)

    def parcel_lines(self) -> list[NeedLine]:
        """One recipient's parcel."""
        return [NeedLine.model_validate(line) for line in self.parcel]


class RoundRow(DistributionTable, table=True):
    """One bimonthly round; its id is the case id of its events and deliveries."""

    __tablename__ = "permakanan_round"
    __table_args__ = (UniqueConstraint("program_id", "number"),)

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    program_id: UUID = SQLField(index=True)
    number: int
    period_start: date
    period_end: date
    status: RoundStatus = SQLField(default=RoundStatus.PLANNED, max_length=20)
    recipients: int = 0
    delivered: int = 0
    returned: int = 0
    opened_at: datetime | None = _when()
    # A round opened outside its window (000: "setiap 2 bulan sekali") only with an
    # override: who allowed it, why and when.
    opening_override_by: str | None = SQLField(default=None, max_length=200)
    opening_override_reason: str | None = SQLField(default=None, max_length=500)
    opening_override_at: datetime | None = _when()
    goods_released_at: datetime | None = _when()
    completed_at: datetime | None = _when()
    # Releases already applied: a release re-announced under a new event id is ignored.
    dispatch_ids: list[str] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    last_event_id: UUID | None = None


class EnrolmentStatus(enum.StrEnum):
    """A recipient's place in a program: waiting (verified candidate), receiving, ended."""

    CANDIDATE = "candidate"
    ACTIVE = "active"
    ENDED = "ended"


class EnrolmentRow(DistributionTable, table=True):
    """A recipient in a program; candidates queue by `queued_at` for replacements."""

    __tablename__ = "permakanan_enrolment"
    __table_args__ = (UniqueConstraint("program_id", "recipient_id"),)

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    program_id: UUID = SQLField(index=True)
    recipient_id: UUID = SQLField(index=True)
    status: EnrolmentStatus = SQLField(max_length=20)
    queued_at: datetime = _when(nullable=False)
    active_from: datetime | None = _when()
    ended_at: datetime | None = _when()
    end_reason: str | None = SQLField(default=None, max_length=2000)
    replaced_by: UUID | None = None
    replaces: UUID | None = None
    # The office's decision (SK) that set this person on the list ("ditetapkan", 000).
    decision_id: UUID | None = SQLField(default=None, index=True)


class ListDecisionRow(DistributionTable, table=True):
    """The office's decision on a program's recipient list (000: "Data hasil verifikasi
    dan validasi diserahkan ke Dinas Sosial untuk ditetapkan sebagai Penerima Bantuan"):
    the decree (SK) number, its date and who decided."""

    __tablename__ = "permakanan_list_decision"
    __table_args__ = (UniqueConstraint("program_id", "number"),)

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    office_id: str = SQLField(index=True, max_length=40)
    program_id: UUID = SQLField(index=True)
    number: str = SQLField(max_length=100)
    decided_on: date
    decided_by: str = SQLField(max_length=200)
    recipients: int
    recorded_at: datetime = _when(nullable=False)


class CorrectionIn(ApiModel):
    """A data subject's correction of their registry entry (UU PDP 27/2022): only the
    fields given change, each checked as at registration; the reason is audited."""

    name: ShortText | None = None
    nik: str | None = Field(default=None, max_length=16)
    kk: str | None = Field(default=None, max_length=16)
    phone: Annotated[str, StringConstraints(pattern=r"^\+?\d{8,15}$")] | None = None
    address: AddressIn | None = None
    position: IndonesianPoint | None = None
    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500), FREE_TEXT
    ]


class ProgramIn(ApiModel):
    """A new 12-month permakanan plan."""

    name: ShortText
    start_date: date = Field(description="First day of round 1; rounds follow every 2 months.")
    parcel: list[NeedLine] = Field(min_length=1, description="One recipient's parcel.")
    hub: IndonesianPoint = Field(description="Where logistics brings the round's goods.")


class EnrolmentIn(ApiModel):
    """Enrol a registered, verified person, or queue them as a candidate."""

    recipient_id: UUID
    as_candidate: bool = Field(default=False, description="Queue for a later replacement.")
    decision_id: UUID | None = Field(
        default=None, description="The office's decision (SK) that lists this person."
    )


class ReplacementIn(ApiModel):
    """A recipient who no longer qualifies, and why."""

    recipient_id: UUID
    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000), FREE_TEXT
    ]


class EnrolmentOut(BaseModel):
    """A recipient's enrolment."""

    id: UUID
    program_id: UUID
    recipient_id: UUID
    status: EnrolmentStatus
    queued_at: datetime
    active_from: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    replaced_by: UUID | None
    replaces: UUID | None
    decision_id: UUID | None = None


class RoundOut(BaseModel):
    """A round and its tally."""

    id: UUID
    program_id: UUID
    number: int
    period_start: date
    period_end: date
    status: RoundStatus
    recipients: int
    delivered: int
    returned: int
    opened_at: datetime | None
    opening_override_by: str | None
    opening_override_reason: str | None
    opening_override_at: datetime | None
    goods_released_at: datetime | None
    completed_at: datetime | None


class OpeningOverride(ApiModel):
    """Leave to open a round outside its window, recorded with the round and audited."""

    by: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=500)


class RoundOpeningIn(ApiModel):
    """Opening a round: no body needed inside its window; outside it, an override."""

    override: OpeningOverride | None = None


class ProgramOut(BaseModel):
    """A program with its 6 rounds."""

    id: UUID
    name: str
    start_date: date
    parcel: list[NeedLine]
    hub: GeoPoint
    rounds: list[RoundOut]


class EvaluationOut(BaseModel):
    """After a round: the tally, and who should be reviewed before the next one."""

    round: RoundOut
    open: int
    to_review: list[UUID] = Field(description="Recipients flagged by a failed delivery.")
    failures: dict[str, int] = Field(description="Failed deliveries per reason.")


# --- sandang ---------------------------------------------------------------------------


class SandangStatus(enum.StrEnum):
    """A clothing request: requested (filed at T-1), procurement under way (the 3 months
    run), goods released (handover under way), handed over."""

    REQUESTED = "requested"
    PROCUREMENT = "procurement"
    GOODS_RELEASED = "goods_released"
    HANDED_OVER = "handed_over"


class SandangRequestRow(DistributionTable, table=True):
    """An institution's needs list; its id is the case id of its events."""

    __tablename__ = "sandang_request"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    office_id: str = SQLField(index=True, max_length=40)
    institution_id: UUID = SQLField(index=True)
    lines: list[dict[str, Any]] = _json()
    needed_by: date
    # The budget year (tahun anggaran) it is filed for, a year ahead (000: T-1); None
    # only for requests filed before the field existed.
    budget_year: int | None = None
    status: SandangStatus = SQLField(default=SandangStatus.REQUESTED, max_length=20)
    delivery_id: UUID | None = None
    handover_id: UUID | None = None
    created_at: datetime = _when(nullable=False)
    # When and by whom procurement started: the decree's 3 months run from here.
    procurement_started_at: datetime | None = _when(nullable=True)
    procurement_started_by: str | None = SQLField(default=None, max_length=200)
    last_event_id: UUID


class HandoverRow(DistributionTable, table=True):
    """A handover record (BAST, berita acara serah terima) of goods at an institution."""

    __tablename__ = "handover"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    number: str = SQLField(unique=True, max_length=60)
    request_id: UUID = SQLField(unique=True)
    delivery_id: UUID = SQLField(unique=True)
    institution_id: UUID
    received_by: str = SQLField(max_length=200)
    relation: str = SQLField(max_length=200)
    handed_over_by: str | None = SQLField(default=None, max_length=200)
    lines: list[dict[str, Any]] = _json()
    handed_over_at: datetime = _when(nullable=False)


class SandangRequestIn(ApiModel):
    """An institution's clothing needs, filed before its budget year starts (000:
    "Permohonan diajukan 1 tahun sebelum tahun anggaran berjalan (T-1)")."""

    institution_id: UUID
    lines: list[NeedLine] = Field(min_length=1)
    needed_by: date
    budget_year: int = Field(ge=2000, le=2100, description="The budget year (tahun anggaran).")


class ProcurementStartIn(ApiModel):
    """Who starts procuring a sandang request's goods (the 3 months run from now)."""

    started_by: str = Field(min_length=1, max_length=200)


class SandangRequestOut(BaseModel):
    """A sandang request and where it stands."""

    id: UUID
    institution_id: UUID
    lines: list[NeedLine]
    needed_by: date
    budget_year: int | None
    status: SandangStatus
    delivery_id: UUID | None
    handover_id: UUID | None
    created_at: datetime
    procurement_started_at: datetime | None
    procurement_started_by: str | None


class HandoverOut(BaseModel):
    """A BAST as the API shows it."""

    id: UUID
    number: str
    request_id: UUID
    delivery_id: UUID
    institution_id: UUID
    received_by: str
    relation: str
    handed_over_by: str | None
    lines: list[NeedLine]
    handed_over_at: datetime


# --- deliveries ------------------------------------------------------------------------


class DeliveryRow(DistributionTable, table=True):
    """One delivery and its steps: incident relief to a location, a permakanan parcel to
    a recipient's door, or a sandang handover at an institution."""

    __tablename__ = "delivery"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    office_id: str = SQLField(index=True, max_length=40)
    kind: DeliveryKind = SQLField(default=DeliveryKind.INCIDENT, max_length=20, index=True)
    case_id: UUID = SQLField(index=True, description="Incident, round or sandang request.")
    case_type: CaseType = SQLField(default=CaseType.INCIDENT, max_length=30)
    correlation_id: UUID
    # One incident delivery per released dispatch: a re-sent DispatchReleased finds this
    # row. A permakanan round's parcels share the round's dispatch, so theirs is NULL.
    dispatch_id: UUID | None = SQLField(default=None, unique=True)
    warehouse_code: str | None = SQLField(default=None, max_length=200)
    origin_lat: float | None = None
    origin_lon: float | None = None
    destination_lat: float
    destination_lon: float
    # Incident and sandang: the released DispatchLines. Permakanan: the parcel's
    # NeedLines, with `lots` saying which lots they came from once released.
    lines: list[dict[str, Any]] = _json()
    lots: list[dict[str, Any]] | None = SQLField(default=None, sa_column=Column(JSON))
    recipient_id: UUID | None = SQLField(default=None, index=True)
    attempt: int = 1
    previous_attempt_id: UUID | None = None
    goods_ready_at: datetime | None = _when()
    run_id: UUID | None = SQLField(default=None, index=True)
    run_position: int | None = None
    status: DeliveryStatus = SQLField(default=DeliveryStatus.CREATED, index=True, max_length=20)
    team: str | None = SQLField(default=None, max_length=200)
    created_at: datetime = _when(index=True, nullable=False)
    assigned_at: datetime | None = _when()
    departed_at: datetime | None = _when()
    arrived_at: datetime | None = _when()
    delivered_at: datetime | None = _when()
    failed_at: datetime | None = _when()
    arrival_lat: float | None = None
    arrival_lon: float | None = None
    arrival_distance_m: float | None = None
    received_by: str | None = SQLField(default=None, max_length=200)
    received_relation: str | None = SQLField(default=None, max_length=200)
    proof_lat: float | None = None
    proof_lon: float | None = None
    proof_distance_m: float | None = None
    far_from_address: bool = False
    has_signature: bool = False
    has_photo: bool = False
    failure_reason: str | None = SQLField(default=None, max_length=2000)
    failure_code: FailureReason | None = SQLField(default=None, max_length=30)
    resolution: Resolution | None = SQLField(default=None, max_length=20)
    resolved_at: datetime | None = _when()
    # The next event of this delivery names it as its cause, so the chain can be followed.
    last_event_id: UUID

    def origin(self) -> GeoPoint | None:
        """The warehouse the goods left from, once released."""
        if self.origin_lat is None or self.origin_lon is None:
            return None
        return GeoPoint(lat=self.origin_lat, lon=self.origin_lon)

    def destination(self) -> GeoPoint:
        """Where the goods must arrive."""
        return GeoPoint(lat=self.destination_lat, lon=self.destination_lon)

    def arrival_position(self) -> GeoPoint | None:
        """Where the team said it arrived, if it has."""
        if self.arrival_lat is None or self.arrival_lon is None:
            return None
        return GeoPoint(lat=self.arrival_lat, lon=self.arrival_lon)

    def proof_position(self) -> GeoPoint | None:
        """Where the proof of delivery was taken, if any."""
        if self.proof_lat is None or self.proof_lon is None:
            return None
        return GeoPoint(lat=self.proof_lat, lon=self.proof_lon)


class StepReceiptRow(DistributionTable, table=True):
    """A field step taken under the phone's idempotency key, with the answer it got: a
    resend after a lost answer (weak signal) gets the same answer and changes nothing,
    even when the delivery has moved on since."""

    __tablename__ = "delivery_step_receipt"

    key: UUID = SQLField(primary_key=True)
    office_id: str = SQLField(index=True, max_length=40)
    delivery_id: UUID = SQLField(index=True)
    step: str = SQLField(max_length=20)
    answer: dict[str, Any] = _json()
    received_at: datetime = _when(nullable=False)


class IncidentPlaceRow(DistributionTable, table=True):
    """What the field team's screen calls an incident ("Banjir · Sukarame, Tenggarong"),
    kept from intake's IncidentReported: distribution has no other way to know it."""

    __tablename__ = "incident_place"

    case_id: UUID = SQLField(primary_key=True)
    office_id: str = SQLField(index=True, max_length=40)
    hazard: str = SQLField(max_length=40)
    village: str | None = SQLField(default=None, max_length=200)
    district: str | None = SQLField(default=None, max_length=200)
    households_affected: int = 0
    reported_at: datetime = _when(nullable=False)


class ProofImageRow(DistributionTable, table=True):
    """A checked photo or signature of a delivery's handover (one of each per delivery)."""

    __tablename__ = "proof_image"
    __table_args__ = (UniqueConstraint("delivery_id", "purpose"),)

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    delivery_id: UUID = SQLField(index=True)
    purpose: str = SQLField(max_length=20)
    content_type: str = SQLField(max_length=40)
    data: bytes = SQLField(sa_column=Column(LargeBinary, nullable=False))
    taken_at: datetime = _when(nullable=False)


class RunStatus(enum.StrEnum):
    """A vehicle's round trip: planned, on the road, back."""

    PLANNED = "planned"
    UNDERWAY = "underway"
    FINISHED = "finished"


class RunRow(DistributionTable, table=True):
    """Deliveries grouped for one vehicle and team on one day, in visiting order."""

    __tablename__ = "delivery_run"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    office_id: str = SQLField(index=True, max_length=40)
    team: str = SQLField(max_length=200, index=True)
    vehicle: str = SQLField(max_length=200)
    run_date: date = SQLField(index=True)
    start_lat: float
    start_lon: float
    status: RunStatus = SQLField(default=RunStatus.PLANNED, max_length=20)
    stops: list[str] = _json()
    legs_km: list[float] = _json()
    total_km: float
    created_at: datetime = _when(nullable=False)
    departed_at: datetime | None = _when()

    def start(self) -> GeoPoint:
        """Where the vehicle sets out from (the hub or warehouse)."""
        return GeoPoint(lat=self.start_lat, lon=self.start_lon)


# --- API ----------------------------------------------------------------------------


class AssignmentIn(ApiModel):
    """The field team that takes the delivery."""

    team: ShortText = Field(description="Team name, e.g. 'Tagana Tenggarong 2'.")


class ArrivalIn(ApiModel):
    """The team's GPS position on arrival."""

    position: IndonesianPoint


class CompletionIn(ApiModel):
    """Who received the goods (the BAST counter-signatory), and for a program parcel the
    proof: their relation to the recipient, the GPS position, and a signature (PNG, base64)
    unless a photo was uploaded first."""

    received_by: ShortText
    relation: ShortText | None = Field(
        default=None, description="e.g. 'self', 'spouse', 'child', 'neighbour', 'caretaker'."
    )
    position: IndonesianPoint | None = None
    signature_png_base64: str | None = Field(default=None, max_length=4_000_000)


class FailureIn(ApiModel):
    """Why the delivery could not be completed: a structured reason (required for
    program parcels) and/or words."""

    reason_code: FailureReason | None = None
    reason: (
        Annotated[
            str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000), FREE_TEXT
        ]
        | None
    ) = None

    @model_validator(mode="after")
    def _some_reason(self) -> Self:
        if self.reason_code is None and self.reason is None:
            raise ValueError("give reason_code or reason")
        return self


class ReturnIn(ApiModel):
    """The goods of a failed delivery are brought back to the warehouse."""

    condition: Literal["good", "damaged"] = "good"


class RunIn(ApiModel):
    """Deliveries for one vehicle and team on one day."""

    team: ShortText
    vehicle: ShortText
    run_date: date
    start: IndonesianPoint = Field(description="Where the vehicle sets out (hub or warehouse).")
    delivery_ids: list[UUID] = Field(min_length=1, max_length=200)


class StopOut(BaseModel):
    """One stop of a run."""

    position: int
    delivery_id: UUID
    leg_km: float
    status: DeliveryStatus
    destination: GeoPoint
    recipient_name: str | None
    village: str | None


class RunOut(BaseModel):
    """A run in visiting order, with its total distance."""

    id: UUID
    team: str
    vehicle: str
    run_date: date
    status: RunStatus
    start: GeoPoint
    total_km: float
    stops: list[StopOut]


class DeliveryOut(BaseModel):
    """A delivery as the API shows it."""

    id: UUID
    office_id: str
    kind: DeliveryKind
    case_id: UUID
    case_type: CaseType
    dispatch_id: UUID | None
    warehouse_code: str | None
    status: DeliveryStatus
    origin: GeoPoint | None
    destination: GeoPoint
    lines: list[DispatchLine | NeedLine]
    lots: list[dict[str, Any]] | None
    recipient_id: UUID | None
    attempt: int
    previous_attempt_id: UUID | None
    goods_ready_at: datetime | None
    run_id: UUID | None
    run_position: int | None
    team: str | None
    created_at: datetime
    assigned_at: datetime | None
    departed_at: datetime | None
    arrived_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None
    arrival_position: GeoPoint | None
    arrival_distance_m: float | None
    received_by: str | None
    received_relation: str | None
    proof_position: GeoPoint | None
    proof_distance_m: float | None
    far_from_address: bool
    has_signature: bool
    has_photo: bool
    failure_reason: str | None
    failure_code: FailureReason | None
    resolution: Resolution | None

    @classmethod
    def of(cls, row: DeliveryRow) -> DeliveryOut:
        """The API view of a row."""
        lines: list[DispatchLine | NeedLine] = [
            DispatchLine.model_validate(line) if "lot_id" in line else NeedLine.model_validate(line)
            for line in row.lines
        ]
        return cls(
            id=row.id,
            office_id=row.office_id,
            kind=row.kind,
            case_id=row.case_id,
            case_type=row.case_type,
            dispatch_id=row.dispatch_id,
            warehouse_code=row.warehouse_code,
            status=row.status,
            origin=row.origin(),
            destination=row.destination(),
            lines=lines,
            lots=row.lots,
            recipient_id=row.recipient_id,
            attempt=row.attempt,
            previous_attempt_id=row.previous_attempt_id,
            goods_ready_at=row.goods_ready_at,
            run_id=row.run_id,
            run_position=row.run_position,
            team=row.team,
            created_at=row.created_at,
            assigned_at=row.assigned_at,
            departed_at=row.departed_at,
            arrived_at=row.arrived_at,
            delivered_at=row.delivered_at,
            failed_at=row.failed_at,
            arrival_position=row.arrival_position(),
            arrival_distance_m=row.arrival_distance_m,
            received_by=row.received_by,
            received_relation=row.received_relation,
            proof_position=row.proof_position(),
            proof_distance_m=row.proof_distance_m,
            far_from_address=row.far_from_address,
            has_signature=row.has_signature,
            has_photo=row.has_photo,
            failure_reason=row.failure_reason,
            failure_code=row.failure_code,
            resolution=row.resolution,
        )
