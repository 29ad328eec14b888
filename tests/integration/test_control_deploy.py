"""Deploying through the control plane: stages over the WebSocket, the proxy, and the registry."""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from websockets.sync.client import connect

from tests.integration.conftest import ControlPlaneProcess

pytestmark = pytest.mark.slow

STAGES = ["initializing", "validating", "downloading", "loading", "creating", "starting", "completed"]


def follow(
    plane: ControlPlaneProcess, name: str, until: set[str], into: list[dict[str, Any]]
) -> threading.Thread:
    """Collect WebSocket messages for `name` in a thread until a state in `until` arrives."""

    def run() -> None:
        with connect(f"ws://127.0.0.1:{plane.port}/api/v1/ws/{name}", open_timeout=10) as socket:
            while True:
                message = json.loads(socket.recv(timeout=180))
                into.append(message)
                if message["type"] == "state" and message["state"] in until:
                    return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_minilm_deploys_with_ordered_progress_and_answers_through_the_proxy(
    control_plane: ControlPlaneProcess, minilm_path: Path
) -> None:
    api = control_plane.api
    preflight = api.post("/api/v1/preflight", json={"name": "minilm", "model": {"source": str(minilm_path)}})
    assert preflight.json()["fits"] is True
    assert (preflight.json()["runtime"], preflight.json()["task"]) == (
        "sentence-transformers",
        "feature-extraction",
    )
    accepted = api.post("/api/v1/deploy", json={"name": "minilm", "model": {"source": str(minilm_path)}})
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["state"] == "deploying"

    messages: list[dict[str, Any]] = []
    follow(control_plane, "minilm", {"ready", "failed"}, messages).join(timeout=200)
    events = [m for m in messages if m["type"] == "event"]
    stages = [e["stage"] for e in events]
    assert [s for s in STAGES if s in stages] == STAGES, stages
    assert stages == sorted(stages, key=STAGES.index), "stages arrive in their documented order"
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress)
    assert progress[-1] == 100
    assert messages[-1] == {**messages[-1], "type": "state", "state": "ready"}
    assert "Deployed! Available at http://127.0.0.1:" in events[-1]["message"]

    deployment = control_plane.deployment("minilm")
    assert deployment["state"] == "ready"
    assert deployment["desired_state"] == "running"
    assert deployment["usage"]["curl"].startswith(f"curl -s -X POST {deployment['endpoint']}/predict")
    assert "embeddings.create" in deployment["usage"]["openai"]
    [replica] = deployment["replicas"]
    assert replica["state"] == "ready"
    assert replica["pid"]
    assert replica["restarts"] == 0

    proxied = api.post("/api/v1/deployments/minilm/inference", json={"text": "I love this product!"})
    direct = httpx.post(f"{deployment['endpoint']}/predict", json={"text": "I love this product!"})
    assert proxied.status_code == direct.status_code == 200
    assert proxied.json()["status"] == "success"
    assert np.allclose(proxied.json()["result"], direct.json()["result"], atol=1e-6)
    assert len(proxied.json()["result"][0]) == 384

    listed = api.get("/api/v1/deployments").json()
    assert [d["name"] for d in listed] == ["minilm"]
    assert listed[0]["replicas"] == deployment["replicas"]
    metadata = json.loads((control_plane.home / "deployments/minilm/metadata.json").read_text())
    assert metadata["state"] == "ready"
    assert metadata["replicas"] == deployment["replicas"]
    history = api.get("/api/v1/deployments/minilm/events").json()
    assert [e["stage"] for e in history] == stages
    assert "ready at" in api.get("/api/v1/deployments/minilm/logs", params={"tail": 50}).text

    system = api.get("/api/v1/system").json()
    [process] = system["processes"]
    assert (process["deployment"], process["pid"], process["alive"]) == ("minilm", replica["pid"], True)
    assert process["rss_bytes"] > 100_000_000, "a worker holding MiniLM"
    assert {r["runtime"] for r in system["runtimes"]} >= {"sentence-transformers", "onnx", "python"}
    assert system["memory"]["total"] > 0

    metrics = api.get("/metrics").text
    assert 'berth_deployments{state="ready"} 1.0' in metrics

    stopped = api.post("/api/v1/deployments/minilm/stop")
    assert stopped.json()["state"] == "stopped"
    assert stopped.json()["replicas"] == []
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{deployment['endpoint']}/health/live", timeout=2)
    unavailable = api.post("/api/v1/deployments/minilm/inference", json={"text": "x"})
    assert unavailable.status_code == 503
    assert unavailable.json()["error"]["code"] == "not_ready"

    assert api.delete("/api/v1/deployments/minilm").status_code == 204
    assert api.get("/api/v1/deployments/minilm").status_code == 404
    assert not (control_plane.home / "deployments/minilm").exists()


def test_two_replicas_share_the_proxied_requests(control_plane: ControlPlaneProcess) -> None:
    api = control_plane.api
    spec = {"name": "echo", "model": {"source": "tests.predictors:SlowEcho"}, "replicas": 2}
    assert api.post("/api/v1/deploy", json=spec).status_code == 202
    deployment = control_plane.wait_state("echo", "ready", "failed")
    assert deployment["state"] == "ready", deployment
    ports = [r["port"] for r in deployment["replicas"]]
    assert len(set(ports)) == 2

    for _ in range(10):
        answer = api.post("/api/v1/deployments/echo/inference", json={"inputs": ["hi"]})
        assert answer.json()["result"] == ["HI"]
    served = [_requests_served(port) for port in ports]
    assert all(count >= 3 for count in served), served

    deadline, stats = time.monotonic() + 15, {}
    while time.monotonic() < deadline:
        api.post("/api/v1/deployments/echo/inference", json={"inputs": ["traffic"]})
        stats = api.get("/api/v1/deployments/echo/stats").json()
        if stats["requests_total"] >= 10 and any(p["requests_per_s"] > 0 for p in stats["points"]):
            break
        time.sleep(0.5)
    assert stats["requests_total"] >= 10, stats
    busy = [p for p in stats["points"] if p["requests_per_s"] > 0]
    assert busy, stats
    assert busy[0]["p50_ms"] is not None
    assert stats["uptime_s"] > 0

    exported = api.get("/api/v1/deployments/echo/export/compose")
    assert exported.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(exported.content)) as bundle:
        assert {"docker-compose.yml", "Dockerfile", "nginx/nginx.conf"} <= set(bundle.namelist())
        assert "echo:" in bundle.read("docker-compose.yml").decode()
    assert api.get("/api/v1/deployments/echo/export/helm").status_code == 422


def _requests_served(port: int) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("berth_requests_total{") and 'route="predict"' in line
    )
