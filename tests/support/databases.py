"""Fresh databases for tests: a SQLite file, or a new PostgreSQL database per test."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg

POSTGRES_ENV = "TEST_POSTGRES_URL"


def postgres_admin_url() -> str | None:
    """The admin URL of the test PostgreSQL server, from the environment."""
    return os.environ.get(POSTGRES_ENV) or None


def new_database_url(backend: str, tmp_path: Path, admin: str | None = None) -> str:
    """A URL of an empty database of the given backend ('sqlite' or 'postgresql'), on the
    PostgreSQL server at `admin` (default: the test server from the environment)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / f'db-{uuid.uuid4().hex[:8]}.sqlite3'}"
    admin = admin or postgres_admin_url()
    if admin is None:
        raise RuntimeError(f"{POSTGRES_ENV} is not set")
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin.rpartition("/")
    return f"{base}/{name}"
