"""Every event as one discriminated union, and the wire form in and out.

`AnyEvent` lists every contract by name, discriminated by `event_type`: what a process
can parse is what this file says, never what happened to be imported first. A handler
that must answer every event writes `match event:` over it with `assert_never` in the
last case, and mypy names the event it forgot. The registry (`event_types`,
`event_class`) is read off the union.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import Field, TypeAdapter, ValidationError

from shared.contracts import distribution, intake, intake_disaster_aid, logistics, notify
from shared.contracts.envelope import EventBase

# Spelled `Union[...]` rather than `A | B | ...`: pydantic's discriminator reads it the
# same, and one event per line reads better in review than a chained `|`.
AnyEvent = Annotated[
    Union[  # noqa: UP007 (see above)
        # intake
        intake.IncidentReported,
        intake.IncidentVerified,
        intake.IncidentRejected,
        intake.IncidentUpdated,
        intake.ReportLinkedToIncident,
        intake.IncidentDocumentAttached,
        intake.DispositionRecorded,
        intake.EmergencyStatusDeclared,
        intake.RapidAssessmentRecorded,
        intake.ComplaintReceived,
        intake.ComplaintHandlingStarted,
        intake.ComplaintAnswered,
        intake.ComplaintClosed,
        intake_disaster_aid.AffectedFamiliesCounted,
        intake_disaster_aid.AffectedFamiliesListed,
        intake_disaster_aid.AidApplicationFiled,
        intake_disaster_aid.AidApplicationDocumentsCompleted,
        intake_disaster_aid.AidApplicationSettled,
        intake_disaster_aid.AidApplicationWithdrawn,
        # logistics
        logistics.DispatchPlanned,
        logistics.StockShortageDetected,
        logistics.DispatchReleased,
        logistics.StockMoved,
        logistics.LotQuarantined,
        logistics.LotNearExpiry,
        logistics.StockBelowMinimum,
        logistics.PurchaseRequested,
        logistics.PurchaseOrderPlaced,
        logistics.GoodsReceived,
        logistics.ProcurementCompleted,
        # distribution
        distribution.DeliveryScheduled,
        distribution.DeliveryAssigned,
        distribution.DeliveryDeparted,
        distribution.DeliveryArrived,
        distribution.DeliveryCompleted,
        distribution.DeliveryFailed,
        distribution.DeliveryReturned,
        distribution.DeliveryRunPlanned,
        distribution.DeliveryRunDeparted,
        distribution.GoodsRequested,
        distribution.PermakananRoundScheduled,
        distribution.PermakananRoundCompleted,
        distribution.SandangRequested,
        distribution.SandangProcurementStarted,
        distribution.SandangHandedOver,
        distribution.RecipientFlaggedForReview,
        # notify
        notify.ResponseDeadlineAtRisk,
        notify.ResponseDeadlineBreached,
        notify.ResponseClockStopped,
        notify.StageOverdue,
        notify.BreachPredicted,
        notify.AlertEscalated,
        notify.AlertAcknowledged,
    ],
    Field(discriminator="event_type"),
]

EVENTS: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)

# A document without `schema_version` was written before events carried one: version 1.
UNVERSIONED = 1


@cache
def event_types() -> tuple[type[EventBase], ...]:
    """Every event type any service may publish, in the union's order."""
    members: tuple[type[EventBase], ...] = get_args(get_args(AnyEvent)[0])
    return members


@cache
def _by_name() -> dict[str, type[EventBase]]:
    return {contract.__name__: contract for contract in event_types()}


def event_class(event_type: str) -> type[EventBase] | None:
    """The contract named `event_type`, or None when no service publishes it."""
    return _by_name().get(event_type)


def schema_versions(contract: type[EventBase]) -> tuple[int, ...]:
    """The versions of `contract` this build reads (its `schema_version` literal)."""
    annotation = contract.model_fields["schema_version"].annotation
    if get_origin(annotation) is not Literal:
        raise TypeError(f"{contract.__name__}.schema_version is not a Literal of versions")
    return tuple(int(version) for version in get_args(annotation))


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
    version = document.setdefault("schema_version", UNVERSIONED)
    readable = schema_versions(contract)
    if version not in readable:
        raise EventRejected(
            "unsupported_schema_version",
            f"{event_type} v{version!r}; this build reads "
            + ", ".join(f"v{known}" for known in readable),
            event_id,
        )
    try:
        return EVENTS.validate_python(document)
    except ValidationError as exc:
        raise EventRejected("invalid_event", _problems(exc, contract.__name__), event_id) from exc


def _problems(exc: ValidationError, event_type: str) -> str:
    """`field: message; ...`, without the union's tag that pydantic puts first."""
    problems = []
    for error in exc.errors():
        location: tuple[Any, ...] = tuple(error["loc"])
        if location[:1] == (event_type,):
            location = location[1:]
        problems.append(f"{'.'.join(str(part) for part in location)}: {error['msg']}")
    return "; ".join(problems)
