"""A Python predictor's binary outputs: `bytes` and PIL images become `Blob`s with a media type.

The media type comes from the predictor's declared output (`TensorSpec.media_type`), else, for a PIL
image, from its own format (PNG for one the predictor drew), else `application/octet-stream`. Images
are encoded here, on the model thread that produced them, so the event loop never runs an encoder.
"""

from __future__ import annotations

import io
import sys
from typing import Any

from berth.errors import ModelError
from berth.runtimes.base import Blob, TensorSpec

OCTET_STREAM = "application/octet-stream"


def as_blobs(outputs: list[Any], declared: tuple[TensorSpec, ...]) -> list[Any]:
    """`outputs` with every bytes-like or PIL image value (top level, or a dict's value) as a `Blob`."""
    media_types = {tensor.name: tensor.media_type for tensor in declared}
    first = declared[0].media_type if declared else None
    image_class = _image_class()
    converted = []
    for output in outputs:
        if isinstance(output, dict):
            output = {key: _blob(value, media_types.get(key), image_class) for key, value in output.items()}
        else:
            output = _blob(output, first, image_class)
        converted.append(output)
    return converted


def _blob(value: Any, media_type: str | None, image_class: type | None) -> Any:
    if isinstance(value, bytes):
        return Blob(value, media_type or OCTET_STREAM)
    if isinstance(value, bytearray | memoryview):
        return Blob(bytes(value), media_type or OCTET_STREAM)
    if image_class is not None and isinstance(value, image_class):
        return encode_image(value, media_type)
    return value


def _image_class() -> type | None:
    # NOTE: no PIL image can exist unless the predictor imported Pillow, so it is never imported here.
    module = sys.modules.get("PIL.Image")
    return getattr(module, "Image", None) if module is not None else None


def encode_image(image: Any, media_type: str | None) -> Blob:
    """A PIL image as a `Blob`: in the declared media type's format, else its own, else PNG."""
    from PIL import Image

    Image.init()  # registers every format's media type in Image.MIME
    formats = {mime: name for name, mime in Image.MIME.items()}
    if media_type is not None and media_type not in formats:
        raise ModelError(f"the output's declared media type {media_type!r} is no image format Pillow writes")
    name = formats[media_type] if media_type else (image.format or "PNG")
    if name == "JPEG" and image.mode not in ("RGB", "L", "CMYK"):
        image = image.convert("RGB")  # NOTE: JPEG has no alpha channel
    buffer = io.BytesIO()
    image.save(buffer, format=name)
    return Blob(buffer.getvalue(), Image.MIME.get(name, OCTET_STREAM))
