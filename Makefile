# Everything a fresh machine needs is installed from here: the venv, the Python packages and the Debian
# packages the container tests use. `make demo` and `make test` are the two entry points.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# GitHub's Markdown stylesheet for the browser tests and the README's pictures, from the npm registry.
NODE_STAMP := node_modules/.installed-stamp

.PHONY: all demo test unit lint static container-test bench system-deps pictures lock clean

all: test

$(STAMP): pyproject.toml requirements/runtime.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements/runtime.txt -e '.[dev]'
	touch $@

$(NODE_STAMP): package.json package-lock.json | system-deps
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

# Debian packages. Without a Docker engine the container tests build and run the image with buildah, and
# ../shared/tools/make-python-base bootstraps their stand-in base image with debootstrap. shellcheck lets
# actionlint check the workflows' shell steps. The browser tests render the reports in headless Chromium driven
# through chromedriver (Debian's chromium and chromium-driver; GitHub's runners bring Google Chrome and its
# driver), with npm for the stylesheet and fonts that cover GitHub's monospace stack and its emoji.
# sudo only where we are not root (GitHub's runners).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
system-deps:
	@need=""; \
	if ! docker info >/dev/null 2>&1; then \
	  command -v buildah >/dev/null 2>&1 || need="$$need buildah"; \
	  command -v debootstrap >/dev/null 2>&1 || need="$$need debootstrap"; \
	fi; \
	command -v shellcheck >/dev/null 2>&1 || need="$$need shellcheck"; \
	command -v chromium >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1 || need="$$need chromium"; \
	command -v chromedriver >/dev/null 2>&1 || need="$$need chromium-driver"; \
	command -v npm >/dev/null 2>&1 || need="$$need npm"; \
	fc-list 2>/dev/null | grep -q "Liberation Mono" || need="$$need fonts-liberation2"; \
	fc-list 2>/dev/null | grep -qi "Noto Color Emoji" || need="$$need fonts-noto-color-emoji"; \
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

unit: $(STAMP) $(NODE_STAMP)
	$(PY) -m pytest -m "not container"

test: $(STAMP) system-deps $(NODE_STAMP) lint
	$(PY) -m pytest

# The README's pictures of the report (docs/images/*.png): real runs of the action against the emulator,
# rendered as GitHub renders them, in the browser the tests use.
pictures: $(STAMP) system-deps $(NODE_STAMP)
	$(PY) -m tests.pictures docs/images

# What the action costs, measured against the emulator and printed as a table; not part of `make test`.
bench: $(STAMP)
	$(PY) bench/run.py

lock:
	$(VENV)/bin/pip-compile -q --strip-extras --no-header --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links \
	  -o requirements/runtime.txt requirements/runtime.in

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
