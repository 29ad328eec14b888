"""The worker's protocols in-process (httpx over ASGI), on a small torch-free runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from berth.api.types import SignaturePublic, TensorPublic
from berth.runtimes.base import Signature, TensorSpec
from berth.spec import Task
from berth.worker.app import DirectRoutes, create_app, signature_public
from berth.worker.service import ModelService
from tests.unit.worker.conftest import CharRuntime, make_spec

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _client(task: Task = Task.FEATURE_EXTRACTION, api_key: str | None = None, **spec: Any) -> Any:
    executor = ThreadPoolExecutor(max_workers=1)
    service = ModelService(make_spec(**spec), CharRuntime(make_spec(**spec), task), [executor])
    service.start()
    transport = httpx.ASGITransport(app=create_app(service, api_key))
    return service, httpx.AsyncClient(transport=transport, base_url="http://worker")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    service, client = await _client()
    async with client:
        yield client
    await service.drain()


async def test_predict_text_returns_the_predict_shape(client: httpx.AsyncClient) -> None:
    response = await client.post("/predict", json={"text": "I love this"})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success"
    assert body["deployment_id"] == "chars"
    assert body["result"] == [[11.0, 3.0, 3.0]]
    assert body["inference_time_ms"] > 0


async def test_predict_inputs_list(client: httpx.AsyncClient) -> None:
    response = await client.post("/predict", json={"inputs": ["a", "bb cc"]})
    assert response.json()["result"] == [[1.0, 1.0, 1.0], [5.0, 0.0, 2.0]]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "body: Invalid JSON"),
        (b"", "body is empty"),
        (b'{"text": "a", "inputs": ["b"]}', 'exactly one of "text"'),
        (b'{"txt": "a"}', "body.txt: unknown field"),
        (b'{"inputs": ["ok", 3]}', "body.inputs[1]: must be a string"),
        (b'{"inputs": []}', "body.inputs"),
        (b'{"text": 5}', "body.text"),
    ],
)
async def test_malformed_requests_are_422_naming_the_field(
    client: httpx.AsyncClient, body: bytes, fragment: str
) -> None:
    response = await client.post("/predict", content=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert fragment in error["message"]


async def test_bodies_over_the_limit_are_413() -> None:
    service, client = await _client(limits={"max_request_bytes": 2048})
    async with client:
        response = await client.post("/predict", json={"text": "x" * 5000})
        assert response.status_code == 413
        assert "limits.max_request_bytes" in response.json()["error"]["message"]

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while reading
            for _ in range(5):
                yield b" " * 1000

        response = await client.post("/predict", content=chunks())
        assert response.status_code == 413
    await service.drain()


async def test_model_failure_is_500_without_a_trace_and_the_worker_keeps_serving(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/predict", json={"text": "boom"})
    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "code": "model_error",
            "message": "the model failed on this input; the worker log has the details",
        }
    }
    assert (await client.post("/predict", json={"text": "fine"})).status_code == 200


async def test_unknown_route_and_method(client: httpx.AsyncClient) -> None:
    missing = await client.get("/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = await client.get("/predict")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"


async def test_fixed_paths_skip_the_router_and_parameterised_ones_do_not() -> None:
    service, client = await _client()
    app = client._transport.app  # the ASGI app under test
    assert isinstance(app, DirectRoutes)
    assert {("POST", "/predict"), ("POST", "/v1/embeddings"), ("GET", "/health/ready")} <= set(app.endpoints)
    assert not [path for _, path in app.endpoints if "{" in path]  # /v2/models/{model}/... via Starlette
    async with client:
        chunks = [b'{"inputs": ', b'["ab", ', b'"c"]}']  # a body in several ASGI messages

        async def body() -> AsyncIterator[bytes]:
            for chunk in chunks:
                yield chunk

        response = await client.post("/predict", content=body())
        assert response.status_code == 200
        assert len(response.json()["result"]) == 2
    await service.drain()


async def test_api_key_is_required_except_on_health_probes() -> None:
    service, client = await _client(api_key="s3cret")
    async with client:
        assert (await client.get("/health/ready")).status_code == 200
        assert (await client.get("/v2/health/live")).status_code == 200
        refused = await client.post("/predict", json={"text": "a"})
        assert refused.status_code == 401
        assert "API key" in refused.json()["error"]["message"]
        wrong = await client.post("/predict", json={"text": "a"}, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        bearer = await client.post("/predict", json={"text": "a"}, headers={"Authorization": "Bearer s3cret"})
        assert bearer.status_code == 200
        header = await client.get("/metrics", headers={"X-API-Key": "s3cret"})
        assert header.status_code == 200
    await service.drain()


async def test_health_and_metrics(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health/live")).json()["status"] == "live"
    assert (await client.get("/health/ready")).json()["status"] == "ready"
    await client.post("/predict", json={"inputs": ["a", "b"]})
    text = (await client.get("/metrics")).text
    assert 'berth_requests_total{route="predict",status="200"} 1.0' in text
    assert "berth_batch_size_count" in text
    assert "berth_queue_depth 0.0" in text
    assert "berth_request_duration_seconds_bucket" in text


async def test_v2_metadata_ready_and_infer(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v2")).json()["name"] == "berth"
    assert (await client.get("/v2/health/ready")).json() == {"ready": True}
    assert (await client.get("/v2/models/chars/ready")).json() == {"name": "chars", "ready": True}
    metadata = (await client.get("/v2/models/chars")).json()
    assert metadata["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1]}]
    request = {
        "id": "r1",
        "inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": ["ab", "cde"]}],
    }
    body = (await client.post("/v2/models/chars/infer", json=request)).json()
    assert body["id"] == "r1"
    assert body["model_name"] == "chars"
    assert body["outputs"] == [
        {"name": "embedding", "datatype": "FP32", "shape": [2, 3], "data": [2.0, 1.0, 1.0, 3.0, 1.0, 1.0]}
    ]


@pytest.mark.parametrize(
    ("tensor", "fragment"),
    [
        ({"name": "text", "shape": [3], "datatype": "BYTES", "data": ["a"]}, "body.inputs[0].shape"),
        ({"name": "text", "shape": [1], "datatype": "FP32", "data": [1.0]}, "body.inputs[0].datatype"),
        ({"name": "image", "shape": [1], "datatype": "BYTES", "data": ["a"]}, "unknown input 'image'"),
    ],
)
async def test_v2_rejects_bad_tensors_in_protocol_shape(
    client: httpx.AsyncClient, tensor: dict[str, Any], fragment: str
) -> None:
    response = await client.post("/v2/models/chars/infer", json={"inputs": [tensor]})
    assert response.status_code == 422
    assert fragment in response.json()["error"]


async def test_v2_unknown_model_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/models/other")
    assert response.status_code == 404
    assert "serves 'chars'" in response.json()["error"]


async def test_openai_embeddings(client: httpx.AsyncClient) -> None:
    body = (await client.post("/v1/embeddings", json={"model": "chars", "input": ["ab", "c d"]})).json()
    assert body["object"] == "list"
    assert [d["embedding"] for d in body["data"]] == [[2.0, 1.0, 1.0], [3.0, 0.0, 2.0]]
    assert body["usage"]["prompt_tokens"] == 3
    models = (await client.get("/v1/models")).json()
    assert models["data"][0]["id"] == "chars"
    wrong_model = await client.post("/v1/embeddings", json={"model": "gpt-4", "input": "a"})
    assert wrong_model.status_code == 404
    no_chat = await client.post(
        "/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]}
    )
    assert no_chat.status_code == 422
    assert "needs a text-generation model" in no_chat.json()["error"]["message"]


async def test_the_ready_body_reports_the_signature(
    client: httpx.AsyncClient,
) -> None:
    body = (await client.get("/health/ready")).json()
    assert body["signature"] == {
        "inputs": [{"name": "text", "datatype": "BYTES", "shape": [-1], "content": None, "media_type": None}],
        "outputs": [
            {"name": "embedding", "datatype": "FP32", "shape": [-1, 3], "content": None, "media_type": None}
        ],
    }
    assert SignaturePublic.model_validate(body["signature"]).outputs[0].shape == [-1, 3]


def test_the_public_signature_reports_the_batch_as_minus_one_and_keeps_the_content() -> None:
    mesh = TensorSpec("mesh", "BYTES", (8,), content="file", media_type="model/gltf-binary")
    public = signature_public(
        Signature(inputs=(TensorSpec("image", "BYTES", (1,), content="image"),), outputs=(mesh,))
    )
    assert public.inputs == [TensorPublic(name="image", datatype="BYTES", shape=[-1], content="image")]
    assert public.outputs == [
        TensorPublic(
            name="mesh", datatype="BYTES", shape=[-1], content="file", media_type="model/gltf-binary"
        )
    ]
