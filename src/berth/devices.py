"""Which device and dtype a deployment loads on: one rule, whoever asks and however it sees the GPUs.

The control plane sees GPUs through NVML (no torch there), the worker through torch, and an export
sizes a machine it has never seen; each builds a `HostGpus` view and calls `resolve`, so preflight,
export sizing and the worker cannot give different answers for the same host. The rule:

- device `auto`: `cuda` when the view has a GPU, else `cpu`. `cpu` is always `cpu`.
- device `cuda` / `cuda:N`: kept as written. A view that can tell (torch) refuses it when no GPU, or
  fewer than N+1, are visible; a view that only hints (NVML, which may be missing or see GPUs that
  CUDA cannot use) leaves that to the worker.
- dtype `auto`: `float32` on the CPU; on CUDA `bfloat16` when the model's config declares bfloat16
  and the GPU supports it, else `float16`.
- an explicit dtype is kept; `bfloat16` on a GPU that a checking view knows lacks it is refused.

torch and pynvml are imported inside the functions that build their views, never at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from berth.errors import UnsupportedModel
from berth.spec import DType

_NO_GPU = "device {device} requested but no CUDA GPU is visible; use device: cpu"
BF16_MIN_COMPUTE_CAPABILITY = 8  # Ampere and later, as torch.cuda.is_bf16_supported decides


@dataclass(frozen=True)
class HostGpus:
    """The CUDA GPUs one process can use, as one view sees them.

    `checked`: whether the view can tell for sure (torch in the worker) and so refuses a device or
    dtype the host cannot give, or only hints (NVML in the control plane, an export's target).
    """

    count: int
    bf16: bool = False  # whether they support bfloat16
    checked: bool = True


CPU_ONLY = HostGpus(count=0)
# An export's target, a machine never seen: `auto` means CPU, an explicit cuda is taken as given.
UNSEEN_HOST = HostGpus(count=0, checked=False)


@dataclass(frozen=True)
class Placement:
    device: str  # cpu, cuda or cuda:N
    dtype: str  # float32, float16 or bfloat16


def resolve(
    spec_device: str, spec_dtype: DType | str, gpus: HostGpus, config_dtype: str | None = None
) -> Placement:
    """The device and dtype a deployment loads in on a host seen as `gpus` (the rule: module docstring).

    `config_dtype` is what the model's config.json declares (`dtype` or `torch_dtype`), if anything.

    >>> resolve("auto", "auto", CPU_ONLY)
    Placement(device='cpu', dtype='float32')
    >>> resolve("auto", "auto", HostGpus(count=1, bf16=True), "bfloat16")
    Placement(device='cuda', dtype='bfloat16')
    """
    device = resolve_device(spec_device, gpus)
    return Placement(device, resolve_dtype(spec_dtype, device, gpus, config_dtype))


def resolve_device(spec_device: str, gpus: HostGpus) -> str:
    """`resolve`'s device half, for callers that pick the device before the model's config is read."""
    if spec_device == "cpu":
        return "cpu"
    if spec_device == "auto":
        return "cuda" if gpus.count else "cpu"
    if not gpus.checked:
        return spec_device
    if gpus.count == 0:
        raise UnsupportedModel(_NO_GPU.format(device=spec_device))
    index = int(spec_device.partition(":")[2] or 0)
    if index >= gpus.count:
        plural = "GPU is" if gpus.count == 1 else "GPUs are"
        raise UnsupportedModel(
            f"device {spec_device} requested but only {gpus.count} CUDA {plural} visible; "
            f"use cuda:0 to cuda:{gpus.count - 1}"
        )
    return spec_device


def resolve_dtype(
    spec_dtype: DType | str, device: str, gpus: HostGpus, config_dtype: str | None = None
) -> str:
    """`resolve`'s dtype half, for a device already resolved."""
    dtype = DType(spec_dtype)
    on_cuda = device.startswith("cuda")
    if dtype is DType.AUTO:
        if not on_cuda:
            return DType.FLOAT32.value
        if config_dtype == DType.BFLOAT16.value and gpus.bf16:
            return DType.BFLOAT16.value
        return DType.FLOAT16.value
    if dtype is DType.BFLOAT16 and on_cuda and gpus.checked and not gpus.bf16:
        raise UnsupportedModel(
            f"dtype bfloat16 requested but the GPU of {device} does not support it; use float16"
        )
    return dtype.value


def config_dtype(config: dict[str, Any] | None) -> str | None:
    """The dtype a model's config.json declares (`dtype` in transformers 5, `torch_dtype` before)."""
    if not isinstance(config, dict):
        return None
    value = config.get("dtype", config.get("torch_dtype"))
    return value if isinstance(value, str) else None


def torch_view(*, with_bf16: bool = True) -> HostGpus:
    """The GPUs as this process's torch sees them (onnxruntime's providers when torch is absent).

    `with_bf16=False` skips asking the GPU about bfloat16 (that initialises CUDA) when only the
    device is wanted.
    """
    try:
        import torch
    except ImportError:
        try:
            import onnxruntime
        except ImportError:
            return CPU_ONLY
        return HostGpus(count=1 if "CUDAExecutionProvider" in onnxruntime.get_available_providers() else 0)
    if not torch.cuda.is_available():
        return CPU_ONLY
    count = int(torch.cuda.device_count())
    return HostGpus(count=count, bf16=with_bf16 and count > 0 and bool(torch.cuda.is_bf16_supported()))


def nvml_view() -> HostGpus:
    """The GPUs as NVML sees them, without torch: a hint (`checked=False`), zero when NVML is absent."""
    try:
        import pynvml
    except ImportError:
        return UNSEEN_HOST
    try:
        pynvml.nvmlInit()
        try:
            count = int(pynvml.nvmlDeviceGetCount())
            bf16 = False
            if count:
                handle = pynvml.nvmlDeviceGetHandleByIndex(0)
                major, _ = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
                bf16 = int(major) >= BF16_MIN_COMPUTE_CAPABILITY
            return HostGpus(count=count, bf16=bf16, checked=False)
        finally:
            pynvml.nvmlShutdown()
    except pynvml.NVMLError:
        return UNSEEN_HOST
