"""The published event schemas (AsyncAPI 3.0) come from the contracts themselves: the
checked-in document cannot go stale, every event has a message on its producer's topic,
and each service serves the part it produces."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared.asyncapi import PUBLISHED_BY, asyncapi_document, asyncapi_json, every_contract_name
from shared.contracts.union import EventRejected, parse_event
from shared.topics import ALL_TOPICS
from tests.contract.services import SERVICES, build_app

ROOT = Path(__file__).resolve().parents[2]
CHECKED_IN = ROOT / "docs" / "events" / "asyncapi.json"


def test_the_checked_in_document_is_the_one_the_contracts_give() -> None:
    # Stale? Run `.venv/bin/python scripts/write_asyncapi.py` and commit the file.
    assert CHECKED_IN.read_text(encoding="utf-8") == asyncapi_json()


def test_every_event_contract_has_a_message_on_exactly_one_producers_topic() -> None:
    declared = [name for names in PUBLISHED_BY.values() for name in names]
    assert sorted(declared) == sorted(every_contract_name())
    document = asyncapi_document()
    assert set(document["components"]["messages"]) == every_contract_name()
    on_channels = [
        name for channel in document["channels"].values() for name in channel["messages"]
    ]
    assert sorted(on_channels) == sorted(every_contract_name())
    assert {channel["address"] for channel in document["channels"].values()} == {
        topic.name for topic in ALL_TOPICS
    }


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_builds_only_the_events_it_is_declared_to_publish(service: str) -> None:
    """An event's producer is set where it is made, so the declaration is checked against
    the code: a `Contract.first(`, `.caused_by(`, `.following(` or `Contract(` call (read
    from the syntax tree: a `case Contract(...)` pattern only looks like a call)."""
    others = every_contract_name() - set(PUBLISHED_BY[service])
    sources = (ROOT / "services" / service).rglob("*.py")
    found = {
        name
        for path in sources
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
        if isinstance(node, ast.Call) and (name := _built(node.func)) in others
    }
    assert found == set()


def _built(called: ast.expr) -> str | None:
    """The contract a call makes: `X(`, `module.X(` or `X.first(` (and its kin) name X."""
    if isinstance(called, ast.Attribute) and called.attr in {"first", "caused_by", "following"}:
        called = called.value
    if isinstance(called, ast.Name):
        return called.id
    if isinstance(called, ast.Attribute):
        return called.attr
    return None


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_every_reference_in_the_document_resolves() -> None:
    document = asyncapi_document()
    for ref in _refs(document):
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        assert isinstance(node, dict), ref


def test_a_message_schema_refuses_unknown_fields_as_the_parser_does() -> None:
    schema = asyncapi_document()["components"]["schemas"]["IncidentRejected"]
    assert schema["additionalProperties"] is False
    assert {"event_id", "occurred_at", "office_id", "case_id", "reason"} <= set(schema["required"])
    with pytest.raises(EventRejected) as refused:
        parse_event(json.dumps({"event_type": "IncidentRejected", "extra": 1}).encode())
    assert refused.value.reason == "invalid_event"
    assert "extra" in refused.value.detail


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_serves_the_events_of_its_own_topic_without_a_token(
    service: str, tmp_path: Path
) -> None:
    app = build_app(service, tmp_path)
    answer = TestClient(app).get("/asyncapi.json")
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert document["asyncapi"] == "3.0.0"
    (channel,) = document["channels"].values()
    assert channel["address"] == next(t.name for t in ALL_TOPICS if t.producer == service)
    assert set(document["components"]["messages"]) == set(PUBLISHED_BY[service])
