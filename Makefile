# The README's commands. Every install goes through constraints.txt, which pins torch==2.13.0
# (an unpinned torch pulls a multi-GB CUDA build) and every other package to a tested version.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --disable-pip-version-check -q -c constraints.txt

NPM ?= npm

.PHONY: install ui demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(PIP) torch==2.13.0
	$(PIP) -e ".[all,dev]"
	$(MAKE) --no-print-directory ui

# The web UI (web/, React + Vite) is built into src/berth/ui/, which `berth up` serves: no Node at run time.
# NOTE: `npm install`, not `npm ci`: with this registry mirror the lock file lacks other platforms'
# optional rollup binaries, which `npm ci` then calls out of sync; the lock still pins every version.
ui:
	@if ! command -v $(NPM) >/dev/null; then echo "npm not found: skipping the web UI (the API and CLI work without it)"; \
	elif [ -f web/package.json ]; then cd web && $(NPM) install --no-audit --no-fund --loglevel=error && $(NPM) run build; fi

demo: install
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

test: lint
	@if [ -f web/package.json ]; then cd web && $(NPM) test; fi
	$(BIN)/python -m pytest

bench: install
	bash scripts/bench.sh $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .venv-bench .pytest_cache .mypy_cache .ruff_cache artifacts web/node_modules src/berth/ui
