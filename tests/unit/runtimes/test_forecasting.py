"""The Chronos runtime on tiny random Chronos-Bolt and Chronos-T5 models: shapes, batching, refusals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from berth.errors import InvalidInput, UnsupportedModel
from berth.runtimes import Runtime
from berth.runtimes.forecasting import ChronosRuntime
from berth.runtimes.registry import detect
from berth.sources import extras
from berth.sources.tasks import task_from_config
from berth.spec import Task
from tests import tiny_forecasting, tiny_models

SERIES = [
    [float(v) for v in np.sin(np.arange(40) / 3) * 4 + 10],
    [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0],
    [float(v) for v in np.arange(23) * 0.5 - 3],
]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pytest.importorskip("chronos")
    root = tmp_path_factory.mktemp("forecasting")
    return {
        "bolt": tiny_forecasting.build_chronos_bolt(root / "bolt"),
        "t5": tiny_forecasting.build_chronos_t5(root / "t5"),
    }


@pytest.fixture(scope="module")
def bolt(folders: dict[str, Path]) -> Iterator[Runtime]:
    runtime = tiny_models.load_runtime(folders["bolt"])
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def t5(folders: dict[str, Path]) -> Iterator[Runtime]:
    runtime = tiny_models.load_runtime(folders["t5"])
    yield runtime
    runtime.close()


def _forecast(runtime: Runtime, series: list[list[float]], **params: object) -> list[dict[str, np.ndarray]]:
    items = [runtime.validate_input(s) for s in series]
    return runtime.predict(items, {"prediction_length": 5, **params})


@pytest.mark.parametrize("name", ["bolt", "t5"])
def test_each_folder_is_detected_as_forecasting(folders: dict[str, Path], name: str) -> None:
    config = json.loads((folders[name] / "config.json").read_text())
    assert task_from_config(config) is Task.TIME_SERIES_FORECASTING
    runtime, task = detect(tiny_models.local_model(folders[name]), tiny_models.make_spec(folders[name]))
    assert (runtime, task) == (ChronosRuntime, Task.TIME_SERIES_FORECASTING)


@pytest.mark.parametrize("name", ["bolt", "t5"])
def test_a_forecast_has_the_mean_and_each_quantile_per_step(
    name: str, request: pytest.FixtureRequest
) -> None:
    runtime: Runtime = request.getfixturevalue(name)
    [result] = _forecast(runtime, SERIES[:1], quantile_levels=[0.2, 0.5, 0.8, 0.9])
    assert set(result) == {"mean", "quantiles", "quantile_levels"}
    assert result["mean"].shape == (5,)
    assert result["mean"].dtype == np.float32
    assert result["quantiles"].shape == (5, 4)
    assert result["quantile_levels"].tolist() == pytest.approx([0.2, 0.5, 0.8, 0.9])
    assert np.isfinite(result["quantiles"]).all()
    if name == "t5":  # quantiles of samples are ordered by level (an untrained Bolt's need not be)
        assert (np.diff(result["quantiles"], axis=1) >= -1e-5).all()


def test_bolt_defaults_to_three_levels_and_its_mean_is_its_median(bolt: Runtime) -> None:
    [result] = _forecast(bolt, SERIES[:1])
    assert result["quantile_levels"].tolist() == pytest.approx([0.1, 0.5, 0.9])
    np.testing.assert_allclose(result["mean"], result["quantiles"][:, 1], rtol=1e-6)


@pytest.mark.parametrize("name", ["bolt", "t5"])
def test_a_batch_of_series_of_different_lengths_equals_each_alone(
    name: str, request: pytest.FixtureRequest
) -> None:
    runtime: Runtime = request.getfixturevalue(name)
    batched = _forecast(runtime, SERIES)
    alone = [_forecast(runtime, [s])[0] for s in SERIES]
    for together, single in zip(batched, alone, strict=True):
        np.testing.assert_allclose(together["quantiles"], single["quantiles"], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(together["mean"], single["mean"], rtol=1e-4, atol=1e-4)
    # the series are told apart: a mixed-up batch would fail the comparison above
    assert not np.allclose(alone[0]["mean"], alone[1]["mean"])


def test_a_horizon_past_the_models_own_is_forecast_up_to_its_limit(bolt: Runtime) -> None:
    limit = tiny_forecasting.BOLT_PREDICTION_LENGTH * 4
    [result] = bolt.predict([bolt.validate_input(SERIES[1])], {"prediction_length": limit})
    assert result["quantiles"].shape == (limit, 3)
    with pytest.raises(
        InvalidInput, match=rf"prediction_length {limit + 1} is over this model's limit of {limit}"
    ):
        bolt.validate_params({"prediction_length": limit + 1})


def test_v2_rows_are_taken_as_series(bolt: Runtime) -> None:
    row = np.asarray(SERIES[1], dtype=np.float32)
    [from_row] = bolt.predict([bolt.validate_input(row)], {"prediction_length": 3})
    [from_list] = _forecast(bolt, [SERIES[1]], prediction_length=3)
    np.testing.assert_allclose(from_row["quantiles"], from_list["quantiles"])


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ([], "the series is empty"),
        ([1.0, float("nan"), 2.0], "the series has NaN at index 1"),
        ([1.0, 2.0, float("inf")], "the series has an infinite value at index 2"),
        ("1, 2, 3", "must be a list of numbers"),
        ([[1.0, 2.0], [3.0, 4.0]], "a series is a flat list of numbers, got a nested list"),
        ([1.0, True], "got True"),
        ([1.0, "2"], "got '2'"),
        (np.zeros((2, 3), dtype=np.float32), r"one row of numbers, got an array of shape \[2, 3\]"),
        ([1.0] * (tiny_forecasting.BOLT_CONTEXT_LENGTH + 1), "more than the 64 this model reads"),
        ([1e39], "too large for 32-bit floats"),
    ],
)
def test_a_bad_series_is_refused_naming_the_problem(bolt: Runtime, item: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        bolt.validate_input(item)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "prediction_length is required"),
        ({"quantile_levels": [0.5]}, "prediction_length is required"),
        ({"prediction_length": 0}, "must be a positive integer, got 0"),
        ({"prediction_length": "5"}, "must be a positive integer, got '5'"),
        ({"prediction_length": 2.5}, "must be a positive integer"),
        ({"prediction_length": 3, "quantile_levels": []}, "list of 1 to 99 numbers"),
        ({"prediction_length": 3, "quantile_levels": 0.5}, "list of 1 to 99 numbers"),
        ({"prediction_length": 3, "quantile_levels": [0.5, 1.0]}, "strictly between 0 and 1, got 1.0"),
        ({"prediction_length": 3, "quantile_levels": [0.05, 0.5]}, "within 0.1 to 0.9"),
        ({"prediction_length": 3, "horizon": 3}, "unknown parameter 'horizon'"),
    ],
)
def test_bad_params_are_refused_naming_the_problem(
    bolt: Runtime, params: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        bolt.validate_params(params)
    with pytest.raises(InvalidInput, match=message):  # predict checks them too
        bolt.predict([bolt.validate_input(SERIES[1])], params)


def test_chronos_t5_samples_any_level(t5: Runtime) -> None:
    [result] = _forecast(t5, SERIES[:1], quantile_levels=[0.01, 0.99])
    assert result["quantiles"].shape == (5, 2)


def test_the_signature_is_typed_v2_tensors(bolt: Runtime) -> None:
    signature = bolt.signature()
    assert [(t.name, t.datatype, t.shape) for t in signature.inputs] == [("series", "FP32", (-1, -1))]
    assert [(t.name, t.datatype, t.shape) for t in signature.outputs] == [
        ("mean", "FP32", (-1, -1)),
        ("quantiles", "FP32", (-1, -1, -1)),
        ("quantile_levels", "FP32", (-1, -1)),
    ]


def test_the_warm_up_is_a_real_forecast(bolt: Runtime) -> None:
    item = bolt.validate_input(bolt.warmup_input())
    [result] = bolt.predict([item], bolt.warmup_params())
    assert result["mean"].shape == (tiny_forecasting.BOLT_PREDICTION_LENGTH,)


def test_a_missing_chronos_package_is_named_with_its_pip_command(
    folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    absent = extras.TaskPackage("berth_no_such_module", "chronos-forecasting", "forecasting")
    monkeypatch.setitem(extras.TASK_PACKAGES, Task.TIME_SERIES_FORECASTING, absent)
    runtime = ChronosRuntime(
        tiny_models.local_model(folders["bolt"]),
        tiny_models.make_spec(folders["bolt"]),
        device="cpu",
        task=Task.TIME_SERIES_FORECASTING,
    )
    expected = (
        "time-series-forecasting needs chronos-forecasting, which is not installed: "
        "pip install 'modelberth[forecasting]'"
    )
    with pytest.raises(UnsupportedModel) as caught:
        runtime.load()
    assert caught.value.message == expected


def test_a_chronos_2_folder_is_refused_with_what_is_served(tmp_path: Path) -> None:
    folder = tmp_path / "chronos2"
    folder.mkdir()
    config = {
        "architectures": ["Chronos2Model"],
        "chronos_config": {},
        "chronos_pipeline_class": "Chronos2Pipeline",
    }
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "model.safetensors").write_bytes(b"")
    runtime, task = detect(tiny_models.local_model(folder), tiny_models.make_spec(folder))
    assert runtime is ChronosRuntime
    with pytest.raises(UnsupportedModel, match="Chronos-2 model, which berth does not serve yet"):
        runtime(
            tiny_models.local_model(folder), tiny_models.make_spec(folder), device="cpu", task=task
        ).load()
