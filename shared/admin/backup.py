"""`dinsos-admin backup` and `dinsos-admin restore`: each service's database to a file and
back, safe to take while the services run.

SQLite goes through SQLite's online backup API (a consistent copy of the file while the
service keeps writing, its WAL included); PostgreSQL through `pg_dump --format=custom`
(one snapshot) and `pg_restore` in a single transaction. A backup's file name says the
service, the time (UTC) and the schema revision it holds, which is what a rollback needs:
restore it, then run the version that made that revision (or any newer one, which
upgrades it at start).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from shared.admin.database import HISTORIES, database_url
from shared.db import create_db_engine, normalise_database_url
from shared.migrations import current_revision

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(RuntimeError):
    """A backup or restore that cannot be done as asked; the message says why."""


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError(f"{url} is not a SQLite file")
    return Path(url.database)


def postgres_tool(name: str) -> str:
    """`pg_dump` or `pg_restore`: from PATH, else the newest of Debian's installed versions
    (a newer pg_dump reads an older server; an older one refuses a newer server)."""
    found = shutil.which(name)
    if found:
        return found
    installed = list(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not installed:
        raise BackupError(f"{name} not found: install the PostgreSQL client tools")
    return str(max(installed, key=lambda path: int(path.parts[-3])))


def _postgres_arguments(url: URL) -> tuple[list[str], dict[str, str]]:
    """Connection options for the PostgreSQL tools; the password goes in the environment,
    not on a command line other users of the machine can read."""
    arguments = ["--dbname", str(url.database)]
    if url.host:
        arguments += ["--host", url.host]
    if url.port:
        arguments += ["--port", str(url.port)]
    if url.username:
        arguments += ["--username", url.username]
    environment = dict(os.environ)
    if url.password is not None:
        environment["PGPASSWORD"] = str(url.password)
    return arguments, environment


def _run(command: list[str], environment: dict[str, str]) -> None:
    # S603: the program is pg_dump/pg_restore found above, the arguments are ours and the
    # operator's own database URL, passed as a list (no shell).
    finished = subprocess.run(  # noqa: S603
        command, env=environment, capture_output=True, text=True, check=False
    )
    if finished.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {finished.stderr.strip()}")


def backup_database(service: str, url_text: str, directory: Path) -> Path:
    """Copy the service's database into a new file in `directory`; its path."""
    url = make_url(normalise_database_url(url_text))
    engine = create_db_engine(url_text)
    try:
        revision = current_revision(engine) or "unversioned"
    finally:
        engine.dispose()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    directory.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        target = directory / f"{service}-{stamp}-{revision}.sqlite3"
        with (
            closing(sqlite3.connect(_sqlite_path(url))) as source,
            closing(sqlite3.connect(target)) as copy,
        ):
            source.backup(copy)  # one step: a consistent snapshot, writers carry on
        return target
    target = directory / f"{service}-{stamp}-{revision}.pgdump"
    arguments, environment = _postgres_arguments(url)
    _run(
        [
            postgres_tool("pg_dump"),
            *("--format=custom", "--no-owner", "--no-privileges", "--file", str(target)),
            *arguments,
        ],
        environment,
    )
    return target


def _has_tables(url_text: str) -> bool:
    engine = create_db_engine(url_text)
    try:
        return bool(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def restore_database(source: Path, url_text: str, *, replace: bool = False) -> str | None:
    """Put the backup `source` into the database at `url_text` (the service stopped);
    refused when that database holds tables, unless `replace`. The restored revision."""
    url = make_url(normalise_database_url(url_text))
    with source.open("rb") as opened:
        magic = opened.read(len(SQLITE_MAGIC))
    is_sqlite = url.get_backend_name() == "sqlite"
    if is_sqlite and not magic.startswith(SQLITE_MAGIC):
        raise BackupError(f"{source} is not a SQLite backup; this database is SQLite")
    if not is_sqlite and not magic.startswith(PG_DUMP_MAGIC):
        raise BackupError(f"{source} is not a pg_dump backup; this database is PostgreSQL")
    if _has_tables(url_text) and not replace:
        raise BackupError(
            f"{url.render_as_string(hide_password=True)} already holds tables: restore "
            "into an empty database, or pass --replace (stop the service first)"
        )
    if is_sqlite:
        with closing(sqlite3.connect(source)) as backup:
            checked = backup.execute("PRAGMA integrity_check").fetchone()
            if checked != ("ok",):
                raise BackupError(f"{source} is damaged: {checked}")
            with closing(sqlite3.connect(_sqlite_path(url))) as target:
                backup.backup(target)  # replaces every page, through the WAL
    else:
        arguments, environment = _postgres_arguments(url)
        clean = ["--clean", "--if-exists"] if replace else []
        _run(
            [
                postgres_tool("pg_restore"),
                *("--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"),
                *clean,
                *arguments,
                str(source),
            ],
            environment,
        )
    engine = create_db_engine(url_text)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def _backup(arguments: argparse.Namespace) -> int:
    services: list[str] = arguments.service or list(HISTORIES)
    failed = False
    for service in services:
        try:
            path = backup_database(service, database_url(service), Path(arguments.to))
        except BackupError as exc:
            print(f"{service}: failed: {exc}", file=sys.stderr)
            failed = True
            continue
        print(f"{service}: {path}")
    return 1 if failed else 0


def _restore(arguments: argparse.Namespace) -> int:
    url = arguments.database_url or database_url(arguments.service)
    try:
        revision = restore_database(Path(arguments.source), url, replace=arguments.replace)
    except BackupError as exc:
        print(f"{arguments.service}: failed: {exc}", file=sys.stderr)
        return 1
    head = HISTORIES[arguments.service].head()
    print(
        f"{arguments.service}: restored at revision {revision} (this version's head: {head}; "
        "a version at or after the restored revision upgrades it at start)"
    )
    return 0


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`backup` and `restore`."""
    backup = groups.add_parser("backup", help="copy each service's database to a file")
    backup.add_argument(
        "--service", action="append", choices=sorted(HISTORIES), help="(default: all)"
    )
    backup.add_argument("--to", default="backups", help="folder for the files (default: backups)")
    backup.set_defaults(run=_backup)

    restore = groups.add_parser("restore", help="put a backup into a service's database")
    restore.add_argument("--service", required=True, choices=sorted(HISTORIES))
    restore.add_argument("--from", dest="source", required=True, help="the backup file")
    restore.add_argument(
        "--database-url", help="this database instead of the service's configured one"
    )
    restore.add_argument(
        "--replace", action="store_true", help="overwrite a database that holds tables"
    )
    restore.set_defaults(run=_restore)
