"""A predictor's bytes and PIL images as `Blob`s with the right media type."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from berth.errors import ModelError
from berth.runtimes.base import Blob, TensorSpec
from berth.runtimes.blobs import as_blobs, encode_image

MESH = TensorSpec("mesh", "BYTES", (-1,), content="file", media_type="model/gltf-binary")
PHOTO = TensorSpec("photo", "BYTES", (-1,), content="image", media_type="image/jpeg")


def test_bytes_take_the_declared_media_type_and_the_same_object() -> None:
    data = b"glTF" + bytes(100)
    [blob] = as_blobs([data], (MESH,))
    assert isinstance(blob, Blob)
    assert blob.data is data  # NOTE: no copy of a large output
    assert blob.media_type == "model/gltf-binary"


def test_dict_values_by_output_name_and_undeclared_bytes_are_octet_stream() -> None:
    [item] = as_blobs([{"mesh": b"a", "other": bytearray(b"b"), "count": 3}], (MESH,))
    assert (item["mesh"].media_type, item["other"].media_type) == (
        "model/gltf-binary",
        "application/octet-stream",
    )
    assert item["other"].data == b"b"
    assert item["count"] == 3
    assert as_blobs(["text", [1.0]], ()) == ["text", [1.0]]


def test_images_are_encoded_in_the_declared_format_else_their_own_else_png() -> None:
    rgba = Image.new("RGBA", (4, 2), (10, 20, 30, 40))
    [declared] = as_blobs([rgba], (PHOTO,))
    assert declared.media_type == "image/jpeg"
    assert Image.open(io.BytesIO(declared.data)).format == "JPEG"  # alpha dropped: JPEG has none
    [drawn] = as_blobs([rgba], ())
    assert drawn.media_type == "image/png"
    assert Image.open(io.BytesIO(drawn.data)).getpixel((0, 0)) == (10, 20, 30, 40)
    opened = Image.open(io.BytesIO(declared.data))
    assert encode_image(opened, None).media_type == "image/jpeg"


def test_a_declared_media_type_pillow_cannot_write_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="'model/gltf-binary' is no image format"):
        encode_image(Image.new("RGB", (1, 1)), "model/gltf-binary")
