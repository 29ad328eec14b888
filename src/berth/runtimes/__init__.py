"""Runtimes: load a model once, then turn a batch of inputs into one output per input.

One file per runtime (transformers, sentence-transformers, onnx, python); `registry` picks one for a
model and spec. Importing this package imports no ML library: each runtime imports its own in `load`.
"""

from berth.runtimes.base import Audio, Blob, Params, Runtime, Signature, TensorSpec
from berth.runtimes.device import free_device_memory, resolve_device, resolve_dtype
from berth.runtimes.onnx_runtime import OnnxRuntime
from berth.runtimes.python_runtime import PredictorContext, PythonRuntime
from berth.runtimes.registry import RUNTIMES, build_runtime, detect
from berth.runtimes.sentence_transformers_runtime import SentenceTransformersRuntime
from berth.runtimes.transformers_runtime import TransformersRuntime

__all__ = [
    "RUNTIMES",
    "Audio",
    "Blob",
    "OnnxRuntime",
    "Params",
    "PredictorContext",
    "PythonRuntime",
    "Runtime",
    "SentenceTransformersRuntime",
    "Signature",
    "TensorSpec",
    "TransformersRuntime",
    "build_runtime",
    "detect",
    "free_device_memory",
    "resolve_device",
    "resolve_dtype",
]
