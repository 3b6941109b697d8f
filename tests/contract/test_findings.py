"""What schemathesis found against the services, each pinned by a plain test: the answer
is the documented 4xx in the error shape, not a server error."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

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
    for last_seen in (b"99999999999999999999999", "²".encode("latin-1")):
        answer = client.get(
            "/feed",
            params={"follow": "false"},
            headers=[*headers.items(), ("Last-Event-ID", last_seen)],
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
