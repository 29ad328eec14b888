from __future__ import annotations

import pytest

from berth.errors import UnsupportedModel
from berth.runtimes.device import cuda_device_count, free_device_memory, resolve_device, resolve_dtype
from tests.tiny_models import load_runtime

torch = pytest.importorskip("torch")
has_cuda = torch.cuda.is_available()
gpu_only = pytest.mark.skipif(not has_cuda, reason="needs a CUDA GPU")
cpu_only = pytest.mark.skipif(has_cuda, reason="checks the behaviour without a GPU")


def test_cpu_is_always_cpu() -> None:
    assert resolve_device("cpu") == "cpu"


def test_auto_picks_cuda_only_when_a_gpu_is_visible() -> None:
    assert resolve_device("auto") == ("cuda" if has_cuda else "cpu")


@cpu_only
@pytest.mark.parametrize("device", ["cuda", "cuda:0", "cuda:1"])
def test_cuda_without_a_gpu_is_refused_with_the_fix(device: str) -> None:
    with pytest.raises(
        UnsupportedModel, match=f"device {device} requested but no CUDA GPU is visible; use device: cpu"
    ):
        resolve_device(device)


@gpu_only
def test_cuda_index_beyond_the_visible_gpus_is_refused() -> None:
    count = cuda_device_count()
    assert resolve_device("cuda:0") == "cuda:0"
    with pytest.raises(UnsupportedModel, match=f"only {count} CUDA"):
        resolve_device(f"cuda:{count}")


@pytest.mark.parametrize(
    ("spec_dtype", "device", "config_dtype", "expected"),
    [
        ("auto", "cpu", None, "float32"),
        ("auto", "cpu", "bfloat16", "float32"),
        ("auto", "cuda", None, "float16"),
        ("auto", "cuda", "float32", "float16"),
        ("float32", "cuda", None, "float32"),
        ("float16", "cpu", None, "float16"),
        ("bfloat16", "cpu", None, "bfloat16"),
    ],
)
def test_dtype(spec_dtype: str, device: str, config_dtype: str | None, expected: str) -> None:
    assert resolve_dtype(spec_dtype, device, config_dtype) == expected


def test_bfloat16_models_get_bfloat16_on_gpus_that_support_it() -> None:
    supported = has_cuda and torch.cuda.is_bf16_supported()
    assert resolve_dtype("auto", "cuda", "bfloat16") == ("bfloat16" if supported else "float16")


def test_free_device_memory_is_harmless_anywhere() -> None:
    free_device_memory("cpu")
    free_device_memory("cuda")


@gpu_only
def test_minilm_on_gpu_in_float16_matches_cpu(minilm_path, st_minilm) -> None:
    import numpy as np

    gpu = load_runtime(minilm_path, device="cuda")
    try:
        assert gpu.device == "cuda"
        texts = ["a cat sits on the mat", "GPUs make this fast"]
        for cpu_row, gpu_row in zip(st_minilm.predict(texts, {}), gpu.predict(texts, {}), strict=True):
            assert gpu_row.dtype == np.float32
            np.testing.assert_allclose(gpu_row, cpu_row, atol=5e-3)
    finally:
        gpu.close()
    assert torch.cuda.memory_allocated() < 50 * 2**20
