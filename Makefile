# Two commands: `make run` (install and start on SQLite with sandbox channels) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: run test install install-test lint

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

install: $(VENV)/bin/python
	$(PIP) install --quiet -e .

install-test: $(VENV)/bin/python
	$(PIP) install --quiet -e ".[test]"

run: install
	$(VENV)/bin/touchpoint run --demo

lint: install-test
	$(VENV)/bin/ruff check .

test: install-test lint
	$(VENV)/bin/pytest -q
