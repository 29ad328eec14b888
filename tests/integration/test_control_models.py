"""Hub models through the control plane: byte-accurate download progress, the cache, pull and remove."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import tiny_models
from tests.hub_server import FakeHub
from tests.integration.conftest import HUB_REPO_ID, ControlPlaneProcess

pytestmark = pytest.mark.slow

REPO_ID = HUB_REPO_ID


@pytest.fixture
def plane(control_plane_factory: object, hub: FakeHub) -> ControlPlaneProcess:
    plane: ControlPlaneProcess = control_plane_factory(  # type: ignore[operator]
        HF_ENDPOINT=hub.url, HF_HUB_OFFLINE="0"
    )
    return plane


def test_a_hub_model_deploys_with_byte_progress_and_its_revision(
    plane: ControlPlaneProcess, hub: FakeHub
) -> None:
    accepted = plane.api.post("/api/v1/deploy", json={"name": "minilm", "model": {"source": REPO_ID}})
    assert accepted.status_code == 202
    deployment = plane.wait_state("minilm", "ready", "failed")
    assert deployment["state"] == "ready", deployment
    assert deployment["model_revision"] == hub.repos[REPO_ID].sha

    events = plane.api.get("/api/v1/deployments/minilm/events").json()
    downloads = [e for e in events if e["stage"] == "downloading" and e["bytes_total"]]
    assert len(downloads) >= 10
    done = [e["bytes_done"] for e in downloads]
    assert done == sorted(done)
    assert done[-1] == downloads[-1]["bytes_total"]
    percents = [e["progress"] for e in events if e["progress"] is not None]
    assert percents == sorted(percents)
    assert all(b - a <= 5 for a, b in itertools.pairwise(percents) if 15 <= a < 55)

    [cached] = plane.api.get("/api/v1/models").json()
    assert cached["id"] == REPO_ID
    assert cached["revisions"] == [hub.repos[REPO_ID].sha]
    assert cached["used_by"] == ["minilm"]
    refused = plane.api.delete(f"/api/v1/models/{REPO_ID}")
    assert refused.status_code == 409
    assert "minilm" in refused.json()["error"]["message"]

    # a second deploy of the cached model asks the hub for no file
    hub.requests.clear()
    plane.api.post(
        "/api/v1/deploy", params={"replace": "true"}, json={"name": "minilm", "model": {"source": REPO_ID}}
    )
    assert plane.wait_state("minilm", "ready", "failed")["state"] == "ready"
    assert [r for r in hub.requests if r.file] == []


def test_pull_streams_progress_then_remove_empties_the_cache(plane: ControlPlaneProcess) -> None:
    with plane.api.stream("POST", "/api/v1/models/pull", json={"source": REPO_ID}) as response:
        assert response.status_code == 200
        lines = [json.loads(line) for line in response.iter_lines() if line]
    progress = [line for line in lines if line["type"] == "progress"]
    assert progress
    assert progress[-1]["bytes_done"] == progress[-1]["bytes_total"]
    assert lines[-1]["type"] == "done"
    assert lines[-1]["model"]["id"] == REPO_ID

    assert [m["id"] for m in plane.api.get("/api/v1/models").json()] == [REPO_ID]
    assert plane.api.delete(f"/api/v1/models/{REPO_ID}").status_code == 204
    assert plane.api.get("/api/v1/models").json() == []
    missing = plane.api.delete(f"/api/v1/models/{REPO_ID}")
    assert missing.status_code == 404

    with plane.api.stream("POST", "/api/v1/models/pull", json={"source": "nobody/none"}) as response:
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert lines[-1]["type"] == "error"
    assert lines[-1]["error"]["code"] == "model_not_found"


def test_pull_with_a_file_downloads_only_the_chosen_gguf(
    plane: ControlPlaneProcess, hub: FakeHub, tmp_path: Path
) -> None:
    pytest.importorskip("gguf")
    folder = tmp_path / "ggufs"
    for file_type in ("F16", "F32"):
        tiny_models.build_gguf(folder, file_type=file_type, hidden=16, layers=1, heads=2, kv_heads=1)
    (folder / "config.json").write_text('{"model_type": "llama"}')
    (folder / "README.md").write_text("# tiny GGUF\n")
    repo = hub.add_repo("tiny/llama-GGUF", folder)
    hub.requests.clear()

    refused = berth_cli(plane, "pull", "tiny/llama-GGUF")
    assert refused.returncode == 2, refused.stderr
    assert "holds 2 GGUF files (tiny-F16.gguf, tiny-F32.gguf)" in refused.stderr
    assert "`berth pull --file`" in refused.stderr
    assert not [r for r in hub.requests if r.file and r.file.endswith(".gguf")]

    body = {"source": "tiny/llama-GGUF", "file": "tiny-F32.gguf"}
    with plane.api.stream("POST", "/api/v1/models/pull", json=body) as response:
        assert response.status_code == 200
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert lines[-1]["type"] == "done", lines
    assert {r.file for r in hub.requests if r.method == "GET" and r.file} == {"tiny-F32.gguf", "config.json"}
    [cached] = plane.api.get("/api/v1/models").json()
    assert cached["id"] == "tiny/llama-GGUF"
    assert cached["size_bytes"] == repo.files["tiny-F32.gguf"].size + repo.files["config.json"].size
    snapshot = Path(cached["path"]) / "snapshots" / repo.sha
    assert sorted(p.name for p in snapshot.iterdir()) == ["config.json", "tiny-F32.gguf"]
    assert (snapshot / "tiny-F32.gguf").read_bytes() == (folder / "tiny-F32.gguf").read_bytes()


def berth_cli(plane: ControlPlaneProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m berth.cli ARGS` against this control plane, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "berth.cli", *args],
        env=plane.env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_preflight_reports_what_a_model_needs(plane: ControlPlaneProcess) -> None:
    report = plane.api.post("/api/v1/preflight", json={"name": "minilm", "model": {"source": REPO_ID}}).json()
    assert report["source_kind"] == "hub"
    assert 20_000_000 < report["parameters"] < 25_000_000
    assert report["fits"] is True
    assert report["cached"] is False
    too_big = plane.api.post(
        "/api/v1/preflight",
        json={"name": "minilm", "model": {"source": REPO_ID}, "limits": {"max_model_size_gb": 0.01}},
    ).json()
    assert too_big["fits"] is False
    assert too_big["reasons"]


def test_a_hub_model_of_no_served_task_fails_at_validating_from_its_config_alone(
    plane: ControlPlaneProcess, hub: FakeHub, tmp_path: Path
) -> None:
    folder = tmp_path / "captioner"
    folder.mkdir()
    config = {"architectures": ["LlavaForConditionalGeneration"], "model_type": "llava"}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "model.safetensors").write_bytes(_safetensors_of(8_000_000))
    hub.add_repo("tiny/captioner", folder)
    hub.requests.clear()
    started = time.monotonic()
    accepted = plane.api.post(
        "/api/v1/deploy", json={"name": "captioner", "model": {"source": "tiny/captioner"}}
    )
    assert accepted.status_code == 202
    failed = plane.wait_state("captioner", "ready", "failed")
    assert time.monotonic() - started < 10  # at 40 MB/s the weights alone would take longer than the check
    assert failed["state"] == "failed"
    assert failed["last_error_code"] == "unsupported_model"
    assert (
        "cannot tell which task tiny/captioner (LlavaForConditionalGeneration) is for" in failed["last_error"]
    )
    assert "object-detection" in failed["last_error"]
    stages = [e["stage"] for e in plane.api.get("/api/v1/deployments/captioner/events").json()]
    assert "downloading" not in stages
    assert stages[-1] == "failed"
    weights = [
        r for r in hub.requests if r.file == "model.safetensors" and r.method == "GET" and r.range is None
    ]
    assert weights == []  # only config.json (and header bytes) were read


def test_preflight_names_the_task_of_an_uncached_hub_model(
    plane: ControlPlaneProcess, hub: FakeHub, tmp_path: Path
) -> None:
    folder = tmp_path / "detector"
    folder.mkdir()
    config = {"architectures": ["DetrForObjectDetection"], "model_type": "detr"}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "preprocessor_config.json").write_text(
        json.dumps({"size": {"shortest_edge": 800, "longest_edge": 1333}})
    )
    (folder / "model.safetensors").write_bytes(_safetensors_of(4096))
    hub.add_repo("tiny/detector", folder)
    report = plane.api.post(
        "/api/v1/preflight", json={"name": "d", "model": {"source": "tiny/detector"}}
    ).json()
    assert (report["cached"], report["task"]) == (False, "object-detection")
    assert report["activation_bytes"] == 32 * 800 * 1333 * 128  # the default batch of 32 at DETR's size


def _safetensors_of(size: int) -> bytes:
    """A valid safetensors file holding one float32 tensor of `size` bytes."""
    header = json.dumps(
        {"w": {"dtype": "F32", "shape": [size // 4], "data_offsets": [0, size // 4 * 4]}}
    ).encode()
    return len(header).to_bytes(8, "little") + header + bytes(size // 4 * 4)
