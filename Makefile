# The two commands a newcomer needs are `make run` and `make test`; the rest is for us.
.PHONY: run test lint typecheck format bench clean

run:        ## start broker, four services and demo data; Ctrl-C stops all
	bash scripts/run.sh

test:       ## the whole suite on SQLite and PostgreSQL, real broker
	bash scripts/test.sh

lint:
	bash scripts/bootstrap.sh && .venv/bin/ruff check . && .venv/bin/ruff format --check .

typecheck:
	bash scripts/bootstrap.sh && .venv/bin/mypy shared services tests bench

format:
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .

bench:      ## every benchmark, figures printed: pipeline vs raw broker, HTTP, memory, latency
	bash scripts/bootstrap.sh && .venv/bin/python -m bench.compare && .venv/bin/python -m bench.pipeline && .venv/bin/python -m bench.allocation

clean:
	rm -rf data .pytest_cache .mypy_cache .ruff_cache
