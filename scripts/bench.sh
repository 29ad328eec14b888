#!/usr/bin/env bash
# The serving benchmark: berth's worker against the raw model and LitServe, in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bench-env.sh
exec .venv/bin/python benchmarks/serve.py "$@"
