"""V2 inputs that carry images, audio or files, in-process (httpx over ASGI) on real test predictors:
binary data and base64 in JSON, UINT8 pixels, FP32 clips, and each refusal naming the tensor."""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import AsyncIterator
from typing import Any

import httpx
import numpy as np
import pytest

from tests.images import bomb, png, rotated_jpeg
from tests.sounds import peak_hz, tone, wav
from tests.unit.worker.conftest import binary_body, serve_predictor, split_response

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def images() -> AsyncIterator[httpx.AsyncClient]:
    async for client in serve_predictor("tests.predictors:ImageInfo", limits={"max_image_pixels": 100}):
        yield client


@pytest.fixture
async def files() -> AsyncIterator[httpx.AsyncClient]:
    async for client in serve_predictor("tests.predictors:FileEcho"):
        yield client


@pytest.fixture
async def sounds() -> AsyncIterator[httpx.AsyncClient]:
    async for client in serve_predictor("tests.predictors:AudioInfo", limits={"max_audio_seconds": 2}):
        yield client


def _elements(*elements: bytes) -> bytes:
    return b"".join(struct.pack("<I", len(e)) + e for e in elements)


async def _infer_bytes(client: httpx.AsyncClient, name: str, *elements: bytes) -> httpx.Response:
    """`elements` as one BYTES tensor in the binary extension, as tritonclient sends them by default."""
    raw = _elements(*elements)
    tensor = {"name": name, "datatype": "BYTES", "shape": [len(elements)]}
    content, headers = binary_body(
        {"inputs": [{**tensor, "parameters": {"binary_data_size": len(raw)}}]}, raw
    )
    return await client.post("/v2/models/m/infer", content=content, headers=headers)


def _facts(response: httpx.Response) -> list[dict[str, Any]]:
    """ImageInfo's answer, one dict per image (its size and top-left pixel travel as JSON strings)."""
    assert response.status_code == 200, response.text
    out = {o["name"]: o["data"] for o in response.json()["outputs"]}
    return [
        {"size": json.loads(size), "mode": mode, "top_left": json.loads(pixel)}
        for size, mode, pixel in zip(out["size"], out["mode"], out["top_left"], strict=True)
    ]


async def test_metadata_says_what_a_bytes_tensor_carries(images: httpx.AsyncClient) -> None:
    [image] = (await images.get("/v2/models/m")).json()["inputs"]
    assert image == {"name": "image", "datatype": "BYTES", "shape": [-1], "parameters": {"content": "image"}}


async def test_image_files_arrive_decoded_from_binary_data_and_from_base64_in_json(
    images: httpx.AsyncClient,
) -> None:
    binary = await _infer_bytes(images, "image", png((4, 3)), png((2, 5), "L", 200))
    assert _facts(binary) == [
        {"size": [4, 3], "mode": "RGB", "top_left": [255, 0, 0]},
        {"size": [2, 5], "mode": "RGB", "top_left": [200, 200, 200]},  # grayscale, converted
    ]
    encoded = [
        base64.b64encode(png((3, 3), color=(0, 0, 255))).decode(),
        "data:image/png;base64," + encoded_red(),
    ]
    tensor = {"name": "image", "datatype": "BYTES", "shape": [2], "data": encoded}
    in_json = await images.post("/v2/models/m/infer", json={"inputs": [tensor]})
    assert [f["top_left"] for f in _facts(in_json)] == [[0, 0, 255], [255, 0, 0]]


def encoded_red() -> str:
    return base64.b64encode(png()).decode()


async def test_uint8_pixels_are_images_in_the_declared_mode(images: httpx.AsyncClient) -> None:
    pixels = np.zeros((2, 3, 4, 3), dtype=np.uint8)  # two images, 3 high and 4 wide
    pixels[0, 0, 0] = (10, 20, 30)
    pixels[1, 0, 0] = (40, 50, 60)
    tensor = {"name": "image", "datatype": "UINT8", "shape": list(pixels.shape)}
    content, headers = binary_body(
        {"inputs": [{**tensor, "parameters": {"binary_data_size": pixels.nbytes}}]}, pixels.tobytes()
    )
    binary = await images.post("/v2/models/m/infer", content=content, headers=headers)
    assert _facts(binary) == [
        {"size": [4, 3], "mode": "RGB", "top_left": [10, 20, 30]},
        {"size": [4, 3], "mode": "RGB", "top_left": [40, 50, 60]},
    ]
    gray = {"name": "image", "datatype": "UINT8", "shape": [1, 2, 2, 1], "data": [7, 0, 0, 0]}
    [one] = _facts(await images.post("/v2/models/m/infer", json={"inputs": [gray]}))
    assert one == {"size": [2, 2], "mode": "RGB", "top_left": [7, 7, 7]}


@pytest.mark.parametrize(
    ("tensor", "status", "fragment"),
    [
        (
            {
                "datatype": "BYTES",
                "shape": [2],
                "data": [encoded_red(), base64.b64encode(b"no image").decode()],
            },
            422,
            "body.inputs[0] (input 'image') element 1: not a decodable image",
        ),
        (
            {"datatype": "BYTES", "shape": [1], "data": ["not base64!"]},
            422,
            "body.inputs[0] (input 'image') element 0: not base64",
        ),
        (
            {"datatype": "BYTES", "shape": [1], "data": [base64.b64encode(bomb()).decode()]},
            413,
            "element 0: the image is 8000x8000 = 64000000 pixels; this deployment decodes at most 100",
        ),
        (
            {"datatype": "UINT8", "shape": [1, 2, 2, 2], "data": [0] * 8},
            422,
            "takes UINT8 pixels [N, H, W, C], H and W at least 1 and C 1, 3 or 4 channels",
        ),
        (
            {"datatype": "UINT8", "shape": [1, 4, 4], "data": [0] * 16},
            422,
            "input 'image' takes UINT8 of shape [-1, H, W, C] (batch first, -1 for any size), got [1, 4, 4]",
        ),
        (
            {"datatype": "UINT8", "shape": [1, 11, 10, 1], "data": [0] * 110},
            413,
            "image 0: the image is 10x11 = 110 pixels; this deployment decodes at most 100",
        ),
        (
            {"datatype": "FP32", "shape": [1, 2, 2, 3], "data": [0.0] * 12},
            422,
            "input 'image' takes BYTES (encoded images) or UINT8 [N, H, W, C] (pixels, C 1, 3 or 4), "
            "got FP32",
        ),
    ],
)
async def test_bad_images_name_the_tensor_and_the_worker_keeps_serving(
    images: httpx.AsyncClient, tensor: dict[str, Any], status: int, fragment: str
) -> None:
    response = await images.post("/v2/models/m/infer", json={"inputs": [{"name": "image", **tensor}]})
    assert response.status_code == status
    assert fragment in response.json()["error"]
    assert _facts(await _infer_bytes(images, "image", png()))[0]["size"] == [4, 3]


async def test_a_jpeg_over_the_pixel_limit_in_binary_data_is_a_413(images: httpx.AsyncClient) -> None:
    response = await _infer_bytes(images, "image", rotated_jpeg())
    assert response.status_code == 413
    assert "the image is 40x20 = 800 pixels" in response.json()["error"]


async def test_a_file_arrives_as_its_bytes_and_comes_back_as_them(files: httpx.AsyncClient) -> None:
    payload = bytes(range(256)) * 3  # not UTF-8: text decoding on the way would fail
    raw = _elements(payload, b"")
    content, headers = binary_body(
        {
            "inputs": [
                {
                    "name": "file",
                    "datatype": "BYTES",
                    "shape": [2],
                    "parameters": {"binary_data_size": len(raw)},
                }
            ],
            "parameters": {"binary_data_output": True},
        },
        raw,
    )
    answer = await files.post("/v2/models/m/infer", content=content, headers=headers)
    assert answer.status_code == 200, answer.text
    _, data = split_response(answer)
    assert data == raw
    tensor = {"name": "file", "datatype": "BYTES", "shape": [1], "data": [base64.b64encode(payload).decode()]}
    in_json = await files.post(
        "/v2/models/m/infer",
        json={"inputs": [tensor], "outputs": [{"name": "file", "parameters": {"binary_data": True}}]},
    )
    assert split_response(in_json)[1] == _elements(payload)
    metadata = (await files.get("/v2/models/m")).json()
    assert metadata["outputs"][0]["parameters"] == {
        "content": "file",
        "media_type": "application/octet-stream",
    }


def _audio_facts(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    columns = {o["name"]: o["data"] for o in response.json()["outputs"]}
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


async def test_audio_files_and_fp32_clips_arrive_resampled(sounds: httpx.AsyncClient) -> None:
    [from_file] = _audio_facts(await _infer_bytes(sounds, "audio", wav(440, 0.5, 8_000)))
    assert (from_file["rate"], from_file["samples"]) == (16_000, 8_000)
    assert from_file["peak_hz"] == pytest.approx(440, abs=4)
    clips = np.stack([tone(300, 0.25, 8_000), tone(600, 0.25, 8_000)])
    tensor = {
        "name": "audio",
        "datatype": "FP32",
        "shape": list(clips.shape),
        "parameters": {"sample_rate": 8_000},
    }
    content, headers = binary_body(
        {"inputs": [{**tensor, "parameters": {**tensor["parameters"], "binary_data_size": clips.nbytes}}]},
        clips.tobytes(),
    )
    pcm = _audio_facts(await sounds.post("/v2/models/m/infer", content=content, headers=headers))
    assert [(c["rate"], c["samples"]) for c in pcm] == [(16_000, 4_000), (16_000, 4_000)]
    assert [c["peak_hz"] for c in pcm] == pytest.approx([300, 600], abs=4)
    assert peak_hz(clips[1], 8_000) == pytest.approx(600, abs=4)  # the expectation, independently
    # Without a rate the samples are taken to be at the declared one (16 kHz): kept as they are.
    at_model_rate = {
        "name": "audio",
        "datatype": "FP32",
        "shape": [1, 1_600],
        "data": tone(500, 0.1, 16_000).tolist(),
    }
    [kept] = _audio_facts(await sounds.post("/v2/models/m/infer", json={"inputs": [at_model_rate]}))
    assert (kept["rate"], kept["samples"]) == (16_000, 1_600)
    assert kept["peak_hz"] == pytest.approx(500, abs=10)


@pytest.mark.parametrize(
    ("tensor", "status", "fragment"),
    [
        (
            {"datatype": "FP32", "shape": [1, 800], "data": [0.0] * 800, "parameters": {"sample_rate": "8k"}},
            422,
            "body.inputs[0].parameters.sample_rate: FP32 samples for input 'audio' need their rate in Hz",
        ),
        (
            {"datatype": "FP32", "shape": [1, 8], "data": [0.0] * 8, "parameters": {"sampling_rate": 2_000}},
            200,
            "",
        ),
        (
            {
                "datatype": "FP32",
                "shape": [1, 6_000],
                "data": [0.0] * 6_000,
                "parameters": {"sample_rate": 2_000},
            },
            413,
            "clip 0: the audio is 3.0 s long; this deployment takes at most 2 s",
        ),
        (
            {"datatype": "BYTES", "shape": [1], "data": [base64.b64encode(wav(440, 3.0)).decode()]},
            413,
            "element 0: the audio is 3.0 s long",
        ),
        (
            {"datatype": "BYTES", "shape": [1], "data": [base64.b64encode(png()).decode()]},
            422,
            "body.inputs[0] (input 'audio') element 0: not decodable audio",
        ),
        (
            {"datatype": "INT16", "shape": [1, 8], "data": [0] * 8},
            422,
            "input 'audio' takes BYTES (encoded WAV, FLAC, OGG) or FP32 [N, L] (PCM samples",
        ),
    ],
)
async def test_bad_audio_names_the_tensor(
    sounds: httpx.AsyncClient, tensor: dict[str, Any], status: int, fragment: str
) -> None:
    response = await sounds.post("/v2/models/m/infer", json={"inputs": [{"name": "audio", **tensor}]})
    assert response.status_code == status, response.text
    if fragment:
        assert fragment in response.json()["error"]
