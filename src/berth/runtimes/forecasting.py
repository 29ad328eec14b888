"""Time-series forecasting with Chronos and Chronos-Bolt, through chronos-forecasting.

An input is one series: a flat list of numbers (or a V2 FP32 row), finite, at most the model's
context length. Params: `prediction_length` (required: the steps to forecast) and `quantile_levels`
(default 0.1, 0.5, 0.9). Each input answers {"mean": [H], "quantiles": [H][Q], "quantile_levels": [Q]}:
for step h, `quantiles[h][q]` is the forecast at level `quantile_levels[q]`.

A batch is one `predict_quantiles` call: series of different lengths go in as a list, which
chronos-forecasting left-pads with NaN (its own marker for "no value") and masks, so a series
forecast in a batch equals the same series forecast alone. Chronos-Bolt is deterministic; Chronos
(T5) samples paths from its config's `num_samples`, `temperature`, `top_k` and `top_p`, so two calls
on one series differ by sampling noise, as they do in chronos-forecasting.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from berth.errors import InvalidInput, UnsupportedModel
from berth.runtimes import layout
from berth.runtimes.base import Params, Runtime, Signature, TensorSpec
from berth.runtimes.device import free_device_memory, resolve_dtype
from berth.runtimes.outputs import check_params
from berth.sources import extras
from berth.sources.tasks import model_folder, read_config
from berth.spec import Task

if TYPE_CHECKING:
    from chronos import BaseChronosPipeline

PARAMS = ("prediction_length", "quantile_levels")
DEFAULT_QUANTILE_LEVELS = (0.1, 0.5, 0.9)
MAX_QUANTILE_LEVELS = 99
# NOTE: past its own horizon a Chronos model forecasts by feeding its forecast back in (Bolt: once per
# trained quantile, so the batch grows ninefold); quality degrades with each round, so berth allows
# this many of the model's horizons and no more.
HORIZON_FACTOR = 4
_LONG_HORIZON_WARNING = "We recommend keeping prediction length"
_SIGNATURE = Signature(
    inputs=(TensorSpec("series", "FP32", (-1, -1)),),
    outputs=(
        TensorSpec("mean", "FP32", (-1, -1)),
        TensorSpec("quantiles", "FP32", (-1, -1, -1)),
        TensorSpec("quantile_levels", "FP32", (-1, -1)),
    ),
)


class ChronosRuntime(Runtime):
    """A Chronos or Chronos-Bolt folder (config.json with a `chronos_config`), forecasting batches of series.

    >>> runtime = ChronosRuntime(model, spec, device="cpu", task=Task.TIME_SERIES_FORECASTING)
    >>> runtime.load()
    >>> runtime.predict([[1.0, 2.0, 3.0, 4.0]], {"prediction_length": 2})
    [{'mean': array([4.6, 5.1]), 'quantiles': array([[3.9, 4.6, 5.4], ...]), 'quantile_levels': ...}]
    """

    name = "transformers"
    tasks = frozenset({Task.TIME_SERIES_FORECASTING})

    _pipeline: BaseChronosPipeline | None = None
    _context_length = 0
    _horizon = 0
    _trained_levels: tuple[float, ...] | None = None  # Chronos-Bolt's quantiles; Chronos samples any level

    def load(self) -> None:
        folder = model_folder(self.model)
        config = read_config(folder)
        if not config:
            raise UnsupportedModel(f"{folder} has no config.json, so it cannot be loaded as a Chronos model")
        if config.get("chronos_pipeline_class") == "Chronos2Pipeline":
            raise UnsupportedModel(
                f"{folder} is a Chronos-2 model, which berth does not serve yet; "
                "it serves Chronos (T5) and Chronos-Bolt models"
            )
        layout.check_remote_code(folder, config, self.spec.trust_remote_code)
        layout.check_pickle_policy(folder, self.spec.allow_pickle)
        extras.require_task_package(self.task)
        import chronos
        import chronos.chronos
        import torch
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        # NOTE: Chronos logs a warning on every batch forecast past its horizon; berth caps that itself.
        chronos.chronos.logger.setLevel(logging.ERROR)
        dtype = getattr(torch, resolve_dtype(self.spec.dtype, self.device, layout.config_dtype(config)))
        try:
            pipeline = chronos.BaseChronosPipeline.from_pretrained(
                folder,
                device_map=self.device,
                dtype=dtype,
                trust_remote_code=self.spec.trust_remote_code,
                local_files_only=True,
                # NOTE: None lets transformers fall back to pickle weights; True refuses them outright.
                use_safetensors=None if self.spec.allow_pickle else True,
            )
        except Exception as exc:  # NOTE: loaders raise many types (OSError, ValueError, AssertionError, ...)
            raise UnsupportedModel(f"chronos-forecasting cannot load {folder}: {exc}") from exc
        if not isinstance(pipeline, chronos.ChronosPipeline | chronos.ChronosBoltPipeline):
            raise UnsupportedModel(
                f"{folder} loads as {type(pipeline).__name__}; "
                "berth serves Chronos (T5) and Chronos-Bolt models"
            )
        pipeline.inner_model.to(self.device).eval()
        self._pipeline = pipeline
        self._context_length = int(pipeline.model_context_length)
        self._horizon = int(pipeline.model_prediction_length)
        if isinstance(pipeline, chronos.ChronosBoltPipeline):
            self._trained_levels = tuple(float(q) for q in pipeline.quantiles)

    @property
    def max_prediction_length(self) -> int:
        return HORIZON_FACTOR * self._horizon

    def validate_input(self, item: Any) -> Any:
        if isinstance(item, np.ndarray):
            if item.ndim != 1:
                raise InvalidInput(
                    f"a series is one row of numbers, got an array of shape {list(item.shape)}"
                )
            values = item
        elif isinstance(item, list):
            bad = next((x for x in item if isinstance(x, bool) or not isinstance(x, int | float)), None)
            if bad is not None:
                what = "a nested list" if isinstance(bad, list) else repr(bad)
                raise InvalidInput(
                    f"a series is a flat list of numbers, got {what} in it; send each series as its own input"
                )
            values = np.asarray(item, dtype=np.float64)
        else:
            raise InvalidInput(f"must be a list of numbers (one time series), got {type(item).__name__}")
        if values.size == 0:
            raise InvalidInput("the series is empty; send at least one value")
        if values.size > self._context_length:
            raise InvalidInput(
                f"the series has {values.size} values, more than the {self._context_length} this model "
                f"reads; send its last {self._context_length}"
            )
        finite = np.isfinite(values)
        if not finite.all():
            index = int(np.argmin(finite))
            what = "NaN" if math.isnan(values[index]) else "an infinite value"
            raise InvalidInput(f"the series has {what} at index {index}; fill in or drop missing values")
        if np.abs(values).max() > np.finfo(np.float32).max:
            raise InvalidInput("the series has a value too large for 32-bit floats; rescale it")
        return values.astype(np.float32, copy=False)

    def validate_params(self, params: Params) -> Params:
        self._parse(params)
        return params

    def predict(self, inputs: list[Any], params: Params) -> list[Any]:
        pipeline = self._loaded()
        length, levels = self._parse(params)
        import torch

        series = [torch.from_numpy(np.asarray(x, dtype=np.float32)) for x in inputs]
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_LONG_HORIZON_WARNING)  # Bolt's, past its horizon
            quantiles, mean = pipeline.predict_quantiles(
                series, prediction_length=length, quantile_levels=list(levels)
            )
        quantile_rows = quantiles.float().cpu().numpy()
        mean_rows = mean.float().cpu().numpy()
        level_row = np.asarray(levels, dtype=np.float32)
        return [
            {"mean": mean_rows[i], "quantiles": quantile_rows[i], "quantile_levels": level_row}
            for i in range(len(inputs))
        ]

    def signature(self) -> Signature:
        return _SIGNATURE

    def warmup_input(self) -> Any | None:
        steps = min(self._context_length, 64)
        return np.sin(np.arange(steps, dtype=np.float32) / 4) + 2

    def warmup_params(self) -> Params:
        return {"prediction_length": self._horizon}

    def close(self) -> None:
        self._pipeline = None
        free_device_memory(self.device)

    def _loaded(self) -> BaseChronosPipeline:
        if self._pipeline is None:
            raise UnsupportedModel("the Chronos runtime is not loaded; call load() first")
        return self._pipeline

    def _parse(self, params: Params) -> tuple[int, tuple[float, ...]]:
        check_params(params, PARAMS, self.task)
        limit = self.max_prediction_length
        length = params.get("prediction_length")
        if length is None:
            raise InvalidInput(
                f"parameter prediction_length is required: how many steps to forecast, 1 to {limit}"
            )
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise InvalidInput(f"parameter prediction_length must be a positive integer, got {length!r}")
        if length > limit:
            raise InvalidInput(
                f"parameter prediction_length {length} is over this model's limit of {limit} steps "
                f"({HORIZON_FACTOR} times its horizon of {self._horizon})"
            )
        return length, self._levels(params.get("quantile_levels"))

    def _levels(self, value: Any) -> tuple[float, ...]:
        if value is None:
            return DEFAULT_QUANTILE_LEVELS
        numbers = isinstance(value, list) and all(
            isinstance(q, int | float) and not isinstance(q, bool) for q in value
        )
        if not numbers or not 1 <= len(value) <= MAX_QUANTILE_LEVELS:
            raise InvalidInput(
                f"parameter quantile_levels must be a list of 1 to {MAX_QUANTILE_LEVELS} numbers, "
                f"got {value!r}"
            )
        levels = tuple(float(q) for q in value)
        outside = next((q for q in levels if not 0 < q < 1), None)
        if outside is not None:
            raise InvalidInput(f"parameter quantile_levels must lie strictly between 0 and 1, got {outside}")
        trained = self._trained_levels
        if trained is not None and not min(trained) <= min(levels) <= max(levels) <= max(trained):
            raise InvalidInput(
                f"parameter quantile_levels must lie within {min(trained)} to {max(trained)}, "
                "the levels this Chronos-Bolt model was trained to forecast"
            )
        return levels
