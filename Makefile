# policykg: `make run` serves the explorer on a fresh clone; `make test` runs the whole suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_HOME := .policykg/test
TEST_URI := bolt://127.0.0.1:7688

.PHONY: help install run serve neo4j-start neo4j-stop browsers test test-unit lint lock clean

help:
	@echo "make run    - install, start Neo4j, ingest corpus/, serve http://127.0.0.1:8050"
	@echo "make test   - install, start a test Neo4j, run the whole suite, stop it"

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

# A random local password, kept in the git-ignored .env, unless one is already configured.
.env:
	@if [ -n "$$NEO4J_PASSWORD" ]; then touch .env; else \
	  echo "NEO4J_PASSWORD=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(18))')" > .env; \
	  chmod 600 .env; echo "created .env with a random NEO4J_PASSWORD"; fi

neo4j-start: $(STAMP) .env
	$(BIN)/policykg neo4j start

neo4j-stop: $(STAMP)
	$(BIN)/policykg neo4j stop

run: neo4j-start
	$(BIN)/policykg users ensure-admin
	$(BIN)/policykg ingest corpus/
	$(BIN)/policykg serve

serve: $(STAMP) .env
	$(BIN)/policykg serve

# Debian's Chromium and its driver for the browser tests (root, or sudo, is needed once).
browsers:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then exit 0; fi; \
	SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	$$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null

# The suite runs against its own Neo4j (own data folder and port), started and stopped here.
test: $(STAMP) browsers
	@export POLICYKG_HOME=$(TEST_HOME) NEO4J_URI=$(TEST_URI) NEO4J_USER=neo4j \
	        NEO4J_DATABASE=neo4j POLICYKG_TEST_DB=1 \
	        NEO4J_PASSWORD=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(18))'); \
	$(BIN)/policykg neo4j start || exit 1; \
	$(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; \
	$(BIN)/policykg neo4j stop; exit $$status

test-unit: $(STAMP)
	$(BIN)/python -m pytest -m "not neo4j and not browser" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy graph ingest dashboard policykg_cli.py

# Regenerate the hash-pinned lock after changing dependencies in pyproject.toml.
lock:
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile --python-version 3.11 --generate-hashes --extra test \
	  --no-emit-package policykg pyproject.toml -o requirements.lock

clean:
	rm -rf $(VENV) graph/server/target .pytest_cache .ruff_cache .mypy_cache

# Known vulnerabilities in the locked dependencies (PyPI's advisory data; network needed).
# The auditor lives in its own venv so it never changes the project's locked set. `audit`
# is strict: a dependency that could not be audited fails too. `audit-ci` (what .ci/run
# calls) fails on any known vulnerability but only reports dependencies the vulnerability
# service did not answer for, since CI machines here reach neither PyPI's per-version JSON
# API nor api.osv.dev (.ci/audit_gate.py).
AUDIT_VENV := $(VENV)/audit-tool
AUDIT := $(AUDIT_VENV)/bin/pip-audit -r requirements.lock --require-hashes --disable-pip \
	  --progress-spinner off
.PHONY: audit audit-ci
$(AUDIT_VENV)/bin/pip-audit:
	$(PYTHON) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check pip-audit==2.10.1

audit: $(AUDIT_VENV)/bin/pip-audit
	$(AUDIT) --strict

audit-ci: $(AUDIT_VENV)/bin/pip-audit
	@rm -f $(AUDIT_VENV)/report.json; $(AUDIT) --format json --output $(AUDIT_VENV)/report.json || true
	$(PYTHON) .ci/audit_gate.py $(AUDIT_VENV)/report.json --allow-unaudited
