"""A signed-in user with a name and a subject of the test's choosing, and what a service
queued and audited while that user acted: for tests of who is recorded as the actor."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from shared.auth import AuthSettings, Principal, Role, issue_token
from shared.contracts.union import AnyEvent, parse_event
from shared.runtime import ServiceRuntime


def signed_in_as(
    settings: AuthSettings, name: str, subject: str, *roles: Role, office: str = "kukar"
) -> dict[str, str]:
    """Headers of a request made by the user `name` (`subject`) holding `roles`."""
    principal = Principal(subject=subject, name=name, office_id=office, roles=frozenset(roles))
    return {"Authorization": f"Bearer {issue_token(principal, settings, datetime.now(UTC))}"}


def queued_events(runtime: ServiceRuntime) -> list[AnyEvent]:
    """Every event the service queued in its outbox, oldest first."""
    table = runtime.messaging.outbox
    with runtime.engine.connect() as connection:
        payloads = connection.execute(select(table.c.payload).order_by(table.c.sequence))
        return [parse_event(payload) for payload in payloads.scalars().all()]


def audit_entries(runtime: ServiceRuntime, entity_id: str) -> list[dict[str, Any]]:
    """The audit entries about one record, newest first."""
    return runtime.run(
        lambda uow: runtime.audit_trail.list(uow.session, entity_id=entity_id, limit=100)
    )
