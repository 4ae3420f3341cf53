# The same targets CI runs. Every target bootstraps the local virtualenv on demand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test check bench clean

# setup.py and _scan.c too: the editable install compiles the matcher's C loop, and only
# a reinstall rebuilds it.
$(STAMP): pyproject.toml setup.py src/kakehashi/match/_scan.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

## run: start a hub on SQLite with examples/hub.toml and fresh demo tokens
run: $(STAMP)
	$(BIN)/python scripts/demo_config.py examples/hub.toml .run
	$(BIN)/kakehashi --config .run/hub.toml serve

## test: the whole suite, on SQLite and on a throwaway PostgreSQL when its binaries exist
test: $(STAMP)
	scripts/with-postgres.sh $(BIN)/python -m pytest -n 2 -p no:randomly

## check: lint, types, layer contract
check: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

## bench: side-by-side benchmarks (installs the optional bench extra: medallion)
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/taxii_bench.py
	$(BIN)/python bench/sync_bench.py
	$(BIN)/python bench/match_bench.py
	$(BIN)/python bench/exposure_bench.py

clean:
	rm -rf $(VENV) .run build dist src/*.egg-info src/kakehashi/match/*.so
