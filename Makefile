# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean bench docs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/neuralab train --dataset digits --out runs --name demo-digits
	@echo "inspect it: $(BIN)/neuralab evaluate runs/demo-digits"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples docs
	$(BIN)/ruff format --check src tests benchmarks examples docs
	$(BIN)/lint-imports
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q --durations=15 -n auto --maxprocesses 4 --dist loadfile

# The docs site (also built in strict mode by the test suite: tests/docs).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true $(BIN)/mkdocs build --strict
	@echo "open site/index.html"

bench: $(STAMP)
	$(BIN)/python benchmarks/fashion_mnist.py

clean:
	rm -rf $(VENV) runs site .pytest_cache .ruff_cache .mypy_cache
