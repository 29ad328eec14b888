"""A snapshot of this host for `GET /system`, `berth top` and `berth check`.

CPU, RAM, disk (BERTH_HOME and the Hugging Face cache), GPUs through NVML, which runtimes the
installed packages support, and live CPU/RSS/GPU memory per worker process. Nothing here imports
torch or any ML library: packages are found through their metadata, and NVML is optional.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import platform
import shutil
import socket
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import psutil

import berth
from berth.api.types import (
    CPUInfo,
    DiskInfo,
    GPUInfo,
    MemoryInfo,
    PackageVersion,
    ProcessStats,
    ReplicaStats,
    RuntimeSupport,
    SystemInfo,
)

# Distributions each runtime needs, as the extras in pyproject.toml install them.
RUNTIME_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "transformers": ("torch", "transformers", "safetensors"),
    "sentence-transformers": ("torch", "transformers", "sentence-transformers"),
    "onnx": ("onnxruntime", "tokenizers"),
    "python": (),
    "forecasting": ("torch", "transformers", "chronos-forecasting"),  # time-series-forecasting's extra
    "llama-cpp": ("llama-cpp-python", "gguf"),  # GGUF models
}
PACKAGES = (
    *("torch", "transformers", "sentence-transformers", "safetensors", "tokenizers", "onnxruntime"),
    *("huggingface-hub", "nvidia-ml-py", "numpy"),
)
# A distribution can ship under another name (onnxruntime-gpu provides the `onnxruntime` module).
_ALTERNATIVES = {"onnxruntime": ("onnxruntime-gpu",)}


def snapshot(home: Path, replicas: Sequence[tuple[str, int, int | None, int]] = ()) -> SystemInfo:
    """The host now; `replicas` are (deployment, index, port, pid) of the workers to report on."""
    gpu_list, gpu_memory = _read_nvml()
    return SystemInfo(
        hostname=socket.gethostname(),
        platform=_fixed()[0],
        python_version=platform.python_version(),
        berth_version=berth.__version__,
        cpu=cpu_info(),
        memory=memory_info(),
        disks=disks(home),
        gpus=gpu_list,
        runtimes=runtime_support(),
        packages=[PackageVersion(name=name, version=package_version(name)) for name in PACKAGES],
        processes=[
            ReplicaStats(
                deployment=name, index=index, port=port, **process_stats(pid, gpu_memory).model_dump()
            )
            for name, index, port, pid in replicas
        ],
    )


def cpu_info() -> CPUInfo:
    global _cpu_primed
    # NOTE: interval=None compares with the previous call instead of sleeping; the first is meaningless.
    percent = psutil.cpu_percent(interval=None)
    primed, _cpu_primed = _cpu_primed, True
    return CPUInfo(
        logical_cores=_fixed()[1],
        physical_cores=_fixed()[2],
        percent=percent if primed else None,
        load_average=psutil.getloadavg(),
    )


def memory_info() -> MemoryInfo:
    mem = psutil.virtual_memory()
    return MemoryInfo(total=mem.total, available=mem.available, used=mem.used, percent=mem.percent)


def disks(home: Path) -> list[DiskInfo]:
    from berth.sources.hub import cache_dir  # NOTE: the sources package costs ~0.2 s to import

    return [_disk("berth_home", home), _disk("hf_cache", cache_dir())]


def gpus() -> list[GPUInfo]:
    """Every GPU NVML sees; empty without nvidia-ml-py, a driver or a GPU (never an error)."""
    return _read_nvml()[0]


def process_stats(pid: int, gpu_memory: dict[int, int] | None = None) -> ProcessStats:
    """CPU, RSS, threads and GPU memory (`gpu_memory`: by pid, as NVML lists it) of one process.

    cpu_percent is measured since the previous call for the same process, without sleeping.
    """
    gpu = (_read_nvml()[1] if gpu_memory is None else gpu_memory).get(pid)
    with _processes_lock:
        try:
            process, seen = _tracked(pid)
            with process.oneshot():
                if process.status() == psutil.STATUS_ZOMBIE:
                    return ProcessStats(pid=pid, alive=False)
                percent = process.cpu_percent(interval=None)  # also the baseline for the next call
                rss, threads = int(process.memory_info().rss), process.num_threads()
        except (psutil.NoSuchProcess, ValueError):  # ValueError: a negative pid
            return ProcessStats(pid=pid, alive=False)
        except psutil.AccessDenied:  # another user's process: alive, but not ours to measure
            return ProcessStats(pid=pid, alive=True)
    return ProcessStats(
        pid=pid,
        alive=True,
        cpu_percent=percent if seen else None,
        rss_bytes=rss,
        num_threads=threads,
        gpu_memory_bytes=gpu,
    )


def runtime_support() -> list[RuntimeSupport]:
    """Which runtimes the installed packages can run, and the pip command for each that cannot."""
    supports = []
    for runtime, needs in RUNTIME_REQUIREMENTS.items():
        missing = [name for name in needs if package_version(name) is None]  # cached: cheap
        hint = f"pip install 'modelberth[{runtime}]'" if missing else None
        supports.append(RuntimeSupport(runtime=runtime, available=not missing, missing=missing, hint=hint))
    return supports


@lru_cache(maxsize=64)
def package_version(distribution: str) -> str | None:
    """The installed version of a distribution (or its alternative build), without importing it."""
    for name in (distribution, *_ALTERNATIVES.get(distribution, ())):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


# (pid, create_time) → the Process whose last cpu_percent call is the baseline of the next one.
# Keyed by create_time too, so a reused pid starts afresh instead of inheriting a stranger's baseline.
_processes: dict[tuple[int, float], psutil.Process] = {}
_processes_lock = threading.Lock()
_cpu_primed = False


def _tracked(pid: int) -> tuple[psutil.Process, bool]:
    process = psutil.Process(pid)
    key = (pid, process.create_time())
    known = _processes.get(key)
    if known is not None:
        return known, True
    for old in [k for k, p in _processes.items() if not p.is_running()]:
        del _processes[old]
    _processes[key] = process
    return process, False


@lru_cache(maxsize=1)
def _nvml() -> ModuleType | None:
    # NOTE: NVML stays initialised for the life of the process; `berth top` asks every second and
    # nvmlInit costs far more than a query. The failure (no library, no driver) is cached too.
    if importlib.util.find_spec("pynvml") is None:
        return None
    import pynvml

    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return None
    return cast(ModuleType, pynvml)


def _read_nvml() -> tuple[list[GPUInfo], dict[int, int]]:
    """The GPUs, and GPU memory per pid summed over them from NVML's running-process lists."""
    nvml = _nvml()
    if nvml is None:
        return [], {}
    found: list[GPUInfo] = []
    usage: dict[int, int] = {}
    try:
        driver, cuda = str(nvml.nvmlSystemGetDriverVersion()), _optional(nvml, "SystemGetCudaDriverVersion")
        cuda_version = None if cuda is None else f"{cuda // 1000}.{cuda % 1000 // 10}"  # 12040 → 12.4
        for index in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            rates = _optional(nvml, "DeviceGetUtilizationRates", handle)
            found.append(
                GPUInfo(
                    index=index,
                    name=str(nvml.nvmlDeviceGetName(handle)),
                    memory_total=int(memory.total),
                    memory_used=int(memory.used),
                    utilization=None if rates is None else float(rates.gpu),
                    driver_version=driver,
                    cuda_version=cuda_version,
                )
            )
            listed = [
                _optional(nvml, f"DeviceGet{kind}RunningProcesses", handle)
                for kind in ("Compute", "Graphics")
            ]
            for process in [p for processes in listed for p in processes or ()]:
                # usedGpuMemory is None where the driver hides it (e.g. some containers).
                if process.usedGpuMemory is not None:
                    usage[process.pid] = usage.get(process.pid, 0) + int(process.usedGpuMemory)
    except nvml.NVMLError:
        return [], {}
    return found, usage


def _optional(nvml: ModuleType, name: str, *args: object) -> Any:
    """An NVML query that some drivers and GPUs do not support, as None there."""
    try:
        return getattr(nvml, "nvml" + name)(*args)
    except nvml.NVMLError:
        return None


def _disk(name: str, path: Path) -> DiskInfo:
    # A folder not made yet lives on the file system of its nearest existing parent.
    existing = next((p for p in (path, *path.parents) if p.exists()), Path.cwd())
    usage = shutil.disk_usage(existing)
    return DiskInfo(name=name, path=str(path), total=usage.total, free=usage.free)


@lru_cache(maxsize=1)
def _fixed() -> tuple[str, int, int | None]:
    # platform() reads the interpreter binary to find libc, cpu_count() reads /sys: worth doing once
    cores: int | None = psutil.cpu_count(logical=False)
    return platform.platform(), psutil.cpu_count(logical=True) or 1, cores
