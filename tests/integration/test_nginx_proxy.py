"""A real nginx, from the exported template, in front of a real control plane and its MiniLM worker."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from berth.exporters import render_nginx
from berth.spec import parse_spec
from tests.conftest import NGINX, free_port
from tests.integration.conftest import ControlPlaneProcess

pytestmark = [pytest.mark.slow, pytest.mark.nginx]  # fails, never skips, without nginx (tests/conftest.py)


@pytest.fixture
def behind_nginx(
    tmp_path: Path, minilm_path: Path, control_plane: ControlPlaneProcess
) -> Iterator[tuple[str, ControlPlaneProcess]]:
    spec = {"name": "minilm", "model": {"source": str(minilm_path)}, "device": "cpu"}
    assert control_plane.api.post("/api/v1/deploy", json=spec).status_code == 202
    deployment = control_plane.wait_state("minilm", "ready", "failed")
    assert deployment["state"] == "ready", deployment
    worker_port = deployment["replicas"][0]["port"]
    port = free_port()
    runtime = tmp_path / "nginx"
    (runtime / "ui" / "assets").mkdir(parents=True)
    (runtime / "ui" / "index.html").write_text("<!doctype html><title>berth</title>")
    conf = runtime / "nginx.conf"
    # NOTE: a root nginx (CI containers) drops its workers to `nobody`, which cannot read pytest's
    # private tmp folders; an unprivileged nginx, as in production, keeps its own user.
    as_root = "user root;\n" if os.geteuid() == 0 else ""
    conf.write_text(
        as_root
        + render_nginx(
            [parse_spec(spec)],
            {"minilm": f"127.0.0.1:{worker_port}"},
            control_plane=f"127.0.0.1:{control_plane.port}",
            listen=f"127.0.0.1:{port}",
            static_root=str(runtime / "ui"),
            runtime_dir=str(runtime),
            error_log=str(runtime / "error.log"),
            access_log="off",
        )
    )
    assert NGINX is not None
    nginx = subprocess.Popen(
        [NGINX, "-e", str(runtime / "error.log"), "-p", str(runtime), "-c", str(conf), "-g", "daemon off;"]
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/index.html", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield base, control_plane
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)


def test_the_api_docs_and_progress_stream_through_nginx(
    behind_nginx: tuple[str, ControlPlaneProcess],
) -> None:
    base, plane = behind_nginx
    listed = httpx.get(f"{base}/api/v1/deployments", timeout=10)
    assert listed.status_code == 200
    assert [d["name"] for d in listed.json()] == ["minilm"]
    assert listed.headers["x-content-type-options"] == "nosniff"

    proxied = httpx.post(f"{base}/api/v1/deployments/minilm/inference", json={"text": "hi"}, timeout=30)
    assert len(proxied.json()["result"][0]) == 384
    assert httpx.get(f"{base}/health/ready", timeout=10).json() == {"status": "ready"}
    docs = httpx.get(f"{base}/docs", timeout=10)
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    assert httpx.get(f"{base}/openapi.json", timeout=10).json()["info"]["title"] == "berth"

    ws_url = base.replace("http://", "ws://") + "/api/v1/ws/minilm"
    with connect(ws_url, open_timeout=10) as socket:
        messages = []
        while not messages or messages[-1]["type"] != "state":
            messages.append(json.loads(socket.recv(timeout=10)))
    assert [m["stage"] for m in messages if m["type"] == "event"][-1] == "completed"
    assert messages[-1]["state"] == "ready"

    live: list[dict[str, Any]] = []
    with connect(ws_url, open_timeout=10) as socket:
        while json.loads(socket.recv(timeout=10))["type"] != "state":  # the history again
            pass

        def restart() -> None:
            plane.api.post("/api/v1/deployments/minilm/stop")
            plane.api.post("/api/v1/deployments/minilm/start")

        threading.Thread(target=restart, daemon=True).start()
        while not live or live[-1].get("state") != "ready":
            live.append(json.loads(socket.recv(timeout=60)))
    states = [m["state"] for m in live if m["type"] == "state"]
    assert states == ["stopped", "deploying", "ready"]
    assert [m["stage"] for m in live if m["type"] == "event"][-1] == "completed"


def test_predict_v2_headers_gzip_and_spa_through_nginx(behind_nginx: tuple[str, ControlPlaneProcess]) -> None:
    base, _ = behind_nginx
    predicted = httpx.post(
        f"{base}/models/minilm/predict", json={"inputs": ["I love this product!"] * 8}, timeout=60
    )
    assert predicted.status_code == 200, predicted.text
    assert predicted.json()["status"] == "success"
    assert predicted.headers["content-encoding"] == "gzip"  # 8 x 384 floats: well over gzip_min_length
    assert predicted.headers["x-content-type-options"] == "nosniff"
    assert predicted.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in predicted.headers["content-security-policy"]

    ready = httpx.get(f"{base}/models/minilm/v2/health/ready", timeout=10)
    assert ready.status_code == 200

    spa = httpx.get(f"{base}/some/client/route", timeout=10)
    assert spa.status_code == 200
    assert "<title>berth</title>" in spa.text
    assert spa.headers["cache-control"] == "no-cache"
    assert spa.headers["referrer-policy"] == "strict-origin-when-cross-origin"

    assert httpx.get(f"{base}/models/nothing/predict", timeout=10).status_code == 404
    too_big = httpx.post(f"{base}/models/minilm/predict", content=b"x" * (2 * 1024 * 1024), timeout=10)
    assert too_big.status_code == 413
