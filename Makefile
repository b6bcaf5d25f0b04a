# Two commands do all the set-up on a fresh machine:
#   make demo   -- install into .venv, run the end-to-end demo, write the report
#   make test   -- install into .venv (with test tools), run the test suite
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
# The oldest transformers that pyproject.toml admits: `make test-oldest` runs the suite on it too.
OLDEST_TRANSFORMERS := transformers==4.40.2
OLDEST_VENV := .venv-oldest
OLDEST_STAMP := $(OLDEST_VENV)/.installed

# $(call install-into,VENV[,EXTRA]): a venv with voxlens and its test tools, torch pinned, EXTRA pinned too
define install-into
	$(PYTHON) -m venv $(1)
	$(1)/bin/pip install --quiet --upgrade pip
	$(1)/bin/pip install --quiet -c constraints.txt torch==2.13.0
	$(1)/bin/pip install --quiet -c constraints.txt -e ".[dev]" $(2)
	touch $(1)/.installed
endef

$(STAMP): pyproject.toml constraints.txt
	$(call install-into,$(VENV))

$(OLDEST_STAMP): pyproject.toml constraints.txt Makefile
	$(call install-into,$(OLDEST_VENV),"$(OLDEST_TRANSFORMERS)")

.PHONY: install demo test test-oldest
install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/voxlens demo --db voxlens-demo.duckdb --out voxlens-report

test: $(STAMP)
	$(VENV)/bin/python -m pytest

test-oldest: $(OLDEST_STAMP)
	$(OLDEST_VENV)/bin/python -m pytest
