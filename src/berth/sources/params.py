"""How many parameters a model has, and how many bytes its weights take, before loading it.

Best first: safetensors headers (exact), then a standard transformer estimate from config.json, then
the weight files' size at 4 bytes a parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from berth.sources.listing import Listing

BYTES_PER_PARAMETER = {"float32": 4, "float16": 2, "bfloat16": 2}
# Safetensors dtype codes → bytes per element (sub-byte types round up; they are rare in checkpoints).
SAFETENSORS_ITEMSIZE = {
    "F64": 8, "I64": 8, "U64": 8,
    "F32": 4, "I32": 4, "U32": 4,
    "F16": 2, "BF16": 2, "I16": 2, "U16": 2,
    "F8_E4M3": 1, "F8_E5M2": 1, "F8_E8M0": 1, "I8": 1, "U8": 1, "BOOL": 1,
}  # fmt: skip
FLOAT_DTYPES = {"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "F8_E8M0"}
GATED_ACTIVATIONS = {"silu", "swiglu", "geglu", "gelu_pytorch_tanh"}  # LLaMA-style MLPs: 3 matrices, not 2


@dataclass(frozen=True)
class ParameterCount:
    parameters: int | None
    stored_bytes: int | None  # the weights as stored, when the dtypes are known
    basis: str  # safetensors | config | file-size | none


def count_parameters(listing: Listing, weights: Sequence[str]) -> ParameterCount:
    """Count from what is cheapest to read and most exact; never downloads weights."""
    weight_bytes = listing.size_of(weights)
    safetensors = [w for w in weights if w.endswith(".safetensors")]
    if safetensors:
        per_dtype = listing.known_parameters or listing.read_safetensors(safetensors)
        if per_dtype:
            stored = sum(n * SAFETENSORS_ITEMSIZE.get(dtype, 4) for dtype, n in per_dtype.items())
            # NOTE: a few integer tensors are buffers (BERT's position_ids), not parameters, and are not
            # cast to the load dtype; mostly-integer checkpoints are quantized weights and count whole.
            total = sum(per_dtype.values())
            floats = sum(n for dtype, n in per_dtype.items() if dtype in FLOAT_DTYPES)
            return ParameterCount(floats if floats * 2 >= total else total, stored, "safetensors")
    config = listing.read_json("config.json") if "config.json" in listing.sizes else None
    estimate = estimate_from_config(config) if isinstance(config, dict) else None
    if estimate is not None:
        return ParameterCount(estimate, weight_bytes or None, "config")
    if weight_bytes:
        return ParameterCount(weight_bytes // 4, weight_bytes, "file-size")
    return ParameterCount(None, None, "none")


def memory_by_dtype(parameters: int | None) -> dict[str, int]:
    if parameters is None:
        return {}
    return {dtype: parameters * size for dtype, size in BYTES_PER_PARAMETER.items()}


def estimate_from_config(config: dict[str, Any]) -> int | None:
    """A standard decoder/encoder transformer estimate from a Hugging Face config.json.

    Counts embeddings, attention (with grouped key/value heads), the MLP (gated or not) and the small
    bias and norm terms; within a few percent of the real count for BERT-, GPT- and LLaMA-style models.
    """
    text_config = config.get("text_config")  # multimodal configs nest the language model's
    cfg: dict[str, Any] = text_config if isinstance(text_config, dict) else config
    hidden = _first(cfg, "hidden_size", "n_embd", "d_model", "dim")
    layers = _first(cfg, "num_hidden_layers", "n_layer", "num_layers", "n_layers")
    vocab = _first(cfg, "vocab_size")
    if not (hidden and layers and vocab):
        return None
    inner = _first(cfg, "intermediate_size", "n_inner", "ffn_dim", "d_ff", "hidden_dim") or 4 * hidden
    heads = _first(cfg, "num_attention_heads", "n_head", "num_heads", "n_heads") or 1
    kv_heads = _first(cfg, "num_key_value_heads", "num_kv_heads") or heads
    head_dim = _first(cfg, "head_dim") or hidden // heads
    gated = str(cfg.get("hidden_act") or cfg.get("activation_function") or "") in GATED_ACTIVATIONS

    attention = 2 * hidden * heads * head_dim + 2 * hidden * kv_heads * head_dim
    mlp = (3 if gated else 2) * hidden * inner
    small = 2 * hidden if gated else 9 * hidden + inner  # norms (and biases in BERT/GPT-2 style)
    rotary = "rope_theta" in cfg or "rope_scaling" in cfg or "rotary_dim" in cfg
    positions = 0 if rotary else (_first(cfg, "max_position_embeddings", "n_positions") or 0) * hidden
    embeddings = vocab * hidden + positions + (_first(cfg, "type_vocab_size") or 0) * hidden
    head = 0 if cfg.get("tie_word_embeddings", config.get("tie_word_embeddings", True)) else vocab * hidden
    return embeddings + layers * (attention + mlp + small) + head


def _first(config: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = config.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None
