"""The dispatch aggregate: goods reserved for a case, the places of incidents, what no
warehouse could give, pick lists and handover records (BAST); their tables and API
shapes."""

from __future__ import annotations

import enum
from datetime import date, datetime
from uuid import UUID, uuid4

from pydantic import BaseModel, Field
from sqlalchemy import Column
from sqlmodel import Field as SQLField

from services.logistics.models.base import LogisticsTable
from shared.actors import ignored_actor_field
from shared.columns import TypedJSON, UTCDateTime
from shared.contracts.envelope import GeoPoint, ShortText
from shared.contracts.logistics import DispatchLine
from shared.http import ApiModel
from shared.nip import Nip


class DispatchStatus(enum.StrEnum):
    """Where a dispatch stands."""

    PLANNED = "planned"
    RELEASED = "released"
    CANCELLED = "cancelled"


class DispatchRow(LogisticsTable, table=True):
    """Goods reserved in one warehouse for one case (incident, permakanan round, sandang
    request)."""

    __tablename__ = "dispatch"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    office_id: str = SQLField(max_length=40)
    case_id: UUID = SQLField(index=True)
    case_type: str = SQLField(default="incident", max_length=30)
    must_last_until: date | None = None
    picked_by: str | None = SQLField(default=None, max_length=200)
    picked_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
    correlation_id: UUID
    warehouse_code: str = SQLField(foreign_key="warehouse.code", max_length=40)
    status: DispatchStatus = SQLField(default=DispatchStatus.PLANNED, index=True, max_length=20)
    dest_lat: float
    dest_lon: float
    distance_km: float
    lines: list[DispatchLine] = SQLField(
        sa_column=Column(TypedJSON(list[DispatchLine]), nullable=False)
    )
    planned_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    planned_event_id: UUID
    released_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
    released_by: str | None = SQLField(default=None, max_length=200)


class IncidentPlaceRow(LogisticsTable, table=True):
    """What the warehouse calls an incident by: its hazard, village and district and the
    households hit, learnt from `IncidentReported` (the verified event carries only the
    needs and the destination). A keeper reads "Banjir · Sukarame, Tenggarong · 30 KK",
    never a case id."""

    __tablename__ = "incident_place"

    case_id: UUID = SQLField(primary_key=True)
    office_id: str = SQLField(max_length=40)
    hazard: str = SQLField(max_length=40)
    village: str | None = SQLField(default=None, max_length=200)
    district: str | None = SQLField(default=None, max_length=200)
    households_affected: int = 0
    reported_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))


class ShortageRow(LogisticsTable, table=True):
    """What an incident needed and no warehouse could give, for the coordinator."""

    __tablename__ = "shortage"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    office_id: str = SQLField(index=True, max_length=40)
    case_id: UUID = SQLField(index=True)
    item_code: str = SQLField(max_length=40)
    requested: int
    allocated: int
    missing: int
    reason: str = SQLField(max_length=40)
    detected_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))


class HandedOverLine(BaseModel):
    """One item of a handover record, named and counted as the paper prints it."""

    item_code: str
    item_name: str
    unit: str
    quantity: int


class HandoverRow(LogisticsTable, table=True):
    """A handover record (BAST, berita acara serah terima): what, how much, from whom, to
    whom, when. One per dispatch."""

    __tablename__ = "handover"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    dispatch_id: UUID = SQLField(foreign_key="dispatch.id", unique=True)
    number: str = SQLField(max_length=60)
    handed_over_by: str = SQLField(max_length=200)
    received_by: str = SQLField(max_length=200)
    receiver_organisation: str = SQLField(max_length=200)
    handed_over_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    lines: list[HandedOverLine] = SQLField(
        sa_column=Column(TypedJSON(list[HandedOverLine]), nullable=False)
    )
    # The signers as the paper prints them (004: signed and stamped), kept as they were on
    # the day: a head of office who moves on does not change yesterday's BAST. None on
    # records from before: the paper leaves a line to write on.
    handed_over_by_nip: str | None = SQLField(default=None, max_length=18)
    received_by_nip: str | None = SQLField(default=None, max_length=18)
    place: str | None = SQLField(default=None, max_length=200)
    head_name: str | None = SQLField(default=None, max_length=200)
    head_nip: str | None = SQLField(default=None, max_length=18)
    head_title: str | None = SQLField(default=None, max_length=200)
    head_rank: str | None = SQLField(default=None, max_length=200)


class ReleaseIn(ApiModel):
    """Warehouse staff confirm the goods are loaded and leave."""

    released_by: ShortText = ignored_actor_field()


class DispatchLineOut(BaseModel):
    """A quantity from one lot."""

    item_code: str
    lot_id: UUID
    quantity: int
    received_on: date
    expires_on: date | None


class DispatchOut(BaseModel):
    """A dispatch as the API shows it."""

    id: UUID
    case_id: UUID
    case_type: str
    office_id: str
    warehouse_code: str
    status: DispatchStatus
    destination: GeoPoint
    distance_km: float
    lines: list[DispatchLineOut]
    planned_at: datetime
    released_at: datetime | None
    released_by: str | None
    picked_by: str | None
    picked_at: datetime | None

    @classmethod
    def of(cls, row: DispatchRow) -> DispatchOut:
        """The API view of a row."""
        return cls.model_validate(
            row.model_dump() | {"destination": GeoPoint(lat=row.dest_lat, lon=row.dest_lon)}
        )


class ShortageOut(BaseModel):
    """An unmet need of an incident."""

    case_id: UUID
    item_code: str
    requested: int
    allocated: int
    missing: int
    reason: str
    detected_at: datetime


class CancelIn(ApiModel):
    """Who gives a planned dispatch's goods back to free stock."""

    cancelled_by: ShortText = ignored_actor_field()


class PickSignIn(ApiModel):
    """The picker signs the pick list off: the goods are on the loading bay."""

    picked_by: ShortText = ignored_actor_field()


class HandoverIn(ApiModel):
    """The handover (BAST) of a released dispatch: who gave and who received the goods."""

    handed_over_by: ShortText = ignored_actor_field()
    handed_over_by_nip: Nip | None = Field(
        default=None, description="NIP of the officer handing over (the signed-in user)."
    )
    received_by: ShortText = Field(description="The person who took the goods over (typed).")
    received_by_nip: Nip | None = Field(
        default=None,
        description="The receiver's NIP if a civil servant (a camat, a lurah); a kepala "
        "desa or a volunteer has none.",
    )
    receiver_organisation: ShortText
    place: ShortText | None = Field(
        default=None,
        description="Where the goods were handed over, as the paper names it (a village, "
        "a posko); the office's seat if not given.",
    )


class PickLine(BaseModel):
    """One line of a pick list: take this much from this lot, here."""

    item_code: str
    item_name: str
    unit: str
    lot_id: UUID
    bin_location: str | None
    quantity: int
    received_on: date
    expires_on: date | None


class PickList(BaseModel):
    """What to take from the shelves for one dispatch, in issue order."""

    dispatch_id: UUID
    case_id: UUID
    case_type: str
    warehouse_code: str
    warehouse_name: str
    status: DispatchStatus
    planned_at: datetime
    picked_by: str | None
    picked_at: datetime | None
    lines: list[PickLine]


class HandoverOut(BaseModel):
    """A handover record (BAST)."""

    id: UUID
    number: str
    dispatch_id: UUID
    handed_over_by: str
    received_by: str
    receiver_organisation: str
    handed_over_at: datetime
    lines: list[HandedOverLine]
    handed_over_by_nip: str | None
    received_by_nip: str | None
    place: str | None
    head_name: str | None = Field(description='Who signs "Mengetahui" (the head of office).')
    head_nip: str | None
    head_title: str | None
    head_rank: str | None
