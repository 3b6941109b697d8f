#!/usr/bin/env bash
# The run command (README, `make run`): install what is needed, then start Tansu, the
# four services and the demo data on the embedded defaults. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m shared.stack "$@"
