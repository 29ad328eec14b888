"""The real all-MiniLM-L6-v2 served by a worker process: every protocol, and batching under load."""

from __future__ import annotations

import concurrent.futures
import re
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.integration.conftest import WorkerProcess, launch_worker

SENTENCES = [
    "A man is playing a guitar.",
    "Someone strums an acoustic guitar.",
    "The stock market fell sharply today.",
    "I love this product!",
    "The weather is lovely this morning.",
    "Quarterly revenue grew by ten percent.",
    "A child is reading a book in the park.",
    "Cats sleep most of the day.",
]


@pytest.fixture(scope="module")
def minilm(minilm_path: Path, tmp_path_factory: pytest.TempPathFactory) -> WorkerProcess:
    spec = {
        "name": "minilm",
        "model": {"source": str(minilm_path)},
        "batching": {"max_batch_size": 16, "max_latency_ms": 10},
    }
    worker = launch_worker(spec, tmp_path_factory.mktemp("minilm"))
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()


def _embed(url: str, text: str) -> np.ndarray:
    response = httpx.post(f"{url}/predict", json={"text": text}, timeout=30)
    assert response.status_code == 200, response.text
    return np.array(response.json()["result"][0], dtype=np.float32)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_predict_gives_embeddings_that_rank_a_paraphrase_first(minilm: WorkerProcess) -> None:
    guitar, strum, market = (_embed(minilm.url, s) for s in SENTENCES[:3])
    assert guitar.shape == (384,)
    assert _cosine(guitar, strum) > _cosine(guitar, market) + 0.2


def test_v2_infer_returns_a_batch_of_fp32_embeddings(minilm: WorkerProcess) -> None:
    metadata = httpx.get(f"{minilm.url}/v2/models/minilm").json()
    assert metadata["inputs"][0]["datatype"] == "BYTES"
    request = {
        "inputs": [
            {"name": metadata["inputs"][0]["name"], "shape": [2], "datatype": "BYTES", "data": SENTENCES[:2]}
        ]
    }
    response = httpx.post(f"{minilm.url}/v2/models/minilm/infer", json=request, timeout=30)
    assert response.status_code == 200, response.text
    [output] = response.json()["outputs"]
    assert output["datatype"] == "FP32"
    assert output["shape"] == [2, 384]
    rows = np.array(output["data"], dtype=np.float32).reshape(2, 384)
    assert np.allclose(rows[0], _embed(minilm.url, SENTENCES[0]), atol=1e-5)


def test_openai_embeddings_match_predict(minilm: WorkerProcess) -> None:
    response = httpx.post(
        f"{minilm.url}/v1/embeddings", json={"model": "minilm", "input": SENTENCES[3]}, timeout=30
    )
    assert response.status_code == 200, response.text
    body = response.json()
    vector = np.array(body["data"][0]["embedding"], dtype=np.float32)
    assert np.allclose(vector, _embed(minilm.url, SENTENCES[3]), atol=1e-5)
    assert body["usage"]["prompt_tokens"] > 0


def test_concurrent_requests_are_batched_and_match_unbatched_results(minilm: WorkerProcess) -> None:
    expected = {s: _embed(minilm.url, s) for s in SENTENCES}
    before = _batch_histogram(minilm.url)
    workload = SENTENCES * 8
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        results = list(pool.map(lambda s: _embed(minilm.url, s), workload))
    for sentence, vector in zip(workload, results, strict=True):
        assert np.allclose(vector, expected[sentence], atol=1e-5)
    after = _batch_histogram(minilm.url)
    batches = after["count"] - before["count"]
    inputs = after["sum"] - before["sum"]
    assert inputs == len(workload)
    assert batches < len(workload), "no request shared a batch"


def _batch_histogram(url: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics").text
    found = dict(re.findall(r"^berth_batch_size_(count|sum) ([0-9.e+]+)$", text, re.MULTILINE))
    return {key: float(value) for key, value in found.items()}
