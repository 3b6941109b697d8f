"""deploy/postgres-init.sh run against the test PostgreSQL server, as the postgres image
runs it on an office's server: one role and one database per service. Every name carries
a unique prefix, so tests can run beside each other on the shared server; `ServiceRoles`
drops what it made."""

from __future__ import annotations

import os
import secrets
import subprocess
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from shared.stack import SERVICES
from shared.tansu import StoppedOnExit

ROOT = Path(__file__).resolve().parents[2]
INIT_SCRIPT = ROOT / "deploy" / "postgres-init.sh"


def run_init_script(
    admin_url: str, admin_database: str, prefix: str, passwords: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run the init script as the image would (POSTGRES_USER, POSTGRES_DB, the passwords
    in the environment), against the server of `admin_url`."""
    admin = make_url(admin_url)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PGHOST": admin.host or "127.0.0.1",
        "PGPORT": str(admin.port or 5432),
        "POSTGRES_USER": admin.username or "postgres",
        "POSTGRES_DB": admin_database,
        "DINSOS_DB_NAME_PREFIX": prefix,
        **{f"{service.upper()}_DB_PASSWORD": value for service, value in passwords.items()},
    }
    if admin.password:
        env["PGPASSWORD"] = admin.password
    return subprocess.run(
        ["bash", str(INIT_SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@dataclass
class ServiceRoles(StoppedOnExit):
    """The four service roles and databases the init script made, and how to reach them."""

    admin_url: str
    prefix: str
    admin_database: str
    passwords: dict[str, str]
    made: bool = field(default=False)

    @classmethod
    def create(cls, admin_url: str, passwords: Mapping[str, str] | None = None) -> Self:
        """A scratch database standing for the image's POSTGRES_DB, then the init script."""
        prefix = f"r{uuid.uuid4().hex[:10]}_"
        roles = cls(
            admin_url=admin_url,
            prefix=prefix,
            admin_database=f"{prefix}admin",
            passwords=dict(passwords or {s: secrets.token_urlsafe(24) for s in SERVICES}),
        )
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(
                sql.SQL("CREATE DATABASE {}").format(sql.Identifier(roles.admin_database))
            )
        roles.made = True
        result = run_init_script(admin_url, roles.admin_database, prefix, roles.passwords)
        if result.returncode != 0:
            roles.stop()
            raise RuntimeError(f"deploy/postgres-init.sh failed:\n{result.stderr}")
        return roles

    def name(self, service: str) -> str:
        """The role of `service`, which is also the name of its database."""
        return f"{self.prefix}{service}"

    def url(self, service: str, database: str | None = None) -> str:
        """`service`'s role's URL to its own database (or to `database`)."""
        admin = make_url(self.admin_url)
        return str(
            admin.set(
                username=self.name(service),
                password=self.passwords[service],
                database=database or self.name(service),
            ).render_as_string(hide_password=False)
        )

    def stop(self) -> None:
        """Drop every database and role the script made (connections closed first)."""
        if not self.made:
            return
        names = [self.name(service) for service in SERVICES]
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            for database in [*names, self.admin_database]:
                connection.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(database)
                    )
                )
            for role in names:
                connection.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        self.made = False
