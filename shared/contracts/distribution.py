"""distribution's events: deliveries of released dispatches (scheduled, assigned, on the
road, arrived, handed over, failed, returned), delivery runs, and the recurring programs
(permakanan rounds, sandang requests) with the goods they ask logistics for. Published on
distribution's topic. No personal data travels here: recipients appear by their registry
id only.
"""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import Field

from shared.contracts.envelope import (
    Contract,
    EventBase,
    GeoPoint,
    ItemCode,
    LongText,
    NeedLine,
    Quantity,
    ShortText,
)


class DeliveryScheduled(EventBase):
    """A delivery of a released dispatch to the incident location was opened."""

    event_type: Literal["DeliveryScheduled"] = "DeliveryScheduled"
    schema_version: Literal[1] = 1
    delivery_id: UUID
    dispatch_id: UUID
    destination: GeoPoint


class DeliveryAssigned(EventBase):
    """A field team took the delivery."""

    event_type: Literal["DeliveryAssigned"] = "DeliveryAssigned"
    schema_version: Literal[1] = 1
    delivery_id: UUID
    team: ShortText


class DeliveryDeparted(EventBase):
    """The goods are on the road (in transit)."""

    event_type: Literal["DeliveryDeparted"] = "DeliveryDeparted"
    schema_version: Literal[1] = 1
    delivery_id: UUID
    team: ShortText | None = Field(
        default=None, description="The field team that set off, when one was assigned."
    )


class DeliveryArrived(EventBase):
    """The team reached the location; `occurred_at` is the arrival time."""

    event_type: Literal["DeliveryArrived"] = "DeliveryArrived"
    schema_version: Literal[1] = 1
    delivery_id: UUID
    team: ShortText | None = Field(
        default=None, description="The field team that arrived, when one was assigned."
    )
    position: GeoPoint
    distance_to_destination_m: float = Field(ge=0)


class DeliveryCompleted(EventBase):
    """The goods were handed over at the location."""

    event_type: Literal["DeliveryCompleted"] = "DeliveryCompleted"
    schema_version: Literal[1] = 1
    delivery_id: UUID
    received_by: ShortText


class DeliveryFailed(EventBase):
    """The delivery could not be completed."""

    event_type: Literal["DeliveryFailed"] = "DeliveryFailed"
    schema_version: Literal[1] = 1
    delivery_id: UUID
    reason: LongText = Field(min_length=3, description="Why it failed, for the coordinator.")


class GoodsRequested(EventBase):
    """distribution asks logistics for the goods of a program case (a permakanan round or a
    sandang request; `case_type` says which). logistics plans a dispatch from stock with
    the same case, or raises a purchase request for what is missing and plans it once the
    goods are received."""

    event_type: Literal["GoodsRequested"] = "GoodsRequested"
    schema_version: Literal[1] = 1
    purpose: Literal["permakanan_round", "sandang_request"]
    lines: tuple[NeedLine, ...] = Field(min_length=1)
    needed_by: date = Field(description="The date the goods must be ready to go out.")
    destination: GeoPoint = Field(description="Where the dispatch goes (hub or institution).")
    keep_until: date | None = Field(
        default=None,
        description="The last day the goods may be handed over (a permakanan round's end): "
        "food must still be good then, not only when it leaves (000: 'tidak kadaluwarsa').",
    )


class PermakananRoundScheduled(EventBase):
    """One of the 6 bimonthly rounds of a 12-month permakanan plan was opened: one delivery
    per enrolled recipient, to their home address. `case_id` is the round."""

    event_type: Literal["PermakananRoundScheduled"] = "PermakananRoundScheduled"
    schema_version: Literal[1] = 1
    program_id: UUID
    round_number: int = Field(ge=1, le=6)
    period_start: date
    period_end: date = Field(description="The last day the round's parcels may arrive.")
    recipients: int = Field(ge=0)
    # Added later, optional so events written before it still parse: what the program
    # is called, for screens that name the round without asking distribution.
    program_name: ShortText | None = Field(default=None, description="The program's name.")


class PermakananRoundCompleted(EventBase):
    """Every delivery of a round ended (delivered, or failed and returned)."""

    event_type: Literal["PermakananRoundCompleted"] = "PermakananRoundCompleted"
    schema_version: Literal[1] = 1
    program_id: UUID
    round_number: int = Field(ge=1, le=6)
    delivered: int = Field(ge=0)
    returned: int = Field(ge=0)


class SandangRequested(EventBase):
    """An institution's clothing needs list became a request. `case_id` is the request.
    It is filed a year ahead (000: "Permohonan diajukan 1 tahun sebelum tahun anggaran
    berjalan (T-1)"), so no clock runs from here: the 3 months start with procurement
    (`SandangProcurementStarted`)."""

    event_type: Literal["SandangRequested"] = "SandangRequested"
    schema_version: Literal[1] = 1
    institution_id: UUID
    institution_name: ShortText
    lines: tuple[NeedLine, ...] = Field(min_length=1)
    budget_year: int | None = Field(
        default=None, description="The budget year (tahun anggaran) the request is for."
    )


class SandangProcurementStarted(EventBase):
    """The office started procuring a sandang request's goods (`case_id` is the request):
    the decree's 3 months run from here to the handover (000: "Proses Pengadaan Barang
    sampai dengan Serah Terima Barang membutuhkan waktu 3 (tiga) bulan")."""

    event_type: Literal["SandangProcurementStarted"] = "SandangProcurementStarted"
    schema_version: Literal[1] = 1
    institution_id: UUID
    institution_name: ShortText
    lines: tuple[NeedLine, ...] = Field(min_length=1)
    budget_year: int = Field(description="The budget year the goods are bought in.")
    started_by: ShortText


class SandangHandedOver(EventBase):
    """The clothing was handed over at the institution, with a handover record (BAST)."""

    event_type: Literal["SandangHandedOver"] = "SandangHandedOver"
    schema_version: Literal[1] = 1
    institution_id: UUID
    handover_id: UUID
    received_by: ShortText
    lines: tuple[NeedLine, ...] = Field(min_length=1)


class ReturnedLine(Contract):
    """Goods brought back to the warehouse, from the lot they were issued from."""

    item_code: ItemCode
    quantity: Quantity
    lot_id: UUID | None = None


class DeliveryReturned(EventBase):
    """Goods of a failed delivery went back to the warehouse; logistics books them in."""

    event_type: Literal["DeliveryReturned"] = "DeliveryReturned"
    schema_version: Literal[1] = 1
    delivery_id: UUID
    dispatch_id: UUID | None = None
    warehouse_code: ShortText
    lines: tuple[ReturnedLine, ...] = Field(min_length=1)
    condition: Literal["good", "damaged"]
    reason: LongText = Field(min_length=3)


class RecipientFlaggedForReview(EventBase):
    """A failed delivery's reason (moved, deceased) puts the recipient up for review."""

    event_type: Literal["RecipientFlaggedForReview"] = "RecipientFlaggedForReview"
    schema_version: Literal[1] = 1
    recipient_id: UUID
    reason: Literal["moved", "deceased", "in_hospital", "refused", "address_not_found"]


class DeliveryRunPlanned(EventBase):
    """Program deliveries of one case were grouped into a run for one vehicle and team, in
    visiting order (one event per case in the run rather than one per parcel: a
    permakanan round sends hundreds). Incident deliveries keep `DeliveryAssigned`."""

    event_type: Literal["DeliveryRunPlanned"] = "DeliveryRunPlanned"
    schema_version: Literal[1] = 1
    run_id: UUID
    team: ShortText
    vehicle: ShortText
    run_date: date
    delivery_ids: tuple[UUID, ...] = Field(min_length=1, description="In visiting order.")
    total_km: float = Field(ge=0, description="Geodesic length of the whole run from its start.")


class DeliveryRunDeparted(EventBase):
    """The run's vehicle left: these program deliveries of the case are in transit."""

    event_type: Literal["DeliveryRunDeparted"] = "DeliveryRunDeparted"
    schema_version: Literal[1] = 1
    run_id: UUID
    delivery_ids: tuple[UUID, ...] = Field(min_length=1)
