#!/usr/bin/env bash
# The test command (README, `make test`, `.ci/run`): install what is needed, start a
# throw-away PostgreSQL, then run the whole suite on SQLite and PostgreSQL against a
# real Tansu broker, and tests/kafka/ and the production rehearsal (tests/rehearsal/, behind
# Caddy) on Apache Kafka (fetched from Maven Central once).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/chromium.sh
bash scripts/caddy.sh >/dev/null
KAFKA_DIR="$(bash scripts/kafka.sh)"
echo "==> Apache Kafka for tests/kafka/: $KAFKA_DIR"
TEST_POSTGRES_URL="$(bash scripts/postgres.sh)"
export TEST_POSTGRES_URL
echo "==> PostgreSQL for tests: $TEST_POSTGRES_URL"
exec .venv/bin/python -m pytest "$@"
