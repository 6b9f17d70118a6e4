# QuotaWatch: the two commands are `make run` and `make test`; both set up what is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
QW := $(BIN)/quotawatch

.PHONY: setup system run test lint bench screenshots db-up db-down clean help

help:
	@echo "make run    - start QuotaWatch on the embedded default (database, demo data, scheduler, dashboard)"
	@echo "make test   - run the whole test suite against a real TimescaleDB and headless Chromium"
	@echo "make setup  - install what is missing (system packages, TimescaleDB, virtualenv)"
	@echo "make lint   - ruff (lint and format check)"
	@echo "make bench  - run the benchmarks in bench/"

# System packages (PostgreSQL + TimescaleDB, Chromium) and the virtualenv; quick when present.
setup: system $(STAMP)

system:
	@PYTHON=$(PYTHON) bash .ci/install-system.sh >/dev/null

$(STAMP): pyproject.toml | system
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
	  echo "[setup] python venv failed: install python3-venv (apt-get install python3-venv)"; exit 1; }
	@echo "[setup] installing QuotaWatch and its Python dependencies into $(VENV) (log: $(VENV)/install.log)"
	@$(BIN)/python -m pip install --disable-pip-version-check -U pip > $(VENV)/install.log 2>&1 || true
	@$(BIN)/python -m pip install --disable-pip-version-check -e '.[test]' >> $(VENV)/install.log 2>&1 || { \
	  tail -30 $(VENV)/install.log; echo "[setup] pip install failed (full log: $(VENV)/install.log)"; exit 1; }
	@$(BIN)/python -c "import quota, ingest, dashboard, psycopg, pandas, dash, apscheduler" || { \
	  echo "[setup] the Python dependencies did not install; see the pip output above"; exit 1; }
	@touch $(STAMP)

run: setup
	@$(BIN)/python -m quota.cli.run

test: setup
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check --quiet . || { echo "[test] files not formatted: run $(BIN)/ruff format ."; exit 1; }
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	@$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: setup
	@$(BIN)/python bench/ingest.py
	@$(BIN)/python bench/evaluate.py
	@$(BIN)/python bench/dashboard.py
	@$(BIN)/python bench/bills.py

db-up: setup
	@$(QW) db up

db-down:
	@$(QW) db down

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
