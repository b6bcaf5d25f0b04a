# Two commands do all the set-up on a fresh machine:
#   make demo   -- install into .venv, run the end-to-end demo, write the report
#   make test   -- install into .venv (with test tools), run the test suite
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -c constraints.txt torch==2.13.0
	$(VENV)/bin/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

.PHONY: install demo test
install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/voxlens demo --db voxlens-demo.duckdb --out voxlens-report

test: $(STAMP)
	$(VENV)/bin/python -m pytest
