"""A worker serving a tiny cross-encoder: `/predict`, V2 pairs, `/v1/rerank` (httpx and Cohere's client)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests import tiny_ranking
from tests.integration.conftest import WorkerProcess, serve_worker

NAME = "reranker"
QUERY = "what is the capital of France?"
DOCUMENTS = [
    "Berlin is in Germany.",
    "Paris is the capital of France.",
    "cats",
    "The Seine flows through Paris.",
]


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    pytest.importorskip("transformers")
    models = tmp_path_factory.mktemp("ranking")
    folder = tiny_ranking.build_cross_encoder(models / "cross-encoder")
    yield from serve_worker({"name": NAME, "model": {"source": str(folder)}}, models)


def post(worker: WorkerProcess, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{worker.url}{path}", json=body, timeout=30)


def predicted(worker: WorkerProcess) -> list[dict[str, Any]]:
    response = post(worker, "/predict", {"inputs": [{"query": QUERY, "documents": DOCUMENTS}]})
    assert response.status_code == 200, response.text
    [ranked] = response.json()["result"]
    return list(ranked)


def test_the_task_is_detected_and_predict_ranks_the_documents(worker: WorkerProcess) -> None:
    ready = httpx.get(f"{worker.url}/health/ready", timeout=10).json()
    assert ready["task"] == "text-ranking"
    ranked = predicted(worker)
    assert sorted(r["index"] for r in ranked) == list(range(len(DOCUMENTS)))
    scores = [r["score"] for r in ranked]
    assert scores == sorted(scores, reverse=True)
    pair = post(worker, "/predict", {"inputs": [{"query": QUERY, "document": DOCUMENTS[2]}]}).json()
    [result] = pair["result"]
    assert result["score"] == pytest.approx(next(r["score"] for r in ranked if r["index"] == 2), abs=1e-5)
    top = post(
        worker,
        "/predict",
        {
            "inputs": [{"query": QUERY, "documents": DOCUMENTS}],
            "parameters": {"top_n": 1, "return_documents": True},
        },
    ).json()["result"][0]
    assert top == [{**ranked[0], "document": DOCUMENTS[ranked[0]["index"]]}]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"inputs": [{"query": QUERY, "documents": []}]},
            "body.inputs[0]: rerank needs at least one document",
        ),
        ({"text": "just a sentence"}, "body.text: text-ranking takes"),
        ({"inputs": [{"documents": ["a"]}]}, "body.inputs[0]: query must be a non-empty string"),
        ({"inputs": [{"query": QUERY, "documents": ["a"]}], "parameters": {"top_n": 0}}, "top_n"),
    ],
)
def test_bad_predict_inputs_are_a_422_naming_the_problem(
    worker: WorkerProcess, body: dict[str, Any], message: str
) -> None:
    response = post(worker, "/predict", body)
    assert response.status_code == 422, response.text
    assert message in response.json()["error"]["message"]


def test_v2_metadata_and_infer_score_query_document_rows(worker: WorkerProcess) -> None:
    metadata = httpx.get(f"{worker.url}/v2/models/{NAME}", timeout=10).json()
    assert [(t["name"], t["datatype"], t["shape"]) for t in metadata["inputs"]] == [
        ("query", "BYTES", [-1]),
        ("document", "BYTES", [-1]),
    ]
    assert [(t["name"], t["datatype"], t["shape"]) for t in metadata["outputs"]] == [("score", "FP32", [-1])]
    rows = len(DOCUMENTS)
    request = {
        "inputs": [
            {"name": "query", "shape": [rows], "datatype": "BYTES", "data": [QUERY] * rows},
            {"name": "document", "shape": [rows], "datatype": "BYTES", "data": DOCUMENTS},
        ]
    }
    response = post(worker, f"/v2/models/{NAME}/infer", request)
    assert response.status_code == 200, response.text
    [score] = response.json()["outputs"]
    assert (score["name"], score["datatype"], score["shape"]) == ("score", "FP32", [rows])
    by_index = {r["index"]: r["score"] for r in predicted(worker)}
    assert score["data"] == pytest.approx([by_index[i] for i in range(rows)], abs=1e-5)
    missing = post(worker, f"/v2/models/{NAME}/infer", {"inputs": request["inputs"][:1]})
    assert missing.status_code == 422
    assert "input 'document' is missing" in missing.json()["error"]  # V2 errors are {"error": "..."}


def test_rerank_route_matches_predict(worker: WorkerProcess) -> None:
    ranked = predicted(worker)
    body = {"model": NAME, "query": QUERY, "documents": [{"text": d} for d in DOCUMENTS], "top_n": 3}
    response = post(worker, "/v1/rerank", body | {"return_documents": True})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [(r["index"], r["relevance_score"]) for r in answer["results"]] == [
        (r["index"], r["score"]) for r in ranked[:3]
    ]
    assert [r["document"]["text"] for r in answer["results"]] == [DOCUMENTS[r["index"]] for r in ranked[:3]]
    assert answer["meta"]["billed_units"] == {"search_units": 1}
    assert answer["usage"]["total_tokens"] > 0
    empty = post(worker, "/v1/rerank", {"query": QUERY, "documents": []})
    assert empty.status_code == 422
    assert "rerank needs at least one document" in empty.json()["error"]["message"]


def test_the_cohere_client_reranks_against_the_worker(worker: WorkerProcess) -> None:
    cohere = pytest.importorskip("cohere")
    ranked = predicted(worker)
    with cohere.Client(api_key="unused", base_url=worker.url, timeout=30) as client:
        answer = client.rerank(model=NAME, query=QUERY, documents=DOCUMENTS, top_n=2, return_documents=True)
        with pytest.raises(cohere.core.ApiError) as refused:
            client.rerank(model=NAME, query=QUERY, documents=[])
    assert [r.index for r in answer.results] == [r["index"] for r in ranked[:2]]
    assert [r.relevance_score for r in answer.results] == pytest.approx([r["score"] for r in ranked[:2]])
    assert answer.results[0].document is not None
    assert answer.results[0].document.text == DOCUMENTS[ranked[0]["index"]]
    assert refused.value.status_code == 422
    assert "rerank needs at least one document" in str(refused.value.body)
