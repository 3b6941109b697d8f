"""What schemathesis found against the services, each pinned by a plain test: the answer
is the documented 4xx in the error shape, not a server error."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError

from services.distribution.models.deliveries import ArrivalIn, CompletionIn
from services.distribution.models.permakanan import ProgramIn
from services.distribution.models.registry import CorrectionIn, RecipientIn
from services.distribution.models.runs import RunIn
from services.intake.models import ReportIn, VerificationIn
from services.logistics.models.catalogue import WarehouseIn
from services.notify.app import create_app as create_notify
from services.notify.settings import NotifySettings
from shared.auth import Role
from tests.contract.services import build_app, every_role
from tests.support.access import signed_in, token_for


def _client(app: FastAPI) -> TestClient:
    """A client for `app` without its lifespan (no broker needed), on fresh tables; an
    error inside a streamed answer, after its 200 went out, reaches the test."""
    app.state.runtime.create_tables()
    return TestClient(app, raise_server_exceptions=True)


def _notify(tmp_path: Path) -> tuple[TestClient, dict[str, str]]:
    settings = signed_in(NotifySettings, tmp_path)
    headers = {"Authorization": f"Bearer {token_for(settings.auth, *Role)}"}
    return _client(create_notify(settings)), headers


def test_a_feed_position_beyond_64_bits_is_refused_not_a_server_error(tmp_path: Path) -> None:
    client, headers = _notify(tmp_path)
    answer = client.get("/feed", params={"after": 2**63, "follow": "false"}, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_request"


def test_a_last_event_id_beyond_64_bits_reads_from_the_end_not_a_server_error(
    tmp_path: Path,
) -> None:
    client, headers = _notify(tmp_path)
    # "²" is a digit to str.isdigit, but not to int().
    token = headers["Authorization"].encode()
    for last_seen in (b"99999999999999999999999", "²".encode("latin-1")):
        answer = client.get(
            "/feed",
            params={"follow": "false"},
            headers=[(b"Authorization", token), (b"Last-Event-ID", last_seen)],
        )
        assert answer.status_code == 200, (last_seen, answer.text)
        assert answer.text == ""


def test_a_method_the_path_does_not_take_is_answered_405_with_every_allowed_method(
    tmp_path: Path,
) -> None:
    app = build_app("logistics", tmp_path)
    client = _client(app)
    answer = client.delete("/lots", headers=every_role(app))
    assert answer.status_code == 405
    assert answer.json()["error"] == "method_not_allowed"
    assert answer.headers["Allow"] == "GET, HEAD, POST"


def test_a_warehouse_outside_indonesia_is_refused_as_its_schema_says(tmp_path: Path) -> None:
    app = build_app("logistics", tmp_path)
    client = _client(app)
    warehouse = {"code": "GDG-X", "name": "Gudang X", "location": {"lat": 52.52, "lon": 13.4}}
    answer = client.post("/warehouses", json=warehouse, headers=every_role(app))
    assert answer.status_code == 422
    assert answer.json()["error"] == "location_outside_indonesia"
    assert "swapped" in answer.text
    assert client.get("/warehouses", headers=every_role(app)).json() == []


def test_a_boolean_is_not_read_as_a_number(tmp_path: Path) -> None:
    app = build_app("logistics", tmp_path)
    client = _client(app)
    headers = every_role(app)
    warehouse = {"code": "GDG-X", "name": "Gudang X", "location": {"lat": True, "lon": 116.9}}
    answer = client.post("/warehouses", json=warehouse, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["type"] == "boolean_not_number"
    assert client.get("/warehouses", headers=headers).json() == []


def test_the_openapi_states_indonesias_bounding_box_for_a_position(tmp_path: Path) -> None:
    document = build_app("logistics", tmp_path).openapi()
    point = document["components"]["schemas"]["IndonesianPoint"]["properties"]
    assert (point["lat"]["minimum"], point["lat"]["maximum"]) == (-11.5, 6.5)
    assert (point["lon"]["minimum"], point["lon"]["maximum"]) == (94.5, 141.5)


def test_every_error_answer_in_every_openapi_has_the_one_error_shape(tmp_path: Path) -> None:
    for service in ("intake", "logistics", "distribution", "notify"):
        document = build_app(service, tmp_path / service).openapi()
        assert "HTTPValidationError" not in document["components"]["schemas"]
        for path, item in document["paths"].items():
            for method, operation in item.items():
                answers = operation["responses"]
                if path not in ("/livez", "/metrics"):
                    assert "503" in answers, (service, method, path)
                for status, answer in answers.items():
                    if int(status) >= 400 and path not in ("/health", "/readyz"):
                        schema = answer["content"]["application/json"]["schema"]
                        assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, status)


@pytest.mark.parametrize(
    ("model", "field"),
    [
        (ReportIn, "location"),
        (VerificationIn, "location"),
        (WarehouseIn, "location"),
        (RecipientIn, "position"),
        (CorrectionIn, "position"),
        (ProgramIn, "hub"),
        (ArrivalIn, "position"),
        (CompletionIn, "position"),
        (RunIn, "start"),
    ],
)
def test_every_position_a_user_gives_is_refused_outside_indonesia_before_any_use_case(
    model: type[BaseModel], field: str
) -> None:
    """The handlers' own checks stay; the body is refused first, as its schema says."""
    with pytest.raises(ValidationError) as refused:
        model.model_validate({field: {"lat": 52.52, "lon": 13.4}})
    errors = [error for error in refused.value.errors() if error["loc"] == (field,)]
    assert [error["type"] for error in errors] == ["outside_indonesia"]
