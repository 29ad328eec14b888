"""A worker process serving a tiny Chronos-Bolt: /predict, V2 metadata and infer, and each bad input a 422."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import orjson
import pytest

from tests import tiny_forecasting
from tests.integration.conftest import WorkerProcess, launch_worker

NAME = "tiny-bolt"
LIMIT = tiny_forecasting.BOLT_PREDICTION_LENGTH * 4
SHORT = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]
LONG = [float(v) for v in np.sin(np.arange(30) / 3) * 4 + 10]


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    pytest.importorskip("chronos")
    root = tmp_path_factory.mktemp("forecasting")
    folder = tiny_forecasting.build_chronos_bolt(root / "bolt")
    process = launch_worker({"name": NAME, "model": {"source": str(folder)}}, root)
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def _predict(worker: WorkerProcess, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{worker.url}/predict", json=body, timeout=30)


def _message(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    body = response.json()
    return str(body["error"] if isinstance(body["error"], str) else body["error"]["message"])


def test_predict_forecasts_each_series_and_a_batch_equals_each_alone(worker: WorkerProcess) -> None:
    params = {"prediction_length": 6, "quantile_levels": [0.1, 0.5, 0.9]}
    together = _predict(worker, {"inputs": [SHORT, LONG], "parameters": params})
    assert together.status_code == 200, together.text
    results = together.json()["result"]
    assert len(results) == 2
    for result in results:
        assert len(result["mean"]) == 6
        assert [len(step) for step in result["quantiles"]] == [3] * 6
        assert result["quantile_levels"] == pytest.approx([0.1, 0.5, 0.9])
    for series, result in zip((SHORT, LONG), results, strict=True):
        alone = _predict(worker, {"inputs": [series], "parameters": params}).json()["result"][0]
        np.testing.assert_allclose(result["quantiles"], alone["quantiles"], rtol=1e-4, atol=1e-4)
    assert not np.allclose(results[0]["mean"], results[1]["mean"])


def test_v2_metadata_names_the_series_and_forecast_tensors(worker: WorkerProcess) -> None:
    metadata = httpx.get(f"{worker.url}/v2/models/{NAME}", timeout=10).json()
    assert metadata["inputs"] == [{"name": "series", "datatype": "FP32", "shape": [-1, -1]}]
    assert [(o["name"], o["datatype"], o["shape"]) for o in metadata["outputs"]] == [
        ("mean", "FP32", [-1, -1]),
        ("quantiles", "FP32", [-1, -1, -1]),
        ("quantile_levels", "FP32", [-1, -1]),
    ]


def test_v2_infer_answers_mean_and_quantile_tensors_matching_predict(worker: WorkerProcess) -> None:
    rows = [LONG[:8], SHORT]
    request = {
        "inputs": [{"name": "series", "datatype": "FP32", "shape": [2, 8], "data": rows}],
        "parameters": {"prediction_length": 4, "quantile_levels": [0.2, 0.8]},
    }
    response = httpx.post(f"{worker.url}/v2/models/{NAME}/infer", json=request, timeout=30)
    assert response.status_code == 200, response.text
    outputs = {o["name"]: o for o in response.json()["outputs"]}
    assert outputs["mean"]["shape"] == [2, 4]
    assert outputs["quantiles"]["shape"] == [2, 4, 2]
    assert outputs["quantile_levels"]["shape"] == [2, 2]
    assert outputs["quantiles"]["datatype"] == "FP32"
    quantiles = np.asarray(outputs["quantiles"]["data"]).reshape(2, 4, 2)
    body = {"inputs": rows, "parameters": {"prediction_length": 4, "quantile_levels": [0.2, 0.8]}}
    expected = [r["quantiles"] for r in _predict(worker, body).json()["result"]]
    np.testing.assert_allclose(quantiles, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"inputs": [SHORT]}, "parameter prediction_length is required"),
        ({"inputs": [SHORT], "parameters": {"prediction_length": LIMIT + 1}}, f"limit of {LIMIT} steps"),
        (
            {"inputs": [SHORT, []], "parameters": {"prediction_length": 2}},
            "body.inputs[1]: the series is empty",
        ),
        ({"text": "1 2 3", "parameters": {"prediction_length": 2}}, "must be a list of numbers"),
        (
            {"inputs": [SHORT], "parameters": {"prediction_length": 2, "quantile_levels": [1.5]}},
            "between 0 and 1",
        ),
    ],
)
def test_each_bad_request_is_a_422_naming_the_problem(
    worker: WorkerProcess, body: dict[str, Any], message: str
) -> None:
    assert message in _message(_predict(worker, body))


def test_a_nan_in_a_series_is_a_422_naming_it(worker: WorkerProcess) -> None:
    # NOTE: strict JSON has no NaN; clients that write it anyway (Python's json) send the bare token.
    raw = b'{"inputs": [[1.0, NaN, 3.0]], "parameters": {"prediction_length": 2}}'
    response = httpx.post(
        f"{worker.url}/predict", content=raw, headers={"content-type": "application/json"}, timeout=30
    )
    assert response.status_code == 422, response.text
    # and through V2's binary extension, where a float32 NaN travels as its bytes
    series = np.array([1.0, 2.0, math.nan, 4.0], dtype=np.float32)
    header = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "series",
                    "datatype": "FP32",
                    "shape": [1, 4],
                    "parameters": {"binary_data_size": series.nbytes},
                }
            ],
            "parameters": {"prediction_length": 2},
        }
    )
    binary = httpx.post(
        f"{worker.url}/v2/models/{NAME}/infer",
        content=header + series.tobytes(),
        headers={
            "content-type": "application/octet-stream",
            "inference-header-content-length": str(len(header)),
        },
        timeout=30,
    )
    assert "the series has NaN at index 2" in _message(binary)


def test_v2_without_prediction_length_is_a_422(worker: WorkerProcess) -> None:
    request = {"inputs": [{"name": "series", "datatype": "FP32", "shape": [1, 3], "data": [1.0, 2.0, 3.0]}]}
    response = httpx.post(f"{worker.url}/v2/models/{NAME}/infer", json=request, timeout=30)
    assert "parameter prediction_length is required" in _message(response)
