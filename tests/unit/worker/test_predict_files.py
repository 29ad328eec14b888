"""`/predict` with files, images and binary outputs, in-process (httpx over ASGI) on real predictors."""

from __future__ import annotations

import base64
import io
import json
import struct
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from PIL import Image

from berth.runtimes import build_runtime
from berth.worker.app import create_app
from berth.worker.service import ModelService
from tests.images import bomb, dominant, png, rotated_jpeg
from tests.sounds import encode, lying_flac, tone, wav
from tests.tiny_models import make_spec, predictor_model
from tests.unit.worker.conftest import CharRuntime
from tests.unit.worker.conftest import make_spec as char_spec

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def serving(predictor: str, **spec_fields: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A worker app over `tests.predictors:<predictor>`, loaded by the real python runtime."""
    target = f"tests.predictors:{predictor}"
    spec = make_spec(target, **spec_fields)
    runtime = build_runtime(predictor_model(target), spec)
    runtime.load()
    service = ModelService(spec, runtime, [ThreadPoolExecutor(max_workers=1)])
    service.start()
    transport = httpx.ASGITransport(app=create_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
        yield client
    await service.drain()


def _glb_document(data: bytes) -> dict[str, Any]:
    assert data[:4] == b"glTF"
    version, total = struct.unpack("<II", data[4:12])
    assert (version, total) == (2, len(data))
    (length,) = struct.unpack("<I", data[12:16])
    assert data[16:20] == b"JSON"
    return dict(json.loads(data[20 : 20 + length]))


async def test_a_bytes_output_is_base64_json_with_its_media_type_by_default() -> None:
    async with serving("GlbMaker") as client:
        response = await client.post("/predict", files={"file": ("chair.png", png((5, 7)), "image/png")})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    [mesh] = response.json()["result"]
    assert mesh["media_type"] == "model/gltf-binary"
    assert _glb_document(base64.b64decode(mesh["data"])) == {"size": [5, 7], "mode": "RGB"}


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({"accept": "model/gltf-binary"}, ""),
        ({"accept": "model/*, application/json;q=0.5"}, ""),
        ({}, "?format=raw"),
    ],
)
async def test_raw_bytes_when_accept_or_format_asks(headers: dict[str, str], query: str) -> None:
    async with serving("GlbMaker") as client:
        response = await client.post(
            f"/predict{query}", content=png((9, 4)), headers={"content-type": "image/png", **headers}
        )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "model/gltf-binary"
    assert _glb_document(response.content) == {"size": [9, 4], "mode": "RGB"}
    assert float(response.headers["x-inference-time-ms"]) > 0


async def test_json_is_kept_when_the_client_prefers_it() -> None:
    async with serving("GlbMaker") as client:
        response = await client.post(
            "/predict",
            content=png(),
            headers={"content-type": "image/png", "accept": "model/gltf-binary;q=0.2, application/json"},
        )
    assert response.headers["content-type"] == "application/json"
    assert response.json()["result"][0]["media_type"] == "model/gltf-binary"


@pytest.mark.parametrize(
    ("predictor", "accept", "fragment"),
    [
        ("GlbMaker", "image/png", "model/gltf-binary or application/json"),
        ("SlowEcho", "text/html", "application/json only (the model's output is not binary)"),
    ],
)
async def test_an_accept_the_model_cannot_answer_is_406(predictor: str, accept: str, fragment: str) -> None:
    async with serving(predictor) as client:
        content, kind = (png(), "image/png") if predictor == "GlbMaker" else (b'{"text": "a"}', None)
        headers = {"accept": accept, **({"content-type": kind} if kind else {})}
        response = await client.post("/predict", content=content, headers=headers)
        assert response.status_code == 406, response.text
        assert response.json()["error"]["code"] == "not_acceptable"
        assert fragment in response.json()["error"]["message"]
        del headers["accept"]
        again = await client.post("/predict", content=content, headers=headers)
    assert again.status_code == 200


async def test_raw_of_a_text_answer_is_406_and_format_json_wins_over_accept() -> None:
    async with serving("SlowEcho") as client:
        raw = await client.post("/predict?format=raw", json={"text": "hi"})
        forced = await client.post(
            "/predict?format=json", json={"text": "hi"}, headers={"accept": "image/png"}
        )
        bad = await client.post("/predict?format=xml", json={"text": "hi"})
    assert raw.status_code == 406
    assert "not binary" in raw.json()["error"]["message"]
    assert forced.json()["result"] == ["HI"]
    assert bad.status_code == 422
    assert "format: must be raw or json" in bad.json()["error"]["message"]


async def test_a_pil_image_output_is_png_unless_declared() -> None:
    async with serving("Swatch") as client:
        response = await client.post("/predict", json={"text": "blue"}, headers={"accept": "image/png"})
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert (image.format, image.size, image.getpixel((2, 1))) == ("PNG", (3, 2), (0, 0, 255))


async def test_files_round_trip_byte_identical_raw_and_multipart() -> None:
    payload = bytes(range(256)) * 64 + b"\x00\xff" * 10
    async with serving("FileEcho") as client:
        raw = await client.post(
            "/predict",
            content=payload,
            headers={"content-type": "application/octet-stream", "accept": "application/octet-stream"},
        )
        multi = await client.post("/predict", files={"a": ("a.bin", payload), "b": ("b.bin", payload[::-1])})
        as_json = await client.post("/predict", json={"inputs": [base64.b64encode(payload).decode()]})
    assert raw.content == payload
    assert [base64.b64decode(r["data"]) for r in multi.json()["result"]] == [payload, payload[::-1]]
    assert base64.b64decode(as_json.json()["result"][0]["data"]) == payload


async def test_an_undeclared_predictor_gets_bytes_and_multipart_parameters_stay_parameters() -> None:
    async with serving("ShowParams") as client:
        shown = await client.post(
            "/predict", files={"f": ("x", b"1"), "g": ("y", b"2")}, data={"parameters": '{"top_k": 3}'}
        )
        bad = await client.post("/predict", files={"f": ("x", b"1")}, data={"parameters": "[1]"})
    assert shown.json()["result"] == [{"type": "bytes", "params": {"top_k": 3}}] * 2
    assert bad.status_code == 422
    assert "form field 'parameters': must be a JSON object" in bad.json()["error"]["message"]
    async with serving("SlowEcho") as client:
        echoed = await client.post("/predict", files={"f": ("x.bin", b"\x89raw")})
        text_field = await client.post("/predict", files={"f": ("x", b"1")}, data={"note": "hi"})
        no_file = await client.post("/predict", data={"parameters": "{}"}, files={})
    assert base64.b64decode(echoed.json()["result"][0]["data"]) == b"\x89raw"
    assert echoed.json()["result"][0]["media_type"] == "application/octet-stream"
    assert text_field.status_code == 422
    assert "form field 'note': text fields are not inputs" in text_field.json()["error"]["message"]
    assert no_file.status_code == 422


async def test_an_unsupported_content_type_is_415_listing_what_is_accepted() -> None:
    async with serving("SlowEcho") as client:
        response = await client.post("/predict", content=b"<x/>", headers={"content-type": "application/xml"})
        assert response.status_code == 415
        assert response.json()["error"]["code"] == "unsupported_media_type"
        assert (
            "multipart/form-data, application/octet-stream, image/* or audio/*"
            in response.json()["error"]["message"]
        )
        # what curl -d sends is still read as JSON
        curl = await client.post(
            "/predict",
            content=b'{"text": "ok"}',
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert curl.json()["result"] == ["OK"]


async def test_the_body_limit_applies_to_uploads() -> None:
    async with serving("FileEcho", limits={"max_request_bytes": 2048}) as client:
        raw = await client.post("/predict", content=b"x" * 4096, headers={"content-type": "image/png"})
        multi = await client.post("/predict", files={"f": ("f", b"x" * 4096)})
    assert (raw.status_code, multi.status_code) == (413, 413)
    assert "limits.max_request_bytes" in multi.json()["error"]["message"]


IMAGES: dict[str, tuple[Callable[[], bytes], list[int], str]] = {
    "png": (lambda: png((6, 5)), [6, 5], "r"),
    "exif-rotated jpeg": (rotated_jpeg, [20, 40], "b"),
    "rgba": (lambda: png((3, 3), "RGBA", (0, 0, 255, 128)), [3, 3], "b"),
    "grayscale": (lambda: png((2, 8), "L", 200), [2, 8], "r"),
}


@pytest.mark.parametrize("kind", IMAGES)
@pytest.mark.parametrize("how", ["multipart", "raw", "base64", "data-uri", "inputs-dict", "inputs-string"])
async def test_an_image_input_arrives_decoded_upright_in_rgb(kind: str, how: str) -> None:
    make, size, colour = IMAGES[kind]
    data = make()
    text = base64.b64encode(data).decode()
    requests: dict[str, dict[str, Any]] = {
        "multipart": {"files": {"file": ("x", data)}},
        "raw": {"content": data, "headers": {"content-type": "image/jpeg"}},
        "base64": {"json": {"image": text}},
        "data-uri": {"json": {"image": f"data:image/png;base64,{text}"}},
        "inputs-dict": {"json": {"inputs": [{"image": text}]}},
        "inputs-string": {"json": {"inputs": [text]}},
    }
    async with serving("ImageInfo") as client:
        response = await client.post("/predict", **requests[how])
    assert response.status_code == 200, response.text
    [info] = response.json()["result"]
    assert (info["size"], info["mode"]) == (size, "RGB")
    if kind != "grayscale":
        assert dominant(info["top_left"]) == colour
    else:
        assert info["top_left"] == [200, 200, 200]


async def test_an_image_input_may_keep_its_mode() -> None:
    async with serving("ImageModes") as client:
        rgba = await client.post("/predict", files={"f": ("x", png((2, 2), "RGBA", (1, 2, 3, 4)))})
        gray = await client.post("/predict", files={"f": ("x", png((2, 2), "L", 9))})
    assert [rgba.json()["result"][0]["mode"], gray.json()["result"][0]["mode"]] == ["RGBA", "L"]


async def test_a_decompression_bomb_is_413_and_garbage_422_naming_the_field() -> None:
    async with serving("ImageInfo") as client:
        bombed = await client.post("/predict", files={"file": ("bomb.png", bomb())})
        garbage = await client.post("/predict", files={"photo": ("x.png", b"not an image at all")})
        truncated = await client.post("/predict", json={"inputs": [base64.b64encode(png()[:40]).decode()]})
        not_b64 = await client.post("/predict", json={"image": "data:image/png;base64,%%%"})
        text_model = await client.post("/predict", json={"text": "a sentence"})
        fine = await client.post("/predict", files={"file": ("x.png", png())})
    assert bombed.status_code == 413
    assert "8000x8000 = 64000000 pixels" in bombed.json()["error"]["message"]
    assert "limits.max_image_pixels" in bombed.json()["error"]["message"]
    assert garbage.status_code == 422
    assert garbage.json()["error"]["message"].startswith("form field 'photo': not a decodable image")
    assert truncated.status_code == 422
    assert truncated.json()["error"]["message"].startswith("body.inputs[0]")
    assert not_b64.status_code == 422
    assert not_b64.json()["error"]["message"] == "body.image: not base64 (nor a data: URI)"
    assert text_model.status_code == 422  # a string for an image input must be an image
    assert fine.status_code == 200


async def test_max_image_pixels_is_the_deployments_limit() -> None:
    async with serving("ImageInfo", limits={"max_image_pixels": 100}) as client:
        small = await client.post("/predict", files={"f": ("x", png((10, 10)))})
        large = await client.post("/predict", files={"f": ("x", png((11, 10)))})
    assert (small.status_code, large.status_code) == (200, 413)


async def test_body_image_on_a_text_model_is_refused_and_text_takes_the_old_path() -> None:
    executor = ThreadPoolExecutor(max_workers=1)
    runtime = CharRuntime(char_spec())
    service = ModelService(char_spec(), runtime, [executor])
    service.start()
    transport = httpx.ASGITransport(app=create_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
        image = await client.post("/predict", json={"image": "aGk="})
        upload = await client.post("/predict", files={"f": ("x", b"hi")})
        text = await client.post("/predict", json={"text": "hi"}, headers={"accept": "*/*"})
    await service.drain()
    assert image.status_code == 422
    assert "this model takes no image" in image.json()["error"]["message"]
    assert upload.status_code == 422
    assert upload.json()["error"]["message"] == "files[0]: must be a string, got bytes"
    assert text.json()["result"] == [[2.0, 1.0, 1.0]]
    assert runtime.batches == [["hi"]]


def _clip_facts(info: dict[str, Any], seconds: float = 0.5, hz: float = 440) -> None:
    """What AudioInfo reports for `wav(hz, seconds)` (8 kHz): resampled to 16 kHz, same length and pitch."""
    assert info["type"] == "ndarray float32 1-D"
    assert (info["rate"], info["samples"]) == (16_000, round(seconds * 16_000))
    assert info["peak_hz"] == pytest.approx(hz, abs=2)
    assert info["rms"] == pytest.approx(0.5 / 2**0.5, rel=0.01)


@pytest.mark.parametrize(
    "how", ["multipart", "raw", "base64", "data-uri", "inputs-string", "inputs-dict", "pcm", "pcm-inputs"]
)
async def test_an_audio_input_arrives_mono_float32_at_the_declared_rate(how: str) -> None:
    data = wav(440, 0.5)
    text = base64.b64encode(data).decode()
    pcm = {"array": tone(440, 0.5).tolist(), "sampling_rate": 8_000}
    requests: dict[str, dict[str, Any]] = {
        "multipart": {"files": {"file": ("hello.wav", data, "audio/wav")}},
        "raw": {"content": data, "headers": {"content-type": "audio/wav"}},
        "base64": {"json": {"audio": text}},
        "data-uri": {"json": {"audio": f"data:audio/wav;base64,{text}"}},
        "inputs-string": {"json": {"inputs": [text]}},
        "inputs-dict": {"json": {"inputs": [{"audio": text}]}},
        "pcm": {"json": {"audio": pcm}},
        "pcm-inputs": {"json": {"inputs": [pcm]}},
    }
    async with serving("AudioInfo") as client:
        response = await client.post("/predict", **requests[how])
    assert response.status_code == 200, response.text
    [info] = response.json()["result"]
    _clip_facts(info)


async def test_several_clips_of_several_formats_in_one_upload_each_keep_their_own_pitch() -> None:
    flac = encode(tone(880, 0.25, 44_100), 44_100, "FLAC")
    ogg = encode(tone(220, 1.0, 48_000), 48_000, "OGG")
    async with serving("AudioInfo") as client:
        response = await client.post(
            "/predict",
            files=[("a", ("a.flac", flac)), ("b", ("b.ogg", ogg)), ("c", ("c.wav", wav(440, 0.5)))],
        )
    assert response.status_code == 200, response.text
    a, b, c = response.json()["result"]
    assert (a["samples"], a["peak_hz"]) == (4_000, pytest.approx(880, abs=4))
    assert (b["seconds"], b["peak_hz"]) == (pytest.approx(1.0, abs=0.02), pytest.approx(220, abs=1))
    _clip_facts(c)


async def test_bad_audio_is_a_clear_4xx_and_the_worker_keeps_serving() -> None:
    async with serving("AudioInfo", limits={"max_audio_seconds": 1}) as client:
        long = await client.post("/predict", files={"clip": ("long.wav", wav(seconds=1.5))})
        liar = await client.post("/predict", content=lying_flac(30), headers={"content-type": "audio/flac"})
        garbage = await client.post("/predict", files={"clip": ("x.wav", b"RIFF not really a wave file")})
        pcm_long = await client.post(
            "/predict", json={"audio": {"array": [0.0] * 8001, "sampling_rate": 8000}}
        )
        int16 = await client.post("/predict", json={"inputs": [{"array": [0, 1200], "sampling_rate": 8000}]})
        no_rate = await client.post("/predict", json={"audio": {"array": [0.0, 0.1]}})
        not_b64 = await client.post("/predict", json={"audio": "data:audio/wav;base64,%%%"})
        number = await client.post("/predict", json={"inputs": [3]})
        csv = await client.post("/predict", content=b"a,b\n1,2\n", headers={"content-type": "text/csv"})
        fine = await client.post("/predict", content=wav(440, 0.5), headers={"content-type": "audio/x-wav"})
    for response in (long, liar, pcm_long):
        assert response.status_code == 413, response.text
        assert "(limits.max_audio_seconds): send a shorter clip" in response.json()["error"]["message"]
    assert long.json()["error"]["message"].startswith("form field 'clip': the audio is 1.5 s long")
    assert liar.json()["error"]["message"].startswith("body: the audio is 30.0 s long; ")
    assert pcm_long.json()["error"]["message"].startswith("body.audio: the audio is 1.0 s long")
    messages = [
        (garbage, "form field 'clip': not decodable audio"),
        (int16, "body.inputs[0]: samples must lie in [-1, 1], got a peak of 1200"),
        (
            no_rate,
            'body.audio: raw audio for input \'audio\' is {"array": [floats in -1..1], "sampling_rate"',
        ),
        (not_b64, "body.audio: not base64 (nor a data: URI)"),
        (
            number,
            "body.inputs[0]: input 'audio' takes audio as a file upload, a base64 string or a data: URI, "
            'or raw PCM as {"array": [...], "sampling_rate": HZ}, got int',
        ),
    ]
    for response, message in messages:
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "invalid_input"
        assert response.json()["error"]["message"].startswith(message)
    assert csv.status_code == 415
    assert "image/* or audio/*" in csv.json()["error"]["message"]
    assert fine.status_code == 200
    _clip_facts(fine.json()["result"][0])


async def test_body_audio_on_a_model_without_audio_is_refused() -> None:
    async with serving("ImageInfo") as client:
        response = await client.post("/predict", json={"audio": base64.b64encode(wav()).decode()})
    assert response.status_code == 422
    assert (
        response.json()["error"]["message"]
        == 'body.audio: this model takes no audio; send "text" or "inputs"'
    )
