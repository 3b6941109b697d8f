"""The delivery (relief for an incident, a program's parcel, a sandang handover) with the
steps taken on it, the receipts of steps sent under an idempotency key, the proof images,
the incident's place, and the field steps' API shapes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, Self
from uuid import UUID, uuid4

from pydantic import BaseModel, Field, StringConstraints, model_validator
from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field as SQLField

from services.distribution.domain import DeliveryKind, DeliveryStatus, FailureReason, Resolution
from services.distribution.models.base import (
    DistributionTable,
    json_column,
    moment_column,
    typed_json_column,
)
from shared.contracts.envelope import CaseType, GeoPoint, NeedLine, ShortText
from shared.contracts.logistics import DispatchLine
from shared.geo import IndonesianPoint
from shared.http import ApiModel
from shared.text import FREE_TEXT

# A released dispatch's line (with its lot) or a program parcel's (item and quantity).
DeliveryLine = Annotated[DispatchLine | NeedLine, Field(union_mode="left_to_right")]


class ParcelLot(BaseModel):
    """The part of one released lot a program parcel carries (its expiry is checked at
    the handover)."""

    item_code: str
    lot_id: str | None
    quantity: int
    expires_on: date | None


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
    lines: list[DeliveryLine] = typed_json_column(list[DeliveryLine])
    lots: list[ParcelLot] | None = typed_json_column(list[ParcelLot], nullable=True)
    recipient_id: UUID | None = SQLField(default=None, index=True)
    attempt: int = 1
    previous_attempt_id: UUID | None = None
    goods_ready_at: datetime | None = moment_column()
    run_id: UUID | None = SQLField(default=None, index=True)
    run_position: int | None = None
    status: DeliveryStatus = SQLField(default=DeliveryStatus.CREATED, index=True, max_length=20)
    team: str | None = SQLField(default=None, max_length=200)
    created_at: datetime = moment_column(index=True, nullable=False)
    assigned_at: datetime | None = moment_column()
    departed_at: datetime | None = moment_column()
    arrived_at: datetime | None = moment_column()
    delivered_at: datetime | None = moment_column()
    failed_at: datetime | None = moment_column()
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
    resolved_at: datetime | None = moment_column()
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
    answer: dict[str, Any] = json_column()
    received_at: datetime = moment_column(nullable=False)


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
    reported_at: datetime = moment_column(nullable=False)


class ProofImageRow(DistributionTable, table=True):
    """A checked photo or signature of a delivery's handover (one of each per delivery)."""

    __tablename__ = "proof_image"
    __table_args__ = (UniqueConstraint("delivery_id", "purpose"),)

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    delivery_id: UUID = SQLField(index=True)
    purpose: str = SQLField(max_length=20)
    content_type: str = SQLField(max_length=40)
    data: bytes = SQLField(sa_column=Column(LargeBinary, nullable=False))
    taken_at: datetime = moment_column(nullable=False)


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
    lots: list[ParcelLot] | None
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
        lines: list[DispatchLine | NeedLine] = list(row.lines)
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
