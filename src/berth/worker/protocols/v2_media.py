"""V2 inputs that carry an image, audio or a file: checked, then decoded into what the model declared.

A `BYTES` input declared with content `image`, `audio` or `file` (`berth.runtimes.TensorSpec.content`)
reaches the model as `/predict` gives it: a decoded `PIL.Image.Image`, an `Audio`, or `bytes`. Each
element is the file itself: its bytes in the binary extension, a base64 string (or `data:` URI) in
JSON, since JSON cannot carry raw bytes (tritonclient's JSON mode sends text only, so its users
base64-encode the file). The array forms skip the file: an image input also takes `UINT8 [N, H, W, C]`
pixels (C 1, 3 or 4), and an audio input `FP32 [N, L]` PCM samples at the rate its tensor parameter
`sample_rate` (or `sampling_rate`) says, else at the input's declared `sample_rate`. The limits are
those of `/predict`: `limits.max_image_pixels` and `limits.max_audio_seconds` (413).

Decoding is CPU work, so every element is decoded in a thread, all of a request's at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import numpy as np

from berth.errors import InvalidInput
from berth.runtimes.base import TensorSpec
from berth.spec import Limits
from berth.worker.audio import decode_audio, pcm_audio
from berth.worker.decoding import off_loop
from berth.worker.images import decode_image, image_from_array
from berth.worker.protocols.predict_inputs import from_base64
from berth.worker.protocols.v2_types import V2Tensor

Array = np.ndarray[Any, Any]

MEDIA_CONTENT = frozenset({"image", "audio", "file"})
# What each content kind takes, for messages: BYTES always, and the array form where there is one.
_TAKES = {
    "image": "BYTES (encoded images) or UINT8 [N, H, W, C] (pixels, C 1, 3 or 4)",
    "audio": "BYTES (encoded WAV, FLAC, OGG) or FP32 [N, L] (PCM samples at parameters.sample_rate)",
    "file": "BYTES (files)",
}
_ARRAY_FORM = {"image": ("UINT8", 3), "audio": ("FP32", 1)}  # datatype, dimensions past the declared ones


def check_media(tensor: V2Tensor, spec: TensorSpec, index: int) -> None:
    """A 422 naming the tensor, what it takes and what it got, when its datatype or shape does not fit."""
    where = f"body.inputs[{index}]"
    kind = str(spec.content)
    array_form = _ARRAY_FORM.get(kind)
    if tensor.datatype == "BYTES":
        extra = 0
    elif array_form is not None and tensor.datatype == array_form[0]:
        extra = array_form[1]
    else:
        raise InvalidInput(
            f"{where}.datatype: input {spec.name!r} takes {_TAKES[kind]}, got {tensor.datatype}"
        )
    want = list(spec.shape) + [-1] * extra
    fixed = all(w < 0 or w == g for w, g in zip(want[1:], tensor.shape[1:], strict=False))
    if len(tensor.shape) != len(want) or not fixed:
        shown = want if extra == 0 else [*spec.shape, *(["H", "W", "C"] if kind == "image" else ["L"])]
        raise InvalidInput(
            f"{where}.shape: input {spec.name!r} takes {tensor.datatype} of shape "
            f"[{', '.join(map(str, shown))}] (batch first, -1 for any size), got {tensor.shape}"
        )
    if kind == "image" and extra and (tensor.shape[-1] not in (1, 3, 4) or 0 in tensor.shape[-3:-1]):
        raise InvalidInput(
            f"{where}.shape: input {spec.name!r} takes UINT8 pixels [N, H, W, C], H and W at least 1 "
            f"and C 1, 3 or 4 channels (L, RGB, RGBA); got {tensor.shape}"
        )
    if kind == "audio" and extra:
        sample_rate(tensor, spec, index)


def sample_rate(tensor: V2Tensor, spec: TensorSpec, index: int) -> int:
    """A PCM tensor's rate in Hz: its `sample_rate` (or `sampling_rate`) parameter, else the declared one.

    NOTE: the default is the rate the model wants, so a client that cannot set tensor parameters
    (tritonclient has no call for it) sends samples already at that rate.
    """
    given = tensor.parameters.get("sample_rate", tensor.parameters.get("sampling_rate"))
    rate = spec.sample_rate if given is None else given
    if isinstance(rate, bool) or not isinstance(rate, int) or rate <= 0:
        raise InvalidInput(
            f"body.inputs[{index}].parameters.sample_rate: FP32 samples for input {tensor.name!r} need "
            f'their rate in Hz as a whole number, e.g. "parameters": {{"sample_rate": 16000}}; got {rate!r}'
        )
    return rate


async def media_values(tensor: V2Tensor, array: Array, spec: TensorSpec, limits: Limits, index: int) -> Array:
    """The tensor's values decoded, as an object array of the declared shape (one value per element)."""
    name = f"body.inputs[{index}] (input {spec.name!r})"
    calls: list[tuple[Any, ...]]  # each call's arguments
    if tensor.datatype == "UINT8":  # pixels: each trailing [H, W, C] is an image
        images = array.reshape(-1, *array.shape[-3:])
        calls = [
            (pixels, f"{name} image {k}", limits.max_image_pixels, spec.image_mode)
            for k, pixels in enumerate(images)
        ]
        return _objects(await _each(image_from_array, calls), array.shape[:-3])
    if tensor.datatype == "FP32":  # PCM: each trailing [L] is a clip
        rate = sample_rate(tensor, spec, index)
        clips = array.reshape(-1, array.shape[-1])
        calls = [
            (clip, rate, f"{name} clip {k}", limits.max_audio_seconds, spec.sample_rate)
            for k, clip in enumerate(clips)
        ]
        return _objects(await _each(pcm_audio, calls), array.shape[:-1])
    wheres = [f"{name} element {k}" for k in range(array.size)]
    files = [_file(element, where) for element, where in zip(array.ravel(), wheres, strict=True)]
    if spec.content == "image":
        calls = [
            (f, where, limits.max_image_pixels, spec.image_mode)
            for f, where in zip(files, wheres, strict=True)
        ]
        return _objects(await _each(decode_image, calls), array.shape)
    if spec.content == "audio":
        calls = [
            (f, where, limits.max_audio_seconds, spec.sample_rate)
            for f, where in zip(files, wheres, strict=True)
        ]
        return _objects(await _each(decode_audio, calls), array.shape)
    return _objects(files, array.shape)


def _file(element: Any, where: str) -> bytes:
    # NOTE: binary data gives bytes (the file); JSON can only give a string, read as base64.
    return element if isinstance(element, bytes) else from_base64(element, where)


async def _each(function: Callable[..., Any], calls: list[tuple[Any, ...]]) -> list[Any]:
    if len(calls) == 1:
        return [await off_loop(function, *calls[0])]
    return list(await asyncio.gather(*(off_loop(function, *args) for args in calls)))


def _objects(values: list[Any], shape: tuple[int, ...]) -> Array:
    # NOTE: element by element, so numpy never reads a PIL image or an Audio as an array of its own.
    array = np.empty(len(values), dtype=object)
    for position, value in enumerate(values):
        array[position] = value
    return array.reshape(shape)
