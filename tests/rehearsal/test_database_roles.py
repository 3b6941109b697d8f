"""deploy/postgres-init.sh, the least privilege of an office's PostgreSQL: each service
logs in as its own role, which owns its database and nothing else, and is no superuser.
Run against the test PostgreSQL server with unique names, dropped afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from shared.stack import SERVICES
from tests.support.databases import postgres_admin_url
from tests.support.roles import ServiceRoles, run_init_script


@pytest.fixture(scope="module")
def admin_url() -> str:
    url = postgres_admin_url()
    if url is None:
        pytest.fail("TEST_POSTGRES_URL is not set: `make test` starts PostgreSQL")
    return url


@pytest.fixture(scope="module")
def roles(admin_url: str) -> Iterator[ServiceRoles]:
    with ServiceRoles.create(admin_url) as made:
        yield made


def test_each_service_role_owns_its_database_and_may_build_its_tables_there(
    roles: ServiceRoles,
) -> None:
    for service in SERVICES:
        with psycopg.connect(roles.url(service), autocommit=True) as connection:
            connection.execute("CREATE TABLE rehearsal_probe (id integer PRIMARY KEY)")
            connection.execute("DROP TABLE rehearsal_probe")
            owner = connection.execute(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
            ).fetchone()
            assert owner == (roles.name(service),)


def test_a_service_role_cannot_connect_to_another_services_database(
    roles: ServiceRoles,
) -> None:
    for service in SERVICES:
        for other in SERVICES:
            if other == service:
                continue
            with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
                psycopg.connect(roles.url(service, database=roles.name(other))).close()


def test_a_service_role_cannot_connect_to_the_superusers_own_database(
    roles: ServiceRoles,
) -> None:
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(roles.url("intake", database=roles.admin_database)).close()


def test_no_service_role_is_a_superuser_or_may_create_databases_or_roles(
    roles: ServiceRoles, admin_url: str
) -> None:
    with psycopg.connect(admin_url) as connection:
        rows = connection.execute(
            "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls"
            " FROM pg_roles WHERE rolname = ANY(%s)",
            ([roles.name(service) for service in SERVICES],),
        ).fetchall()
    assert sorted(row[0] for row in rows) == sorted(roles.name(s) for s in SERVICES)
    assert all(row[1:] == (False, False, False, False, False) for row in rows), rows
    with (
        psycopg.connect(roles.url("notify"), autocommit=True) as connection,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        connection.execute("CREATE ROLE smuggled LOGIN SUPERUSER")


def test_running_the_script_again_changes_nothing_and_fails_nowhere(
    roles: ServiceRoles, admin_url: str
) -> None:
    again = run_init_script(admin_url, roles.admin_database, roles.prefix, roles.passwords)
    assert again.returncode == 0, again.stderr
    with psycopg.connect(roles.url("logistics")) as connection:
        assert connection.execute("SELECT current_user").fetchone() == (roles.name("logistics"),)


def test_a_missing_password_stops_the_script_with_its_variables_name(
    roles: ServiceRoles, admin_url: str
) -> None:
    without_notify = {s: p for s, p in roles.passwords.items() if s != "notify"}
    result = run_init_script(admin_url, roles.admin_database, roles.prefix, without_notify)
    assert result.returncode != 0
    assert "NOTIFY_DB_PASSWORD" in result.stderr
