# Two commands do all the set-up: `make build` and `make test`.
# Both create .venv when missing and install the project into it (editable, with test extras).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.crampkg-installed
DATA ?= data
OUT ?= dist

.PHONY: build test lint typecheck validate golden clean help

help:
	@echo "make build     set up .venv and build $(OUT)/ from $(DATA)/"
	@echo "make test      set up .venv and run lint, type checks and the whole test suite"
	@echo "make validate  check $(DATA)/ and report problems without writing anything"
	@echo "make golden    regenerate the golden files of the export tests"
	@echo "make clean     remove $(OUT)/, caches and .venv"

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

build: $(STAMP)
	$(BIN)/crampkg build --data $(DATA) --out $(OUT)

validate: $(STAMP)
	$(BIN)/crampkg validate --data $(DATA)

lint: $(STAMP)
	$(BIN)/ruff check pipeline tests benchmarks
	$(BIN)/ruff format --check pipeline tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest

golden: $(STAMP)
	$(BIN)/python -m pytest tests/test_golden.py --update-golden

clean:
	rm -rf $(OUT) .pytest_cache .mypy_cache .ruff_cache $(VENV)
