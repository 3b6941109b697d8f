"""The envelope every event carries, and the value types the services' contracts share.

Every message that crosses a service boundary is a frozen pydantic model: this envelope
(id, type, schema version, time, office, case, correlation, causation, producer) plus a
payload in domain words. Each producing service's events live in its own module
(`intake`, `logistics`, `distribution`, `notify`); `shared.contracts.union` joins them in
the discriminated union `AnyEvent`, which is what `parse_event` reads and what a handler
matches on.

How to evolve an event (each one has its own `schema_version`, `Literal[N]`):

- **Additive, same version.** A new field with a default (`None`, `()`, `""`) or a looser
  description: events written before it still parse. Contracts refuse unknown fields, so
  every consumer must run the new contract before a producer fills the field; the four
  services ship from this one `shared` package, so one release does it.
- **Breaking, new version.** Removing or renaming a field, making one required, changing
  its type, tightening a constraint, dropping an enum value. Declare
  `schema_version: Literal[1, 2] = 2` and have a `model_validator(mode="before")` that
  lifts a version-1 document into the version-2 shape, so consumers accept both while
  events of version 1 are still in topics, outboxes and dead-letter queues; drop
  version 1 once none can be replayed. A version this build does not list is dead-lettered
  as `unsupported_schema_version`.
- **A new event.** A class in its producer's module with `event_type: Literal["<its class
  name>"]` and `schema_version: Literal[1] = 1`, added to `AnyEvent` and to
  `shared.asyncapi.PUBLISHED_BY`; tests fail until both are done.

`tests/contract/event_schemas.json` holds every event's JSON Schema; its test says which
event changed and whether the change is additive or breaking (a breaking change without
a new version fails). Rewrite it with `UPDATE_EVENT_SCHEMAS=1` once the change is right.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any, Literal, Self
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from shared.text import FREE_TEXT

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


class CaseType(enum.StrEnum):
    """What kind of case an event belongs to; `case_id` is that case's id."""

    INCIDENT = "incident"  # a disaster report, from intake
    PERMAKANAN_ROUND = "permakanan_round"  # one bimonthly food round, from distribution
    SANDANG_REQUEST = "sandang_request"  # an institution's clothing request, from distribution
    PROCUREMENT = "procurement"  # a purchase request and its orders, from logistics
    STOCK = "stock"  # warehouse housekeeping not tied to a case; case_id is the lot's id
    COMPLAINT = "complaint"  # a complaint (pengaduan) recorded by office staff, from intake
    AID_APPLICATION = "aid_application"  # a victim family's aid application, from intake


class EventBase(Contract):
    """The envelope every event carries. A concrete event narrows `event_type` to
    `Literal["<its class name>"]` and `schema_version` to the versions it reads."""

    event_type: str = Field(description="The contract's name; selects its schema.")
    event_id: UUID = Field(description="Unique id of this event; consumers dedupe on it.")
    # Each event declares its own, `Literal[N]` (see the module's docstring; a test holds
    # every event of the union to it). The default only lets an event written on a
    # branch that predates per-event versions construct until it is moved in here.
    schema_version: int = Field(default=1, description="Version of this event's schema.")
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
