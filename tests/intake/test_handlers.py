"""intake's use cases on SQLite and PostgreSQL without the broker: duplicates are linked
and not doubled, follow-ups update the incident, photos are kept once, and a refused
report changes nothing. Events are read from what each unit of work emitted."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlmodel import select

from services.intake import handlers, reports
from services.intake.domain import AddressRefused, inspect_photo
from services.intake.migrations import HISTORY
from services.intake.models import (
    FieldReportRow,
    FollowUpIn,
    IncidentRow,
    IntakeTable,
    PhotoRow,
    RejectionIn,
    ReportIn,
    ReportOutcome,
    VerificationIn,
)
from services.intake.settings import IntakeSettings
from shared.clock import FixedClock
from shared.contracts.envelope import EventBase
from shared.contracts.intake import IncidentReported, IncidentUpdated, ReportLinkedToIncident
from shared.errors import Conflict, NotFound, Unprocessable
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings
from shared.unit_of_work import UnitOfWork

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
NIK = "6402065507850003"


@pytest.fixture
def runtime(database_url: str) -> ServiceRuntime:
    settings = IntakeSettings(database_url=database_url, common=CommonSettings(environment="test"))
    service = ServiceRuntime(
        name="intake",
        settings=settings,
        metadata=IntakeTable.metadata,
        migrations=HISTORY,
        clock=FixedClock(NOW),
    )
    service.create_tables()
    return service


@pytest.fixture
def policy() -> handlers.ReportPolicy:
    settings = IntakeSettings(duplicate_radius_m=1_000, duplicate_window_h=6)
    return handlers.ReportPolicy.from_settings(settings)


def report(**overrides: Any) -> ReportIn:
    body: dict[str, Any] = {
        "reporter": {"name": "Tim Tagana Tenggarong", "role": "tagana", "nik": NIK},
        "hazard": "flood",
        "happened_at": (NOW - timedelta(hours=2)).isoformat(),
        "location": {"lat": -0.4230, "lon": 116.9860},
        "households_affected": 42,
        "people_affected": 150,
        "stated_needs": [{"item_code": "RICE-5KG", "quantity": 40}],
    }
    body.update(overrides)
    return ReportIn.model_validate(body)


def submit(
    runtime: ServiceRuntime, policy: handlers.ReportPolicy, body: ReportIn
) -> tuple[reports.ReportResult, list[EventBase]]:
    def work(uow: UnitOfWork) -> tuple[reports.ReportResult, list[EventBase]]:
        result = reports.report_incident(uow, body, "kukar", None, policy)
        return result, list(uow.emitted)

    return runtime.run(work)


def count(runtime: ServiceRuntime, table: type[IntakeTable]) -> int:
    return len(runtime.run(lambda uow: uow.session.exec(select(table)).all()))


def test_a_duplicate_is_linked_to_the_first_incident_and_not_doubled(
    runtime: ServiceRuntime, policy: handlers.ReportPolicy
) -> None:
    first, _ = submit(runtime, policy, report())
    again_body = report(
        client_report_id=f"phone-{uuid.uuid4().hex}",
        location={"lat": -0.4255, "lon": 116.9870},
        happened_at=(NOW - timedelta(hours=1)).isoformat(),
        reporter={"name": "Kepala Desa Sukarame", "role": "kepala_desa"},
    )
    linked, events = submit(runtime, policy, again_body)
    assert linked.outcome is ReportOutcome.LINKED
    assert linked.incident.id == first.incident.id
    assert linked.report is not None and linked.report.linked
    (event,) = events
    assert isinstance(event, ReportLinkedToIncident)
    assert event.case_id == first.incident.id and event.report_id == linked.report.id
    assert 250 < event.distance_m < 350 and event.minutes_apart == 60

    resent, resent_events = submit(runtime, policy, again_body)
    assert (resent.outcome, resent.incident.id, resent_events) == (
        ReportOutcome.RESENT,
        first.incident.id,
        [],
    )
    assert resent.report is not None and resent.report.id == linked.report.id
    assert count(runtime, IncidentRow) == 1
    assert count(runtime, FieldReportRow) == 2
    linked_rows = runtime.run(lambda uow: reports.linked_reports(uow, first.incident.id))
    assert [row.id for row in linked_rows] == [linked.report.id]


def test_a_verified_incident_takes_no_more_duplicates(
    runtime: ServiceRuntime, policy: handlers.ReportPolicy
) -> None:
    first, _ = submit(runtime, policy, report())
    runtime.run(
        lambda uow: handlers.verify_incident(
            uow,
            first.incident.id,
            VerificationIn.model_validate(
                {"verified_by": "Kabid", "assessed_needs": [{"item_code": "TENT", "quantity": 1}]}
            ),
        )
    )
    second, events = submit(runtime, policy, report())
    assert second.outcome is ReportOutcome.CREATED
    assert second.incident.id != first.incident.id
    assert [type(e) for e in events] == [IncidentReported]


def test_the_nik_is_kept_only_as_a_keyed_hash_and_never_sent_on(
    runtime: ServiceRuntime, policy: handlers.ReportPolicy
) -> None:
    created, events = submit(runtime, policy, report())
    assert created.report is not None
    stored = created.report.reporter_nik_hash
    assert stored is not None and NIK not in stored and len(stored) == 64
    assert all(NIK not in event.model_dump_json() for event in events)
    rows = runtime.run(lambda uow: uow.session.exec(select(FieldReportRow)).all())
    assert all(NIK not in row.model_dump_json() for row in rows)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        (
            {"location": None, "address": {"village": "Sukarame", "regency": "Kota Samarinda"}},
            "village_not_found",
        ),
        ({"reporter": {"name": "X", "role": "rt", "nik": "12345"}}, "nik_not_16_digits"),
        (
            {"reporter": {"name": "X", "role": "rt", "nik": "9999995507850003"}},
            "nik_unknown_region",
        ),
    ],
)
def test_a_refused_report_changes_nothing(
    runtime: ServiceRuntime,
    policy: handlers.ReportPolicy,
    overrides: dict[str, Any],
    error: str,
) -> None:
    with pytest.raises(Unprocessable) as refused:
        submit(runtime, policy, report(**overrides))
    assert refused.value.error_code == error
    assert (count(runtime, IncidentRow), count(runtime, FieldReportRow)) == (0, 0)


def test_a_misspelt_village_comes_back_with_suggestions(
    runtime: ServiceRuntime, policy: handlers.ReportPolicy
) -> None:
    body = report(
        location=None,
        address={"village": "Sukaram", "district": "Tenggarong", "regency": "Kutai Kartanegara"},
    )
    with pytest.raises(AddressRefused) as refused:
        submit(runtime, policy, body)
    assert "Sukarame" in refused.value.suggestions


def follow_up_body(**overrides: Any) -> FollowUpIn:
    body: dict[str, Any] = {
        "reporter": {"name": "Tim Tagana Tenggarong", "role": "tagana"},
        "people_affected": 230,
        "added_needs": [
            {"item_code": "BLANKET", "quantity": 50},
            {"item_code": "RICE-5KG", "quantity": 10},
        ],
        "note": "Air naik, 20 KK mengungsi ke masjid",
    }
    body.update(overrides)
    return FollowUpIn.model_validate(body)


def test_a_follow_up_updates_the_incident_and_is_announced_once(
    runtime: ServiceRuntime, policy: handlers.ReportPolicy
) -> None:
    created, _ = submit(runtime, policy, report())
    incident_id = created.incident.id
    body = follow_up_body(client_update_id=f"upd-{uuid.uuid4().hex}")

    def work(uow: UnitOfWork) -> tuple[bool, list[EventBase]]:
        _row, fresh = handlers.follow_up(uow, incident_id, body, policy)
        return fresh, list(uow.emitted)

    fresh, events = runtime.run(work)
    assert fresh
    (event,) = events
    assert isinstance(event, IncidentUpdated)
    assert (event.people_affected, event.households_affected) == (230, None)
    assert [(n.item_code, n.quantity) for n in event.added_needs] == [
        ("BLANKET", 50),
        ("RICE-5KG", 10),
    ]
    incident = runtime.run(lambda uow: handlers.get_incident(uow, incident_id))
    assert (incident.people_affected, incident.households_affected) == (230, 42)
    assert [(n.item_code, n.quantity) for n in incident.stated_needs] == [
        ("RICE-5KG", 50),
        ("BLANKET", 50),
    ]

    again, again_events = runtime.run(work)
    assert (again, again_events) == (False, [])
    updates = runtime.run(lambda uow: handlers.incident_updates(uow, incident_id))
    assert len(updates) == 1


def test_follow_ups_are_refused_when_empty_rejected_or_unknown(
    runtime: ServiceRuntime, policy: handlers.ReportPolicy
) -> None:
    created, _ = submit(runtime, policy, report())
    incident_id = created.incident.id
    empty = follow_up_body(people_affected=None, added_needs=[], note="")
    with pytest.raises(Unprocessable) as refused:
        runtime.run(lambda uow: handlers.follow_up(uow, incident_id, empty, policy))
    assert refused.value.error_code == "empty_update"
    with pytest.raises(NotFound):
        runtime.run(lambda uow: handlers.follow_up(uow, uuid.uuid4(), follow_up_body(), policy))
    runtime.run(
        lambda uow: handlers.reject_incident(
            uow, incident_id, RejectionIn(rejected_by="Kabid", reason="laporan palsu")
        )
    )
    with pytest.raises(Conflict) as closed:
        runtime.run(lambda uow: handlers.follow_up(uow, incident_id, follow_up_body(), policy))
    assert closed.value.error_code == "incident_closed"
    incident = runtime.run(lambda uow: handlers.get_incident(uow, incident_id))
    assert incident.people_affected == 150


def test_a_photo_is_kept_once_on_disk(
    runtime: ServiceRuntime, policy: handlers.ReportPolicy, tmp_path: Path
) -> None:
    created, _ = submit(runtime, policy, report())
    buffer = io.BytesIO()
    Image.new("RGB", (16, 9), (0, 90, 200)).save(buffer, format="JPEG")
    data = buffer.getvalue()
    facts = inspect_photo(data, 1024 * 1024)
    incident_id = created.incident.id

    first, fresh = runtime.run(lambda uow: handlers.add_photo(uow, incident_id, facts, tmp_path))
    again, again_fresh = runtime.run(
        lambda uow: handlers.add_photo(uow, incident_id, facts, tmp_path)
    )
    assert (fresh, again_fresh, again.id) == (True, False, first.id)
    assert (tmp_path / str(incident_id) / first.file_name).read_bytes() == facts.data
    assert count(runtime, PhotoRow) == 1
    with pytest.raises(NotFound):
        runtime.run(lambda uow: handlers.add_photo(uow, uuid.uuid4(), facts, tmp_path))
    assert count(runtime, PhotoRow) == 1
