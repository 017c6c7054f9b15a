# Everything a fresh machine needs is installed from here: the venv, the Python packages and the Debian
# packages the container tests use. `make demo` and `make test` are the two entry points.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: all demo test unit lint container-test bench system-deps lock clean

all: test

$(STAMP): pyproject.toml requirements/runtime.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements/runtime.txt -e '.[dev]'
	touch $@

# Debian packages: buildah runs the action image without a Docker engine.
system-deps:
	@if ! command -v buildah >/dev/null 2>&1 && ! docker info >/dev/null 2>&1; then \
	  echo "installing buildah"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq buildah >/dev/null; \
	fi

demo: $(STAMP)
	$(PY) -m sagemaker_emulator.demo

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests
	$(VENV)/bin/mypy
	$(PY) ../shared/tools/check-contract action.yml

unit: $(STAMP)
	$(PY) -m pytest -m "not container"

test: $(STAMP) system-deps lint
	$(PY) -m pytest

lock:
	$(VENV)/bin/pip-compile -q --strip-extras --no-header --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links \
	  -o requirements/runtime.txt requirements/runtime.in

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
