# warcflow: `make demo` runs the main job on the bundled sample sites; `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

# Prefect runs offline with its ephemeral local API: a generous cold-start timeout, no telemetry.
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 120
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1

.PHONY: demo test lint format install clean browser services

# The browser test (tests/test_web.py) drives Debian's chromium through chromedriver.
BROWSER_PACKAGES := chromium chromium-driver
CHROMIUM_BIN ?= /usr/bin/chromium
CHROMEDRIVER_BIN ?= /usr/bin/chromedriver
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
APT_INSTALL := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(BROWSER_PACKAGES)

# tests/services.py starts a throw-away PostgreSQL cluster from Debian's server binaries
# (initdb is not on PATH: `pg_config --bindir`, else /usr/lib/postgresql/N/bin).
SERVICE_PACKAGES := postgresql
PG_INITDB = $(sort $(wildcard /usr/lib/postgresql/*/bin/initdb $(addsuffix /initdb,$(shell pg_config --bindir 2>/dev/null))))
APT_INSTALL_SERVICES := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(SERVICE_PACKAGES)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip   # the venv's old pip drops lxml[html_clean], which trafilatura needs

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/warcflow demo

browser:
	@if [ ! -x $(CHROMIUM_BIN) ] || [ ! -x $(CHROMEDRIVER_BIN) ]; then \
	  echo "installing $(BROWSER_PACKAGES) for the browser test"; \
	  $(APT_INSTALL) >/dev/null || { $(SUDO) apt-get update -q >/dev/null && $(APT_INSTALL) >/dev/null; }; \
	fi

services:
	@if [ -z "$(PG_INITDB)" ]; then \
	  echo "installing $(SERVICE_PACKAGES) for the service tests"; \
	  $(APT_INSTALL_SERVICES) >/dev/null || { $(SUDO) apt-get update -q >/dev/null && $(APT_INSTALL_SERVICES) >/dev/null; }; \
	fi

test: browser services $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) demo-archive .pytest_cache .ruff_cache
