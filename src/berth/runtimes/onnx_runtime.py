"""The ONNX runtime: an exported encoder graph served with onnxruntime and `tokenizers`, no torch.

It serves feature-extraction (mean-pooled `last_hidden_state`) and text-classification (softmax of
`logits`, labels from the config.json beside the graph). The tokenizer.json must lie beside the
.onnx file or at the model folder's root, as Hugging Face exports leave them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from berth.errors import UnsupportedModel
from berth.runtimes import layout
from berth.runtimes.base import Params, Runtime, Signature
from berth.runtimes.device import free_device_memory
from berth.runtimes.outputs import (
    check_params,
    classification_outputs,
    mean_pool,
    require_text,
    softmax,
    text_signature,
    top_k_param,
)
from berth.sources.tasks import RUNTIME_TASKS, find_onnx_file, model_folder, model_path, read_config
from berth.spec import DType, RuntimeName, Task

if TYPE_CHECKING:
    from onnxruntime import InferenceSession
    from tokenizers import Tokenizer

FEEDABLE = ("input_ids", "attention_mask", "token_type_ids")
_PARAMS = {Task.TEXT_CLASSIFICATION: ("top_k",)}
_WARMUP_TEXT = "berth warms the model up with this sentence."


class OnnxRuntime(Runtime):
    """An .onnx text encoder or classifier.

    >>> runtime = OnnxRuntime(model, spec, device="cpu", task=Task.FEATURE_EXTRACTION)
    >>> runtime.load()
    >>> runtime.predict(["a sentence"], {})[0].dtype
    dtype('float32')
    """

    name = "onnx"
    tasks = RUNTIME_TASKS[RuntimeName.ONNX]

    _session: InferenceSession | None = None
    _tokenizer: Tokenizer | None = None

    def load(self) -> None:
        if self.spec.dtype not in (DType.AUTO, DType.FLOAT32):
            raise UnsupportedModel(
                "the onnx runtime runs a graph in the dtype it was exported in; "
                f"leave dtype: auto, not {self.spec.dtype}"
            )
        path = model_path(self.model)
        root = model_folder(self.model)
        graph = find_onnx_file(path)
        if graph is None:
            raise UnsupportedModel(f"the onnx runtime needs one .onnx file, and {path} has none or several")
        self._session = _session(graph, self.device)
        names = [i.name for i in self._session.get_inputs()]
        unknown = [n for n in names if n not in FEEDABLE]
        if unknown:
            raise UnsupportedModel(
                f"{graph.name} takes input {unknown[0]!r}; berth can feed {', '.join(FEEDABLE)}"
            )
        self._inputs = names
        self._output = _pick_output(self._session, self.task)
        config = read_config(graph.parent) or read_config(root)
        labels = config.get("id2label") or {}
        self._id2label = {int(k): str(v) for k, v in labels.items()}
        self._tokenizer, self._counter = _tokenizers(graph, root, config)

    def validate_input(self, item: Any) -> Any:
        return require_text(item)

    def validate_params(self, params: Params) -> Params:
        check_params(params, _PARAMS.get(self.task, ()), self.task)
        top_k_param(params, None, 1)
        return params

    def predict(self, inputs: list[Any], params: Params) -> list[Any]:
        session, tokenizer = self._loaded()
        self.validate_params(params)
        encodings = tokenizer.encode_batch(inputs)
        arrays = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        (output,) = session.run([self._output], {name: arrays[name] for name in self._inputs})
        output = np.asarray(output, dtype=np.float32)
        if self.task is Task.FEATURE_EXTRACTION:
            vectors = mean_pool(output, arrays["attention_mask"]) if output.ndim == 3 else output
            return list(vectors)
        labels = self._id2label or {i: f"LABEL_{i}" for i in range(output.shape[-1])}
        return classification_outputs(softmax(output), labels, top_k_param(params, None, output.shape[-1]))

    def signature(self) -> Signature:
        dim = None
        if self._session is not None and self.task is Task.FEATURE_EXTRACTION:
            shape = next(o.shape for o in self._session.get_outputs() if o.name == self._output)
            dim = shape[-1] if isinstance(shape[-1], int) else None
        return text_signature(self.task, dim)

    def warmup_input(self) -> Any | None:
        return _WARMUP_TEXT

    def count_tokens(self, text: str) -> int:
        self._loaded()
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def close(self) -> None:
        self._session = self._tokenizer = None
        free_device_memory(self.device)

    def _loaded(self) -> tuple[InferenceSession, Tokenizer]:
        if self._session is None or self._tokenizer is None:
            raise UnsupportedModel("the onnx runtime is not loaded; call load() first")
        return self._session, self._tokenizer


def _session(graph: Path, device: str) -> InferenceSession:
    import onnxruntime

    providers: list[Any] = ["CPUExecutionProvider"]
    if device.startswith("cuda"):
        if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
            raise UnsupportedModel(
                f"device {device} requested but this onnxruntime has no CUDA provider; "
                "install onnxruntime-gpu or use device: cpu"
            )
        index = int(device.partition(":")[2] or 0)
        providers.insert(0, ("CUDAExecutionProvider", {"device_id": index}))
    try:
        return onnxruntime.InferenceSession(str(graph), providers=providers)
    except Exception as exc:  # onnxruntime raises its own untyped errors for a bad graph
        raise UnsupportedModel(f"onnxruntime cannot load {graph}: {exc}") from exc


def _pick_output(session: InferenceSession, task: Task) -> str:
    outputs: dict[str, list[Any]] = {str(o.name): list(o.shape) for o in session.get_outputs()}
    preferred = "last_hidden_state" if task is Task.FEATURE_EXTRACTION else "logits"
    if preferred in outputs:
        return preferred
    wanted_ranks = (3, 2) if task is Task.FEATURE_EXTRACTION else (2,)
    for name, shape in outputs.items():
        if len(shape) in wanted_ranks:
            return name
    raise UnsupportedModel(f"the graph has no output that fits {task} (outputs: {', '.join(outputs)})")


def _tokenizers(graph: Path, root: Path, config: dict[str, Any]) -> tuple[Tokenizer, Tokenizer]:
    """The batch tokenizer (pads to the longest input, truncates at the model's limit) and a plain copy."""
    from tokenizers import Tokenizer

    file = layout.find_beside(graph, root, "tokenizer.json")
    if file is None:
        raise UnsupportedModel(f"the onnx runtime needs a tokenizer.json beside {graph.name} or in {root}")
    tokenizer = Tokenizer.from_file(str(file))
    counter = Tokenizer.from_file(str(file))
    counter.no_padding()
    counter.no_truncation()
    padding = tokenizer.padding or {}
    pad_id = padding.get("pad_id", config.get("pad_token_id") or 0)
    pad_token = str(padding.get("pad_token") or tokenizer.id_to_token(pad_id) or "[PAD]")
    # NOTE: exported tokenizer.json files often pad to a fixed length (128 for MiniLM); padding only
    # to the longest input of a batch is much cheaper and gives the same pooled vectors.
    tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)
    tokenizer.enable_truncation(max_length=_max_length(file.parent, tokenizer, config))
    return tokenizer, counter


def _max_length(folder: Path, tokenizer: Tokenizer, config: dict[str, Any]) -> int:
    import json

    limit = None
    settings = folder / "tokenizer_config.json"
    if settings.is_file():
        value = json.loads(settings.read_text(encoding="utf-8")).get("model_max_length")
        limit = value if isinstance(value, int) and value < 1_000_000 else None
    if limit is None and tokenizer.truncation is not None:
        limit = int(tokenizer.truncation["max_length"])
    positions = config.get("max_position_embeddings")
    if isinstance(positions, int) and positions > 0:
        limit = min(limit or positions, positions)
    return limit or 512
