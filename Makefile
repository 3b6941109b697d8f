# The two commands a newcomer needs are `make run` and `make test`; the rest is for us.
.PHONY: help run test fast lint typecheck format bench clean

help:       ## this list
	@awk -F ': +## ' '/^[a-z]+: +## / { printf "  make %-10s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

run:        ## start broker, four services and demo data; Ctrl-C stops all
	bash scripts/run.sh

test:       ## the whole suite on SQLite and PostgreSQL, real broker
	bash scripts/test.sh

fast:       ## domain and handler tests on SQLite, no broker or browser: seconds, not minutes
	bash scripts/bootstrap.sh && .venv/bin/python -m pytest -q -k "not postgresql" \
	  $(wildcard tests/*/test_*domain*.py tests/*/test_*handlers*.py)

lint:       ## ruff's lint and format check
	bash scripts/bootstrap.sh && .venv/bin/ruff check . && .venv/bin/ruff format --check .

typecheck:  ## mypy --strict on the services, shared code, tests and bench
	bash scripts/bootstrap.sh && .venv/bin/mypy shared services tests bench

format:     ## ruff formats and fixes what it can
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .

bench:      ## every benchmark, figures printed: pipeline vs raw broker, HTTP, memory, latency
	bash scripts/bootstrap.sh && .venv/bin/python -m bench.compare && .venv/bin/python -m bench.pipeline && .venv/bin/python -m bench.allocation

clean:      ## the local run's data and the tools' caches
	rm -rf data .pytest_cache .mypy_cache .ruff_cache
