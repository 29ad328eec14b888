"""The runtime contract: load a model once, then predict on a batch.

Batching, timeouts, protocols and metrics live in the worker and wrap this contract; a runtime only
turns a list of inputs into a list of outputs, one per input, in order. Adding a runtime means
adding one file that subclasses `Runtime` and registering it in `berth.runtimes.registry`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from berth.errors import UnsupportedModel
from berth.sources.types import LocalModel
from berth.spec import DeploymentSpec, Task

if TYPE_CHECKING:
    from berth.runtimes.engine import TextEngine

Params = dict[str, Any]  # per-request options, e.g. generation's max_new_tokens; empty for most tasks


# The Open Inference Protocol's datatypes and the numpy dtype each travels as (BYTES: Python objects).
V2_DATATYPES: dict[str, str] = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
    "BYTES": "object",
}


@dataclass(frozen=True)
class TensorSpec:
    """One input or output as the Open Inference Protocol describes it.

    The first dimension is the batch: a request's `[N, ...]` tensor is N inputs of shape `[...]`.

    >>> TensorSpec("features", "FP32", (-1, 4))   # rows of four floats
    """

    name: str
    datatype: str  # a key of V2_DATATYPES: BYTES, FP32, INT64, ...
    shape: tuple[int, ...]  # the batch dimension first (-1), then -1 for any other variable dimension
    content: str | None = None  # BYTES only, a key of CONTENT_KINDS; None is text
    media_type: str | None = None  # a "file" or "image" output's type, e.g. "model/gltf-binary"
    image_mode: str | None = "RGB"  # an "image" input is converted to this Pillow mode; None keeps the file's
    sample_rate: int | None = None  # an "audio" input is resampled to this rate (Hz); None keeps the file's


# What a BYTES tensor carries, beyond its datatype.
CONTENT_KINDS: dict[str, str] = {
    "text": "UTF-8 text (the default)",
    "image": "an encoded image; an input reaches the model as a decoded PIL.Image.Image",
    "audio": "encoded audio (WAV, FLAC, OGG); an input reaches the model as an `Audio` (mono float32)",
    "file": "opaque bytes, e.g. a mesh; an input reaches the model as bytes",
}


@dataclass(frozen=True)
class Audio:
    """A decoded audio input: mono float32 samples in [-1, 1] and their rate, as a model's feature
    extractor takes them (`{"raw": audio.samples, "sampling_rate": audio.sample_rate}` for a pipeline).

    >>> Audio(numpy.zeros(16_000, dtype=numpy.float32), 16_000).seconds
    1.0
    """

    samples: Any  # a 1-D numpy float32 array
    sample_rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate


# The sample rates (Hz) an audio input may arrive at or be resampled to: below 1 kHz is no audio a
# model takes, above 384 kHz none an audio interface records.
AUDIO_RATES = range(1_000, 384_001)


class Blob:
    """A binary output: its bytes and their media type. The protocols send it as base64 in JSON, or as
    the raw bytes when the client asks for that media type.

    NOTE: a plain class, not a dataclass: orjson would serialise a dataclass field by field (and fail
    on the bytes); as an unknown type it reaches the protocols' one `default` hook instead.

    >>> Blob(b"glTF...", "model/gltf-binary")
    """

    __slots__ = ("data", "media_type")

    def __init__(self, data: bytes, media_type: str) -> None:
        self.data = data
        self.media_type = media_type

    def __repr__(self) -> str:
        return f"Blob({len(self.data)} bytes, {self.media_type!r})"


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
        """One output per input: numpy arrays, dicts, lists, strings or `Blob`s (bytes with a media type)."""

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

    def warmup_params(self) -> Params:
        """The params to warm up with: empty, unless the task requires one (a forecast's length)."""
        return {}

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

    def generation_engine(self) -> TextEngine | None:
        """The continuous-batching engine a text-generation runtime decodes on (after `load`); the
        worker submits generation requests to it instead of batching them itself. None otherwise."""
        return None

    def chat_prompt(self, messages: list[dict[str, Any]]) -> str:
        """Render chat messages into one prompt (generation runtimes only); safe from any thread."""
        raise UnsupportedModel(f"{self.name} runtime has no chat template for task {self.task}")

    def encode_prompt(self, prompt: str) -> list[int]:
        """A prompt's token ids (generation runtimes only); safe from any thread."""
        raise UnsupportedModel(f"{self.name} runtime cannot generate text for task {self.task}")

    def close(self) -> None:  # noqa: B027 - a hook: a runtime holding nothing need not override it
        """Release the model's memory (device memory included)."""
