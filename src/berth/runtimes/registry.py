"""Choosing a runtime and task for a model, from the spec or from what its folder holds.

Auto-detection, in order: a Python predictor → python; an .onnx file → onnx; a folder with
modules.json → sentence-transformers; a folder with config.json and weights → transformers; a
folder with only an ONNX graph → onnx. Explicit choices are honoured, and impossible ones refused
with a sentence naming what would work. Importing this module imports no ML library.
"""

from __future__ import annotations

from pathlib import Path

from berth.errors import UnsupportedModel
from berth.runtimes import layout
from berth.runtimes.base import Runtime
from berth.runtimes.device import resolve_device
from berth.runtimes.onnx_runtime import OnnxRuntime, graph_task
from berth.runtimes.python_runtime import PythonRuntime
from berth.runtimes.sentence_transformers_runtime import SentenceTransformersRuntime
from berth.runtimes.transformers_runtime import TransformersRuntime
from berth.sources.types import LocalModel, SourceKind
from berth.spec import DeploymentSpec, RuntimeName, Task

RUNTIMES: dict[RuntimeName, type[Runtime]] = {
    RuntimeName.TRANSFORMERS: TransformersRuntime,
    RuntimeName.SENTENCE_TRANSFORMERS: SentenceTransformersRuntime,
    RuntimeName.ONNX: OnnxRuntime,
    RuntimeName.PYTHON: PythonRuntime,
}


def detect(model: LocalModel, spec: DeploymentSpec) -> tuple[type[Runtime], Task]:
    """The runtime class and task for a model: the spec's choices, or detected where they are `auto`.

    >>> detect(local_minilm, DeploymentSpec(name="m", model={"source": "./minilm"}))
    (<class 'SentenceTransformersRuntime'>, <Task.FEATURE_EXTRACTION: 'feature-extraction'>)
    """
    is_python = model.source.kind is SourceKind.PYTHON
    name = spec.runtime if spec.runtime is not RuntimeName.AUTO else _detect_runtime(model)
    if is_python != (name is RuntimeName.PYTHON):
        if is_python:
            raise UnsupportedModel(
                f"{model.source.reference!r} is a Python predictor, which only the python runtime serves; "
                "use runtime: auto or python"
            )
        raise UnsupportedModel(
            f"the python runtime serves a 'package.module:Class' predictor, not {model.source.reference!r}"
        )
    runtime = RUNTIMES[name]
    if name is RuntimeName.PYTHON:
        return runtime, spec.task  # NOTE: a predictor's task is whatever it does; berth cannot tell
    path = layout.model_path(model)
    _check_fits(name, path, model)
    task = spec.task if spec.task is not Task.AUTO else _detect_task(name, model)
    if task not in runtime.tasks:
        served = ", ".join(sorted(t.value for t in runtime.tasks))
        raise UnsupportedModel(
            f"the {name} runtime cannot serve {task}; it serves {served}"
            + ("; use runtime: transformers" if task in TransformersRuntime.tasks else "")
        )
    return runtime, task


def build_runtime(model: LocalModel, spec: DeploymentSpec) -> Runtime:
    """A runtime for the model, on its resolved device, ready for `load()` (nothing is loaded yet)."""
    runtime, task = detect(model, spec)
    # NOTE: a predictor picks its own device; don't import torch just to guess one for it.
    python_auto = runtime is PythonRuntime and spec.device == "auto"
    device = "cpu" if python_auto else resolve_device(spec.device)
    return runtime(model, spec, device=device, task=task)


def _detect_runtime(model: LocalModel) -> RuntimeName:
    if model.source.kind is SourceKind.PYTHON:
        return RuntimeName.PYTHON
    path = layout.model_path(model)
    if path.is_file():
        if path.suffix == ".onnx":
            return RuntimeName.ONNX
        raise UnsupportedModel(f"{path} is a file berth cannot serve; give a model folder or an .onnx file")
    if layout.is_sentence_transformers(path):
        return RuntimeName.SENTENCE_TRANSFORMERS
    if (path / "config.json").is_file() and layout.has_torch_weights(path):
        return RuntimeName.TRANSFORMERS
    if layout.has_onnx_files(path):
        return RuntimeName.ONNX
    raise UnsupportedModel(
        f"{path} holds no model berth recognises: "
        "expected config.json with weights, modules.json or an .onnx file"
    )


def _check_fits(name: RuntimeName, path: Path, model: LocalModel) -> None:
    if name is RuntimeName.ONNX:
        if layout.find_onnx_file(path) is None:
            raise UnsupportedModel(
                f"the onnx runtime needs an .onnx file, and {path} has none (or several and no model.onnx); "
                "export one or use runtime: transformers"
            )
    elif path.is_file():
        raise UnsupportedModel(
            f"the {name} runtime needs a model folder, not the file {path}; use runtime: onnx"
        )
    elif not (path / "config.json").is_file() and not layout.is_sentence_transformers(path):
        raise UnsupportedModel(
            f"the {name} runtime needs a model folder with config.json, and {path} has none"
        )


def _detect_task(name: RuntimeName, model: LocalModel) -> Task:
    if name is RuntimeName.SENTENCE_TRANSFORMERS:
        return Task.FEATURE_EXTRACTION
    path = layout.model_path(model)
    if name is RuntimeName.ONNX:
        graph = layout.find_onnx_file(path)
        assert graph is not None  # _check_fits found it
        config = layout.read_config(graph.parent) or layout.read_config(layout.model_folder(model))
        task = layout.task_from_config(config) or graph_task(graph)
    else:
        task = layout.task_from_config(layout.read_config(path))
    if task is None:
        raise UnsupportedModel(f"cannot tell which task {path} is for; set task: in the spec")
    return task
