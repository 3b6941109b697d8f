"""Each service's schema is its migrations': a model changed without a revision fails here,
an upgrade keeps every row, a database made before migrations is adopted (or refused by
name), and two replicas starting together on one database both start with one migration.
On SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import (
    CheckConstraint,
    Column,
    Engine,
    Enum,
    MetaData,
    String,
    func,
    select,
    table,
    text,
)

from services.distribution.app import create_app as distribution_app
from services.distribution.settings import DistributionSettings
from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from services.logistics.app import create_app as logistics_app
from services.logistics.migrations import HISTORY as LOGISTICS_HISTORY
from services.logistics.settings import LogisticsSettings
from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings
from shared.admin.__main__ import main as admin
from shared.db import create_db_engine
from shared.migrations import (
    VERSION_TABLE,
    MigrationHistory,
    SchemaAdoptionRefused,
    current_revision,
    schema_differences,
    upgrade,
)
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings
from tests.support.databases import new_database_url
from tests.support.migrations import HISTORIES, fill_every_table, primary_keys


@pytest.fixture(params=sorted(HISTORIES))
def history(request: pytest.FixtureRequest) -> MigrationHistory:
    """Each service's schema history in turn."""
    return HISTORIES[request.param]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on an empty database, SQLite or PostgreSQL."""
    built = create_db_engine(database_url)
    yield built
    built.dispose()


def test_each_history_is_one_line_numbered_from_0001(history: MigrationHistory) -> None:
    # Two branches that each add a revision meet here after a merge: renumber one.
    revisions = history.revisions()
    assert revisions == [f"{n:04d}" for n in range(1, len(revisions) + 1)]
    assert history.scripts().get_heads() == [revisions[-1]]
    files = sorted(path.name for path in history.versions.glob("m*.py"))
    assert [name[1:5] for name in files] == revisions


def test_the_migrated_database_is_exactly_what_the_models_describe(
    history: MigrationHistory, engine: Engine
) -> None:
    upgrade(engine, history)
    assert schema_differences(engine, history) == []


def _copy_of_logistics() -> MetaData:
    copy = MetaData()
    for each in LOGISTICS_HISTORY.target_metadata().sorted_tables:
        each.to_metadata(copy)
    return copy


def _add_column(metadata: MetaData) -> None:
    metadata.tables["lot"].append_column(Column("batch_number", String(40), nullable=True))


def _change_check(metadata: MetaData) -> None:
    lot = metadata.tables["lot"]
    (check,) = [c for c in lot.constraints if c.name == "lot_on_hand_not_negative"]
    lot.constraints.discard(check)
    lot.append_constraint(CheckConstraint("on_hand >= 1", name="lot_on_hand_not_negative"))


def _change_index_predicate(metadata: MetaData) -> None:
    (index,) = [i for i in metadata.tables["lot"].indexes if i.name == "ix_lot_issue_order"]
    index.dialect_kwargs["sqlite_where"] = text("on_hand > 0")
    index.dialect_kwargs["postgresql_where"] = text("on_hand > 0")


def _add_enum_label(metadata: MetaData) -> None:
    kind = metadata.tables["stock_movement"].c.kind
    assert isinstance(kind.type, Enum)
    kind.type = Enum(*kind.type.enums, "DONATION_WRITTEN_OFF_BY_DECREE", name="movementkind")


MODEL_CHANGES: dict[str, tuple[Callable[[MetaData], None], str]] = {
    "added column": (_add_column, "batch_number"),
    "changed CHECK on stock": (_change_check, "lot_on_hand_not_negative"),
    "changed partial-index predicate": (_change_index_predicate, "ix_lot_issue_order"),
    "added enum label": (_add_enum_label, "kind"),
}


@pytest.mark.parametrize("change", sorted(MODEL_CHANGES))
def test_a_model_change_without_a_revision_is_found(engine: Engine, change: str) -> None:
    upgrade(engine, LOGISTICS_HISTORY)
    mutate, named = MODEL_CHANGES[change]
    changed = _copy_of_logistics()
    mutate(changed)
    ahead = MigrationHistory("logistics", changed, LOGISTICS_HISTORY.versions)
    differences = schema_differences(engine, ahead)
    assert differences, f"{change} went unnoticed"
    assert any(named in difference for difference in differences), differences


def test_an_upgrade_keeps_every_row_of_every_table(
    history: MigrationHistory, engine: Engine
) -> None:
    # The revision before head (once there is one): its tables, each with a row, must
    # come through the upgrade with every row. With one revision, head meets a full
    # database and must leave it be.
    revisions = history.revisions()
    older = revisions[-2] if len(revisions) > 1 else revisions[-1]
    upgrade(engine, history, older)
    before = fill_every_table(engine)
    assert len(before) >= 8, "every service has its tables plus outbox and audit"

    outcome = upgrade(engine, history)

    assert outcome.current == history.head()
    assert outcome.applied == tuple(revisions[revisions.index(older) + 1 :])
    assert primary_keys(engine, set(before)) == before
    assert schema_differences(engine, history) == []


def _made_by_create_all(engine: Engine, history: MigrationHistory) -> None:
    """A database as the versions before migrations left it: the first revision's tables
    (what `create_all` made then) and no version table."""
    upgrade(engine, history, history.revisions()[0])
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE {VERSION_TABLE}"))


def test_a_database_made_before_migrations_is_adopted_with_its_rows(
    history: MigrationHistory, engine: Engine
) -> None:
    _made_by_create_all(engine, history)
    before = fill_every_table(engine)

    outcome = upgrade(engine, history)

    assert outcome.adopted
    assert outcome.applied == tuple(history.revisions()[1:])
    assert outcome.current == history.head()
    assert primary_keys(engine, set(before)) == before
    assert schema_differences(engine, history) == []


def test_a_database_made_by_an_older_version_without_migrations_is_refused_by_name(
    engine: Engine,
) -> None:
    _made_by_create_all(engine, LOGISTICS_HISTORY)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE lot DROP COLUMN bin_location"))

    with pytest.raises(SchemaAdoptionRefused, match=r"lot\.bin_location"):
        upgrade(engine, LOGISTICS_HISTORY)

    with engine.connect() as connection:  # refused before anything was written
        tables = connection.dialect.get_table_names(connection)
    assert VERSION_TABLE not in tables


@contextmanager
def migration_lock_held(database_url: str) -> Iterator[Callable[[], int]]:
    """Hold the lock a migration of logistics takes, as a replica mid-migration would; yields
    a count of the other sessions now waiting for it."""
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[1]
        file_holder = sqlite3.connect(path, isolation_level=None)
        file_holder.execute("PRAGMA journal_mode=WAL")
        file_holder.execute("BEGIN IMMEDIATE")

        def waiting_on_file() -> int:  # replicas with the file open wait for its lock
            return sum(1 for pid in replicas_alive if path in open_files(pid))

        try:
            yield waiting_on_file
        finally:
            file_holder.execute("ROLLBACK")
            file_holder.close()
        return
    with psycopg.connect(database_url, autocommit=True) as holder:
        key = LOGISTICS_HISTORY.lock_key()
        holder.execute("SELECT pg_advisory_lock(%s)", (key,))

        def waiting_on_lock() -> int:
            found = holder.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).fetchone()
            return int(found[0]) if found else 0

        try:
            yield waiting_on_lock
        finally:
            holder.execute("SELECT pg_advisory_unlock(%s)", (key,))


replicas_alive: list[int] = []


def open_files(pid: int) -> set[str]:
    """The paths process `pid` has open (Linux /proc)."""
    found = set()
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        with suppress(OSError):
            found.add(str(descriptor.readlink()))
    return found


def test_two_replicas_starting_together_both_start_and_the_migration_runs_once(
    database_url: str,
) -> None:
    # Each replica is a process running the start-up migration (`db upgrade`, what the
    # services run first). Both are held at the lock until both wait for it, then race.
    command = [sys.executable, "-m", "shared.admin", "db", "upgrade", "--service", "logistics"]
    command += ["--database-url", database_url]
    with migration_lock_held(database_url) as waiting:
        replicas = [
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        replicas_alive[:] = [replica.pid for replica in replicas]
        deadline = time.monotonic() + 60
        while waiting() < len(replicas):
            assert time.monotonic() < deadline, "the replicas never reached the lock"
            assert all(replica.poll() is None for replica in replicas), "a replica did not wait"
            time.sleep(0.05)
    outputs = [replica.communicate(timeout=120) for replica in replicas]

    assert [replica.returncode for replica in replicas] == [0, 0], outputs
    said = sorted(out.strip() for out, _ in outputs)
    head = LOGISTICS_HISTORY.head()
    assert said == [
        f"logistics: at {head} (applied {', '.join(LOGISTICS_HISTORY.revisions())})",
        f"logistics: at {head} (nothing to do)",
    ]
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as connection:
            versions = connection.execute(
                select(func.count()).select_from(table(VERSION_TABLE))
            ).scalar_one()
        assert versions == 1
        assert schema_differences(engine, LOGISTICS_HISTORY) == []
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("service", "create_app", "settings_class"),
    [
        ("intake", intake_app, IntakeSettings),
        ("logistics", logistics_app, LogisticsSettings),
        ("distribution", distribution_app, DistributionSettings),
        ("notify", notify_app, NotifySettings),
    ],
)
def test_each_service_starts_through_its_own_history(
    tmp_path: Path, service: str, create_app: Callable[..., FastAPI], settings_class: type
) -> None:
    settings = settings_class(
        database_url=f"sqlite:///{tmp_path / 'service.sqlite3'}",
        common=CommonSettings(environment="test", data_dir=tmp_path),
    )
    runtime: ServiceRuntime = create_app(settings).state.runtime
    assert runtime.migrations is HISTORIES[service]
    runtime.engine.dispose()


def _logistics(database_url: str, tmp_path: Path) -> ServiceRuntime:
    settings = LogisticsSettings(
        database_url=database_url, common=CommonSettings(environment="test", data_dir=tmp_path)
    )
    runtime: ServiceRuntime = logistics_app(settings).state.runtime
    return runtime


def _started_logistics(database_url: str, tmp_path: Path) -> ServiceRuntime:
    runtime = _logistics(database_url, tmp_path)
    outcome = runtime.migrate()
    assert outcome is not None
    assert outcome.applied == ()  # the copy was at head: Alembic had nothing to run
    return runtime


@pytest.mark.migrations_at_start
def test_a_service_starting_on_an_empty_database_runs_its_whole_history(
    database_url: str, tmp_path: Path
) -> None:
    runtime = _logistics(database_url, tmp_path)
    try:
        outcome = runtime.migrate()
        assert outcome is not None
        assert outcome.applied == tuple(LOGISTICS_HISTORY.revisions())
        assert schema_differences(runtime.engine, LOGISTICS_HISTORY) == []
    finally:
        runtime.engine.dispose()


def test_the_suites_template_copy_is_the_schema_the_migrations_make(
    database_url: str, tmp_path: Path
) -> None:
    # Outside `migrations_at_start`, tests/support/templates.py copies a migrated template
    # into the empty database: it must be exactly what the migrations make, and each copy
    # a database of its own.
    first = _started_logistics(database_url, tmp_path)
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    second = _started_logistics(new_database_url(backend, tmp_path), tmp_path)
    try:
        for runtime in (first, second):
            assert schema_differences(runtime.engine, LOGISTICS_HISTORY) == []
            assert current_revision(runtime.engine) == LOGISTICS_HISTORY.head()
        keys = fill_every_table(first.engine)
        assert primary_keys(second.engine, set(keys)) == {name: set() for name in keys}
    finally:
        first.engine.dispose()
        second.engine.dispose()


def test_the_command_line_tells_where_each_database_stands_and_brings_it_to_head(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'logistics.sqlite3'}"
    one = ["--service", "logistics", "--database-url", url]
    head = LOGISTICS_HISTORY.head()

    assert admin(["db", "current", *one]) == 1
    assert f"logistics: at nothing (empty or made before migrations), head {head}" in (
        capsys.readouterr().out
    )
    assert admin(["db", "upgrade", *one]) == 0
    assert f"logistics: at {head} (applied" in capsys.readouterr().out
    assert admin(["db", "current", *one]) == 0
    assert admin(["db", "check", *one]) == 0
    assert "logistics: matches the models" in capsys.readouterr().out

    engine = create_db_engine(url)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE lot DROP COLUMN bin_location"))
    engine.dispose()
    assert admin(["db", "check", *one]) == 1
    assert "bin_location" in capsys.readouterr().out


PARENT_AND_CHILD = """
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table("warehouse", sa.Column("code", sa.String(40), primary_key=True))
    op.create_table(
        "lot",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("warehouse_code", sa.String(40), sa.ForeignKey("warehouse.code")),
    )
"""

COPY_THE_PARENT = """
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    # A new NOT NULL column with a default: SQLite copies the whole table for it.
    with op.batch_alter_table("warehouse", recreate="always") as batch:
        batch.add_column(sa.Column("active", sa.Boolean, nullable=False, server_default="1"))
"""


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_sqlite_table_copy_of_a_referenced_table_keeps_the_rows_that_point_at_it(
    tmp_path: Path, backend: str
) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "m0001_parent_and_child.py").write_text(PARENT_AND_CHILD)
    (versions / "m0002_copy_the_parent.py").write_text(COPY_THE_PARENT)
    history = MigrationHistory("scratch", MetaData(), versions)
    engine = create_db_engine(new_database_url(backend, tmp_path))
    try:
        upgrade(engine, history, "0001")
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO warehouse (code) VALUES ('GDG-TGR')"))
            connection.execute(text("INSERT INTO lot (id, warehouse_code) VALUES (1, 'GDG-TGR')"))

        assert upgrade(engine, history).applied == ("0002",)

        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT lot.id, warehouse.active FROM lot"
                    " JOIN warehouse ON code = warehouse_code"
                )
            ).all()
            checks = connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one()
        assert [tuple(row) for row in rows] == [(1, True)]
        assert checks == 1, "foreign keys are back on for the service's connections"
    finally:
        engine.dispose()


COPY_THE_LOT_TABLE = """
from alembic import op

revision = "{revision}"
down_revision = "{down_revision}"


def upgrade() -> None:
    with op.batch_alter_table("lot", recreate="always"):
        pass
"""


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_sqlite_table_copy_of_lot_keeps_its_stock_checks_and_issue_order_index(
    tmp_path: Path, backend: str
) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    # The whole history, then one more revision that copies the lot table.
    revisions = sorted(LOGISTICS_HISTORY.versions.glob("m[0-9][0-9][0-9][0-9]_*.py"))
    for revision in revisions:
        shutil.copy(revision, versions / revision.name)
    numbers = [revision.name[1:5] for revision in revisions]
    copy = f"{int(numbers[-1]) + 1:04d}"
    (versions / f"m{copy}_copy_the_lot_table.py").write_text(
        COPY_THE_LOT_TABLE.format(revision=copy, down_revision=numbers[-1])
    )
    history = MigrationHistory("logistics", LOGISTICS_HISTORY.metadata, versions)
    engine = create_db_engine(new_database_url(backend, tmp_path))
    try:
        assert upgrade(engine, history).applied == (*numbers, copy)
        assert schema_differences(engine, history) == []
        with engine.begin() as connection:
            refused = connection.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'lot'")
            ).scalar_one()
        assert "lot_reserved_within_on_hand" in refused
    finally:
        engine.dispose()
