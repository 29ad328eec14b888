"""A real worker serving a tiny T5 for summarization: /predict, V2 metadata and infer, and its 422s."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests import tiny_seq2seq
from tests.integration.conftest import WorkerProcess, launch_worker


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    pytest.importorskip("transformers")
    root = tmp_path_factory.mktemp("seq2seq-worker")
    folder = tiny_seq2seq.build_t5(root / "t5")
    spec = {"name": "t5", "task": "summarization", "model": {"source": str(folder)}}
    process = launch_worker(spec, root)
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def test_predict_summarizes_each_input(worker: WorkerProcess) -> None:
    body = {
        "inputs": ["a long article about the weather", "another one"],
        "parameters": {"max_new_tokens": 4},
    }
    response = httpx.post(f"{worker.url}/predict", json=body, timeout=60)
    assert response.status_code == 200, response.text
    results = response.json()["result"]
    assert [list(r) for r in results] == [["summary_text"], ["summary_text"]]
    assert all(isinstance(r["summary_text"], str) for r in results)


def test_v2_metadata_and_infer(worker: WorkerProcess) -> None:
    metadata = httpx.get(f"{worker.url}/v2/models/t5", timeout=30).json()
    assert metadata["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1]}]
    assert metadata["outputs"] == [{"name": "summary_text", "datatype": "BYTES", "shape": [-1]}]
    text = "a long article about the weather"
    request = {
        "inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": [text]}],
        "parameters": {"max_new_tokens": 4},
    }
    response = httpx.post(f"{worker.url}/v2/models/t5/infer", json=request, timeout=60)
    assert response.status_code == 200, response.text
    [output] = response.json()["outputs"]
    predicted = httpx.post(
        f"{worker.url}/predict", json={"text": text, "parameters": {"max_new_tokens": 4}}, timeout=60
    ).json()["result"][0]
    assert (output["name"], output["datatype"], output["shape"]) == ("summary_text", "BYTES", [1])
    assert output["data"] == [predicted["summary_text"]]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"text": ""}, "the text must not be empty"),
        (
            {"text": "x", "parameters": {"max_new_tokens": 5000}},
            "max_new_tokens must be an integer from 1 to 1024",
        ),
        ({"text": "x", "parameters": {"num_beams": 20}}, "num_beams must be an integer from 1 to 8"),
        ({"inputs": ["fine", 3]}, "body.inputs[1]: must be a string"),
    ],
)
def test_bad_requests_are_422_naming_the_problem(
    worker: WorkerProcess, body: dict[str, object], message: str
) -> None:
    response = httpx.post(f"{worker.url}/predict", json=body, timeout=30)
    assert response.status_code == 422, response.text
    assert message in response.json()["error"]["message"]
