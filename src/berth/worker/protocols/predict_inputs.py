"""`/predict` inputs beyond JSON text: uploaded files, and inputs a predictor declares as images or files.

A body whose `Content-Type` is JSON (or none, or what `curl -d` sends) keeps the path it always had in
`predict.py`. Any other body is read here: `multipart/form-data` is one item per file field (its
`bytes`), a raw `application/octet-stream`, `image/*` or `audio/*` body is one item, and anything else
is a 415 listing what is accepted. Starlette's parser reads the multipart form, from the body already read
under `limits.max_request_bytes`, so the 413 is the same as for JSON.

Then, for a predictor that declares `BYTES` inputs with content `image`, `audio` or `file`
(`berth.runtimes.TensorSpec.content`), each such input becomes what it asked for: a base64 string or
a `data:` URI from JSON is decoded to bytes, an image is decoded by Pillow (`berth.worker.images`) and
audio by libsndfile (`berth.worker.audio`), each in a thread so the event loop keeps serving. An audio
input also takes raw PCM in JSON, `{"array": [floats], "sampling_rate": 16000}`, the dict transformers'
audio pipelines take.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from berth.errors import InvalidInput, MalformedRequest, UnsupportedMediaType
from berth.runtimes.base import Signature, TensorSpec
from berth.spec import Limits
from berth.worker.audio import decode_audio, pcm_audio
from berth.worker.decoding import off_loop
from berth.worker.images import decode_image

# NOTE: `curl -d '{...}'` labels its JSON `application/x-www-form-urlencoded`, and clients that send
# bytes as they are may say `text/plain`; both were always read as JSON and still are.
JSON_MEDIA_TYPES = frozenset({"application/json", "application/x-www-form-urlencoded", "text/plain"})
ACCEPTED = "application/json, multipart/form-data, application/octet-stream, image/* or audio/*"
BINARY_CONTENT = ("image", "audio", "file")
PCM_KEYS = ("array", "raw")  # the samples' key in a PCM dict: transformers' pipelines take either
_ARTICLED = {"image": "an image", "audio": "audio", "file": "a file"}


@dataclass
class Upload:
    """The items of a non-JSON body, where each came from (for messages), and the request parameters."""

    items: list[bytes]
    fields: list[str]
    parameters: dict[str, Any] = field(default_factory=dict)


def media_type(content_type: str) -> str:
    """`image/png` from `Image/PNG; q=1`: the type and subtype, lower-cased, without parameters."""
    return content_type.partition(";")[0].strip().lower()


async def read_upload(headers: Headers, media: str, body: bytes) -> Upload:
    """The items of a multipart or raw body; a 415 for a `Content-Type` that is neither."""
    if media == "multipart/form-data":
        return await _multipart(headers, body)
    if media == "application/octet-stream" or media.startswith(("image/", "audio/")):
        return Upload([body], ["body"])
    raise UnsupportedMediaType(f"Content-Type {media!r} is not accepted here; send {ACCEPTED}")


async def _multipart(headers: Headers, body: bytes) -> Upload:
    async def once() -> AsyncGenerator[bytes, None]:
        yield body

    try:
        form = await MultiPartParser(headers, once()).parse()
    except MultiPartException as exc:
        raise MalformedRequest(f"the multipart/form-data body cannot be read: {exc.message}") from None
    upload = Upload([], [])
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                upload.items.append(await value.read())
                upload.fields.append(f"form field {name!r}")
            elif name == "parameters":
                upload.parameters = _parameters(value)
            else:
                raise InvalidInput(
                    f"form field {name!r}: text fields are not inputs; send each input as a file "
                    "(curl -F name=@PATH), and parameters as one field 'parameters' holding a JSON object"
                )
    finally:
        await form.close()
    if not upload.items:
        raise InvalidInput("the multipart/form-data body has no file field; send one (curl -F file=@PATH)")
    return upload


def _parameters(value: str) -> dict[str, Any]:
    try:
        parameters = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"form field 'parameters': not JSON ({exc})") from None
    if not isinstance(parameters, dict):
        raise InvalidInput("form field 'parameters': must be a JSON object, e.g. {\"top_k\": 3}")
    return parameters


class BinaryInputs:
    """A signature's image, audio and file inputs, and how to turn a request's value into what each takes."""

    def __init__(self, declared: tuple[TensorSpec, ...], limits: Limits) -> None:
        self.tensors = {tensor.name: tensor for tensor in declared if tensor.content in BINARY_CONTENT}
        self.single = declared[0] if len(declared) == 1 else None  # its items are bare values
        self.limits = limits

    @classmethod
    def of(cls, signature: Signature, limits: Limits) -> BinaryInputs | None:
        """None when the model takes no image, audio or file input: its requests skip this step entirely."""
        found = cls(signature.inputs, limits)
        return found if found.tensors else None

    @property
    def takes_image(self) -> bool:
        return any(tensor.content == "image" for tensor in self.tensors.values())

    @property
    def takes_audio(self) -> bool:
        return any(tensor.content == "audio" for tensor in self.tensors.values())

    async def decode(self, items: list[Any], fields: list[str]) -> list[Any]:
        """Each item with its image, audio and file values decoded, each image or clip in its own thread."""
        if len(items) == 1:
            return [await self._item(items[0], fields[0])]
        return list(await asyncio.gather(*(self._item(i, f) for i, f in zip(items, fields, strict=True))))

    async def _item(self, item: Any, where: str) -> Any:
        single = self.single
        if single is not None and single.name in self.tensors:
            if isinstance(item, dict) and len(item) == 1:
                # {"image": "..."}: keyed by the input's name or by its content kind
                key, value = next(iter(item.items()))
                if key in (single.name, single.content):
                    return await self._value(value, single, f"{where}.{key}")
            return await self._value(item, single, where)
        if not isinstance(item, dict):
            return item
        decoded = dict(item)
        for key, value in item.items():
            if key in self.tensors:
                decoded[key] = await self._value(value, self.tensors[key], f"{where}.{key}")
        return decoded

    async def _value(self, value: Any, tensor: TensorSpec, where: str) -> Any:
        if tensor.content == "audio" and isinstance(value, dict):
            return await self._pcm(value, tensor, where)
        if isinstance(value, str):
            data = from_base64(value, where)
        elif isinstance(value, bytes):
            data = value
        else:
            pcm = ', or raw PCM as {"array": [...], "sampling_rate": HZ}' if tensor.content == "audio" else ""
            raise InvalidInput(
                f"{where}: input {tensor.name!r} takes {_ARTICLED[str(tensor.content)]} as a file upload, "
                f"a base64 string or a data: URI{pcm}, got {type(value).__name__}"
            )
        if tensor.content == "audio":
            seconds = self.limits.max_audio_seconds
            return await off_loop(decode_audio, data, where, seconds, tensor.sample_rate)
        if tensor.content != "image":
            return data
        return await off_loop(decode_image, data, where, self.limits.max_image_pixels, tensor.image_mode)

    async def _pcm(self, value: dict[str, Any], tensor: TensorSpec, where: str) -> Any:
        keys = [key for key in PCM_KEYS if key in value]
        if len(keys) != 1 or "sampling_rate" not in value or len(value) != 2:
            raise InvalidInput(
                f'{where}: raw audio for input {tensor.name!r} is {{"array": [floats in -1..1], '
                f'"sampling_rate": HZ}}, got the keys {sorted(value)}'
            )
        seconds = self.limits.max_audio_seconds
        samples, rate = value[keys[0]], value["sampling_rate"]
        return await off_loop(pcm_audio, samples, rate, where, seconds, tensor.sample_rate)


def from_base64(text: str, where: str) -> bytes:
    """The bytes of a base64 string or a `data:[type];base64,...` URI (whitespace allowed)."""
    if text.startswith("data:"):
        header, comma, text = text.partition(",")
        if not comma or not header.endswith(";base64"):
            raise InvalidInput(f"{where}: a data: URI here must be base64, as data:image/png;base64,...")
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{where}: not base64 (nor a data: URI)") from None
