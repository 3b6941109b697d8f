#!/usr/bin/env bash
# The test command (README, `make test`, `.ci/run`): install what is needed, check the
# habits (ruff's lint and format, mypy --strict), start a throw-away PostgreSQL, then run
# the whole suite on SQLite and PostgreSQL against a real Tansu broker, and tests/kafka/
# and the production rehearsal (tests/rehearsal/, behind Caddy) on Apache Kafka (fetched
# from Maven Central once). Extra arguments go to pytest.
#
# ruff takes a second and runs first: a lint failure stops the run before anything
# starts. mypy takes longer and runs in the background while the suite runs; its result
# is checked at the end, and its output shown only when it fails. Any failure fails the
# command.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
echo "==> ruff check, ruff format --check"
.venv/bin/ruff check --quiet .
.venv/bin/ruff format --check --quiet .
MYPY_LOG="$(mktemp "${TMPDIR:-/tmp}/dinsos-mypy.XXXXXX")"
echo "==> mypy (strict) in the background; its verdict comes after the tests"
.venv/bin/mypy shared services tests bench >"$MYPY_LOG" 2>&1 &
MYPY_PID=$!
# A set-up step failing below must not leave mypy running on its own.
trap 'kill "$MYPY_PID" 2>/dev/null || true; rm -f "$MYPY_LOG"' EXIT
bash scripts/chromium.sh
bash scripts/caddy.sh >/dev/null
KAFKA_DIR="$(bash scripts/kafka.sh)"
echo "==> Apache Kafka for tests/kafka/: $KAFKA_DIR"
TEST_POSTGRES_URL="$(bash scripts/postgres.sh)"
export TEST_POSTGRES_URL
echo "==> PostgreSQL for tests: $TEST_POSTGRES_URL"
# Most of the suite's time is spent waiting (a broker's group join, a service's start, a
# browser's page load), so it runs on more workers than the machine has cores; a whole
# file goes to one worker (tests/support/scheduling.py). DINSOS_TEST_WORKERS=0 runs it in
# this one process.
WORKERS="${DINSOS_TEST_WORKERS:-$(($(nproc) + 1))}"
echo "==> pytest on $WORKERS workers"
PYTEST_STATUS=0
.venv/bin/python -m pytest -n "$WORKERS" --dist loadfile "$@" || PYTEST_STATUS=$?
MYPY_STATUS=0
wait "$MYPY_PID" || MYPY_STATUS=$?
if [ "$MYPY_STATUS" -ne 0 ]; then
  echo "==> mypy failed ($MYPY_STATUS):"
  cat "$MYPY_LOG"
else
  echo "==> mypy: $(tail -n 1 "$MYPY_LOG")"
fi
if [ "$PYTEST_STATUS" -ne 0 ]; then
  exit "$PYTEST_STATUS"
fi
exit "$MYPY_STATUS"
