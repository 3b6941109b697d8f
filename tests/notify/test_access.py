"""Who may call what in notify: every route has an access rule, and every route answers
every role (and no token at all) as its rule says."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from services.notify.app import create_app
from services.notify.settings import NotifySettings
from shared.auth import Role
from tests.notify.test_api import reported
from tests.support.access import matrix_problems, signed_in, token_for


def test_every_route_answers_every_role_as_its_rule_says(tmp_path: Path) -> None:
    settings = signed_in(NotifySettings, tmp_path)
    auth = settings.auth
    missing, disagreements = matrix_problems(
        create_app(settings), auth, streaming=frozenset({"GET /feed"})
    )
    assert missing == []
    assert disagreements == []


def test_an_office_sees_only_its_own_cases(tmp_path: Path) -> None:
    settings = signed_in(NotifySettings, tmp_path)
    auth = settings.auth
    app = create_app(settings)
    runtime = app.state.runtime
    runtime.create_tables()
    case = uuid.uuid4()
    event = reported(case, office_id="kukar", at=datetime.now(UTC))
    applied = [runtime.apply_event("test", s.handle, event) for s in runtime.subscriptions]
    assert any(applied)
    client = TestClient(app)  # no lifespan: no broker needed to read clocks
    kukar = {"Authorization": f"Bearer {token_for(auth, Role.COORDINATOR, office='kukar')}"}
    balangan = {"Authorization": f"Bearer {token_for(auth, Role.COORDINATOR, office='balangan')}"}

    assert client.get(f"/clocks/{case}", headers=kukar).status_code == 200
    assert [c["case_id"] for c in client.get("/clocks", headers=kukar).json()] == [str(case)]
    assert client.get(f"/clocks/{case}", headers=balangan).status_code == 404
    assert client.get(f"/clocks/{case}/timeline", headers=balangan).status_code == 404
    assert client.get("/clocks", headers=balangan).json() == []
    peek = client.get("/clocks", params={"office_id": "kukar"}, headers=balangan)
    assert (peek.status_code, peek.json()["error"]) == (403, "other_office")
    report = client.get("/reports", params={"office_id": "kukar"}, headers=balangan)
    assert report.status_code == 403
    assert client.get(f"/cases/{case}", headers=balangan).status_code == 404
