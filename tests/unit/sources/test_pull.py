from __future__ import annotations

import filecmp
import threading
import time
from pathlib import Path

import pytest

from berth.errors import DownloadFailed, ModelNotFound, PolicyRefused, RequestTimeout
from berth.sources import DownloadProgress, LocalModel, SourceKind, fetch, preflight, resolve_source
from berth.spec import DeploymentSpec
from tests.hub_server import FakeHub
from tests.unit.sources.conftest import MINILM_REPO, make_spec


def pull(
    spec: DeploymentSpec, seen: list[DownloadProgress] | None = None, timeout_s: float = 60
) -> LocalModel:
    callback = seen.append if seen is not None else None
    return fetch(spec, resolve_source(spec.model), on_progress=callback, timeout_s=timeout_s)


def assert_complete_progress(seen: list[DownloadProgress], total: int) -> None:
    done = [p.bytes_done for p in seen]
    assert done == sorted(done), "progress never goes back"
    assert {p.bytes_total for p in seen} == {total}
    assert done[-1] == total
    gaps = [b - a for a, b in zip([0, *done], done, strict=False)]
    assert max(gaps) <= 0.05 * total, "a report at least every 5 %"


def test_pull_reports_monotone_progress_up_to_the_total(fake_hub: FakeHub, hf_cache: Path) -> None:
    seen: list[DownloadProgress] = []
    model = pull(make_spec(), seen)
    repo = fake_hub.repos[MINILM_REPO]
    assert model.revision == repo.sha
    assert model.path == hf_cache / "models--sentence-transformers--all-MiniLM-L6-v2" / "snapshots" / repo.sha
    total = sum(repo.files[f].size for f in model.files)
    assert_complete_progress(seen, total)
    assert "model.safetensors" in model.files
    assert "README.md" not in model.files
    assert not (model.path / "README.md").exists()
    assert filecmp.cmp(
        model.path / "model.safetensors", repo.files["model.safetensors"].source, shallow=False
    )
    assert (
        hf_cache / "models--sentence-transformers--all-MiniLM-L6-v2" / "refs" / "main"
    ).read_text() == repo.sha


def test_files_already_cached_count_as_done_at_once(fake_hub: FakeHub) -> None:
    preflight(make_spec(), resolve_source(make_spec().model), device="cpu")  # reads the small JSON files
    cached = [r.file for r in fake_hub.log() if r.method == "GET" and r.file]
    # config_sentence_transformers.json: whether modules.json is an embedding model's or a cross-encoder's
    assert set(cached) == {
        "config.json",
        "tokenizer_config.json",
        "modules.json",
        "config_sentence_transformers.json",
    }
    seen: list[DownloadProgress] = []
    pull(make_spec(), seen)
    files = fake_hub.repos[MINILM_REPO].files
    assert seen[0].bytes_done == sum(files[f].size for f in cached)
    assert len([r for r in fake_hub.log() if r.method == "GET" and r.file == "config.json"]) == 1


def test_callbacks_run_on_the_calling_thread(fake_hub: FakeHub) -> None:
    threads: set[int] = set()
    spec = make_spec()
    fetch(spec, resolve_source(spec.model), on_progress=lambda _: threads.add(threading.get_ident()))
    assert threads == {threading.get_ident()}


def test_second_pull_is_served_from_the_cache_without_requests(fake_hub: FakeHub) -> None:
    first = pull(make_spec())
    fake_hub.clear_log()
    seen: list[DownloadProgress] = []
    second = pull(make_spec(), seen)
    report = preflight(make_spec(), resolve_source(make_spec().model), device="cpu")
    assert fake_hub.log() == []
    assert (second.path, second.revision, second.files) == (first.path, first.revision, first.files)
    assert [(p.bytes_done, p.bytes_total) for p in seen] == [(seen[0].bytes_total,) * 2]
    assert report.cached
    assert report.fits


def test_offline_mode_uses_the_cache(fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    first = pull(make_spec())
    fake_hub.clear_log()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert pull(make_spec()).path == first.path
    assert preflight(make_spec(), resolve_source(make_spec().model), device="cpu").cached
    assert fake_hub.log() == []


def test_offline_mode_without_the_model_cached_says_so(
    fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DownloadFailed, match=r"not .*in the Hugging Face cache.*unset HF_HUB_OFFLINE"):
        pull(make_spec())
    assert fake_hub.log() == []


def test_a_dropped_connection_resumes_with_a_range_request(fake_hub: FakeHub) -> None:
    fake_hub.drop_connection("model.safetensors", after_bytes=30_000_000)
    seen: list[DownloadProgress] = []
    model = pull(make_spec(), seen)
    source = fake_hub.repos[MINILM_REPO].files["model.safetensors"].source
    assert model.path is not None
    assert filecmp.cmp(model.path / "model.safetensors", source, shallow=False)
    gets = [r for r in fake_hub.log() if r.method == "GET" and r.file == "model.safetensors"]
    assert len(gets) == 2
    assert gets[0].range is None
    assert gets[1].range is not None
    assert int(gets[1].range.removeprefix("bytes=").split("-")[0]) > 29_000_000
    assert_complete_progress(seen, seen[-1].bytes_total)


def test_a_reset_connection_is_retried_and_keeps_finished_files(fake_hub: FakeHub) -> None:
    fake_hub.drop_connection("model.safetensors", after_bytes=5_000_000, reset=True)
    seen: list[DownloadProgress] = []
    model = pull(make_spec(), seen)
    source = fake_hub.repos[MINILM_REPO].files["model.safetensors"].source
    assert model.path is not None
    assert filecmp.cmp(model.path / "model.safetensors", source, shallow=False)
    tokenizer_gets = [r for r in fake_hub.log() if r.method == "GET" and r.file == "tokenizer.json"]
    assert len(tokenizer_gets) == 1, "files that completed are not fetched again"
    assert_complete_progress(seen, seen[-1].bytes_total)


def test_timeout_stops_the_pull_and_leaves_no_partial_file(fake_hub: FakeHub, hf_cache: Path) -> None:
    fake_hub.throttle_bytes_per_s = 20_000_000  # 90 MB take 4.5 s
    started = time.monotonic()
    with pytest.raises(RequestTimeout, match="took longer than 1 s; the files that completed stay"):
        pull(make_spec(), timeout_s=1)
    assert time.monotonic() - started < 3
    repo_dir = hf_cache / "models--sentence-transformers--all-MiniLM-L6-v2"
    assert not list(repo_dir.rglob("model.safetensors"))
    deadline = time.monotonic() + 5  # the download thread stops at its next chunk and cleans up
    while list(repo_dir.rglob("*.incomplete")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not list(repo_dir.rglob("*.incomplete"))
    fake_hub.throttle_bytes_per_s = None
    assert pull(make_spec()).path is not None  # and a later pull completes it


def test_unknown_repo_is_model_not_found(fake_hub: FakeHub) -> None:
    with pytest.raises(ModelNotFound, match=r"no model 'nobody/nothing' on the hub \(or it is private"):
        pull(make_spec("nobody/nothing"))


def test_pickle_only_repo_is_refused_then_pulled_with_allow_pickle(fake_hub: FakeHub) -> None:
    with pytest.raises(
        PolicyRefused, match=r"tiny/pickled has only pickle-format weights \(pytorch_model.bin\)"
    ):
        pull(make_spec("tiny/pickled"))
    assert not [r for r in fake_hub.log() if r.file == "pytorch_model.bin"]
    model = pull(make_spec("tiny/pickled", allow_pickle=True))
    assert model.files == ("config.json", "pytorch_model.bin")
    assert model.path is not None
    assert (model.path / "pytorch_model.bin").is_file()


def test_remote_code_repo_is_refused(fake_hub: FakeHub) -> None:
    with pytest.raises(PolicyRefused, match=r"auto_map in config\.json.*trust_remote_code: true"):
        pull(make_spec("tiny/remote-code"))
    assert not [r for r in fake_hub.log() if r.file in ("model.safetensors", "modeling_custom.py")]
    model = pull(make_spec("tiny/remote-code", trust_remote_code=True))
    assert "modeling_custom.py" in model.files


def test_local_onnx_and_python_sources_need_no_pull(
    tmp_path: Path, tiny_model: Path, pickle_model: Path
) -> None:
    local = pull(make_spec(str(tiny_model)))
    assert (local.source.kind, local.path, local.revision) == (SourceKind.LOCAL, tiny_model, None)
    assert set(local.files) == {"config.json", "tokenizer.json", "model.safetensors"}
    with pytest.raises(PolicyRefused, match="allow_pickle"):
        pull(make_spec(str(pickle_model)))
    (tmp_path / "model.onnx").write_bytes(b"graph")
    onnx = pull(make_spec(str(tmp_path / "model.onnx")))
    assert (onnx.path, onnx.files) == (tmp_path / "model.onnx", ("model.onnx",))
    assert pull(make_spec("my_pkg.predictors:Echo")).path is None
