"""The python runtime: a predictor class named `package.module:Class`, as Cog and LitServe shape them.

A predictor is any class that can be built with no arguments and has `predict(batch) -> list` (one
output per input, in order), or `predict(batch, params)` to receive request params. Optional hooks:
`setup()` once at load, `teardown()` at close, and `validate(item)` to check or normalise one input.
The current directory is importable, as uvicorn makes it for `module:app`.

>>> # examples/predictors.py
>>> class WordCounter:
...     def predict(self, batch: list[str]) -> list[dict[str, int]]:
...         return [{"words": len(text.split())} for text in batch]
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from typing import Any

from berth.errors import BerthError, InvalidInput, ModelError, ModelNotFound, UnsupportedModel
from berth.runtimes.base import Params, Runtime, Signature, TensorSpec
from berth.runtimes.device import free_device_memory


class PythonRuntime(Runtime):
    """Serves a user's predictor class; berth batches, times and reports around it."""

    name = "python"

    _predictor: Any = None
    _takes_params = False

    def load(self) -> None:
        target = self.model.source.target or self.model.source.reference
        cls = import_predictor(target)
        try:
            predictor = cls()
            setup = getattr(predictor, "setup", None)
            if callable(setup):
                setup()
        except BerthError:
            raise
        except Exception as exc:
            raise ModelError(f"predictor {target!r} failed to start: {type(exc).__name__}: {exc}") from exc
        predict = getattr(predictor, "predict", None)
        if not callable(predict):
            raise UnsupportedModel(f"predictor {target!r} has no predict(batch) method")
        self._takes_params = _positional_count(predict) >= 2
        self._predictor = predictor
        self._target = target

    def validate_input(self, item: Any) -> Any:
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
        return outputs

    def signature(self) -> Signature:
        return Signature(
            inputs=(TensorSpec("input", "BYTES", (-1,)),), outputs=(TensorSpec("output", "BYTES", (-1,)),)
        )

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


def _positional_count(function: Any) -> int:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return 1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(p.kind in kinds for p in parameters)
