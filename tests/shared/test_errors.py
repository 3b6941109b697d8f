"""One error vocabulary: the refusals live in `shared.errors` (no web framework, no
database), `shared.http` answers each with its status from one table, and the pure rule
modules import nothing that does I/O."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.distribution.recipients import TooLarge
from services.distribution.reveals import RevealLimitReached
from services.intake.document_files import DocumentTooLarge, UnsupportedDocument
from services.intake.domain import NotAnImage, PhotoTooLarge
from shared.errors import (
    Conflict,
    DomainError,
    Forbidden,
    LimitReached,
    NotFound,
    Oversized,
    Unprocessable,
    UnsupportedFormat,
)
from shared.http import install_error_handlers

ROOT = Path(__file__).resolve().parents[2]

# Modules that hold rules only: they may use the contracts (pydantic) and pure helpers,
# never a web framework, an ORM, a database driver or the HTTP conventions.
PURE_MODULES = sorted(
    {
        "shared.errors",
        "services.distribution.eligibility",
        *(f"services.{path.parent.name}.domain" for path in ROOT.glob("services/*/domain.py")),
    }
)
IMPURE = ("fastapi", "starlette", "sqlalchemy", "sqlmodel", "shared.http", "faust", "aiokafka")


@pytest.mark.parametrize("module", PURE_MODULES)
def test_a_pure_module_imports_no_web_framework_or_database(module: str) -> None:
    # A fresh interpreter: in this one the test's own imports have loaded everything.
    probe = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        f"print(json.dumps(sorted(n for n in {IMPURE!r} if n in sys.modules)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(loaded.stdout) == []


def test_the_errors_module_uses_the_standard_library_only() -> None:
    probe = (
        "import json, sys\n"
        "before = set(sys.modules)\n"
        "import shared.errors\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    foreign = [
        name
        for name in json.loads(loaded.stdout)
        if name.split(".")[0] not in sys.stdlib_module_names
        and name not in {"shared", "shared.errors"}
    ]
    assert foreign == []


ANSWERS: list[tuple[DomainError, int, str]] = [
    (NotFound("no incident 7"), 404, "not_found"),
    (Forbidden("coordinators only"), 403, "forbidden"),
    (Conflict("already verified"), 409, "conflict"),
    (Unprocessable("quantity must be positive"), 422, "unprocessable"),
    (Oversized("over 5 MiB"), 413, "too_large"),
    (UnsupportedFormat("not a PDF"), 415, "unsupported_format"),
    (LimitReached("10 a day"), 429, "limit_reached"),
    (DomainError("refused"), 400, "domain_error"),
    # A service's own refusal answers as the kind it is.
    (NotFound("no lot 3", code="lot_not_found"), 404, "lot_not_found"),
    (PhotoTooLarge("over 1 KiB"), 413, "photo_too_large"),
    (NotAnImage("a GIF"), 415, "not_an_image"),
    (DocumentTooLarge("over 1 KiB"), 413, "document_too_large"),
    (UnsupportedDocument("a ZIP"), 415, "unsupported_document"),
    (TooLarge("over 1000 rows", code="too_many_rows"), 413, "too_many_rows"),
    (RevealLimitReached("5 a day"), 429, "reveal_limit"),
]


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/refuse/{index}")
    def refuse(index: int) -> None:
        raise ANSWERS[index][0]

    return TestClient(app)


@pytest.mark.parametrize(
    ("index", "status", "code"),
    [(index, status, code) for index, (_, status, code) in enumerate(ANSWERS)],
    ids=[type(error).__name__ + ":" + code for error, _, code in ANSWERS],
)
def test_each_refusal_answers_its_status_with_code_and_detail(
    client: TestClient, index: int, status: int, code: str
) -> None:
    response = client.get(f"/refuse/{index}")
    assert response.status_code == status
    assert response.json() == {"error": code, "detail": ANSWERS[index][0].detail}
