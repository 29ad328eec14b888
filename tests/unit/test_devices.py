"""One device and dtype rule: `berth.devices.resolve`, and the three callers that go through it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from berth import devices
from berth.devices import CPU_ONLY, UNSEEN_HOST, HostGpus, Placement, resolve
from berth.errors import UnsupportedModel
from berth.exporters.sizing import load_dtype, size_deployment, uses_gpu
from berth.runtimes import device as worker_device
from berth.sources import resolve_source
from berth.sources.preflight import preflight
from berth.spec import DeploymentSpec
from tests.unit.sources.conftest import TINY_CONFIG, write_json, write_safetensors

BF16_GPU = HostGpus(count=1, bf16=True)
FP16_GPU = HostGpus(count=1, bf16=False)
TWO_GPUS = HostGpus(count=2, bf16=True)


@pytest.mark.parametrize(
    ("device", "dtype", "gpus", "config", "expected"),
    [
        ("auto", "auto", CPU_ONLY, None, ("cpu", "float32")),
        ("auto", "auto", CPU_ONLY, "bfloat16", ("cpu", "float32")),
        ("auto", "auto", BF16_GPU, None, ("cuda", "float16")),
        ("auto", "auto", BF16_GPU, "float32", ("cuda", "float16")),
        ("auto", "auto", BF16_GPU, "bfloat16", ("cuda", "bfloat16")),
        ("auto", "auto", FP16_GPU, "bfloat16", ("cuda", "float16")),  # no bf16 on this GPU
        ("cpu", "auto", BF16_GPU, "bfloat16", ("cpu", "float32")),
        ("cpu", "float16", CPU_ONLY, None, ("cpu", "float16")),
        ("cpu", "bfloat16", CPU_ONLY, None, ("cpu", "bfloat16")),
        ("cuda", "float32", BF16_GPU, None, ("cuda", "float32")),
        ("cuda:1", "auto", TWO_GPUS, None, ("cuda:1", "float16")),
        ("cuda", "bfloat16", BF16_GPU, None, ("cuda", "bfloat16")),
    ],
)
def test_the_rule(
    device: str, dtype: str, gpus: HostGpus, config: str | None, expected: tuple[str, str]
) -> None:
    assert resolve(device, dtype, gpus, config) == Placement(*expected)


@pytest.mark.parametrize("device", ["cuda", "cuda:0", "cuda:1"])
def test_cuda_without_a_gpu_is_refused_by_a_view_that_can_tell(device: str) -> None:
    with pytest.raises(UnsupportedModel, match=f"device {device} requested but no CUDA GPU is visible"):
        resolve(device, "auto", CPU_ONLY)


def test_cuda_index_out_of_range() -> None:
    with pytest.raises(UnsupportedModel, match=r"only 2 CUDA GPUs are visible; use cuda:0 to cuda:1"):
        resolve("cuda:2", "auto", TWO_GPUS)
    with pytest.raises(UnsupportedModel, match=r"only 1 CUDA GPU is visible; use cuda:0 to cuda:0"):
        resolve("cuda:1", "auto", BF16_GPU)


def test_a_hint_leaves_explicit_choices_to_the_worker() -> None:
    nvml_saw_one = HostGpus(count=1, bf16=False, checked=False)
    assert resolve("cuda:3", "auto", nvml_saw_one) == Placement("cuda:3", "float16")
    assert resolve("cuda", "bfloat16", nvml_saw_one) == Placement("cuda", "bfloat16")
    assert resolve("cuda", "auto", UNSEEN_HOST) == Placement("cuda", "float16")
    assert resolve("auto", "auto", UNSEEN_HOST) == Placement("cpu", "float32")


def test_bfloat16_on_a_gpu_without_it_is_refused() -> None:
    with pytest.raises(UnsupportedModel, match="does not support it; use float16"):
        resolve("cuda", "bfloat16", FP16_GPU)


def test_config_dtype() -> None:
    assert devices.config_dtype({"dtype": "bfloat16"}) == "bfloat16"
    assert devices.config_dtype({"torch_dtype": "float16"}) == "float16"
    assert devices.config_dtype({"dtype": "float32", "torch_dtype": "float16"}) == "float32"
    assert devices.config_dtype({"torch_dtype": 3}) is None
    assert devices.config_dtype(None) is None


def test_without_pynvml_the_control_plane_sees_no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml now raises ImportError
    view = devices.nvml_view()
    assert (view.count, view.checked) == (0, False)


def test_the_torch_view_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    view = devices.torch_view()
    assert view.count == (torch.cuda.device_count() if torch.cuda.is_available() else 0)
    assert view.bf16 == bool(view.count and torch.cuda.is_bf16_supported())
    assert view.checked


# preflight (control plane), sizing (exports) and the worker give one answer for one host


def _model(folder: Path, declared: str | None) -> Path:
    write_json(folder / "config.json", {**TINY_CONFIG, **({"torch_dtype": declared} if declared else {})})
    write_safetensors(folder / "model.safetensors", {"dense": ("F32", [8, 8])})
    return folder


def _spec(folder: Path, device: str, dtype: str) -> DeploymentSpec:
    return DeploymentSpec.model_validate(
        {"name": "m", "model": {"source": str(folder)}, "device": device, "dtype": dtype}
    )


def _worker(spec: DeploymentSpec, gpus: HostGpus, declared: str | None) -> tuple[str, str]:
    placed = worker_device.resolve_device(spec.device, gpus)
    return placed, worker_device.resolve_dtype(spec.dtype, placed, declared, gpus)


def _preflight(spec: DeploymentSpec, gpus: HostGpus) -> tuple[str, str]:
    report = preflight(spec, resolve_source(spec.model), free_memory_bytes=2**62, gpus=gpus)
    return report.device, report.dtype


HOSTS = [CPU_ONLY, BF16_GPU, FP16_GPU]
CHOICES = [("auto", "auto"), ("cpu", "auto"), ("cuda", "auto"), ("cpu", "float16"), ("cuda", "float32")]


@pytest.mark.parametrize("declared", [None, "bfloat16"])
@pytest.mark.parametrize("gpus", HOSTS)
@pytest.mark.parametrize(("device", "dtype"), CHOICES)
def test_preflight_and_the_worker_agree(
    tmp_path: Path, declared: str | None, gpus: HostGpus, device: str, dtype: str
) -> None:
    spec = _spec(_model(tmp_path / "model", declared), device, dtype)
    if device == "cuda" and gpus.count == 0:
        with pytest.raises(UnsupportedModel):
            _worker(spec, gpus, declared)
        hint = HostGpus(count=0, checked=False)  # NVML's view: the worker is the judge
        assert _preflight(spec, hint) == ("cuda", "float32" if dtype == "float32" else "float16")
        return
    placement = resolve(device, dtype, gpus, declared)
    assert _preflight(spec, gpus) == _worker(spec, gpus, declared) == (placement.device, placement.dtype)


@pytest.mark.parametrize("declared", [None, "bfloat16"])
@pytest.mark.parametrize(("device", "dtype"), CHOICES)
def test_sizing_answers_as_the_worker_on_the_host_the_export_assumes(
    tmp_path: Path, declared: str | None, device: str, dtype: str
) -> None:
    # An export's target is unseen: `auto` is the CPU and an explicit cuda a GPU of unknown bfloat16.
    spec = _spec(_model(tmp_path / "model", declared), device, dtype)
    assumed = FP16_GPU if device == "cuda" else CPU_ONLY
    placed, loaded = _worker(spec, assumed, declared)
    assert (uses_gpu(spec), load_dtype(spec)) == (placed.startswith("cuda"), loaded)
    assert size_deployment(spec).dtype == loaded
    assert _preflight(spec, assumed) == (placed, loaded)
