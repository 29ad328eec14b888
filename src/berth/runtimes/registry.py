"""Choosing a runtime for a model: the runtime class that serves what task detection picks.

Which runtime and task a model needs is told from its files by `berth.sources.tasks` (the control
plane asks it too); this module maps that answer to a runtime class and builds it on its device.
Importing this module imports no ML library.
"""

from __future__ import annotations

from berth.runtimes.base import Runtime
from berth.runtimes.device import resolve_device
from berth.runtimes.forecasting import ChronosRuntime
from berth.runtimes.llama_cpp import LlamaCppRuntime
from berth.runtimes.onnx_runtime import OnnxRuntime
from berth.runtimes.python_runtime import PythonRuntime
from berth.runtimes.ranking import RankingRuntime
from berth.runtimes.sentence_transformers_runtime import SentenceTransformersRuntime
from berth.runtimes.seq2seq import Seq2SeqRuntime
from berth.runtimes.speech import SpeechRuntime
from berth.runtimes.text_pairs import TextPairRuntime
from berth.runtimes.transformers_runtime import TransformersRuntime
from berth.runtimes.vision import VisionRuntime
from berth.sources import tasks
from berth.sources.types import LocalModel
from berth.spec import DeploymentSpec, RuntimeName, Task

RUNTIMES: dict[RuntimeName, type[Runtime]] = {
    RuntimeName.TRANSFORMERS: TransformersRuntime,
    RuntimeName.SENTENCE_TRANSFORMERS: SentenceTransformersRuntime,
    RuntimeName.ONNX: OnnxRuntime,
    RuntimeName.PYTHON: PythonRuntime,
    RuntimeName.LLAMA_CPP: LlamaCppRuntime,
}
# The transformers runtime's task families beyond the text ones, each in a module of its own; all of
# them are `runtime: transformers` to the user (a model folder with config.json).
TRANSFORMERS_FAMILIES: tuple[type[Runtime], ...] = (
    VisionRuntime,
    SpeechRuntime,
    Seq2SeqRuntime,
    TextPairRuntime,
    RankingRuntime,
    ChronosRuntime,
)
_BY_TASK = {task: family for family in TRANSFORMERS_FAMILIES for task in family.tasks}


def runtime_class(name: RuntimeName, task: Task) -> type[Runtime]:
    """The class serving `task` on runtime `name` (the transformers runtime has one per task family)."""
    if name is RuntimeName.TRANSFORMERS:
        return _BY_TASK.get(task, TransformersRuntime)
    return RUNTIMES[name]


def detect(model: LocalModel, spec: DeploymentSpec) -> tuple[type[Runtime], Task]:
    """The runtime class and task for a model: the spec's choices, or detected where they are `auto`.

    >>> detect(local_minilm, DeploymentSpec(name="m", model={"source": "./minilm"}))
    (<class 'SentenceTransformersRuntime'>, <Task.FEATURE_EXTRACTION: 'feature-extraction'>)
    """
    name, task = tasks.detect(model, spec)
    return runtime_class(name, task), task


def build_runtime(model: LocalModel, spec: DeploymentSpec) -> Runtime:
    """A runtime for the model, on its resolved device, ready for `load()` (nothing is loaded yet)."""
    runtime, task = detect(model, spec)
    # NOTE: a predictor picks its own device; don't import torch just to guess one for it.
    python_auto = runtime is PythonRuntime and spec.device == "auto"
    device = "cpu" if python_auto else resolve_device(spec.device)
    return runtime(model, spec, device=device, task=task)
