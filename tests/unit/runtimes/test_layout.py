from __future__ import annotations

import json
from pathlib import Path

import pytest

from berth.errors import PolicyRefused
from berth.runtimes import layout


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


def test_config_dtype_reads_either_key() -> None:
    assert layout.config_dtype({"torch_dtype": "bfloat16"}) == "bfloat16"
    assert layout.config_dtype({"dtype": "float16", "torch_dtype": "float32"}) == "float16"
    assert layout.config_dtype(json.loads("{}")) is None
