"""Files into `/predict` and binary answers out, against real workers serving test predictors.

Requests are what curl sends (`-F file=@x`, `--data-binary @x` with a Content-Type, JSON with base64
or a data: URI), made with httpx; images are built here with Pillow. Every refusal is followed by a
request that must still be served.
"""

from __future__ import annotations

import base64
import io
import json
import os
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.images import bomb, dominant, png, rotated_jpeg
from tests.integration.conftest import ControlPlaneProcess, WorkerProcess, serve_worker
from tests.sounds import encode, lying_flac, tone, wav

PAYLOAD = os.urandom(300_000)  # a "file" of random bytes: any re-encoding on the way would show


def _start(predictor: str, folder: Path, **fields: Any) -> Iterator[WorkerProcess]:
    spec = {"name": predictor.lower(), "model": {"source": f"tests.predictors:{predictor}"}, **fields}
    yield from serve_worker(spec, folder)


@pytest.fixture(scope="module")
def glb_maker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    yield from _start("GlbMaker", tmp_path_factory.mktemp("glb"))


@pytest.fixture(scope="module")
def image_info(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    yield from _start("ImageInfo", tmp_path_factory.mktemp("info"), limits={"max_request_bytes": 100_000})


@pytest.fixture(scope="module")
def file_echo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    yield from _start("FileEcho", tmp_path_factory.mktemp("echo"))


def _post(worker: WorkerProcess, path: str = "/predict", **request: Any) -> httpx.Response:
    return httpx.post(f"{worker.url}{path}", timeout=30, **request)


def _glb_document(data: bytes) -> dict[str, Any]:
    """The JSON chunk of a GLB file, after checking its framing (magic, version, total length)."""
    assert data[:4] == b"glTF"
    assert struct.unpack("<II", data[4:12]) == (2, len(data))
    (length,) = struct.unpack("<I", data[12:16])
    assert data[16:20] == b"JSON"
    return dict(json.loads(data[20 : 20 + length]))


def test_an_image_upload_answers_a_glb_as_base64_json_or_raw_with_accept(glb_maker: WorkerProcess) -> None:
    chair = png((12, 7))
    as_json = _post(glb_maker, files={"file": ("chair.png", chair, "image/png")})
    assert as_json.status_code == 200, as_json.text
    [mesh] = as_json.json()["result"]
    assert mesh["media_type"] == "model/gltf-binary"
    assert _glb_document(base64.b64decode(mesh["data"])) == {"size": [12, 7], "mode": "RGB"}

    # curl -H 'Accept: model/gltf-binary' -F file=@chair.png -o chair.glb
    raw = _post(glb_maker, files={"file": ("chair.png", chair)}, headers={"accept": "model/gltf-binary"})
    assert raw.headers["content-type"] == "model/gltf-binary"
    assert raw.content == base64.b64decode(mesh["data"])
    formatted = _post(glb_maker, "/predict?format=raw", content=chair, headers={"content-type": "image/png"})
    assert formatted.content == raw.content


def test_a_bad_accept_is_406_and_the_worker_keeps_serving(glb_maker: WorkerProcess) -> None:
    refused = _post(glb_maker, files={"file": ("x.png", png())}, headers={"accept": "image/png"})
    assert refused.status_code == 406
    assert "model/gltf-binary or application/json" in refused.json()["error"]["message"]
    assert _post(glb_maker, files={"file": ("x.png", png())}).status_code == 200


IMAGES: dict[str, tuple[Callable[[], bytes], list[int], str | None]] = {
    "png": (lambda: png((6, 5)), [6, 5], "r"),
    "jpeg with exif rotation": (rotated_jpeg, [20, 40], "b"),
    "rgba": (lambda: png((3, 3), "RGBA", (0, 0, 255, 128)), [3, 3], "b"),
    "grayscale": (lambda: png((2, 8), "L", 200), [2, 8], None),
}


@pytest.mark.parametrize("kind", IMAGES)
def test_every_way_of_sending_an_image_gives_the_model_the_same_upright_rgb_image(
    image_info: WorkerProcess, kind: str
) -> None:
    make, size, colour = IMAGES[kind]
    data = make()
    text = base64.b64encode(data).decode()
    answers = [
        _post(image_info, files={"file": ("photo", data)}),  # curl -F file=@photo
        _post(image_info, content=data, headers={"content-type": "image/jpeg"}),  # --data-binary
        _post(image_info, json={"image": text}),
        _post(image_info, json={"inputs": [{"image": f"data:image/png;base64,{text}"}]}),
    ]
    results = []
    for answer in answers:
        assert answer.status_code == 200, answer.text
        results.append(answer.json()["result"][0])
    assert all(result == results[0] for result in results), results
    assert (results[0]["size"], results[0]["mode"]) == (size, "RGB")
    if colour is None:
        assert results[0]["top_left"] == [200, 200, 200]
    else:
        assert dominant(results[0]["top_left"]) == colour


def test_bad_images_and_bodies_are_refused_clearly_and_the_worker_keeps_serving(
    image_info: WorkerProcess,
) -> None:
    bombed = _post(image_info, files={"file": ("bomb.png", bomb())})
    assert bombed.status_code == 413
    assert "limits.max_image_pixels" in bombed.json()["error"]["message"]
    garbage = _post(image_info, files={"upload": ("x.png", b"\x89PNG but not really")})
    assert garbage.status_code == 422
    assert garbage.json()["error"]["message"].startswith("form field 'upload': not a decodable image")
    wrong_type = _post(image_info, content=b"<svg/>", headers={"content-type": "application/xml"})
    assert wrong_type.status_code == 415
    assert "multipart/form-data" in wrong_type.json()["error"]["message"]
    too_big = _post(image_info, content=b"\0" * 150_000, headers={"content-type": "image/png"})
    assert too_big.status_code == 413
    assert _post(image_info, files={"file": ("ok.png", png())}).status_code == 200


def test_audio_reaches_the_model_mono_at_its_rate_however_sent_and_refusals_are_4xx(tmp_path: Path) -> None:
    clip = encode(tone(440, 0.75, 8_000).repeat(2).reshape(-1, 2), 8_000)  # stereo, 8 kHz
    text = base64.b64encode(clip).decode()
    for worker in _start("AudioInfo", tmp_path, limits={"max_audio_seconds": 5}):
        answers = [
            _post(worker, files={"file": ("hello.wav", clip)}),  # curl -F file=@hello.wav
            _post(worker, content=clip, headers={"content-type": "audio/wav"}),  # --data-binary
            _post(worker, json={"audio": f"data:audio/wav;base64,{text}"}),
            _post(worker, json={"inputs": [{"array": tone(440, 0.75).tolist(), "sampling_rate": 8000}]}),
        ]
        results = []
        for answer in answers:
            assert answer.status_code == 200, answer.text
            results.append(answer.json()["result"][0])
        for result in results:
            assert (result["type"], result["rate"]) == ("ndarray float32 1-D", 16_000)
            assert result["samples"] == 12_000  # 0.75 s, at the model's rate
            assert abs(result["peak_hz"] - 440) < 2
        too_long = _post(worker, files={"file": ("long.flac", lying_flac(60))})
        assert too_long.status_code == 413
        assert "limits.max_audio_seconds" in too_long.json()["error"]["message"]
        garbage = _post(worker, files={"voice": ("x.wav", b"RIFF....WAVE not really")})
        assert garbage.status_code == 422
        assert garbage.json()["error"]["message"].startswith("form field 'voice': not decodable audio")
        csv = _post(worker, content=b"a,b\n", headers={"content-type": "text/csv"})
        assert csv.status_code == 415
        assert "audio/*" in csv.json()["error"]["message"]
        assert _post(worker, files={"file": ("ok.wav", wav())}).json()["result"][0]["samples"] == 16_000


def test_a_file_round_trips_byte_identical_raw_multipart_and_base64(file_echo: WorkerProcess) -> None:
    octets = {"accept": "application/octet-stream"}
    raw = _post(file_echo, content=PAYLOAD, headers={"content-type": "application/octet-stream", **octets})
    assert raw.status_code == 200, raw.text
    assert raw.headers["content-type"] == "application/octet-stream"
    assert raw.content == PAYLOAD
    multi = _post(file_echo, files={"file": ("blob.bin", PAYLOAD)}, headers=octets)
    assert multi.content == PAYLOAD
    as_json = _post(file_echo, json={"inputs": [base64.b64encode(PAYLOAD).decode()]})
    assert base64.b64decode(as_json.json()["result"][0]["data"]) == PAYLOAD


def test_a_pil_image_answer_and_v2_bytes(tmp_path: Path) -> None:
    for worker in _start("Swatch", tmp_path):
        png_answer = _post(worker, json={"text": "blue"}, headers={"accept": "image/*"})
        assert png_answer.headers["content-type"] == "image/png"
        image = Image.open(io.BytesIO(png_answer.content))
        assert (image.size, image.getpixel((0, 0))) == ((3, 2), (0, 0, 255))
        # V2: the same PNG as a BYTES output in the binary extension
        body: dict[str, Any] = {
            "inputs": [{"name": "input", "shape": [1], "datatype": "BYTES", "data": ["blue"]}],
            "parameters": {"binary_data_output": True},
        }
        v2 = _post(worker, "/v2/models/swatch/infer", json=body)
        assert v2.status_code == 200, v2.text
        header_length = int(v2.headers["inference-header-content-length"])
        [output] = json.loads(v2.content[:header_length])["outputs"]
        assert output["datatype"] == "BYTES"
        data = v2.content[header_length:]
        assert struct.unpack("<I", data[:4]) == (len(data) - 4,)
        assert data[4:] == png_answer.content


def test_the_control_planes_proxy_passes_files_and_binary_answers_unchanged(
    control_plane: ControlPlaneProcess,
) -> None:
    api = control_plane.api
    spec = {"name": "echo", "model": {"source": "tests.predictors:FileEcho"}}
    assert api.post("/api/v1/deploy", json=spec).status_code == 202
    assert control_plane.wait_state("echo", "ready", "failed")["state"] == "ready"
    route = "/api/v1/deployments/echo/inference"
    raw = api.post(
        route,
        content=PAYLOAD,
        headers={"content-type": "application/octet-stream", "accept": "application/octet-stream"},
    )
    assert raw.status_code == 200, raw.text
    assert raw.headers["content-type"] == "application/octet-stream"
    assert raw.content == PAYLOAD
    multi = api.post(f"{route}?format=raw", files={"file": ("blob.bin", PAYLOAD)})
    assert multi.content == PAYLOAD
