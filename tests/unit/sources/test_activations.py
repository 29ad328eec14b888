from __future__ import annotations

from pathlib import Path
from typing import Any

from berth.sources.activations import activation_bytes
from berth.sources.listing import local_listing
from berth.spec import Task
from tests.unit.sources.conftest import make_spec, write_json


def folder_with(tmp_path: Path, config: dict[str, Any], processor: dict[str, Any] | None = None) -> Path:
    write_json(tmp_path / "config.json", config)
    if processor is not None:
        write_json(tmp_path / "preprocessor_config.json", processor)
    return tmp_path


def estimate(folder: Path, task: Task | None, batch: int = 32) -> int | None:
    spec = make_spec(str(folder), batching={"max_batch_size": batch})
    return activation_bytes(local_listing(folder), spec, task)


def test_a_vision_transformer_grows_with_its_patches_and_the_batch(tmp_path: Path) -> None:
    config = {"model_type": "vit", "hidden_size": 768, "intermediate_size": 3072, "num_attention_heads": 12,
              "patch_size": 16, "image_size": 224}  # fmt: skip
    folder = folder_with(tmp_path, config, {"size": {"height": 224, "width": 224}})
    tokens = 14 * 14 + 1
    one = 4 * tokens * (4 * 768 + 3072 + 12 * tokens)
    assert estimate(folder, Task.IMAGE_CLASSIFICATION, batch=1) == one
    assert estimate(folder, Task.IMAGE_CLASSIFICATION, batch=32) == 32 * one


def test_a_detector_at_800_by_1333_needs_gigabytes_for_a_full_batch(tmp_path: Path) -> None:
    folder = folder_with(
        tmp_path,
        {"model_type": "detr", "d_model": 256},
        {"size": {"shortest_edge": 800, "longest_edge": 1333}},
    )
    per_image = estimate(folder, Task.OBJECT_DETECTION, batch=1)
    assert per_image == 800 * 1333 * 128
    assert (estimate(folder, Task.OBJECT_DETECTION, batch=32) or 0) > 4 * 10**9


def test_speech_models_are_sized_for_a_thirty_second_clip(tmp_path: Path) -> None:
    whisper_config = {"model_type": "whisper", "d_model": 512, "encoder_ffn_dim": 2048,
                      "encoder_attention_heads": 8, "max_source_positions": 1500}  # fmt: skip
    whisper = folder_with(tmp_path / "whisper", whisper_config)
    assert estimate(whisper, Task.AUTOMATIC_SPEECH_RECOGNITION, batch=1) == 4 * 1500 * (
        4 * 512 + 2048 + 8 * 1500
    )
    ctc = folder_with(tmp_path / "ctc", {"model_type": "wav2vec2", "hidden_size": 768})
    assert (estimate(ctc, Task.AUTOMATIC_SPEECH_RECOGNITION, batch=1) or 0) > 30 * 16_000 // 5 * 512 * 4


def test_a_generation_model_is_sized_for_its_kv_cache_budget(tmp_path: Path) -> None:
    llama_8b = {"model_type": "llama", "num_hidden_layers": 32, "hidden_size": 4096,
                "num_attention_heads": 32, "num_key_value_heads": 8}  # fmt: skip
    folder = folder_with(tmp_path, llama_8b)
    spec = make_spec(str(folder), generation={"max_batch_tokens": 8192})
    # a key and a value, 32 layers, 8 KV heads of 128, two bytes each: 128 KiB a token
    assert activation_bytes(local_listing(folder), spec, Task.TEXT_GENERATION, 2) == 8192 * 131_072
    gpt2 = folder_with(tmp_path / "gpt2", {"model_type": "gpt2", "n_layer": 2, "n_embd": 32, "n_head": 2})
    assert activation_bytes(local_listing(gpt2), make_spec(str(gpt2)), Task.TEXT_GENERATION) == (
        16_384 * 2 * 2 * 32 * 4
    )


def test_text_tasks_and_unreadable_configs_have_no_estimate(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, {"model_type": "bert", "hidden_size": 384})
    assert estimate(folder, Task.FEATURE_EXTRACTION) is None
    assert estimate(folder, None) is None
    (folder / "config.json").write_text("not json")
    assert estimate(folder, Task.IMAGE_CLASSIFICATION) is None


def test_exports_size_a_detector_for_its_batch_not_just_its_weights(tmp_path: Path) -> None:
    from berth.exporters.sizing import MIB, RUNTIME_OVERHEAD_BYTES, size_deployment
    from tests.unit.sources.conftest import write_safetensors

    folder = folder_with(
        tmp_path,
        {"architectures": ["DetrForObjectDetection"], "model_type": "detr"},
        {"size": {"shortest_edge": 800, "longest_edge": 1333}},
    )
    write_safetensors(folder / "model.safetensors", {"dense": ("F32", [64, 64])})
    small = size_deployment(make_spec(str(folder), batching={"max_batch_size": 1}))
    full = size_deployment(make_spec(str(folder), batching={"max_batch_size": 32}))
    assert small.ram_bytes >= RUNTIME_OVERHEAD_BYTES + 800 * 1333 * 128
    assert full.ram_bytes - small.ram_bytes >= 31 * 800 * 1333 * 128 - 64 * MIB
