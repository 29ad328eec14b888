"""How the client turns a model source, a mapping or a spec file into a DeploymentSpec."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from berth.client import absolute_source, build_spec, derive_name
from berth.errors import InvalidSpec
from berth.spec import NAME_RULE, DeploymentSpec, RuntimeName


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("sentence-transformers/all-MiniLM-L6-v2", "all-minilm-l6-v2"),
        (
            "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
            "distilbert-base-uncased-finetuned-sst-2-english",
        ),
        ("gpt2", "gpt2"),
        ("./models/My_Model.v2/", "my-model-v2"),
        ("/abs/path/classifier.onnx", "classifier"),
        ("examples.predictors:WordCounter", "wordcounter"),
        ("--__--", "model"),
        ("a" * 80, "a" * 63),
        ("x/" + "b" * 62 + "-c", "b" * 62),
    ],
)
def test_derived_names_are_dns_labels(source: str, name: str) -> None:
    assert derive_name(source) == name
    DeploymentSpec.model_validate({"name": name, "model": {"source": "x"}})  # always a valid name


def test_a_hub_id_with_overrides() -> None:
    spec = build_spec(
        "sentence-transformers/all-MiniLM-L6-v2",
        replicas=2,
        device="cpu",
        dtype="float32",
        task="feature-extraction",
        runtime="sentence-transformers",
        port=8150,
        revision="abc123",
        dtype_unused=None,
    )
    assert spec.name == "all-minilm-l6-v2"
    assert spec.model.source == "sentence-transformers/all-MiniLM-L6-v2"
    assert spec.model.revision == "abc123"
    assert (spec.replicas, spec.device, spec.dtype.value, spec.port) == (2, "cpu", "float32", 8150)
    assert spec.runtime is RuntimeName.SENTENCE_TRANSFORMERS


def test_a_gguf_repo_with_its_file_and_runtime() -> None:
    spec = build_spec(
        "TheOrg/Tiny-GGUF", name="chat", runtime="llama-cpp", file="*Q4_K_M.gguf", revision="v2"
    )
    assert (spec.model.source, spec.model.file, spec.model.revision) == (
        "TheOrg/Tiny-GGUF",
        "*Q4_K_M.gguf",
        "v2",
    )
    assert spec.runtime is RuntimeName.LLAMA_CPP


def test_unset_overrides_keep_the_defaults() -> None:
    spec = build_spec("gpt2", name="writer", replicas=None, device=None)
    assert (spec.name, spec.replicas, spec.device) == ("writer", 1, "auto")


def test_local_paths_become_absolute(tmp_path: Path) -> None:
    (tmp_path / "minilm").mkdir()
    spec = build_spec("minilm")  # an existing folder, written without ./
    assert spec.model.source == str(tmp_path / "minilm")
    assert absolute_source("./missing") == str(tmp_path / "missing")
    assert absolute_source("model.onnx") == str(tmp_path / "model.onnx")
    assert absolute_source("examples.predictors:WordCounter") == "examples.predictors:WordCounter"
    assert absolute_source("owner/name") == "owner/name"


def test_spec_files_mappings_and_specs(tmp_path: Path) -> None:
    data = {"name": "minilm", "model": {"source": "sentence-transformers/all-MiniLM-L6-v2"}, "replicas": 2}
    (tmp_path / "berth.yaml").write_text(yaml.safe_dump(data))
    from_file = build_spec("berth.yaml", replicas=3)
    assert (from_file.name, from_file.replicas) == ("minilm", 3)
    from_mapping = build_spec(data, name="other")
    assert (from_mapping.name, from_mapping.replicas) == ("other", 2)
    assert data["name"] == "minilm"  # the caller's mapping is not changed
    assert build_spec(from_file, device="cpu").device == "cpu"
    assert build_spec({"model": {"source": "owner/Some_Model"}}).name == "some-model"


def test_an_invalid_name_states_the_rule() -> None:
    with pytest.raises(InvalidSpec) as caught:
        build_spec("gpt2", name="Bad_Name")
    assert NAME_RULE in caught.value.message
    assert caught.value.exit_code == 2


def test_a_misspelt_override_is_refused() -> None:
    with pytest.raises(InvalidSpec, match="replicaz: unknown field"):
        build_spec("gpt2", replicaz=2)


def test_a_missing_spec_file_is_named() -> None:
    with pytest.raises(InvalidSpec, match=r"missing\.yaml"):
        build_spec("missing.yaml")
