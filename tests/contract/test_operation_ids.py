"""Operation ids are part of the contract (generated clients name their methods by them):
each is `<service>_<function>`, unique in its service, and a rename is a deliberate change
to tests/contract/operation_ids.json (run with UPDATE_OPERATION_IDS=1 to rewrite it)."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from tests.contract.services import SERVICES, build_app

SNAPSHOT = Path(__file__).with_name("operation_ids.json")


def operation_ids(tmp: Path) -> dict[str, dict[str, str]]:
    """{service: {"METHOD /path": operation id}} as the four apps publish them now."""
    published: dict[str, dict[str, str]] = {}
    for service in SERVICES:
        document = build_app(service, tmp / service).openapi()
        published[service] = {
            f"{method.upper()} {path}": operation["operationId"]
            for path, item in sorted(document["paths"].items())
            for method, operation in sorted(item.items())
        }
    return published


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    return operation_ids(tmp_path_factory.mktemp("apps"))


def test_every_operation_id_is_the_one_checked_in(published: dict[str, dict[str, str]]) -> None:
    if os.environ.get("UPDATE_OPERATION_IDS"):
        SNAPSHOT.write_text(json.dumps(published, indent=2, sort_keys=True) + "\n")
    assert published == json.loads(SNAPSHOT.read_text())


@pytest.mark.parametrize("service", SERVICES)
def test_operation_ids_are_unique_and_name_their_service(
    service: str, published: dict[str, dict[str, str]]
) -> None:
    ids = list(published[service].values())
    assert [name for name, count in Counter(ids).items() if count > 1] == []
    assert all(name.startswith(f"{service}_") for name in ids)
