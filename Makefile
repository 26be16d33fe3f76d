# Fleet Reports — a newcomer needs two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PORT ?= 3000
export PORT

.PHONY: help venv run test lint format typecheck unit functions template local build bench bench-peers samples clean

help:
	@echo "make run    - start the local stack (moto + gateway + worker) with the demo fleet on 127.0.0.1:$(PORT);"
	@echo "              its state is kept in .local/state/ across restarts (make run FRESH=1 starts over)"
	@echo "make test   - lint, type-check and run every test (unit, functions, template, local stack)"
	@echo "make build  - sam build (needs python3.13 on PATH or pyenv)"
	@echo "make bench  - run the benchmarks under bench/"
	@echo "make samples - render demo reports to docs/samples/ (PDF, XLSX, PNG previews of the PDF pages)"

$(STAMP):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

venv: $(STAMP)

# FRESH=1 wipes the state kept in .local/state/ and starts again with the demo fleet alone.
run: venv
	$(BIN)/python -m fleet_reports.local --port $(PORT) $(if $(filter 1 yes true,$(FRESH)),--fresh)

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
samples: venv
	$(BIN)/python -m pip freeze --exclude-editable > $(VENV)/.samples-constraints.txt
	$(BIN)/python -m pip install --quiet -c $(VENV)/.samples-constraints.txt -e '.[dev,samples]'
	$(BIN)/python scripts/samples.py

bench: venv
	@for b in $(filter-out bench/bench_peers.py,$(wildcard bench/bench_*.py)); do echo "== $$b"; $(BIN)/python $$b || exit 1; done
	@echo "(bench/bench_peers.py needs the peers extra: make bench-peers)"

# Peers (movingpandas, trackintel) for bench/bench_peers.py only: the `peers` extra, installed
# into .venv without changing any package already there (CI never needs them).
bench-peers: venv
	$(BIN)/python -m pip freeze --exclude-editable > $(VENV)/.peers-constraints.txt
	$(BIN)/python -m pip install --quiet -c $(VENV)/.peers-constraints.txt -e '.[dev,peers]'
	OMP_NUM_THREADS=1 $(BIN)/python bench/bench_peers.py

clean:
	rm -rf .aws-sam .local .mypy_cache .ruff_cache .pytest_cache
