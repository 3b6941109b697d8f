"""Bodies too large or of a type no endpoint reads are refused before any handler runs,
with the same error shape as every other refusal; nothing reaches the use case."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import Field

from shared.contracts.envelope import Address, LongText, ShortText
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


class Place(ApiModel):
    """A short name, free text with line breaks, and a nested shared contract."""

    name: ShortText
    description: LongText = ""
    address: Address | None = None
    tags: list[ShortText] = Field(default_factory=list)


@pytest.fixture
def places(calls: list[str]) -> Iterator[TestClient]:
    app = FastAPI()
    app.add_middleware(RequestGuard, max_body_bytes=LIMIT)
    install_error_handlers(app)

    @app.post("/places", status_code=201)
    def create(place: Place) -> Place:
        calls.append(place.name)
        return place

    @app.get("/places")
    def search(name: str = "") -> list[str]:
        calls.append(name)
        return [name]

    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize(
    "body",
    [
        {"name": "a\u0000b"},
        {"name": "Tim\r\nSet-Cookie: x=1"},
        {"name": "Tim\tA"},
        {"name": "Tim", "description": "banjir\u0000"},
        {"name": "Tim", "address": {"village": "Suka\u0007rame"}},
        {"name": "Tim", "address": {"street": "Jl. A\u0000"}},
        {"name": "Tim", "tags": ["ok", "x\u009b"]},
    ],
)
def test_control_characters_in_a_body_are_a_clear_422(
    places: TestClient, calls: list[str], body: dict[str, object]
) -> None:
    response = places.post("/places", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "control_character"
    assert response.json()["detail"][0]["type"] == "control_character"
    assert calls == []


def test_free_text_keeps_its_line_breaks_and_other_text_is_untouched(
    places: TestClient, calls: list[str]
) -> None:
    body = {
        "name": "\u202egnp.exe <b>",
        "description": "Banjir 1 m.\r\n\tRT 05 terendam.",
        "address": {"street": "Jl. Mulawarman\nRT 05"},
    }
    response = places.post("/places", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["description"] == body["description"]
    assert response.json()["address"]["street"] == "Jl. Mulawarman\nRT 05"
    assert calls == [body["name"]]


@pytest.mark.parametrize("query", ["name=a%00b", "name=a%0D%0Ab", "x=1&name=%1b"])
def test_control_characters_in_the_address_are_a_clear_422(
    places: TestClient, calls: list[str], query: str
) -> None:
    response = places.get(f"/places?{query}")
    assert response.status_code == 422
    assert response.json()["error"] == "control_character"
    assert calls == []
    assert places.get("/places", params={"name": "a b"}).json() == ["a b"]
