# The README's two commands: `make run` and `make test`. Both bootstrap .venv from nothing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test lint typecheck unit unit-postgres bench image-test example-ts clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/kyc-sandbox serve --host $(HOST) --port $(PORT)

# ruff (style, complexity) and import-linter (the layers of ARCHITECTURE.md; contracts in pyproject.toml)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# Pact consumer tests write contracts/pacts/; provider verification reads them; then the contract property run;
# then everything else. Each group is its own pytest run, in this order.
ORDERED := tests/contracts/consumer tests/contracts/provider tests/contracts/property

# The vendor SDKs for Node that tests/clients runs (npm ci from the committed lock file). Without npm the step says so
# and those tests skip, unless KYC_SANDBOX_REQUIRE_NODE=1 (set by .ci/run) makes that a failure.
NODE_CLIENTS := tests/clients/node
NODE_STAMP := $(NODE_CLIENTS)/node_modules/.installed

$(NODE_STAMP): $(NODE_CLIENTS)/package.json $(NODE_CLIENTS)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  cd $(NODE_CLIENTS) && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	else echo "npm not found: the Node client tests (tests/clients) will skip"; fi

unit: $(STAMP) $(NODE_STAMP)
	@set -e; for d in $(ORDERED); do if [ -d $$d ]; then echo "== pytest $$d"; $(BIN)/pytest $$d; fi; done
	$(BIN)/pytest $(addprefix --ignore=,$(ORDERED))

test: lint typecheck unit unit-postgres

# The store-backed suites again on PostgreSQL (127.0.0.1:5432, database test, trust auth). Without a server they
# skip, unless KYC_SANDBOX_REQUIRE_POSTGRES=1 (set by .ci/run) makes that a failure.
POSTGRES_SUITES := tests/core tests/sumsub tests/dakota tests/control tests/webhooks tests/fuzz tests/test_isolation.py tests/test_served.py
unit-postgres: $(STAMP)
	KYC_SANDBOX_TEST_STORE=postgresql $(BIN)/pytest $(wildcard $(POSTGRES_SUITES))

bench: $(STAMP)
	$(BIN)/python bench/run.py

# The OCI image (Containerfile) and the team topology (deploy/compose.yaml), with podman, runc, debootstrap and
# haproxy from Debian's packages and this machine's PostgreSQL (deploy/image_test.py says how). Not part of `test`.
image-test: $(STAMP)
	$(BIN)/python deploy/image_test.py

# The TypeScript integrator's example (examples/typescript) against a `kyc-sandbox serve` on a free port.
example-ts: $(STAMP)
	$(BIN)/python examples/with_sandbox.py -- sh -c 'cd examples/typescript && npm ci --no-fund --no-audit && npm test'

clean:
	rm -rf $(VENV) .sandbox .pytest_cache .mypy_cache .ruff_cache $(NODE_CLIENTS)/node_modules
