"""How much memory, GPU memory, CPU and cache disk one replica of a deployment needs.

Weights, and an image or speech model's activations for one full batch, come from preflight when it
can answer without the network (a local folder, an ONNX file, or
a hub model already in the Hugging Face cache); otherwise the spec's own ceiling,
`limits.max_memory_gb`, stands in for them. Everything else is headroom on top of the weights.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel

from berth import devices
from berth.errors import BerthError
from berth.sources import hub
from berth.sources.preflight import preflight
from berth.sources.resolve import resolve_source
from berth.sources.types import SourceKind
from berth.spec import DeploymentSpec, RuntimeName

GB = 1_000_000_000
GIB = 1024**3
MIB = 1024**2
# A worker with torch and transformers imported holds ~400 MB before any weights (a bare process with
# MiniLM loaded holds ~445 MB RSS); tokenizer, batch buffers and activations grow with the model (~20 %).
RUNTIME_OVERHEAD_BYTES = 512 * MIB
ACTIVATION_FRACTION = 0.2
# CUDA workers keep the CUDA libraries in host memory (~1 GB) and stage weights there while loading.
CUDA_HOST_OVERHEAD_BYTES = 3 * GIB // 2
# On the GPU: the CUDA context (~0.5-1 GB) plus activations and, for generation, the KV cache.
CUDA_CONTEXT_BYTES = GIB
GPU_WORKING_FRACTION = 0.2
MEMORY_LIMIT_FACTOR = 1.5  # the limit leaves room for a burst of large batches before an OOM kill
# NOTE: torch uses every core it is given and a 2-core worker reaches ~1.0x of raw model throughput
# (docs/decisions.md); fewer cores cost far more than they save.
CPU_REQUEST = 2
CPU_LIMIT = 4
MIN_CACHE_BYTES = 5 * GIB


class Sizing(BaseModel):
    """What one replica needs; `basis` says whether the weights were measured or taken from limits."""

    name: str
    gpu: bool
    dtype: str
    basis: Literal["preflight", "limits"]
    weights_bytes: int
    ram_bytes: int
    ram_limit_bytes: int
    gpu_memory_bytes: int  # 0 on CPU
    cpus: int
    cpu_limit: int
    cache_bytes: int  # the model cache volume


def uses_gpu(spec: DeploymentSpec) -> bool:
    """Exports treat `auto` as CPU: the target is another machine, so only an explicit cuda asks for a GPU."""
    return devices.resolve_device(spec.device, devices.UNSEEN_HOST).startswith("cuda")


def load_dtype(spec: DeploymentSpec) -> str:
    """The dtype by `berth.devices`' rule on a target never seen (bfloat16 support unknown: float16)."""
    return devices.resolve(spec.device, spec.dtype, devices.UNSEEN_HOST).dtype


def size_deployment(spec: DeploymentSpec) -> Sizing:
    """Size one replica of `spec`, never touching the network."""
    gpu = uses_gpu(spec)
    dtype = load_dtype(spec)
    measured = _measured(spec, dtype)
    activations = 0
    if measured is not None:
        weights, download, activations, dtype = measured
        basis: Literal["preflight", "limits"] = "preflight"
    else:
        weights = int(spec.limits.max_memory_gb * GB)
        download = int(spec.limits.max_model_size_gb * GB)
        basis = "limits"
    if gpu:
        ram = CUDA_HOST_OVERHEAD_BYTES + weights
        working = max(math.ceil(weights * GPU_WORKING_FRACTION), activations)
        gpu_memory = CUDA_CONTEXT_BYTES + weights + working
    else:
        # NOTE: an image or speech model's batch can need more than its weights (preflight's estimate)
        ram = RUNTIME_OVERHEAD_BYTES + weights + max(math.ceil(weights * ACTIVATION_FRACTION), activations)
        gpu_memory = 0
    ram = _round_up(ram, 64 * MIB)
    return Sizing(
        name=spec.name,
        gpu=gpu,
        dtype=dtype,
        basis=basis,
        weights_bytes=weights,
        ram_bytes=ram,
        ram_limit_bytes=_round_up(math.ceil(ram * MEMORY_LIMIT_FACTOR), 64 * MIB),
        gpu_memory_bytes=_round_up(gpu_memory, MIB),
        cpus=CPU_REQUEST,
        cpu_limit=CPU_LIMIT,
        cache_bytes=max(MIN_CACHE_BYTES, _round_up(2 * download, GIB)),  # room for one revision update
    )


def _measured(spec: DeploymentSpec, dtype: str) -> tuple[int, int, int, str] | None:
    """(weight bytes in `dtype`, download bytes, one batch's activations, the dtype) from preflight, or
    None when it would need the hub. A GGUF model's weights are as stored, in its own quantization."""
    try:
        source = resolve_source(spec.model)
        if source.kind is SourceKind.PYTHON:
            return None
        if (
            source.kind is SourceKind.HUB
            and hub.cached_repo(source.repo_id or "", spec.model.revision) is None
        ):
            return None
        device = "cuda" if uses_gpu(spec) else "cpu"
        # NOTE: a huge free-memory figure keeps this host's free RAM out of a sizing for another machine.
        report = preflight(spec, source, device=device, free_memory_bytes=2**62, gpus=devices.UNSEEN_HOST)
    except BerthError:
        return None
    if report.runtime == RuntimeName.LLAMA_CPP:
        dtype = report.dtype
    weights = report.memory_bytes.get(dtype)
    if weights is None:
        return None
    return weights, report.download_bytes or weights, report.activation_bytes or 0, dtype


def _round_up(value: int, step: int) -> int:
    return -(-value // step) * step


def mebibytes(value: int) -> str:
    """A Kubernetes/Compose memory quantity, rounded up to whole MiB: `1536Mi`."""
    return f"{-(-value // MIB)}Mi"


def gibibytes(value: int) -> str:
    return f"{-(-value // GIB)}Gi"
