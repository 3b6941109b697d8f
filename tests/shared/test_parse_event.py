"""`parse_event` reads wire bytes through the discriminated union and sorts every failure
into a reason code a dead-letter record carries; the codes are part of the operations
contract (alerts and the admin CLI filter on them), so they are pinned here."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.contracts.envelope import CaseType
from shared.contracts.intake import IncidentRejected
from shared.contracts.union import EventRejected, parse_event, serialize_event

CASE = uuid.uuid4()
REJECTED = IncidentRejected.first(
    office_id="kukar",
    case_id=CASE,
    producer="intake",
    occurred_at=datetime(2026, 11, 29, 8, 0, tzinfo=UTC),
    reason="duplicate report",
    rejected_by="Koordinator",
)


def document(**changes: Any) -> dict[str, Any]:
    wire: dict[str, Any] = json.loads(serialize_event(REJECTED))
    wire.update(changes)
    return wire


def refused(raw: bytes | None) -> EventRejected:
    with pytest.raises(EventRejected) as caught:
        parse_event(raw)
    return caught.value


def test_an_event_comes_back_as_its_own_class_equal_to_what_was_sent() -> None:
    parsed = parse_event(serialize_event(REJECTED))
    assert type(parsed) is IncidentRejected
    assert parsed == REJECTED


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "empty"),
        (b"", "empty"),
        (b"{not json", "undecodable"),
        (b"\xff\xfe", "undecodable"),
        (b"[1, 2]", "not_an_object"),
        (json.dumps({"event_type": "AidTeleported"}).encode(), "unknown_event_type"),
        (json.dumps({"event_id": "x"}).encode(), "unknown_event_type"),
        (json.dumps({"event_type": 7}).encode(), "unknown_event_type"),
    ],
)
def test_bytes_that_are_no_known_event_are_refused_with_their_reason(
    raw: bytes | None, reason: str
) -> None:
    assert refused(raw).reason == reason


def test_a_version_this_build_does_not_read_is_refused_naming_the_versions_it_reads() -> None:
    rejection = refused(json.dumps(document(schema_version=2)).encode())
    assert rejection.reason == "unsupported_schema_version"
    assert rejection.detail == "IncidentRejected v2; this build reads v1"
    assert rejection.event_id == str(REJECTED.event_id)


def test_an_event_written_before_events_carried_a_version_is_read_as_version_1() -> None:
    wire = document()
    del wire["schema_version"]
    parsed = parse_event(json.dumps(wire).encode())
    assert parsed.schema_version == 1
    assert parsed == REJECTED


def test_invalid_fields_are_named_without_the_unions_tag() -> None:
    rejection = refused(json.dumps(document(office_id="Not An Office", extra=1)).encode())
    assert rejection.reason == "invalid_event"
    assert rejection.detail.startswith("office_id: String should match pattern")
    assert "extra: Extra inputs are not permitted" in rejection.detail
    assert "IncidentRejected." not in rejection.detail
    assert rejection.event_id == str(REJECTED.event_id)


def test_a_model_rule_of_an_event_is_an_invalid_event() -> None:
    wire = document(event_type="ComplaintClosed", closed_by="Staf", case_type="incident")
    del wire["reason"], wire["rejected_by"]
    rejection = refused(json.dumps(wire).encode())
    assert rejection.reason == "invalid_event"
    assert "case_type 'complaint'" in rejection.detail
    assert (
        parse_event(json.dumps({**wire, "case_type": CaseType.COMPLAINT.value}).encode()).case_type
        is CaseType.COMPLAINT
    )
