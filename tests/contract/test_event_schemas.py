"""Each event's JSON Schema is checked in (tests/contract/event_schemas.json): a change to
a contract shows up as a failing test naming the event, saying whether the change is
additive (same version, regenerate the snapshot) or breaking (a new `schema_version`
first). Regenerate with `UPDATE_EVENT_SCHEMAS=1 .venv/bin/python -m pytest -q
tests/contract/test_event_schemas.py` once the change is right."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

import pytest
from pydantic import Field

from shared.contracts.envelope import EventBase, ShortText
from shared.contracts.union import event_types
from tests.contract.schema_changes import event_schema, verdict

SNAPSHOT = Path(__file__).with_name("event_schemas.json")


def current_schemas() -> dict[str, dict[str, Any]]:
    return {contract.__name__: event_schema(contract) for contract in event_types()}


def test_every_event_schema_is_the_one_checked_in() -> None:
    current = current_schemas()
    if os.environ.get("UPDATE_EVENT_SCHEMAS"):
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    snapshot: dict[str, dict[str, Any]] = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    said = [
        verdict(name, snapshot.get(name), current.get(name))
        for name in sorted(snapshot.keys() | current.keys())
    ]
    problems = [line for line in said if line is not None]
    assert problems == [], "\n".join(problems)


# Two versions of one made-up event, as a contract's author would edit it.


class Parcel(EventBase):
    """The event as it is in the snapshot."""

    event_type: Literal["Parcel"] = "Parcel"
    schema_version: Literal[1] = 1
    parcel_id: UUID
    label: ShortText
    note: ShortText | None = None


class ParcelWithoutLabel(EventBase):
    event_type: Literal["Parcel"] = "Parcel"
    schema_version: Literal[1] = 1
    parcel_id: UUID
    note: ShortText | None = None


class ParcelWithRequiredNote(EventBase):
    event_type: Literal["Parcel"] = "Parcel"
    schema_version: Literal[1] = 1
    parcel_id: UUID
    label: ShortText
    note: ShortText


class ParcelWithOptionalWeight(EventBase):
    event_type: Literal["Parcel"] = "Parcel"
    schema_version: Literal[1] = 1
    parcel_id: UUID
    label: ShortText
    note: ShortText | None = None
    weight_kg: float | None = Field(default=None, ge=0)


class ParcelWithRequiredWeight(EventBase):
    event_type: Literal["Parcel"] = "Parcel"
    schema_version: Literal[1] = 1
    parcel_id: UUID
    label: ShortText
    note: ShortText | None = None
    weight_kg: float


class ParcelWithoutLabelV2(EventBase):
    event_type: Literal["Parcel"] = "Parcel"
    schema_version: Literal[1, 2] = 2
    parcel_id: UUID
    note: ShortText | None = None


def said(edited: type[EventBase]) -> str:
    message = verdict("Parcel", event_schema(Parcel), event_schema(edited))
    assert message is not None
    return message


def test_an_unchanged_event_passes() -> None:
    assert verdict("Parcel", event_schema(Parcel), event_schema(Parcel)) is None


@pytest.mark.parametrize(
    ("edited", "change"),
    [
        (ParcelWithoutLabel, "/properties/label: field removed (breaking)"),
        (ParcelWithRequiredNote, "/properties/note: field made required (breaking)"),
        (ParcelWithRequiredWeight, "/properties/weight_kg: required field added (breaking)"),
    ],
)
def test_a_field_removed_or_made_required_without_a_new_version_is_called_breaking(
    edited: type[EventBase], change: str
) -> None:
    message = said(edited)
    assert message.startswith("Parcel: BREAKING change without a new schema_version (still v1)")
    assert change in message
    assert "Literal[1, 2] = 2" in message


def test_an_optional_field_added_is_called_additive_and_asks_only_for_a_new_snapshot() -> None:
    message = said(ParcelWithOptionalWeight)
    assert message.startswith("Parcel: additive change (v1 → v1)")
    assert "/properties/weight_kg: optional field added (additive)" in message
    assert "BREAKING" not in message
    assert "UPDATE_EVENT_SCHEMAS=1" in message


class ParcelWithOptionalLabel(EventBase):
    event_type: Literal["Parcel"] = "Parcel"
    schema_version: Literal[1] = 1
    parcel_id: UUID
    label: ShortText | None = None
    note: ShortText | None = None


def test_a_required_field_made_optional_is_called_additive() -> None:
    message = said(ParcelWithOptionalLabel)
    assert message.startswith("Parcel: additive change (v1 → v1)")
    assert "/properties/label: field made optional (additive)" in message
    assert "/properties/label: now also takes [{'type': 'null'}] (additive)" in message


def test_a_breaking_change_with_a_new_version_asks_only_for_a_new_snapshot() -> None:
    message = said(ParcelWithoutLabelV2)
    assert message.startswith("Parcel: breaking change with a new version (v1 → v1, v2)")
    assert "BREAKING" not in message
    assert "UPDATE_EVENT_SCHEMAS=1" in message


def test_a_tightened_limit_is_breaking_and_a_loosened_one_additive() -> None:
    snapshot = event_schema(ParcelWithOptionalWeight)
    tighter = json.loads(json.dumps(snapshot).replace('"minimum": 0', '"minimum": 1'))
    looser = json.loads(json.dumps(snapshot).replace('"minimum": 0', '"minimum": -1'))
    assert "limit tightened (0 → 1) (breaking)" in (verdict("Parcel", snapshot, tighter) or "")
    assert "limit loosened (0 → -1) (additive)" in (verdict("Parcel", snapshot, looser) or "")


def test_an_event_gone_from_the_union_is_called_breaking() -> None:
    message = verdict("Parcel", event_schema(Parcel), None)
    assert message is not None
    assert message.startswith("Parcel: BREAKING: the event was removed")
