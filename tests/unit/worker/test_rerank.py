"""`POST /v1/rerank` in-process (httpx over ASGI), on a real tiny cross-encoder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from berth.runtimes import Runtime
from berth.spec import Task
from berth.worker.app import create_app
from berth.worker.service import ModelService
from tests.tiny_models import load_runtime, make_spec
from tests.tiny_ranking import build_cross_encoder
from tests.unit.worker.conftest import CharRuntime
from tests.unit.worker.conftest import make_spec as chars_spec

pytestmark = pytest.mark.anyio
QUERY = "what is the capital of France?"
DOCUMENTS = [
    "Berlin is in Germany.",
    "Paris is the capital of France.",
    "cats",
    "The Seine flows through Paris.",
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    return build_cross_encoder(tmp_path_factory.mktemp("reranker") / "model")


@pytest.fixture(scope="module")
def reranker(folder: Path) -> Iterator[Runtime]:
    runtime = load_runtime(folder)
    yield runtime
    runtime.close()


@pytest.fixture
async def client(reranker: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    service = ModelService(make_spec(Path("model"), name="rr"), reranker, [ThreadPoolExecutor(max_workers=1)])
    service.start()
    transport = httpx.ASGITransport(app=create_app(service, None))
    async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
        yield client
    await service.drain()


async def test_rerank_answers_what_predict_does_in_cohere_and_jina_shape(
    client: httpx.AsyncClient, folder: Path
) -> None:
    from transformers import AutoTokenizer

    predicted = await client.post("/predict", json={"inputs": [{"query": QUERY, "documents": DOCUMENTS}]})
    [ranked] = predicted.json()["result"]
    response = await client.post("/v1/rerank", json={"model": "rr", "query": QUERY, "documents": DOCUMENTS})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(r["index"], r["relevance_score"]) for r in body["results"]] == [
        (r["index"], r["score"]) for r in ranked
    ]
    assert all("document" not in r for r in body["results"])  # return_documents defaults to false
    assert body["meta"] == {"billed_units": {"search_units": 1}}
    assert body["model"] == "rr"
    assert isinstance(body["id"], str)
    tokenize = AutoTokenizer.from_pretrained(folder).tokenize
    assert body["usage"]["total_tokens"] == sum(len(tokenize(QUERY)) + len(tokenize(d)) for d in DOCUMENTS)


async def test_top_n_and_documents_as_objects_come_back(client: httpx.AsyncClient) -> None:
    documents = [{"text": text, "id": f"doc-{i}"} for i, text in enumerate(DOCUMENTS)]
    everything = (await client.post("/v1/rerank", json={"query": QUERY, "documents": DOCUMENTS})).json()
    request = {"query": QUERY, "documents": documents, "top_n": 2, "return_documents": True}
    body = (await client.post("/v1/rerank", json=request)).json()
    assert [r["index"] for r in body["results"]] == [r["index"] for r in everything["results"][:2]]
    for result in body["results"]:
        assert result["document"] == documents[result["index"]]
    strings = {"query": QUERY, "documents": DOCUMENTS, "return_documents": True}
    first = (await client.post("/v1/rerank", json=strings)).json()["results"][0]
    assert first["document"] == {"text": DOCUMENTS[first["index"]]}


@pytest.mark.parametrize(
    ("request_body", "status", "message"),
    [
        ({"query": QUERY, "documents": []}, 422, "body: rerank needs at least one document"),
        ({"query": "", "documents": ["a"]}, 422, "query must be a non-empty string"),
        ({"documents": ["a"]}, 422, "body.query"),
        ({"query": QUERY, "documents": ["a"], "top_n": 0}, 422, "body.top_n"),
        ({"query": QUERY, "documents": [{"title": "no text"}]}, 422, "body.documents"),
        ({"query": QUERY, "documents": ["a"], "rank_fields": ["title"]}, 422, "rank_fields"),
        ({"model": "other", "query": QUERY, "documents": ["a"]}, 404, "this worker serves 'rr'"),
    ],
)
async def test_bad_reranks_name_the_problem(
    client: httpx.AsyncClient, request_body: dict[str, object], status: int, message: str
) -> None:
    response = await client.post("/v1/rerank", json=request_body)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]["message"]


async def test_a_deployment_of_another_task_refuses_rerank() -> None:
    spec = chars_spec()
    service = ModelService(
        spec, CharRuntime(spec, Task.FEATURE_EXTRACTION), [ThreadPoolExecutor(max_workers=1)]
    )
    service.start()
    transport = httpx.ASGITransport(app=create_app(service, None))
    async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
        response = await client.post("/v1/rerank", json={"query": QUERY, "documents": ["a"]})
    await service.drain()
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "serves feature-extraction" in message
    assert "needs a text-ranking model" in message
