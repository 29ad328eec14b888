"""The V2 routes in-process (httpx over ASGI): rows, several inputs, outputs, parameters, binary bodies."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np
import pytest

from berth.errors import MalformedRequest, ModelError
from berth.runtimes import TensorSpec
from berth.worker.app import create_app
from berth.worker.protocols.v2_outputs import classify, output_tensors
from berth.worker.protocols.v2_types import OutputTensor
from berth.worker.service import ModelService
from tests.unit.worker.conftest import CharRuntime, binary_body, serve_predictor, split_response
from tests.unit.worker.conftest import make_spec as chars_spec

pytestmark = pytest.mark.anyio
ROWS = np.array([[1, 2, 3, 4], [0.5, -1, 0, 8]], dtype=np.float32)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def rows() -> AsyncIterator[httpx.AsyncClient]:
    async for client in serve_predictor("tests.predictors:RowStats"):
        yield client


@pytest.fixture
async def pairs() -> AsyncIterator[httpx.AsyncClient]:
    async for client in serve_predictor("tests.predictors:PairJoiner"):
        yield client


@pytest.fixture
async def chars() -> AsyncIterator[httpx.AsyncClient]:
    spec = chars_spec()
    runtime = CharRuntime(spec)
    service = ModelService(spec, runtime, [ThreadPoolExecutor(max_workers=1)])
    service.start()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(service, None)), base_url="http://w"
    ) as client:
        client.runtime = runtime  # type: ignore[attr-defined]
        yield client
    await service.drain()


def _features(array: np.ndarray, **tensor: Any) -> dict[str, Any]:
    return {"name": "features", "datatype": "FP32", "shape": list(array.shape), **tensor}


async def test_metadata_reports_the_declared_signature(rows: httpx.AsyncClient) -> None:
    metadata = (await rows.get("/v2/models/m")).json()
    assert metadata["inputs"] == [{"name": "features", "datatype": "FP32", "shape": [-1, 4]}]
    assert metadata["outputs"] == [
        {"name": "sum", "datatype": "FP32", "shape": [-1]},
        {"name": "scaled", "datatype": "FP32", "shape": [-1, 4]},
    ]


async def test_a_2_by_4_tensor_is_two_rows_and_both_outputs_come_back(rows: httpx.AsyncClient) -> None:
    request = {"inputs": [_features(ROWS, data=ROWS.tolist())]}  # nested row-major lists
    body = (await rows.post("/v2/models/m/infer", json=request)).json()
    out = {o["name"]: o for o in body["outputs"]}
    assert out["sum"]["shape"] == [2]
    assert np.allclose(out["sum"]["data"], ROWS.sum(axis=1))
    assert out["scaled"]["shape"] == [2, 4]
    assert np.allclose(np.array(out["scaled"]["data"]).reshape(2, 4), ROWS * 2)


async def test_outputs_selection_and_model_parameters(rows: httpx.AsyncClient) -> None:
    request = {
        "parameters": {"scale": 3, "binary_data_output": False},  # the protocol's never reaches the model
        "inputs": [_features(ROWS, data=ROWS.ravel().tolist())],
        "outputs": [{"name": "scaled"}],
    }
    response = await rows.post("/v2/models/m/infer", json=request)
    assert response.status_code == 200, response.text
    [scaled] = response.json()["outputs"]
    assert scaled["name"] == "scaled"
    assert np.allclose(scaled["data"], (ROWS * 3).ravel())
    request["outputs"] = [{"name": "mean"}]
    unknown = await rows.post("/v2/models/m/infer", json=request)
    assert unknown.status_code == 422
    assert "unknown output 'mean'; this model returns 'sum', 'scaled'" in unknown.json()["error"]


async def test_binary_in_and_out_as_tritonclient_sends_them(rows: httpx.AsyncClient) -> None:
    header = {
        "inputs": [_features(ROWS, parameters={"binary_data_size": ROWS.nbytes})],
        "outputs": [{"name": "sum", "parameters": {"binary_data": True}}, {"name": "scaled"}],
    }
    content, headers = binary_body(header, ROWS.tobytes())
    response = await rows.post("/v2/models/m/infer", content=content, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    json_header, data = split_response(response)
    total, scaled = json_header["outputs"]
    assert total["parameters"] == {"binary_data_size": 8}
    assert "data" not in total
    assert np.array_equal(np.frombuffer(data, dtype="<f4"), ROWS.sum(axis=1))
    assert np.allclose(scaled["data"], (ROWS * 2).ravel())  # binary_data not asked: JSON


async def test_classification_returns_top_k_value_index_strings(rows: httpx.AsyncClient) -> None:
    request = {
        "inputs": [_features(ROWS, data=ROWS.ravel().tolist())],
        "outputs": [{"name": "scaled", "parameters": {"classification": 2}}],
    }
    [classes] = (await rows.post("/v2/models/m/infer", json=request)).json()["outputs"]
    assert classes["datatype"] == "BYTES"
    assert classes["shape"] == [2, 2]
    expected = [f"{v * 2:f}:{i}" for row in ROWS for i, v in sorted(enumerate(row), key=lambda p: -p[1])[:2]]
    assert classes["data"] == expected


@pytest.mark.parametrize(
    ("tensor", "status", "fragment"),
    [
        (_features(ROWS, datatype="FP64", data=ROWS.ravel().tolist()), 422, "takes FP32, got FP64"),
        ({**_features(ROWS[:, :3]), "data": ROWS[:, :3].ravel().tolist()}, 422, "takes shape [-1, 4]"),
        (_features(ROWS, data=["a"] * 8), 422, "FP32 elements must be numbers"),
        (_features(ROWS, name="image", data=[0.0] * 8), 422, "unknown input 'image'"),
        (_features(ROWS, data=[0.0] * 8, parameters={"binary_data_size": 32}), 400, "both data and binary"),
    ],
)
async def test_bad_tensors_name_the_tensor_and_what_was_expected(
    rows: httpx.AsyncClient, tensor: dict[str, Any], status: int, fragment: str
) -> None:
    response = await rows.post("/v2/models/m/infer", json={"inputs": [tensor]})
    assert response.status_code == status
    assert fragment in response.json()["error"]


async def test_binary_bodies_that_do_not_add_up_are_400(rows: httpx.AsyncClient) -> None:
    header = {"inputs": [_features(ROWS, parameters={"binary_data_size": ROWS.nbytes})]}
    content, headers = binary_body(header, ROWS.tobytes()[:-4])
    short = await rows.post("/v2/models/m/infer", content=content, headers=headers)
    assert short.status_code == 400
    assert "add up to more than the 28 bytes" in short.json()["error"]
    over = await rows.post(
        "/v2/models/m/infer", content=content, headers={"Inference-Header-Content-Length": "100000"}
    )
    assert over.status_code == 400
    assert "but the whole body is" in over.json()["error"]
    nan = await rows.post(
        "/v2/models/m/infer", content=content, headers={"Inference-Header-Content-Length": "x"}
    )
    assert nan.status_code == 400
    raw = await rows.post(
        "/v2/models/m/infer", content=content, headers={"Content-Type": "application/octet-stream"}
    )
    assert raw.status_code == 400
    assert "needs the Inference-Header-Content-Length header" in raw.json()["error"]


async def test_several_named_inputs_make_one_dict_per_row(pairs: httpx.AsyncClient) -> None:
    left = {"name": "left", "datatype": "BYTES", "shape": [2], "data": ["good", "bad"]}
    words = [b"morning", b"night"]
    right_raw = b"".join(struct.pack("<I", len(w)) + w for w in words)
    right = {
        "name": "right",
        "datatype": "BYTES",
        "shape": [2],
        "parameters": {"binary_data_size": len(right_raw)},
    }
    content, headers = binary_body(
        {"inputs": [left, right], "parameters": {"binary_data_output": True}}, right_raw
    )
    response = await pairs.post("/v2/models/m/infer", content=content, headers=headers)
    assert response.status_code == 200, response.text
    json_header, data = split_response(response)
    [joined] = json_header["outputs"]
    assert joined["parameters"]["binary_data_size"] == len(data)
    assert data == b"".join(struct.pack("<I", len(s)) + s for s in (b"good morning", b"bad night"))
    missing = await pairs.post("/v2/models/m/infer", json={"inputs": [left]})
    assert missing.status_code == 422
    assert "input 'right' is missing" in missing.json()["error"]
    uneven = {**left, "shape": [1], "data": ["x"]}
    mixed = await pairs.post("/v2/models/m/infer", json={"inputs": [uneven, {**left, "name": "right"}]})
    assert "the same first (batch) dimension" in mixed.json()["error"]


async def test_protocol_parameters_never_reach_a_model_that_takes_none(chars: httpx.AsyncClient) -> None:
    request = {
        "parameters": {"binary_data_output": True},
        "inputs": [{"name": "text", "datatype": "BYTES", "shape": [2], "data": ["ab", "cde"]}],
    }
    response = await chars.post("/v2/models/chars/infer", json=request)
    assert response.status_code == 200, response.text
    json_header, data = split_response(response)
    assert json_header["outputs"][0]["shape"] == [2, 3]
    assert np.array_equal(np.frombuffer(data, "<f4").reshape(2, 3), [[2, 1, 1], [3, 1, 1]])
    assert chars.runtime.batches == [["ab", "cde"]]  # type: ignore[attr-defined]
    refused = await chars.post(
        "/v2/models/chars/infer",
        json={**request, "outputs": [{"name": "embedding", "parameters": {"shared_memory_region": "r"}}]},
    )
    assert refused.status_code == 400
    assert "no shared-memory extension" in refused.json()["error"]


def test_classify_ranks_by_value_and_writes_integers_as_integers() -> None:
    tensor = OutputTensor("counts", "INT64", np.array([[1, 5, 10, 4]], dtype=np.int64))
    assert classify(tensor, 2).array.tolist() == [["10:2", "5:1"]]
    assert classify(tensor, 9).array.shape == (1, 4)  # at most every class
    with pytest.raises(MalformedRequest, match="classification needs a numeric output"):
        classify(OutputTensor("label", "BYTES", np.array(["a"], dtype=object)), 1)


def test_a_result_that_does_not_fit_its_declared_output_is_a_model_error() -> None:
    declared = (TensorSpec("scaled", "FP32", (-1, 4)),)
    [good] = output_tensors([[1, 2, 3, 4], [5, 6, 7, 8]], declared)
    assert good.array.dtype == np.float32
    assert good.array.shape == (2, 4)
    with pytest.raises(ModelError, match=r"declared FP32 \[-1, 4\], but the model returned shape \[2, 3\]"):
        output_tensors([np.zeros(3), np.zeros(3)], declared)
