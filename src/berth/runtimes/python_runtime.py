"""The python runtime: a predictor class named `package.module:Class`, as Cog and LitServe shape them.

A predictor is any class that can be built with no arguments and has `predict(batch) -> list` (one
output per input, in order), or `predict(batch, params)` to receive request params. Optional hooks:
`setup()` once at load (or `setup(context)`, to receive a `PredictorContext`: where its files are,
the device and dtype berth resolved for it, and the spec's `env`), `teardown()` at close, and
`validate(item)` to check or normalise one input. The current directory is importable, as uvicorn
makes it for `module:app`.

A predictor may declare its V2 signature as class attributes `inputs` and `outputs`, lists of
`berth.runtimes.TensorSpec` (or dicts with `name`, `datatype`, `shape`), the batch dimension first as
-1. Without them it takes one `BYTES` input named `input` (a string per item) and returns `output`.
With one declared input each item is a row of it (a numpy array for numeric datatypes); with several,
a dict of rows keyed by input name. Returning a dict per item answers one V2 output per key.

A `BYTES` tensor may say what it carries (`content`): `"image"` inputs arrive as decoded
`PIL.Image.Image`s (in `image_mode`, RGB by default), `"audio"` inputs as `berth.runtimes.Audio`
(mono float32 samples in [-1, 1] and their rate, resampled to `sample_rate` when it is declared, e.g.
16000 for a speech model), `"file"` inputs as `bytes`. An output may be
`bytes` or a PIL image (its `media_type` declared on the output, e.g. `"model/gltf-binary"`): the
worker answers it as base64 in JSON, or raw when the client's `Accept` asks for that type.

>>> # examples/predictors.py
>>> class WordCounter:
...     def predict(self, batch: list[str]) -> list[dict[str, int]]:
...         return [{"words": len(text.split())} for text in batch]
>>> class RowSums:
...     inputs = [TensorSpec("features", "FP32", (-1, 4))]
...     outputs = [TensorSpec("sum", "FP32", (-1,))]
...     def predict(self, batch: list[np.ndarray]) -> list[dict[str, float]]:
...         return [{"sum": float(row.sum())} for row in batch]
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from berth.errors import BerthError, InvalidInput, ModelError, ModelNotFound, UnsupportedModel
from berth.runtimes.base import (
    AUDIO_RATES,
    CONTENT_KINDS,
    V2_DATATYPES,
    Params,
    Runtime,
    Signature,
    TensorSpec,
)
from berth.runtimes.blobs import as_blobs
from berth.runtimes.device import free_device_memory, resolve_dtype

_DEFAULT_INPUTS = (TensorSpec("input", "BYTES", (-1,)),)
_DEFAULT_OUTPUTS = (TensorSpec("output", "BYTES", (-1,)),)


@dataclass(frozen=True)
class PredictorContext:
    """What `setup(context)` receives: enough to load weights the way berth would.

    >>> class Classifier:
    ...     def setup(self, context: PredictorContext) -> None:
    ...         folder = Path(context.env.get("WEIGHTS", context.model_dir / "weights"))
    ...         self.model = AutoModel.from_pretrained(folder, dtype=context.dtype).to(context.device)
    """

    name: str  # the deployment's name
    model_dir: Path  # the folder of the predictor's module: files shipped beside it live here
    device: str  # "cpu", "cuda" or "cuda:N", resolved from the spec's `device`
    dtype: str  # "float32", "float16" or "bfloat16", resolved from the spec's `dtype` for that device
    env: Mapping[str, str]  # the spec's `env`: the deployment's own settings (paths, options)


class PythonRuntime(Runtime):
    """Serves a user's predictor class; berth batches, times and reports around it."""

    name = "python"

    _predictor: Any = None
    _takes_params = False
    _signature = Signature(inputs=_DEFAULT_INPUTS, outputs=_DEFAULT_OUTPUTS)  # until a predictor declares one

    def load(self) -> None:
        target = self.model.source.target or self.model.source.reference
        cls = import_predictor(target)
        try:
            predictor = cls()
            setup = getattr(predictor, "setup", None)
            if callable(setup):
                if _positional_count(setup) >= 1:
                    setup(self.context(cls))
                else:
                    setup()
        except BerthError:
            raise
        except Exception as exc:
            raise ModelError(f"predictor {target!r} failed to start: {type(exc).__name__}: {exc}") from exc
        predict = getattr(predictor, "predict", None)
        if not callable(predict):
            raise UnsupportedModel(f"predictor {target!r} has no predict(batch) method")
        self._takes_params = _positional_count(predict) >= 2
        self._signature = Signature(
            inputs=declared_tensors(cls, "inputs", target) or _DEFAULT_INPUTS,
            outputs=declared_tensors(cls, "outputs", target) or _DEFAULT_OUTPUTS,
        )
        self._predictor = predictor
        self._target = target

    def context(self, cls: type[Any]) -> PredictorContext:
        """The context `setup(context)` receives for the predictor class `cls`."""
        module = sys.modules.get(cls.__module__)
        module_file = getattr(module, "__file__", None)
        return PredictorContext(
            name=self.spec.name,
            model_dir=Path(module_file).resolve().parent if module_file else Path.cwd(),
            device=self.device,
            dtype=resolve_dtype(self.spec.dtype, self.device),
            env=dict(self.spec.env),
        )

    def validate_input(self, item: Any) -> Any:
        item = as_declared(item, self._signature.inputs)
        validate = getattr(self._loaded(), "validate", None)
        if not callable(validate):
            return item
        try:
            return validate(item)
        except (ValueError, TypeError) as exc:
            raise InvalidInput(str(exc)) from None

    def predict(self, inputs: list[Any], params: Params) -> list[Any]:
        predictor = self._loaded()
        outputs = predictor.predict(inputs, params) if self._takes_params else predictor.predict(inputs)
        if not isinstance(outputs, list) or len(outputs) != len(inputs):
            got = f"a list of {len(outputs)}" if isinstance(outputs, list) else type(outputs).__name__
            raise ModelError(
                f"predictor {self._target!r} must return a list with one output per input; "
                f"it got {len(inputs)} inputs and returned {got}"
            )
        return as_blobs(outputs, self._signature.outputs)

    def signature(self) -> Signature:
        return self._signature

    def close(self) -> None:
        predictor, self._predictor = self._predictor, None
        teardown = getattr(predictor, "teardown", None)
        if callable(teardown):
            teardown()
        free_device_memory(self.device)

    def _loaded(self) -> Any:
        if self._predictor is None:
            raise UnsupportedModel("the python runtime is not loaded; call load() first")
        return self._predictor


def import_predictor(target: str) -> type[Any]:
    """The class named by `package.module:Class`, or `ModelNotFound` saying why it cannot be had."""
    module_name, _, class_name = target.partition(":")
    if not module_name or not class_name:
        raise ModelNotFound(f"cannot import {target!r}: name a predictor class as 'package.module:Class'")
    if os.getcwd() not in sys.path:  # NOTE: like uvicorn, so `berth deploy mymodule:Predictor` just works
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # a module that fails while importing is as unusable as a missing one
        raise ModelNotFound(f"cannot import {target!r}: {type(exc).__name__}: {exc}") from exc
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise ModelNotFound(f"cannot import {target!r}: module {module_name!r} has no class {class_name!r}")
    return cls


def as_declared(item: Any, declared: tuple[TensorSpec, ...]) -> Any:
    """An item with each numeric input as the numpy row the predictor declared (a numpy scalar for a
    `[N]` tensor), whatever the protocol delivered it as: V2 sends arrays, `/predict` JSON sends lists."""
    if len(declared) == 1:
        return _numeric_row(item, declared[0])
    if not isinstance(item, dict):
        return item
    tensors = {tensor.name: tensor for tensor in declared}
    return {
        key: _numeric_row(value, tensors[key]) if key in tensors else value for key, value in item.items()
    }


def _numeric_row(value: Any, tensor: TensorSpec) -> Any:
    if tensor.datatype == "BYTES" or isinstance(value, np.ndarray | np.generic):
        return value
    row_shape = list(tensor.shape[1:])
    try:
        array = np.asarray(value, dtype=V2_DATATYPES[tensor.datatype])
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput(
            f"input {tensor.name!r} takes {tensor.datatype} rows of shape {row_shape} (-1 for any size), "
            f"got {str(value)[:60]}"
        ) from None
    fits = all(want < 0 or want == got for want, got in zip(row_shape, array.shape, strict=False))
    if array.ndim != len(row_shape) or not fits:
        raise InvalidInput(
            f"input {tensor.name!r} takes {tensor.datatype} rows of shape {row_shape} (-1 for any size), "
            f"got shape {list(array.shape)}"
        )
    return array[()] if array.ndim == 0 else array


def declared_tensors(cls: type[Any], attribute: str, target: str) -> tuple[TensorSpec, ...]:
    """A predictor's `inputs` or `outputs` declaration as TensorSpecs (empty when it declares none)."""
    declared = getattr(cls, attribute, None)
    if declared is None:
        return ()
    if not isinstance(declared, list | tuple) or not declared:
        raise UnsupportedModel(f"predictor {target!r}: {attribute} must be a non-empty list of TensorSpec")
    tensors = []
    for index, item in enumerate(declared):
        where = f"predictor {target!r}: {attribute}[{index}]"
        if isinstance(item, dict):
            try:
                item = TensorSpec(
                    str(item["name"]),
                    str(item["datatype"]),
                    tuple(item["shape"]),
                    **{
                        key: item[key]
                        for key in ("content", "media_type", "image_mode", "sample_rate")
                        if key in item
                    },
                )
            except (KeyError, TypeError) as exc:
                raise UnsupportedModel(f"{where} needs name, datatype and shape ({exc})") from None
        if not isinstance(item, TensorSpec):
            raise UnsupportedModel(f"{where} must be a TensorSpec, got {type(item).__name__}")
        if item.datatype not in V2_DATATYPES:
            known = ", ".join(V2_DATATYPES)
            raise UnsupportedModel(f"{where}: unknown datatype {item.datatype!r}; use one of {known}")
        shape = tuple(item.shape)
        if not shape or shape[0] != -1 or not all(isinstance(d, int) and d >= -1 for d in shape):
            raise UnsupportedModel(f"{where}: shape {list(shape)} must start with the batch dimension, -1")
        _check_content(item, where, attribute)
        tensors.append(dataclasses.replace(item, shape=shape))
    names = [tensor.name for tensor in tensors]
    if len(set(names)) != len(names):
        raise UnsupportedModel(f"predictor {target!r}: {attribute} names a tensor twice: {names}")
    return tuple(tensors)


def _check_content(tensor: TensorSpec, where: str, attribute: str) -> None:
    if tensor.sample_rate is not None:
        rate = tensor.sample_rate
        if tensor.content != "audio" or attribute != "inputs":
            raise UnsupportedModel(f"{where}: sample_rate is for inputs with content 'audio' only")
        if isinstance(rate, bool) or not isinstance(rate, int) or rate not in AUDIO_RATES:
            span = f"{AUDIO_RATES.start}..{AUDIO_RATES.stop - 1}"
            raise UnsupportedModel(f"{where}: sample_rate must be whole Hz in {span}, not {rate!r}")
    if tensor.content is None:
        if tensor.media_type is not None:
            raise UnsupportedModel(f"{where}: a media_type needs content 'file' or 'image'")
        return
    if tensor.content not in CONTENT_KINDS:
        known = ", ".join(CONTENT_KINDS)
        raise UnsupportedModel(f"{where}: unknown content {tensor.content!r}; use one of {known}")
    if tensor.datatype != "BYTES":
        raise UnsupportedModel(f"{where}: content {tensor.content!r} needs BYTES, not {tensor.datatype}")
    if tensor.media_type is not None and (tensor.content == "text" or "/" not in tensor.media_type):
        raise UnsupportedModel(
            f"{where}: media_type {tensor.media_type!r} must be 'type/subtype' on a 'file' or 'image' tensor"
        )


def _positional_count(function: Any) -> int:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return 1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(p.kind in kinds for p in parameters)
