"""NVIDIA's tritonclient.http, unchanged, against real workers: binary and JSON, text and FP32 rows."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import orjson
import pytest

from berth.api.types import SignaturePublic
from berth.control.usage import usage_examples
from tests.integration.conftest import WorkerProcess, serve_worker

httpclient = pytest.importorskip("tritonclient.http")
triton_utils = pytest.importorskip("tritonclient.utils")

TEXT = "I love this product!"
ROWS = np.array([[1.0, 2.0, 3.0, 4.0], [0.25, -1.5, 0.0, 8.0], [9.0, 9.0, -9.0, 0.5]], dtype=np.float32)


@pytest.fixture(scope="module")
def minilm(minilm_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    spec = {"name": "minilm", "model": {"source": str(minilm_path)}}
    yield from serve_worker(spec, tmp_path_factory.mktemp("minilm"))


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    spec = {"name": "rows", "model": {"source": "tests.predictors:RowStats"}}
    yield from serve_worker(spec, tmp_path_factory.mktemp("rows"))


def _client(worker: WorkerProcess) -> httpclient.InferenceServerClient:
    return httpclient.InferenceServerClient(url=f"127.0.0.1:{worker.port}")


def _predict_embedding(worker: WorkerProcess, text: str) -> np.ndarray:
    response = httpx.post(f"{worker.url}/predict", json={"text": text}, timeout=30)
    assert response.status_code == 200, response.text
    return np.array(response.json()["result"][0], dtype=np.float32)


def _text_input(binary: bool) -> httpclient.InferInput:
    text = httpclient.InferInput("text", [1], "BYTES")
    text.set_data_from_numpy(np.array([TEXT], dtype=object), binary_data=binary)
    return text


def test_binary_by_default_gives_the_predict_embedding(minilm: WorkerProcess) -> None:
    # As the usage examples' tritonclient call makes it: binary input, and no outputs named, so
    # tritonclient asks for every output as binary data (`binary_data_output: true`).
    result = _client(minilm).infer("minilm", [_text_input(binary=True)])
    [output] = result.get_response()["outputs"]
    assert output["parameters"]["binary_data_size"] == 384 * 4
    embedding = result.as_numpy("embedding")
    assert embedding.shape == (1, 384)
    assert embedding.dtype == np.float32
    assert np.allclose(embedding[0], _predict_embedding(minilm, TEXT), atol=1e-5)


def test_the_deployments_tritonclient_example_runs(minilm: WorkerProcess) -> None:
    # The very code the deployment's usage examples show (berth.control.usage), from the signature
    # the worker reports when ready, run as a user would.
    ready = httpx.get(f"{minilm.url}/health/ready", timeout=10).json()
    signature = SignaturePublic.model_validate(ready["signature"])
    code = usage_examples("minilm", minilm.url, ready["task"], False, signature)["tritonclient"]
    assert "/v2/models/minilm/infer" in code
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("embedding [[")


@pytest.mark.parametrize(("binary_in", "binary_out"), [(False, False), (False, True), (True, False)])
def test_json_and_binary_modes_give_the_same_embedding(
    minilm: WorkerProcess, binary_in: bool, binary_out: bool
) -> None:
    wanted = [httpclient.InferRequestedOutput("embedding", binary_data=binary_out)]
    result = _client(minilm).infer("minilm", [_text_input(binary_in)], outputs=wanted)
    [output] = result.get_response()["outputs"]
    assert ("data" in output) is not binary_out
    assert np.allclose(result.as_numpy("embedding")[0], _predict_embedding(minilm, TEXT), atol=1e-5)


def test_model_metadata_reports_the_signature(minilm: WorkerProcess, rows: WorkerProcess) -> None:
    text = _client(minilm).get_model_metadata("minilm")
    assert text["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1]}]
    assert text["outputs"] == [{"name": "embedding", "datatype": "FP32", "shape": [-1, 384]}]
    numeric = _client(rows).get_model_metadata("rows")
    assert numeric["inputs"] == [{"name": "features", "datatype": "FP32", "shape": [-1, 4]}]
    assert [o["name"] for o in numeric["outputs"]] == ["sum", "scaled"]


@pytest.mark.parametrize("binary", [True, False])
def test_fp32_rows_in_both_outputs_out(rows: WorkerProcess, binary: bool) -> None:
    features = httpclient.InferInput("features", list(ROWS.shape), "FP32")
    features.set_data_from_numpy(ROWS, binary_data=binary)
    result = _client(rows).infer("rows", [features])
    assert result.as_numpy("sum").shape == (3,)
    assert np.allclose(result.as_numpy("sum"), ROWS.sum(axis=1))
    assert np.allclose(result.as_numpy("scaled"), ROWS * 2)


def test_outputs_selection_parameters_and_classification(rows: WorkerProcess) -> None:
    features = httpclient.InferInput("features", list(ROWS.shape), "FP32")
    features.set_data_from_numpy(ROWS)
    only_scaled = [httpclient.InferRequestedOutput("scaled", binary_data=False)]
    result = _client(rows).infer("rows", [features], outputs=only_scaled, parameters={"scale": 0.5})
    assert [o["name"] for o in result.get_response()["outputs"]] == ["scaled"]
    assert result.as_numpy("sum") is None
    assert np.allclose(result.as_numpy("scaled"), ROWS * 0.5)

    top2 = [httpclient.InferRequestedOutput("scaled", class_count=2)]
    classes = _client(rows).infer("rows", [features], outputs=top2).as_numpy("scaled")
    best = np.argsort(-ROWS, axis=1, kind="stable")[:, :2]
    expected = [[f"{ROWS[r, i] * 2:f}:{i}".encode() for i in best[r]] for r in range(len(ROWS))]
    assert classes.tolist() == expected


@pytest.mark.parametrize(
    ("datatype", "shape", "fragment"),
    [
        ("FP64", [3, 4], "input 'features' takes FP32, got FP64"),
        ("FP32", [4, 3], "input 'features' takes shape [-1, 4] (batch first, -1 for any size), got [4, 3]"),
    ],
)
def test_a_wrong_datatype_or_shape_is_a_422_and_the_worker_keeps_serving(
    rows: WorkerProcess, datatype: str, shape: list[int], fragment: str
) -> None:
    features = httpclient.InferInput("features", shape, datatype)
    features.set_data_from_numpy(ROWS.reshape(shape).astype(triton_utils.triton_to_np_dtype(datatype)))
    with pytest.raises(triton_utils.InferenceServerException) as caught:
        _client(rows).infer("rows", [features])
    assert caught.value.status() == "422"
    assert fragment in caught.value.message()
    _assert_still_serving(rows)


def test_a_header_length_over_the_body_is_a_400_and_the_worker_keeps_serving(rows: WorkerProcess) -> None:
    header = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "features",
                    "datatype": "FP32",
                    "shape": [3, 4],
                    "parameters": {"binary_data_size": 48},
                }
            ]
        }
    )
    body = header + ROWS.tobytes()
    response = httpx.post(
        f"{rows.url}/v2/models/rows/infer",
        content=body,
        headers={"Inference-Header-Content-Length": str(len(body) + 1)},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": f"the Inference-Header-Content-Length header says the JSON header is {len(body) + 1} bytes, "
        f"but the whole body is {len(body)} bytes"
    }
    _assert_still_serving(rows)


def _assert_still_serving(worker: WorkerProcess) -> None:
    features = httpclient.InferInput("features", [1, 4], "FP32")
    features.set_data_from_numpy(ROWS[:1])
    assert np.allclose(_client(worker).infer("rows", [features]).as_numpy("sum"), ROWS[:1].sum(axis=1))
