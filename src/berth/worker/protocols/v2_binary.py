"""The Open Inference Protocol's binary tensor data extension: bytes to numpy arrays and back.

A binary request or response is a JSON header followed by raw tensor data; the
`Inference-Header-Content-Length` header says how many of the first bytes are the JSON, and each
tensor that travels in binary carries `parameters.binary_data_size`, its byte count, in the order the
tensors are listed. Numeric tensors are little-endian buffers in row-major order; a `BYTES` tensor is
each element as a 4-byte little-endian length and then its bytes.

Only numpy and the error vocabulary are imported, so the codec is tested without a server. Anything
that does not add up is a `MalformedRequest` (400): the body cannot be split into its parts at all.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np

from berth.errors import MalformedRequest
from berth.runtimes.base import V2_DATATYPES

HEADER_LENGTH = "Inference-Header-Content-Length"
BINARY_MEDIA_TYPE = "application/octet-stream"
_LENGTH = struct.Struct("<I")


def split_body(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    """The JSON header and the binary data after it; the whole body is JSON without the header."""
    if header_length is None:
        return body, b""
    text = header_length.strip()
    if not text.isdigit():
        raise MalformedRequest(
            f"the {HEADER_LENGTH} header must be the JSON header's length in bytes, got {header_length!r}"
        )
    length = int(text)
    if length > len(body):
        raise MalformedRequest(
            f"the {HEADER_LENGTH} header says the JSON header is {length} bytes, "
            f"but the whole body is {len(body)} bytes"
        )
    return body[:length], body[length:]


def slice_binary(sizes: list[int | None], data: bytes) -> list[bytes | None]:
    """Cut `data` into one piece per tensor that declares a `binary_data_size` (None for the others)."""
    pieces: list[bytes | None] = []
    offset = 0
    for size in sizes:
        if size is None:
            pieces.append(None)
            continue
        if offset + size > len(data):
            raise MalformedRequest(
                f"the tensors' binary_data_size add up to more than the {len(data)} bytes "
                "after the JSON header"
            )
        pieces.append(data[offset : offset + size])
        offset += size
    if offset != len(data):
        raise MalformedRequest(
            f"{len(data)} bytes follow the JSON header but the tensors' binary_data_size add up to {offset}"
        )
    return pieces


def decode_tensor(name: str, datatype: str, shape: list[int], raw: bytes) -> np.ndarray[Any, Any]:
    """One tensor's raw bytes as an array of `shape` (object dtype of `bytes` for BYTES)."""
    count = math.prod(shape)
    if datatype == "BYTES":
        elements = decode_bytes(name, raw)
        if len(elements) != count:
            raise MalformedRequest(
                f"input {name!r}: shape {shape} holds {count} elements "
                f"but its binary data has {len(elements)}"
            )
        array = np.empty(count, dtype=object)
        array[:] = elements
        return array.reshape(shape)
    dtype = _numeric_dtype(name, datatype)
    if len(raw) != count * dtype.itemsize:
        raise MalformedRequest(
            f"input {name!r}: shape {shape} of {datatype} is {count * dtype.itemsize} bytes "
            f"but its binary_data_size is {len(raw)}"
        )
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


def decode_bytes(name: str, raw: bytes) -> list[bytes]:
    """BYTES elements: each a 4-byte little-endian length, then that many bytes."""
    elements: list[bytes] = []
    offset = 0
    while offset < len(raw):
        if offset + _LENGTH.size > len(raw):
            raise MalformedRequest(f"input {name!r}: its binary data ends inside an element's 4-byte length")
        (size,) = _LENGTH.unpack_from(raw, offset)
        offset += _LENGTH.size
        if offset + size > len(raw):
            raise MalformedRequest(
                f"input {name!r}: an element of {size} bytes runs past the end of its binary data"
            )
        elements.append(raw[offset : offset + size])
        offset += size
    return elements


def encode_tensor(datatype: str, array: np.ndarray[Any, Any]) -> bytes:
    """An array as raw bytes: little-endian row-major numbers, or length-prefixed BYTES elements."""
    if datatype == "BYTES":
        parts: list[bytes] = []
        for element in array.ravel():
            data = element.encode() if isinstance(element, str) else bytes(element)
            parts.append(_LENGTH.pack(len(data)))
            parts.append(data)
        return b"".join(parts)
    dtype = _numeric_dtype("output", datatype)
    return np.ascontiguousarray(array, dtype=dtype).tobytes()


def _numeric_dtype(name: str, datatype: str) -> np.dtype[Any]:
    numpy_name = V2_DATATYPES.get(datatype)
    if numpy_name is None or datatype == "BYTES":
        raise MalformedRequest(f"tensor {name!r}: datatype {datatype!r} cannot travel as binary data")
    # NOTE: "<" pins little-endian whatever the host, as the protocol requires; BOOL is one byte each.
    return np.dtype(numpy_name).newbyteorder("<")
