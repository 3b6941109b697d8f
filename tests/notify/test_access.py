"""Who may call what in notify: every route has an access rule, and every route answers
every role (and no token at all) as its rule says."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from services.notify import alerting
from services.notify.app import create_app
from services.notify.settings import NotifySettings
from shared.auth import Role
from shared.clock import FixedClock
from shared.contracts.notify import AlertAcknowledged, StageOverdue
from tests.notify.test_api import reported
from tests.support.access import matrix_problems, signed_in, token_for
from tests.support.signed import audit_entries, queued_events, signed_in_as


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


def test_an_office_subscribes_to_and_sees_only_its_own_events(tmp_path: Path) -> None:
    settings = signed_in(NotifySettings, tmp_path)
    clock = FixedClock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    app = create_app(settings, clock=clock)
    runtime = app.state.runtime
    runtime.create_tables()
    client = TestClient(app)
    kukar = {"Authorization": f"Bearer {token_for(settings.auth, Role.COORDINATOR)}"}
    balangan = {
        "Authorization": f"Bearer {token_for(settings.auth, Role.COORDINATOR, office='balangan')}"
    }
    hook = {"url": "https://posko.example.org/hook", "event_types": ["StageOverdue"]}
    peek = client.post("/subscriptions", json=hook | {"office_id": "kukar"}, headers=balangan)
    assert (peek.status_code, peek.json()["error"]) == (403, "other_office")
    # No office named: the caller's own, never every office's.
    mine = client.post("/subscriptions", json=hook, headers=kukar)
    assert (mine.status_code, mine.json()["office_id"]) == (201, "kukar")
    theirs = client.post("/subscriptions", json=hook, headers=balangan).json()
    assert theirs["office_id"] == "balangan"

    for office in ("kukar", "balangan"):
        event = reported(uuid.uuid4(), office_id=office, at=clock.now())
        assert any(runtime.apply_event("test", s.handle, event) for s in runtime.subscriptions)
    clock.set(clock.now() + timedelta(hours=5))  # the first stage of both cases is overdue
    overdue = runtime.run(lambda uow: alerting.tick(uow, app.state.standards))
    assert {e.office_id for e in overdue if isinstance(e, StageOverdue)} == {"kukar", "balangan"}

    assert [s["id"] for s in client.get("/subscriptions", headers=balangan).json()] == [
        theirs["id"]
    ]
    logged = client.get("/notifications", headers=balangan).json()
    assert [(n["subscription_id"], n["payload"]["office_id"]) for n in logged] == [
        (theirs["id"], "balangan")
    ]
    gone = client.delete(f"/subscriptions/{mine.json()['id']}", headers=balangan)
    assert gone.status_code == 404
    assert [s["active"] for s in client.get("/subscriptions", headers=kukar).json()] == [True]


def test_another_offices_case_is_answered_exactly_as_an_unknown_one(tmp_path: Path) -> None:
    """Not merely 404: the same error and wording, or the answer tells which cases exist."""
    settings = signed_in(NotifySettings, tmp_path)
    app = create_app(settings)
    runtime = app.state.runtime
    runtime.create_tables()
    case = uuid.uuid4()
    event = reported(case, office_id="kukar", at=datetime.now(UTC))
    for subscription in runtime.subscriptions:
        runtime.apply_event("test", subscription.handle, event)
    client = TestClient(app)
    balangan = {
        "Authorization": f"Bearer {token_for(settings.auth, Role.COORDINATOR, office='balangan')}"
    }
    nobodys = str(uuid.uuid4())

    for path in ("/clocks/{}", "/clocks/{}/timeline"):
        theirs = client.get(path.format(case), headers=balangan)
        unknown = client.get(path.format(nobodys), headers=balangan)
        assert theirs.status_code == unknown.status_code == 404
        assert theirs.json() == {
            **unknown.json(),
            "detail": unknown.json()["detail"].replace(nobodys, str(case)),
        }


def test_the_signed_in_user_is_recorded_as_acknowledging_a_warning_not_a_typed_name(
    tmp_path: Path,
) -> None:
    settings = signed_in(NotifySettings, tmp_path)
    clock = FixedClock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    app = create_app(settings, clock=clock)
    runtime = app.state.runtime
    runtime.create_tables()
    client = TestClient(app)
    event = reported(uuid.uuid4(), office_id="kukar", at=clock.now())
    assert any(runtime.apply_event("test", s.handle, event) for s in runtime.subscriptions)
    clock.set(clock.now() + timedelta(hours=5))
    runtime.run(lambda uow: alerting.tick(uow, app.state.standards))
    sari = signed_in_as(settings.auth, "Sari", "sari-01", Role.COORDINATOR)
    alert = client.get("/alerts", headers=sari).json()[0]["id"]

    taken = client.post(f"/alerts/{alert}/ack", json={"by": "Kepala Dinas"}, headers=sari)

    assert taken.status_code == 200, taken.text
    assert taken.json()["acknowledged_by"] == "Sari"
    (acknowledged,) = [e for e in queued_events(runtime) if isinstance(e, AlertAcknowledged)]
    assert acknowledged.acknowledged_by == "Sari"
    recorded = audit_entries(runtime, str(acknowledged.case_id))
    assert {e["actor"] for e in recorded if e["source"].startswith("request")} == {"sari-01"}
