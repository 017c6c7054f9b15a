# Everything a fresh machine needs is installed from here: the venv, the Python packages and the Debian
# packages the container tests use. `make demo` and `make test` are the two entry points.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: all demo test unit lint static container-test bench system-deps lock clean

all: test

$(STAMP): pyproject.toml requirements/runtime.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements/runtime.txt -e '.[dev]'
	touch $@

# Debian packages. Without a Docker engine the container tests build and run the image with buildah, on the
# official base image when a registry answers, else on a stand-in that tests/container/build-base-image
# bootstraps with debootstrap. shellcheck lets actionlint check the workflows' shell steps. sudo only where we
# are not root (GitHub's runners).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
system-deps:
	@need=""; \
	if ! docker info >/dev/null 2>&1; then \
	  command -v buildah >/dev/null 2>&1 || need="$$need buildah"; \
	  command -v debootstrap >/dev/null 2>&1 || need="$$need debootstrap"; \
	fi; \
	command -v shellcheck >/dev/null 2>&1 || need="$$need shellcheck"; \
	if [ -n "$$need" ]; then \
	  echo "installing$$need"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need >/dev/null; \
	fi

demo: $(STAMP)
	$(PY) -m sagemaker_emulator.demo

lint: $(STAMP) static
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests
	$(VENV)/bin/mypy
	@# The contract lives beside the repository (../shared), not in it: a plain clone elsewhere has no copy.
	@if [ -f ../shared/tools/check-contract ]; then \
	  echo "$(PY) ../shared/tools/check-contract action.yml"; $(PY) ../shared/tools/check-contract action.yml; \
	else echo "no ../shared/tools/check-contract beside this clone: contract check not run"; fi

# Static checks of the image and the Actions metadata; every tool comes from the dev extra (PyPI wheels that
# carry their binaries) and runs offline.
static: $(STAMP) system-deps
	$(VENV)/bin/hadolint Dockerfile
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-actions action.yml
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(VENV)/bin/actionlint
	$(VENV)/bin/zizmor --offline --color never --config .github/zizmor.yml --persona auditor .

# The image built and run as the Actions runner runs it (buildah here, docker where an engine answers).
container-test: $(STAMP) system-deps
	$(PY) -m pytest -m container

unit: $(STAMP)
	$(PY) -m pytest -m "not container"

test: $(STAMP) system-deps lint
	$(PY) -m pytest

# What the action costs, measured against the emulator and printed as a table; not part of `make test`.
bench: $(STAMP)
	$(PY) bench/run.py

lock:
	$(VENV)/bin/pip-compile -q --strip-extras --no-header --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links \
	  -o requirements/runtime.txt requirements/runtime.in

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
