"""`dinsos-admin backup` and `restore` on SQLite and PostgreSQL: a backup of each service's
database, taken with real data in it (and, for stock, while receipts are being booked),
restored into a fresh database, has every row, a stock ledger that agrees with the lots
and an intact audit chain."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from services.distribution import deliveries, registry
from services.distribution.app import build_policy
from services.intake import handlers as intake_handlers
from services.intake import reports as intake_reports
from services.intake.models import ReportIn
from services.intake.settings import IntakeSettings
from services.logistics import queries as logistics_queries
from services.logistics.migrations import HISTORY as LOGISTICS_HISTORY
from services.notify import case_clocks as notify_case_clocks
from services.notify.settings import NotifySettings
from services.notify.standards import load_standards
from shared.admin.__main__ import main
from shared.admin.backup import BackupError, backup_database, restore_database
from shared.audit import ChainCheck
from shared.clock import FixedClock
from shared.contracts.envelope import CaseType
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings, ServiceSettings
from shared.unit_of_work import UnitOfWork
from tests.distribution.programs_support import make_settings, person, release_for
from tests.intake.test_handlers import report
from tests.logistics.support import NOW, TODAY, allocate, make_runtime, receive, verified
from tests.notify.test_handlers import REPORTED, arrived, reported, subscribe
from tests.support.databases import new_database_url
from tests.support.migrations import HISTORIES, primary_keys


def runtime_on(service: str, settings: ServiceSettings) -> ServiceRuntime:
    """The service's runtime on `settings`' database, its schema at head."""
    history = HISTORIES[service]
    built = ServiceRuntime(
        name=service,
        settings=settings,
        metadata=history.metadata,
        migrations=history,
        clock=FixedClock(NOW),
    )
    built.create_tables()
    return built


def seeded_intake(url: str) -> ServiceRuntime:
    runtime = runtime_on(
        "intake", IntakeSettings(database_url=url, common=CommonSettings(environment="test"))
    )
    policy = intake_handlers.ReportPolicy.from_settings(IntakeSettings())
    for hours_ago in (2, 30):
        body = report(happened_at=(NOW - timedelta(hours=hours_ago)).isoformat())

        def submit(uow: UnitOfWork, body: ReportIn = body) -> None:
            intake_reports.report_incident(uow, body, "kukar", None, policy)

        runtime.run(submit)
    return runtime


def seeded_logistics(url: str) -> ServiceRuntime:
    runtime = make_runtime(url)
    receive(runtime, 50, TODAY - timedelta(days=40))
    receive(runtime, 80, TODAY - timedelta(days=10), item="FAMILY-KIT")
    allocate(runtime, verified(("RICE-5KG", 30), ("FAMILY-KIT", 12)))
    return runtime


def seeded_distribution(url: str) -> ServiceRuntime:
    settings = make_settings(url)
    runtime = runtime_on("distribution", settings)
    policy = build_policy(settings)
    for serial in (1, 2):
        body = person(serial)
        runtime.run(partial(registry.register_recipient, policy=policy, body=body))
    for _ in range(2):  # an incident's released goods: a delivery to make
        release = release_for(uuid.uuid4(), CaseType.INCIDENT, [("RICE-5KG", 10)])
        runtime.apply_event("distribution:test", deliveries.on_dispatch_released, release)
    return runtime


def seeded_notify(url: str) -> ServiceRuntime:
    runtime = runtime_on(
        "notify", NotifySettings(database_url=url, common=CommonSettings(environment="test"))
    )
    standards = load_standards()
    subscribe(runtime, "https://bpbd.example/hook", ["ResponseClockStopped"])
    for _ in range(2):  # reported, then the team arrives: a clock stopped and announced
        case_id = uuid.uuid4()
        for event in (reported(case_id), arrived(case_id, REPORTED + timedelta(hours=3))):
            runtime.apply_event(
                "notify:test",
                lambda uow, e: notify_case_clocks.apply_event(uow, e, standards),
                event,
            )
    return runtime


SEEDED: dict[str, Callable[[str], ServiceRuntime]] = {
    "intake": seeded_intake,
    "logistics": seeded_logistics,
    "distribution": seeded_distribution,
    "notify": seeded_notify,
}


def backend_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def audit_of(runtime: ServiceRuntime) -> ChainCheck:
    return runtime.run(lambda uow: runtime.audit_trail.verify(uow.session))


def every_row(runtime: ServiceRuntime) -> dict[str, set[tuple[Any, ...]]]:
    return primary_keys(runtime.engine, set(runtime.metadata.tables))


@pytest.fixture
def restored_url(database_url: str, tmp_path: Path) -> str:
    """A second empty database of the same kind, to restore into."""
    return new_database_url(backend_of(database_url), tmp_path)


@pytest.mark.parametrize("service", sorted(SEEDED))
def test_a_restored_backup_has_every_row_and_an_intact_audit_chain(
    service: str, database_url: str, restored_url: str, tmp_path: Path
) -> None:
    original = SEEDED[service](database_url)
    try:
        backup = backup_database(service, database_url, tmp_path / "backups")
        assert backup.name.startswith(f"{service}-")
        assert HISTORIES[service].head() in backup.name

        revision = restore_database(backup, restored_url)

        assert revision == HISTORIES[service].head()
        restored = runtime_on(
            service, original.settings.model_copy(update={"database_url": restored_url})
        )
        try:
            rows = every_row(original)
            assert sum(map(len, rows.values())) > 0
            assert every_row(restored) == rows
            chain = audit_of(restored)
            assert chain.intact, chain
            assert chain.entries == audit_of(original).entries > 0
            if service == "logistics":
                assert restored.run(logistics_queries.ledger_disagreements) == []
        finally:
            restored.engine.dispose()
    finally:
        original.engine.dispose()


def test_a_backup_taken_while_receipts_are_booked_is_consistent(
    database_url: str, restored_url: str, tmp_path: Path
) -> None:
    runtime = seeded_logistics(database_url)
    stop = threading.Event()
    booked: list[int] = []

    def keep_receiving() -> None:
        while not stop.is_set() and len(booked) < 400:
            receive(runtime, 5, TODAY - timedelta(days=1))
            booked.append(5)

    writer = threading.Thread(target=keep_receiving)
    writer.start()
    try:
        while len(booked) < 5:  # the writer is under way
            stop.wait(0.01)
        backup = backup_database("logistics", database_url, tmp_path / "backups")
        during = len(booked)
    finally:
        stop.set()
        writer.join()
    assert len(booked) > during or len(booked) == 400, "the backup ran beside no writes"

    restore_database(backup, restored_url)
    restored = runtime_on(
        "logistics", runtime.settings.model_copy(update={"database_url": restored_url})
    )
    try:
        assert restored.run(logistics_queries.ledger_disagreements) == []
        assert audit_of(restored).intact
    finally:
        restored.engine.dispose()
        runtime.engine.dispose()


def test_restore_refuses_a_database_that_holds_tables_unless_told_to_replace(
    database_url: str, tmp_path: Path
) -> None:
    runtime = seeded_logistics(database_url)
    try:
        backup = backup_database("logistics", database_url, tmp_path / "backups")
        receive(runtime, 7, TODAY)  # after the backup: the restore takes it away
        with pytest.raises(BackupError, match="already holds tables"):
            restore_database(backup, database_url)
        runtime.engine.dispose()

        assert restore_database(backup, database_url, replace=True) == LOGISTICS_HISTORY.head()
        restored = runtime_on("logistics", runtime.settings)
        lots = restored.run(logistics_queries.ledger_disagreements)
        assert lots == []
        quantities = primary_keys(restored.engine, {"lot"})["lot"]
        assert len(quantities) == 2
        restored.engine.dispose()
    finally:
        runtime.engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_restore_refuses_a_backup_of_the_other_kind_of_database(
    tmp_path: Path, backend: str
) -> None:
    source = f"sqlite:///{tmp_path / 'logistics.sqlite3'}"
    seeded_logistics(source).engine.dispose()
    sqlite_backup = backup_database("logistics", source, tmp_path / "backups")
    with pytest.raises(BackupError, match="not a pg_dump backup"):
        restore_database(sqlite_backup, new_database_url(backend, tmp_path))
    dump_lookalike = tmp_path / "logistics.pgdump"
    dump_lookalike.write_bytes(b"PGDMP" + bytes(64))
    with pytest.raises(BackupError, match="not a SQLite backup"):
        restore_database(dump_lookalike, f"sqlite:///{tmp_path / 'fresh.sqlite3'}")


def test_the_command_line_backs_up_and_restores_a_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = f"sqlite:///{tmp_path / 'logistics.sqlite3'}"
    seeded_logistics(source).engine.dispose()
    monkeypatch.setenv("LOGISTICS_DATABASE_URL", source)

    assert main(["backup", "--service", "logistics", "--to", str(tmp_path / "b")]) == 0
    written = Path(capsys.readouterr().out.split(": ", 1)[1].strip())
    target = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    arguments = ["restore", "--service", "logistics", "--from", str(written)]
    assert main([*arguments, "--database-url", target]) == 0
    assert f"restored at revision {LOGISTICS_HISTORY.head()}" in capsys.readouterr().out
    assert main([*arguments, "--database-url", target]) == 1
    assert "already holds tables" in capsys.readouterr().err
