"""Event contracts: every message that crosses a service boundary, defined once.

Each event is a frozen pydantic model with an envelope (id, type, schema version, time,
office, case, correlation, causation, producer) and a payload in domain words. Inbound
bytes go through `parse_event`, which sorts every failure into a reason a dead-letter
record can carry (`EventRejected.reason`).

Indonesian words kept as they are: Tagana (trained disaster volunteers who report from the
field), Lurah / Kepala Desa / Camat (village / district heads), RT (neighbourhood unit).
"""

from __future__ import annotations

import enum
import json
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self
from uuid import UUID, uuid4

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from shared.text import FREE_TEXT

SCHEMA_VERSION = 1

OfficeId = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$"),
    Field(description="Slug of the Dinas Sosial office that owns the case, e.g. 'kukar'."),
]
ItemCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9_-]{1,39}$"),
    Field(description="Catalogue code of a relief item, e.g. 'RICE-5KG', 'FAMILY-KIT'."),
]
Quantity = Annotated[int, Field(gt=0, le=1_000_000, description="Whole units, always > 0.")]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# Free text: may hold line breaks (a description, a reason); see shared/text.py.
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), FREE_TEXT]
Producer = Literal["intake", "logistics", "distribution", "notify"]


class Contract(BaseModel):
    """Base of every wire model: immutable, and unknown fields are an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class GeoPoint(Contract):
    """A WGS84 position."""

    lat: float = Field(ge=-90, le=90, description="Latitude in decimal degrees.")
    lon: float = Field(ge=-180, le=180, description="Longitude in decimal degrees.")


class Address(Contract):
    """An Indonesian address down to the village (desa/kelurahan)."""

    street: LongText | None = Field(default=None, description="Street, RT/RW, house number.")
    village: ShortText | None = Field(default=None, description="Desa or kelurahan.")
    district: ShortText | None = Field(default=None, description="Kecamatan.")
    regency: ShortText | None = Field(default=None, description="Kabupaten or kota.")
    province: ShortText | None = Field(default=None, description="Provinsi.")
    postal_code: Annotated[str, StringConstraints(pattern=r"^\d{5}$")] | None = Field(
        default=None, description="Five-digit kode pos."
    )


class NeedLine(Contract):
    """A quantity of one catalogue item."""

    item_code: ItemCode
    quantity: Quantity


class HazardType(enum.StrEnum):
    """Kinds of disaster named in the decrees (natural and social)."""

    FLOOD = "flood"
    LANDSLIDE = "landslide"
    FIRE = "fire"
    SETTLEMENT_FIRE = "settlement_fire"
    EARTHQUAKE = "earthquake"
    STORM = "storm"
    TSUNAMI = "tsunami"
    VOLCANIC_ERUPTION = "volcanic_eruption"
    DROUGHT = "drought"
    SOCIAL_CONFLICT = "social_conflict"
    OTHER = "other"


class ReporterRole(enum.StrEnum):
    """Who may report an incident (000, 001: RT, Lurah, Camat, Desa, Tagana)."""

    TAGANA = "tagana"
    RT = "rt"
    LURAH = "lurah"
    KEPALA_DESA = "kepala_desa"
    CAMAT = "camat"
    PUBLIC = "public"


class CaseType(enum.StrEnum):
    """What kind of case an event belongs to; `case_id` is that case's id."""

    INCIDENT = "incident"  # a disaster report, from intake
    PERMAKANAN_ROUND = "permakanan_round"  # one bimonthly food round, from distribution
    SANDANG_REQUEST = "sandang_request"  # an institution's clothing request, from distribution
    PROCUREMENT = "procurement"  # a purchase request and its orders, from logistics
    STOCK = "stock"  # warehouse housekeeping not tied to a case; case_id is the lot's id
    COMPLAINT = "complaint"  # a complaint (pengaduan) recorded by office staff, from intake
    AID_APPLICATION = "aid_application"  # a victim family's aid application, from intake


class Reporter(Contract):
    """The person who reported; no contact data travels in events."""

    name: ShortText = Field(description="Reporter's name as given.")
    role: ReporterRole = Field(description="Reporter's role in the field.")


_REGISTRY: dict[str, type[EventBase]] = {}


class EventBase(Contract):
    """The envelope every event carries."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        field = cls.model_fields.get("event_type")
        if field is None or not isinstance(field.default, str):
            return
        name = field.default
        if name != cls.__name__:
            raise TypeError(f"{cls.__name__}: event_type must equal the class name, got {name}")
        if name in _REGISTRY and _REGISTRY[name].__module__ != cls.__module__:
            raise TypeError(f"event type {name} is defined twice")
        _REGISTRY[name] = cls

    event_type: str = Field(description="The contract's name; selects its schema.")
    event_id: UUID = Field(description="Unique id of this event; consumers dedupe on it.")
    schema_version: Literal[1] = Field(default=1, description="Version of this event's schema.")
    occurred_at: AwareDatetime = Field(description="When the fact happened, timezone-aware.")
    office_id: OfficeId
    case_id: UUID = Field(description="The case this event belongs to (the incident id).")
    case_type: CaseType = Field(default=CaseType.INCIDENT, description="Kind of case.")
    correlation_id: UUID = Field(description="The case or round that started this chain.")
    causation_id: UUID | None = Field(
        default=None, description="The event that caused this one; None for a first event."
    )
    producer: Producer = Field(description="The service that wrote the event.")

    @classmethod
    def first(
        cls,
        *,
        office_id: str,
        case_id: UUID,
        producer: Producer,
        occurred_at: datetime,
        **payload: Any,
    ) -> Self:
        """An event that starts a chain (caused by a person, not by another event)."""
        return cls(
            event_id=uuid4(),
            occurred_at=occurred_at,
            office_id=office_id,
            case_id=case_id,
            correlation_id=case_id,
            causation_id=None,
            producer=producer,
            **payload,
        )

    @classmethod
    def caused_by(
        cls, cause: EventBase, *, producer: Producer, occurred_at: datetime, **payload: Any
    ) -> Self:
        """An event caused by `cause`: same office, case and correlation."""
        return cls(
            event_id=uuid4(),
            occurred_at=occurred_at,
            office_id=cause.office_id,
            case_id=cause.case_id,
            case_type=cause.case_type,
            correlation_id=cause.correlation_id,
            causation_id=cause.event_id,
            producer=producer,
            **payload,
        )

    @classmethod
    def following(
        cls,
        *,
        office_id: str,
        case_id: UUID,
        correlation_id: UUID,
        causation_id: UUID | None,
        producer: Producer,
        occurred_at: datetime,
        **payload: Any,
    ) -> Self:
        """An event continuing a known chain after a person's action (e.g. release)."""
        return cls(
            event_id=uuid4(),
            occurred_at=occurred_at,
            office_id=office_id,
            case_id=case_id,
            correlation_id=correlation_id,
            causation_id=causation_id,
            producer=producer,
            **payload,
        )


# --- intake -------------------------------------------------------------------------


class IncidentReported(EventBase):
    """A disaster report was received; the response clock starts at `occurred_at`."""

    event_type: Literal["IncidentReported"] = "IncidentReported"
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
    reported_at: AwareDatetime = Field(description="When the report was received.")
    destination: GeoPoint = Field(description="Where the aid must arrive.")
    assessed_needs: tuple[NeedLine, ...] = Field(min_length=1, description="What to send.")
    verified_by: ShortText


class IncidentRejected(EventBase):
    """A coordinator found the report invalid; nothing will be sent."""

    event_type: Literal["IncidentRejected"] = "IncidentRejected"
    reason: LongText
    rejected_by: ShortText


# --- logistics ----------------------------------------------------------------------


class DispatchLine(Contract):
    """A quantity taken from one lot."""

    item_code: ItemCode
    lot_id: UUID
    quantity: Quantity
    received_on: date = Field(description="When the lot entered the warehouse (FIFO key).")
    expires_on: date | None = Field(description="Lot expiry, if the item expires.")


class DispatchPlanned(EventBase):
    """Stock was reserved in one warehouse for an incident (FIFO, unexpired)."""

    event_type: Literal["DispatchPlanned"] = "DispatchPlanned"
    dispatch_id: UUID
    warehouse_code: ShortText
    origin: GeoPoint
    destination: GeoPoint
    distance_km: float = Field(ge=0, description="Geodesic distance warehouse → destination.")
    lines: tuple[DispatchLine, ...] = Field(min_length=1)


class ShortageLine(Contract):
    """What could not be allocated for one item, and why."""

    item_code: ItemCode
    requested: Quantity
    allocated: int = Field(ge=0)
    missing: Quantity
    reason: Literal["insufficient_stock", "unknown_item"]


class StockShortageDetected(EventBase):
    """Part of an incident's needs could not be covered from any warehouse."""

    event_type: Literal["StockShortageDetected"] = "StockShortageDetected"
    lines: tuple[ShortageLine, ...] = Field(min_length=1)


class DispatchReleased(EventBase):
    """Warehouse staff confirmed loading: the goods left stock (issued)."""

    event_type: Literal["DispatchReleased"] = "DispatchReleased"
    dispatch_id: UUID
    warehouse_code: ShortText
    origin: GeoPoint
    destination: GeoPoint
    lines: tuple[DispatchLine, ...] = Field(min_length=1)
    released_by: ShortText


# --- distribution -------------------------------------------------------------------


class DeliveryScheduled(EventBase):
    """A delivery of a released dispatch to the incident location was opened."""

    event_type: Literal["DeliveryScheduled"] = "DeliveryScheduled"
    delivery_id: UUID
    dispatch_id: UUID
    destination: GeoPoint


class DeliveryAssigned(EventBase):
    """A field team took the delivery."""

    event_type: Literal["DeliveryAssigned"] = "DeliveryAssigned"
    delivery_id: UUID
    team: ShortText


class DeliveryDeparted(EventBase):
    """The goods are on the road (in transit)."""

    event_type: Literal["DeliveryDeparted"] = "DeliveryDeparted"
    delivery_id: UUID


class DeliveryArrived(EventBase):
    """The team reached the location; `occurred_at` is the arrival time."""

    event_type: Literal["DeliveryArrived"] = "DeliveryArrived"
    delivery_id: UUID
    position: GeoPoint
    distance_to_destination_m: float = Field(ge=0)


class DeliveryCompleted(EventBase):
    """The goods were handed over at the location."""

    event_type: Literal["DeliveryCompleted"] = "DeliveryCompleted"
    delivery_id: UUID
    received_by: ShortText


class DeliveryFailed(EventBase):
    """The delivery could not be completed."""

    event_type: Literal["DeliveryFailed"] = "DeliveryFailed"
    delivery_id: UUID
    reason: LongText = Field(min_length=3, description="Why it failed, for the coordinator.")


# --- notify -------------------------------------------------------------------------


class ResponseDeadlineAtRisk(EventBase):
    """A set fraction of the response target passed with no aid at the location."""

    event_type: Literal["ResponseDeadlineAtRisk"] = "ResponseDeadlineAtRisk"
    service_code: ShortText
    deadline: AwareDatetime
    threshold: float = Field(gt=0, lt=1, description="Fraction of the target that elapsed.")
    seconds_remaining: float = Field(ge=0)


class ResponseDeadlineBreached(EventBase):
    """The response target passed with no aid at the location."""

    event_type: Literal["ResponseDeadlineBreached"] = "ResponseDeadlineBreached"
    service_code: ShortText
    deadline: AwareDatetime


class ResponseClockStopped(EventBase):
    """Aid arrived (or the case was rejected): the clock stopped with this outcome."""

    event_type: Literal["ResponseClockStopped"] = "ResponseClockStopped"
    service_code: ShortText
    outcome: Literal["met", "late", "cancelled"]
    response_seconds: float = Field(ge=0)
    target_seconds: float = Field(gt=0)


# Every concrete event registers itself here (see `EventBase.__pydantic_init_subclass__`),
# so each service's contracts can live in their own module and still be parsed here.
AnyEvent = EventBase


def event_types() -> tuple[type[EventBase], ...]:
    """Every event type any service may publish."""
    return tuple(_REGISTRY.values())


def event_class(event_type: str) -> type[EventBase] | None:
    """The contract named `event_type`, or None when no service publishes it."""
    return _REGISTRY.get(event_type)


class EventRejected(Exception):
    """Inbound bytes that are not a valid event; `reason` is a stable code for the DLQ."""

    def __init__(self, reason: str, detail: str, event_id: str | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.event_id = event_id


def serialize_event(event: EventBase) -> bytes:
    """The wire form: UTF-8 JSON."""
    return event.model_dump_json().encode()


def parse_event(raw: bytes | None) -> AnyEvent:
    """Parse wire bytes into a typed event, or raise `EventRejected` with a reason code.

    Reasons: empty, undecodable (not UTF-8 JSON), not_an_object, unknown_event_type,
    unsupported_schema_version, invalid_event (schema-invalid fields).
    """
    if not raw:
        raise EventRejected("empty", "message has no value")
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EventRejected("undecodable", str(exc)) from exc
    if not isinstance(document, dict):
        raise EventRejected("not_an_object", f"expected a JSON object, got {type(document)}")
    raw_id = document.get("event_id")
    event_id = raw_id if isinstance(raw_id, str) else None
    event_type = document.get("event_type")
    contract = event_class(event_type) if isinstance(event_type, str) else None
    if contract is None:
        raise EventRejected("unknown_event_type", f"event_type={event_type!r}", event_id)
    if document.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
        raise EventRejected(
            "unsupported_schema_version",
            f"{event_type} v{document.get('schema_version')!r}; this build reads v1",
            event_id,
        )
    try:
        return contract.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise EventRejected("invalid_event", problems, event_id) from exc


# The other services' contracts register themselves on import; importing them here means
# `parse_event` knows every event whichever module a process imported first.
from shared import (  # noqa: E402, F401
    events_alerts,
    events_complaints,
    events_disaster_aid,
    events_field,
    events_programs,
    events_stock,
)
