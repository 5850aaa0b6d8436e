# Shoal — developer entry points. `make demo` and `make test` are all a new user needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Root installs system packages directly; anyone else through sudo when there is one.
SUDO := $(shell if [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null; then echo sudo; fi)

.PHONY: install demo test lint typecheck unit bench clean golden

# NATIVE=0 skips compiling the hot modules (Shoal then runs them interpreted, about 2x slower).
NATIVE ?= 1

install: $(STAMP)
	@if [ "$(NATIVE)" != 0 ]; then $(BIN)/shoal native build || { echo >&2 \
		"Compiling the hot modules failed (see above); 'make NATIVE=0 ...' runs them interpreted."; \
		exit 1; }; fi

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,spark]'
	@# The Spark engine (and its tests) need a Java runtime: install one where none is found.
	command -v java >/dev/null || { $(SUDO) apt-get update -q && \
		$(SUDO) apt-get install -y -q --no-install-recommends openjdk-17-jre-headless; }
	touch $(STAMP)

demo: install
	$(BIN)/python -m shoal.demo

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q

test: lint typecheck unit

bench: install
	$(BIN)/python -m bench.synth
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.identity
	$(BIN)/python -m bench.realtime
	$(BIN)/python -m bench.realtime_http
	$(BIN)/python -m bench.batch

golden: install
	$(BIN)/python -m tests.lang.regen
	$(BIN)/python -m tests.engines_sql.regen

clean:
	-test -x $(BIN)/shoal && $(BIN)/shoal native clean
	rm -rf $(VENV) shoal-data .pytest_cache .mypy_cache .ruff_cache
