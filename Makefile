# The README's commands. Every install goes through constraints.txt, which pins torch==2.13.0
# (an unpinned torch pulls a multi-GB CUDA build) and every other package to a tested version.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --disable-pip-version-check -q -c constraints.txt

NPM ?= npm

.PHONY: install llama-cpp ui demo test lint bench bench-image bench-detection bench-forecast bench-generate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(PIP) torch==2.13.0
	$(PIP) -e ".[all,dev]"
	$(MAKE) --no-print-directory ui

# GGUF models (`runtime: llama-cpp`) need llama-cpp-python, which PyPI has as source only: pip builds
# it, about 10 minutes on 2 cores the first time, then reuses the wheel it cached. So `make install` and
# the demo leave it out, and the test command, whose llama.cpp tests must not skip, installs it.
llama-cpp: install
	$(PIP) -e ".[llama-cpp]"

# The web UI (web/, React + Vite) is built into src/berth/ui/, which `berth up` serves: no Node at run time.
# Its API types are generated first: the control plane's OpenAPI document into web/openapi.json, then
# openapi-typescript's web/src/api/schema.d.ts from it (both committed; tests fail when either drifts).
# NOTE: `npm ci`, so an install never rewrites the tracked lock file; the lock lists every platform's
# optional rollup and esbuild binaries (tests/unit/test_package_lock.py), so it is in sync everywhere.
ui:
	@if ! command -v $(NPM) >/dev/null; then echo "npm not found: skipping the web UI (the API and CLI work without it)"; \
	elif [ -f web/package.json ]; then $(BIN)/python -m berth.control.openapi web/openapi.json && cd web && \
		$(NPM) ci --no-audit --no-fund --loglevel=error && $(NPM) run --silent generate && $(NPM) run build; fi

demo: install
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# nginx and chromium first (installed as root or with sudo, else one line saying how): the tests that drive
# them never skip for want of them; BERTH_TEST_SKIP_NGINX=1 / BERTH_TEST_SKIP_BROWSER=1 opt out.
test: llama-cpp lint
	bash scripts/system-deps.sh
	@if [ -f web/package.json ]; then cd web && $(NPM) test; fi
	$(BIN)/python -m pytest

bench: install
	bash scripts/bench.sh $(BENCH_ARGS)

# The image case: a ViT classifier served from JPEG uploads against the raw pipeline (needs wrk, not LitServe).
bench-image: install
	$(BIN)/python benchmarks/serve_image.py $(BENCH_ARGS)

# Object detection: a random DETR (DETR's transformer shape) at 1 and 16 clients against pipeline("object-detection").
bench-detection: install
	$(BIN)/python benchmarks/serve_image.py --task object-detection $(BENCH_ARGS)

# Forecasting: a random Chronos-Bolt (chronos-bolt-small's shape) at 1 and 16 clients against predict_quantiles.
bench-forecast: install
	$(BIN)/python benchmarks/serve_forecast.py $(BENCH_ARGS)

# Generation: berth's engine, its previous worker, transformers serve and raw generate on a random Llama.
bench-generate: install
	$(BIN)/python benchmarks/generate.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .venv-bench .pytest_cache .mypy_cache .ruff_cache artifacts web/node_modules src/berth/ui
