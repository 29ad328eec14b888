"""What this host has free for a model: RAM, GPU memory (through NVML, when installed) and disk.

Which device `auto` means is `berth.devices`' rule (its NVML view), not this module's.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def free_memory(device: str) -> int | None:
    """Bytes free for weights on `device`; None when it cannot be told (CUDA without NVML)."""
    if device.startswith("cuda"):
        _, _, index = device.partition(":")
        return gpu_free_memory(int(index or 0))
    import psutil

    return int(psutil.virtual_memory().available)


def gpu_free_memory(index: int) -> int | None:
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        try:
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            return int(pynvml.nvmlDeviceGetMemoryInfo(handle).free)
        finally:
            pynvml.nvmlShutdown()
    except pynvml.NVMLError:
        return None


def free_disk(path: Path) -> int:
    """Free bytes on the file system that holds `path` (or would, once its folders are made)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return shutil.disk_usage(candidate).free
    return shutil.disk_usage(Path.cwd()).free
