# Pitstop: `make run` sets everything up and serves on http://127.0.0.1:8000;
# `make test` sets up its own tools and runs every check.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/pitstop init
	$(BIN)/pitstop demo
	$(BIN)/pitstop serve --bind 127.0.0.1:8000 --access-log

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy engine

test: lint
	$(BIN)/pytest

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/selector.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
