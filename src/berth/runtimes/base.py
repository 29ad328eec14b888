"""The runtime contract: load a model once, then predict on a batch.

Batching, timeouts, protocols and metrics live in the worker and wrap this contract; a runtime only
turns a list of inputs into a list of outputs, one per input, in order. Adding a runtime means
adding one file that subclasses `Runtime` and registering it in `berth.runtimes.registry`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from berth.errors import UnsupportedModel
from berth.sources.types import LocalModel
from berth.spec import DeploymentSpec, Task

Params = dict[str, Any]  # per-request options, e.g. generation's max_new_tokens; empty for most tasks


@dataclass(frozen=True)
class TensorSpec:
    """One input or output as the Open Inference Protocol describes it."""

    name: str
    datatype: str  # V2 datatypes: BYTES, FP32, INT64, ...
    shape: tuple[int, ...]  # -1 for a variable dimension, the batch dimension included


@dataclass(frozen=True)
class Signature:
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


class Runtime(ABC):
    """A loaded model that predicts on batches.

    Every method is called from a model thread. A runtime that keeps `lanes()` at 1 (the default)
    has a single one and needs no locks; one that returns more must let `predict` run on that many
    threads at once.

    >>> runtime = SentenceTransformersRuntime(model, spec, device="cpu", task=Task.FEATURE_EXTRACTION)
    >>> runtime.load()
    >>> runtime.predict(["a sentence", "another"], {})   # two 384-float numpy rows
    """

    name: ClassVar[str]
    tasks: ClassVar[frozenset[Task]] = frozenset()  # the tasks it can serve; empty means any

    def __init__(self, model: LocalModel, spec: DeploymentSpec, device: str, task: Task) -> None:
        self.model = model
        self.spec = spec
        self.device = device
        self.task = task

    @abstractmethod
    def load(self) -> None:
        """Read the weights onto `self.device`; raise a `BerthError` with a clear message on failure."""

    @abstractmethod
    def predict(self, inputs: list[Any], params: Params) -> list[Any]:
        """One output per input: numpy arrays, dicts, lists or strings (JSON-serialisable via orjson)."""

    @abstractmethod
    def signature(self) -> Signature:
        """The inputs and outputs, for V2 model metadata."""

    def validate_input(self, item: Any) -> Any:
        """Check (and normalise) one input before it is queued; raise `InvalidInput` if it is wrong."""
        return item

    def validate_params(self, params: Params) -> Params:
        """Check one request's params before it is queued; raise `InvalidInput` naming a bad one.

        `predict` validates them again, so calling this is optional; it lets one bad request fail
        alone instead of failing the batch it would have joined.
        """
        return params

    def warmup_input(self) -> Any | None:
        """An input the worker can predict on once after `load` to warm the model up; None to skip."""
        return None

    def lanes(self) -> int:
        """How many batches may run at once, each on its own model thread (after `load`)."""
        return 1

    def set_concurrency(self, sharing: int) -> None:  # noqa: B027 - a hook, like `close`
        """Called on a model thread before each batch: the cores are shared `sharing` ways (this batch
        included), and a runtime with lanes gives this batch its share."""

    def count_tokens(self, text: str) -> int:
        """How many tokens `text` is to this model (for usage reports); safe from any thread.

        The default counts whitespace-separated words, for runtimes without a tokenizer.
        """
        return len(text.split())

    def stream(self, item: Any, params: Params) -> Iterator[str]:
        """Yield generated text pieces for one input (generation runtimes only)."""
        raise UnsupportedModel(f"{self.name} runtime cannot stream task {self.task}")

    def chat_prompt(self, messages: list[dict[str, str]]) -> str:
        """Render chat messages into one prompt (generation runtimes only)."""
        raise UnsupportedModel(f"{self.name} runtime has no chat template for task {self.task}")

    def close(self) -> None:  # noqa: B027 - a hook: a runtime holding nothing need not override it
        """Release the model's memory (device memory included)."""
