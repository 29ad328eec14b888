"""Ollama's listings of a GGUF model, on a real worker, read by the real Ollama client: format gguf,
the header's quantization, architecture and parameter count, and its general.* keys in model_info."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import tiny_models
from tests.integration.conftest import WorkerProcess, launch_worker

ollama = pytest.importorskip("ollama")
pytest.importorskip("llama_cpp")
pytest.importorskip("gguf")


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WorkerProcess, Path]]:
    folder = tmp_path_factory.mktemp("gguf")
    for file_type in ("Q8_0", "Q4_K_M"):  # two quantizations: model.file chooses one
        tiny_models.build_gguf(folder, file_type=file_type, context=512)
    spec = {"name": "tiny-gguf", "model": {"source": str(folder), "file": "*Q4_K_M.gguf"}}
    started = launch_worker(spec, tmp_path_factory.mktemp("worker"))
    try:
        started.wait_ready()
        yield started, folder / "tiny-Q4_K_M.gguf"
    finally:
        started.stop()


def test_listings_describe_the_gguf_file(worker: tuple[WorkerProcess, Path]) -> None:
    process, path = worker
    with ollama.Client(host=process.url, timeout=60) as client:
        [model] = client.list().models
        shown = client.show("tiny-gguf")
    assert model.details is not None
    assert (model.details.format, model.details.family) == ("gguf", "llama")
    assert model.details.quantization_level == "Q4_K_M"
    assert model.size == path.stat().st_size
    # the builder's Llama: 448-token vocabulary, hidden 64, 2 layers, 2 of 4 heads for K/V, FFN 256
    parameters = 2 * 448 * 64 + 2 * (2 * 64 * 64 + 2 * 32 * 64 + 3 * 64 * 256 + 2 * 64) + 64
    assert model.details.parameter_size == f"{parameters / 1e3:.1f}K"
    assert shown.modelinfo is not None
    assert shown.modelinfo["general.architecture"] == "llama"
    assert shown.modelinfo["general.name"] == "tiny-llama"
    assert shown.modelinfo["general.parameter_count"] == parameters
    assert shown.modelinfo["llama.context_length"] == 512
    assert shown.modelinfo["llama.attention.head_count_kv"] == 2
