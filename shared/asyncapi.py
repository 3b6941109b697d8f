"""The events, published for other systems: an AsyncAPI 3.0 document built from the typed
contracts (`shared.contracts`) and the topics (`shared.topics`).

One channel per topic (its address is the Kafka topic name); one message per event
type, its payload the contract's JSON Schema as pydantic validates it; one `send`
operation per producing service. Each service serves the part it produces at
`GET /asyncapi.json`; `docs/events/asyncapi.json` holds the whole, written by
`scripts/write_asyncapi.py` and checked against this module by a test.

Which service publishes which event is declared here (`PUBLISHED_BY`): an event's
`producer` is set when it is made, not in its class. A test checks that every contract
is declared once and that no service builds an event it is not declared to publish.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from fastapi import APIRouter
from pydantic.json_schema import models_json_schema

from shared.auth import Access, Policy
from shared.contracts.envelope import EventBase
from shared.contracts.union import event_class, event_types
from shared.topics import ALL_TOPICS, Topic

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
# The document's own version, raised when its layout changes (2: each event carries its
# own `schema_version`, shown as a constant in its payload schema, instead of one for all).
DOCUMENT_VERSION = "2"

PUBLISHED_BY: dict[str, tuple[str, ...]] = {
    "intake": (
        "IncidentReported",
        "IncidentVerified",
        "IncidentRejected",
        "IncidentUpdated",
        "ReportLinkedToIncident",
        "ComplaintReceived",
        "ComplaintHandlingStarted",
        "ComplaintAnswered",
        "ComplaintClosed",
        "IncidentDocumentAttached",
        "DispositionRecorded",
        "EmergencyStatusDeclared",
        "RapidAssessmentRecorded",
        "AffectedFamiliesCounted",
        "AffectedFamiliesListed",
        "AidApplicationFiled",
        "AidApplicationDocumentsCompleted",
        "AidApplicationSettled",
        "AidApplicationWithdrawn",
    ),
    "logistics": (
        "DispatchPlanned",
        "StockShortageDetected",
        "DispatchReleased",
        "StockMoved",
        "LotQuarantined",
        "LotNearExpiry",
        "StockBelowMinimum",
        "PurchaseRequested",
        "PurchaseOrderPlaced",
        "GoodsReceived",
        "ProcurementCompleted",
    ),
    "distribution": (
        "DeliveryScheduled",
        "DeliveryAssigned",
        "DeliveryDeparted",
        "DeliveryArrived",
        "DeliveryCompleted",
        "DeliveryFailed",
        "DeliveryReturned",
        "DeliveryRunPlanned",
        "DeliveryRunDeparted",
        "GoodsRequested",
        "PermakananRoundScheduled",
        "PermakananRoundCompleted",
        "SandangRequested",
        "SandangProcurementStarted",
        "SandangHandedOver",
        "RecipientFlaggedForReview",
    ),
    "notify": (
        "ResponseDeadlineAtRisk",
        "ResponseDeadlineBreached",
        "ResponseClockStopped",
        "StageOverdue",
        "BreachPredicted",
        "AlertEscalated",
        "AlertAcknowledged",
    ),
}


def contracts_of(producer: str) -> list[type[EventBase]]:
    """The event contracts `producer` publishes, in declaration order."""
    found = [event_class(name) for name in PUBLISHED_BY.get(producer, ())]
    return [contract for contract in found if contract is not None]


@cache
def asyncapi_document(producer: str | None = None) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the topics `producer` writes (None: every topic)."""
    topics = [topic for topic in ALL_TOPICS if producer in (None, topic.producer)]
    contracts = [contract for topic in topics for contract in contracts_of(topic.producer)]
    _, definitions = models_json_schema(
        [(contract, "validation") for contract in contracts],
        ref_template="#/components/schemas/{model}",
    )
    title = "Dinas Sosial events" + (f": {producer}" if producer else "")
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": title,
            "version": DOCUMENT_VERSION,
            "description": "Every event the services publish on Kafka: UTF-8 JSON, keyed by "
            "the case id (`case_id`) so one case's events stay in order on one partition. "
            "Consumers dedupe on `event_id`; a message they cannot process goes to the "
            "topic's `<topic>.dlq` twin. `schema_version` is the version of that event's "
            "schema (each event has its own); a consumer refuses one it does not know.",
        },
        "defaultContentType": "application/json",
        "channels": {_channel_id(topic): _channel(topic) for topic in topics},
        "operations": {
            f"{topic.producer}_publishes_{_channel_id(topic)}": _operation(topic)
            for topic in topics
        },
        "components": {
            "messages": {contract.__name__: _message(contract) for contract in contracts},
            "schemas": definitions.get("$defs", {}),
        },
    }


def asyncapi_json(producer: str | None = None) -> str:
    """`asyncapi_document` as the text written to docs/events/asyncapi.json."""
    return json.dumps(asyncapi_document(producer), indent=2, sort_keys=True) + "\n"


def _channel_id(topic: Topic) -> str:
    return topic.name.rsplit(".", 1)[-1].replace("-", "_")


def _channel(topic: Topic) -> dict[str, Any]:
    consumers = ", ".join(topic.consumers) or "nobody yet"
    return {
        "address": topic.name,
        "title": topic.name,
        "description": f"Written by {topic.producer}, read by {consumers}; "
        f"{topic.partitions} partitions. Dead letters: {topic.dlq}.",
        "messages": {
            contract.__name__: {"$ref": f"#/components/messages/{contract.__name__}"}
            for contract in contracts_of(topic.producer)
        },
        "bindings": {
            "kafka": {
                "topic": topic.name,
                "partitions": topic.partitions,
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _operation(topic: Topic) -> dict[str, Any]:
    channel = _channel_id(topic)
    return {
        "action": "send",
        "title": f"{topic.producer} publishes",
        "channel": {"$ref": f"#/channels/{channel}"},
        "messages": [
            {"$ref": f"#/channels/{channel}/messages/{contract.__name__}"}
            for contract in contracts_of(topic.producer)
        ],
    }


def _message(contract: type[EventBase]) -> dict[str, Any]:
    summary = (contract.__doc__ or contract.__name__).strip().split("\n\n")[0]
    return {
        "name": contract.__name__,
        "title": contract.__name__,
        "summary": " ".join(summary.split()),
        "contentType": "application/json",
        "payload": {"$ref": f"#/components/schemas/{contract.__name__}"},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "format": "uuid", "description": "The case id."},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def every_contract_name() -> set[str]:
    """The name of every event contract in the union (`shared.contracts.union.AnyEvent`)."""
    return {contract.__name__ for contract in event_types()}


ASYNCAPI_PATH = "/asyncapi.json"
# Like /openapi.json: a description of the service, no data.
ASYNCAPI_POLICY: Policy = {f"GET {ASYNCAPI_PATH}": Access.anyone()}


def asyncapi_router(service: str) -> APIRouter:
    """`GET /asyncapi.json`: the AsyncAPI document of the topic `service` writes."""
    router = APIRouter(tags=["events"])

    @router.get(ASYNCAPI_PATH, summary="The events this service publishes (AsyncAPI 3.0)")
    def asyncapi() -> dict[str, Any]:
        """Channels (topics), messages (event types) and their JSON Schemas."""
        return asyncapi_document(service)

    return router
