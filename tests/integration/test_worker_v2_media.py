"""tritonclient.http, unchanged, sending images, files and audio to real workers through V2.

In binary mode (tritonclient's default) a BYTES element is the file's bytes; in JSON mode tritonclient
sends only UTF-8 text, so the file goes as its base64 string. Images and sounds are built here, each
with a property checked independently of the worker (a pixel, a size, a tone's frequency).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.images import RED, dominant, png, rotated_jpeg
from tests.integration.conftest import WorkerProcess, serve_worker
from tests.sounds import tone, wav

httpclient = pytest.importorskip("tritonclient.http")
triton_utils = pytest.importorskip("tritonclient.utils")

PAYLOAD = os.urandom(100_000)  # random bytes: not UTF-8, and any re-encoding on the way would show


def _start(predictor: str, folder: Path) -> Iterator[WorkerProcess]:
    spec = {"name": predictor.lower(), "model": {"source": f"tests.predictors:{predictor}"}}
    yield from serve_worker(spec, folder)


@pytest.fixture(scope="module")
def image_info(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    yield from _start("ImageInfo", tmp_path_factory.mktemp("info"))


@pytest.fixture(scope="module")
def file_echo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    yield from _start("FileEcho", tmp_path_factory.mktemp("echo"))


@pytest.fixture(scope="module")
def audio_info(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    yield from _start("AudioInfo", tmp_path_factory.mktemp("audio"))


def _client(worker: WorkerProcess) -> httpclient.InferenceServerClient:
    return httpclient.InferenceServerClient(url=f"127.0.0.1:{worker.port}")


def _files(name: str, files: list[bytes], binary: bool) -> httpclient.InferInput:
    """`files` as one BYTES tensor: raw in binary mode, base64 text in JSON mode."""
    tensor = httpclient.InferInput(name, [len(files)], "BYTES")
    elements = files if binary else [base64.b64encode(f) for f in files]
    tensor.set_data_from_numpy(np.array(elements, dtype=object), binary_data=binary)
    return tensor


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _image_facts(result: Any) -> list[dict[str, Any]]:
    """ImageInfo's answer per image: its size and top-left pixel travel as JSON strings."""
    sizes, modes, pixels = (result.as_numpy(name) for name in ("size", "mode", "top_left"))
    return [
        {"size": json.loads(_text(s)), "mode": _text(m), "top_left": json.loads(_text(p))}
        for s, m, p in zip(sizes, modes, pixels, strict=True)
    ]


@pytest.mark.parametrize("binary", [True, False])
def test_a_png_and_a_jpeg_as_bytes_reach_the_model_decoded(image_info: WorkerProcess, binary: bool) -> None:
    files = [png((5, 3), "RGBA", (*RED, 128)), rotated_jpeg()]
    wanted = [
        httpclient.InferRequestedOutput(name, binary_data=binary) for name in ("size", "mode", "top_left")
    ]
    result = _client(image_info).infer("imageinfo", [_files("image", files, binary)], outputs=wanted)
    png_facts, jpeg_facts = _image_facts(result)
    assert png_facts == {"size": [5, 3], "mode": "RGB", "top_left": [255, 0, 0]}  # RGBA converted
    # the JPEG is 40x20 with a blue left edge; upright (its EXIF applied) it is 20x40, blue along the top
    assert jpeg_facts["size"] == [20, 40]
    assert dominant(jpeg_facts["top_left"]) == "b"


@pytest.mark.parametrize("binary", [True, False])
def test_uint8_pixels_are_an_image_each(image_info: WorkerProcess, binary: bool) -> None:
    pixels = np.random.default_rng(7).integers(0, 256, size=(3, 6, 8, 3), dtype=np.uint8)
    tensor = httpclient.InferInput("image", list(pixels.shape), "UINT8")
    tensor.set_data_from_numpy(pixels, binary_data=binary)
    facts = _image_facts(_client(image_info).infer("imageinfo", [tensor]))
    assert [f["size"] for f in facts] == [[8, 6]] * 3
    assert [f["top_left"] for f in facts] == pixels[:, 0, 0].tolist()


def test_wrong_image_datatypes_and_channels_are_422s_naming_the_tensor(image_info: WorkerProcess) -> None:
    wrong = [
        (
            "FP32",
            np.zeros((1, 2, 2, 3), dtype=np.float32),
            "takes BYTES (encoded images) or UINT8 [N, H, W, C]",
        ),
        (
            "UINT8",
            np.zeros((1, 2, 2, 2), dtype=np.uint8),
            "C 1, 3 or 4 channels (L, RGB, RGBA); got [1, 2, 2, 2]",
        ),
    ]
    for datatype, array, fragment in wrong:
        tensor = httpclient.InferInput("image", list(array.shape), datatype)
        tensor.set_data_from_numpy(array)
        with pytest.raises(triton_utils.InferenceServerException) as caught:
            _client(image_info).infer("imageinfo", [tensor])
        assert caught.value.status() == "422"
        assert "input 'image'" in caught.value.message()
        assert fragment in caught.value.message()
    with pytest.raises(triton_utils.InferenceServerException) as undecodable:
        _client(image_info).infer("imageinfo", [_files("image", [b"not an image"], binary=True)])
    assert undecodable.value.status() == "422"
    assert "body.inputs[0] (input 'image') element 0: not a decodable image" in undecodable.value.message()
    assert _image_facts(_client(image_info).infer("imageinfo", [_files("image", [png()], True)]))[0][
        "size"
    ] == [4, 3]


@pytest.mark.parametrize("binary", [True, False])
def test_a_file_goes_in_as_bytes_and_comes_back_byte_identical(
    file_echo: WorkerProcess, binary: bool
) -> None:
    wanted = [httpclient.InferRequestedOutput("file", binary_data=True)]  # JSON cannot carry these bytes
    result = _client(file_echo).infer(
        "fileecho", [_files("file", [PAYLOAD, b"glTF"], binary)], outputs=wanted
    )
    assert result.as_numpy("file").tolist() == [PAYLOAD, b"glTF"]


def test_an_fp32_clip_and_a_wav_file_reach_the_model_as_audio(audio_info: WorkerProcess) -> None:
    # AudioInfo declares 16 kHz: FP32 samples with no rate parameter (tritonclient sets none) are at it.
    clip = tone(700, 0.5, 16_000)[np.newaxis]
    samples = httpclient.InferInput("audio", list(clip.shape), "FP32")
    samples.set_data_from_numpy(clip)
    result = _client(audio_info).infer("audioinfo", [samples])
    assert result.as_numpy("samples").tolist() == [8_000]
    assert result.as_numpy("rate").tolist() == [16_000]
    assert result.as_numpy("peak_hz")[0] == pytest.approx(700, abs=4)
    from_file = _client(audio_info).infer("audioinfo", [_files("audio", [wav(440, 1.0, 8_000)], binary=True)])
    assert from_file.as_numpy("samples").tolist() == [16_000]  # one second, resampled from 8 kHz
    assert from_file.as_numpy("peak_hz")[0] == pytest.approx(440, abs=4)


def test_model_metadata_says_what_each_bytes_tensor_carries(
    image_info: WorkerProcess, file_echo: WorkerProcess, audio_info: WorkerProcess
) -> None:
    [image] = _client(image_info).get_model_metadata("imageinfo")["inputs"]
    assert image == {"name": "image", "datatype": "BYTES", "shape": [-1], "parameters": {"content": "image"}}
    echo = _client(file_echo).get_model_metadata("fileecho")
    assert echo["outputs"][0]["parameters"] == {"content": "file", "media_type": "application/octet-stream"}
    [audio] = _client(audio_info).get_model_metadata("audioinfo")["inputs"]
    assert audio["parameters"] == {"content": "audio", "sample_rate": 16_000}
