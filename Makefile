# Everything a fresh machine needs is installed from here: the venv, the Python packages and the Debian
# packages the container tests use. `make demo` and `make test` are the two entry points.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# GitHub's Markdown stylesheet for the browser tests and the README's pictures, from the npm registry.
NODE_STAMP := node_modules/.installed-stamp

.PHONY: all demo test unit lint static container-test test-terraform bench mutate system-deps pictures lock clean

all: test

# The venv holds exactly requirements/dev.txt, every file checked against its hash, and the project itself
# (editable, built with the locked setuptools rather than one fetched for an isolated build).
$(STAMP): pyproject.toml requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes -r requirements/dev.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

$(NODE_STAMP): package.json package-lock.json | system-deps
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

# Debian packages. Without a Docker engine the container tests build and run the image with buildah, on the
# official base image when a registry answers, else on a stand-in that tests/container/build-base-image
# bootstraps with debootstrap. shellcheck lets actionlint check the workflows' shell steps. The browser tests
# render the reports in headless Chromium driven through chromedriver (Debian's chromium and chromium-driver;
# GitHub's runners bring Google Chrome and its driver), with npm for the stylesheet and fonts that cover
# GitHub's monospace stack and its emoji. sudo only where we are not root (GitHub's runners).
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
	$(VENV)/bin/ruff check src tests bench mutate
	$(VENV)/bin/ruff format --check src tests bench mutate
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
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
	$(VENV)/bin/actionlint
	$(VENV)/bin/zizmor --offline --color never --config .github/zizmor.yml --persona auditor .

# Mutation testing of the safety-critical code (mutate/scope.toml), then the property test with more examples;
# not part of `make test`. `make mutate SCOPE=verdict` runs one scope. It rewrites each module in place while
# it runs (and puts it back): do not edit the scoped modules meanwhile.
mutate: $(STAMP)
	$(PY) -m mutate.run $(SCOPE)
	$(if $(SCOPE),,$(PY) -m pytest -q --hypothesis-profile=mutate tests/action/test_properties.py)

# The image built and run as the Actions runner runs it (buildah here, docker where an engine answers).
container-test: $(STAMP) system-deps
	$(PY) -m pytest -m container

# The Terraform examples (examples/terraform/) applied as shipped with the Terraform CLI and the hashicorp/aws
# provider against the emulator; not part of `make test`, which a plain clone without Terraform must pass.
# The provider comes from TF_PLUGIN_DIR (a folder holding registry.terraform.io/hashicorp/aws/<version>/, for
# `terraform init -plugin-dir`) when one is given or found: the usual ~/.terraform.d/plugins, else the first
# such folder under /opt, /usr/local/share and /usr/share. Found none, `terraform init` downloads the provider.
TERRAFORM ?= terraform
TF_PLUGIN_DIR ?= $(shell for d in "$$HOME/.terraform.d/plugins" $$(find /opt /usr/local/share /usr/share -maxdepth 4 \
	-type d -name registry.terraform.io 2>/dev/null | sed 's|/registry.terraform.io$$||'); do \
	[ -d "$$d/registry.terraform.io/hashicorp/aws" ] && { echo "$$d"; break; }; done)
test-terraform: $(STAMP)
	@command -v $(TERRAFORM) >/dev/null 2>&1 || { echo "make test-terraform needs the Terraform CLI (1.5 or later) on \
	PATH, or TERRAFORM=/path/to/terraform: see https://developer.hashicorp.com/terraform/install. The hashicorp/aws \
	provider ~> 5.100 comes from the registry at terraform init, or from TF_PLUGIN_DIR=<folder holding \
	registry.terraform.io/> where no registry is reachable (terraform providers mirror <folder> makes one)."; exit 1; }
	@echo "terraform: $$(command -v $(TERRAFORM)); provider: $(if $(TF_PLUGIN_DIR),$(TF_PLUGIN_DIR),from the registry)"
	TERRAFORM="$(TERRAFORM)" TF_PLUGIN_DIR="$(TF_PLUGIN_DIR)" $(PY) -m pytest -m terraform

unit: $(STAMP) $(NODE_STAMP)
	$(PY) -m pytest -m "not container"

test: $(STAMP) system-deps $(NODE_STAMP) lint
	$(PY) -m pytest

# The README's pictures of the report (docs/images/*.png): real runs of the action against the emulator,
# rendered as GitHub renders them, in the browser the tests use.
pictures: $(STAMP) system-deps $(NODE_STAMP)
	$(PY) -m tests.pictures docs/images

# What the action costs, measured against the emulator and printed as a table; not part of `make test`.
# `python -m` from the checkout: bench/ imports the tests' helpers as the `tests` package.
bench: $(STAMP) system-deps
	$(PY) -m bench.run

# Both locks, from their .in files, with the hashes of every file of each pinned version. pip-compile keeps the
# pins that still satisfy the .in files; `make lock LOCK_ARGS=--upgrade` moves everything to the newest. The
# options are the ones Dependabot reads back from the files' headers, so its pull requests compile the same way.
# Then every runtime wheel is fetched for both platforms the release builds, checked against its hash.
PIP_COMPILE = $(VENV)/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links $(LOCK_ARGS)
GLIBC_MINORS := $(shell seq 17 36)
lock: $(STAMP)
	$(PIP_COMPILE) -o requirements/runtime.txt requirements/runtime.in
	$(PIP_COMPILE) -o requirements/dev.txt requirements/dev.in
	@for arch in x86_64 aarch64; do \
	  dest=$$(mktemp -d); \
	  $(PY) -m pip download -q --dest "$$dest" --only-binary=:all: --no-deps --require-hashes \
	    --implementation cp --python-version 3.11 --abi cp311 --abi abi3 --abi none --platform any \
	    $(foreach minor,$(GLIBC_MINORS),--platform manylinux_2_$(minor)_$$arch) \
	    -r requirements/runtime.txt || { rm -rf "$$dest"; echo "runtime.txt: no wheel for linux/$$arch"; exit 1; }; \
	  echo "runtime.txt: $$(ls "$$dest" | wc -l) wheels for linux/$$arch, each matching its hash"; \
	  rm -rf "$$dest"; \
	done

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
