"""Before downloading anything: how big is the model, and does it fit this host and the spec's limits?

Sizes come from the repo listing (or the folder), parameters from safetensors headers (byte ranges on
the hub, never the weights), else config.json, else file sizes; the task from config.json (a model of
no task berth serves is refused here, before its download), and an image or speech model's working
memory per batch from its config and processor files (`berth.sources.activations`). A model cached
on disk is checked without any request to the hub, so preflight works offline.

A GGUF model is measured from its file's header (`berth.sources.gguf_header`): the parameters are its
tensors' elements, the weights take the file's size in memory (llama.cpp maps it as stored), and the
working memory is the KV cache at `generation.max_batch_tokens`. Before a hub GGUF is downloaded, only
the listing's file size is known, and the parameters are estimated from the quantization its name says.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from berth import devices
from berth.errors import DownloadFailed, ModelNotFound, ModelTooLarge
from berth.sources import host, hub, tasks
from berth.sources.activations import activation_bytes, kv_cache_bytes
from berth.sources.gguf_header import parameters_from_size, quantization_from_name, read_gguf
from berth.sources.listing import Listing, local_listing
from berth.sources.params import BYTES_PER_PARAMETER, count_parameters, memory_by_dtype
from berth.sources.policy import Selection, select_files
from berth.sources.types import PreflightReport, ResolvedSource, SourceKind
from berth.spec import DeploymentSpec, DType, RuntimeName, Task

GB = 1_000_000_000  # limits are in decimal gigabytes, as the hub shows model sizes


def preflight(
    spec: DeploymentSpec,
    source: ResolvedSource,
    *,
    device: str | None = None,
    free_memory_bytes: int | None = None,
    gpus: devices.HostGpus | None = None,
) -> PreflightReport:
    """Measure the model and say whether it fits; `check_preflight` turns a misfit into an error.

    `device` defaults to `spec.device`; device and dtype follow `berth.devices.resolve` on `gpus`, the
    host as NVML sees it unless given (`auto`: CUDA when NVML sees a GPU). `free_memory_bytes`
    defaults to the available RAM (cpu) or the GPU's free memory (cuda, when NVML is installed).
    Raises `PolicyRefused` for pickle-only or remote-code models the spec does not allow.
    """
    wanted = device or spec.device
    if gpus is None:
        gpus = devices.CPU_ONLY if wanted == "cpu" else devices.nvml_view()
    device = devices.resolve_device(wanted, gpus)
    if source.kind is SourceKind.PYTHON:
        dtype = devices.resolve_dtype(spec.dtype, device, gpus)
        return PreflightReport(parameters=None, download_bytes=0, dtype=dtype, device=device)
    if source.kind is SourceKind.ONNX:
        return _onnx(spec, source, device, free_memory_bytes)
    if source.kind is SourceKind.GGUF:
        if source.path is None or not source.path.is_file():
            raise ModelNotFound(f"GGUF file {str(source.path)!r} does not exist; check model.source")
        folder, name = source.path.parent, source.path.name
        listing = local_listing(folder, sizes={name: source.path.stat().st_size})
        return _measure_gguf(spec, listing, Selection((name,), (name,)), folder, device, free_memory_bytes)
    if source.kind is SourceKind.LOCAL:
        if source.path is None or not source.path.is_dir():
            raise ModelNotFound(f"model folder {str(source.path)!r} does not exist; check model.source")
        listing = local_listing(source.path)
        selection = select_files(listing, spec)
        if selection.gguf is not None:
            return _measure_gguf(spec, listing, selection, source.path, device, free_memory_bytes)
        dtype = _load_dtype(spec, listing, device, gpus)
        return _measure(spec, listing, selection, device, dtype, free_memory_bytes)
    return _hub(spec, source, device, gpus, free_memory_bytes)


def check_preflight(report: PreflightReport) -> None:
    """Raise `ModelTooLarge` with every reason (each says what to do) when the model does not fit."""
    if not report.fits:
        raise ModelTooLarge(" Also, ".join(report.reasons))


def _hub(
    spec: DeploymentSpec,
    source: ResolvedSource,
    device: str,
    gpus: devices.HostGpus,
    free_memory_bytes: int | None,
) -> PreflightReport:
    repo_id, revision = source.repo_id or source.reference, source.revision or "main"
    cached = hub.cached_repo(repo_id, revision)
    if cached is not None:
        selection = select_files(cached.listing, spec)
        if not cached.missing(selection.files):
            if selection.gguf is not None:
                return _measure_gguf(
                    spec, cached.listing, selection, cached.snapshot, device, free_memory_bytes
                )
            dtype = _load_dtype(spec, cached.listing, device, gpus)
            return _measure(spec, cached.listing, selection, device, dtype, free_memory_bytes)
    if hub.offline():
        raise DownloadFailed(hub.offline_message(repo_id))
    repo = hub.remote_repo(repo_id, revision)
    selection = select_files(repo.listing, spec)
    to_fetch = repo.listing.size_of(repo.missing(selection.files))
    if selection.gguf is not None:
        on_disk = repo.snapshot if not repo.missing([selection.gguf]) else None
        report = _measure_gguf(
            spec, repo.listing, selection, on_disk, device, free_memory_bytes, to_fetch=to_fetch
        )
    else:
        dtype = _load_dtype(spec, repo.listing, device, gpus)
        report = _measure(spec, repo.listing, selection, device, dtype, free_memory_bytes, to_fetch=to_fetch)
    free = host.free_disk(hub.cache_dir())
    if to_fetch > free:
        reason = (
            f"the model needs {_size(to_fetch)} of disk in the Hugging Face cache ({hub.cache_dir()}) "
            f"but only {_size(free)} is free; free some disk space or point HF_HOME at a bigger disk."
        )
        return replace(report, fits=False, reasons=(*report.reasons, reason))
    return report


def _measure(
    spec: DeploymentSpec,
    listing: Listing,
    selection: Selection,
    device: str,
    dtype: str,
    free_memory_bytes: int | None,
    *,
    to_fetch: int = 0,
) -> PreflightReport:
    task = tasks.check_listing_task(listing, spec) or (None if spec.task is Task.AUTO else spec.task)
    count = count_parameters(listing, selection.weights)
    memory = memory_by_dtype(count.parameters)
    download = listing.size_of(selection.files)
    reasons = _limit_reasons(spec, max(download, count.stored_bytes or 0), memory.get(dtype), dtype, device)
    reasons += _free_memory_reasons(memory.get(dtype), dtype, device, free_memory_bytes)
    return PreflightReport(
        parameters=count.parameters,
        download_bytes=download,
        memory_bytes=memory,
        dtype=dtype,
        device=device,
        fits=not reasons,
        reasons=reasons,
        basis=count.basis,
        cached=to_fetch == 0,
        task=None if task is None else task.value,
        activation_bytes=activation_bytes(listing, spec, task, BYTES_PER_PARAMETER.get(dtype, 4)),
    )


def _measure_gguf(
    spec: DeploymentSpec,
    listing: Listing,
    selection: Selection,
    folder: Path | None,
    device: str,
    free_memory_bytes: int | None,
    *,
    to_fetch: int = 0,
) -> PreflightReport:
    """A GGUF model from its header when the file is in `folder`, else from the listing's size."""
    gguf = selection.gguf or selection.weights[0]
    size = listing.sizes.get(gguf, 0)
    task: Task | None = None if spec.task is Task.AUTO else spec.task
    if folder is not None and (folder / gguf).is_file():
        info = read_gguf(folder / gguf)
        task = tasks.gguf_task(info) if task is None else task
        parameters = info.parameters or parameters_from_size(size, info.quantization)
        quantization, per_token = info.quantization, info.kv_bytes_per_token
        basis = "gguf" if info.header_read else "file-size"
    else:
        quantization = quantization_from_name(gguf)
        parameters, per_token, basis = parameters_from_size(size, quantization), None, "file-size"
    # NOTE: llama.cpp keeps the weights as stored: the file's size is their memory whatever the device
    dtype = quantization or "gguf"
    reasons = _limit_reasons(spec, size, size, dtype, device)
    reasons += _free_memory_reasons(size, dtype, device, free_memory_bytes)
    return PreflightReport(
        parameters=parameters,
        download_bytes=listing.size_of(selection.files),
        memory_bytes={dtype: size},
        dtype=dtype,
        device=device,
        fits=not reasons,
        reasons=reasons,
        basis=basis,
        cached=to_fetch == 0,
        task=(task or Task.TEXT_GENERATION).value,
        activation_bytes=None if per_token is None else kv_cache_bytes(spec, per_token),
        runtime=RuntimeName.LLAMA_CPP.value,
    )


def _onnx(
    spec: DeploymentSpec, source: ResolvedSource, device: str, free_memory_bytes: int | None
) -> PreflightReport:
    path = source.path
    if path is None or not path.is_file():
        raise ModelNotFound(f"ONNX file {str(path)!r} does not exist; check model.source")
    # External weights (model.onnx_data / model.onnx.data) sit beside the graph.
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
    parameters = size // 4  # ONNX graphs are loaded as stored; float32 is the common case
    memory = memory_by_dtype(parameters)
    reasons = _limit_reasons(spec, size, size, "float32", device)
    reasons += _free_memory_reasons(size, "float32", device, free_memory_bytes)
    return PreflightReport(
        parameters=parameters,
        download_bytes=size,
        memory_bytes=memory,
        dtype="float32",
        device=device,
        fits=not reasons,
        reasons=reasons,
        basis="file-size",
        cached=True,
    )


def _limit_reasons(
    spec: DeploymentSpec, size: int, memory: int | None, dtype: str, device: str
) -> tuple[str, ...]:
    reasons = []
    max_size = spec.limits.max_model_size_gb
    if size > max_size * GB:
        reasons.append(
            f"the model is {_size(size)}, over limits.max_model_size_gb ({max_size:g} GB); "
            "raise limits.max_model_size_gb or pick a smaller model."
        )
    max_memory = spec.limits.max_memory_gb
    if memory is not None and memory > max_memory * GB:
        smaller = " a smaller dtype (float16) or" if dtype == "float32" else ""
        reasons.append(
            f"the model's weights need {_size(memory)} of memory in {dtype}, over limits.max_memory_gb "
            f"({max_memory:g} GB); raise limits.max_memory_gb, or pick{smaller} a smaller model."
        )
    return tuple(reasons)


def _free_memory_reasons(memory: int | None, dtype: str, device: str, free: int | None) -> tuple[str, ...]:
    if free is None:
        free = host.free_memory(device)
    if memory is None or free is None or memory <= free:
        return ()
    smaller = " a smaller dtype (float16) or" if dtype == "float32" else ""
    return (
        f"the model's weights need {_size(memory)} in {dtype} but only {_size(free)} is free on {device}; "
        f"free some memory, or pick{smaller} a smaller model.",
    )


def _load_dtype(spec: DeploymentSpec, listing: Listing, device: str, gpus: devices.HostGpus) -> str:
    """`berth.devices.resolve_dtype` with the config's declared dtype, read only when it can matter."""
    declared = None
    # NOTE: only `auto` on CUDA looks at the config (bfloat16 models); elsewhere no file is read.
    if spec.dtype is DType.AUTO and device.startswith("cuda") and "config.json" in listing.sizes:
        declared = devices.config_dtype(listing.read_json("config.json"))
    return devices.resolve_dtype(spec.dtype, device, gpus, declared)


def _size(n: int) -> str:
    return f"{n / GB:.1f} GB" if n >= GB // 10 else f"{n / 1_000_000:.1f} MB"
