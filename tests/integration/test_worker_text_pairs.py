"""Real workers serving a tiny extractive QA model and a tiny NLI model for zero-shot labels."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests import tiny_seq2seq
from tests.integration.conftest import WorkerProcess, launch_worker

PAIR = {"question": "Where is Paris?", "context": "Paris is the capital of France."}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    return tmp_path_factory.mktemp("text-pair-workers")


def _serve(name: str, folder: Path, root: Path) -> Iterator[WorkerProcess]:
    process = launch_worker({"name": name, "model": {"source": str(folder)}}, root)
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def qa(root: Path) -> Iterator[WorkerProcess]:
    yield from _serve("qa", tiny_seq2seq.build_question_answering(root / "qa"), root)


@pytest.fixture(scope="module")
def nli(root: Path) -> Iterator[WorkerProcess]:
    yield from _serve("nli", tiny_seq2seq.build_nli(root / "nli"), root)


def test_qa_predict_and_v2(qa: WorkerProcess) -> None:
    response = httpx.post(f"{qa.url}/predict", json={"inputs": [PAIR]}, timeout=30)
    assert response.status_code == 200, response.text
    [result] = response.json()["result"]
    assert result["answer"] == PAIR["context"][result["start"] : result["end"]]
    metadata = httpx.get(f"{qa.url}/v2/models/qa", timeout=30).json()
    assert [(t["name"], t["datatype"]) for t in metadata["inputs"]] == [
        ("question", "BYTES"),
        ("context", "BYTES"),
    ]
    assert [(t["name"], t["datatype"]) for t in metadata["outputs"]] == [
        ("answer", "BYTES"),
        ("score", "FP32"),
        ("start", "INT64"),
        ("end", "INT64"),
    ]
    request = {
        "inputs": [
            {"name": key, "shape": [1], "datatype": "BYTES", "data": [PAIR[key]]}
            for key in ("question", "context")
        ]
    }
    response = httpx.post(f"{qa.url}/v2/models/qa/infer", json=request, timeout=30)
    assert response.status_code == 200, response.text
    columns = {o["name"]: o for o in response.json()["outputs"]}
    assert columns["answer"]["data"] == [result["answer"]]
    assert columns["start"]["data"] == [result["start"]]
    assert columns["end"]["data"] == [result["end"]]
    assert columns["score"]["data"][0] == pytest.approx(result["score"], rel=1e-5)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"inputs": [{"question": "Where is Paris?"}]}, "body.inputs[0]: question-answering needs a context"),
        ({"text": "Where is Paris?"}, 'question-answering takes an object with "question" and "context"'),
        (
            {"inputs": [PAIR], "parameters": {"max_answer_len": 0}},
            "max_answer_len must be a number of tokens",
        ),
    ],
)
def test_qa_bad_requests_are_422(qa: WorkerProcess, body: dict[str, object], message: str) -> None:
    response = httpx.post(f"{qa.url}/predict", json=body, timeout=30)
    assert response.status_code == 422, response.text
    assert message in response.json()["error"]["message"]


def test_qa_v2_without_a_context_is_422(qa: WorkerProcess) -> None:
    request = {"inputs": [{"name": "question", "shape": [1], "datatype": "BYTES", "data": ["Where?"]}]}
    response = httpx.post(f"{qa.url}/v2/models/qa/infer", json=request, timeout=30)
    assert response.status_code == 422, response.text
    assert "input 'context' is missing" in response.json()["error"]


def test_zero_shot_predict_and_v2(nli: WorkerProcess) -> None:
    labels = ["sport", "politics", "food"]
    body = {"inputs": ["I love football", "pasta"], "parameters": {"candidate_labels": labels}}
    response = httpx.post(f"{nli.url}/predict", json=body, timeout=30)
    assert response.status_code == 200, response.text
    results = response.json()["result"]
    assert [sorted(r["label"] for r in ranked) for ranked in results] == [sorted(labels)] * 2
    metadata = httpx.get(f"{nli.url}/v2/models/nli", timeout=30).json()
    assert [t["name"] for t in metadata["inputs"]] == ["text"]
    assert [t["name"] for t in metadata["outputs"]] == ["labels"]
    request = {
        "inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": body["inputs"]}],
        "parameters": {"candidate_labels": labels},
    }
    response = httpx.post(f"{nli.url}/v2/models/nli/infer", json=request, timeout=30)
    assert response.status_code == 200, response.text
    [output] = response.json()["outputs"]
    decoded = [orjson.loads(document) for document in output["data"]]
    assert [[r["label"] for r in d] for d in decoded] == [[r["label"] for r in ranked] for ranked in results]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"text": "I love football"}, "zero-shot-classification needs the parameter candidate_labels"),
        ({"text": "x", "parameters": {"candidate_labels": []}}, "candidate_labels must be a non-empty list"),
        ({"text": "", "parameters": {"candidate_labels": ["a"]}}, "the text to classify must not be empty"),
    ],
)
def test_zero_shot_bad_requests_are_422(nli: WorkerProcess, body: dict[str, object], message: str) -> None:
    response = httpx.post(f"{nli.url}/predict", json=body, timeout=30)
    assert response.status_code == 422, response.text
    assert message in response.json()["error"]["message"]
