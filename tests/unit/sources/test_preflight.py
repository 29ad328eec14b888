from __future__ import annotations

from pathlib import Path

import pytest

from berth.errors import DownloadFailed, ModelNotFound, ModelTooLarge, PolicyRefused, UnsupportedModel
from berth.sources import PreflightReport, check_preflight, preflight, resolve_source
from berth.spec import DeploymentSpec
from tests.hub_server import FakeHub
from tests.unit.sources.conftest import (
    MINILM_PARAMETERS,
    MINILM_REPO,
    make_spec,
    write_json,
    write_safetensors,
)

PLENTY = 1 << 40


def run(spec: DeploymentSpec, device: str | None = None, free_memory_bytes: int = PLENTY) -> PreflightReport:
    return preflight(spec, resolve_source(spec.model), device=device, free_memory_bytes=free_memory_bytes)


def test_local_minilm_is_measured_from_its_safetensors_header(minilm_path: Path) -> None:
    report = run(make_spec(str(minilm_path)), device="cpu")
    assert (report.parameters, report.basis) == (MINILM_PARAMETERS, "safetensors")
    assert report.memory_bytes == {
        "float32": 4 * MINILM_PARAMETERS,
        "float16": 2 * MINILM_PARAMETERS,
        "bfloat16": 2 * MINILM_PARAMETERS,
    }
    assert (report.dtype, report.device, report.fits, report.reasons) == ("float32", "cpu", True, ())
    assert 90_000_000 < (report.download_bytes or 0) < 92_000_000  # weights + tokenizer + configs
    check_preflight(report)


def test_auto_dtype_is_float16_on_cuda_and_the_spec_dtype_wins(minilm_path: Path) -> None:
    assert run(make_spec(str(minilm_path)), device="cuda").dtype == "float16"
    assert run(make_spec(str(minilm_path), dtype="bfloat16"), device="cpu").dtype == "bfloat16"


def test_over_the_memory_limit_says_what_to_do(minilm_path: Path) -> None:
    report = run(make_spec(str(minilm_path), limits={"max_memory_gb": 0.05}), device="cpu")
    assert not report.fits
    with pytest.raises(ModelTooLarge) as caught:
        check_preflight(report)
    message = caught.value.message
    assert "90.9 MB of memory in float32, over limits.max_memory_gb (0.05 GB)" in message
    assert "raise limits.max_memory_gb" in message


def test_more_than_the_free_memory_does_not_fit(minilm_path: Path) -> None:
    report = run(make_spec(str(minilm_path), dtype="float16"), device="cpu", free_memory_bytes=10_000_000)
    assert report.reasons == (
        "the model's weights need 45.4 MB in float16 but only 10.0 MB is free on cpu; "
        "free some memory, or pick a smaller model.",
    )


def test_default_free_memory_is_the_available_ram(minilm_path: Path) -> None:
    report = preflight(make_spec(str(minilm_path)), resolve_source(make_spec(str(minilm_path)).model))
    assert report.device == "cpu"
    assert report.fits


def test_every_reason_is_listed(minilm_path: Path) -> None:
    spec = make_spec(str(minilm_path), limits={"max_model_size_gb": 0.01, "max_memory_gb": 0.01})
    report = run(spec, device="cpu", free_memory_bytes=1_000)
    assert len(report.reasons) == 3
    with pytest.raises(ModelTooLarge, match=r"limits.max_model_size_gb.* Also, .* Also, .*is free on cpu"):
        check_preflight(report)


def test_local_pickle_only_is_refused_before_anything_else(pickle_model: Path) -> None:
    with pytest.raises(PolicyRefused, match="allow_pickle"):
        run(make_spec(str(pickle_model)))


def test_onnx_file_is_measured_by_size(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"x" * 4000)
    (tmp_path / "model.onnx_data").write_bytes(b"x" * 4000)
    report = run(make_spec(str(tmp_path / "model.onnx")), device="cpu")
    assert (report.parameters, report.download_bytes, report.basis) == (2000, 8000, "file-size")


def test_python_predictor_has_nothing_to_measure() -> None:
    report = run(make_spec("my_pkg.predictors:Echo"), device="cpu")
    assert (report.parameters, report.download_bytes, report.fits) == (None, 0, True)


def test_hub_model_over_the_size_limit_is_refused_without_its_weights(
    fake_hub: FakeHub, hf_cache: Path
) -> None:
    report = run(make_spec("tiny/huge"), device="cpu")
    assert (report.parameters, report.basis) == (30_000_000_000, "safetensors")
    assert not report.fits
    with pytest.raises(ModelTooLarge, match=r"the model is 60.0 GB, over limits.max_model_size_gb \(20 GB\)"):
        check_preflight(report)
    weight_gets = [r for r in fake_hub.log() if r.method == "GET" and r.file == "model.safetensors"]
    assert weight_gets, "the header is read from the hub"
    assert all(r.range == "bytes=0-100000" for r in weight_gets)  # a header read, never a download
    assert not list(hf_cache.rglob("model.safetensors"))


def test_hub_minilm_over_memory_needs_no_weight_bytes_at_all(fake_hub: FakeHub) -> None:
    report = run(make_spec(limits={"max_memory_gb": 0.05}), device="cpu")
    assert (report.parameters, report.fits, report.cached) == (MINILM_PARAMETERS, False, False)
    assert 90_000_000 < (report.download_bytes or 0) < 92_000_000
    assert not [r for r in fake_hub.log() if r.file == "model.safetensors"]  # the listing said it all


def test_unknown_hub_repo_is_a_clear_model_not_found(fake_hub: FakeHub) -> None:
    with pytest.raises(ModelNotFound) as caught:
        run(make_spec("nobody/nothing"))
    assert caught.value.message == "no model 'nobody/nothing' on the hub (or it is private: set HF_TOKEN)"


def test_unknown_revision_is_a_clear_model_not_found(fake_hub: FakeHub) -> None:
    spec = make_spec(model={"source": MINILM_REPO, "revision": "v9"})
    with pytest.raises(ModelNotFound, match=r"has no revision 'v9'; check model\.revision"):
        preflight(spec, resolve_source(spec.model))


def test_unreachable_hub_is_a_download_failure(closed_endpoint: str) -> None:
    with pytest.raises(DownloadFailed, match=rf"cannot reach the hub at {closed_endpoint} .*HF_ENDPOINT"):
        run(make_spec())


def test_a_hub_model_of_no_task_berth_serves_fails_from_its_config_alone(
    fake_hub: FakeHub, tmp_path: Path
) -> None:
    folder = tmp_path / "llava"
    write_json(
        folder / "config.json", {"architectures": ["LlavaForConditionalGeneration"], "model_type": "llava"}
    )
    write_safetensors(folder / "model.safetensors", {"dense": ("F32", [64, 64])})
    fake_hub.add_repo("tiny/llava", folder)
    with pytest.raises(
        UnsupportedModel, match=r"cannot tell which task tiny/llava \(LlavaForConditionalGeneration\)"
    ):
        run(make_spec("tiny/llava"))
    fetched = {r.file for r in fake_hub.log() if r.method == "GET" and r.file and r.range is None}
    assert fetched == {"config.json"}  # the config alone: no weights were downloaded


def test_hub_pickle_only_and_remote_code_are_refused_from_the_listing(fake_hub: FakeHub) -> None:
    with pytest.raises(PolicyRefused, match="tiny/pickled has only pickle-format weights"):
        run(make_spec("tiny/pickled"))
    with pytest.raises(PolicyRefused, match="tiny/remote-code needs its own Python code"):
        run(make_spec("tiny/remote-code"))
    assert not [r for r in fake_hub.log() if r.file and r.file.endswith((".bin", ".safetensors", ".py"))]
