"""`/predict`'s choice between JSON and a binary output's raw bytes (`Accept`, `?format=`)."""

from __future__ import annotations

import pytest

from berth.errors import InvalidInput, NotAcceptable
from berth.runtimes.base import Blob
from berth.worker.protocols.predict_outputs import matches, negotiate, raw_response

GLB = Blob(b"glTF\x02", "model/gltf-binary")


@pytest.mark.parametrize(
    "accept",
    [None, "*/*", "application/json", "application/*", "application/json, text/plain;q=0.5"],
)
def test_ordinary_clients_get_json(accept: str | None) -> None:
    assert negotiate(accept, b"") is None


def test_a_browser_gets_json_unless_the_answer_is_of_a_type_it_names() -> None:
    wanted = negotiate("text/html,application/xhtml+xml,*/*;q=0.8", b"")
    assert wanted is not None
    assert wanted.json_ok
    assert raw_response([GLB], wanted, {}) is None


def test_a_preferred_specific_type_asks_for_raw_and_keeps_json_as_a_fallback() -> None:
    wanted = negotiate("application/json;q=0.4, image/*;q=0.9, model/gltf-binary", b"")
    assert wanted is not None
    assert wanted.ranges == ("model/gltf-binary", "image/*")
    assert wanted.json_ok
    assert negotiate("model/gltf-binary;q=0.3, application/json", b"") is None
    assert negotiate("model/gltf-binary;q=0, application/json", b"") is None


def test_format_query_overrides_accept() -> None:
    assert negotiate("model/gltf-binary", b"format=json") is None
    raw = negotiate(None, b"format=raw")
    assert raw is not None
    assert (raw.ranges, raw.json_ok) == (("*/*",), False)
    with pytest.raises(InvalidInput, match="format: must be raw or json, got 'csv'"):
        negotiate(None, b"format=csv")


def test_an_accept_with_neither_json_nor_a_binary_type_is_406_before_predicting() -> None:
    with pytest.raises(NotAcceptable, match="names no type this route answers"):
        negotiate("application/json;q=0", b"")


def test_raw_response_is_the_blobs_own_bytes() -> None:
    wanted = negotiate("model/*", b"")
    assert wanted is not None
    response = raw_response([GLB], wanted, {"x-deployment-id": "d"})
    assert response is not None
    assert response.body is GLB.data  # NOTE: the same object: no copy on the way to the socket
    assert response.media_type == "model/gltf-binary"
    assert response.headers["x-deployment-id"] == "d"


def test_raw_falls_back_to_json_or_is_406_saying_what_it_could_be() -> None:
    fallback = negotiate("image/png, application/json;q=0.1", b"")
    assert fallback is not None
    assert raw_response([GLB], fallback, {}) is None
    strict = negotiate("image/png", b"")
    assert strict is not None
    with pytest.raises(NotAcceptable, match="can be model/gltf-binary or application/json"):
        raw_response([GLB], strict, {})
    with pytest.raises(NotAcceptable, match="send one input"):
        raw_response([GLB, GLB], strict, {})
    with pytest.raises(NotAcceptable, match="not binary"):
        raw_response([[1.0, 2.0]], strict, {})


@pytest.mark.parametrize(
    ("media_range", "media_type", "expected"),
    [
        ("*/*", "image/png", True),
        ("image/*", "image/png", True),
        ("image/png", "image/png", True),
        ("image/*", "imagex/png", False),
        ("image/jpeg", "image/png", False),
    ],
)
def test_media_ranges(media_range: str, media_type: str, expected: bool) -> None:
    assert matches(media_range, media_type) is expected
