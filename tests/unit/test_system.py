"""The host snapshot: real calls on this machine, real child processes, and a fake NVML for GPUs."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from berth import system
from berth.api.types import SystemInfo
from berth.system import process_stats, snapshot

no_nvidia_driver = pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this host has a GPU")


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    """A busy child process, killed (and reaped) after the test."""
    process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def test_snapshot_describes_this_host(tmp_path: Path) -> None:
    info = snapshot(tmp_path / "home")
    assert info.python_version == ".".join(map(str, sys.version_info[:3]))
    assert info.hostname
    assert info.platform
    assert info.berth_version
    assert info.cpu.logical_cores >= 1
    assert len(info.cpu.load_average) == 3
    assert 0 < info.memory.available <= info.memory.total
    assert [disk.name for disk in info.disks] == ["berth_home", "hf_cache"]
    assert info.disks[0].path == str(tmp_path / "home")  # not made yet: measured on its parent's disk
    assert all(0 < disk.free <= disk.total for disk in info.disks)
    assert info.processes == []
    assert SystemInfo.model_validate_json(info.model_dump_json()) == info


def test_cpu_percent_needs_a_second_sample(tmp_path: Path) -> None:
    snapshot(tmp_path)
    percent = snapshot(tmp_path).cpu.percent
    assert percent is not None
    assert 0 <= percent <= 100


@no_nvidia_driver
def test_no_gpu_is_an_empty_list_not_an_error(tmp_path: Path) -> None:
    assert snapshot(tmp_path).gpus == []
    assert system.gpus() == []


def test_package_versions_come_from_metadata(tmp_path: Path) -> None:
    packages = {p.name: p.version for p in snapshot(tmp_path).packages}
    assert packages["torch"] == importlib.metadata.version("torch")
    assert packages["huggingface-hub"] == importlib.metadata.version("huggingface_hub")
    assert system.package_version("no-such-distribution-berth") is None


def test_runtime_support_names_what_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    runtimes = {r.runtime: r for r in snapshot(tmp_path).runtimes}
    assert set(runtimes) == {
        "transformers",
        "sentence-transformers",
        "onnx",
        "python",
        "forecasting",
        "llama-cpp",
    }
    assert runtimes["python"].available
    assert runtimes["transformers"].available
    monkeypatch.setitem(system.RUNTIME_REQUIREMENTS, "onnx", ("tokenizers", "no-such-distribution-berth"))
    onnx = next(r for r in system.runtime_support() if r.runtime == "onnx")
    assert (onnx.available, onnx.missing) == (False, ["no-such-distribution-berth"])
    assert onnx.hint == "pip install 'modelberth[onnx]'"
    monkeypatch.setitem(system.RUNTIME_REQUIREMENTS, "forecasting", ("torch", "no-such-distribution-berth"))
    forecasting = next(r for r in system.runtime_support() if r.runtime == "forecasting")
    assert (forecasting.available, forecasting.hint) == (False, "pip install 'modelberth[forecasting]'")
    monkeypatch.setitem(system.RUNTIME_REQUIREMENTS, "llama-cpp", ("gguf", "no-such-distribution-berth"))
    llama = next(r for r in system.runtime_support() if r.runtime == "llama-cpp")
    assert (llama.available, llama.hint) == (False, "pip install 'modelberth[llama-cpp]'")


def test_importing_and_snapshotting_never_imports_torch(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from berth.system import snapshot; "
        f"snapshot(Path({str(tmp_path)!r})); assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_live_process_is_measured_over_two_snapshots(
    tmp_path: Path, child: subprocess.Popen[bytes]
) -> None:
    replicas = [("minilm", 0, 8100, child.pid)]
    first = snapshot(tmp_path, replicas).processes[0]
    assert (first.deployment, first.index, first.port, first.pid) == ("minilm", 0, 8100, child.pid)
    assert first.alive
    assert first.cpu_percent is None
    time.sleep(0.3)  # let the busy child run between the samples
    second = snapshot(tmp_path, replicas).processes[0]
    assert second.alive
    assert second.cpu_percent is not None
    assert second.cpu_percent > 0
    assert second.rss_bytes is not None
    assert second.rss_bytes > 1_000_000
    assert second.num_threads is not None
    assert second.num_threads >= 1
    assert second.gpu_memory_bytes is None


def test_a_dead_or_unreaped_process_is_not_alive() -> None:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert process_stats(process.pid).alive
        process.kill()
        deadline = time.monotonic() + 10
        while process_stats(process.pid).alive and time.monotonic() < deadline:
            time.sleep(0.01)  # killed but not yet reaped: a zombie, which is not alive either
        assert not process_stats(process.pid).alive
    finally:
        process.kill()
        process.wait()
    stats = process_stats(process.pid)
    assert (stats.alive, stats.cpu_percent, stats.rss_bytes, stats.num_threads) == (False, None, None, None)


def test_a_negative_pid_is_not_alive() -> None:
    assert not process_stats(-1).alive


class _FakeNVML:
    """Just enough of pynvml for two GPUs, one of which does not report utilisation."""

    class NVMLError(Exception):
        pass

    def __init__(self, pids: tuple[int, int]) -> None:
        self.pids = pids

    def nvmlSystemGetDriverVersion(self) -> str:
        return "550.54.15"

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        return 12040

    def nvmlDeviceGetCount(self) -> int:
        return 2

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def nvmlDeviceGetName(self, handle: int) -> str:
        return f"NVIDIA H100 #{handle}"

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> Any:
        return SimpleNamespace(total=80 << 30, used=(handle + 1) << 30, free=(79 - handle) << 30)

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> Any:
        if handle == 1:
            raise self.NVMLError("not supported")
        return SimpleNamespace(gpu=42, memory=10)

    def nvmlDeviceGetComputeRunningProcesses(self, handle: int) -> list[Any]:
        shown, hidden = self.pids
        return [
            SimpleNamespace(pid=shown, usedGpuMemory=1000),
            SimpleNamespace(pid=hidden, usedGpuMemory=None),
        ]

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle: int) -> list[Any]:
        raise self.NVMLError("not supported")


def test_gpus_and_per_process_gpu_memory_through_nvml(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, child: subprocess.Popen[bytes]
) -> None:
    pids = (os.getpid(), child.pid)
    monkeypatch.setattr(system, "_nvml", lambda: _FakeNVML(pids))
    info = snapshot(tmp_path, [("llm", 0, 8100, pids[0]), ("llm", 1, 8101, pids[1])])
    assert [(g.index, g.name, g.utilization) for g in info.gpus] == [
        (0, "NVIDIA H100 #0", 42.0),
        (1, "NVIDIA H100 #1", None),
    ]
    assert (info.gpus[1].memory_total, info.gpus[1].memory_used) == (80 << 30, 2 << 30)
    assert {(g.driver_version, g.cuda_version) for g in info.gpus} == {("550.54.15", "12.4")}
    # the first runs on both GPUs, so its memory is summed; the driver hides the second's
    assert [p.gpu_memory_bytes for p in info.processes] == [2000, None]
