# Fanout task runner. `make` lists the targets.
# Every target installs what it needs: the virtualenv and Python packages here,
# PostgreSQL (Debian package) and the Kafka jars (Maven Central) through `fanout stack up`.

# The interpreter the virtualenv is made from: Debian's own CPython 3.11 when the machine
# has it (/usr/bin/python3), else the first python3 on PATH; PYTHON=... chooses another.
# Debian builds its interpreter with profile-guided optimisation and links it statically,
# as the python:3.11 images of deploy/Dockerfile are built optimised; pyenv's default build
# (this machine's python3 on PATH) is neither: side by side the services spent 2-11 % more
# CPU per email on it (docs/benchmarks.md, "Round 31 of issue 17").
SYSTEM_PYTHON := $(shell /usr/bin/python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  2>/dev/null && echo /usr/bin/python3)
PYTHON ?= $(or $(SYSTEM_PYTHON),python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CLIENT_DIR := clients/python
CLIENT_STAMP := $(VENV)/.client-installed

.DEFAULT_GOAL := help
.PHONY: help install helm demo test lint up down status bench schemas cluster-ddl

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3 venv support missing; installing python3-venv"; \
	  apt-get update -q && apt-get install -y -q python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

# The Python client is generated from the committed OpenAPI document, never committed itself.
$(CLIENT_STAMP): $(STAMP) $(CLIENT_DIR)/openapi.json $(CLIENT_DIR)/config.yml $(CLIENT_DIR)/install.sh
	PATH="$(abspath $(BIN)):$$PATH" PYTHON=$(BIN)/python $(CLIENT_DIR)/install.sh
	@touch $@

install: $(STAMP) $(CLIENT_STAMP) ## Create the virtualenv and install Fanout, its dev tools and its Python client

client: $(STAMP) ## Regenerate clients/python/openapi.json from campaign_api and the Python client from it
	$(BIN)/python -m services.campaign_api.openapi_document
	@rm -f $(CLIENT_STAMP)
	$(MAKE) $(CLIENT_STAMP)

helm: ## Build the helm CLI the chart tests render deploy/helm/fanout with (once, from Go)
	@deploy/helm/install-helm.sh >/dev/null

demo: install ## The main job: a real campaign through the real local stack
	$(BIN)/fanout demo

test: install helm ## Lint, type-check and run every test on the suite's own stack (ARGS="..." for fanout test)
	$(BIN)/fanout test $(ARGS)

lint: install ## ruff and mypy only
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

up: install ## Start the whole local stack
	$(BIN)/fanout stack up

down: install ## Stop everything the stack started (data kept)
	$(BIN)/fanout stack down

status: install ## Show each component with its address and health
	$(BIN)/fanout stack status

bench: install ## The benchmark (see docs/benchmarks.md)
	$(BIN)/fanout bench

schemas: install ## Regenerate the contracts' JSON Schema files and docs/contracts.md
	$(BIN)/python -m shared.contracts.export

cluster-ddl: install ## Write the cluster DDL generated from report_sink's migrations to build/clickhouse-cluster
	$(BIN)/fanout clickhouse cluster-ddl --out build/clickhouse-cluster
