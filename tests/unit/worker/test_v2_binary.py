"""The binary tensor data codec, checked against tritonclient's own encoder and decoder."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from berth.errors import MalformedRequest
from berth.worker.protocols import v2_binary

tritonclient_utils = pytest.importorskip("tritonclient.utils")


@pytest.mark.parametrize(
    ("datatype", "array"),
    [
        ("FP32", np.arange(12, dtype=np.float32).reshape(3, 4) / 7),
        ("FP64", np.array([[1e300, -2.5]], dtype=np.float64)),
        ("FP16", np.array([0.5, -1.25, 3.0], dtype=np.float16)),
        ("INT64", np.array([[-(2**40), 7]], dtype=np.int64)),
        ("INT32", np.array([1, -2, 3], dtype=np.int32)),
        ("UINT8", np.array([[0, 255, 17]], dtype=np.uint8)),
        ("BOOL", np.array([True, False, True])),
    ],
)
def test_numeric_tensors_round_trip_as_tritonclient_lays_them_out(datatype: str, array: np.ndarray) -> None:
    raw = v2_binary.encode_tensor(datatype, array)
    assert raw == array.astype(tritonclient_utils.triton_to_np_dtype(datatype)).tobytes()  # its layout
    decoded = v2_binary.decode_tensor("x", datatype, list(array.shape), raw)
    assert decoded.dtype == array.dtype
    assert np.array_equal(decoded, array)


def test_bytes_elements_match_tritonclients_serialisation_both_ways() -> None:
    texts = np.array([["I love this product!", ""], ["héllo", "a\x00b"]], dtype=object)
    theirs = tritonclient_utils.serialize_byte_tensor(texts).item()  # a 0-d object array
    assert v2_binary.encode_tensor("BYTES", texts) == theirs
    decoded = v2_binary.decode_tensor("text", "BYTES", [2, 2], theirs)
    assert decoded.shape == (2, 2)
    assert decoded.tolist() == [[t.encode() for t in row] for row in texts.tolist()]
    ours = v2_binary.encode_tensor("BYTES", np.array([b"\xff\x00", b"x"], dtype=object))
    assert tritonclient_utils.deserialize_bytes_tensor(ours).tolist() == [b"\xff\x00", b"x"]


def test_split_body_cuts_the_json_header_off() -> None:
    assert v2_binary.split_body(b'{"a": 1}', None) == (b'{"a": 1}', b"")
    assert v2_binary.split_body(b'{"a": 1}\x01\x02', "8") == (b'{"a": 1}', b"\x01\x02")


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("12", "says the JSON header is 12 bytes, but the whole body is 10 bytes"),
        ("ten", "got 'ten'"),
        ("-1", "got .-1."),
    ],
)
def test_a_header_length_that_is_not_a_length_of_this_body_is_refused(header: str, fragment: str) -> None:
    with pytest.raises(MalformedRequest, match=fragment) as caught:
        v2_binary.split_body(b"0123456789", header)
    assert caught.value.status_code == 400


def test_slice_binary_gives_each_binary_tensor_its_piece() -> None:
    assert v2_binary.slice_binary([3, None, 2], b"abcde") == [b"abc", None, b"de"]


@pytest.mark.parametrize(
    ("sizes", "fragment"),
    [([3, 4], "add up to more than the 5 bytes"), ([3], "5 bytes follow the JSON header but .* add up to 3")],
)
def test_sizes_that_do_not_add_up_are_refused(sizes: list[int | None], fragment: str) -> None:
    with pytest.raises(MalformedRequest, match=fragment):
        v2_binary.slice_binary(sizes, b"abcde")


def test_a_numeric_buffer_of_the_wrong_size_for_its_shape_is_refused() -> None:
    raw = np.zeros(7, dtype=np.float32).tobytes()
    with pytest.raises(
        MalformedRequest, match=r"shape \[2, 4\] of FP32 is 32 bytes but its binary_data_size is 28"
    ):
        v2_binary.decode_tensor("features", "FP32", [2, 4], raw)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (struct.pack("<I", 5) + b"abc", "an element of 5 bytes runs past the end"),
        (struct.pack("<I", 1) + b"a" + b"\x01\x00", "ends inside an element's 4-byte length"),
        (struct.pack("<I", 1) + b"a", r"shape \[2\] holds 2 elements but its binary data has 1"),
    ],
)
def test_malformed_bytes_elements_are_refused(raw: bytes, fragment: str) -> None:
    with pytest.raises(MalformedRequest, match=fragment):
        v2_binary.decode_tensor("text", "BYTES", [2], raw)


def test_a_datatype_without_a_binary_layout_is_refused() -> None:
    with pytest.raises(MalformedRequest, match="datatype 'BF16' cannot travel as binary data"):
        v2_binary.decode_tensor("x", "BF16", [1], b"\x00\x00")
