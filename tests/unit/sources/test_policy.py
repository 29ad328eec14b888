from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from berth.errors import PolicyRefused, UnsupportedModel
from berth.sources.listing import local_listing
from berth.sources.policy import select_files
from tests.unit.sources.conftest import make_spec, write_json, write_safetensors


def test_minilm_gets_configs_tokenizer_modules_and_safetensors(minilm_path: Path) -> None:
    selection = select_files(local_listing(minilm_path), make_spec())
    assert selection.weights == ("model.safetensors",)
    assert {"config.json", "tokenizer.json", "vocab.txt", "modules.json", "1_Pooling/config.json"} <= set(
        selection.files
    )
    assert "README.md" not in selection.files
    assert ".gitattributes" not in selection.files


def test_safetensors_win_over_pickle(tiny_model: Path) -> None:
    (tiny_model / "pytorch_model.bin").write_bytes(b"pickle")
    (tiny_model / "tf_model.h5").write_bytes(b"h5")
    selection = select_files(local_listing(tiny_model), make_spec())
    assert selection.weights == ("model.safetensors",)
    assert not {"pytorch_model.bin", "tf_model.h5"} & set(selection.files)


def test_pickle_only_is_refused_with_what_to_do(pickle_model: Path) -> None:
    with pytest.raises(PolicyRefused) as caught:
        select_files(local_listing(pickle_model), make_spec())
    message = caught.value.message
    assert "has only pickle-format weights (pytorch_model.bin)" in message
    assert "can run arbitrary code" in message
    assert "set allow_pickle: true" in message
    assert "use a safetensors version" in message


def test_pickle_only_is_accepted_with_allow_pickle(pickle_model: Path) -> None:
    selection = select_files(local_listing(pickle_model), make_spec(allow_pickle=True))
    assert selection.weights == ("pytorch_model.bin",)
    assert "training_args.bin" not in selection.files


def test_remote_code_is_refused_unless_trusted(remote_code_model: Path) -> None:
    with pytest.raises(PolicyRefused, match=r"auto_map in config.json.*set trust_remote_code: true"):
        select_files(local_listing(remote_code_model), make_spec())
    selection = select_files(local_listing(remote_code_model), make_spec(trust_remote_code=True))
    assert "modeling_custom.py" in selection.files


def test_modeling_files_alone_count_as_remote_code(tiny_model: Path) -> None:
    (tiny_model / "modeling_mine.py").write_text("")
    with pytest.raises(PolicyRefused, match=r"\(modeling_mine.py\)"):
        select_files(local_listing(tiny_model), make_spec())


def test_custom_sentence_transformers_module_is_remote_code(tiny_model: Path) -> None:
    write_json(tiny_model / "modules.json", [{"idx": 0, "name": "0", "path": "", "type": "mypkg.Custom"}])
    with pytest.raises(PolicyRefused, match=r"custom module mypkg\.Custom in modules\.json"):
        select_files(local_listing(tiny_model), make_spec())


def test_module_folder_with_only_pickle_weights_is_refused(tmp_path: Path, minilm_path: Path) -> None:
    folder = tmp_path / "st"
    shutil.copytree(minilm_path, folder, ignore=shutil.ignore_patterns("model.safetensors"))
    write_safetensors(folder / "model.safetensors", {"w": ("F32", [2, 2])})
    modules = json.loads((folder / "modules.json").read_text())
    modules.append({"idx": 3, "name": "3", "path": "3_Dense", "type": "sentence_transformers.models.Dense"})
    write_json(folder / "modules.json", modules)
    write_json(folder / "3_Dense" / "config.json", {"in_features": 384})
    (folder / "3_Dense" / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(PolicyRefused, match=r"st/3_Dense has only pickle-format weights"):
        select_files(local_listing(folder), make_spec())
    selection = select_files(local_listing(folder), make_spec(allow_pickle=True))
    assert {"model.safetensors", "3_Dense/pytorch_model.bin", "3_Dense/config.json"} <= set(selection.files)


def test_onnx_runtime_takes_the_plain_graph(tiny_model: Path) -> None:
    for name in ("onnx/model.onnx", "onnx/model_quantized.onnx", "onnx/model_fp16.onnx"):
        (tiny_model / name).parent.mkdir(exist_ok=True)
        (tiny_model / name).write_bytes(b"graph")
    assert select_files(local_listing(tiny_model), make_spec(runtime="onnx")).weights == ("onnx/model.onnx",)
    # Other runtimes never fetch exports when there are safetensors.
    assert select_files(local_listing(tiny_model), make_spec()).weights == ("model.safetensors",)


def test_no_loadable_weights_is_unsupported(tmp_path: Path) -> None:
    write_json(tmp_path / "config.json", {})
    (tmp_path / "flax_model.msgpack").write_bytes(b"flax")
    with pytest.raises(UnsupportedModel, match="has no weights berth can load"):
        select_files(local_listing(tmp_path), make_spec())
