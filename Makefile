# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS ?= dev,dense,server
PORT ?= 8000
# PostgreSQL for the server benchmark's second run (empty: SQLite only).
POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test check lint typecheck contracts kb-check bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The benchmarks are their own distribution, ketaguide-bench (bench/pyproject.toml), installed beside the runtime
# so that `make test` runs their tests and `make bench` their commands.
$(STAMP): $(BIN)/python pyproject.toml bench/pyproject.toml
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]" -e ./bench
	touch $(STAMP)

# The server on the embedded SQLite default (KETAGUIDE_DATA_DIR, default ~/.local/share/ketaguide): migrate, then
# serve; the first start prints an admin's API token. Ctrl-C stops it. A developer's server shows the API docs
# (/docs); a clinic's leaves KETAGUIDE_API_DOCS off (OWASP ASVS 13.4.5).
run: $(STAMP)
	$(BIN)/ketaguide db upgrade
	KETAGUIDE_API_DOCS=$${KETAGUIDE_API_DOCS:-true} $(BIN)/ketaguide serve --host 127.0.0.1 --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench conftest.py
	$(BIN)/ruff format --check src tests bench conftest.py

# Both packages, ketaguide and ketaguide_bench, as [tool.mypy] in pyproject.toml lists them.
typecheck: $(STAMP)
	$(BIN)/mypy -p ketaguide -p ketaguide_bench

contracts: $(STAMP)
	$(BIN)/lint-imports

kb-check: $(STAMP)
	$(BIN)/ketaguide kb check

check: lint typecheck contracts kb-check

test: check
	$(BIN)/pytest -q -n auto --dist loadfile  # one worker per core; a file's tests share a worker (and its fixtures)

bench: $(STAMP)
	mkdir -p bench/results
	@command -v wrk >/dev/null || echo "wrk not found: the server benchmark falls back to its Python load generator, which shares the CPU (apt-get install wrk)"
	$(BIN)/ketaguide-bench ask-latency --questions tests/data/clinical_questions.yaml --out bench/results/ask_latency.json
	$(BIN)/ketaguide-bench retrieval --dataset ../shared/benchmarks/scifact --split train --format json \
		> bench/results/retrieval-scifact-train.json.tmp && mv bench/results/retrieval-scifact-train.json.tmp bench/results/retrieval-scifact-train.json
	$(BIN)/ketaguide-bench sentences --dataset ../shared/benchmarks/scifact --split train --format json \
		> bench/results/sentences-scifact-train.json.tmp && mv bench/results/sentences-scifact-train.json.tmp bench/results/sentences-scifact-train.json
	$(BIN)/ketaguide-bench answer-quality --retriever lexical --format json > bench/results/answer-quality.json.tmp && mv bench/results/answer-quality.json.tmp bench/results/answer-quality.json
	$(BIN)/ketaguide-bench server --out bench/results/server.json --seconds 5 --workers 2 --postgres-url "$(POSTGRES_URL)"
	$(BIN)/ketaguide-bench web-pages --out bench/results/web_pages.json
	$(BIN)/ketaguide-bench cds --out bench/results/cds-order-sign.json --seconds 5 --workers 2

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
