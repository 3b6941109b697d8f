"""schemathesis against the four services' published OpenAPI documents, in process, on a
real SQLite database and as a signed-in user holding every role: no answer is a server
error, every answer's status, content type and body are the ones the document declares,
and data the document forbids is refused.

The apps run without their lifespan (no broker, no relay, no consumers): what a request
publishes stays in the outbox, which is all an HTTP answer depends on.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.result import Err
from schemathesis.generation import GenerationMode
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.contract.services import build_app, every_role
from tests.distribution.programs_support import person

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# They answer 503 here, rightly: without the lifespan no broker or consumer is up.
PROBES = frozenset({"/health", "/readyz"})
# A live stream never ends for a client that follows it: asked for what is there only.
STREAMS = {"/feed": {"follow": False}}
# Bounded so the four services together add about a minute to the suite on 2 cores.
EXAMPLES = settings(
    max_examples=int(os.environ.get("CONTRACT_EXAMPLES", "6")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


class WithoutLifespan:
    """The app with its lifespan answered here and not run: no broker, no relay, no
    consumers, so only what a request itself does is tested."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].removeprefix("lifespan.")
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        await self.app(scope, receive, send)


Service = tuple[BaseSchema, dict[str, str], dict[str, str]]


def _service(service: str, tmp: Path) -> Service:
    """The service's published document bound to the app (cases are called in process,
    without the lifespan), a signed-in user's headers, and the ids of a few records made
    through the API first, by path parameter name, so cases reach past "unknown id"."""
    app = build_app(service, tmp)
    app.state.runtime.create_tables()
    headers = every_role(app)
    with TestClient(WithoutLifespan(app)) as client:
        known = SEEDS.get(service, _nothing)(client, headers)
    document = schemathesis.openapi.from_asgi("/openapi.json", WithoutLifespan(app))
    return document, headers, known


def _nothing(_client: TestClient, _headers: dict[str, str]) -> dict[str, str]:
    return {}


def _made(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    return made


def _intake_records(client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    report = {
        "reporter": {"name": "Tim Tagana Tenggarong", "role": "tagana", "phone": "+62812345678"},
        "hazard": "flood",
        "happened_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
        "location": {"lat": -0.4230, "lon": 116.9860},
        "households_affected": 42,
        "people_affected": 150,
        "stated_needs": [{"item_code": "RICE-5KG", "quantity": 40}],
    }
    incident = _made(client.post("/reports", json=report, headers=headers))
    return {"incident_id": incident["id"]}


def _logistics_records(client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    site = {"lat": -0.42, "lon": 116.98}
    warehouse = {"code": "GDG-TGR", "name": "Gudang Tenggarong", "location": site}
    _made(client.post("/warehouses", json=warehouse, headers=headers))
    item = {"code": "RICE-5KG", "name": "Beras 5 kg", "unit": "karung"}
    _made(client.post("/items", json=item, headers=headers))
    lot = {
        "item_code": "RICE-5KG",
        "warehouse_code": "GDG-TGR",
        "quantity": 100,
        "received_on": (datetime.now(UTC) - timedelta(days=1)).date().isoformat(),
        "source": "Donasi",
    }
    made = _made(client.post("/lots", json=lot, headers=headers))
    return {"item_code": "RICE-5KG", "lot_id": made["id"]}


def _distribution_records(client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    recipient = person(1).model_dump(mode="json", exclude_none=True)
    made = _made(client.post("/recipients", json=recipient, headers=headers))
    return {"recipient_id": made["id"]}


def _notify_records(client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    subscription = {
        "channel": "email",
        "email": "posko@kukarkab.go.id",
        "event_types": ["ResponseDeadlineBreached"],
    }
    made = _made(client.post("/subscriptions", json=subscription, headers=headers))
    return {"subscription_id": made["id"]}


SEEDS: dict[str, Callable[[TestClient, dict[str, str]], dict[str, str]]] = {
    "intake": _intake_records,
    "logistics": _logistics_records,
    "distribution": _distribution_records,
    "notify": _notify_records,
}


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Service:
    return _service("intake", tmp_path_factory.mktemp("intake"))


@pytest.fixture(scope="module")
def logistics(tmp_path_factory: pytest.TempPathFactory) -> Service:
    return _service("logistics", tmp_path_factory.mktemp("logistics"))


@pytest.fixture(scope="module")
def distribution(tmp_path_factory: pytest.TempPathFactory) -> Service:
    return _service("distribution", tmp_path_factory.mktemp("distribution"))


@pytest.fixture(scope="module")
def notify(tmp_path_factory: pytest.TempPathFactory) -> Service:
    return _service("notify", tmp_path_factory.mktemp("notify"))


def contract_breaches(service: Service) -> list[str]:
    """Every operation's breaches of the checks (empty: the service keeps its word), with
    data the document allows and with data it forbids."""
    schema, headers, known = service
    breaches: list[str] = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            breaches.append(f"the document itself: {result.err()}")
            continue
        operation = result.ok()
        # Signing out (POST /auth/logout) with the test user's token would end its session.
        caller = {} if operation.path.startswith("/auth/") else headers
        names = [parameter.name for parameter in operation.path_parameters]
        passes: list[tuple[GenerationMode, dict[str, str] | None]] = [
            (GenerationMode.POSITIVE, None),
            (GenerationMode.NEGATIVE, None),
        ]
        if names and all(name in known for name in names):
            passes.append((GenerationMode.POSITIVE, {name: known[name] for name in names}))
        for mode, ids in passes:
            breach = _breach(operation, mode, caller, ids)
            if breach is not None:
                where = " with a known id" if ids else ""
                breaches.append(
                    f"{operation.method.upper()} {operation.path} ({mode}{where}): {breach}"
                )
    return breaches


def _breach(
    operation: APIOperation[Any, Any, Any, Any],
    mode: GenerationMode,
    headers: dict[str, str],
    ids: dict[str, str] | None,
) -> str | None:
    """The checks' first complaint about `operation` in `mode`, or None."""
    excluded: list[CheckFunction] = [not_a_server_error] if operation.path in PROBES else []

    query = STREAMS.get(operation.path)
    strategy = operation.as_strategy(
        generation_mode=mode, headers=headers, query=query, path_parameters=ids
    )

    @given(case=strategy)
    @EXAMPLES
    def call(case: Case[Any]) -> None:
        case.call_and_validate(checks=CHECKS, excluded_checks=excluded)

    try:
        call()
    except Unsatisfiable:
        return None  # nothing to break: no parameter and no body (negative mode)
    except (Exception, BaseExceptionGroup) as failure:  # noqa: BLE001 - reported by the caller
        return str(failure)
    return None


def test_intake_answers_as_its_openapi_says(intake: Service) -> None:
    breaches = contract_breaches(intake)
    assert not breaches, "\n\n".join(breaches)


def test_logistics_answers_as_its_openapi_says(
    logistics: Service,
) -> None:
    breaches = contract_breaches(logistics)
    assert not breaches, "\n\n".join(breaches)


def test_distribution_answers_as_its_openapi_says(
    distribution: Service,
) -> None:
    breaches = contract_breaches(distribution)
    assert not breaches, "\n\n".join(breaches)


def test_notify_answers_as_its_openapi_says(notify: Service) -> None:
    breaches = contract_breaches(notify)
    assert not breaches, "\n\n".join(breaches)
