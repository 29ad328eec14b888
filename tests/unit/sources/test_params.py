from __future__ import annotations

import json
from pathlib import Path

import pytest

from berth.sources.listing import local_listing
from berth.sources.params import count_parameters, estimate_from_config, memory_by_dtype
from tests.unit.sources.conftest import MINILM_PARAMETERS


def test_safetensors_header_gives_the_exact_count(minilm_path: Path) -> None:
    count = count_parameters(local_listing(minilm_path), ["model.safetensors"])
    assert (count.parameters, count.basis) == (MINILM_PARAMETERS, "safetensors")
    assert count.stored_bytes == 4 * MINILM_PARAMETERS + 8 * 512  # + the int64 position_ids buffer


def test_config_estimate_is_close_for_bert(minilm_path: Path) -> None:
    config = json.loads((minilm_path / "config.json").read_text())
    assert estimate_from_config(config) == pytest.approx(MINILM_PARAMETERS, rel=0.01)


def test_config_estimate_for_a_llama_style_model() -> None:
    # Llama-2-7B: 6,738,415,616 parameters.
    config = {
        "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32, "num_attention_heads": 32,
        "num_key_value_heads": 32, "vocab_size": 32000, "hidden_act": "silu", "rope_theta": 10000.0,
        "tie_word_embeddings": False, "max_position_embeddings": 4096,
    }  # fmt: skip
    assert estimate_from_config(config) == pytest.approx(6_738_415_616, rel=0.01)


def test_config_estimate_needs_the_basic_sizes() -> None:
    assert estimate_from_config({"hidden_size": 8}) is None


def test_without_safetensors_the_config_is_used(tmp_path: Path, minilm_path: Path) -> None:
    (tmp_path / "config.json").write_text((minilm_path / "config.json").read_text())
    (tmp_path / "pytorch_model.bin").write_bytes(b"x" * 1000)
    count = count_parameters(local_listing(tmp_path), ["pytorch_model.bin"])
    assert count.basis == "config"
    assert count.parameters == pytest.approx(MINILM_PARAMETERS, rel=0.01)


def test_without_config_the_file_size_is_used(tmp_path: Path) -> None:
    (tmp_path / "pytorch_model.bin").write_bytes(b"x" * 4000)
    count = count_parameters(local_listing(tmp_path), ["pytorch_model.bin"])
    assert (count.parameters, count.basis) == (1000, "file-size")


def test_memory_per_dtype() -> None:
    assert memory_by_dtype(10) == {"float32": 40, "float16": 20, "bfloat16": 20}
    assert memory_by_dtype(None) == {}
