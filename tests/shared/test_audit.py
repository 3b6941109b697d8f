"""The audit trail: every emitted event is recorded with who and from where, the keyed
chain holds under concurrent writers, any edit, deletion (in the middle or at the end),
reordering or re-hash without the key is found, entries from before the chain was keyed
still verify, and a signed anchor kept outside finds what the database alone cannot."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import status
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import MetaData, delete, update

from shared.audit import acting_as
from shared.audit_keys import (
    DEVELOPMENT_AUDIT_KEY,
    GENESIS,
    KEYED,
    AnchorInvalid,
    AuditKey,
    AuditSettings,
    entry_hash,
    head_tag,
    keyed_entry_hash,
    read_signed_anchor,
)
from shared.auth import Access, AuthSettings, Role
from shared.contracts.intake import IncidentRejected
from shared.runtime import ServiceRuntime
from shared.service_api import RuntimeDep, create_service_api
from shared.settings import CommonSettings, ServiceSettings
from shared.unit_of_work import UnitOfWork
from tests.support.access import token_for

NO_SIGN_IN = AuthSettings(required=False)

SECRET = "Zq7vN2kXw9pL4tRb8sYc3mHf6jDg1uEa5oWi0e-Tx_K"


def keyed_runtime(
    database_url: str, key: str | None = None, *, previous: list[str] | None = None
) -> ServiceRuntime:
    """A service on `database_url` chaining with `key` (None: the development key)."""
    audit = AuditSettings(
        key=key,
        previous_keys=previous or [],
        environment="test",
    )
    settings = ServiceSettings(
        database_url=database_url, common=CommonSettings(environment="test"), audit=audit
    )
    service = ServiceRuntime(name="auditee", settings=settings, metadata=MetaData())
    service.create_tables()
    return service


@pytest.fixture
def runtime(database_url: str) -> ServiceRuntime:
    return keyed_runtime(database_url)


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


def fields_of(row: Any, **changes: Any) -> dict[str, Any]:
    """An entry's hashed content, as a forger would rebuild it."""
    return {
        "sequence": row["sequence"],
        "recorded_at": row["recorded_at"].astimezone(UTC).isoformat(),
        "actor": row["actor"],
        "source": row["source"],
        "office_id": row["office_id"],
        "action": row["action"],
        "entity": row["entity"],
        "entity_id": row["entity_id"],
        "details": row["details"],
    } | changes


def rewrite(
    runtime: ServiceRuntime, *, actor_of_2: str, key: AuditKey | None, seal_head: bool = True
) -> None:
    """Rewrite the whole chain with entry 2's actor changed, every link and hash
    recomputed: with SHA-256 and no scheme (a forger without the key) or with `key`."""
    entries, head = runtime.audit_trail.entries, runtime.audit_trail.head

    def forge(uow: UnitOfWork) -> None:
        previous = GENESIS
        rows = uow.session.execute(entries.select().order_by(entries.c.sequence)).all()
        for row in (r._mapping for r in rows):
            actor = actor_of_2 if row["sequence"] == 2 else row["actor"]
            fields = fields_of(row, actor=actor)
            digest = (
                entry_hash(previous, fields)
                if key is None
                else keyed_entry_hash(key, previous, fields)
            )
            uow.session.execute(
                update(entries)
                .where(entries.c.sequence == row["sequence"])
                .values(
                    actor=actor,
                    previous_hash=previous,
                    hash=digest,
                    scheme=None if key is None else KEYED,
                )
            )
            previous = digest
        values: dict[str, Any] = {"last_hash": previous}
        if key is not None and seal_head:
            values["tag"] = head_tag(key, len(rows), previous)
        uow.session.execute(update(head).values(**values))

    runtime.run(forge)


def test_an_entry_rehashed_without_the_key_is_found(runtime: ServiceRuntime) -> None:
    for _ in range(3):
        runtime.run(reject)
    entries = runtime.audit_trail.entries

    def forge(uow: UnitOfWork) -> None:
        row = uow.session.execute(entries.select().where(entries.c.sequence == 2)).one()._mapping
        digest = entry_hash(row["previous_hash"], fields_of(row, actor="someone else"))
        uow.session.execute(
            update(entries)
            .where(entries.c.sequence == 2)
            .values(actor="someone else", hash=digest, scheme=None)
        )

    runtime.run(forge)
    assert verify(runtime)[1:] == (False, 2, "an unkeyed entry after keyed ones")


def test_a_chain_rewritten_entirely_without_the_key_is_found_by_its_head(
    runtime: ServiceRuntime,
) -> None:
    for _ in range(3):
        runtime.run(reject)
    rewrite(runtime, actor_of_2="someone else", key=None)
    assert verify(runtime)[1:] == (False, 3, "the head's seal does not hold")


def test_deleting_the_last_entries_is_found(runtime: ServiceRuntime) -> None:
    for _ in range(4):
        runtime.run(reject)
    entries = runtime.audit_trail.entries
    runtime.run(lambda uow: uow.session.execute(delete(entries).where(entries.c.sequence > 2)))
    assert verify(runtime) == (2, False, 3, "entries are missing at the end")


def test_reordered_entries_are_found(runtime: ServiceRuntime) -> None:
    for _ in range(4):
        runtime.run(reject)
    entries = runtime.audit_trail.entries

    def swap(uow: UnitOfWork) -> None:
        for old, new in ((2, 1000), (3, 2), (1000, 3)):
            uow.session.execute(
                update(entries).where(entries.c.sequence == old).values(sequence=new)
            )

    runtime.run(swap)
    assert verify(runtime)[1:] == (False, 2, "chain link broken")


def test_an_entry_of_another_deployments_key_is_found(database_url: str) -> None:
    first = keyed_runtime(database_url, secrets.token_urlsafe(48))
    first.run(reject)
    second = keyed_runtime(database_url, secrets.token_urlsafe(48))
    assert verify(second)[1:] == (False, 1, "chained with a key this deployment does not hold")


def test_entries_of_a_previous_key_verify_after_rotation(database_url: str) -> None:
    old_key, new_key = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
    before = keyed_runtime(database_url, old_key)
    before.run(reject)
    after = keyed_runtime(database_url, new_key, previous=[old_key])
    after.run(reject)
    assert verify(after) == (2, True, None, None)
    keys = {e["key_id"] for e in after.run(lambda uow: after.audit_trail.list(uow.session))}
    assert keys == {before.audit_trail.keys.current.key_id, after.audit_trail.keys.current.key_id}


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
    anchored = client.get("/audit/anchor", headers=coordinator)
    assert anchored.status_code == 200, anchored.text
    assert read_signed_anchor(
        anchored.json(), public_key=runtime.audit_trail.keys.current.public_key()
    )
    field_team = {"Authorization": f"Bearer {token_for(settings, Role.FIELD_TEAM)}"}
    assert client.get("/audit", headers=field_team).status_code == 403
    assert client.get("/audit/anchor", headers=field_team).status_code == 403
    # Another office's coordinator sees none of this office's entries.
    balangan = {
        "Authorization": f"Bearer {token_for(settings, Role.COORDINATOR, office='balangan')}"
    }
    assert client.get("/audit", headers=balangan).json() == []
    assert datetime.fromisoformat(entry["recorded_at"]).tzinfo is not None


# --- entries from before the chain was keyed -----------------------------------------


def write_unkeyed_chain(runtime: ServiceRuntime, count: int, *, edit_second: bool = False) -> str:
    """Entries and a head as the version before keying wrote them (plain SHA-256, no
    scheme, no seal); the last hash."""
    entries, head = runtime.audit_trail.entries, runtime.audit_trail.head
    at = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)

    def write(uow: UnitOfWork) -> str:
        previous = GENESIS
        for sequence in range(1, count + 1):
            fields = {
                "sequence": sequence,
                "recorded_at": (at + timedelta(minutes=sequence)).isoformat(),
                "actor": "sari",
                "source": "request:POST /incidents r-1",
                "office_id": "kukar",
                "action": "IncidentReported",
                "entity": "incident",
                "entity_id": str(uuid.uuid4()),
                "details": "{}",
            }
            digest = entry_hash(previous, fields)
            stored = fields | {"recorded_at": at + timedelta(minutes=sequence)}
            if edit_second and sequence == 2:
                stored["actor"] = "someone else"
            uow.session.execute(
                entries.insert().values(**stored, previous_hash=previous, hash=digest)
            )
            previous = digest
        uow.session.execute(head.insert().values(id=1, last_sequence=count, last_hash=previous))
        return previous

    return runtime.run(write)


def test_entries_from_before_keying_still_verify_and_the_keyed_ones_follow_them(
    runtime: ServiceRuntime,
) -> None:
    old_head = write_unkeyed_chain(runtime, 3)
    runtime.create_tables()  # start-up seals the head of a chain that verifies
    check = runtime.run(lambda uow: runtime.audit_trail.verify(uow.session))
    assert (check.entries, check.intact, check.unkeyed_entries) == (3, True, 3)

    runtime.run(reject)
    entries = runtime.run(lambda uow: runtime.audit_trail.list(uow.session))
    assert (entries[0]["sequence"], entries[0]["previous_hash"]) == (4, old_head)
    assert (entries[0]["scheme"], entries[1]["scheme"]) == (KEYED, None)
    assert verify(runtime) == (4, True, None, None)


def test_an_unkeyed_chain_altered_before_the_upgrade_is_not_sealed(
    runtime: ServiceRuntime,
) -> None:
    write_unkeyed_chain(runtime, 3, edit_second=True)
    runtime.create_tables()
    assert verify(runtime)[1:] == (False, 2, "content altered")


def test_an_unsealed_head_is_reported(runtime: ServiceRuntime) -> None:
    for _ in range(2):
        runtime.run(reject)
    head = runtime.audit_trail.head
    runtime.run(lambda uow: uow.session.execute(update(head).values(tag=None)))
    assert verify(runtime)[1:] == (False, 2, "the head's seal does not hold")


# --- anchors ---------------------------------------------------------------------------


def signed_anchor(runtime: ServiceRuntime) -> dict[str, Any]:
    return runtime.run(
        lambda uow: runtime.audit_trail.anchor(uow.session, service="auditee", at=uow.now())
    )


def anchor_problem(runtime: ServiceRuntime, document: dict[str, Any]) -> str | None:
    anchor = read_signed_anchor(document, public_key=runtime.audit_trail.keys.current.public_key())
    return runtime.run(lambda uow: runtime.audit_trail.check_anchor(uow.session, anchor))


def test_an_anchor_holds_while_the_chain_only_grows(runtime: ServiceRuntime) -> None:
    for _ in range(3):
        runtime.run(reject)
    document = signed_anchor(runtime)
    assert (document["algorithm"], document["anchor"]["entries"]) == ("Ed25519", 3)
    runtime.run(reject)
    assert anchor_problem(runtime, document) is None


def test_a_head_put_back_with_the_tail_removed_is_found_only_by_an_anchor(
    runtime: ServiceRuntime,
) -> None:
    for _ in range(2):
        runtime.run(reject)
    head, entries = runtime.audit_trail.head, runtime.audit_trail.entries
    saved = runtime.run(lambda uow: dict(uow.session.execute(head.select()).one()._mapping))
    for _ in range(2):
        runtime.run(reject)
    document = signed_anchor(runtime)

    def put_back(uow: UnitOfWork) -> None:
        uow.session.execute(delete(entries).where(entries.c.sequence > 2))
        uow.session.execute(update(head).values(**saved))

    runtime.run(put_back)
    assert verify(runtime) == (2, True, None, None), "the database alone cannot tell"
    assert anchor_problem(runtime, document) == (
        "the anchor counts 4 entries but the chain has only 2: entries were removed"
    )


def test_a_chain_rewritten_with_the_key_no_longer_holds_an_earlier_anchor(
    runtime: ServiceRuntime,
) -> None:
    for _ in range(3):
        runtime.run(reject)
    document = signed_anchor(runtime)
    rewrite(runtime, actor_of_2="someone else", key=runtime.audit_trail.keys.current)
    assert verify(runtime) == (3, True, None, None), "whoever holds the key can rewrite"
    assert anchor_problem(runtime, document) == (
        "entry 3 is not the one anchored: the chain was rewritten"
    )


def test_an_anchor_verifies_as_documented_with_only_the_public_key(
    runtime: ServiceRuntime,
) -> None:
    runtime.run(reject)
    document = signed_anchor(runtime)
    # What an inspector without our code does: Ed25519 over the anchor's canonical JSON.
    signed = json.dumps(document["anchor"], sort_keys=True, separators=(",", ":")).encode()
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(document["public_key"]))
    public.verify(base64.b64decode(document["signature"]), signed)  # raises if it does not hold
    assert document["anchor"]["key_id"] == runtime.audit_trail.keys.current.key_id


def test_an_anchor_is_refused_under_another_key_or_when_altered(runtime: ServiceRuntime) -> None:
    runtime.run(reject)
    document = signed_anchor(runtime)
    other = AuditKey.derive(secrets.token_urlsafe(48)).public_key()
    with pytest.raises(AnchorInvalid, match="does not hold"):
        read_signed_anchor(document, public_key=other)
    altered = document | {"anchor": document["anchor"] | {"entries": 0}}
    with pytest.raises(AnchorInvalid, match="does not hold"):
        read_signed_anchor(altered, public_key=document["public_key"])


def test_no_anchor_is_signed_for_a_broken_chain(runtime: ServiceRuntime) -> None:
    for _ in range(2):
        runtime.run(reject)
    entries = runtime.audit_trail.entries
    runtime.run(lambda uow: uow.session.execute(delete(entries).where(entries.c.sequence == 2)))
    client = TestClient(
        create_service_api(runtime, title="t", description="t", policy={}, auth=NO_SIGN_IN)
    )
    answer = client.get("/audit/anchor")
    assert (answer.status_code, answer.json()["error"]) == (409, "audit_chain_broken")


# --- the key's settings ----------------------------------------------------------------


def test_production_requires_an_audit_key() -> None:
    with pytest.raises(ValidationError, match="DINSOS_AUDIT_KEY is required"):
        AuditSettings(environment="production")


@pytest.mark.parametrize(
    "key", ["dinsosdinsosdinsosdinsosdinsos-kukar", "short", DEVELOPMENT_AUDIT_KEY]
)
def test_a_weak_or_published_audit_key_is_refused_in_production(key: str) -> None:
    with pytest.raises(ValidationError, match="DINSOS_AUDIT_KEY is refused") as refused:
        AuditSettings(key=key, environment="production")
    assert key not in str(refused.value)
