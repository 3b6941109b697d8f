"""`dinsos-admin db upgrade | current | check | revision`: each service's schema history.

`upgrade` is the one-shot step docker-compose runs before the services (they would do the
same at start, under the same lock); `check` tells whether a database is exactly what
this version's models describe; `revision` writes the next revision for a developer.
"""

from __future__ import annotations

import argparse
import os
import sys

from sqlalchemy.exc import SQLAlchemyError

from services.distribution.migrations import HISTORY as DISTRIBUTION
from services.intake.migrations import HISTORY as INTAKE
from services.logistics.migrations import HISTORY as LOGISTICS
from services.notify.migrations import HISTORY as NOTIFY
from shared.db import create_db_engine
from shared.migrations import (
    MigrationHistory,
    SchemaAdoptionRefused,
    current_revision,
    new_revision,
    schema_differences,
    upgrade,
)
from shared.settings import CommonSettings

HISTORIES: dict[str, MigrationHistory] = {
    history.service: history for history in (INTAKE, LOGISTICS, DISTRIBUTION, NOTIFY)
}


def database_url(service: str) -> str:
    """The service's database as the service itself would find it: `<SERVICE>_DATABASE_URL`,
    or its SQLite file in the data folder. Read without the service's other settings, so
    migrating and backing up need no secrets."""
    configured = os.environ.get(f"{service.upper()}_DATABASE_URL", "")
    return configured or f"sqlite:///{CommonSettings().data_dir / f'{service}.sqlite3'}"


def chosen_services(arguments: argparse.Namespace) -> list[str]:
    """The services named with --service, or all four."""
    services: list[str] = arguments.service or list(HISTORIES)
    if getattr(arguments, "database_url", None) and len(services) != 1:
        raise SystemExit("--database-url needs exactly one --service")
    return services


def url_for(service: str, arguments: argparse.Namespace) -> str:
    """--database-url when given, else the service's configured database."""
    override: str | None = getattr(arguments, "database_url", None)
    return override or database_url(service)


def _upgrade(arguments: argparse.Namespace) -> int:
    failed = False
    for service in chosen_services(arguments):
        engine = create_db_engine(url_for(service, arguments))
        try:
            outcome = upgrade(engine, HISTORIES[service], arguments.revision)
        except (SchemaAdoptionRefused, SQLAlchemyError) as exc:
            print(f"{service}: failed: {exc}", file=sys.stderr)
            failed = True
            continue
        finally:
            engine.dispose()
        did = f"applied {', '.join(outcome.applied)}" if outcome.applied else "nothing to do"
        adopted = "; adopted a database made before migrations" if outcome.adopted else ""
        print(f"{service}: at {outcome.current} ({did}{adopted})")
    return 1 if failed else 0


def _current(arguments: argparse.Namespace) -> int:
    behind = False
    for service in chosen_services(arguments):
        engine = create_db_engine(url_for(service, arguments))
        try:
            at = current_revision(engine)
        finally:
            engine.dispose()
        head = HISTORIES[service].head()
        behind |= at != head
        print(f"{service}: at {at or 'nothing (empty or made before migrations)'}, head {head}")
    return 1 if behind else 0


def _check(arguments: argparse.Namespace) -> int:
    differing = False
    for service in chosen_services(arguments):
        engine = create_db_engine(url_for(service, arguments))
        try:
            differences = schema_differences(engine, HISTORIES[service])
        finally:
            engine.dispose()
        differing |= bool(differences)
        print(f"{service}: {'differs from the models' if differences else 'matches the models'}")
        for difference in differences:
            print(f"  {difference}")
    return 1 if differing else 0


def _revision(arguments: argparse.Namespace) -> int:
    path = new_revision(HISTORIES[arguments.service], arguments.message, arguments.database_url)
    print(f"wrote {path}: read it, correct it, run tests/shared/test_migrations.py")
    return 0


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`db upgrade`, `db current`, `db check` and `db revision`."""
    db = groups.add_parser("db", help="each service's database schema (migrations)")
    actions = db.add_subparsers(dest="action", required=True, metavar="ACTION")

    def with_services(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        parser.add_argument(
            "--service", action="append", choices=sorted(HISTORIES), help="(default: all)"
        )
        parser.add_argument(
            "--database-url", help="this database instead of the service's configured one"
        )
        return parser

    upgrade_parser = with_services(
        actions.add_parser("upgrade", help="bring each database to the newest schema")
    )
    upgrade_parser.add_argument("--revision", default="head", help="(default: head)")
    upgrade_parser.set_defaults(run=_upgrade)
    with_services(
        actions.add_parser("current", help="the revision each database is at (1: behind)")
    ).set_defaults(run=_current)
    with_services(
        actions.add_parser("check", help="compare each database with the models (1: differs)")
    ).set_defaults(run=_check)

    revision = actions.add_parser(
        "revision", help="autogenerate the next revision of a service from its models"
    )
    revision.add_argument("--service", required=True, choices=sorted(HISTORIES))
    revision.add_argument("-m", "--message", required=True, help="what the revision changes")
    revision.add_argument(
        "--database-url",
        help="an empty scratch database to compare against (default: a temporary SQLite "
        "file; give a scratch PostgreSQL to see type changes as PostgreSQL does)",
    )
    revision.set_defaults(run=_revision)
