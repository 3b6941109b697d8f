"""Bodies too large or of a type no endpoint reads are refused before any handler runs,
with the same error shape as every other refusal; nothing reaches the use case."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.http import ApiModel, RequestGuard, install_error_handlers

LIMIT = 4096


class Note(ApiModel):
    text: str


@pytest.fixture
def calls() -> list[str]:
    return []


@pytest.fixture
def client(calls: list[str]) -> Iterator[TestClient]:
    app = FastAPI()
    app.add_middleware(RequestGuard, max_body_bytes=LIMIT)
    install_error_handlers(app)

    @app.post("/notes", status_code=201)
    def create(note: Note) -> dict[str, str]:
        calls.append(note.text)
        return {"text": note.text}

    @app.get("/notes")
    def read() -> list[str]:
        return calls

    with TestClient(app) as test_client:
        yield test_client


def test_a_body_within_the_limit_passes(client: TestClient, calls: list[str]) -> None:
    response = client.post("/notes", json={"text": "banjir"})
    assert response.status_code == 201
    assert calls == ["banjir"]


def test_a_body_over_the_limit_is_refused_with_413(client: TestClient, calls: list[str]) -> None:
    response = client.post("/notes", json={"text": "x" * (LIMIT + 1)})
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"
    assert calls == []


def test_a_chunked_body_over_the_limit_is_refused_too(client: TestClient, calls: list[str]) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    response = client.post("/notes", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert calls == []


@pytest.mark.parametrize("media_type", ["text/plain", "application/xml", "image/png"])
def test_a_body_of_another_type_is_refused_with_415(
    client: TestClient, calls: list[str], media_type: str
) -> None:
    response = client.post("/notes", content=b'{"text": "a"}', headers={"content-type": media_type})
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"
    assert calls == []


def test_a_length_that_is_not_a_number_is_refused(client: TestClient, calls: list[str]) -> None:
    response = client.post(
        "/notes",
        content=b'{"text": "a"}',
        headers={"content-type": "application/json", "content-length": "-1"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_content_length"
    assert calls == []


def test_reads_are_not_affected(client: TestClient) -> None:
    assert client.get("/notes").status_code == 200


@pytest.mark.parametrize(
    "text",
    [
        "'; DROP TABLE incident; --",
        "<script>alert(1)</script>",
        "{{7*7}} ${7*7} %s %n",
        "Robert'); DELETE FROM lot WHERE ('1'='1",
    ],
)
def test_injection_strings_are_data_not_code(
    client: TestClient, calls: list[str], text: str
) -> None:
    response = client.post("/notes", json={"text": text})
    assert response.status_code == 201
    assert response.json() == {"text": text}
    assert response.headers["content-type"] == "application/json"
    assert calls == [text]
