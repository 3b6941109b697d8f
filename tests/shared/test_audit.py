"""The audit trail: every emitted event is recorded with who and from where, the hash
chain holds under concurrent writers, and any edit, deletion or re-hash is found."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from fastapi import status
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, delete, update

from shared.audit import acting_as
from shared.auth import Access, AuthSettings, Role
from shared.events import IncidentRejected
from shared.runtime import RuntimeDep, ServiceRuntime, UnitOfWork, create_service_api
from shared.settings import CommonSettings, ServiceSettings
from tests.support.access import token_for

SECRET = "Zq7vN2kXw9pL4tRb8sYc3mHf6jDg1uEa5oWi0e-Tx_K"


@pytest.fixture
def runtime(database_url: str) -> ServiceRuntime:
    settings = ServiceSettings(database_url=database_url, common=CommonSettings(environment="test"))
    service = ServiceRuntime(name="auditee", settings=settings, metadata=MetaData())
    service.create_tables()
    return service


def reject(uow: UnitOfWork, reason: str = "duplicate report") -> None:
    uow.emit(
        IncidentRejected.first(
            office_id="kukar",
            case_id=uuid.uuid4(),
            producer="intake",
            occurred_at=uow.now(),
            rejected_by="Kabid",
            reason=reason,
        )
    )


def verify(runtime: ServiceRuntime) -> tuple[int, bool, int | None, str | None]:
    check = runtime.run(lambda uow: runtime.audit_trail.verify(uow.session))
    return check.entries, check.intact, check.first_broken_sequence, check.problem


def test_each_emitted_event_is_recorded_with_its_actor_and_source(
    runtime: ServiceRuntime,
) -> None:
    with acting_as("sari", "request:POST /incidents/x/rejection r-1"):
        runtime.run(reject)
    runtime.run(reject)  # nobody set: the service itself
    entries = runtime.run(lambda uow: runtime.audit_trail.list(uow.session))
    assert [(e["actor"], e["source"]) for e in reversed(entries)] == [
        ("sari", "request:POST /incidents/x/rejection r-1"),
        ("service:auditee", "internal"),
    ]
    assert {e["action"] for e in entries} == {"IncidentRejected"}
    assert all('"reason": "duplicate report"' in e["details"] for e in entries)
    assert verify(runtime) == (2, True, None, None)


def test_an_edited_entry_is_found(runtime: ServiceRuntime) -> None:
    for _ in range(4):
        runtime.run(reject)
    entries = runtime.audit_trail.entries
    runtime.run(
        lambda uow: uow.session.execute(
            update(entries).where(entries.c.sequence == 2).values(actor="someone else")
        )
    )
    assert verify(runtime) == (2, False, 2, "content altered")


def test_a_deleted_entry_is_found(runtime: ServiceRuntime) -> None:
    for _ in range(4):
        runtime.run(reject)
    entries = runtime.audit_trail.entries
    runtime.run(lambda uow: uow.session.execute(delete(entries).where(entries.c.sequence == 3)))
    assert verify(runtime)[1:] == (False, 3, "an entry is missing")


def test_an_entry_edited_and_rehashed_breaks_the_next_link(runtime: ServiceRuntime) -> None:
    from shared.audit import entry_hash  # noqa: PLC0415 - the forger's tool

    for _ in range(3):
        runtime.run(reject)
    entries = runtime.audit_trail.entries

    def forge(uow: UnitOfWork) -> None:
        row = uow.session.execute(entries.select().where(entries.c.sequence == 2)).one()._mapping
        fields = {
            "sequence": 2,
            "recorded_at": row["recorded_at"].astimezone(UTC).isoformat(),
            "actor": "someone else",
            "source": row["source"],
            "office_id": row["office_id"],
            "action": row["action"],
            "entity": row["entity"],
            "entity_id": row["entity_id"],
            "details": row["details"],
        }
        uow.session.execute(
            update(entries)
            .where(entries.c.sequence == 2)
            .values(actor="someone else", hash=entry_hash(row["previous_hash"], fields))
        )

    runtime.run(forge)
    assert verify(runtime)[1:] == (False, 3, "chain link broken")


def test_concurrent_writers_never_fork_the_chain(runtime: ServiceRuntime) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda _: runtime.run(reject), range(60)))
    entries = runtime.run(lambda uow: runtime.audit_trail.list(uow.session, limit=1000))
    assert sorted(e["sequence"] for e in entries) == list(range(1, 61))
    assert verify(runtime) == (60, True, None, None)


def test_requests_are_attributed_to_the_signed_in_user(runtime: ServiceRuntime) -> None:
    settings = AuthSettings(required=True, secret=SECRET)
    api = create_service_api(
        runtime,
        title="t",
        description="t",
        policy={"POST /rejections": Access.of(Role.COORDINATOR)},
        auth=settings,
    )

    @api.post("/rejections", status_code=status.HTTP_201_CREATED)
    def rejections(service: RuntimeDep) -> dict[str, bool]:
        service.run(reject)
        return {"ok": True}

    client = TestClient(api)  # no lifespan: this test needs no broker
    coordinator = {"Authorization": f"Bearer {token_for(settings, Role.COORDINATOR)}"}
    response = client.post("/rejections", headers={**coordinator, "X-Request-ID": "req-42"})
    assert response.status_code == 201, response.text
    entry = client.get("/audit", headers=coordinator).json()[0]
    assert entry["actor"].startswith("user-")
    assert entry["source"] == "request:POST /rejections req-42"
    assert client.get("/audit/verify", headers=coordinator).json()["intact"] is True
    field_team = {"Authorization": f"Bearer {token_for(settings, Role.FIELD_TEAM)}"}
    assert client.get("/audit", headers=field_team).status_code == 403
    # Another office's coordinator sees none of this office's entries.
    balangan = {
        "Authorization": f"Bearer {token_for(settings, Role.COORDINATOR, office='balangan')}"
    }
    assert client.get("/audit", headers=balangan).json() == []
    assert datetime.fromisoformat(entry["recorded_at"]).tzinfo is not None
