from __future__ import annotations

from pathlib import Path

import pytest

from berth.errors import InvalidSpec, ModelNotFound
from berth.sources import ResolvedSource, SourceKind, resolve_source
from berth.spec import ModelRef


def resolve(source: str, revision: str = "main") -> ResolvedSource:
    return resolve_source(ModelRef(source=source, revision=revision))


@pytest.mark.parametrize("source", ["sentence-transformers/all-MiniLM-L6-v2", "gpt2", "org_1/model.v2-base"])
def test_hub_ids(source: str) -> None:
    resolved = resolve(source, revision="v1.0")
    assert resolved.kind is SourceKind.HUB
    assert (resolved.repo_id, resolved.revision, resolved.reference) == (source, "v1.0", source)


def test_python_predictor() -> None:
    resolved = resolve("my_pkg.predictors:EchoPredictor")
    assert resolved.kind is SourceKind.PYTHON
    assert resolved.target == "my_pkg.predictors:EchoPredictor"


def test_onnx_file(tmp_path: Path) -> None:
    model = tmp_path / "model.onnx"
    model.write_bytes(b"onnx")
    resolved = resolve(str(model))
    assert (resolved.kind, resolved.path) == (SourceKind.ONNX, model)


def test_missing_onnx_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match=r"ONNX file .*missing\.onnx' does not exist"):
        resolve(str(tmp_path / "missing.onnx"))


def test_local_folders_in_every_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "models" / "minilm"
    folder.mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    for source in (
        str(folder),
        "./models/minilm",
        "models/minilm",
        "~/models/minilm",
        "models/../models/minilm",
    ):
        resolved = resolve(source)
        assert (resolved.kind, resolved.path, resolved.reference) == (SourceKind.LOCAL, folder, source)
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert resolve("../models/minilm").path == folder


def test_missing_folder_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match=r"model folder '.*nowhere' does not exist; check model.source"):
        resolve(str(tmp_path / "nowhere"))
    with pytest.raises(ModelNotFound, match="does not exist"):
        resolve("./surely-not-here")


def test_a_file_is_not_a_model_folder(tmp_path: Path) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"x")
    with pytest.raises(ModelNotFound, match="is a file, not a model folder"):
        resolve(str(weights))


@pytest.mark.parametrize(
    "source", ["not a model", "http://example.com/model", "a/b/c", "bad--name/x", "-lead/name", "x/name.git"]
)
def test_anything_else_is_an_invalid_spec_listing_the_forms(source: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        resolve(source)
    assert "owner/name" in caught.value.message
    assert "package.module:Class" in caught.value.message
