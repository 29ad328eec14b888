"""How much working memory one batch of an image, audio or generation model needs, from its config
files alone.

Text models' activations are small beside their weights (a few MB for a batch of sentences); an image
or speech model's are not: DETR runs a ResNet over an 800 x 1333 image, and a ViT's attention grows with
the square of its patches. The estimate is one full batch (`batching.max_batch_size`) at the size the
model's processor resizes to (images) or a 30-second clip (speech), through the largest layer, since
inference keeps only a layer's tensors alive at a time. It is a sizing figure for exports and for the
preflight report, within a factor of about two of what torch allocates, not an exact count.

A text-generation model's working memory is its KV cache, which the engine bounds exactly
(`berth.runtimes.engine`): `generation.max_batch_tokens` tokens, each holding a key and a value per
layer and KV head, in the weights' dtype. A GGUF model's per-token figure comes from its header instead
(`berth.sources.gguf_header`: llama.cpp keeps an f16 cache whatever the weights' quantization).
"""

from __future__ import annotations

from typing import Any

from berth.sources.listing import Listing
from berth.spec import DeploymentSpec, Task

FLOAT_BYTES = 4  # activations stay float32 on CPU whatever the weights' dtype
IMAGE_TASKS = frozenset(
    {
        Task.IMAGE_CLASSIFICATION,
        Task.OBJECT_DETECTION,
        Task.IMAGE_FEATURE_EXTRACTION,
        Task.ZERO_SHOT_IMAGE_CLASSIFICATION,
    }
)
DEFAULT_IMAGE_SIDE = 224  # what a processor without a size resizes to, in practice
CONV_BYTES_PER_PIXEL = 128  # a ResNet/ConvNeXt stem: ~64 float channels at stride 2, two tensors alive
SPEECH_CLIP_SECONDS = 30  # Whisper's window, and a typical utterance upper bound for CTC models
CTC_FRAMES_PER_SECOND = 50  # wav2vec2's feature encoder: one frame per 20 ms
CTC_FEATURE_BYTES_PER_SECOND = 16_000 // 5 * 512 * FLOAT_BYTES  # its first conv: 512 channels at stride 5


def activation_bytes(
    listing: Listing, spec: DeploymentSpec, task: Task | None, dtype_bytes: int = FLOAT_BYTES
) -> int | None:
    """One batch's working memory for an image or speech model, or a generation model's KV cache at
    its budget; None for other tasks or unknown configs."""
    if task not in (*IMAGE_TASKS, Task.AUTOMATIC_SPEECH_RECOGNITION, Task.TEXT_GENERATION):
        return None
    config = listing.read_json("config.json") if "config.json" in listing.sizes else None
    if not isinstance(config, dict):
        return None
    if task is Task.TEXT_GENERATION:
        per_token = kv_bytes_per_token(config, dtype_bytes)
        return None if per_token is None else kv_cache_bytes(spec, per_token)
    batch = spec.batching.max_batch_size
    if task is Task.AUTOMATIC_SPEECH_RECOGNITION:
        per_item = _speech(config)
    else:
        processor = (
            listing.read_json("preprocessor_config.json")
            if "preprocessor_config.json" in listing.sizes
            else None
        )
        per_item = _image(config, processor if isinstance(processor, dict) else {})
    return None if per_item is None else batch * per_item


def _image(config: dict[str, Any], processor: dict[str, Any]) -> int:
    height, width = _image_size(processor, config)
    vision = config.get("vision_config")
    encoder = vision if isinstance(vision, dict) else config
    patch = _int(encoder, "patch_size")
    if patch:  # a vision transformer: one token per patch
        tokens = (height // patch) * (width // patch) + 1
        return _transformer_layer(encoder, tokens)
    return height * width * CONV_BYTES_PER_PIXEL  # a convolutional backbone (ResNet, ConvNeXt, DETR's)


def _speech(config: dict[str, Any]) -> int | None:
    frames = _int(config, "max_source_positions")  # Whisper: 1,500 encoder positions for 30 s
    if frames:
        return _transformer_layer(config, frames)
    if _int(config, "hidden_size"):  # a CTC model (wav2vec2): the conv feature encoder dominates
        feature = SPEECH_CLIP_SECONDS * CTC_FEATURE_BYTES_PER_SECOND
        return feature + _transformer_layer(config, SPEECH_CLIP_SECONDS * CTC_FRAMES_PER_SECOND)
    return None


def _transformer_layer(config: dict[str, Any], tokens: int) -> int:
    """Live tensors of one encoder layer: hidden states, the MLP's inner states and the attention scores."""
    hidden = _int(config, "hidden_size", "d_model") or 768
    inner = _int(config, "intermediate_size", "encoder_ffn_dim") or 4 * hidden
    heads = _int(config, "num_attention_heads", "encoder_attention_heads") or 12
    return FLOAT_BYTES * tokens * (4 * hidden + inner + heads * tokens)


def _image_size(processor: dict[str, Any], config: dict[str, Any]) -> tuple[int, int]:
    """(height, width) the processor resizes to: `size` as {height, width}, {shortest_edge[, longest_edge]}
    or an int, else the model's `image_size`."""
    size = processor.get("crop_size") or processor.get("size")
    if isinstance(size, int):
        return size, size
    if isinstance(size, dict):
        height, width = _int(size, "height"), _int(size, "width")
        if height and width:
            return height, width
        shortest = _int(size, "shortest_edge")
        if shortest:
            return shortest, _int(size, "longest_edge") or shortest
    side = _int(config, "image_size") or DEFAULT_IMAGE_SIDE
    vision = config.get("vision_config")
    if isinstance(vision, dict):
        side = _int(vision, "image_size") or side
    return side, side


def kv_cache_bytes(spec: DeploymentSpec, per_token: int) -> int:
    """The KV cache at the engine's budget: `generation.max_batch_tokens` tokens of `per_token` bytes."""
    return spec.generation.max_batch_tokens * per_token


def kv_bytes_per_token(config: dict[str, Any], dtype_bytes: int) -> int | None:
    """A key and a value per layer and KV head for one token (grouped-query attention has fewer KV
    heads than attention heads); None when the config names no layers or width."""
    text = config.get("text_config")
    config = text if isinstance(text, dict) else config
    layers = _int(config, "num_hidden_layers", "n_layer", "num_layers")
    hidden = _int(config, "hidden_size", "n_embd", "d_model")
    heads = _int(config, "num_attention_heads", "n_head")
    if not (layers and hidden and heads):
        return None
    kv_heads = _int(config, "num_key_value_heads") or heads
    head_dim = _int(config, "head_dim") or hidden // heads
    return 2 * layers * kv_heads * head_dim * dtype_bytes


def _int(config: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = config.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None
