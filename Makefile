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

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -c constraints.txt torch==2.13.0
	$(VENV)/bin/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

$(OLDEST_STAMP): pyproject.toml constraints.txt Makefile
	$(PYTHON) -m venv $(OLDEST_VENV)
	$(OLDEST_VENV)/bin/pip install --quiet --upgrade pip
	$(OLDEST_VENV)/bin/pip install --quiet -c constraints.txt torch==2.13.0
	$(OLDEST_VENV)/bin/pip install --quiet -c constraints.txt -e ".[dev]" "$(OLDEST_TRANSFORMERS)"
	touch $(OLDEST_STAMP)

.PHONY: install demo test test-oldest
install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/voxlens demo --db voxlens-demo.duckdb --out voxlens-report

test: $(STAMP)
	$(VENV)/bin/python -m pytest

test-oldest: $(OLDEST_STAMP)
	$(OLDEST_VENV)/bin/python -m pytest
