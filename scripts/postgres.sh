#!/usr/bin/env bash
# Start a throw-away PostgreSQL for the test suite (installing it with apt if missing)
# and print its admin URL. The cluster lives in $PGTEST_DIR and listens on loopback.
set -euo pipefail
PGTEST_DIR="${PGTEST_DIR:-/tmp/dinsos-pgtest}"
PGTEST_PORT="${PGTEST_PORT:-55432}"
find_bin() {
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
  done
  return 1
}
if ! PGBIN=$(find_bin); then
  echo "==> installing PostgreSQL (apt)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  PGBIN=$(find_bin)
fi
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --home-dir "$PGTEST_DIR" postgres
fi
if as_postgres "$PGBIN/pg_ctl" -D "$PGTEST_DIR/data" status >/dev/null 2>&1; then
  echo "postgresql://postgres@127.0.0.1:$PGTEST_PORT/postgres"
  exit 0
fi
rm -rf "$PGTEST_DIR"
mkdir -p "$PGTEST_DIR"
[ "$(id -u)" = 0 ] && chown postgres "$PGTEST_DIR"
as_postgres "$PGBIN/initdb" -D "$PGTEST_DIR/data" -U postgres --auth=trust -E UTF8 >/dev/null
as_postgres "$PGBIN/pg_ctl" -D "$PGTEST_DIR/data" -l "$PGTEST_DIR/log" -w -o \
  "-p $PGTEST_PORT -c listen_addresses=127.0.0.1 -k $PGTEST_DIR -c fsync=off -c max_connections=300" \
  start >/dev/null
echo "postgresql://postgres@127.0.0.1:$PGTEST_PORT/postgres"
