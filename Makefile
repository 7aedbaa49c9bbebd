# Every target bootstraps its own .venv from nothing; constraints.txt pins the whole tree.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export DBT_SEND_ANONYMOUS_USAGE_STATS := False

.PHONY: demo test lint format bench clean lock system-packages wheel

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/monitor demo

# PostgreSQL and Java for the engine parity suite, Chromium for the report test (apt, when missing).
system-packages:
	tests/system-packages.sh

test: $(STAMP) lint system-packages
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check monitor tests bench
	$(BIN)/ruff format --check monitor tests bench
	$(BIN)/mypy monitor

format: $(STAMP)
	$(BIN)/ruff format monitor tests bench
	$(BIN)/ruff check --fix monitor tests bench

# The peers (Evidently) live in their own venv: never a dependency of the product.
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed-stamp

$(BENCH_STAMP): bench/requirements-peers.txt bench/constraints-peers.txt
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -c bench/constraints-peers.txt -r bench/requirements-peers.txt
	touch $(BENCH_STAMP)

# The overhead bench measures this checkout against main before the overhead work
# (bench/RESULTS.md, "Overhead on small data"), in the same session.
OVERHEAD_BASELINE ?= acbd113
# The wide-slices bench measures this checkout against main before the segment budget
# (bench/RESULTS.md, "A slice of many values").
WIDE_BASELINE ?= c6385af

bench: $(STAMP) $(BENCH_STAMP)
	$(BIN)/python -m bench.run --peer-python $(BENCH_VENV)/bin/python $(BENCH_ARGS)
	$(BIN)/python -m bench.report
	$(BIN)/python -m bench.outcomes --write
	$(BIN)/python -m bench.overhead --baseline $(OVERHEAD_BASELINE)
	$(BIN)/python -m bench.scale
	$(BIN)/python -m bench.wide_slices --baseline $(WIDE_BASELINE)
	$(BIN)/python -m bench.day_counts

# The wheel a team installs (README, "On your own data"; deploy/Dockerfile builds its own).
wheel: $(STAMP)
	rm -rf dist build
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir dist .
	rm -rf build
	@ls dist/*.whl

# Regenerate constraints.txt from a fresh resolve (commit the result).
lock:
	rm -rf /tmp/monitor-lock-venv && $(PYTHON) -m venv /tmp/monitor-lock-venv
	/tmp/monitor-lock-venv/bin/pip install --quiet --upgrade pip
	/tmp/monitor-lock-venv/bin/pip install --quiet -e '.[dev]'
	/tmp/monitor-lock-venv/bin/pip freeze --exclude-editable | grep -v '^sql-drift-monitor' > constraints.txt

clean:
	rm -rf dist build $(VENV) $(BENCH_VENV) demo/*.duckdb* dbt_project/target dbt_project/logs .pytest_cache .mypy_cache .ruff_cache
