"""Which device and dtype a deployment loads on, and giving device memory back.

torch is imported inside the functions only: the control plane and the python runtime may run
without it. Without torch, CUDA is seen through onnxruntime's providers instead.
"""

from __future__ import annotations

import gc
import sys

from berth.errors import UnsupportedModel
from berth.spec import DType

_NO_GPU = "device {device} requested but no CUDA GPU is visible; use device: cpu"


def cuda_device_count() -> int:
    """How many CUDA GPUs this process can use (0 when neither torch nor onnxruntime sees one)."""
    try:
        import torch
    except ImportError:
        try:
            import onnxruntime
        except ImportError:
            return 0
        return 1 if "CUDAExecutionProvider" in onnxruntime.get_available_providers() else 0
    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0


def resolve_device(spec_device: str) -> str:
    """Turn the spec's `device` into a concrete one: `cpu`, `cuda` or `cuda:N`.

    >>> resolve_device("cpu")
    'cpu'
    """
    if spec_device == "cpu":
        return "cpu"
    count = cuda_device_count()
    if spec_device == "auto":
        return "cuda" if count else "cpu"
    if count == 0:
        raise UnsupportedModel(_NO_GPU.format(device=spec_device))
    index = int(spec_device.partition(":")[2] or 0)
    if index >= count:
        plural = "GPU is" if count == 1 else "GPUs are"
        raise UnsupportedModel(
            f"device {spec_device} requested but only {count} CUDA {plural} visible; "
            f"use cuda:0 to cuda:{count - 1}"
        )
    return spec_device


def resolve_dtype(spec_dtype: DType | str, device: str, config_dtype: str | None = None) -> str:
    """The dtype to load weights in: float32 on CPU, float16 on CUDA, bfloat16 where the model asks.

    `config_dtype` is what the model's config.json declares (`dtype` or `torch_dtype`), if anything.

    >>> resolve_dtype("auto", "cpu")
    'float32'
    """
    dtype = DType(spec_dtype)
    on_cuda = device.startswith("cuda")
    if dtype is DType.AUTO:
        if not on_cuda:
            return DType.FLOAT32.value
        if config_dtype == DType.BFLOAT16.value and _bf16_supported():
            return DType.BFLOAT16.value
        return DType.FLOAT16.value
    if dtype is DType.BFLOAT16 and on_cuda and not _bf16_supported():
        raise UnsupportedModel(
            f"dtype bfloat16 requested but the GPU of {device} does not support it; use float16"
        )
    return dtype.value


def free_device_memory(device: str) -> None:
    """Collect garbage and hand cached CUDA blocks back to the driver after a model is dropped."""
    gc.collect()
    torch = sys.modules.get("torch")  # NOTE: never import torch just to free memory it never held
    if torch is not None and device.startswith("cuda") and torch.cuda.is_available():
        torch.cuda.empty_cache()


def _bf16_supported() -> bool:
    import torch

    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
