# One entry point for people and CI. Every target creates the venv first when needed, so on a
# fresh machine `make serve` or `make check` is all the set-up there is.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 4020

BQEMU  := .venv-bqemulator

.PHONY: setup needs bqemulator serve demo lint typecheck test check bench dev dev-down image clean

# LangSwarm's real mcpremote client is a test peer; its own dependency pins are too old, so
# it is installed without them (it needs only requests, pydantic and pyyaml, which we have).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[gcp,dev]'
	$(BIN)/pip install --quiet --no-deps langswarm==0.1.0
	touch $(STAMP)

setup: $(STAMP)

# The tests' BigQuery emulator pins protobuf < 7, so it gets a venv of its own (emulators/bigquery.py).
$(BQEMU)/.installed-stamp: emulators/bigquery-requirements.txt
	$(PYTHON) -m venv $(BQEMU)
	$(BQEMU)/bin/pip install --quiet -r emulators/bigquery-requirements.txt
	touch $@

bqemulator: $(BQEMU)/.installed-stamp

serve: $(STAMP)  ## the MCP endpoint on the embedded backends (SQLite under ./.wfx)
	$(BIN)/wfx serve --host 127.0.0.1 --port $(PORT)

demo: $(STAMP)  ## one example workflow, offline
	$(BIN)/wfx run examples/fan_out.yaml --input '"alpha, beta, gamma"'

lint: $(STAMP)
	$(BIN)/ruff check .
	terraform fmt -check -recursive infra

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) $(BQEMU)/.installed-stamp
	$(BIN)/python -m pytest -q

# What the tests need beyond python3 and make: installed from Debian when root, else named with the
# one command to run, before anything else starts (.ci/needs).
needs:
	@.ci/needs

check: needs  ## what CI runs
	$(MAKE) lint typecheck test

bench: $(STAMP)  ## performance suites -> bench/RESULTS.md
	$(BIN)/python -m bench

dev: $(STAMP)  ## the cloud stack on emulators: Firestore, Pub/Sub, our Cloud Tasks, the three functions
	$(BIN)/python -m emulators up

dev-down:
	$(BIN)/python -m emulators down

TAG ?= latest
image:  ## the isolated-mode job image: Cloud Build pushes it to the Artifact Registry repository of infra/
	infra/build_image.sh $(TAG)

clean:
	rm -rf $(VENV) $(BQEMU) .wfx .mypy_cache .ruff_cache
