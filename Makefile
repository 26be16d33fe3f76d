# Fleet Reports — a newcomer needs two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
# Another interpreter gets its own virtualenv: make test PYTHON=python3.13 VENV=.venv-3.13
VENV ?= .venv
BIN := $(VENV)/bin
# The layers' pinned versions are the dev environment's constraints: the tested versions are the shipped ones.
PINS := layers/api/requirements.txt layers/compute/requirements.txt
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(PINS) | cksum | cut -d' ' -f1)
PORT ?= 3000
export PORT

.PHONY: help venv run test check lint format typecheck unit functions template local build bench bench-peers load samples openapi clean

help:
	@echo "make run    - start the local stack (moto + gateway + 2 worker processes; WORKERS=N) with the demo fleet on 127.0.0.1:$(PORT);"
	@echo "              its state is kept in .local/state/ across restarts (make run FRESH=1 starts over)"
	@echo "make test   - lint, type-check and run every test (unit, functions, template, local stack)"
	@echo "make check  - the fast tier (under a minute): lint, type-check and the unit tests not marked slow"
	@echo "make build  - sam build (needs python3.13 on PATH or pyenv)"
	@echo "make bench  - run the benchmarks under bench/"
	@echo "make load   - a bounded load on the local stack: $(LOAD_USERS) users, $(LOAD_REPORTS) mixed reports while imports run"
	@echo "make samples - render demo reports to docs/samples/ (PDF, XLSX, PNG previews of the PDF pages)"
	@echo "make openapi - write docs/openapi.json again from the code (tests/template/test_openapi.py compares them)"

# The layers' pins as constraints, without extras (pip refuses aws-lambda-powertools[tracer]==... there).
$(STAMP):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	sed -E 's/\[[^]]*\]//' $(PINS) > $(VENV)/.layer-constraints.txt
	$(BIN)/python -m pip install --quiet -c $(VENV)/.layer-constraints.txt -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

venv: $(STAMP)

# FRESH=1 wipes the state kept in .local/state/ and starts again with the demo fleet alone.
# PARAMS="CallerRateLimit=500 MaxParallelReports=10" overrides template parameters (the limits).
run: venv
	$(BIN)/python -m fleet_reports.local --port $(PORT) $(if $(filter 1 yes true,$(FRESH)),--fresh) \
		$(if $(PARAMS),--parameter-overrides $(PARAMS))

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: venv
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest -q

# The fast tier, for every edit: no AWS, no network, no subprocess-heavy or long tests (marked slow).
check: lint typecheck
	$(BIN)/pytest -q -m "not slow" tests/unit

unit: venv
	$(BIN)/pytest -q tests/unit

functions: venv
	$(BIN)/pytest -q tests/functions

template: venv
	$(BIN)/pytest -q tests/template

local: venv
	$(BIN)/pytest -q tests/local

build:
	bash scripts/sam-build.sh

# The samples extra (pypdfium2, for the PNG previews) is installed into .venv without changing any
# package already there.
# The API's OpenAPI document, generated from the code (fleet_reports.api.openapi); served as GET /openapi.json.
openapi: venv
	$(BIN)/python -m fleet_reports.api.openapi docs/openapi.json

samples: venv
	$(BIN)/python -m pip freeze --exclude-editable > $(VENV)/.samples-constraints.txt
	$(BIN)/python -m pip install --quiet -c $(VENV)/.samples-constraints.txt -e '.[dev,samples]'
	$(BIN)/python scripts/samples.py

bench: venv
	@for b in $(filter-out bench/bench_peers.py,$(wildcard bench/bench_*.py)); do echo "== $$b"; $(BIN)/python $$b || exit 1; done
	@echo "(bench/bench_peers.py needs the peers extra: make bench-peers)"

# The load (bench/load.py): every report must end done and correct, none lost or twice; prints p50/p99 per action.
LOAD_USERS ?= 10
LOAD_REPORTS ?= 500
load: venv
	$(BIN)/python bench/load.py --users $(LOAD_USERS) --reports $(LOAD_REPORTS) $(LOAD_ARGS)

# Peers (movingpandas, trackintel) for bench/bench_peers.py only: the `peers` extra, installed
# into .venv without changing any package already there (CI never needs them).
bench-peers: venv
	$(BIN)/python -m pip freeze --exclude-editable > $(VENV)/.peers-constraints.txt
	$(BIN)/python -m pip install --quiet -c $(VENV)/.peers-constraints.txt -e '.[dev,peers]'
	OMP_NUM_THREADS=1 $(BIN)/python bench/bench_peers.py

clean:
	rm -rf .aws-sam .local .mypy_cache .ruff_cache .pytest_cache
