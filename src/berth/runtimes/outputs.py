"""Inputs, params and outputs shaped the same way by every text runtime (numpy only, no torch).

Output per input, by task:
- feature-extraction: a float32 numpy vector (mean of the token vectors over the attention mask)
- text-classification: {"label": str, "score": float}; with params {"top_k": n}, a list of n of them
- token-classification: [{"entity_group", "score", "word", "start", "end"}, ...]
- fill-mask: [{"token_str", "score", "sequence"}, ...], best first (params {"top_k": n}, default 5)
- text-generation: {"generated_text", "finish_reason", "prompt_tokens", "completion_tokens"}
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from berth.errors import InvalidInput
from berth.runtimes.base import Params, Signature, TensorSpec
from berth.spec import Task

FloatArray = npt.NDArray[np.float32]

_TEXT_INPUT = (TensorSpec("text", "BYTES", (-1,)),)
_JSON_OUTPUT = {  # tasks whose per-input output is a list: one JSON document per input
    Task.TOKEN_CLASSIFICATION: "entities",
    Task.FILL_MASK: "predictions",
}


def require_text(item: Any) -> str:
    """Text tasks take one string per input."""
    if not isinstance(item, str):
        raise InvalidInput(f"must be a string, got {type(item).__name__}")
    return item


def check_params(params: Params, allowed: tuple[str, ...], task: Task) -> None:
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        hint = f"it takes {', '.join(allowed)}" if allowed else "it takes none"
        raise InvalidInput(f"unknown parameter {unknown[0]!r} for {task}; {hint}")


def top_k_param(params: Params, default: int | None, limit: int) -> int | None:
    """`top_k` as a positive int capped at `limit`, or `default` when absent."""
    value = params.get("top_k")
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"parameter top_k must be a positive integer, got {value!r}")
    return min(value, limit)


def token_counter(tokenizer: Any) -> Any | None:
    """A private copy of a fast tokenizer's Rust tokenizer, without padding or truncation.

    NOTE: `count_tokens` runs on the event loop while the model thread tokenizes batches, and a
    batch call sets padding and truncation on the shared tokenizer: sharing it breaks the batch
    ("Unable to create tensor") or raises "Already borrowed". None for slow (Python) tokenizers.
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    counter = backend.__class__.from_str(backend.to_str())
    counter.no_truncation()
    counter.no_padding()
    return counter


def softmax(logits: FloatArray) -> FloatArray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probabilities: FloatArray = (shifted / shifted.sum(axis=-1, keepdims=True)).astype(np.float32, copy=False)
    return probabilities


def mean_pool(hidden: FloatArray, attention_mask: npt.NDArray[np.int64]) -> FloatArray:
    """Average token vectors over real (unpadded) tokens: [batch, seq, dim] → [batch, dim]."""
    mask = attention_mask[..., None].astype(np.float32)
    counts = np.clip(mask.sum(axis=1), 1e-9, None)
    pooled: FloatArray = ((hidden * mask).sum(axis=1) / counts).astype(np.float32, copy=False)
    return pooled


def classification_outputs(
    probabilities: FloatArray, id2label: dict[int, str], top_k: int | None
) -> list[dict[str, Any] | list[dict[str, Any]]]:
    """Top-1 {"label", "score"} per row, or the best `top_k` of them as a list."""
    results: list[dict[str, Any] | list[dict[str, Any]]] = []
    for row in probabilities:
        order = np.argsort(-row, kind="stable")[: top_k or 1]
        ranked = [{"label": id2label.get(int(i), f"LABEL_{int(i)}"), "score": float(row[i])} for i in order]
        results.append(ranked if top_k is not None else ranked[0])
    return results


def text_signature(task: Task, dim: int | None = None) -> Signature:
    """V2 tensors for a text task; list-shaped outputs travel as one JSON string per input."""
    if task is Task.FEATURE_EXTRACTION:
        outputs: tuple[TensorSpec, ...] = (TensorSpec("embedding", "FP32", (-1, dim or -1)),)
    elif task is Task.TEXT_CLASSIFICATION:
        outputs = (TensorSpec("label", "BYTES", (-1,)), TensorSpec("score", "FP32", (-1,)))
    elif task is Task.TEXT_GENERATION:
        outputs = (TensorSpec("generated_text", "BYTES", (-1,)),)
    else:
        outputs = (TensorSpec(_JSON_OUTPUT.get(task, "output"), "BYTES", (-1,)),)
    return Signature(inputs=_TEXT_INPUT, outputs=outputs)
