"""A worker given a hub id: download progress through huggingface_hub from a loopback hub, then serving."""

from __future__ import annotations

from pathlib import Path

import httpx

from berth.events import Stage
from tests.hub_server import FakeHub
from tests.integration.conftest import HUB_REPO_ID, WorkerProcess, launch_worker

REPO_ID = HUB_REPO_ID


def test_a_hub_model_downloads_with_progress_then_serves(
    hub: FakeHub, tmp_path: Path, workers: list[WorkerProcess]
) -> None:
    spec = {"name": "minilm", "model": {"source": REPO_ID}}
    worker = launch_worker(spec, tmp_path, env={"HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0"})
    workers.append(worker)
    worker.wait_ready()

    downloads = [e for e in worker.events if e.stage is Stage.DOWNLOADING]
    assert len(downloads) >= 5
    done = [e.bytes_done for e in downloads]
    assert done == sorted(done)
    assert downloads[-1].bytes_done == downloads[-1].bytes_total
    assert (
        downloads[-1].bytes_total
        >= (Path(hub.repos[REPO_ID].files["model.safetensors"].source)).stat().st_size
    )
    progress = [e.progress for e in worker.events if e.progress is not None]
    assert progress == sorted(progress)
    assert 15 <= downloads[0].progress <= downloads[-1].progress == 55

    metadata = httpx.get(f"{worker.url}/v2/models/minilm").json()
    assert metadata["versions"] == [hub.repos[REPO_ID].sha]
    response = httpx.post(f"{worker.url}/predict", json={"text": "hello"}, timeout=30)
    assert response.status_code == 200
    assert len(response.json()["result"][0]) == 384


def test_an_unknown_hub_model_fails_with_a_clear_reason(
    hub: FakeHub, tmp_path: Path, workers: list[WorkerProcess]
) -> None:
    spec = {"name": "ghost", "model": {"source": "nobody/no-such-model"}}
    worker = launch_worker(spec, tmp_path, env={"HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0"})
    workers.append(worker)
    assert worker.wait_exit() == 3
    assert worker.events[-1].stage is Stage.FAILED
    assert "nobody/no-such-model" in worker.events[-1].message
