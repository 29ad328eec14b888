"""The worker's view of `berth.devices`' rule (torch's), and giving device memory back.

torch is imported inside the functions only: the control plane and the python runtime may run
without it. Without torch, CUDA is seen through onnxruntime's providers instead.
"""

from __future__ import annotations

import gc
import sys

from berth import devices
from berth.spec import DType


def cuda_device_count() -> int:
    """How many CUDA GPUs this process can use (0 when neither torch nor onnxruntime sees one)."""
    return devices.torch_view(with_bf16=False).count


def resolve_device(spec_device: str, gpus: devices.HostGpus | None = None) -> str:
    """Turn the spec's `device` into a concrete one: `cpu`, `cuda` or `cuda:N` (`gpus`: torch's view).

    >>> resolve_device("cpu")
    'cpu'
    """
    if spec_device == "cpu":
        return "cpu"  # NOTE: without asking torch, which the python runtime may not have
    return devices.resolve_device(spec_device, gpus or devices.torch_view(with_bf16=False))


def resolve_dtype(
    spec_dtype: DType | str,
    device: str,
    config_dtype: str | None = None,
    gpus: devices.HostGpus | None = None,
) -> str:
    """The dtype to load weights in: float32 on CPU, float16 on CUDA, bfloat16 where the model asks.

    `config_dtype` is what the model's config.json declares (`dtype` or `torch_dtype`), if anything.

    >>> resolve_dtype("auto", "cpu")
    'float32'
    """
    if gpus is None:
        # NOTE: on the CPU the GPUs do not matter, and torch is not imported to learn about them.
        gpus = devices.torch_view() if device.startswith("cuda") else devices.CPU_ONLY
    return devices.resolve_dtype(spec_dtype, device, gpus, config_dtype)


def free_device_memory(device: str) -> None:
    """Collect garbage and hand cached CUDA blocks back to the driver after a model is dropped."""
    gc.collect()
    torch = sys.modules.get("torch")  # NOTE: never import torch just to free memory it never held
    if torch is not None and device.startswith("cuda") and torch.cuda.is_available():
        torch.cuda.empty_cache()
