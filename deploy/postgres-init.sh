#!/usr/bin/env bash
# One database and one role per service, least privilege: the postgres image runs this
# once, on an empty data directory (/docker-entrypoint-initdb.d/), as its superuser.
#
# Each service's role (intake, logistics, distribution, notify) logs in with its own
# password, is no superuser and may not create databases or roles; it owns its database
# (and that database's public schema) and nothing else. CONNECT is revoked from PUBLIC on
# every service database and on the superuser's own, so a role can reach no database but
# its own. The superuser (POSTGRES_USER) stays for backups, restores and upgrades by hand.
#
# Passwords: <SERVICE>_DB_PASSWORD, or <SERVICE>_DB_PASSWORD_FILE naming a file that holds
# it (Docker secrets). `dinsos-admin keys generate` makes them. Safe to run again (e.g. on
# a server set up with one shared superuser): roles and databases that exist are altered,
# passwords reset to the given ones.
#
# DINSOS_DB_NAME_PREFIX (default empty) prefixes every role and database name; the tests
# use it to run this script on a shared server without touching anything else.
set -euo pipefail

SERVICES="${DINSOS_DB_SERVICES:-intake logistics distribution notify}"
PREFIX="${DINSOS_DB_NAME_PREFIX:-}"
ADMIN_DB="${POSTGRES_DB:-${POSTGRES_USER:-postgres}}"

admin_psql() {
  psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "${POSTGRES_USER:-postgres}" "$@"
}

password_of() {
  local service="$1" variable file
  variable="$(echo "$service" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
  file="${variable}_FILE"
  if [ -n "${!variable:-}" ]; then
    printf '%s' "${!variable}"
  elif [ -n "${!file:-}" ]; then
    # The first line of the file, without its newline.
    head -n 1 "${!file}" | tr -d '\r\n'
  else
    echo "postgres-init: set $variable (or $file); 'dinsos-admin keys generate' makes one" >&2
    return 1
  fi
}

for service in $SERVICES; do
  name="${PREFIX}${service}"
  password="$(password_of "$service")"
  if [ "${#password}" -lt 16 ]; then
    echo "postgres-init: the password of role $name is shorter than 16 characters" >&2
    exit 1
  fi
  # psql's :'var' and :"var" quote values and identifiers: no name or password is ever
  # spliced into SQL text by the shell.
  admin_psql --dbname "$ADMIN_DB" -v role="$name" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" WITH LOGIN PASSWORD :'password'
  NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT;
SELECT format('CREATE DATABASE %I OWNER %I', :'role', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'role') \gexec
ALTER DATABASE :"role" OWNER TO :"role";
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
SQL
  # Inside the database: its public schema belongs to the service, nobody else may use it.
  admin_psql --dbname "$name" -v role="$name" <<'SQL'
ALTER SCHEMA public OWNER TO :"role";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
SQL
done

# The superuser's own database is no service's.
admin_psql --dbname "$ADMIN_DB" -v database="$ADMIN_DB" <<'SQL'
REVOKE CONNECT, TEMPORARY ON DATABASE :"database" FROM PUBLIC;
SQL
