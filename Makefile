# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS ?= dev,bench,dense

.PHONY: run test check lint typecheck contracts kb-check bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/ketaguide ask "Does lamotrigine help with ketamine craving and relapse?"
	@echo
	@echo 'Ask your own question:  $(BIN)/ketaguide ask "YOUR QUESTION" [--format text|markdown|json]'
	@echo 'Assess a patient:        $(BIN)/ketaguide assess examples/intakes/severe-relapse-prevention.json'

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

kb-check: $(STAMP)
	$(BIN)/ketaguide kb check

check: lint typecheck contracts kb-check

test: check
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python bench/ask_latency.py
	mkdir -p bench/results
	$(BIN)/ketaguide bench retrieval --dataset ../shared/benchmarks/scifact --split train --format json \
		> bench/results/retrieval-scifact-train.json.tmp && mv bench/results/retrieval-scifact-train.json.tmp bench/results/retrieval-scifact-train.json
	$(BIN)/ketaguide bench sentences --dataset ../shared/benchmarks/scifact --split train --format json \
		> bench/results/sentences-scifact-train.json.tmp && mv bench/results/sentences-scifact-train.json.tmp bench/results/sentences-scifact-train.json

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
