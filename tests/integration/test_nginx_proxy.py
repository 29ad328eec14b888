"""A real nginx, from the exported template, in front of a real MiniLM worker on loopback ports."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from berth.exporters import render_nginx
from berth.spec import parse_spec
from tests.conftest import free_port
from tests.integration.conftest import WorkerProcess, launch_worker

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").is_file() else None)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx)"),
]


@pytest.fixture
def proxied_worker(
    tmp_path: Path, minilm_path: Path, workers: list[WorkerProcess]
) -> Iterator[tuple[str, WorkerProcess]]:
    spec = {"name": "minilm", "model": {"source": str(minilm_path)}, "device": "cpu"}
    worker = launch_worker(spec, tmp_path)
    workers.append(worker)
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
            {"minilm": f"127.0.0.1:{worker.port}"},
            control_plane=f"127.0.0.1:{free_port()}",  # the control-plane half is tested elsewhere
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
        worker.wait_ready()
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/index.html", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield base, worker
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)


def test_predict_v2_headers_gzip_and_spa_through_nginx(proxied_worker: tuple[str, WorkerProcess]) -> None:
    base, _ = proxied_worker
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
