"""`POST /api/v1/models/pull` in-process with its `file` field, against a loopback hub of GGUF files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from berth.control.app import create_app
from berth.settings import Settings
from tests import tiny_models
from tests.hub_server import FakeHub

pytest.importorskip("gguf")

REPO_ID = "tiny/llama-GGUF"
FILE_TYPES = ("F16", "F32")  # two real GGUF files, written without llama.cpp


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """A hub repo of two GGUF quantizations beside a config and a README, and an online private cache."""
    from huggingface_hub import constants

    repo = tmp_path / "repo"
    for file_type in FILE_TYPES:
        tiny_models.build_gguf(repo, file_type=file_type, hidden=16, layers=1, heads=2, kv_heads=1)
    (repo / "config.json").write_text('{"model_type": "llama"}')
    (repo / "README.md").write_text("# tiny GGUF\n")
    hub = FakeHub().start()
    hub.add_repo(REPO_ID, repo)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # frozen at import; a run started offline
    yield hub
    hub.stop()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(home=tmp_path / "home", worker_ports="39100-39104", preload_workers=False)
    with TestClient(create_app(settings)) as client:
        yield client


def pull(api: TestClient, **body: Any) -> list[dict[str, Any]]:
    with api.stream("POST", "/api/v1/models/pull", json={"source": REPO_ID, **body}) as response:
        assert response.status_code == 200
        return [json.loads(line) for line in response.iter_lines() if line]


def fetched(hub: FakeHub) -> set[str]:
    return {r.file for r in hub.log() if r.method == "GET" and r.file}


def test_file_chooses_the_one_gguf_that_is_pulled(api: TestClient, hub: FakeHub, tmp_path: Path) -> None:
    lines = pull(api, file="*f32.GGUF")  # case-insensitive, as model.file is
    assert lines[-1]["type"] == "done", lines
    assert lines[-1]["revision"] == hub.repos[REPO_ID].sha
    assert fetched(hub) == {"tiny-F32.gguf", "config.json"}
    [snapshot] = (tmp_path / "hf-cache" / "models--tiny--llama-GGUF" / "snapshots").iterdir()
    assert sorted(p.name for p in snapshot.iterdir()) == ["config.json", "tiny-F32.gguf"]
    chosen = hub.repos[REPO_ID].files["tiny-F32.gguf"].size + hub.repos[REPO_ID].files["config.json"].size
    assert lines[-1]["model"]["size_bytes"] == chosen
    progress = [line for line in lines if line["type"] == "progress"]
    assert progress[-1]["bytes_done"] == progress[-1]["bytes_total"] == chosen


def test_without_file_a_repo_of_several_ggufs_is_refused_saying_to_pass_one(
    api: TestClient, hub: FakeHub
) -> None:
    [line] = pull(api)
    assert line["type"] == "error"
    assert line["error"]["code"] == "unsupported_model"
    message = line["error"]["message"]
    assert message.startswith(f"{REPO_ID} holds 2 GGUF files (tiny-F16.gguf, tiny-F32.gguf)")
    assert "`berth pull --file`" in message
    assert '"file" in a pull request' in message
    assert not [f for f in fetched(hub) if f.endswith(".gguf")]
    assert api.get("/api/v1/models").json() == []


def test_a_file_matching_no_gguf_names_the_ones_there_are(api: TestClient, hub: FakeHub) -> None:
    [line] = pull(api, file="*Q4_K_M.gguf")
    assert line["error"]["code"] == "unsupported_model"
    assert "'*Q4_K_M.gguf' matches none of" in line["error"]["message"]
    assert "tiny-F16.gguf, tiny-F32.gguf" in line["error"]["message"]
    assert not [f for f in fetched(hub) if f.endswith(".gguf")]


@pytest.mark.parametrize("glob", ["../*.gguf", "/tmp/x.gguf", ""])
def test_a_bad_file_glob_is_a_422_naming_the_field(api: TestClient, glob: str) -> None:
    response = api.post("/api/v1/models/pull", json={"source": REPO_ID, "file": glob})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_spec"
    assert error["message"].startswith("file: model.file ")
