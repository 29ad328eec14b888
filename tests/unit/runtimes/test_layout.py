from __future__ import annotations

import json
from pathlib import Path

import pytest

from berth.errors import PolicyRefused, UnsupportedModel
from berth.runtimes import layout
from berth.spec import Task


@pytest.mark.parametrize(
    ("architecture", "task"),
    [
        ("BertForSequenceClassification", Task.TEXT_CLASSIFICATION),
        ("DistilBertForTokenClassification", Task.TOKEN_CLASSIFICATION),
        ("BertForMaskedLM", Task.FILL_MASK),
        ("LlamaForCausalLM", Task.TEXT_GENERATION),
        ("GPT2LMHeadModel", Task.TEXT_GENERATION),
        ("BertModel", Task.FEATURE_EXTRACTION),
        ("BertForPreTraining", None),
    ],
)
def test_task_from_architectures(architecture: str, task: Task | None) -> None:
    assert layout.task_from_config({"architectures": [architecture]}) is task


def test_no_architectures_means_no_task() -> None:
    assert layout.task_from_config({}) is None


def test_find_onnx_file_prefers_model_onnx(tmp_path: Path) -> None:
    assert layout.find_onnx_file(tmp_path) is None
    (tmp_path / "onnx").mkdir()
    (tmp_path / "onnx" / "model.onnx").touch()
    (tmp_path / "onnx" / "model_quantized.onnx").touch()
    assert layout.find_onnx_file(tmp_path) == tmp_path / "onnx" / "model.onnx"
    (tmp_path / "model.onnx").touch()
    assert layout.find_onnx_file(tmp_path) == tmp_path / "model.onnx"
    assert (
        layout.find_onnx_file(tmp_path / "onnx" / "model_quantized.onnx")
        == tmp_path / "onnx" / "model_quantized.onnx"
    )


def test_several_graphs_and_no_model_onnx_are_ambiguous(tmp_path: Path) -> None:
    (tmp_path / "a.onnx").touch()
    (tmp_path / "b.onnx").touch()
    assert layout.find_onnx_file(tmp_path) is None
    assert layout.has_onnx_files(tmp_path)


def test_pickle_only_weights_are_refused_unless_allowed(tmp_path: Path) -> None:
    (tmp_path / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(PolicyRefused, match=r"pickle format \(pytorch_model.bin\).*allow_pickle: true"):
        layout.check_pickle_policy(tmp_path, allow_pickle=False)
    layout.check_pickle_policy(tmp_path, allow_pickle=True)


def test_pickle_beside_safetensors_is_fine(tmp_path: Path) -> None:
    (tmp_path / "pytorch_model.bin").touch()
    (tmp_path / "model.safetensors").touch()
    layout.check_pickle_policy(tmp_path, allow_pickle=False)


def test_pickle_in_a_module_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").touch()
    (tmp_path / "2_Dense").mkdir()
    (tmp_path / "2_Dense" / "pytorch_model.bin").touch()
    with pytest.raises(PolicyRefused, match="2_Dense"):
        layout.check_pickle_policy(tmp_path, allow_pickle=False)


def test_remote_code_is_refused_unless_trusted(tmp_path: Path) -> None:
    config = {"auto_map": {"AutoModel": "modeling_custom.CustomModel"}}
    with pytest.raises(PolicyRefused, match="trust_remote_code: true"):
        layout.check_remote_code(tmp_path, config, trust_remote_code=False)
    layout.check_remote_code(tmp_path, config, trust_remote_code=True)


def test_config_must_be_a_json_object(tmp_path: Path) -> None:
    assert layout.read_config(tmp_path) == {}
    (tmp_path / "config.json").write_text("[1, 2]")
    with pytest.raises(UnsupportedModel, match="not a JSON object"):
        layout.read_config(tmp_path)
    (tmp_path / "config.json").write_text("{broken")
    with pytest.raises(UnsupportedModel, match="cannot read"):
        layout.read_config(tmp_path)


def test_config_dtype_reads_either_key() -> None:
    assert layout.config_dtype({"torch_dtype": "bfloat16"}) == "bfloat16"
    assert layout.config_dtype({"dtype": "float16", "torch_dtype": "float32"}) == "float16"
    assert layout.config_dtype(json.loads("{}")) is None
