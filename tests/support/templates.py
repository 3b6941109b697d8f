"""Migrated template databases, so that a test's empty database reaches head by a copy.

Every service migrates its database when it starts (`ServiceRuntime.migrate`), and most
tests start a service on a fresh, empty database: running the whole Alembic history each
time costs 0.5-2 s a test on a loaded machine. Instead, the first start of each service on
each kind of database runs the real migrations into a template; every later start on an
empty database gets a copy of that template (PostgreSQL: `CREATE DATABASE ... TEMPLATE`;
SQLite: the backup API, page by page) and then the real `upgrade`, which finds the copy
at head and does nothing. The schema is the one the migrations make, because it is what
they made. A database that is not empty, or a revision other than head, takes the real
path unchanged; so do the migration tests (they call `shared.migrations.upgrade` itself)
and tests marked `migrations_at_start`.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from contextlib import closing
from pathlib import Path

import psycopg
from sqlalchemy import Engine, inspect
from sqlalchemy.engine import URL

from shared.db import create_db_engine
from shared.migrations import MigrationHistory, UpgradeOutcome, upgrade
from tests.support.databases import new_database_url
from tests.support.migrations import HISTORIES


def _is_empty(engine: Engine) -> bool:
    return not inspect(engine).get_table_names()


def _libpq(url: URL, database: str) -> str:
    """A psycopg connection string for `database` on `url`'s server."""
    return url.set(drivername="postgresql", database=database).render_as_string(hide_password=False)


class TemplateDatabases:
    """One migrated template per service and kind of database (and PostgreSQL server),
    made on first use, copied into every empty database a service starts on."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.enabled = True
        self._sqlite: dict[str, Path] = {}
        # (admin URL of the server, service) -> template database
        self._postgres: dict[tuple[str, str], str] = {}
        # Services start in threads (a lifespan migrates in one); a template is made once.
        self._lock = threading.Lock()

    def upgrade(
        self, engine: Engine, history: MigrationHistory, revision: str = "head"
    ) -> UpgradeOutcome:
        """`shared.migrations.upgrade`, from the template when `engine`'s database is empty."""
        if self.enabled and revision == "head" and _is_empty(engine):
            with self._lock:
                if engine.dialect.name == "sqlite":
                    self._copy_sqlite(engine, history)
                elif engine.dialect.name == "postgresql":
                    self._copy_postgres(engine, history)
        return upgrade(engine, history, revision)

    def new_database_url(
        self, service: str, backend: str, directory: Path, admin: str | None = None
    ) -> str:
        """A new database (as `tests.support.databases.new_database_url`) already at
        `service`'s head, for a service started as a process: it finds nothing to do."""
        url = new_database_url(backend, directory, admin)
        engine = create_db_engine(url)
        try:
            self.upgrade(engine, HISTORIES[service])
        finally:
            engine.dispose()
        return url

    def _copy_sqlite(self, engine: Engine, history: MigrationHistory) -> None:
        template = self._sqlite.get(history.service)
        if template is None:
            template = self.directory / f"{history.service}.sqlite3"
            made = create_db_engine(f"sqlite:///{template}")
            try:
                upgrade(made, history)
            finally:
                made.dispose()
            self._sqlite[history.service] = template
        target = engine.url.database
        if not target or target == ":memory:":
            return  # nothing to copy into: the real migration runs
        engine.dispose()  # no pooled connection holds the file while its pages change
        with closing(sqlite3.connect(template)) as source, closing(sqlite3.connect(target)) as copy:
            source.backup(copy)

    def _copy_postgres(self, engine: Engine, history: MigrationHistory) -> None:
        url = engine.url
        server = _libpq(url, "postgres")
        template = self._postgres.get((server, history.service))
        if template is None:
            template = f"template_{history.service}_{uuid.uuid4().hex[:12]}"
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{template}"')
            made = create_db_engine(_libpq(url, template))
            try:
                upgrade(made, history)
            finally:
                made.dispose()
            self._postgres[(server, history.service)] = template
        engine.dispose()  # its pool pings before use: it reconnects to the copy
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{url.database}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{url.database}" TEMPLATE "{template}"')

    def drop(self) -> None:
        """Remove the PostgreSQL templates (the SQLite ones go with their folder)."""
        for (server, _service), template in self._postgres.items():
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        self._postgres.clear()
